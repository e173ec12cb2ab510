"""Pooling over NHWC images: MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.layers.conv import (
    check_image_shape,
    conv_geometry,
    normalize_padding,
    normalize_pair,
    padding_config,
)
from tinynn.layers.layer import Layer, Shape


class _Pooling2D(Layer):
    """Shared bookkeeping: window size, strides and padding, as in Keras.

    Args:
        pool_size: an int or a pair (ph, pw). Default 2.
        strides: an int or a pair; None (default) means pool_size, so windows do not overlap.
        padding: "valid" (drop the pixels that do not fill a window) or "same"
            (output ⌈H / stride⌉; padding never wins a max and is not counted in an average).
    """

    def __init__(
        self, pool_size: Any = 2, strides: Any = None, padding: str = "valid", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.pool_size = normalize_pair(pool_size, "pool_size")
        self.strides = normalize_pair(strides if strides is not None else pool_size, "strides")
        self.padding = normalize_padding(padding)
        self.pads = (0, 0, 0, 0)

    def build(self, input_shape: Shape) -> None:
        shape = check_image_shape(self, input_shape)
        _, self.pads = conv_geometry(shape[:2], self.pool_size, self.strides, (1, 1), self.padding)
        super().build(shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = check_image_shape(self, input_shape)
        out_hw, _ = conv_geometry(shape[:2], self.pool_size, self.strides, (1, 1), self.padding)
        return (*out_hw, shape[2])

    def flops(self) -> int:
        """One comparison or addition per pixel of each window."""
        ho, wo, channels = self.output_shape
        return ho * wo * channels * self.pool_size[0] * self.pool_size[1]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": padding_config(self.padding),
        }


class MaxPooling2D(_Pooling2D):
    """y[n, i, j, c] = max of x[n, ·, ·, c] over the window of output (i, j).

    Shapes: x (batch, H, W, C) -> y (batch, Ho, Wo, C). Forward caches, per output, which
    window offset held the maximum (int8 when the window has ≤ 127 pixels). Backward routes
    each output's gradient to that single input; ties go to the first offset in row-major order,
    as in PyTorch, so the gradient is never duplicated.
    """

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid", **kwargs):
        super().__init__(pool_size, strides, padding, **kwargs)
        self._argmax: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        window = self.pool_size[0] * self.pool_size[1]
        y = self._buffer("y", (x.shape[0], *self.output_shape))
        argmax = self._buffer("argmax", y.shape, np.int8 if window <= 127 else np.int32)
        kernel = self.ops.max_pool2d_forward
        kernel(x, self.pool_size, self.strides, self.pads, y, argmax)
        self._argmax = argmax
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        if self._argmax is None:
            raise RuntimeError(f"{self.name}.backward called before forward")
        if not self.compute_input_grad:
            return None
        grad_x = self._buffer("grad_x", (len(grad_output), *self.input_shape))
        kernel = self.ops.max_pool2d_backward
        grad = np.asarray(grad_output, dtype=self.dtype)
        kernel(grad, self._argmax, self.pool_size, self.strides, self.pads, grad_x)
        return grad_x


class AveragePooling2D(_Pooling2D):
    """y[n, i, j, c] = mean of x[n, ·, ·, c] over the real pixels of output (i, j)'s window.

    Shapes: x (batch, H, W, C) -> y (batch, Ho, Wo, C). With padding="same" the border windows
    average fewer pixels, as in Keras (PyTorch: ``count_include_pad=False``). Nothing is cached:
    dL/dx spreads each output's gradient, divided by its window's pixel count, over the window.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        y = self._buffer("y", (x.shape[0], *self.output_shape))
        kernel = self.ops.avg_pool2d_forward
        return kernel(x, self.pool_size, self.strides, self.pads, y)

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        if not self.compute_input_grad:
            return None
        grad_x = self._buffer("grad_x", (len(grad_output), *self.input_shape))
        kernel = self.ops.avg_pool2d_backward
        grad = np.asarray(grad_output, dtype=self.dtype)
        return kernel(grad, self.pool_size, self.strides, self.pads, grad_x)


class GlobalAveragePooling2D(Layer):
    """y[n, c] = mean over all H·W pixels of x[n, ·, ·, c]: (batch, H, W, C) -> (batch, C).

    With ``keepdims=True`` the output keeps unit spatial axes, (batch, 1, 1, C), as in Keras.
    Backward: every pixel receives dL/dy[n, c] / (H·W).
    """

    def __init__(self, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        channels = check_image_shape(self, input_shape)[2]
        return (1, 1, channels) if self.keepdims else (channels,)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        return x.mean(axis=(1, 2), keepdims=self.keepdims)

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        if not self.compute_input_grad:
            return None
        h, w, channels = self.input_shape
        grad = np.asarray(grad_output, dtype=self.dtype).reshape(-1, 1, 1, channels)
        return np.broadcast_to(grad / (h * w), (len(grad), h, w, channels)).copy()

    def flops(self) -> int:
        """One addition per input value, one division per channel."""
        h, w, channels = self.input_shape
        return h * w * channels + channels

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "keepdims": self.keepdims}
