"""NumPy update kernels for the optimizers: the maths of one step, one parameter at a time.

The optimizer classes in ``tinynn.optimizers`` do the bookkeeping (which buffers exist, the
step counter, the learning-rate schedule, clipping order) and then call one of these functions
per ``(param, grad)`` pair, as ``torch.optim.SGD`` calls its functional ``sgd(...)``.

Conventions shared by every kernel, so that a Numba twin can keep identical signatures:

* Arguments are arrays, Python floats, ints and bools only: no dicts, objects or ``None``.
  A buffer that the chosen options do not need is passed as an empty array and never touched.
* ``param`` and the state buffers are updated in place. ``grad`` is read only (weight decay
  makes a new array); the ``clip_*`` functions are the exception and rewrite ``grad`` in place.
* All arrays share one shape and the parameter's dtype (float32 or float64); the scalar
  hyperparameters are Python floats, so NumPy keeps the arithmetic in that dtype.

The update rules are exactly those documented for ``torch.optim`` (SGD, RMSprop, Adam, AdamW),
including the order of the floating-point operations, so results agree with PyTorch to within
a few rounding errors.
"""

import math

import numpy as np


def sgd_update(
    param, grad, momentum_buffer, lr, momentum, dampening, nesterov, weight_decay, first_step
):
    r"""One SGD step (PyTorch's formulation), in place on ``param`` and ``momentum_buffer``.

    With :math:`\lambda` = ``weight_decay``, :math:`\mu` = ``momentum``,
    :math:`\tau` = ``dampening``, :math:`\gamma` = ``lr``::

        g  = grad + λ·param                          (L2 penalty, only if λ ≠ 0)
        b  = g                                       (first step)
        b  = μ·b + (1 − τ)·g                         (later steps)      } only if μ ≠ 0
        g  = g + μ·b  if nesterov  else  b                              }
        param = param − γ·g

    PyTorch (and we) put the learning rate outside the buffer; Sutskever et al. and Keras use
    ``v = μ·v − γ·g; param += v``. The two agree for a constant learning rate.

    Args:
        param: (any shape) parameter, updated in place.
        grad: same shape as ``param``; not modified.
        momentum_buffer: same shape as ``param`` when ``momentum != 0``, else an empty array.
        lr, momentum, dampening, weight_decay: Python floats.
        nesterov: use Nesterov momentum (requires ``momentum > 0`` and ``dampening == 0``).
        first_step: True on the first step, when the buffer is set to ``g`` instead of decayed.
    """
    if weight_decay != 0:
        grad = grad + weight_decay * param
    if momentum != 0:
        if first_step:
            momentum_buffer[...] = grad
        else:
            momentum_buffer *= momentum
            momentum_buffer += (1 - dampening) * grad
        grad = grad + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * grad


def rmsprop_update(
    param,
    grad,
    square_avg,
    grad_avg,
    momentum_buffer,
    lr,
    rho,
    epsilon,
    weight_decay,
    momentum,
    centered,
):
    r"""One RMSprop step (PyTorch's formulation), in place on ``param`` and the buffers.

    With :math:`\rho` = ``rho`` (PyTorch calls it ``alpha``), :math:`\epsilon` = ``epsilon``::

        g   = grad + λ·param                         (only if λ ≠ 0)
        v   = ρ·v + (1 − ρ)·g²                       (square_avg)
        a   = a + (1 − ρ)·(g − a)                    (grad_avg, only if centered)
        den = sqrt(v − a²) + ε   if centered  else  sqrt(v) + ε
        b   = μ·b + g / den;  param = param − γ·b    (if μ > 0)
        param = param − γ·g / den                    (otherwise)

    Deviation from Keras: PyTorch (and we) add ε *outside* the square root; Keras computes
    ``sqrt(v + ε)``. Hinton's lecture notes leave it unspecified.

    Args:
        param: (any shape) parameter, updated in place.
        grad: same shape; not modified.
        square_avg: same shape, the running mean of g².
        grad_avg: same shape if ``centered``, else an empty array.
        momentum_buffer: same shape if ``momentum > 0``, else an empty array.
        lr, rho, epsilon, weight_decay, momentum: Python floats. centered: bool.
    """
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg *= rho
    square_avg += (1 - rho) * grad * grad
    if centered:
        grad_avg += (1 - rho) * (grad - grad_avg)
        denom = square_avg - grad_avg * grad_avg
        np.sqrt(denom, out=denom)
    else:
        denom = np.sqrt(square_avg)
    denom += epsilon
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += grad / denom
        param -= lr * momentum_buffer
    else:
        param -= lr * grad / denom


def adam_update(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    max_exp_avg_sq,
    lr,
    beta_1,
    beta_2,
    epsilon,
    weight_decay,
    amsgrad,
    step,
    decoupled_weight_decay,
):
    r"""One Adam or AdamW step (PyTorch's formulation), in place on ``param`` and the buffers.

    With :math:`t` = ``step`` (1 on the first call)::

        param = param·(1 − γ·λ)                      (AdamW: decoupled, only if λ ≠ 0)
        g     = grad + λ·param                       (Adam: L2 penalty, only if λ ≠ 0)
        m     = m + (1 − β₁)·(g − m)                 (= β₁·m + (1 − β₁)·g)
        v     = β₂·v + (1 − β₂)·g²
        v̂max  = max(v̂max, v)                         (only if amsgrad; then v below is v̂max)
        den   = sqrt(v) / sqrt(1 − β₂ᵗ) + ε
        param = param − (γ / (1 − β₁ᵗ))·m / den

    That is ``param −= γ·m̂ / (sqrt(v̂) + ε)`` with the bias-corrected moments
    ``m̂ = m/(1 − β₁ᵗ)`` and ``v̂ = v/(1 − β₂ᵗ)`` of Kingma & Ba, Algorithm 1. Deviation from
    Keras: Keras adds ε to ``sqrt(v)`` before bias correction (the paper's "ε-hat" variant).

    Args:
        param: (any shape) parameter, updated in place.
        grad: same shape; not modified.
        exp_avg, exp_avg_sq: same shape, first and second moment estimates m and v.
        max_exp_avg_sq: same shape if ``amsgrad``, else an empty array.
        lr, beta_1, beta_2, epsilon, weight_decay: Python floats.
        amsgrad, decoupled_weight_decay: bools. step: int ≥ 1, the number of this step.
    """
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    exp_avg += (1 - beta_1) * (grad - exp_avg)
    exp_avg_sq *= beta_2
    exp_avg_sq += (1 - beta_2) * grad * grad

    bias_correction_1 = 1 - beta_1**step
    bias_correction_2 = 1 - beta_2**step
    step_size = lr / bias_correction_1

    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        denom = np.sqrt(max_exp_avg_sq)
    else:
        denom = np.sqrt(exp_avg_sq)
    denom /= math.sqrt(bias_correction_2)
    denom += epsilon
    param -= step_size * exp_avg / denom


def clip_by_value(grad, clipvalue):
    """Clip every element of ``grad`` into ``[-clipvalue, clipvalue]``, in place."""
    np.clip(grad, -clipvalue, clipvalue, out=grad)


def l2_norm(grad):
    """Euclidean norm of one array, as a Python float (``vdot`` avoids a squared copy)."""
    return math.sqrt(float(np.vdot(grad, grad)))


def clip_by_norm(grad, clipnorm):
    """Rescale ``grad`` in place so that its L2 norm is at most ``clipnorm``.

    ``grad ← grad · clipnorm / max(‖grad‖, clipnorm)`` (Keras' ``clipnorm``, applied to each
    array on its own). Returns the norm before clipping.
    """
    norm = l2_norm(grad)
    if norm > clipnorm:
        grad *= clipnorm / norm
    return norm


def global_norm(grads):
    """L2 norm of all arrays in ``grads`` taken together: ``sqrt(Σᵢ ‖gᵢ‖²)``."""
    total = 0.0
    for grad in grads:
        total += float(np.vdot(grad, grad))
    return math.sqrt(total)


def clip_by_global_norm(grads, clipnorm):
    """Rescale every array in ``grads`` in place by one common factor so that their joint
    L2 norm (``global_norm``) is at most ``clipnorm`` (Keras' ``global_clipnorm``; the
    directions of the arrays relative to each other are kept). Returns the norm before clipping.

    PyTorch's ``clip_grad_norm_`` does the same but divides by ``norm + 1e-6``.
    """
    norm = global_norm(grads)
    if norm > clipnorm:
        scale = clipnorm / norm
        for grad in grads:
            grad *= scale
    return norm
