"""Dense (fully connected) layer kernels in plain NumPy: the reference implementation.

Shapes: x (batch, n_in), W (n_in, n_out), b (n_out,), y and every gradient of y (batch, n_out).
Outputs go into caller-provided arrays, so a training loop can reuse its buffers.
"""

from __future__ import annotations

import numpy as np

from tinynn.kernels.numpy_ops.activations import activation_backward, activation_forward


def dense_forward(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    activation: str,
    alpha: float,
    out: np.ndarray,
) -> np.ndarray:
    """out = f(x W + b): the matrix product, then one pass for the bias and activation."""
    np.matmul(x, W, out=out)
    if b is not None:
        out += b
    return activation_forward(activation, out, alpha, out)


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

    dL/dz = dL/dy ⊙ f'(z)        (written into grad_z, from the cached output y)
    dL/dW = xᵀ · dL/dz           (n_in, n_out)
    dL/db = Σ_batch dL/dz        (n_out,)
    dL/dx = dL/dz · Wᵀ           (batch, n_in); skipped when grad_x is None (the first layer)
    """
    activation_backward(activation, y, grad_y, alpha, grad_z)
    np.matmul(x.T, grad_z, out=grad_W)
    if grad_b is not None:
        np.sum(grad_z, axis=0, out=grad_b)
    if grad_x is not None:
        np.matmul(grad_z, W.T, out=grad_x)
