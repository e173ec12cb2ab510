"""Layers that merge several tensors into one: Add, Subtract, Multiply, Average, Concatenate.

They take a list: ``Add()([a, b])`` in the functional API, ``add.forward([a, b])`` directly.
``backward(dL/dy)`` returns one gradient per input, in order, which is where a graph's fan-in
sends the gradient back along every branch. Add, Subtract, Multiply and Average broadcast as
NumPy does, so a (1, 1, C) tensor may scale an (H, W, C) one (a squeeze-and-excitation
block); the gradient of a broadcast input is summed over the axes it was stretched along.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np

from tinynn.layers.layer import Layer, Shape, product


class Merge(Layer):
    """Base class: a list of inputs (batch, *shape_i) in, one output out."""

    #: ``tinynn.layers.symbolic`` passes such layers a list of tensors.
    takes_list = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._inputs: list[np.ndarray] | None = None

    def build(self, input_shape: Any) -> None:
        shapes = [tuple(int(d) for d in shape) for shape in input_shape]
        if len(shapes) < 2:
            raise ValueError(f"{self.name}: {type(self).__name__} needs at least two inputs")
        self.output_shape = self.compute_output_shape(shapes)
        self.input_shape = shapes
        if self.dtype is None:
            self.dtype = np.dtype("float32")
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> Shape:
        try:
            return tuple(np.broadcast_shapes(*[tuple(shape) for shape in input_shape]))
        except ValueError:
            raise ValueError(
                f"{self.name}: {type(self).__name__} cannot combine inputs of shapes "
                f"{[tuple(s) for s in input_shape]}; they must be equal or broadcast"
            ) from None

    def _prepare_inputs(self, inputs: Any) -> list[np.ndarray]:
        if not isinstance(inputs, list | tuple):
            raise TypeError(f"{self.name}: {type(self).__name__} takes a list of arrays")
        arrays = [np.asarray(x) for x in inputs]
        if not self.built:
            self.build([x.shape[1:] for x in arrays])
        got = [x.shape[1:] for x in arrays]
        if got != [tuple(shape) for shape in self.input_shape]:
            raise ValueError(
                f"{self.name}: expected inputs of shapes {self.input_shape}, got {got}"
            )
        if len({len(x) for x in arrays}) != 1:
            raise ValueError(f"{self.name}: the inputs have different batch sizes")
        return [x if x.dtype == self.dtype else x.astype(self.dtype) for x in arrays]

    def _unbroadcast(self, grad: np.ndarray, shape: Shape) -> np.ndarray:
        """Sum grad (batch, *output_shape) down to (batch, *shape)."""
        full = (grad.shape[0], *shape)
        if grad.shape == full:
            return grad
        extra = grad.ndim - len(full)
        axes = tuple(range(1, 1 + extra)) + tuple(
            1 + extra + i for i, d in enumerate(shape) if d == 1 and grad.shape[1 + extra + i] != 1
        )
        return grad.sum(axis=axes, keepdims=True).reshape(full)

    def flops(self) -> int:
        """One operation per output value and extra input."""
        return product(self.output_shape) * (len(self.input_shape) - 1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("input_shape", None)
        return config


class Add(Merge):
    """y = x_1 + x_2 + …;  dL/dx_i = dL/dy (summed over broadcast axes)."""

    def forward(self, inputs, training=False):
        self._inputs = self._prepare_inputs(inputs)
        return reduce(np.add, self._inputs)

    def backward(self, grad_output):
        return [self._unbroadcast(grad_output, x.shape[1:]) for x in self._inputs]


class Subtract(Merge):
    """y = x_1 − x_2;  dL/dx_1 = dL/dy, dL/dx_2 = −dL/dy."""

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 2:
            raise ValueError(f"{self.name}: Subtract takes exactly two inputs")
        super().build(input_shape)

    def forward(self, inputs, training=False):
        self._inputs = self._prepare_inputs(inputs)
        return self._inputs[0] - self._inputs[1]

    def backward(self, grad_output):
        first, second = self._inputs
        return [
            self._unbroadcast(grad_output, first.shape[1:]),
            self._unbroadcast(-grad_output, second.shape[1:]),
        ]


class Multiply(Merge):
    """y = x_1 ⊙ x_2 ⊙ …;  dL/dx_i = dL/dy ⊙ Π_{j≠i} x_j. Caches the inputs."""

    def forward(self, inputs, training=False):
        self._inputs = self._prepare_inputs(inputs)
        return reduce(np.multiply, self._inputs)

    def backward(self, grad_output):
        grads = []
        for i, x in enumerate(self._inputs):
            others = [other for j, other in enumerate(self._inputs) if j != i]
            grads.append(self._unbroadcast(grad_output * reduce(np.multiply, others), x.shape[1:]))
        return grads


class Average(Merge):
    """y = (x_1 + … + x_n) / n;  dL/dx_i = dL/dy / n."""

    def forward(self, inputs, training=False):
        self._inputs = self._prepare_inputs(inputs)
        return reduce(np.add, self._inputs) / len(self._inputs)

    def backward(self, grad_output):
        n = len(self._inputs)
        return [self._unbroadcast(grad_output / n, x.shape[1:]) for x in self._inputs]


class Concatenate(Merge):
    """y = [x_1, x_2, …] joined along ``axis`` (default the last: channels);
    dL/dx_i = the slice of dL/dy that x_i filled."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if axis == 0:
            raise ValueError("Concatenate cannot join along the batch axis (axis=0)")
        self.axis = int(axis)

    def _sample_axis(self, rank: int) -> int:
        """The axis within one sample (0-based), from Keras's batch-inclusive ``axis``."""
        axis = self.axis - 1 if self.axis > 0 else rank + self.axis
        if not 0 <= axis < rank:
            raise ValueError(f"{self.name}: axis {self.axis} is out of range for rank {rank + 1}")
        return axis

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = [tuple(shape) for shape in input_shape]
        if len({len(shape) for shape in shapes}) != 1:
            raise ValueError(f"{self.name}: Concatenate needs inputs of one rank, got {shapes}")
        axis = self._sample_axis(len(shapes[0]))
        rest = {shape[:axis] + shape[axis + 1 :] for shape in shapes}
        if len(rest) != 1:
            raise ValueError(
                f"{self.name}: inputs of shapes {shapes} differ outside the concatenation axis "
                f"{self.axis}"
            )
        out = list(shapes[0])
        out[axis] = sum(shape[axis] for shape in shapes)
        return tuple(out)

    def forward(self, inputs, training=False):
        self._inputs = self._prepare_inputs(inputs)
        return np.concatenate(self._inputs, axis=1 + self._sample_axis(self._inputs[0].ndim - 1))

    def backward(self, grad_output):
        axis = 1 + self._sample_axis(grad_output.ndim - 1)
        edges = np.cumsum([x.shape[axis] for x in self._inputs])[:-1]
        return [np.ascontiguousarray(part) for part in np.split(grad_output, edges, axis=axis)]

    def flops(self) -> int:
        return 0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
