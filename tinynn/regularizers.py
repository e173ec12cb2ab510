"""Weight penalties added to the loss, with their gradients.

A regularizer is called on a weight array and returns a scalar penalty; ``gradient(w)`` returns
d(penalty)/dw with w's shape. Layers add the penalty to the model's loss and the gradient to
their parameter gradient, so optimizers see regularized gradients with no special case.

As in Keras: L1 = l1 · Σ|w|, L2 = l2 · Σ w² (no factor ½, so the gradient is 2 · l2 · w).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.registry import Registry


class Regularizer:
    """Base class: ``__call__(w) -> float`` and ``gradient(w) -> array``."""

    def __call__(self, w: np.ndarray) -> float:
        raise NotImplementedError

    def gradient(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)


def _check_factor(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


class L1L2(Regularizer):
    """l1 · Σ|w| + l2 · Σ w². Gradient: l1 · sign(w) + 2 · l2 · w (sign(0) = 0)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _check_factor("l1", l1)
        self.l2 = _check_factor("l2", l2)

    def __call__(self, w: np.ndarray) -> float:
        return float(self.l1 * np.sum(np.abs(w)) + self.l2 * np.sum(np.square(w)))

    def gradient(self, w: np.ndarray) -> np.ndarray:
        return self.l1 * np.sign(w) + 2.0 * self.l2 * w

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1 · Σ|w|, Keras's default l1 = 0.01."""

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    """l2 · Σ w², Keras's default l2 = 0.01."""

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


#: By name, L1L2 uses 0.01 for both factors, as Keras's ``l1_l2()`` shortcut does (its own
#: defaults are 0, so "l1_l2" would silently add nothing).
REGULARIZERS = Registry(
    "regularizer",
    {"l1": L1, "l2": L2, "l1_l2": L1L2},
    defaults={"l1_l2": {"l1": 0.01, "l2": 0.01}},
    base=Regularizer,
)

register = REGULARIZERS.register


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    return None if regularizer is None else REGULARIZERS.serialize(regularizer)


def get(identifier: Any) -> Regularizer | None:
    """None, a name ("l1", "l2", "l1_l2"; factors 0.01), a serialized dict, or an instance."""
    return None if identifier is None else REGULARIZERS.resolve(identifier)


# Keras's shortcuts: regularizers.l2(0.01) is L2(0.01).
l1, l2, l1_l2 = L1, L2, L1L2
