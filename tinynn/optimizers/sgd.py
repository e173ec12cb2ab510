"""Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 decay."""

from __future__ import annotations

from typing import Any

from tinynn.optimizers.optimizer import Optimizer, check_range


class SGD(Optimizer):
    r"""SGD exactly as ``torch.optim.SGD`` (see ``kernels.numpy_ops.update_rules.sgd_update``)::

        g = grad + λ·param;   b = μ·b + (1 − τ)·g  (b = g on the first step)
        param −= lr · (g + μ·b  if nesterov  else  b)

    Args:
        learning_rate: float ≥ 0 or a schedule. Default 0.01 (Keras; PyTorch 0.001).
        momentum: μ ≥ 0. Default 0 (plain SGD, no buffer).
        nesterov: Nesterov momentum; needs momentum > 0 and dampening 0 (as PyTorch).
        weight_decay: λ ≥ 0, an L2 penalty added to the gradient (PyTorch's meaning; in Keras 3
            ``weight_decay`` is decoupled, ``param −= lr·λ·param``, for every optimizer).
        dampening: τ in [0, 1], scales the new gradient in the buffer (PyTorch; not in Keras).
        **kwargs: ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``name`` (see Optimizer).

    Keras puts the learning rate inside the buffer (``v = μ·v − lr·g; param += v``); the two
    forms agree while the learning rate is constant.
    """

    def __init__(
        self,
        learning_rate: Any = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        dampening: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        check_range("momentum value", momentum, 0.0)
        check_range("weight_decay value", weight_decay, 0.0)
        check_range("dampening value", dampening, 0.0, 1.0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening; got "
                f"momentum={momentum}, dampening={dampening}"
            )
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)
        self.dampening = float(dampening)

    def _buffer_names(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.momentum != 0 else ()

    def _update(self, param, grad, buffers, lr, step) -> None:
        momentum_buffer = self._buffer_or_empty(buffers, "momentum_buffer", param)
        self.ops.sgd_update(
            param,
            grad,
            momentum_buffer,
            lr,
            self.momentum,
            self.dampening,
            self.nesterov,
            self.weight_decay,
            step == 1,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
            "dampening": self.dampening,
        }
