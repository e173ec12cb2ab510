"""The training footprint of a model: which arrays exist, and what each is for.

``training_memory(model, batch_arrays)`` walks the objects a model trains with and adds up the
bytes of the arrays it finds, in five parts:

* **parameters**: the model's ``ParameterStore`` blocks (parameters side by side, including
  the room a block keeps free) and every weight outside them (layers built on their own;
  ``state`` such as BatchNormalization's moving statistics);
* **gradients**: the store's gradient blocks, and gradients outside them (a shared layer's
  twins keep their own);
* **optimizer state**: the optimizer's buffers (momentum, moment estimates), created at its
  first step;
* **activations kept for backward**: the arrays a layer keeps in its private attributes from
  its forward pass for its backward (``self._x``, ``self._y``, ``self._cols``, a list such as a
  merge's ``self._inputs``), in the layer and its children. When the first layer keeps the
  batch it was given, that batch counts here;
* **workspace**: the other buffers lent for the step (``TrainState.buffers``: outputs,
  gradients and scratch the layers and losses reuse), what the losses keep (dL/dy), and the
  batch arrays ``batch_arrays`` not already counted.

Each array is counted once, by the memory that holds it: a view counts as its owner (the
array whose memory it uses, ``array.base``), with the owner's whole size, so a store block's
64-byte alignment margin is included. An owner claimed by an earlier part is not counted
again. These are exactly the NumPy allocations that training keeps alive; the tests check them
against tracemalloc. What a step allocates and frees again (temporaries) is not in the
footprint: the profile reports its peak separately.

The optimizer's state is ``optimizer.variables``, its live arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinynn.layers.layer import Layer

#: The parts, in the order they claim memory (and are printed).
PARTS = ("parameters", "gradients", "optimizer_state", "activations", "workspace")

LABELS = {
    "parameters": "parameters",
    "gradients": "gradients",
    "optimizer_state": "optimizer state",
    "activations": "activations kept for backward",
    "workspace": "workspace (buffers, batch)",
}


@dataclass
class MemoryFootprint:
    """Bytes per part (see the module docstring). ``parameters_in_use``: the bytes of the
    weights themselves (the store's blocks may hold more, reserved for later arrays);
    ``per_layer`` splits the activations and the workspace by layer name."""

    parameters: int = 0
    gradients: int = 0
    optimizer_state: int = 0
    activations: int = 0
    workspace: int = 0
    parameters_in_use: int = 0
    per_layer: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(getattr(self, part) for part in PARTS)

    def to_dict(self) -> dict[str, Any]:
        parts = {part: getattr(self, part) for part in PARTS}
        return {**parts, "total": self.total, "parameters_in_use": self.parameters_in_use,
                "per_layer": self.per_layer}  # fmt: skip

    def format(self, indent: str = "  ") -> str:
        """One line per part, with its share of the total."""
        total = self.total or 1
        width = max(len(label) for label in LABELS.values())
        lines = [
            f"{indent}{LABELS[part]:<{width}}  {format_bytes(getattr(self, part)):>10}"
            f"  {100 * getattr(self, part) / total:5.1f} %"
            for part in PARTS
        ]
        if self.parameters and self.parameters_in_use < self.parameters:
            lines[0] += f"  ({format_bytes(self.parameters_in_use)} of weights, the rest reserved)"
        lines.append(f"{indent}{'total':<{width}}  {format_bytes(self.total):>10}")
        return "\n".join(lines)


def format_bytes(count: float) -> str:
    """ "512 B", "16.4 KB", "1.20 MB", "3.1 GB" (powers of 1000)."""
    if count < 1e3:
        return f"{count:.0f} B"
    if count < 1e6:
        return f"{count / 1e3:.1f} KB"
    if count < 1e9:
        return f"{count / 1e6:.2f} MB"
    return f"{count / 1e9:.2f} GB"


def owner(array: np.ndarray) -> np.ndarray:
    """The array whose memory ``array`` uses (itself when it owns its data)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


class _Ledger:
    """Owners already counted, and the bytes each part has claimed."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.footprint = MemoryFootprint()

    def claim(self, part: str, arrays: Iterable[Any], layer: str | None = None) -> None:
        for array in arrays:
            if not isinstance(array, np.ndarray):
                continue
            base = owner(array)
            if id(base) in self.seen:
                continue
            self.seen.add(id(base))
            setattr(self.footprint, part, getattr(self.footprint, part) + base.nbytes)
            if layer is not None:
                share = self.footprint.per_layer.setdefault(layer, {})
                share[part] = share.get(part, 0) + base.nbytes


def training_memory(model: Any, batch_arrays: Iterable[np.ndarray] = ()) -> MemoryFootprint:
    """The footprint of ``model`` as it is now (see the module docstring).

    Call it after a training step and while the step's buffers are lent (inside
    ``TrainState.lend_buffers``, as ``tinynn.profile`` does) to see a step's whole footprint;
    before the first step the optimizer state, the activations and the workspace are empty.
    ``batch_arrays``: the batch buffers of the step (x and y).
    """
    ledger = _Ledger()
    store = getattr(model, "store", None)
    blocks = store.blocks if store is not None else []
    labelled = model_runners(model)
    runners = [layer for _, layer in labelled]
    ledger.claim("parameters", (block.params for block in blocks))
    ledger.claim("parameters", (a for layer in runners for a in _weights(layer)))
    weights = {id(array): array for layer in runners for array in _weights(layer)}
    ledger.footprint.parameters_in_use = sum(array.nbytes for array in weights.values())
    ledger.claim("gradients", (block.grads for block in blocks))
    ledger.claim("gradients", (a for layer in runners for a in _gradients(layer)))
    state = getattr(model, "train_state", None)
    if state is not None:
        ledger.claim("optimizer_state", _optimizer_buffers(state.optimizer))
    for label, layer in labelled:
        for part in _family(layer):
            ledger.claim("activations", _cached_arrays(part), label)
    if state is not None:
        for output in state.outputs:
            ledger.claim("workspace", _cached_arrays(output.train_loss), "loss")
        for label, layer in labelled:
            for part in _family(layer):
                ledger.claim("workspace", (part.workspace or {}).values(), label)
        for buffers in state.buffers.values():
            ledger.claim("workspace", buffers.values())
    ledger.claim("workspace", batch_arrays, "batch")
    return ledger.footprint


def model_runners(model: Any) -> list[tuple[str, Layer]]:
    """(name, layer) for every layer object that runs: each layer, then the twins that run
    a shared layer's later calls, named after it with the call number ("dense@2")."""
    nodes = getattr(model, "nodes", None)
    layers = list(model.layers)
    if nodes is not None:
        known = {id(layer) for layer in layers}
        layers += [node.runner for node in nodes if id(node.runner) not in known]
    calls: dict[str, int] = {}
    labelled = []
    for layer in layers:
        calls[layer.name] = calls.get(layer.name, 0) + 1
        count = calls[layer.name]
        labelled.append((layer.name if count == 1 else f"{layer.name}@{count}", layer))
    return labelled


def _family(layer: Layer) -> Iterator[Any]:
    """The layer and every layer inside it (a Residual's children), depth first."""
    yield layer
    children = getattr(layer, "children", None)
    if callable(children):
        for _, child in children():
            yield from _family(child)


def _weights(layer: Layer) -> Iterator[np.ndarray]:
    yield from layer.params.values()
    yield from layer.state.values()


def _gradients(layer: Layer) -> Iterator[np.ndarray]:
    yield from layer.grads.values()


def _cached_arrays(obj: Any) -> Iterator[np.ndarray]:
    """Arrays in ``obj``'s private attributes: an array, or a list of arrays."""
    for name, value in vars(obj).items():
        if not name.startswith("_"):
            continue
        if isinstance(value, np.ndarray):
            yield value
        elif isinstance(value, list):
            yield from (item for item in value if isinstance(item, np.ndarray))


def _optimizer_buffers(optimizer: Any) -> Iterator[np.ndarray]:
    yield from getattr(optimizer, "variables", [])
