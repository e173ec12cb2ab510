"""Dense layer kernels for the Numba backend: BLAS for the products, one compiled pass for the
rest: the twin of the reference lines in ``tinynn.layers.dense`` (``dense_step``), with shapes
x (batch, n_in), W (n_in, n_out), b (n_out,), y and every gradient of y (batch, n_out).

The matrix products stay with NumPy (``np.matmul(..., out=...)`` calls OpenBLAS, which no
hand-written loop beats). What Numba fuses is everything between them, which NumPy would do
in several passes over memory:

    forward:   z = x W (BLAS) ─► ONE pass: y = f(z + b)               (in place on out)
    backward:  ONE pass: dL/dz = dL/dy ⊙ f'(from y), dL/db = Σ_batch dL/dz
               ─► dL/dW = xᵀ dL/dz, dL/dx = dL/dz Wᵀ (BLAS)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.kernels.numba_ops._arrays import check_same_shape
from tinynn.kernels.numba_ops.activation_jit import (
    activation_backward_bias,
    activation_code,
    bias_activation_forward,
    reference_backward,
    use_numpy_backward,
    use_numpy_forward,
)


def _check_bias(name: str, bias: np.ndarray | None, units: int) -> None:
    if bias is not None and bias.shape != (units,):
        raise ValueError(f"{name} has shape {bias.shape}; expected ({units},)")


def dense_forward(
    x: np.ndarray, W: np.ndarray, b: np.ndarray | None, activation: Any, out: np.ndarray
) -> np.ndarray:
    """out = f(x W + b): the matrix product, then one compiled pass for bias and activation.

    ``activation`` is a built-in ``ActivationFunction``, or None for z itself (the logits a
    fused loss takes). tanh, and elu and softmax on large outputs, are evaluated by the class's
    own NumPy forward after the bias add instead, which is faster without SVML (``config.py``).
    """
    name = "linear" if activation is None else activation.name
    code = activation_code(name)
    if out.ndim != 2:
        raise ValueError(f"out has shape {out.shape}; expected (batch, units)")
    np.matmul(x, W, out=out)
    _check_bias("b", b, out.shape[-1])
    if activation is not None and use_numpy_forward(name, out.size):
        if b is not None:
            out += b
        return activation.forward(out, out=out)
    alpha = 0.0 if activation is None else activation.alpha
    bias_activation_forward(out, b, code, out.dtype.type(alpha), out)
    return out


def dense_backward(
    x: np.ndarray,
    W: np.ndarray,
    y: np.ndarray,
    grad_y: np.ndarray,
    activation: Any,
    grad_W: np.ndarray | None,
    grad_b: np.ndarray | None,
    grad_z: np.ndarray,
    grad_x: np.ndarray | None,
) -> None:
    """Back-propagate through y = f(z), z = x W + b (``activation`` None: y = z).

    dL/dz = dL/dy ⊙ f'(z)    } one compiled pass (grad_z from the cached output y,
    dL/db = Σ_batch dL/dz    }                    grad_b summed on the way)
    dL/dW = xᵀ · dL/dz        (n_in, n_out), BLAS; skipped when grad_W is None (frozen)
    dL/dx = dL/dz · Wᵀ        (batch, n_in), BLAS; skipped when grad_x is None
    """
    name = "linear" if activation is None else activation.name
    code = activation_code(name)
    check_same_shape(y=y, grad_y=grad_y, grad_z=grad_z)
    _check_bias("grad_b", grad_b, y.shape[-1])
    if y.ndim != 2:
        raise ValueError(f"y has shape {y.shape}; expected (batch, units)")
    if activation is not None and use_numpy_backward(name, y.size):
        reference_backward(activation, y, grad_y, grad_z)
        if grad_b is not None:
            np.sum(grad_z, axis=0, out=grad_b)
    else:
        alpha = 0.0 if activation is None else activation.alpha
        activation_backward_bias(y, grad_y, code, y.dtype.type(alpha), grad_z, grad_b)
    if grad_W is not None:
        np.matmul(x.T, grad_z, out=grad_W)
    if grad_x is not None:
        np.matmul(grad_z, W.T, out=grad_x)
