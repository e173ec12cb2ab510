"""Activation: an activation function used as a layer of its own, and the two steps that
every layer ending in an activation shares (``activation_forward``/``activation_backward``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn import activations
from tinynn.layers.layer import Layer


def activation_forward(ops: Any, activation: activations.ActivationFunction, z: np.ndarray):
    """y = f(z), written over z where it can be.

    A built-in activation runs its own ``forward`` in place (or, on a compiled backend, its
    twin); a custom one is called as its author wrote it and returns its own array.
    """
    if ops.fuses(activation):
        return ops.activation_forward(activation, z, z)
    if activations.is_builtin(activation):
        return activation.forward(z, out=z)
    return activation.forward(z)


def activation_backward(
    ops: Any,
    activation: activations.ActivationFunction,
    y: np.ndarray,
    grad_y: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """dL/dz = dL/dy ⊙ f'(z), from y = f(z): written into ``out`` by a built-in activation
    (the activation's own ``backward`` reads the y it cached in forward)."""
    if ops.fuses(activation):
        return ops.activation_backward(activation, y, grad_y, out)
    if activations.is_builtin(activation):
        return activation.backward(grad_y, out=out)
    return activation.backward(grad_y)


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
        out = self._buffer("y", x.shape)
        out[...] = x
        self._y = activation_forward(self.ops, self.activation, out)
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
        grad = np.asarray(grad_output, self.dtype)
        return activation_backward(
            self.ops, self.activation, self._y, grad, self._buffer("grad_x", self._y.shape)
        )

    backward_logits = backward

    def flops(self) -> int:
        return int(np.prod(self.input_shape)) if self.input_shape else 0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class ReLU(Activation):
    """Keras's ``layers.ReLU``: y = max(x, 0), capped at ``max_value`` and leaky below zero
    with ``negative_slope``. ``ReLU(max_value=6)`` is MobileNet's ReLU6.

    Supported: max_value None or 6, with negative_slope 0; or negative_slope > 0 without a
    cap (a leaky ReLU); threshold 0. Other combinations raise a ValueError.
    """

    def __init__(
        self,
        max_value: float | None = None,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        **kwargs: Any,
    ) -> None:
        if threshold != 0 or (max_value is not None and (max_value != 6 or negative_slope)):
            raise ValueError(
                f"ReLU(max_value={max_value}, negative_slope={negative_slope}, "
                f"threshold={threshold}) is not supported; expected max_value None or 6, "
                "threshold 0, and a negative_slope only without max_value"
            )
        if negative_slope:
            activation = activations.LeakyReLU(negative_slope)
        else:
            activation = activations.ReLU6() if max_value == 6 else activations.ReLU()
        kwargs.pop("activation", None)
        super().__init__(activation, **kwargs)
        self.max_value, self.negative_slope = max_value, float(negative_slope)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["activation"]
        return {**config, "max_value": self.max_value, "negative_slope": self.negative_slope}


class Softmax(Activation):
    """Keras's ``layers.Softmax``: y = softmax(x) over the last axis (the only one supported)."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        if axis != -1:
            raise ValueError(f"Softmax supports axis=-1 only, got axis={axis}")
        kwargs.pop("activation", None)
        super().__init__("softmax", **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["activation"]
        return {**config, "axis": -1}
