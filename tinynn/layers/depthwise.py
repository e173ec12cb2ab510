"""DepthwiseConv2D and SeparableConv2D: the factorised convolutions of MobileNet and Xception.

A 3×3 Conv2D from C to F channels costs 9·C·F multiply-adds per pixel. Filtering each channel on
its own (depthwise, 9·C) and then mixing channels with a 1×1 convolution (pointwise, C·F) costs
9·C + C·F, about 8-9 times less for F ≥ 64, at a small loss of expressiveness.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn import activations, initializers, regularizers
from tinynn.layers.activation import activation_backward, activation_forward
from tinynn.layers.conv import (
    check_image_shape,
    conv_geometry,
    normalize_padding,
    normalize_pair,
    padding_config,
)
from tinynn.layers.dense import dense_step_backward, dense_step_forward
from tinynn.layers.layer import Layer, Shape

#: Weight name in configs ("<name>_initializer") -> parameter key.
PARAM_KEYS = {"depthwise": "depthwise", "pointwise": "pointwise", "bias": "b"}


class _Depthwise(Layer):
    """Shared bookkeeping: geometry, the depthwise pass, weight options and regularizers."""

    def __init__(
        self,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        weight_options: dict[str, tuple[Any, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        multiplier = depth_multiplier
        if isinstance(multiplier, bool) or not isinstance(multiplier, int | np.integer):
            raise ValueError(f"depth_multiplier must be a positive integer, got {multiplier!r}")
        if multiplier <= 0:
            raise ValueError(f"depth_multiplier must be a positive integer, got {multiplier!r}")
        self.depth_multiplier = int(multiplier)
        self.kernel_size = normalize_pair(kernel_size, "kernel_size")
        self.strides = normalize_pair(strides, "strides")
        self.padding = normalize_padding(padding)
        self.dilation_rate = normalize_pair(dilation_rate, "dilation_rate")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        options = dict(weight_options or {})
        if not self.use_bias:
            options.pop("bias", None)
        #: {"depthwise": initializer, …, "bias": …}: weight name -> option, as in the config.
        self.initializers = {name: initializers.get(init) for name, (init, _) in options.items()}
        self.regularizers = {name: regularizers.get(reg) for name, (_, reg) in options.items()}
        self.pads = (0, 0, 0, 0)
        self._x: np.ndarray | None = None
        self._y: np.ndarray | None = None

    def _geometry(self, input_shape: Shape) -> tuple[tuple[int, int], tuple[int, ...]]:
        shape = check_image_shape(self, input_shape)
        return conv_geometry(
            shape[:2], self.kernel_size, self.strides, self.dilation_rate, self.padding
        )

    def build(self, input_shape: Shape) -> None:
        """Create the depthwise kernel (kh, kw, C, M); subclasses add the rest."""
        _, self.pads = self._geometry(input_shape)
        super().build(input_shape)
        shape = (*self.kernel_size, self.input_shape[2], self.depth_multiplier)
        self.add_weight("depthwise", shape, self.initializers["depthwise"])

    def _add(self, name: str, shape: Shape) -> None:
        self.add_weight(PARAM_KEYS[name], shape, self.initializers[name])

    def _depthwise(self, x: np.ndarray, name: str) -> np.ndarray:
        """z (batch, Ho, Wo, C·M): each channel of x convolved with its own M filters."""
        W = self.params["depthwise"]
        ho, wo = self._geometry(self.input_shape)[0]
        z = self._buffer(name, (x.shape[0], ho, wo, W.shape[2] * W.shape[3]))
        kernel = self.ops.depthwise_conv2d_forward
        return kernel(x, W, self.strides, self.dilation_rate, self.pads, z)

    def _depthwise_backward(self, grad_z: np.ndarray) -> np.ndarray | None:
        """Fill grads["depthwise"] from dL/dz; return dL/dx (None when not needed)."""
        grad_x = self._buffer("grad_x", self._x.shape) if self.compute_input_grad else None
        kernel = self.ops.depthwise_conv2d_backward
        W, grad_W = self.params["depthwise"], self._param_grad("depthwise")
        if grad_W is None:  # frozen: the kernel still wants somewhere to write dL/dW
            if grad_x is None:
                return None
            grad_W = self._buffer("frozen_grad", W.shape)
        kernel(self._x, W, grad_z, self.strides, self.dilation_rate, self.pads, grad_W, grad_x)
        for name, regularizer in self.regularizers.items():
            if regularizer is not None and self.trainable:
                key = PARAM_KEYS[name]
                self.grads[key] += regularizer.gradient(self.params[key])
        return grad_x

    def regularization_loss(self) -> float:
        return sum(
            regularizer(self.params[PARAM_KEYS[name]])
            for name, regularizer in self.regularizers.items()
            if regularizer is not None
        )

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": padding_config(self.padding),
            "depth_multiplier": self.depth_multiplier,
            "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
        }
        for name in self.initializers:
            config[f"{name}_initializer"] = initializers.serialize(self.initializers[name])
            config[f"{name}_regularizer"] = regularizers.serialize(self.regularizers[name])
        return config


class DepthwiseConv2D(_Depthwise):
    """Each input channel convolved with its own ``depth_multiplier`` (M) filters, no mixing:

    ```text
    z[n, i, j, c·M + m] = Σ_{a, b} x_pad[n, i·s + a·d, j·s + b·d, c] · D[a, b, c, m]
    y = f(z + b)
    ```

    Shapes: x (batch, H, W, C); params "depthwise" D (kh, kw, C, M) as in Keras and "b"
    (C·M,); y (batch, Ho, Wo, C·M) with output channel c·M + m. Caches x and y. Backward, for
    g = dL/dy: ``dz = g ⊙ f'(z)``, ``grads["b"] = Σ dz``,
    ``grads["depthwise"][a, b, c, m] = Σ x_pad[…, c] · dz[…, c·M + m]``, and
    ``dL/dx_pad[…, c] = Σ_{a, b, m} dz[…, c·M + m] · D[a, b, c, m]``.
    The kernel is a direct loop, not im2col + GEMM: with no sum over channels there is no
    matrix product to hand to BLAS.
    """

    def __init__(
        self,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        options = {
            "depthwise": (depthwise_initializer, depthwise_regularizer),
            "bias": (bias_initializer, bias_regularizer),
        }
        super().__init__(
            kernel_size,
            strides,
            padding,
            depth_multiplier,
            dilation_rate,
            activation,
            use_bias,
            options,
            **kwargs,
        )

    def build(self, input_shape: Shape) -> None:
        """Create "depthwise" (kh, kw, C, M) and "b" (C·M,)."""
        super().build(input_shape)
        if self.use_bias:
            self._add("bias", (self.input_shape[2] * self.depth_multiplier,))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out_hw, _ = self._geometry(input_shape)
        return (*out_hw, input_shape[2] * self.depth_multiplier)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (batch, H, W, C) -> y (batch, Ho, Wo, C·M)."""
        x = self._prepare_input(x)
        y = self._depthwise(x, "y")
        if self.use_bias:
            y += self.params["b"]
        y = activation_forward(self.ops, self.activation, y)
        self._x, self._y = x, y
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """dL/dy (batch, Ho, Wo, C·M) -> dL/dx; fills grads["depthwise"] and grads["b"]."""
        if self._x is None:
            raise RuntimeError(f"{self.name}.backward called before forward")
        grad = np.asarray(grad_output, dtype=self.dtype)
        out = self._buffer("grad_z", self._y.shape)
        grad_z = activation_backward(self.ops, self.activation, self._y, grad, out)
        grad_b = self._param_grad("b")
        if grad_b is not None:
            np.sum(grad_z, axis=(0, 1, 2), out=grad_b)
        return self._depthwise_backward(grad_z)

    def flops(self) -> int:
        """2·kh·kw multiply-adds per output value, plus its bias add and activation."""
        ho, wo, out_channels = self.output_shape
        return ho * wo * out_channels * (2 * self.kernel_size[0] * self.kernel_size[1] + 2)


class SeparableConv2D(_Depthwise):
    """A depthwise convolution (no bias, no activation) followed by a 1×1 Conv2D:

        z = depthwise(x, D)                          (batch, Ho, Wo, C·M)
        y = f(z · P + b)                             P (C·M, filters): a Dense on every pixel

    Shapes: params "depthwise" D (kh, kw, C, M), "pointwise" P (1, 1, C·M, filters) and "b"
    (filters,), in Keras's order, so ``get_weights()`` ports across. Caches x, z and y.
    Backward runs ``dense_backward`` for P, b and dL/dz, then the depthwise backward for D and
    dL/dx.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        options = {
            "depthwise": (depthwise_initializer, depthwise_regularizer),
            "pointwise": (pointwise_initializer, pointwise_regularizer),
            "bias": (bias_initializer, bias_regularizer),
        }
        super().__init__(
            kernel_size,
            strides,
            padding,
            depth_multiplier,
            dilation_rate,
            activation,
            use_bias,
            options,
            **kwargs,
        )
        if isinstance(filters, bool) or not isinstance(filters, int | np.integer) or filters <= 0:
            raise ValueError(f"SeparableConv2D filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self._z: np.ndarray | None = None

    def build(self, input_shape: Shape) -> None:
        """Create "depthwise" (kh, kw, C, M), "pointwise" (1, 1, C·M, filters), "b"."""
        super().build(input_shape)
        self._add("pointwise", (1, 1, self.input_shape[2] * self.depth_multiplier, self.filters))
        if self.use_bias:
            self._add("bias", (self.filters,))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out_hw, _ = self._geometry(input_shape)
        return (*out_hw, self.filters)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x (batch, H, W, C) -> y (batch, Ho, Wo, filters)."""
        x = self._prepare_input(x)
        z = self._depthwise(x, "z")
        mid, filters = z.shape[-1], self.filters
        y = dense_step_forward(
            self.ops,
            self.activation,
            z.reshape(-1, mid),
            self.params["pointwise"].reshape(mid, filters),
            self.params.get("b"),
            self._buffer("y", (*z.shape[:3], filters)).reshape(-1, filters),
        ).reshape(*z.shape[:3], filters)
        self._x, self._z, self._y = x, z, y
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """dL/dy (batch, Ho, Wo, filters) -> dL/dx; fills all three gradients."""
        if self._z is None:
            raise RuntimeError(f"{self.name}.backward called before forward")
        mid, filters = self._z.shape[-1], self.filters
        grad_z = self._buffer("grad_z", self._z.shape)
        grad_pointwise = self._param_grad("pointwise")
        dense_step_backward(
            self.ops,
            self.activation,
            self._z.reshape(-1, mid),
            self.params["pointwise"].reshape(mid, filters),
            self._y.reshape(-1, filters),
            np.asarray(grad_output, dtype=self.dtype).reshape(-1, filters),
            None if grad_pointwise is None else grad_pointwise.reshape(mid, filters),
            self._param_grad("b"),
            self._buffer("grad_pre_activation", self._y.shape).reshape(-1, filters),
            grad_z.reshape(-1, mid),
        )
        return self._depthwise_backward(grad_z)

    def flops(self) -> int:
        """Depthwise 2·kh·kw per mid value, pointwise 2·C·M per output, plus bias and f."""
        ho, wo, filters = self.output_shape
        mid = self.input_shape[2] * self.depth_multiplier
        depthwise = ho * wo * mid * 2 * self.kernel_size[0] * self.kernel_size[1]
        return depthwise + ho * wo * filters * (2 * mid + 2)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters}
