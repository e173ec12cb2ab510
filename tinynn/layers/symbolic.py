"""Symbolic tensors: how the functional API records a graph of layers, as Keras's does.

    x = tinynn.Input(shape=(28, 28, 1))          # a SymbolicTensor: a shape, no values yet
    h = layers.Conv2D(8, 3, activation="relu")(x)  # calling a layer on it records one node
    y = layers.Dense(10, activation="softmax")(layers.Flatten()(h))
    model = tinynn.Model(inputs=x, outputs=y)     # the graph between x and y

A ``SymbolicTensor`` holds the shape of one sample and the call that produces it (``node``:
the layer and its input tensors). Calling a layer on symbolic tensors builds the layer for
their shapes (its weights exist right away, as in Keras) and returns its output tensor; no
arithmetic happens until the model runs. The tensors of one graph share a ``ParameterStore``,
created by ``Input``, so a model's weights sit side by side as in a ``Sequential``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinynn.layers.layer import Layer, Shape, _as_shape
from tinynn.parameters import ParameterStore

_counter = itertools.count()


@dataclass(eq=False)
class SymbolicTensor:
    """The future output of a layer call: a sample shape (no batch axis) and its origin.

    Attributes:
        shape: the shape of one sample.
        dtype: the dtype its producer computes in.
        layer: the layer that produces it (an ``InputLayer`` for a model input).
        inputs: the tensors that layer was called on (empty for an input).
        store: the parameter store shared by the layers of this graph.
    """

    shape: Shape
    dtype: np.dtype
    layer: Layer
    inputs: tuple[SymbolicTensor, ...]
    store: ParameterStore

    def __post_init__(self) -> None:
        self.id = next(_counter)  # creation order: a topological order of the graph

    def __repr__(self) -> str:
        shape = ", ".join(["None", *(str(d) for d in self.shape)])
        return f"<SymbolicTensor shape=({shape}) from {self.layer.name!r}>"


def is_symbolic(value: Any) -> bool:
    """True for a SymbolicTensor or a non-empty list/tuple of them."""
    if isinstance(value, SymbolicTensor):
        return True
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(item, SymbolicTensor) for item in value)
    )


class InputLayer(Layer):
    """The entry of a model: declares the shape of one sample; the identity when run.

    In a ``Sequential`` it only records the input shape. In the functional API, ``Input``
    creates one and returns its output tensor.
    """

    def __init__(self, shape: Shape, **kwargs: Any) -> None:
        kwargs.pop("input_shape", None)
        super().__init__(input_shape=shape, **kwargs)
        self.shape = self.input_shape
        self.build(self.shape)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self._prepare_input(x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["shape"] = config.pop("input_shape")
        return config


def Input(  # noqa: N802 - Keras's spelling: a function that reads like a class
    shape: Shape, dtype: Any = None, name: str | None = None, **kwargs: Any
) -> SymbolicTensor:
    """A model input: the symbolic tensor of one sample of ``shape`` (no batch axis).

    Start a ``Sequential`` with it, or call layers on it to build a functional ``Model``.
    """
    layer = InputLayer(shape, dtype=dtype, name=name or f"input_{next(_counter)}", **kwargs)
    return SymbolicTensor(layer.input_shape, layer.dtype, layer, (), ParameterStore())


def call_symbolic(layer: Layer, inputs: Any) -> SymbolicTensor:
    """Record ``layer(inputs)`` in the graph: build the layer for the inputs' shapes, check
    them against what it was built for, and return its output tensor."""
    tensors = tuple(inputs) if isinstance(inputs, list | tuple) else (inputs,)
    shapes = [tensor.shape for tensor in tensors]
    many = getattr(layer, "takes_list", False)
    if not many and len(tensors) != 1:
        raise ValueError(
            f"{layer.name}: {type(layer).__name__} takes one input tensor, got {len(tensors)}; "
            "merge several with a layer such as Add or Concatenate"
        )
    if many and not isinstance(inputs, list | tuple):
        raise ValueError(f"{layer.name}: {type(layer).__name__} takes a list of tensors")
    shape_in: Any = shapes if many else shapes[0]
    if layer.dtype is None:
        layer.dtype = tensors[0].dtype
    if not layer.built:
        if layer.store is None:
            layer.store = tensors[0].store
        layer.build(shape_in)
    elif _as_shapes(layer.input_shape, many) != _as_shapes(shape_in, many):
        raise ValueError(
            f"{layer.name} was built for inputs of shape {layer.input_shape}, and is now called "
            f"on {shape_in}; a shared layer needs the same shapes at every call"
        )
    return SymbolicTensor(layer.output_shape, layer.dtype, layer, tensors, tensors[0].store)


def _as_shapes(shapes: Any, many: bool) -> Any:
    if many:
        return [tuple(shape) for shape in shapes]
    return _as_shape(shapes)


def flatten_tensors(value: Any, what: str) -> list[SymbolicTensor]:
    """A tensor or a list of tensors as a list, or a clear error."""
    items: Sequence[Any] = value if isinstance(value, list | tuple) else [value]
    if not items or not all(isinstance(item, SymbolicTensor) for item in items):
        raise TypeError(
            f"{what} must be symbolic tensors (from tinynn.Input and layer calls), got {value!r}"
        )
    return list(items)
