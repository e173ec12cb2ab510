"""A whole stack of Dense layers in one call: the inference path of ``model.predict``.

    h_0 = x,   h_l = f_l(h_{l−1} W_l + b_l),   returns h_L

The network is described by flat arrays, so that a compiled backend receives a handful of
arguments however deep the network is:

- ``flat_params``: 1-D array holding every W_l and b_l (a model's packed parameter buffer);
- ``layout``: int64 (L, 5), one row per layer: offset of W_l (n_in × n_out, row-major),
  offset of b_l (−1 for no bias), n_in, n_out, activation code (``STACK_ACTIVATIONS``);
- ``alphas``: (L,) the activations' alpha (leaky ReLU slope, ELU scale), in x's dtype;
- ``scratch``: 1-D, at least batch · Σ n_out elements; layer l writes its (batch, n_out)
  output into the next free stretch of it.

Returns the last layer's output, a view into ``scratch``. Going through the layers' own
forward methods gives the same numbers; this path skips their checks and bookkeeping, which
dominate the cost for one sample.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinynn.kernels.numpy_ops.dense import dense_forward

#: Activation codes used in ``layout``; the Numba backend uses the same numbering.
STACK_ACTIVATIONS = (
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "softplus",
    "softmax",
)


def dense_stack_forward(
    x: np.ndarray,
    flat_params: np.ndarray,
    layout: np.ndarray,
    alphas: np.ndarray,
    scratch: np.ndarray,
) -> np.ndarray:
    """Run every layer of ``layout`` on x (batch, n_in); see the module docstring."""
    return run_layers(dense_forward, x, flat_params, layout, alphas, scratch)


def run_layers(
    dense_forward_kernel: Callable,
    x: np.ndarray,
    flat_params: np.ndarray,
    layout: np.ndarray,
    alphas: np.ndarray,
    scratch: np.ndarray,
) -> np.ndarray:
    """The layer loop, one backend's ``dense_forward`` per layer (the Numba twin reuses it
    for batches too large for its single compiled call)."""
    h, start = x, 0
    # Plain Python ints and floats: indexing NumPy scalars costs more than the arithmetic of a
    # small layer.
    for (w_offset, b_offset, n_in, n_out, code), alpha in zip(
        layout.tolist(), alphas.tolist(), strict=True
    ):
        W = flat_params[w_offset : w_offset + n_in * n_out].reshape(n_in, n_out)
        b = flat_params[b_offset : b_offset + n_out] if b_offset >= 0 else None
        size = len(x) * n_out
        out = scratch[start : start + size].reshape(len(x), n_out)
        h = dense_forward_kernel(h, W, b, STACK_ACTIVATIONS[code], alpha, out)
        start += size
    return h
