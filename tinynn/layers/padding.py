"""ZeroPadding2D: zeros around NHWC images, as Keras pads before a strided convolution."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.layers.conv import check_image_shape
from tinynn.layers.layer import Layer, Shape


def normalize_pads(padding: Any) -> tuple[int, int, int, int]:
    """Keras's padding forms -> (top, bottom, left, right): n, (h, w) or ((t, b), (l, r))."""
    try:
        if isinstance(padding, int | np.integer):
            pads = (padding,) * 4
        elif all(isinstance(p, int | np.integer) for p in padding):
            h, w = padding
            pads = (h, h, w, w)
        else:
            (top, bottom), (left, right) = padding
            pads = (top, bottom, left, right)
        pads = tuple(int(p) for p in pads)
    except (TypeError, ValueError):
        pads = (-1,)
    if len(pads) != 4 or any(p < 0 for p in pads):
        raise ValueError(
            f"padding must be n, (h, w) or ((top, bottom), (left, right)) of non-negative "
            f"ints, got {padding!r}"
        )
    return pads


class ZeroPadding2D(Layer):
    """y = x with zero rows and columns added around each image (top, bottom, left, right);
    dL/dx = dL/dy with that border cut off.

    Shapes: x (batch, H, W, C) -> y (batch, H + top + bottom, W + left + right, C).
    """

    def __init__(self, padding: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pads = normalize_pads(padding)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        h, w, c = check_image_shape(self, input_shape)
        top, bottom, left, right = self.pads
        return (h + top + bottom, w + left + right, c)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        top, bottom, left, right = self.pads
        return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        top, _, left, _ = self.pads
        h, w, _ = self.input_shape
        return grad_output[:, top : top + h, left : left + w, :]

    def get_config(self) -> dict[str, Any]:
        top, bottom, left, right = self.pads
        return {**super().get_config(), "padding": [[top, bottom], [left, right]]}
