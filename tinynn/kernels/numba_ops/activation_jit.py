"""Activation kernels compiled with Numba: twins of the classes in ``tinynn.activations``.

Each activation has an integer code, mapped from its name in Python, and a scalar function
(``sigmoid(v)``, ``relu(v)``, ...). The two array kernels branch on the code once and then run
one loop nest over a 2-D array: ``bias_activation_forward`` adds the bias on the way and
``activation_backward_bias`` sums the bias gradient on the way; ``dense.py`` calls them around
its matrix products. Derivatives are taken from the output y, as in the NumPy twin. Softmax
couples a row, so it is computed row by row.

The public functions ``activation_forward``/``activation_backward`` take the activation object
and accept any shape (softmax works along the last axis); the tests hold them to the class's
own ``forward`` and ``backward``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinynn.kernels.numba_ops._arrays import OutputView, as_rows, check_same_shape, rows_shape
from tinynn.kernels.numba_ops.config import SETTINGS, jit, prange

LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, ELU, SOFTPLUS, SOFTMAX = range(8)

#: activation name -> integer code understood by the compiled kernels.
ACTIVATION_CODES = {
    "linear": LINEAR,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "elu": ELU,
    "softplus": SOFTPLUS,
    "softmax": SOFTMAX,
}


def activation_code(name: str) -> int:
    """The integer code of the activation called ``name``."""
    try:
        return ACTIVATION_CODES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown activation kernel {name!r}; expected one of {sorted(ACTIVATION_CODES)}"
        ) from None


def use_numpy_forward(name: str, size: int) -> bool:
    """True when NumPy's SIMD ufuncs beat the compiled loop for this forward pass (config.py)."""
    return size >= SETTINGS.numpy_forward_min_size.get(name, math.inf)


def use_numpy_backward(name: str, size: int) -> bool:
    """True when NumPy's SIMD ufuncs beat the compiled loop for this backward pass."""
    return size >= SETTINGS.numpy_backward_min_size.get(name, math.inf)


# --- one element ---------------------------------------------------------------------------
# Constants are converted to the element's own type (``type(v)(1.0)``) so that float32 data is
# computed in float32, as NumPy does.


@jit
def sigmoid(v):
    """σ(v) from e = e^−|v| <= 1, which never overflows: 1/(1 + e) for v >= 0, else e/(1 + e)."""
    one = type(v)(1.0)
    e = math.exp(-abs(v))
    return one / (one + e) if v >= 0 else e / (one + e)


@jit
def relu(v):
    zero = type(v)(0.0)
    return zero if v < zero else v  # written so that NaN stays NaN, as in np.maximum


@jit
def leaky_relu(v, alpha):
    return v if v > 0 else alpha * v


@jit
def elu(v, alpha):
    return v if v > 0 else alpha * math.expm1(v)


@jit
def softplus(v):
    """log(1 + e^v) = max(v, 0) + log(1 + e^−|v|): the exponent is never positive."""
    return (v if v > 0 else type(v)(0.0)) + math.log1p(math.exp(-abs(v)))


@jit(inline=True)
def biased(z, bias, i, j):
    """z[i, j] + bias[j], or z[i, j] when bias is None (Numba compiles the branch away)."""
    return z[i, j] if bias is None else z[i, j] + bias[j]


# --- whole arrays, one pass ----------------------------------------------------------------
# The activation code is checked once, outside the loops, so each loop nest is branch-free and
# LLVM can vectorize it. (A check per element, or a helper call per row, made ReLU 3-10x
# slower on a 128 x 256 batch.)


@jit
def softmax_rows(z, bias, out):
    """out[i] = softmax(z[i] + bias) for every row i; bias may be None; out may be z.

    The row maximum m is subtracted before exponentiating, so every exponent is <= 0.
    """
    rows, cols = z.shape
    for i in prange(rows):
        if cols == 0:
            continue
        m = biased(z, bias, i, 0)
        for j in range(cols):
            m = max(m, biased(z, bias, i, j))
        total = 0.0
        for j in range(cols):
            e = math.exp(biased(z, bias, i, j) - m)
            out[i, j] = e
            total += e
        for j in range(cols):
            out[i, j] = out[i, j] / total


@jit
def bias_activation_forward(z, bias, code, alpha, out):
    """out[i, j] = f(z[i, j] + bias[j]) in one pass. z, out: (rows, cols); bias: (cols,) or
    None; alpha has z's dtype. out may be z (the Dense layer passes its GEMM output)."""
    rows, cols = z.shape
    if code == SOFTMAX:
        softmax_rows(z, bias, out)
    elif code == LINEAR:
        for i in prange(rows):
            for j in range(cols):
                out[i, j] = biased(z, bias, i, j)
    elif code == SIGMOID:
        for i in prange(rows):
            for j in range(cols):
                out[i, j] = sigmoid(biased(z, bias, i, j))
    elif code == TANH:
        for i in prange(rows):
            for j in range(cols):
                out[i, j] = math.tanh(biased(z, bias, i, j))
    elif code == RELU:
        for i in prange(rows):
            for j in range(cols):
                out[i, j] = relu(biased(z, bias, i, j))
    elif code == LEAKY_RELU:
        for i in prange(rows):
            for j in range(cols):
                out[i, j] = leaky_relu(biased(z, bias, i, j), alpha)
    elif code == ELU:
        for i in prange(rows):
            for j in range(cols):
                out[i, j] = elu(biased(z, bias, i, j), alpha)
    else:  # SOFTPLUS
        for i in prange(rows):
            for j in range(cols):
                out[i, j] = softplus(biased(z, bias, i, j))


@jit(inline=True)
def store(out, grad_bias, i, j, value):
    """out[i, j] = value, and add it to grad_bias[j] unless grad_bias is None."""
    out[i, j] = value
    if grad_bias is not None:
        grad_bias[j] += value


@jit
def activation_backward_bias(y, grad, code, alpha, out, grad_bias):
    """out = grad ⊙ f'(from y) and, in the same pass, grad_bias = Σ_rows out.

    y, grad, out: (rows, cols); grad_bias: (cols,) or None; alpha has y's dtype. out may be
    grad. The rows are summed in order, as NumPy's ``sum(axis=0)`` does, so the bias gradients
    agree to the bit in most cases. (A parallel loop would race on grad_bias: serial ``range``.)
    """
    rows, cols = y.shape
    one = y.dtype.type(1.0)
    zero = y.dtype.type(0.0)
    if grad_bias is not None:
        grad_bias[:] = 0
    if code == SOFTMAX:  # y ⊙ (g − g·y), row by row
        for i in range(rows):
            dot = 0.0
            for j in range(cols):
                dot += grad[i, j] * y[i, j]
            dot_t = y.dtype.type(dot)  # subtract in y's precision, as NumPy does
            for j in range(cols):
                store(out, grad_bias, i, j, y[i, j] * (grad[i, j] - dot_t))
    elif code == LINEAR:
        for i in range(rows):
            for j in range(cols):
                store(out, grad_bias, i, j, grad[i, j])
    elif code == SIGMOID:
        for i in range(rows):
            for j in range(cols):
                store(out, grad_bias, i, j, grad[i, j] * (y[i, j] * (one - y[i, j])))
    elif code == TANH:
        for i in range(rows):
            for j in range(cols):
                store(out, grad_bias, i, j, grad[i, j] * (one - y[i, j] * y[i, j]))
    elif code == RELU:
        for i in range(rows):
            for j in range(cols):
                store(out, grad_bias, i, j, grad[i, j] * (one if y[i, j] > zero else zero))
    elif code == LEAKY_RELU:
        for i in range(rows):
            for j in range(cols):
                store(out, grad_bias, i, j, grad[i, j] * (one if y[i, j] > zero else alpha))
    elif code == ELU:  # alpha·e^x = y + alpha where x <= 0
        for i in range(rows):
            for j in range(cols):
                slope = one if y[i, j] > zero else y[i, j] + alpha
                store(out, grad_bias, i, j, grad[i, j] * slope)
    else:  # SOFTPLUS: σ(x) = 1 − e^−y
        for i in range(rows):
            for j in range(cols):
                store(out, grad_bias, i, j, grad[i, j] * -math.expm1(-y[i, j]))


# --- the public functions: twins of ActivationFunction.forward and .backward ---------------


def activation_forward(activation: Any, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = f(x) for a built-in ``activation``; any shape, out may be x.

    Where NumPy's SIMD ufuncs are faster (``config.py``), the class's own forward runs.
    """
    code = activation_code(activation.name)
    check_same_shape(x=x, out=out)
    if use_numpy_forward(activation.name, x.size):
        return activation.forward(x, out=out)
    view = OutputView(out, rows_shape(out))
    bias_activation_forward(as_rows(x), None, code, out.dtype.type(activation.alpha), view.array)
    return view.write_back()


def activation_backward(
    activation: Any, y: np.ndarray, grad: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """out = grad · f'(x), from the output y = f(x); any shape, out may be grad."""
    code = activation_code(activation.name)
    check_same_shape(y=y, grad=grad, out=out)
    if use_numpy_backward(activation.name, y.size):
        return reference_backward(activation, y, grad, out)
    view = OutputView(out, rows_shape(out))
    activation_backward_bias(
        as_rows(y), as_rows(grad), code, out.dtype.type(activation.alpha), view.array, None
    )
    return view.write_back()


def reference_backward(
    activation: Any, y: np.ndarray, grad: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """The class's own backward from the given y. The compiled forward does not fill the
    class's cache, so we hand it the y this kernel was given."""
    activation.y = y
    return activation.backward(grad, out=out)
