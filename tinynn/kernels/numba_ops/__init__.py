"""The Numba backend: compiled twins of the NumPy kernels, with identical names and signatures.

Importing this package imports Numba (``tinynn.kernels.get_backend`` does it only on request);
the kernels themselves compile on their first call and are cached on disk (``config.py`` holds
every Numba setting and the measurements behind them). Matrix products still go to BLAS through
``np.matmul``; what is compiled is the element-wise and row-wise work around them, fused into
single passes. ``optim`` is the optimizer-kernel submodule, as in the NumPy backend.
"""

from __future__ import annotations

from typing import Any

from tinynn import activations, losses
from tinynn.kernels.numba_ops import update_rules_jit as optim
from tinynn.kernels.numba_ops.activation_jit import (
    ACTIVATION_CODES,
    activation_backward,
    activation_forward,
)
from tinynn.kernels.numba_ops.conv_patches_jit import (
    col2im,
    depthwise_conv2d_backward,
    depthwise_conv2d_forward,
    im2col,
)
from tinynn.kernels.numba_ops.dense_jit import dense_backward, dense_forward
from tinynn.kernels.numba_ops.dense_stack_jit import DenseStack
from tinynn.kernels.numba_ops.gather_jit import gather_rows
from tinynn.kernels.numba_ops.losses_jit import (
    sigmoid_cross_entropy,
    softmax_cross_entropy,
    sparse_softmax_cross_entropy,
)
from tinynn.kernels.numba_ops.pool2d_jit import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from tinynn.kernels.numba_ops.update_rules_jit import (
    adam_update,
    clip_by_global_norm,
    clip_by_norm,
    clip_by_value,
    global_norm,
    l2_norm,
    rmsprop_update,
    sgd_update,
)

# Normalization has no compiled twin (NumPy's reductions are as fast): the reference serves.
from tinynn.kernels.numpy_ops.normalize import normalize_backward, normalize_forward

NAME = "numba"

#: Losses whose from-logits forward has a fused twin here.
_FUSED_LOSSES = (
    losses.BinaryCrossentropy,
    losses.CategoricalCrossentropy,
    losses.SparseCategoricalCrossentropy,
)


def fuses(obj: Any) -> bool:
    """True when this backend has a compiled twin of ``obj``'s maths: a built-in activation
    (its exact class, so a subclass that overrides ``forward`` runs its own code), or a
    built-in cross-entropy working from logits."""
    if isinstance(obj, activations.ActivationFunction):
        return activations.is_builtin(obj) and obj.name in ACTIVATION_CODES
    return type(obj) in _FUSED_LOSSES and obj.from_logits


__all__ = [
    "NAME",
    "DenseStack",
    "activation_backward",
    "activation_forward",
    "adam_update",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "clip_by_global_norm",
    "clip_by_norm",
    "clip_by_value",
    "col2im",
    "dense_backward",
    "dense_forward",
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
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
]
