"""Fused loss kernels compiled with Numba: the twins of ``numpy_ops.losses``.

Each kernel makes one sweep over the rows and, per row, computes the loss term and writes its
gradient while the row is in cache. Stability is as in the NumPy twins: with m = max_k z_k,

    lse(z) = m + log Σ_k e^(z_k − m)        (every exponent <= 0)
    Σ_k y_k (lse − z_k) = s·log Σ_k e^(z_k − m) − Σ_k y_k (z_k − m),   s = Σ_k y_k

The right-hand form never subtracts two large numbers (logits of ±1e4 stay exact), and the
loss is accumulated in float64. The gradient is (s·p − y) / N, which for one-hot rows is the
familiar (p − y) / N: the softmax Jacobian and the log's 1/p cancel.
"""

from __future__ import annotations

import math

import numpy as np

from tinynn.kernels.numba_ops._arrays import OutputView, check_same_shape
from tinynn.kernels.numba_ops.config import jit


@jit
def _row_max(z):
    m = z[0]
    for k in range(1, z.shape[0]):
        if z[k] > m:
            m = z[k]
    return m


@jit
def _exp_shifted_row(z, m, out):
    """out = e^(z − m); returns Σ out (in float64)."""
    total = 0.0
    for k in range(z.shape[0]):
        e = math.exp(z[k] - m)
        out[k] = e
        total += e
    return total


@jit
def _softmax_cross_entropy_rows(logits, targets, grad_out):
    n = logits.shape[0]
    count = grad_out.dtype.type(n)
    loss = 0.0
    for i in range(n):
        z, y, g = logits[i], targets[i], grad_out[i]
        m = _row_max(z)
        mass = 0.0
        dot = 0.0  # Σ_k y_k (z_k − m), taken before g (which may alias z) is written
        for k in range(z.shape[0]):
            mass += y[k]
            dot += y[k] * (z[k] - m)
        row_sum = _exp_shifted_row(z, m, g)
        loss += mass * math.log(row_sum) - dot
        mass_t = grad_out.dtype.type(mass)
        for k in range(z.shape[0]):
            g[k] = (g[k] / row_sum * mass_t - y[k]) / count
    return loss / n


@jit
def _sparse_softmax_cross_entropy_rows(logits, labels, grad_out):
    n, classes = logits.shape
    count = grad_out.dtype.type(n)
    loss = 0.0
    for i in range(n):
        label = labels[i]
        if label < 0 or label >= classes:
            raise IndexError("label out of range")
        z, g = logits[i], grad_out[i]
        m = _row_max(z)
        shifted_label_logit = z[label] - m
        row_sum = _exp_shifted_row(z, m, g)
        loss += math.log(row_sum) - shifted_label_logit
        for k in range(classes):
            g[k] = g[k] / row_sum
        g[label] -= 1
        for k in range(classes):
            g[k] = g[k] / count
    return loss / n


@jit
def _sigmoid_cross_entropy_flat(logits, targets, grad_out):
    count = grad_out.dtype.type(logits.shape[0])
    loss = 0.0
    for i in range(logits.shape[0]):
        z, y = logits[i], targets[i]
        one = type(z)(1.0)
        e = math.exp(-abs(z))  # shared by the loss and σ(z); never overflows
        # −[y log σ(z) + (1 − y) log(1 − σ(z))] = max(z, 0) − z·y + log(1 + e^−|z|)
        loss += (z if z > 0 else 0.0) - z * y + math.log1p(e)
        sigma = one / (one + e) if z >= 0 else e / (one + e)
        grad_out[i] = (sigma - y) / count
    return loss / logits.shape[0]


def _check_rows(logits: np.ndarray, grad_out: np.ndarray) -> None:
    check_same_shape(logits=logits, grad_out=grad_out)
    if logits.ndim != 2 or logits.shape[1] == 0:
        raise ValueError(f"logits has shape {logits.shape}; expected (batch, classes)")


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray, grad_out: np.ndarray) -> float:
    """Mean categorical cross-entropy of softmax(logits) against target distributions.

    logits, targets, grad_out: (batch, classes). Returns L = (1/N) Σ_n Σ_k y_nk (lse(z_n) − z_nk)
    and writes dL/dz = (s_n·p_n − y_n) / N into grad_out (s_n = Σ_k y_nk, 1 for one-hot rows).
    """
    _check_rows(logits, grad_out)
    check_same_shape(logits=logits, targets=targets)
    return float(_softmax_cross_entropy_rows(logits, targets, grad_out))


def sparse_softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray, grad_out: np.ndarray
) -> float:
    """As softmax_cross_entropy, with integer labels (batch,) in [0, classes) for one-hot rows.

    A label outside [0, classes) is an IndexError, as in the NumPy twin.
    """
    _check_rows(logits, grad_out)
    if labels.shape != logits.shape[:1] or labels.dtype.kind not in "iu":
        raise ValueError(
            f"labels must be integers of shape {logits.shape[:1]}; got {labels.dtype} "
            f"{labels.shape}"
        )
    try:
        return float(_sparse_softmax_cross_entropy_rows(logits, labels, grad_out))
    except IndexError:
        bad = labels[(labels < 0) | (labels >= logits.shape[1])]
        raise IndexError(
            f"labels must be in [0, {logits.shape[1]}); got {bad[:5].tolist()}"
        ) from None


def sigmoid_cross_entropy(logits: np.ndarray, targets: np.ndarray, grad_out: np.ndarray) -> float:
    """Mean binary cross-entropy of sigmoid(logits) against targets in [0, 1], any shape.

    Per element max(z, 0) − z·y + log(1 + e^−|z|), averaged over every element;
    dL/dz = (σ(z) − y) / (number of elements).
    """
    check_same_shape(logits=logits, targets=targets, grad_out=grad_out)
    view = OutputView(grad_out, (-1,))
    loss = _sigmoid_cross_entropy_flat(logits.reshape(-1), targets.reshape(-1), view.array)
    view.write_back()
    return float(loss)
