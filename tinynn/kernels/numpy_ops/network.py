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

from tinynn.kernels.numpy_ops.activations import activation_forward
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


#: One layer ready to run: (W view (n_in, n_out), b view (n_out,) or None, activation, alpha).
StackLayer = tuple[np.ndarray, np.ndarray | None, str, float]


def stack_layers(
    flat_params: np.ndarray, layout: np.ndarray, alphas: np.ndarray
) -> tuple[StackLayer, ...]:
    """The layers ``layout`` describes, as views into ``flat_params`` (nothing is copied, so
    they follow every in-place update of the buffer). Slicing them out costs about a
    microsecond per layer: a caller running the same network many times computes them once
    and passes them to ``dense_stack_forward`` as ``layers``."""
    layers = []
    # Plain Python ints and floats: indexing NumPy scalars costs more than a small layer.
    for (w_offset, b_offset, n_in, n_out, code), alpha in zip(
        layout.tolist(), alphas.tolist(), strict=True
    ):
        W = flat_params[w_offset : w_offset + n_in * n_out].reshape(n_in, n_out)
        b = flat_params[b_offset : b_offset + n_out] if b_offset >= 0 else None
        layers.append((W, b, STACK_ACTIVATIONS[code], alpha))
    return tuple(layers)


def dense_stack_forward(
    x: np.ndarray,
    flat_params: np.ndarray,
    layout: np.ndarray,
    alphas: np.ndarray,
    scratch: np.ndarray,
    layers: tuple[StackLayer, ...] | None = None,
) -> np.ndarray:
    """Run every layer of ``layout`` on x (batch, n_in); see the module docstring.

    ``layers``, if given, must be ``stack_layers(flat_params, layout, alphas)``.
    """
    if layers is None:
        layers = stack_layers(flat_params, layout, alphas)
    if len(x) == 1 and x.dtype == flat_params.dtype:  # np.dot writes no other dtype
        return _one_sample(x[0], layers, scratch)[None]
    return run_layers(dense_forward, x, layers, scratch)


def _one_sample(x: np.ndarray, layers: tuple[StackLayer, ...], scratch: np.ndarray) -> np.ndarray:
    """The layer loop for one sample as a vector (n_in,): vector-matrix products (np.dot) and
    1-D reductions cost less than their one-row batched forms, about 2 µs over
    784-256-256-10 (measured on one core). Same formulas as ``dense_forward``."""
    h, start = x, 0
    for W, b, name, alpha in layers:
        out = scratch[start : start + W.shape[1]]
        np.dot(h, W, out=out)
        if b is not None:
            out += b
        h = activation_forward(name, out, alpha, out)
        start += W.shape[1]
    return h


def run_layers(
    dense_forward_kernel: Callable,
    x: np.ndarray,
    layers: tuple[StackLayer, ...],
    scratch: np.ndarray,
) -> np.ndarray:
    """The layer loop, one backend's ``dense_forward`` per layer, for x of shape (batch, n_in).
    The Numba twin reuses it for batches too large for its single compiled call."""
    h, start = x, 0
    for W, b, name, alpha in layers:
        n_out = W.shape[1]
        size = len(x) * n_out
        out = scratch[start : start + size].reshape(len(x), n_out)
        h = dense_forward_kernel(h, W, b, name, alpha, out)
        start += size
    return h
