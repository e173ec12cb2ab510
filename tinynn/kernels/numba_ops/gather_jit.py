"""Batch gathering compiled with Numba: the twin of ``numpy_ops.gather_rows``, one loop over
memory."""

from __future__ import annotations

import math

import numpy as np

from tinynn.kernels import numpy_ops
from tinynn.kernels.numba_ops._arrays import OutputView
from tinynn.kernels.numba_ops.config import jit


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
        return numpy_ops.gather_rows(source, indices, out)
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
