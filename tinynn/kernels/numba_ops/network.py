"""A whole stack of Dense layers in one compiled call: the twin of ``numpy_ops.network``.

For a handful of samples the matrix products are tiny (one sample through 784-256-256-10 is
0.27 M multiply-adds), so calling BLAS and a bias/activation kernel per layer from Python costs
more than the arithmetic. Here the whole network runs in one compiled function, described by
the flat arrays of the NumPy twin (few arguments keep Numba's per-call dispatch cheap).

Each product is a row vector times W, walking W's rows in order (W is (n_in, n_out),
row-major): the inner loop runs along the contiguous n_out axis, so it vectorizes without
reordering any sum, and eight rows of W are folded in per pass to save loads and stores of the
accumulator. The weights of 784-256-256-10 (1.07 MB) do not fit this machine's 1 MB L2 cache,
so one sample is bound by memory bandwidth: about 7 µs for the first layer, as with BLAS.

Batches above ``SMALL_BATCH`` go to BLAS layer by layer, which is faster there.
"""

from __future__ import annotations

import numpy as np

from tinynn.kernels.numba_ops.activations import ACTIVATION_CODES, bias_activation_forward
from tinynn.kernels.numba_ops.config import jit
from tinynn.kernels.numba_ops.dense import dense_forward
from tinynn.kernels.numpy_ops.network import (
    STACK_ACTIVATIONS,
    StackLayer,
    run_layers,
    stack_layers,
)

#: Batches up to this size use the compiled products; larger ones use BLAS.
SMALL_BATCH = 4

assert all(ACTIVATION_CODES[name] == code for code, name in enumerate(STACK_ACTIVATIONS))


@jit
def _row_times_matrix(h, W, out):
    """out[r] = h[r] @ W for every row r, summing W's rows in their natural order."""
    rows, n_in = h.shape
    n_out = W.shape[1]
    for r in range(rows):
        for j in range(n_out):
            out[r, j] = 0.0
        i = 0
        while i + 8 <= n_in:
            a0, a1, a2, a3 = h[r, i], h[r, i + 1], h[r, i + 2], h[r, i + 3]
            a4, a5, a6, a7 = h[r, i + 4], h[r, i + 5], h[r, i + 6], h[r, i + 7]
            for j in range(n_out):
                out[r, j] += (
                    a0 * W[i, j] + a1 * W[i + 1, j] + a2 * W[i + 2, j] + a3 * W[i + 3, j]
                    + a4 * W[i + 4, j] + a5 * W[i + 5, j] + a6 * W[i + 6, j] + a7 * W[i + 7, j]
                )  # fmt: skip
            i += 8
        while i < n_in:
            a = h[r, i]
            for j in range(n_out):
                out[r, j] += a * W[i, j]
            i += 1


@jit
def _stack_forward(x, flat_params, layout, alphas, scratch):
    rows = x.shape[0]
    h = x
    start = 0
    for layer in range(layout.shape[0]):
        w_offset, b_offset, n_in, n_out, code = layout[layer]
        W = flat_params[w_offset : w_offset + n_in * n_out].reshape((n_in, n_out))
        out = scratch[start : start + rows * n_out].reshape((rows, n_out))
        _row_times_matrix(h, W, out)
        if b_offset >= 0:
            bias = flat_params[b_offset : b_offset + n_out]
            bias_activation_forward(out, bias, code, alphas[layer], out)
        else:
            bias_activation_forward(out, None, code, alphas[layer], out)
        h = out
        start += rows * n_out
    return h


def dense_stack_forward(
    x: np.ndarray,
    flat_params: np.ndarray,
    layout: np.ndarray,
    alphas: np.ndarray,
    scratch: np.ndarray,
    layers: tuple[StackLayer, ...] | None = None,
) -> np.ndarray:
    """Run every layer of ``layout`` on x (batch, n_in); same contract as the NumPy twin."""
    if x.shape[0] > SMALL_BATCH:
        if layers is None:
            layers = stack_layers(flat_params, layout, alphas)
        return run_layers(dense_forward, x, layers, scratch)
    return _stack_forward(np.ascontiguousarray(x), flat_params, layout, alphas, scratch)
