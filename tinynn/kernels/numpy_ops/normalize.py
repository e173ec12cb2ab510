"""Normalization kernels in plain NumPy: shared by BatchNormalization and LayerNormalization.

Both layers reshape their input to a matrix x (M, D) whose columns are the features that own a
scale γ (D,) and a shift β (D,), and compute

    x̂ = (x − μ) / √(σ² + ε),      y = γ ⊙ x̂ + β.

They differ only in where μ and σ² come from: batch normalization averages each column over
the M rows (μ, σ² of shape (D,)); layer normalization averages each row over its D features
(shape (M, 1)); batch normalization at inference uses fixed moving averages.
"""

from __future__ import annotations

import numpy as np


def moments(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and biased variance (divided by the count, not count − 1) along ``axis``."""
    mean = x.mean(axis=axis, keepdims=axis == 1)
    var = x.var(axis=axis, keepdims=axis == 1)
    return mean, var


def normalize_forward(
    x: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    epsilon: float,
    xhat_out: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """out = γ ⊙ (x − μ)/√(σ² + ε) + β, keeping x̂ in xhat_out; returns 1/√(σ² + ε).

    mean and var broadcast against x (M, D): shape (D,) or (M, 1). γ or β None means 1 or 0.
    """
    inv_std = 1.0 / np.sqrt(var + epsilon)
    np.subtract(x, mean, out=xhat_out)
    xhat_out *= inv_std
    out[...] = xhat_out
    if gamma is not None:
        out *= gamma
    if beta is not None:
        out += beta
    return inv_std


def normalize_backward(
    xhat: np.ndarray,
    inv_std: np.ndarray,
    gamma: np.ndarray | None,
    grad_y: np.ndarray,
    stats_axis: int | None,
    grad_gamma: np.ndarray | None,
    grad_beta: np.ndarray | None,
    grad_x: np.ndarray | None,
) -> None:
    """Back-propagate through ``normalize_forward``.

        dL/dγ = Σ_rows g ⊙ x̂        dL/dβ = Σ_rows g        ĝ = g ⊙ γ

    When μ and σ² were computed from x itself along ``stats_axis`` (0 for batch norm in
    training, 1 for layer norm), they depend on every x in that slice, and with the mean ⟨·⟩
    taken along that axis

        dL/dx = (ĝ − ⟨ĝ⟩ − x̂ ⊙ ⟨ĝ ⊙ x̂⟩) / √(σ² + ε).

    With fixed statistics (stats_axis None: batch norm at inference) it is just ĝ / √(σ² + ε).
    """
    if grad_gamma is not None:
        np.sum(grad_y * xhat, axis=0, out=grad_gamma)
    if grad_beta is not None:
        np.sum(grad_y, axis=0, out=grad_beta)
    if grad_x is None:
        return
    grad_xhat = grad_y * gamma if gamma is not None else grad_y.copy()
    if stats_axis is not None:
        mean_grad = grad_xhat.mean(axis=stats_axis, keepdims=True)
        mean_grad_xhat = (grad_xhat * xhat).mean(axis=stats_axis, keepdims=True)
        grad_xhat -= mean_grad
        grad_xhat -= xhat * mean_grad_xhat
    np.multiply(grad_xhat, inv_std, out=grad_x)
