"""Optimizer update kernels compiled with Numba: the twins of ``numpy_ops.optim``.

Same names, signatures and update rules (PyTorch's; the formulas are in the NumPy twin's
docstrings). Each update is ONE loop over the flat arrays that reads a parameter, its gradient
and its state once and writes them back once, where NumPy makes a pass per operator and
allocates temporaries.

Arrays of any shape are accepted and handled as flat views (``reshape(-1)``), so parameters
that are views into one big flat buffer work as they are. The scalar hyperparameters are
converted to the parameter's dtype before the loop, and the operations run in the same order
as in the NumPy twin, so a float32 parameter is updated in float32 arithmetic, exactly as NumPy
does it: the two backends usually agree to the last bit.
"""

from __future__ import annotations

import math

import numpy as np

from tinynn.kernels.numba_ops._arrays import OutputView, check_buffer, check_same_shape
from tinynn.kernels.numba_ops.config import jit, prange


@jit
def _sgd_flat(
    param,
    grad,
    buf,
    lr,
    momentum,
    one_minus_dampening,
    nesterov,
    weight_decay,
    use_momentum,
    first_step,
):
    """The loop behind ``sgd_update``; every float argument has param's dtype."""
    for i in prange(param.shape[0]):
        g = grad[i]
        if weight_decay != 0:
            g = g + weight_decay * param[i]
        if use_momentum:
            b = g if first_step else buf[i] * momentum + one_minus_dampening * g
            buf[i] = b
            g = g + momentum * b if nesterov else b
        param[i] = param[i] - lr * g


@jit
def _rmsprop_flat(
    param,
    grad,
    square_avg,
    grad_avg,
    buf,
    lr,
    rho,
    one_minus_rho,
    epsilon,
    weight_decay,
    momentum,
    centered,
    use_momentum,
):
    """The loop behind ``rmsprop_update``; every float argument has param's dtype."""
    for i in prange(param.shape[0]):
        g = grad[i]
        if weight_decay != 0:
            g = g + weight_decay * param[i]
        v = square_avg[i] * rho + one_minus_rho * g * g
        square_avg[i] = v
        if centered:
            a = grad_avg[i] + one_minus_rho * (g - grad_avg[i])
            grad_avg[i] = a
            denom = math.sqrt(v - a * a) + epsilon
        else:
            denom = math.sqrt(v) + epsilon
        if use_momentum:
            b = buf[i] * momentum + g / denom
            buf[i] = b
            param[i] = param[i] - lr * b
        else:
            param[i] = param[i] - lr * g / denom


@jit
def _adam_flat(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    max_exp_avg_sq,
    decay_factor,
    weight_decay,
    one_minus_beta_1,
    beta_2,
    one_minus_beta_2,
    sqrt_bias_correction_2,
    epsilon,
    step_size,
    amsgrad,
    decoupled,
):
    """The loop behind ``adam_update``; every float argument has param's dtype."""
    for i in prange(param.shape[0]):
        p = param[i]
        g = grad[i]
        if weight_decay != 0:
            if decoupled:
                p = p * decay_factor
            else:
                g = g + weight_decay * p
        m = exp_avg[i] + one_minus_beta_1 * (g - exp_avg[i])
        exp_avg[i] = m
        v = exp_avg_sq[i] * beta_2 + one_minus_beta_2 * g * g
        exp_avg_sq[i] = v
        if amsgrad:
            v = max(max_exp_avg_sq[i], v)  # always stored: a branch-free loop vectorizes
            max_exp_avg_sq[i] = v
        denom = math.sqrt(v) / sqrt_bias_correction_2 + epsilon
        param[i] = p - step_size * m / denom


@jit
def _clip_flat(grad, low, high):
    for i in prange(grad.shape[0]):
        if grad[i] < low:
            grad[i] = low
        elif grad[i] > high:
            grad[i] = high


@jit
def _scale_flat(grad, factor):
    for i in prange(grad.shape[0]):
        grad[i] = grad[i] * factor


def sgd_update(
    param, grad, momentum_buffer, lr, momentum, dampening, nesterov, weight_decay, first_step
):
    """One SGD step (PyTorch's formulation), in place on ``param`` and ``momentum_buffer``.
    See ``numpy_ops.optim.sgd_update`` for the maths and arguments."""
    check_same_shape(param=param, grad=grad)
    check_buffer("momentum_buffer", momentum_buffer, param, momentum != 0)
    t = param.dtype.type
    views = [OutputView(param, (-1,)), OutputView(momentum_buffer, (-1,))]
    _sgd_flat(
        views[0].array,
        grad.reshape(-1),
        views[1].array,
        t(lr),
        t(momentum),
        t(1 - dampening),
        bool(nesterov),
        t(weight_decay),
        momentum != 0,
        bool(first_step),
    )
    for view in views:
        view.write_back()


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
    """One RMSprop step (PyTorch's formulation), in place on ``param`` and the buffers.
    See ``numpy_ops.optim.rmsprop_update`` for the maths and arguments."""
    check_same_shape(param=param, grad=grad)
    check_buffer("square_avg", square_avg, param, True)
    check_buffer("grad_avg", grad_avg, param, bool(centered))
    check_buffer("momentum_buffer", momentum_buffer, param, momentum > 0)
    t = param.dtype.type
    views = [OutputView(a, (-1,)) for a in (param, square_avg, grad_avg, momentum_buffer)]
    _rmsprop_flat(
        views[0].array,
        grad.reshape(-1),
        views[1].array,
        views[2].array,
        views[3].array,
        t(lr),
        t(rho),
        t(1 - rho),
        t(epsilon),
        t(weight_decay),
        t(momentum),
        bool(centered),
        momentum > 0,
    )
    for view in views:
        view.write_back()


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
    """One Adam or AdamW step (PyTorch's formulation), in place on ``param`` and the buffers.
    See ``numpy_ops.optim.adam_update`` for the maths and arguments."""
    check_same_shape(param=param, grad=grad)
    check_buffer("exp_avg", exp_avg, param, True)
    check_buffer("exp_avg_sq", exp_avg_sq, param, True)
    check_buffer("max_exp_avg_sq", max_exp_avg_sq, param, bool(amsgrad))
    t = param.dtype.type
    bias_correction_1 = 1 - beta_1**step
    bias_correction_2 = 1 - beta_2**step
    views = [OutputView(a, (-1,)) for a in (param, exp_avg, exp_avg_sq, max_exp_avg_sq)]
    _adam_flat(
        views[0].array,
        grad.reshape(-1),
        views[1].array,
        views[2].array,
        views[3].array,
        t(1 - lr * weight_decay),
        t(weight_decay),
        t(1 - beta_1),
        t(beta_2),
        t(1 - beta_2),
        t(math.sqrt(bias_correction_2)),
        t(epsilon),
        t(lr / bias_correction_1),
        bool(amsgrad),
        bool(decoupled_weight_decay),
    )
    for view in views:
        view.write_back()


def clip_by_value(grad, clipvalue):
    """Clip every element of ``grad`` into ``[-clipvalue, clipvalue]``, in place."""
    t = grad.dtype.type
    view = OutputView(grad, (-1,))
    _clip_flat(view.array, t(-clipvalue), t(clipvalue))
    view.write_back()


def l2_norm(grad):
    """Euclidean norm of one array, as a Python float.

    This one stays with BLAS (``np.vdot``, as in the NumPy twin): a compiled loop must keep the
    order of a sum when fastmath is off, so it cannot vectorize it, and even with eight partial
    sums it measured 4-5x slower than OpenBLAS's dot (65k and 1M float32 elements).
    """
    return math.sqrt(float(np.vdot(grad, grad)))


def _scale(grad, factor):
    view = OutputView(grad, (-1,))
    _scale_flat(view.array, grad.dtype.type(factor))
    view.write_back()


def clip_by_norm(grad, clipnorm):
    """Rescale ``grad`` in place so that its L2 norm is at most ``clipnorm``; return the norm
    before clipping (Keras' ``clipnorm``, each array on its own)."""
    norm = l2_norm(grad)
    if norm > clipnorm:
        _scale(grad, clipnorm / norm)
    return norm


def global_norm(grads):
    """L2 norm of all arrays in ``grads`` taken together: ``sqrt(Σᵢ ‖gᵢ‖²)`` (BLAS dots)."""
    return math.sqrt(sum(float(np.vdot(grad, grad)) for grad in grads))


def clip_by_global_norm(grads, clipnorm):
    """Rescale every array in ``grads`` in place by one common factor so that their joint L2
    norm is at most ``clipnorm`` (Keras' ``global_clipnorm``). Returns the norm before."""
    norm = global_norm(grads)
    if norm > clipnorm:
        for grad in grads:
            _scale(grad, clipnorm / norm)
    return norm
