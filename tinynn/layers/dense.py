"""Dense: the fully connected layer y = f(x W + b)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn import activations, initializers, regularizers
from tinynn.layers.base import Layer, Shape


class Dense(Layer):
    """y = f(x W + b).

    Shapes: x (batch, n_in), W (n_in, units) — the (in, out) layout Keras uses, so
    ``get_weights()`` ports across — b (units,), y (batch, units).

    Forward caches x and y. Backward, for upstream gradient g = dL/dy:

        dz = g ⊙ f'(z)   (from the cached y)     grads["W"] = xᵀ dz     grads["b"] = Σ_batch dz
        returns dL/dx = dz Wᵀ

    A built-in activation runs fused with the bias add in the backend's kernel; a custom
    ``ActivationFunction`` is called through its own forward/backward.
    """

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int | np.integer) or units <= 0:
            raise ValueError(f"Dense units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None
        self._applied_activation = "linear"

    def build(self, input_shape: Shape) -> None:
        """Create W (n_in, units) and b (units,) for samples of shape (n_in,)."""
        # Check before the base class marks the layer built, so a refused shape leaves no trace.
        if len(tuple(input_shape)) != 1:
            raise ValueError(
                f"{self.name}: Dense expects samples of shape (features,), got "
                f"{tuple(input_shape)}; add a Flatten layer before it"
            )
        super().build(input_shape)
        self.add_weight("W", (self.input_shape[0], self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("b", (self.units,), self.bias_initializer)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 1:
            raise ValueError(
                f"{self.name}: Dense expects samples of shape (features,), got {input_shape};"
                " add a Flatten layer before it"
            )
        return (self.units,)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (batch, n_in) -> y = f(x W + b), (batch, units)."""
        return self._forward(x, apply_activation=True)

    def forward_logits(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """z = x W + b without the activation: what a from-logits loss consumes."""
        return self._forward(x, apply_activation=False)

    def _forward(self, x: np.ndarray, apply_activation: bool) -> np.ndarray:
        x = self._prepare_input(x)
        y, self._applied_activation = activations.fused_forward(
            self.ops,
            self.activation,
            x,
            self.params["W"],
            self.params.get("b"),
            self._buffer("y", (x.shape[0], self.units)),
            apply_activation,
        )
        self._x, self._y = x, y
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """dL/dy (batch, units) -> dL/dx (batch, n_in); fills grads["W"] and grads["b"]."""
        if self._x is None:
            raise RuntimeError(f"{self.name}.backward called before forward")
        grad_output, kernel = activations.unfuse_backward(
            self.activation, self._applied_activation, grad_output
        )
        grad_z = self._buffer("grad_z", self._y.shape)
        grad_x = self._buffer("grad_x", self._x.shape) if self.compute_input_grad else None
        self.ops.dense_backward(
            self._x,
            self.params["W"],
            self._y,
            np.asarray(grad_output, dtype=self.dtype),
            kernel,
            self.activation.alpha,
            self.grads["W"],
            self.grads.get("b"),
            grad_z,
            grad_x,
        )
        self._add_regularizer_grads()
        return grad_x

    # After forward_logits the cached activation is "linear", so the same backward serves both.
    backward_logits = backward

    def regularized_params(self) -> dict[str, Any]:
        if self.kernel_regularizer is None and self.bias_regularizer is None:
            return {}  # the usual case, asked twice per training step
        chosen = {
            "W": self.kernel_regularizer,
            "b": self.bias_regularizer if self.use_bias else None,
        }
        return {key: regularizer for key, regularizer in chosen.items() if regularizer is not None}

    def flops(self) -> int:
        """2·n_in·units multiply-adds, plus the bias add and the activation (units each)."""
        return 2 * self.input_shape[0] * self.units + 2 * self.units

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
        }
