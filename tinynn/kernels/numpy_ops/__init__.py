"""The NumPy backend: the reference every compiled backend is tested against.

Where the maths has a class of its own (activations, losses, Dense, Dropout), the class *is*
the reference: a layer on this backend runs the NumPy lines written in its methods, and
``fuses`` answers False for everything. What is here is the maths that belongs to no single
class: patch extraction for convolutions, pooling windows, normalization statistics, batch
gathering and the optimizer update rules, as plain functions writing into caller-provided
arrays.

The Numba backend (``tinynn.kernels.numba_ops``) has the same names and signatures, plus the
fused twins of the classes' methods. The optimizer kernels are also the submodule ``optim``,
so either the whole backend or ``backend.optim`` can be given to an optimizer as its ``ops``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.kernels.numpy_ops import update_rules as optim
from tinynn.kernels.numpy_ops.conv_patches import (
    col2im,
    depthwise_conv2d_backward,
    depthwise_conv2d_forward,
    im2col,
)
from tinynn.kernels.numpy_ops.normalize import normalize_backward, normalize_forward
from tinynn.kernels.numpy_ops.pool2d import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from tinynn.kernels.numpy_ops.update_rules import (
    adam_update,
    clip_by_global_norm,
    clip_by_norm,
    clip_by_value,
    global_norm,
    l2_norm,
    rmsprop_update,
    sgd_update,
)

NAME = "numpy"


def gather_rows(source: np.ndarray, indices: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out[i] = source[indices[i]]: copy a shuffled batch into a preallocated buffer."""
    return np.take(source, indices, axis=0, out=out)


def fuses(obj: Any) -> bool:
    """False: on NumPy every class runs its own methods (a compiled backend answers True for
    the activations and losses it has twins of)."""
    return False


__all__ = [
    "NAME",
    "adam_update",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "clip_by_global_norm",
    "clip_by_norm",
    "clip_by_value",
    "col2im",
    "depthwise_conv2d_backward",
    "depthwise_conv2d_forward",
    "fuses",
    "gather_rows",
    "global_norm",
    "im2col",
    "l2_norm",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "normalize_backward",
    "normalize_forward",
    "optim",
    "rmsprop_update",
    "sgd_update",
]
