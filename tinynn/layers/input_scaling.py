"""Rescaling and Normalization: fixed affine maps that put raw inputs on a useful scale.

Neither is trained by gradient descent: ``Rescaling`` has constants, and ``Normalization``
learns its mean and variance from data with ``adapt`` (Keras's preprocessing layers), keeping
them in ``state`` so that they are saved with the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.layers.layer import Layer, Shape, product


class Rescaling(Layer):
    """y = x · scale + offset;  dL/dx = dL/dy · scale. ``Rescaling(1 / 255)`` maps pixels
    to [0, 1]; ``Rescaling(1 / 127.5, offset=-1)`` to [−1, 1]."""

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale, self.offset = float(scale), float(offset)
        if not (np.isfinite(self.scale) and np.isfinite(self.offset)):
            raise ValueError(f"scale and offset must be finite, got {scale} and {offset}")

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self._prepare_input(x) * self.scale + self.offset

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output * self.scale

    def flops(self) -> int:
        return 2 * product(self.input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Normalization(Layer):
    """y = (x − mean) / √variance, per feature along ``axis`` (the last by default);
    dL/dx = dL/dy / √variance.

    Give ``mean`` and ``variance``, or call ``adapt(data)`` once with training data, as in
    Keras. A variance of zero (a constant feature) is replaced by 1, so the feature becomes 0.
    """

    def __init__(
        self, axis: int = -1, mean: Any = None, variance: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if axis != -1:
            raise ValueError(f"Normalization supports axis=-1 (features last), got {axis}")
        if (mean is None) != (variance is None):
            raise ValueError("give both mean and variance, or neither (and call adapt)")
        self.axis = axis
        self._given = None if mean is None else (np.asarray(mean), np.asarray(variance))

    def build(self, input_shape: Shape) -> None:
        super().build(input_shape)
        features = (self.input_shape[-1],)
        self.state = {
            "mean": np.zeros(features, self.dtype),
            "variance": np.ones(features, self.dtype),
        }
        if self._given is not None:
            self._set(*self._given)

    def _set(self, mean: np.ndarray, variance: np.ndarray) -> None:
        features = self.state["mean"].shape
        for name, value in (("mean", mean), ("variance", variance)):
            value = np.broadcast_to(np.asarray(value, dtype=self.dtype), features)
            if not np.all(np.isfinite(value)) or (name == "variance" and np.any(value < 0)):
                raise ValueError(f"{self.name}: {name} must be finite (and non-negative)")
            self.state[name][...] = value

    def adapt(self, data: Any) -> None:
        """Set mean and variance to those of ``data`` (samples, …, features), per feature."""
        data = np.asarray(data, dtype=np.float64)
        if not self.built:
            self.build(data.shape[1:])
        rows = data.reshape(-1, data.shape[-1])
        self._set(rows.mean(axis=0), rows.var(axis=0))

    def _scale(self) -> np.ndarray:
        variance = self.state["variance"]
        return 1 / np.sqrt(np.where(variance > 0, variance, 1))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return (self._prepare_input(x) - self.state["mean"]) * self._scale()

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output * self._scale()

    def flops(self) -> int:
        return 2 * product(self.input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
