"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from typing import Any

from tinynn.optimizers.optimizer import Optimizer, check_range


class RMSprop(Optimizer):
    r"""RMSprop exactly as ``torch.optim.RMSprop`` (see ``optim.rmsprop_update``)::

        v = ρ·v + (1 − ρ)·g²;   den = sqrt(v) + ε     (centered: sqrt(v − a²) + ε,
                                                         a = running mean of g)
        param −= lr · g / den                         (momentum: b = μ·b + g/den; param −= lr·b)

    Args:
        learning_rate: float ≥ 0 or a schedule. Default 0.001 (Keras; PyTorch 0.01).
        rho: ρ in [0, 1), decay of the running averages. Default 0.9 (Keras; PyTorch calls
            it ``alpha`` and defaults to 0.99).
        momentum: μ ≥ 0. Default 0.
        epsilon: ε ≥ 0, added to the root *outside* the square root as PyTorch does (Keras adds
            it inside). Default 1e-7 (Keras; PyTorch 1e-8).
        centered: subtract the squared running mean of g (Graves 2013), estimating the variance.
        weight_decay: λ ≥ 0, L2 penalty added to the gradient (PyTorch's meaning).
        **kwargs: ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``name``.
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        weight_decay: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        check_range("rho value", rho, 0.0, 1.0, high_open=True)
        check_range("momentum value", momentum, 0.0)
        check_range("epsilon value", epsilon, 0.0)
        check_range("weight_decay value", weight_decay, 0.0)
        self.rho = float(rho)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.centered = bool(centered)
        self.weight_decay = float(weight_decay)

    def _buffer_names(self) -> tuple[str, ...]:
        names = ["square_avg"]
        if self.centered:
            names.append("grad_avg")
        if self.momentum > 0:
            names.append("momentum_buffer")
        return tuple(names)

    def _update(self, param, grad, buffers, lr, step) -> None:
        self.ops.rmsprop_update(
            param,
            grad,
            buffers["square_avg"],
            self._buffer_or_empty(buffers, "grad_avg", param),
            self._buffer_or_empty(buffers, "momentum_buffer", param),
            lr,
            self.rho,
            self.epsilon,
            self.weight_decay,
            self.momentum,
            self.centered,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
            "weight_decay": self.weight_decay,
        }
