"""Models that grow without forgetting: Net2Net's widen and deepen (Chen, Goodfellow and
Shlens, 2015), for Sequential and functional models.

    wider = grow.widen(model, "dense", units=64)     # a new model; model is unchanged
    deeper = grow.deepen(model, after="dense")

**Widen.** Layer ``layer`` gets ``units`` outputs (filters for a convolution). New unit j copies
an existing unit g(j) (its incoming weights and bias); every layer that *reads* the widened
output divides the weights of each copy by the number of copies, count(g(j)), so the sum it
computes is unchanged. With ``noise=0`` the grown model's outputs equal the original's to
rounding. A widened tensor may pass through layers that keep its channels apart (batch
normalization, activations but softmax, dropout, pooling, padding, depthwise convolutions,
Flatten, Concatenate); where it meets another tensor in an element-wise merge (a residual
``Add``), the other tensor's producer is widened with the same g, so the merge stays aligned.

**Deepen.** A new layer computing the identity is inserted after ``after``: a Dense with W = I
(a 3×3 convolution with a centred identity kernel on images), with the same activation, which
is function preserving only for an activation with f(f(x)) = f(x): ReLU, ReLU6 and linear.

Both return a new model; ``tinynn.callbacks.GrowOnPlateau`` grows a model while it trains.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from tinynn.grow_maps import GraphView, widen_maps
from tinynn.layers import Conv2D, Dense

_IDEMPOTENT = ("linear", "relu", "relu6")


def widen(model: Any, layer: Any, units: int, noise: float = 0.0, seed: int | None = None) -> Any:
    """A copy of ``model`` where ``layer`` (a name or an index into ``model.layers``), a
    Dense, Conv2D or SeparableConv2D, has ``units`` outputs; see the module docstring.

    ``noise`` > 0 adds N(0, (noise·σ)²) to the copied incoming weights, σ their standard
    deviation, so that copies can drift apart when training resumes (Net2Net's advice).
    """
    graph = GraphView(model)
    target = graph.layer(layer)
    old = _width(target)
    if isinstance(units, bool) or not isinstance(units, int | np.integer) or units <= old:
        raise ValueError(
            f"widen {target.name!r}: units must be an integer above {old}, got {units!r}"
        )
    rng = np.random.default_rng(seed)
    mapping = np.concatenate([np.arange(old), rng.integers(0, old, int(units) - old)])
    arrays = widen_maps(graph, target, mapping)  # layer name -> new weight list
    config = copy.deepcopy(model.get_config())
    for entry in _layer_entries(config):
        layer_obj = graph.by_name.get(entry["config"].get("name") or entry.get("name"))
        if layer_obj is not None and layer_obj.name in graph.widened:
            key = "units" if isinstance(layer_obj, Dense) else "filters"
            entry["config"][key] = int(units)
    grown = _rebuild(model, config, arrays)
    if noise:
        _add_noise(grown, graph.widened, old, noise, rng)
    return grown


def deepen(model: Any, after: Any) -> Any:
    """A copy of ``model`` with an identity layer inserted after ``after`` (a name or an index);
    see the module docstring. Refuses an activation for which that is not function preserving."""
    graph = GraphView(model)
    anchor = graph.layer(after)
    activation = _output_activation(anchor)
    if activation not in _IDEMPOTENT:
        raise ValueError(
            f"deepen after {anchor.name!r}: its output goes through {activation!r}, and an "
            f"identity layer with {activation} would change the function (f(f(x)) != f(x)); "
            f"only {list(_IDEMPOTENT)} are function preserving. Deepen after a later layer."
        )
    shape = anchor.output_shape
    name = _unique(f"{anchor.name}_identity", set(graph.by_name))
    if len(shape) == 1:
        new_layer = Dense(shape[0], activation=activation, name=name)
        identity = [np.eye(shape[0]), np.zeros(shape[0])]
    elif len(shape) == 3:
        channels = shape[-1]
        new_layer = Conv2D(channels, 3, padding="same", activation=activation, name=name)
        kernel = np.zeros((3, 3, channels, channels))
        kernel[1, 1] = np.eye(channels)
        identity = [kernel, np.zeros(channels)]
    else:
        raise ValueError(
            f"deepen after {anchor.name!r}: outputs of shape {shape} (need 1-D or images)"
        )
    from tinynn.layers import serialize

    spec = {**serialize(new_layer), "name": name}
    config = copy.deepcopy(model.get_config())
    _layer_entries(config)
    _insert_after(config, anchor.name, spec, graph.sequential)
    return _rebuild(model, config, {name: identity})


def grow_in_place(model: Any, grown: Any) -> None:
    """Make ``model`` become ``grown`` while staying the same Python object, so that a running
    ``fit`` carries on with it (``GrowOnPlateau`` does this between epochs): its layers, store,
    training state and inference engine are replaced by the grown model's; its history, its
    shuffling generator and ``stop_training`` are kept."""
    if type(model) is not type(grown):
        raise TypeError(f"cannot turn a {type(model).__name__} into a {type(grown).__name__}")
    kept = {key: model.__dict__[key] for key in ("history", "stop_training", "rng")}
    model.__dict__.update(grown.__dict__)
    model.__dict__.update(kept)


# -- rebuilding a model from an edited config -------------------------------------------------


def _rebuild(model: Any, config: dict, arrays: dict[str, list[np.ndarray]]) -> Any:
    """The model of ``config`` with every layer's weights: the new arrays where given, the
    original layer's (same name) otherwise; compiled as ``model`` was, with fresh optimizer
    state (the shapes changed) that keeps the step count."""
    from tinynn.models import MODELS

    grown = MODELS.lookup(type(model).__name__).from_config(config)
    grown.require_built()
    old = {layer.name: layer for layer in model.layers}
    for layer in grown.layers:
        source = arrays.get(layer.name)
        if source is None and layer.name in old:
            source = old[layer.name].get_weights()
        if source:
            layer.set_weights([np.asarray(a, dtype=layer.dtype) for a in source])
        if layer.name in old:
            layer.trainable = old[layer.name].trainable
    state = model.train_state
    if state is not None:
        grown.compile(**state.compile_arguments())
        grown.optimizer.iterations = state.optimizer.iterations
    return grown


def _layer_entries(config: dict) -> list[dict]:
    """The layer configs, without the input shapes they were built for: widths change, and
    the model's own input shape (or its Input layers) decides them again."""
    for entry in config["layers"]:
        if entry["class_name"] != "Input":
            entry["config"].pop("input_shape", None)
    return config["layers"]


def _insert_after(config: dict, anchor: str, spec: dict, sequential: bool) -> None:
    entries = config["layers"]
    index = next(
        i for i, e in enumerate(entries) if (e.get("name") or e["config"]["name"]) == anchor
    )
    if sequential:
        entries.insert(index + 1, spec)
        return
    for entry in entries:  # whoever read the anchor's output now reads the new layer's
        for call in entry.get("inbound_nodes", []):
            for ref in call:
                if ref[0] == anchor:
                    ref[0], ref[1] = spec["name"], 0
    for ref in config["output_layers"]:
        if ref[0] == anchor:
            ref[0], ref[1] = spec["name"], 0
    entries.insert(index + 1, {**spec, "inbound_nodes": [[[anchor, 0, 0]]]})


def _width(layer: Any) -> int:
    width = getattr(layer, "units", None) or getattr(layer, "filters", None)
    if width is None:
        raise ValueError(
            f"cannot widen {layer.name!r} of type {type(layer).__name__}: only Dense, Conv2D "
            "and SeparableConv2D have units or filters"
        )
    return int(width)


def _output_activation(layer: Any) -> str:
    activation = getattr(layer, "activation", None)
    return "linear" if activation is None else activation.name


def _unique(name: str, taken: set[str]) -> str:
    candidate, suffix = name, 1
    while candidate in taken:
        candidate, suffix = f"{name}_{suffix}", suffix + 1
    return candidate


def _add_noise(model: Any, widened: set[str], old: int, noise: float, rng) -> None:
    for layer in model.layers:
        if layer.name in widened:
            W = layer.params.get("W", layer.params.get("pointwise"))
            new = W[..., old:]
            new += rng.normal(0.0, noise * (W.std() or 1.0), size=new.shape)
