"""Data-movement kernels compiled with Numba: batch gathering and the dropout mask.
The twins of ``numpy_ops.data``; each is one loop over memory."""

from __future__ import annotations

import math

import numpy as np

from tinynn.kernels.numba_ops._arrays import OutputView, check_same_shape
from tinynn.kernels.numba_ops.config import jit, prange
from tinynn.kernels.numpy_ops import data as numpy_data


@jit
def _gather_rows_2d(source, indices, out):
    n = source.shape[0]
    for i in range(indices.shape[0]):
        row = indices[i]
        if row < 0:  # negative indices count from the end, as in np.take
            row += n
        if row < 0 or row >= n:
            raise IndexError("index out of range")
        for j in range(source.shape[1]):
            out[i, j] = source[row, j]


@jit
def _dropout_forward_flat(x, uniform, rate, scale, mask_out, out):
    zero = mask_out.dtype.type(0.0)
    for i in prange(x.shape[0]):
        keep = scale if uniform[i] >= rate else zero
        mask_out[i] = keep
        out[i] = x[i] * keep


@jit
def _multiply_flat(a, b, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] * b[i]


def gather_rows(source: np.ndarray, indices: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out[i] = source[indices[i]]: copy a shuffled batch into a preallocated buffer.

    source: (N, *sample_shape); indices: (batch,) integers in [-N, N); out: (batch,
    *sample_shape). A source that cannot be viewed as (N, features) without copying all of it
    (e.g. a strided slice of a bigger array) is gathered by NumPy instead.
    """
    expected = indices.shape + source.shape[1:]
    if out.shape != expected or indices.ndim != 1:
        raise ValueError(f"out has shape {out.shape}; expected {expected} (batch, *sample_shape)")
    if indices.dtype.kind not in "iu":
        raise ValueError(f"indices must be integers; got {indices.dtype}")
    if source.ndim == 0 or not source.flags.c_contiguous:
        return numpy_data.gather_rows(source, indices, out)
    features = math.prod(source.shape[1:])
    source_rows = source.reshape(source.shape[0], features)
    view = OutputView(out, (out.shape[0], features))
    try:
        _gather_rows_2d(source_rows, indices, view.array)
    except IndexError:
        bad = indices[(indices < -len(source)) | (indices >= len(source))]
        raise IndexError(
            f"indices must be in [-{len(source)}, {len(source)}); got {bad[:5].tolist()}"
        ) from None
    return view.write_back()


def dropout_forward(
    x: np.ndarray, uniform: np.ndarray, rate: float, mask_out: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """Inverted dropout in one pass: mask = (uniform >= rate) / (1 − rate), out = x ⊙ mask.

    uniform holds U(0, 1) draws of x's shape (the caller draws them, so both backends give the
    same mask for the same generator). The mask stores the scale itself, as in the NumPy twin.
    """
    check_same_shape(x=x, uniform=uniform, mask_out=mask_out, out=out)
    dtype = mask_out.dtype.type
    mask_view, out_view = OutputView(mask_out, (-1,)), OutputView(out, (-1,))
    _dropout_forward_flat(
        x.reshape(-1),
        uniform.reshape(-1),
        uniform.dtype.type(rate),
        dtype(1.0 / (1.0 - rate)),
        mask_view.array,
        out_view.array,
    )
    mask_view.write_back()
    return out_view.write_back()


def dropout_backward(grad: np.ndarray, mask: np.ndarray, out: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy ⊙ mask."""
    check_same_shape(grad=grad, mask=mask, out=out)
    view = OutputView(out, (-1,))
    _multiply_flat(grad.reshape(-1), mask.reshape(-1), view.array)
    return view.write_back()
