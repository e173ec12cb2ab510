"""Residual: a container layer computing f(block(x) + shortcut(x)), the heart of a ResNet.

Why a container and not a functional API (``Add()([a, b])`` over a graph of tensors, as in
Keras)? A graph needs symbolic tensors, a topological sort and gradient bookkeeping at every
merge. A residual block only ever has one fork and one merge, so a layer that holds two short
lists of layers expresses it with the same explicit forward and backward as every other layer:

    forward:   h = x → block[0] → block[1] → …        s = x (identity) or x → shortcut → …
               y = f(h + s)
    backward:  dz = dL/dy ⊙ f'                        (the sum passes dz to both branches)
               dL/dx = block-backward(dz) + shortcut-backward(dz)     (two paths meet at x)

and the block stays usable inside a ``Sequential``, with ``fit``, ``summary``, saving and the
gradient checker, which all see a layer with ``params``, ``grads`` and ``parameters()``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tinynn import activations
from tinynn.layers.activation import activation_backward, activation_forward
from tinynn.layers.layer import Layer, Shape, product


def _as_layers(layers: Any, what: str) -> list[Layer]:
    items = [layers] if isinstance(layers, Layer) else list(layers)
    if not all(isinstance(layer, Layer) for layer in items):
        raise TypeError(f"{what} must be a Layer or a list of Layers, got {layers!r}")
    if not items:
        raise ValueError(f"{what} must hold at least one layer")
    return items


class Residual(Layer):
    """y = f(block(x) + shortcut(x)); the shortcut is the identity unless given.

    Args:
        block_layers: a list of layers run in order (e.g. conv-BN-ReLU-conv-BN).
        shortcut: None (identity: the block must keep the shape), a layer or a list of layers
            (e.g. a strided 1×1 Conv2D and BatchNormalization, to change shape).
        activation: applied after the sum; "relu" in a ResNet basic block.

    The children's parameters appear as ``params["0/W"]``, ``params["1/gamma"]``, … (block,
    by index) and ``params["shortcut/0/W"]``; ``grads`` alike. These dicts are views over the
    children, rebuilt on every access, so ``model.parameters()``, ``get_weights()``, saving and
    the gradient checker see the children's very arrays. Batch-norm moving statistics are
    likewise gathered in ``state``. ``ops``, ``workspace``, ``store``, ``trainable`` and
    ``compute_input_grad`` given to the container are passed on to the children; so are
    ``dtype`` and generators (spawned from this layer's ``rng``) when the block is built.
    """

    def __init__(
        self,
        block_layers: Sequence[Layer],
        shortcut: Any = None,
        activation: Any = None,
        **kwargs: Any,
    ) -> None:
        # The children must exist before Layer.__init__ assigns ops and compute_input_grad,
        # which the properties below pass on to them.
        self.block = _as_layers(block_layers, "block_layers")
        self.shortcut = None if shortcut is None else _as_layers(shortcut, "shortcut")
        super().__init__(**kwargs)
        if not self._trainable:
            self.trainable = False  # freeze the children too
        self.activation = activations.get(activation)
        self._y: np.ndarray | None = None

    # -- the children, seen as one layer --------------------------------------------------

    def children(self) -> Iterator[tuple[str, Layer]]:
        """(prefix, layer) pairs: "0/", "1/", … for the block, "shortcut/0/", … after it."""
        for i, layer in enumerate(self.block):
            yield f"{i}/", layer
        for i, layer in enumerate(self.shortcut or []):
            yield f"shortcut/{i}/", layer

    def _gather(self, attribute: str) -> dict[str, np.ndarray]:
        return {
            prefix + key: value
            for prefix, layer in self.children()
            for key, value in getattr(layer, attribute, {}).items()
        }

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self._gather("params")

    @params.setter
    def params(self, value: dict) -> None:
        if value:  # Layer.__init__ assigns {}; the parameters themselves live in the children
            raise AttributeError("a Residual's params are its children's; set those instead")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return self._gather("grads")

    @grads.setter
    def grads(self, value: dict) -> None:
        if value:
            raise AttributeError("a Residual's grads are its children's")

    @property
    def state(self) -> dict[str, np.ndarray]:
        """Non-trained arrays that saving must keep (batch-norm moving statistics)."""
        return self._gather("state")

    @state.setter
    def state(self, value: dict) -> None:
        if value:
            raise AttributeError("a Residual's state is its children's")

    @property
    def ops(self) -> Any:
        return self._ops

    @ops.setter
    def ops(self, value: Any) -> None:
        self._ops = value
        for _, layer in self.children():
            layer.ops = value

    @property
    def workspace(self) -> dict | None:
        return self._workspace

    @workspace.setter
    def workspace(self, value: dict | None) -> None:
        # Buffers are named per layer ("y", "grad_x"), so every child needs a dict of its own.
        self._workspace = value
        for _, layer in self.children():
            layer.workspace = None if value is None else {}

    @property
    def compute_input_grad(self) -> bool:
        return self._compute_input_grad

    @compute_input_grad.setter
    def compute_input_grad(self, value: bool) -> None:
        # Only the first layer of each branch reads x; it can skip dL/dx when nobody needs it.
        self._compute_input_grad = bool(value)
        self.block[0].compute_input_grad = self._compute_input_grad
        if self.shortcut is not None:
            self.shortcut[0].compute_input_grad = self._compute_input_grad

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        # As in Keras, freezing (or unfreezing) a container does the same to every child.
        self._trainable = bool(value)
        for _, layer in self.children():
            layer.trainable = value

    def reinitialize(self) -> None:
        # Each child draws from a generator spawned from this layer's, as in ``build``.
        for _, layer in self.children():
            if layer.seed is None:
                layer.rng = np.random.default_rng(self.rng.integers(2**63))
            layer.reinitialize()

    @property
    def store(self) -> Any:
        return self._store

    @store.setter
    def store(self, value: Any) -> None:
        self._store = value
        for _, layer in self.children():
            layer.store = value

    def parameters(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The trainable children's (param, grad) pairs, block first, then shortcut."""
        for _, layer in self.children():
            yield from layer.parameters()

    # -- building -------------------------------------------------------------------------

    def _branch_shape(self, layers: list[Layer] | None, shape: Shape, build: bool) -> Shape:
        for layer in layers or []:
            if build and not layer.built:
                layer.build(shape)
            shape = layer.output_shape if build else layer.compute_output_shape(shape)
        return tuple(shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        block = self._branch_shape(self.block, input_shape, build=False)
        shortcut = self._branch_shape(self.shortcut, input_shape, build=False)
        if block != shortcut:
            raise ValueError(
                f"{self.name}: the block outputs {block} but the shortcut outputs {shortcut}; "
                "they are added, so give a shortcut that maps the input to the block's shape "
                "(e.g. shortcut=[Conv2D(filters, 1, strides=...), BatchNormalization()])"
            )
        return block

    def build(self, input_shape: Shape) -> None:
        """Build the children in order, then check that both branches end in the same shape."""
        self.compute_output_shape(tuple(input_shape))  # refuse a mismatch before building
        super().build(input_shape)
        for _, layer in self.children():
            if layer.dtype is None:
                layer.dtype = self.dtype
            if layer.seed is None:
                layer.rng = np.random.default_rng(self.rng.integers(2**63))
        self._branch_shape(self.block, self.input_shape, build=True)
        self._branch_shape(self.shortcut, self.input_shape, build=True)

    # -- the two passes -------------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        h = x
        for layer in self.block:
            h = layer.forward(h, training=training)
        s = x
        for layer in self.shortcut or []:
            s = layer.forward(s, training=training)
        y = np.add(h, s, out=self._buffer("y", h.shape))
        y = activation_forward(self.ops, self.activation, y)
        self._y = y
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        if self._y is None:
            raise RuntimeError(f"{self.name}.backward called before forward")
        grad = np.asarray(grad_output, dtype=self.dtype)
        out = self._buffer("grad_z", self._y.shape)
        grad_z = activation_backward(self.ops, self.activation, self._y, grad, out)
        grad_block = grad_z
        for layer in reversed(self.block):
            grad_block = layer.backward(grad_block)
        grad_shortcut = grad_z
        for layer in reversed(self.shortcut or []):
            grad_shortcut = layer.backward(grad_shortcut)
        if not self.compute_input_grad:
            return None
        return np.add(grad_block, grad_shortcut, out=self._buffer("grad_x", grad_block.shape))

    # -- bookkeeping ----------------------------------------------------------------------

    def regularization_loss(self) -> float:
        return sum(layer.regularization_loss() for _, layer in self.children())

    def flops(self) -> int:
        """The children's FLOPs, plus the addition and the activation (one each per value)."""
        return sum(layer.flops() for _, layer in self.children()) + 2 * product(self.output_shape)

    def get_config(self) -> dict[str, Any]:
        from tinynn import layers as layers_module  # the registry imports this module

        return {
            **super().get_config(),
            "block_layers": [layers_module.serialize(layer) for layer in self.block],
            "shortcut": None
            if self.shortcut is None
            else [layers_module.serialize(layer) for layer in self.shortcut],
            "activation": activations.serialize(self.activation),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Residual:
        from tinynn import layers as layers_module

        config = dict(config)
        config["block_layers"] = [layers_module.deserialize(s) for s in config["block_layers"]]
        if config.get("shortcut") is not None:
            config["shortcut"] = [layers_module.deserialize(s) for s in config["shortcut"]]
        return cls(**config)


def basic_block(
    filters: int,
    strides: int = 1,
    projection: bool | None = None,
    kernel_initializer: Any = "he_normal",
    kernel_regularizer: Any = None,
    **kwargs: Any,
) -> Residual:
    """ResNet's basic block (He et al., 2016): relu(BN(conv(relu(BN(conv(x))))) + shortcut(x)).

    Both convolutions are 3×3 with "same" padding and no bias (the BN's β replaces it); the
    first has ``strides``. The shortcut is the identity, or, when ``projection`` is True (the
    default when strides > 1), a strided 1×1 convolution and BN. Use ``projection=True`` when
    the block changes the number of channels. ``kwargs`` (name, dtype, seed, input_shape) go
    to the ``Residual``, whose children inherit its dtype.
    """
    from tinynn.layers.activation import Activation
    from tinynn.layers.conv import Conv2D
    from tinynn.layers.normalization import BatchNormalization

    conv = {
        "use_bias": False,
        "kernel_initializer": kernel_initializer,
        "kernel_regularizer": kernel_regularizer,
    }
    if projection is None:
        projection = strides != 1
    block = [
        Conv2D(filters, 3, strides=strides, padding="same", **conv),
        BatchNormalization(),
        Activation("relu"),
        Conv2D(filters, 3, padding="same", **conv),
        BatchNormalization(),
    ]
    shortcut = None
    if projection:
        shortcut = [Conv2D(filters, 1, strides=strides, **conv), BatchNormalization()]
    return Residual(block, shortcut=shortcut, activation="relu", **kwargs)
