"""Fused loss kernels: the loss value and its gradient in one pass over the logits.

Working from logits rather than probabilities is what makes these stable. log-softmax is
computed as z − logsumexp(z), and logsumexp(z) = m + log Σ e^(z − m) with m = max z, so no
exponent is ever positive and no probability is ever rounded to 0 before its log is taken.
"""

from __future__ import annotations

import numpy as np

from tinynn.kernels.numpy_ops.activations import sigmoid


def _softmax_and_shift(logits: np.ndarray, probs_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill probs_out with softmax(logits); return (m, log Σ e^(z − m)) per row, each (batch, 1).

    logsumexp(z) = m + log Σ e^(z − m). Callers subtract m from z before combining, so that in
    float32 a logit of 1e4 never meets another 1e4 in a subtraction that cancels.
    """
    row_max = logits.max(axis=-1, keepdims=True)
    np.subtract(logits, row_max, out=probs_out)
    np.exp(probs_out, out=probs_out)
    row_sum = probs_out.sum(axis=-1, keepdims=True)
    probs_out /= row_sum
    return row_max, np.log(row_sum)


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray, grad_out: np.ndarray) -> float:
    """Mean categorical cross-entropy of softmax(logits) against target distributions.

    logits, targets, grad_out: (batch, classes). Returns L = (1/N) Σ_n [ s_n·lse(z_n) − y_n·z_n ]
    where s_n = Σ_k y_nk (1 for one-hot rows), and writes dL/dz = (s_n·p_n − y_n) / N into
    grad_out. For one-hot targets that is the familiar (p − y) / N: the softmax Jacobian and
    the log's 1/p cancel, which is why this fusion is both cheaper and stable.
    """
    n = logits.shape[0]
    row_max, log_sum = _softmax_and_shift(logits, grad_out)
    target_mass = targets.sum(axis=-1, keepdims=True)
    shifted_dot = np.sum(targets * (logits - row_max), axis=-1, keepdims=True)
    loss = float(np.sum(target_mass * log_sum - shifted_dot))
    grad_out *= target_mass
    grad_out -= targets
    grad_out /= n
    return loss / n


def sparse_softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray, grad_out: np.ndarray
) -> float:
    """As softmax_cross_entropy, with integer labels (batch,) in place of one-hot rows.

    logits, grad_out: (batch, classes); labels: (batch,) ints in [0, classes). Returns
    L = (1/N) Σ_n [ lse(z_n) − z_{n, label_n} ] and writes dL/dz = (p − onehot(labels)) / N.
    """
    n = logits.shape[0]
    classes = logits.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise IndexError(f"labels must be in [0, {classes}); got {labels.min()}..{labels.max()}")
    rows = np.arange(n)
    row_max, log_sum = _softmax_and_shift(logits, grad_out)
    loss = float(np.sum(log_sum[:, 0] - (logits[rows, labels] - row_max[:, 0])))
    grad_out[rows, labels] -= 1.0
    grad_out /= n
    return loss / n


def sigmoid_cross_entropy(logits: np.ndarray, targets: np.ndarray, grad_out: np.ndarray) -> float:
    """Mean binary cross-entropy of sigmoid(logits) against targets in [0, 1].

    Per element, −[y log σ(z) + (1 − y) log(1 − σ(z))] = max(z, 0) − z·y + log(1 + e^−|z|),
    which never exponentiates a positive number. The mean runs over every element, as Keras
    averages over the last axis and then the batch. dL/dz = (σ(z) − y) / (number of elements).
    logits, targets, grad_out: one shape, usually (batch, units).
    """
    size = logits.size
    per_element = np.maximum(logits, 0.0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))
    sigmoid(logits, 0.0, grad_out)
    grad_out -= targets
    grad_out /= size
    return float(per_element.sum() / size)
