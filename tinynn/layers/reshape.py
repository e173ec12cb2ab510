"""Flatten, Reshape, Permute and Identity: change the sample shape (or nothing), keep the
data."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.layers.layer import Layer, Shape, product


class Flatten(Layer):
    """(batch, d1, d2, …) -> (batch, d1·d2·…). Backward reshapes the gradient back."""

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (product(input_shape),)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output.reshape((grad_output.shape[0], *self.input_shape))


class Reshape(Layer):
    """(batch, *input_shape) -> (batch, *target_shape); one target dimension may be -1."""

    def __init__(self, target_shape: Shape, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(target_shape, int | np.integer):
            target_shape = (target_shape,)
        try:
            target = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise TypeError(
                f"target_shape must be a tuple of ints such as (4, -1), got {target_shape!r}"
            ) from None
        if sum(d == -1 for d in target) > 1 or any(d == 0 or d < -1 for d in target):
            raise ValueError(
                f"target_shape must hold positive sizes and at most one -1, got {target}"
            )
        self.target_shape = target

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        size = product(input_shape)
        known = product(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(f"cannot reshape {input_shape} into {self.target_shape}")
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(
                f"cannot reshape {input_shape} ({size} values) into {self.target_shape} "
                f"({known} values)"
            )
        return self.target_shape

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        return x.reshape((x.shape[0], *self.output_shape))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output.reshape((grad_output.shape[0], *self.input_shape))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Reorder the axes of each sample, as ``np.transpose`` (Keras's ``Permute``: ``dims``
    counts the sample's axes from 1, the batch axis staying first). ``Permute((3, 1, 2))``
    turns NHWC feature maps into NCHW, the order PyTorch flattens them in.
    dL/dx = dL/dy with the inverse permutation."""

    def __init__(self, dims: Shape, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        dims = tuple(int(d) for d in dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"dims must be a permutation of 1..{len(dims)}, got {dims}")
        self.dims = dims

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != len(self.dims):
            raise ValueError(
                f"{self.name}: dims {self.dims} need samples of rank {len(self.dims)}, got "
                f"{tuple(input_shape)}"
            )
        return tuple(input_shape[d - 1] for d in self.dims)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return np.ascontiguousarray(self._prepare_input(x).transpose(0, *self.dims))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        inverse = np.argsort((0, *self.dims))
        return np.ascontiguousarray(grad_output.transpose(*inverse))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": list(self.dims)}


class Identity(Layer):
    """y = x; dL/dx = dL/dy. A placeholder: ``tinynn.grow.deepen`` starts a new layer as the
    identity, and converters use it for operations that do nothing at inference."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self._prepare_input(x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output
