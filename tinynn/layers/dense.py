"""Dense: the fully connected layer y = f(x W + b)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn import activations, initializers, regularizers
from tinynn.layers.activation import activation_backward, activation_forward
from tinynn.layers.layer import Layer, Shape


def dense_step_forward(
    ops: Any,
    activation: activations.ActivationFunction | None,
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    out: np.ndarray,
) -> np.ndarray:
    """y = f(x W + b), written into ``out``. activation None means y = z (logits).

    Shapes: x (M, n_in), W (n_in, n_out), b (n_out,) or None, out (M, n_out). Dense, Conv2D
    (on image patches) and SeparableConv2D (pointwise) all take this step.
    """
    if activation is not None and ops.fuses(activation):
        return ops.dense_forward(x, W, b, activation, out)  # the compiled twin of the lines below
    z = np.matmul(x, W, out=out)  # z = x W + b
    if b is not None:
        z += b
    return z if activation is None else activation_forward(ops, activation, z)  # y = f(z)


def dense_step_backward(
    ops: Any,
    activation: activations.ActivationFunction | None,
    x: np.ndarray,
    W: np.ndarray,
    y: np.ndarray,
    grad_y: np.ndarray,
    grad_W: np.ndarray | None,
    grad_b: np.ndarray | None,
    grad_z: np.ndarray,
    grad_x: np.ndarray | None,
) -> None:
    """Back through y = f(z), z = x W + b; the arrays are as in ``dense_step_forward``.

    dL/dz = dL/dy ⊙ f'(z)       (the activation's backward, from its cached y)
    dL/dW = xᵀ dL/dz            skipped when grad_W is None (a frozen layer)
    dL/db = Σ_rows dL/dz
    dL/dx = dL/dz Wᵀ            skipped when grad_x is None (nobody needs it)
    """
    if activation is not None and ops.fuses(activation):
        ops.dense_backward(x, W, y, grad_y, activation, grad_W, grad_b, grad_z, grad_x)
        return
    dz = grad_y if activation is None else activation_backward(ops, activation, y, grad_y, grad_z)
    if grad_W is not None:
        np.matmul(x.T, dz, out=grad_W)
    if grad_b is not None:
        np.sum(dz, axis=0, out=grad_b)
    if grad_x is not None:
        np.matmul(dz, W.T, out=grad_x)


class Dense(Layer):
    """y = f(x W + b).

    Shapes: x (batch, n_in), W (n_in, units) — the (in, out) layout Keras uses, so
    ``get_weights()`` ports across — b (units,), y (batch, units).

    Forward caches x and y. Backward, for upstream gradient g = dL/dy:

        dz = g ⊙ f'(z)   (from the cached y)     grads["W"] = xᵀ dz     grads["b"] = Σ_batch dz
        returns dL/dx = dz Wᵀ

    Both passes are ``dense_step_forward`` / ``dense_step_backward`` below: a few lines of NumPy
    calling the activation's own methods. A model compiled with the Numba backend runs their
    fused twin for built-in activations instead (tested to give the same numbers).
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
        self._activation_applied = True

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
        self._activation_applied = apply_activation
        out = self._buffer("y", (x.shape[0], self.units))
        activation = self.activation if apply_activation else None
        self._x = x
        self._y = dense_step_forward(
            self.ops, activation, x, self.params["W"], self.params.get("b"), out
        )
        return self._y

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """dL/dy (batch, units) -> dL/dx (batch, n_in); fills grads["W"] and grads["b"]."""
        if self._x is None:
            raise RuntimeError(f"{self.name}.backward called before forward")
        grad_x = self._buffer("grad_x", self._x.shape) if self.compute_input_grad else None
        dense_step_backward(
            self.ops,
            self.activation if self._activation_applied else None,
            self._x,
            self.params["W"],
            self._y,
            np.asarray(grad_output, dtype=self.dtype),
            self._param_grad("W"),
            self._param_grad("b"),
            self._buffer("grad_z", self._y.shape),
            grad_x,
        )
        self._add_regularizer_grads()
        return grad_x

    # After forward_logits no activation is applied, so the same backward serves both.
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
