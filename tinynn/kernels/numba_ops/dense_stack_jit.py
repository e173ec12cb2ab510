"""A whole stack of Dense layers in one compiled call: the fast path of one-sample inference.

    h_0 = x,   h_l = f_l(h_{l−1} W_l + b_l),   returns h_L

For a handful of samples the matrix products are tiny (one sample through 784-256-256-10 is
0.27 M multiply-adds), so calling BLAS and a bias/activation kernel per layer from Python costs
more than the arithmetic. Here the whole network runs in one compiled function. The layers'
arrays are passed as tuples, so they are the model's own arrays (views into its parameter
store), and training updates are seen without any copy.

Each product is a row vector times W, walking W's rows in order (W is (n_in, n_out),
row-major): the inner loop runs along the contiguous n_out axis, so it vectorizes without
reordering any sum, and eight rows of W are folded in per pass to save loads and stores of the
accumulator. Batches above ``SMALL_BATCH`` go to BLAS layer by layer, which is faster there.

The reference is the inference engine's own NumPy path (``tinynn.runtime.inference``), which
applies each layer's activation class; the tests hold the two together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinynn.kernels.numba_ops.activation_jit import activation_code, bias_activation_forward
from tinynn.kernels.numba_ops.config import jit
from tinynn.kernels.numba_ops.dense_jit import dense_forward

#: Batches up to this size use the compiled products; larger ones use BLAS.
SMALL_BATCH = 4


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
def _stack_forward(x, weights, biases, codes, alphas, scratch):
    rows = x.shape[0]
    h = x
    start = 0
    for layer in range(len(weights)):
        W = weights[layer]
        b = biases[layer]
        n_out = W.shape[1]
        out = scratch[start : start + rows * n_out].reshape((rows, n_out))
        _row_times_matrix(h, W, out)
        if b.shape[0] > 0:
            bias_activation_forward(out, b, codes[layer], alphas[layer], out)
        else:
            bias_activation_forward(out, None, codes[layer], alphas[layer], out)
        h = out
        start += rows * n_out
    return h


class DenseStack:
    """Consecutive Dense layers, given as (W (n_in, n_out), b (n_out,) or None, built-in
    activation) triples, run as one compiled call for small batches."""

    def __init__(self, layers: Sequence[tuple[np.ndarray, np.ndarray | None, Any]]) -> None:
        self.layers = list(layers)
        dtype = self.layers[0][0].dtype
        if not all(W.flags.c_contiguous and W.dtype == dtype for W, _, _ in self.layers):
            raise ValueError("DenseStack needs C-contiguous weights of one dtype (the model's own)")
        self.weights = tuple(W for W, _, _ in self.layers)
        self.biases = tuple(np.empty(0, dtype) if b is None else b for _, b, _ in self.layers)
        self.codes = np.array([activation_code(act.name) for _, _, act in self.layers], np.int64)
        self.alphas = np.array([act.alpha for _, _, act in self.layers], dtype)
        self.width = sum(W.shape[1] for W in self.weights)  # scratch values per row

    def forward_one(self, x: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        """The output for one contiguous sample x (n_in,), a view into ``scratch``: the
        compiled call and nothing else, for the lowest latency."""
        args = self.weights, self.biases, self.codes, self.alphas, scratch
        return _stack_forward(x.reshape(1, -1), *args)[0]

    def forward(self, x: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        """The last layer's output for x (batch, n_in), a view into ``scratch`` (at least
        batch · ``width`` values of x's dtype)."""
        rows = len(x)
        if rows > SMALL_BATCH:
            h, start = x, 0
            for W, b, activation in self.layers:
                out = scratch[start : start + rows * W.shape[1]].reshape(rows, W.shape[1])
                h = dense_forward(h, W, b, activation, out)
                start += out.size
            return h
        x = np.ascontiguousarray(x)
        return _stack_forward(x, self.weights, self.biases, self.codes, self.alphas, scratch)
