"""Activation: an activation function used as a layer of its own."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn import activations
from tinynn.layers.base import Layer


class Activation(Layer):
    """y = f(x) element-wise (softmax: over the last axis); dL/dx = dL/dy ⊙ f'(x).

    Caches only y. ``Activation("relu")`` after ``Dense(64)`` computes what
    ``Dense(64, activation="relu")`` does, in two passes instead of one.
    """

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self._y: np.ndarray | None = None
        self._applied = True

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        self._applied = True
        kernel = self.activation.kernel_name
        if kernel is None:
            self._y = self.activation.forward(x)
        else:
            self._y = self.ops.activation_forward(
                kernel, x, self.activation.alpha, self._buffer("y", x.shape)
            )
        return self._y

    def forward_logits(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Pass x through untouched: a from-logits loss applies the activation itself."""
        self._applied = False
        return self._prepare_input(x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if not self._applied:
            return grad_output
        if self._y is None:
            raise RuntimeError(f"{self.name}.backward called before forward")
        kernel = self.activation.kernel_name
        if kernel is None:
            return self.activation.backward(grad_output)
        out = self._buffer("grad_x", self._y.shape)
        return self.ops.activation_backward(
            kernel, self._y, np.asarray(grad_output, self.dtype), self.activation.alpha, out
        )

    backward_logits = backward

    def flops(self) -> int:
        return int(np.prod(self.input_shape)) if self.input_shape else 0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
