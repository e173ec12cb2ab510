"""Data-movement kernels: batch gathering and the dropout mask."""

from __future__ import annotations

import numpy as np


def gather_rows(source: np.ndarray, indices: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out[i] = source[indices[i]]: copy a shuffled batch into a preallocated buffer."""
    np.take(source, indices, axis=0, out=out)
    return out


def dropout_forward(
    x: np.ndarray, uniform: np.ndarray, rate: float, mask_out: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """Inverted dropout: keep each unit with probability 1 − rate and scale it by 1/(1 − rate).

    uniform holds U(0, 1) draws of x's shape. The mask stores the scale itself (0 or
    1/(1 − rate)), so the backward pass is one multiplication and evaluation needs no rescaling.
    """
    scale = 1.0 / (1.0 - rate)
    np.multiply(uniform >= rate, scale, out=mask_out)
    np.multiply(x, mask_out, out=out)
    return out


def dropout_backward(grad: np.ndarray, mask: np.ndarray, out: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy ⊙ mask."""
    np.multiply(grad, mask, out=out)
    return out
