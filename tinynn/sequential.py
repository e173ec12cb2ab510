"""Sequential: a list of layers and a loop over them.

    model = Sequential([Input((64,)), Dense(32, activation="relu"),
                        Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, validation_split=0.1)

``forward`` runs every layer's forward, first to last; ``backward`` every layer's backward,
last to first. Everything else (compile, fit, predict, saving) comes from ``Model``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinynn import layers as layers_module
from tinynn.layers.layer import Layer
from tinynn.model_base import Model


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: layers in order; a first ``Input(shape)`` declares the sample shape.
        name: a label for ``summary()``.
        dtype: "float32" (default) or "float64", for every layer that does not set its own.
        seed: makes weights, dropout masks and shuffling repeatable. Each layer without its
            own seed gets a generator spawned from this one, so adding a layer never changes
            another layer's draws.
    """

    def __init__(
        self,
        layers: Sequence[Layer] | None = None,
        name: str = "sequential",
        dtype: Any = "float32",
        seed: int | None = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype, seed=seed)
        self.layers: list[Layer] = []
        self.input_shape: tuple[int, ...] | None = None
        self.built = False
        for layer in layers or []:
            self.add(layer)

    # -- structure ------------------------------------------------------------------------

    def add(self, layer: Layer) -> None:
        """Append a layer. An ``Input`` only records the sample shape."""
        if isinstance(layer, layers_module.SymbolicTensor):
            if layer.inputs:
                raise TypeError("Sequential.add takes layers, or tinynn.Input(...) first")
            layer = layer.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}")
        if isinstance(layer, layers_module.InputLayer):
            if self.layers:
                raise ValueError("Input must come before every other layer")
            self.input_shape = layer.input_shape
            return
        if not self.layers and self.input_shape is None and layer.input_shape is not None:
            self.input_shape = layer.input_shape
        self.layers.append(layer)
        self.adopt(layer, len(self.layers) - 1)
        self.built = False
        self.forget_engine()
        if self.input_shape is not None:
            self.build()  # as in Keras: with a known input shape, weights exist right away

    def pop(self) -> Layer:
        """Remove and return the last layer (Keras's ``Sequential.pop``)."""
        if not self.layers:
            raise ValueError("the model has no layers to pop")
        layer = self.layers.pop()
        self.built = False
        self.forget_engine()
        if self.layers and self.input_shape is not None:
            self.build()
        if self.train_state is not None and self.built:
            self.train_state.bind(self)
        return layer

    def build(self, input_shape: Sequence[int] | None = None) -> None:
        """Create every layer's weights for samples of ``input_shape`` (without batch)."""
        if input_shape is not None:
            self.input_shape = tuple(int(d) for d in input_shape)
        if self.input_shape is None:
            raise ValueError(
                "the model does not know its input shape yet; start it with Input(shape=...), "
                "pass input_shape= to the first layer, or call fit/build"
            )
        if not self.layers:
            raise ValueError("the model has no layers; add some before building")
        shape = self.input_shape
        for layer in self.layers:
            if layer.input_shape is not None and layer.input_shape != shape:
                raise ValueError(
                    f"layer {layer.name!r} declares input shape {layer.input_shape}, "
                    f"but the previous layer outputs {shape}"
                )
            if not layer.built:
                layer.build(shape)
            shape = layer.output_shape
        self.built = True
        self.forget_engine()

    @property
    def output_shape(self) -> tuple[int, ...]:
        self.require_built()
        return self.layers[-1].output_shape

    @property
    def output_layer(self) -> Layer:
        return self.layers[-1]

    # -- the two passes -------------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False, logits: bool = False) -> np.ndarray:
        """Run every layer's forward. With ``logits=True`` the last one stops before its
        activation (it must have ``forward_logits``)."""
        for layer in self.layers[:-1]:
            x = layer.forward(x, training=training)
        last = self.layers[-1]
        if logits:
            return last.forward_logits(x, training=training)
        return last.forward(x, training=training)

    def backward(self, grad: np.ndarray, input_gradient: bool = False) -> np.ndarray | None:
        """Run the layers' backward, last to first, and return dL/dx if ``input_gradient``.

        Training needs no dL/dx of the data, and no gradient at all below the first layer
        with trainable parameters: nothing there learns. So by default backward stops at
        that layer, which itself skips computing dL/dx, and returns None. A frozen
        pretrained body under a new head is then never visited.
        """
        stop = 0 if input_gradient else self.first_trainable_index()
        for index in range(len(self.layers) - 1, stop - 1, -1):
            layer = self.layers[index]
            layer.compute_input_grad = input_gradient or index > stop
            grad = layer.backward(grad)
        return grad if input_gradient else None

    def first_trainable_index(self) -> int:
        """Index of the first layer with trainable parameters (len(layers) if none)."""
        for index, layer in enumerate(self.layers):
            for _ in layer.parameters():
                return index
        return len(self.layers)

    # -- configuration --------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype.name,
            "seed": self.seed,
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "layers": [layers_module.serialize(layer) for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        model = cls(
            name=config.get("name", "sequential"),
            dtype=config.get("dtype", "float32"),
            seed=config.get("seed"),
        )
        if config.get("input_shape"):
            model.input_shape = tuple(config["input_shape"])
        for spec in config.get("layers", []):
            model.add(layers_module.deserialize(spec))
        if model.input_shape is not None:
            model.build()
        return model
