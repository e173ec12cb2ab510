"""Activation kernels compiled with Numba: the twins of ``numpy_ops.activations``.

Each activation has an integer code, mapped from its name in Python. ``forward_row`` and
``backward_row`` branch on the code once per row and then run a branch-free loop over it
(softmax couples the whole row, so it is a row function by nature). The two array kernels
apply them to 2-D arrays in ONE pass each: the forward one adds the bias on the way, the
backward one sums the bias gradient on the way; ``dense.py`` calls them around its matrix
products. Derivatives are taken from the output y, as in the NumPy twin.

The public functions ``activation_forward``/``activation_backward`` have the NumPy signatures
and accept any shape (softmax works along the last axis).
"""

from __future__ import annotations

import math

import numpy as np

from tinynn.kernels.numba_ops._arrays import OutputView, as_rows, check_same_shape, rows_shape
from tinynn.kernels.numba_ops.config import SETTINGS, jit, prange
from tinynn.kernels.numpy_ops import activations as numpy_activations

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

#: Forward passes whose cost is an exp/tanh/log per element. On large arrays NumPy's SIMD
#: ufuncs evaluate these faster than a compiled loop can (see config.py for the numbers).
TRANSCENDENTAL_FORWARD = frozenset({SIGMOID, TANH, ELU, SOFTPLUS, SOFTMAX})


def activation_code(name: str) -> int:
    """The integer code of the activation called ``name``."""
    try:
        return ACTIVATION_CODES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown activation kernel {name!r}; expected one of {sorted(ACTIVATION_CODES)}"
        ) from None


def use_numpy_math(code: int, size: int) -> bool:
    """True when NumPy's ufuncs beat the compiled loop for this activation and array size."""
    return code in TRANSCENDENTAL_FORWARD and size >= SETTINGS.numpy_math_min_size


# --- one element ---------------------------------------------------------------------------
# Constants are converted to the element's own type (``type(v)(1.0)``) so that float32 data is
# computed in float32, as NumPy does.


@jit
def sigmoid(v):
    """σ(v) from e = e^−|v| <= 1, which never overflows: 1/(1 + e) for v >= 0, else e/(1 + e)."""
    one = type(v)(1.0)
    e = math.exp(-abs(v))
    s = one / (one + e)
    return s if v >= 0 else e * s


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


# --- one row: the activation code is checked once per row, so each inner loop is branch-free
# --- and LLVM can vectorize it (a check per element made ReLU 10x slower).


@jit(inline=True)
def softmax_row(z, bias, out, i):
    """out[i] = softmax(z[i] + bias) for row i; bias may be None. out may be z itself.

    The row maximum m is subtracted before exponentiating, so every exponent is <= 0.
    """
    if z.shape[1] == 0:
        return
    m = biased(z, bias, i, 0)
    for j in range(z.shape[1]):
        m = max(m, biased(z, bias, i, j))
    total = 0.0
    for j in range(z.shape[1]):
        e = math.exp(biased(z, bias, i, j) - m)
        out[i, j] = e
        total += e
    for j in range(z.shape[1]):
        out[i, j] = out[i, j] / total


@jit(inline=True)
def forward_row(code, z, bias, alpha, out, i):
    """out[i] = f(z[i] + bias) for row i, any activation; bias may be None."""
    n = z.shape[1]
    if code == LINEAR:
        for j in range(n):
            out[i, j] = biased(z, bias, i, j)
    elif code == SIGMOID:
        for j in range(n):
            out[i, j] = sigmoid(biased(z, bias, i, j))
    elif code == TANH:
        for j in range(n):
            out[i, j] = math.tanh(biased(z, bias, i, j))
    elif code == RELU:
        for j in range(n):
            out[i, j] = relu(biased(z, bias, i, j))
    elif code == LEAKY_RELU:
        for j in range(n):
            out[i, j] = leaky_relu(biased(z, bias, i, j), alpha)
    elif code == ELU:
        for j in range(n):
            out[i, j] = elu(biased(z, bias, i, j), alpha)
    elif code == SOFTPLUS:
        for j in range(n):
            out[i, j] = softplus(biased(z, bias, i, j))
    else:
        softmax_row(z, bias, out, i)


@jit(inline=True)
def backward_row(code, y, g, alpha, out, i):
    """out[i] = g[i] ⊙ f'(x) for row i, from the output y = f(x). out may be g."""
    n = y.shape[1]
    one = y.dtype.type(1.0)
    zero = y.dtype.type(0.0)
    if code == LINEAR:
        for j in range(n):
            out[i, j] = g[i, j]
    elif code == SIGMOID:
        for j in range(n):
            out[i, j] = g[i, j] * (y[i, j] * (one - y[i, j]))
    elif code == TANH:
        for j in range(n):
            out[i, j] = g[i, j] * (one - y[i, j] * y[i, j])
    elif code == RELU:
        for j in range(n):
            out[i, j] = g[i, j] * (one if y[i, j] > zero else zero)
    elif code == LEAKY_RELU:
        for j in range(n):
            out[i, j] = g[i, j] * (one if y[i, j] > zero else alpha)
    elif code == ELU:
        for j in range(n):  # alpha·e^x = y + alpha where x <= 0
            out[i, j] = g[i, j] * (one if y[i, j] > zero else y[i, j] + alpha)
    elif code == SOFTPLUS:
        for j in range(n):  # σ(x) = 1 − e^−y
            out[i, j] = g[i, j] * -math.expm1(-y[i, j])
    else:  # softmax: y ⊙ (g − g·y)
        dot = 0.0
        for j in range(n):
            dot += g[i, j] * y[i, j]
        dot_t = y.dtype.type(dot)  # the subtraction happens in y's precision, as in NumPy
        for j in range(n):
            out[i, j] = y[i, j] * (g[i, j] - dot_t)


# --- whole arrays, one pass ----------------------------------------------------------------


@jit
def bias_activation_forward(z, bias, code, alpha, out):
    """out[i, j] = f(z[i, j] + bias[j]) in one pass. z, out: (rows, cols); bias: (cols,) or
    None; alpha has z's dtype. out may be z (the Dense layer passes its GEMM output)."""
    for i in prange(z.shape[0]):
        forward_row(code, z, bias, alpha, out, i)


@jit
def activation_backward_bias(y, grad, code, alpha, out, grad_bias):
    """out = grad ⊙ f'(from y) and, in the same pass, grad_bias = Σ_rows out.

    y, grad, out: (rows, cols); grad_bias: (cols,) or None. out may be grad. The rows are
    summed in order, as NumPy's ``sum(axis=0)`` does, so the bias gradients agree to the bit
    in most cases. (A parallel loop over rows would race on grad_bias, so this one is serial.)
    """
    if grad_bias is not None:
        grad_bias[:] = 0
    for i in range(y.shape[0]):
        backward_row(code, y, grad, alpha, out, i)
        if grad_bias is not None:
            for j in range(y.shape[1]):
                grad_bias[j] += out[i, j]


# --- the public functions (NumPy-backend signatures) ---------------------------------------


def activation_forward(name: str, x: np.ndarray, alpha: float, out: np.ndarray) -> np.ndarray:
    """out = f(x) for the activation called ``name``; any shape, out may be x."""
    code = activation_code(name)
    check_same_shape(x=x, out=out)
    if use_numpy_math(code, x.size):
        return numpy_activations.activation_forward(name, x, alpha, out)
    view = OutputView(out, rows_shape(out))
    bias_activation_forward(as_rows(x), None, code, out.dtype.type(alpha), view.array)
    return view.write_back()


def activation_backward(
    name: str, y: np.ndarray, grad: np.ndarray, alpha: float, out: np.ndarray
) -> np.ndarray:
    """out = grad · f'(x), from the cached output y = f(x); any shape, out may be grad."""
    code = activation_code(name)
    check_same_shape(y=y, grad=grad, out=out)
    if code == SOFTPLUS and y.size >= SETTINGS.numpy_math_min_size:
        return numpy_activations.activation_backward(name, y, grad, alpha, out)
    view = OutputView(out, rows_shape(out))
    activation_backward_bias(
        as_rows(y), as_rows(grad), code, out.dtype.type(alpha), view.array, None
    )
    return view.write_back()


def _named_pair(name: str):
    """The (forward, backward) pair for one activation, with the NumPy twin's signatures."""

    def forward(x: np.ndarray, alpha: float, out: np.ndarray) -> np.ndarray:
        return activation_forward(name, x, alpha, out)

    def backward(y: np.ndarray, grad: np.ndarray, alpha: float, out: np.ndarray) -> np.ndarray:
        return activation_backward(name, y, grad, alpha, out)

    forward.__name__, backward.__name__ = name, f"{name}_backward"
    forward.__doc__ = f"{name}: out = f(x) (compiled twin of numpy_ops.activations.{name})."
    backward.__doc__ = f"{name}: out = grad · f'(x) from y = f(x)."
    return forward, backward


#: name -> (forward, backward), as in the NumPy backend.
ACTIVATION_KERNELS = {name: _named_pair(name) for name in ACTIVATION_CODES}
