"""Dense layer kernels for the Numba backend: BLAS for the products, one compiled pass for the
rest. The twin of ``numpy_ops.dense``, with the same signatures and shapes:
x (batch, n_in), W (n_in, n_out), b (n_out,), y and every gradient of y (batch, n_out).

The matrix products stay with NumPy (``np.matmul(..., out=...)`` calls OpenBLAS, which no
hand-written loop beats). What Numba fuses is everything between them, which NumPy would do
in several passes over memory:

    forward:   z = x W (BLAS) ─► ONE pass: y = f(z + b)               (in place on out)
    backward:  ONE pass: dL/dz = dL/dy ⊙ f'(from y), dL/db = Σ_batch dL/dz
               ─► dL/dW = xᵀ dL/dz, dL/dx = dL/dz Wᵀ (BLAS)
"""

from __future__ import annotations

import numpy as np

from tinynn.kernels.numba_ops._arrays import check_same_shape
from tinynn.kernels.numba_ops.activations import (
    activation_backward_bias,
    activation_code,
    bias_activation_forward,
    use_numpy_backward,
    use_numpy_forward,
)
from tinynn.kernels.numpy_ops import activations as numpy_activations


def _check_bias(name: str, bias: np.ndarray | None, units: int) -> None:
    if bias is not None and bias.shape != (units,):
        raise ValueError(f"{name} has shape {bias.shape}; expected ({units},)")


def dense_forward(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    activation: str,
    alpha: float,
    out: np.ndarray,
) -> np.ndarray:
    """out = f(x W + b): the matrix product, then one compiled pass for bias and activation.

    tanh, and elu and softmax on large outputs, are evaluated by NumPy's SIMD ufuncs after
    the bias add instead, which is faster without SVML (measurements in ``config.py``).
    """
    code = activation_code(activation)
    if out.ndim != 2:
        raise ValueError(f"out has shape {out.shape}; expected (batch, units)")
    np.matmul(x, W, out=out)
    _check_bias("b", b, out.shape[-1])
    if use_numpy_forward(activation, out.size):
        if b is not None:
            out += b
        return numpy_activations.activation_forward(activation, out, alpha, out)
    bias_activation_forward(out, b, code, out.dtype.type(alpha), out)
    return out


def dense_backward(
    x: np.ndarray,
    W: np.ndarray,
    y: np.ndarray,
    grad_y: np.ndarray,
    activation: str,
    alpha: float,
    grad_W: np.ndarray,
    grad_b: np.ndarray | None,
    grad_z: np.ndarray,
    grad_x: np.ndarray | None,
) -> None:
    """Back-propagate through y = f(z), z = x W + b.

    dL/dz = dL/dy ⊙ f'(z)    } one compiled pass (grad_z from the cached output y,
    dL/db = Σ_batch dL/dz    }                    grad_b summed on the way)
    dL/dW = xᵀ · dL/dz        (n_in, n_out), BLAS
    dL/dx = dL/dz · Wᵀ        (batch, n_in), BLAS; skipped when grad_x is None
    """
    code = activation_code(activation)
    check_same_shape(y=y, grad_y=grad_y, grad_z=grad_z)
    _check_bias("grad_b", grad_b, y.shape[-1])
    if y.ndim != 2:
        raise ValueError(f"y has shape {y.shape}; expected (batch, units)")
    if use_numpy_backward(activation, y.size):
        numpy_activations.activation_backward(activation, y, grad_y, alpha, grad_z)
        if grad_b is not None:
            np.sum(grad_z, axis=0, out=grad_b)
    else:
        activation_backward_bias(y, grad_y, code, y.dtype.type(alpha), grad_z, grad_b)
    np.matmul(x.T, grad_z, out=grad_W)
    if grad_x is not None:
        np.matmul(grad_z, W.T, out=grad_x)
