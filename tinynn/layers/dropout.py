"""Dropout: randomly zero units while training (inverted dropout)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.layers.layer import Layer


class Dropout(Layer):
    """While training: y = x ⊙ m / (1 − rate), with m_i ~ Bernoulli(1 − rate). Otherwise y = x.

    Scaling at training time ("inverted" dropout) keeps E[y] = x, so inference needs no
    rescaling. The mask comes from ``self.rng`` — seed the layer (``Dropout(0.5, seed=0)``) or
    its model for repeatable runs. Caches the scaled mask; dL/dx = dL/dy ⊙ mask.
    """

    def __init__(self, rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        rate = float(rate)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
        self.rate = rate
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        uniform = self.rng.random(x.shape, dtype=self.dtype, out=self._buffer("uniform", x.shape))
        # The mask holds the scale itself, 0 or 1/(1 − rate), so backward is one product.
        self._mask = np.greater_equal(uniform, self.rate, out=self._buffer("mask", x.shape))
        self._mask *= 1 / (1 - self.rate)
        return np.multiply(x, self._mask, out=self._buffer("y", x.shape))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """dL/dx = dL/dy ⊙ mask."""
        if self._mask is None:
            return grad_output
        return np.multiply(grad_output, self._mask, out=self._buffer("grad_x", self._mask.shape))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}
