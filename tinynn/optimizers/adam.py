"""Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019)."""

from __future__ import annotations

from typing import Any

from tinynn.optimizers.optimizer import Optimizer, check_range


class Adam(Optimizer):
    r"""Adam exactly as ``torch.optim.Adam`` (see ``optim.adam_update``)::

        m = β₁·m + (1 − β₁)·g;   v = β₂·v + (1 − β₂)·g²        (g = grad + λ·param)
        param −= lr · m̂ / (sqrt(v̂) + ε),   m̂ = m/(1 − β₁ᵗ),  v̂ = v/(1 − β₂ᵗ)

    where t counts this parameter's updates (1 on its first, as PyTorch's ``state["step"]``).
    With ``amsgrad`` the running maximum of v is used in place of v (Reddi et al. 2018).

    Args:
        learning_rate: float ≥ 0 or a schedule. Default 0.001 (as Keras and PyTorch).
        beta_1, beta_2: decay rates of the moment estimates, in [0, 1). Defaults 0.9, 0.999.
        epsilon: ε ≥ 0, added to sqrt(v̂) (PyTorch; Keras adds it to sqrt(v) before bias
            correction). Default 1e-7 (Keras; PyTorch 1e-8).
        amsgrad: use the AMSGrad variant.
        weight_decay: λ ≥ 0, L2 penalty added to the gradient (PyTorch's Adam; Keras 3 decouples
            it). For decoupled decay use ``AdamW``.
        **kwargs: ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``name``.
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        weight_decay: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate, **kwargs)
        check_range("beta_1 value", beta_1, 0.0, 1.0, high_open=True)
        check_range("beta_2 value", beta_2, 0.0, 1.0, high_open=True)
        check_range("epsilon value", epsilon, 0.0)
        check_range("weight_decay value", weight_decay, 0.0)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.amsgrad = bool(amsgrad)
        self.weight_decay = float(weight_decay)

    def _buffer_names(self) -> tuple[str, ...]:
        if self.amsgrad:
            return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
        return ("exp_avg", "exp_avg_sq")

    def _update(self, param, grad, buffers, lr, step) -> None:
        self.ops.adam_update(
            param,
            grad,
            buffers["exp_avg"],
            buffers["exp_avg_sq"],
            self._buffer_or_empty(buffers, "max_exp_avg_sq", param),
            lr,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            self.weight_decay,
            self.amsgrad,
            step,  # t, this parameter's step number (1 on the first), as PyTorch counts
            self.decoupled_weight_decay,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
            "weight_decay": self.weight_decay,
        }


class AdamW(Adam):
    r"""Adam with decoupled weight decay, as ``torch.optim.AdamW``::

        param ← param · (1 − lr·λ)          then the Adam step on the raw gradient

    Decay no longer passes through ε and the moment estimates, so it acts as a true shrinkage
    of the weights. Same arguments as ``Adam``; ``weight_decay`` defaults to 0.004 (Keras;
    PyTorch 0.01). The decay uses the current learning rate, so a schedule scales it too.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        learning_rate: Any = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            **kwargs,
        )
