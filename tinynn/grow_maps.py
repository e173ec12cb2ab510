"""How widening one layer changes every weight after it: Net2Net's index maps on a graph.

A widened tensor has, along its last axis, new entries that copy old ones: ``index[j]`` is the
old entry new entry j copies, and ``copies[j]`` how many new entries copy that same old one.
Layers that keep entries apart carry the map on (batch normalization indexes its statistics
with it); Flatten and Concatenate rearrange it; a layer that *sums* over entries (Dense,
Conv2D, the pointwise part of SeparableConv2D) takes the rows ``W[index] / copies`` and ends
the map. ``widen_maps`` walks the model's calls in order doing this, and returns each affected
layer's new weights. See ``tinynn.grow`` for the rule and its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: Layers that keep the entries of their input's last axis apart (a map passes through).
_KEEPS_ENTRIES = {
    "BatchNormalization",
    "Activation",
    "ReLU",
    "Dropout",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "ZeroPadding2D",
    "Identity",
    "GaussianNoise",
}
_ELEMENTWISE = {"Add", "Subtract", "Multiply", "Average"}
_SUMS = {"Dense", "Conv2D", "SeparableConv2D"}


@dataclass
class Map:
    """New entry j of a tensor's last axis copies old entry ``index[j]``, one of ``copies[j]``."""

    index: np.ndarray
    copies: np.ndarray


@dataclass
class Call:
    layer: Any
    inputs: list[int]
    output: int


class GraphView:
    """A Sequential or functional model as calls on numbered tensors, in running order."""

    def __init__(self, model: Any) -> None:
        self.sequential = not hasattr(model, "nodes")
        if self.sequential:
            self.calls = [Call(layer, [i], i + 1) for i, layer in enumerate(model.layers)]
            self.outputs = [len(model.layers)]
        else:
            self.calls = [Call(node.layer, list(node.inputs), node.output) for node in model.nodes]
            self.outputs = list(model.output_indices)
        self.by_name = {layer.name: layer for layer in model.layers}
        self.producer = {call.output: call for call in self.calls}
        self.layers = list(model.layers)
        self.widened: set[str] = set()

    def layer(self, ref: Any) -> Any:
        """A layer by name or index into ``model.layers``."""
        if isinstance(ref, int | np.integer) and not isinstance(ref, bool):
            if not -len(self.layers) <= ref < len(self.layers):
                raise ValueError(f"layer index {ref} out of range for {len(self.layers)} layers")
            return self.layers[ref]
        if ref not in self.by_name:
            raise ValueError(f"no layer named {ref!r}; the layers are {list(self.by_name)}")
        return self.by_name[ref]

    def calls_of(self, layer: Any) -> list[Call]:
        return [call for call in self.calls if call.layer is layer]


def widen_maps(graph: GraphView, target: Any, mapping: np.ndarray) -> dict[str, list[np.ndarray]]:
    """New weights, by layer name, for widening ``target`` with new-to-old ``mapping``; the
    layers widened alongside (to keep element-wise merges aligned) end up in graph.widened."""
    if len(graph.calls_of(target)) != 1:
        raise ValueError(f"cannot widen {target.name!r}: it is called more than once (shared)")
    if graph.calls_of(target)[0].output in graph.outputs:
        raise ValueError(f"cannot widen {target.name!r}: it is an output of the model")
    copies = np.bincount(mapping)[mapping]
    widened = {target.name}
    while True:
        maps, unaligned = _propagate(graph, widened, Map(mapping, copies))
        if unaligned is None:
            break
        widened.add(_producer_to_widen(graph, unaligned).name)
    graph.widened = widened
    arrays = {}
    for call in graph.calls:
        found = [maps.get(i) for i in call.inputs]
        if call.layer.name in widened or any(m is not None for m in found):
            arrays[call.layer.name] = _new_weights(
                call.layer, found[0], call.layer.name in widened, mapping
            )
    return arrays


def _propagate(graph: GraphView, widened: set[str], own: Map):
    """Every tensor's map (absent: unchanged), or the first tensor an element-wise merge meets
    unwidened beside a widened one."""
    maps: dict[int, Map] = {}
    for call in graph.calls:
        kind = type(call.layer).__name__
        found = [maps.get(i) for i in call.inputs]
        if call.layer.name in widened:
            maps[call.output] = own
        elif all(m is None for m in found):
            continue
        elif kind in _ELEMENTWISE:
            for i, m in zip(call.inputs, found, strict=True):
                if m is None:
                    return maps, i
            maps[call.output] = found[0]
        elif kind in _KEEPS_ENTRIES:
            if kind == "Activation" and call.layer.activation.name == "softmax":
                _refuse(call.layer, "softmax mixes the entries it normalizes")
            maps[call.output] = found[0]
        elif kind == "DepthwiseConv2D":
            maps[call.output] = _repeat(found[0], call.layer.depth_multiplier)
        elif kind == "Flatten":
            positions = int(np.prod(call.layer.input_shape[:-1]))
            old_width = int(found[0].index.max()) + 1
            offsets = np.repeat(np.arange(positions) * old_width, len(found[0].index))
            maps[call.output] = Map(
                np.tile(found[0].index, positions) + offsets, np.tile(found[0].copies, positions)
            )
        elif kind == "Concatenate":
            maps[call.output] = _concatenate(graph, call, found)
        elif kind not in _SUMS:
            _refuse(call.layer, "tinynn does not know how it mixes the entries it reads")
    return maps, None


def _producer_to_widen(graph: GraphView, tensor: int) -> Any:
    """The layer that sets the width of ``tensor``: up through layers that keep entries."""
    call = graph.producer.get(tensor)
    while call is not None:
        kind = type(call.layer).__name__
        if kind in _SUMS:
            return call.layer
        if kind not in _KEEPS_ENTRIES and kind not in _ELEMENTWISE:
            _refuse(call.layer, "a residual merge needs the tensors it adds widened alike")
        call = graph.producer.get(call.inputs[0])
    raise ValueError(
        "cannot widen: an element-wise merge (a residual Add) adds the widened tensor to the "
        "model's input, whose width cannot change"
    )


def _refuse(layer: Any, why: str) -> None:
    raise ValueError(f"cannot widen through {layer.name!r} ({type(layer).__name__}): {why}")


def _repeat(m: Map, multiplier: int) -> Map:
    """A depthwise convolution's output channel c·M + k comes from input channel c."""
    k = np.arange(multiplier)
    index = (m.index[:, None] * multiplier + k).reshape(-1)
    return Map(index, np.repeat(m.copies, multiplier))


def _concatenate(graph: GraphView, call: Call, found: list[Map | None]) -> Map:
    """The parts' maps side by side, old offsets counting the parts' old widths."""
    indices, counts, offset = [], [], 0
    for i, m in zip(call.inputs, found, strict=True):
        width = _width_of(graph, i)
        if m is None:
            m = Map(np.arange(width), np.ones(width, dtype=np.int64))
            old_width = width
        else:
            old_width = int(np.max(m.index)) + 1
        indices.append(m.index + offset)
        counts.append(m.copies)
        offset += old_width
    return Map(np.concatenate(indices), np.concatenate(counts))


def _width_of(graph: GraphView, tensor: int) -> int:
    call = graph.producer.get(tensor)
    shape = call.layer.output_shape if call is not None else None
    if shape is None:
        raise ValueError("cannot widen: a Concatenate reads the model's input directly")
    return int(shape[-1])


def _new_weights(layer: Any, m: Map | None, widened: bool, mapping: np.ndarray) -> list[np.ndarray]:
    """``layer.get_weights()`` rewritten for a widened input (map m) and/or output."""
    kind = type(layer).__name__
    weights = {key: value.copy() for key, value in layer.params.items()}
    state = {key: value.copy() for key, value in layer.state.items()}
    if kind in ("Dense", "Conv2D"):
        W = weights["W"]
        if m is not None:  # rows of copies, divided: the sum over them is unchanged
            W = np.take(W, m.index, axis=-2) / m.copies.reshape((-1, 1))
        if widened:
            W = W[..., mapping]
            if "b" in weights:
                weights["b"] = weights["b"][mapping]
        weights["W"] = W
    elif kind == "SeparableConv2D":
        if m is not None:
            weights["depthwise"] = weights["depthwise"][:, :, m.index, :]
            rows = _repeat(m, layer.depth_multiplier)
            weights["pointwise"] = np.take(weights["pointwise"], rows.index, axis=2) / (
                rows.copies.reshape((-1, 1))
            )
        if widened:
            weights["pointwise"] = weights["pointwise"][..., mapping]
            if "b" in weights:
                weights["b"] = weights["b"][mapping]
    elif kind == "DepthwiseConv2D":
        weights["depthwise"] = weights["depthwise"][:, :, m.index, :]
        if "b" in weights:
            weights["b"] = weights["b"][_repeat(m, layer.depth_multiplier).index]
    elif kind in ("BatchNormalization",):
        weights = {key: value[m.index] for key, value in weights.items()}
        state = {key: value[m.index] for key, value in state.items()}
    return [*weights.values(), *state.values()]
