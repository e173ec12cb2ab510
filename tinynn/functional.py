"""Functional models: a directed acyclic graph of layers, built by calling layers on tensors.

    inputs = tinynn.Input(shape=(8, 8, 1))
    h = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    skip = layers.Conv2D(8, 1)(inputs)
    h = layers.Add()([h, skip])                    # a fan-in: two branches meet
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(h))
    model = tinynn.Model(inputs=inputs, outputs=outputs)

The model keeps the calls (``nodes``) in a topological order: every node comes after the nodes
that produce its inputs. ``forward`` runs them in that order; ``backward`` runs the layers'
own ``backward`` in the reverse order, *summing* the gradients that reach a tensor used by
several layers (a fan-out), and handing each input of a merge layer its own gradient.

A layer called more than once (a *shared* layer) keeps one set of weights. Each further call
runs on a twin of the layer that shares its parameter arrays but has caches of its own, so the
second call does not overwrite what the first call's backward needs; after backward the model
adds each twin's gradients into the layer's own.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinynn import layers as layers_module
from tinynn.layers.layer import Layer
from tinynn.layers.symbolic import InputLayer, SymbolicTensor, call_symbolic, flatten_tensors
from tinynn.model_base import Model


@dataclass
class Node:
    """One layer call: ``runner`` (the layer, or a twin for a repeated call) applied to the
    tensors ``inputs`` (indices into the model's tensor list), producing tensor ``output``."""

    layer: Layer
    runner: Layer
    inputs: list[int]
    output: int


class Functional(Model):
    """A model defined by its input and output tensors; see the module docstring."""

    def __init__(self, inputs: Any, outputs: Any, name: str = "model", **kwargs: Any) -> None:
        input_list = flatten_tensors(inputs, "inputs")
        output_list = flatten_tensors(outputs, "outputs")
        asked_dtype = kwargs.pop("dtype", None)
        super().__init__(name=name, dtype=asked_dtype or output_list[0].dtype, **kwargs)
        self.single_input = not isinstance(inputs, list | tuple)
        self.single_output = not isinstance(outputs, list | tuple)
        tensors = _graph_tensors(input_list, output_list)
        self.tensors = tensors
        index = {id(tensor): i for i, tensor in enumerate(tensors)}
        self.input_indices = [index[id(tensor)] for tensor in input_list]
        self.output_indices = [index[id(tensor)] for tensor in output_list]
        self.store = input_list[0].store
        self.layers: list[Layer] = []
        self.nodes: list[Node] = []
        for i, tensor in enumerate(tensors):
            if not tensor.inputs:
                continue
            layer = tensor.layer
            runner = layer if layer not in self.layers else _twin(layer)
            if layer not in self.layers:
                self.layers.append(layer)
            self.nodes.append(Node(layer, runner, [index[id(t)] for t in tensor.inputs], i))
        self.input_layers = [tensor.layer for tensor in input_list]
        for position, layer in enumerate(self.layers):
            if asked_dtype is not None:
                _check_dtype(layer, self.dtype)
            self.adopt(layer, position)
            if self.seed is not None and layer.seed is None:
                layer.reinitialize()  # drawn at the call, before the model's seed was known
        self.built = True

    # -- shapes -----------------------------------------------------------------------------

    @property
    def input_shape(self) -> Any:
        shapes = [self.tensors[i].shape for i in self.input_indices]
        return shapes[0] if self.single_input else shapes

    @property
    def output_shape(self) -> Any:
        shapes = [self.tensors[i].shape for i in self.output_indices]
        return shapes[0] if self.single_output else shapes

    @property
    def output_layer(self) -> Layer:
        if not self.single_output:
            raise ValueError(f"model {self.name!r} has {len(self.output_indices)} outputs")
        return self.tensors[self.output_indices[0]].layer

    @property
    def output_layers(self) -> list[Layer]:
        return [self.tensors[i].layer for i in self.output_indices]

    @property
    def inputs(self) -> list[SymbolicTensor]:
        """The input tensors: call more layers on a model's tensors to build on it (Keras)."""
        return [self.tensors[i] for i in self.input_indices]

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return [self.tensors[i] for i in self.output_indices]

    @property
    def input(self) -> Any:
        """The input tensor (a list for several inputs), as Keras's ``model.input``."""
        return self.inputs[0] if self.single_input else self.inputs

    @property
    def output(self) -> Any:
        """The output tensor (a list for several), as Keras's ``model.output``: a new head on
        a trained body is ``Model(body.input, layers.Dense(5)(body.output))``."""
        return self.outputs[0] if self.single_output else self.outputs

    @property
    def input_names(self) -> list[str]:
        return [layer.name for layer in self.input_layers]

    @property
    def output_names(self) -> list[str]:
        return [layer.name for layer in self.output_layers]

    def build(self, input_shape: Sequence[int] | None = None) -> None:
        """A functional model is built when it is made: its layers were built by the calls."""

    # -- the two passes ---------------------------------------------------------------------

    def forward(self, x: Any, training: bool = False, logits: Any = False) -> Any:
        """Run every node in order. x: one array, or a list with one per input. With
        ``logits`` (True, or one flag per output) an output layer stops before its activation.
        Returns one array, or a list with one per output."""
        xs = [x] if self.single_input else list(x)
        if len(xs) != len(self.input_indices):
            raise ValueError(f"the model takes {len(self.input_indices)} inputs, got {len(xs)}")
        flags = _per_output(logits, len(self.output_indices))
        stop_early = {i: flag for i, flag in zip(self.output_indices, flags, strict=True) if flag}
        values: list[Any] = [None] * len(self.tensors)
        for i, array in zip(self.input_indices, xs, strict=True):
            values[i] = self.tensors[i].layer.forward(array)
        self._sync_twins()
        for node in self.nodes:
            args = [values[i] for i in node.inputs]
            arg = args if getattr(node.layer, "takes_list", False) else args[0]
            if stop_early.get(node.output):
                values[node.output] = node.runner.forward_logits(arg, training=training)
            else:
                values[node.output] = node.runner.forward(arg, training=training)
        outputs = [values[i] for i in self.output_indices]
        return outputs[0] if self.single_output else outputs

    def backward(self, grad: Any, input_gradient: bool = False) -> Any:
        """Run the layers' backward in reverse order, summing gradients at fan-outs.

        Only the nodes that lead to a trainable parameter (or, with ``input_gradient``, to an
        input) run. Returns dL/dx per input when ``input_gradient``, else None.
        """
        grads = [grad] if self.single_output else list(grad)
        needs = self._needs_gradient(input_gradient)
        pending: dict[int, np.ndarray] = {}
        for i, g in zip(self.output_indices, grads, strict=True):
            _accumulate(pending, i, g)
        shared: dict[int, list[Layer]] = {}
        for node in reversed(self.nodes):
            g = pending.pop(node.output, None)
            if g is None or not (needs[node.output] or _has_parameters(node.layer)):
                continue
            wanted = [needs[i] for i in node.inputs]
            node.runner.compute_input_grad = any(wanted)
            result = node.runner.backward(g)
            if node.runner is not node.layer:
                shared.setdefault(id(node.layer), [node.layer]).append(node.runner)
            if not any(wanted) or result is None:
                continue
            results = result if getattr(node.layer, "takes_list", False) else [result]
            for i, wanted_here, g_in in zip(node.inputs, wanted, results, strict=True):
                if wanted_here:
                    _accumulate(pending, i, g_in)
        for layer, *twins in shared.values():
            for key, total in layer.grads.items():
                for twin in twins:
                    total += twin.grads[key]
        if not input_gradient:
            return None
        found = [pending.get(i) for i in self.input_indices]
        return found[0] if self.single_input else found

    def _needs_gradient(self, input_gradient: bool) -> list[bool]:
        """Per tensor: does any trainable parameter (or an input, if asked) lie upstream?"""
        needs = [False] * len(self.tensors)
        if input_gradient:
            for i in self.input_indices:
                needs[i] = True
        for node in self.nodes:
            needs[node.output] = _has_parameters(node.layer) or any(needs[i] for i in node.inputs)
        return needs

    def _sync_twins(self) -> None:
        """A twin follows its layer's backend and trainable flag (set by compile, or by you)."""
        for node in self.nodes:
            if node.runner is not node.layer:
                node.runner.ops = node.layer.ops
                node.runner.trainable = node.layer.trainable

    # -- configuration --------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """Keras's functional config: the layers, each with the tensors it was called on."""
        names = {id(layer): layer.name for layer in [*self.input_layers, *self.layers]}
        producer = {i: (names[id(t.layer)]) for i, t in enumerate(self.tensors)}
        calls: dict[int, list[list[list[Any]]]] = {}
        for node in self.nodes:
            inbound = [[producer[i], _call_index(self, i), 0] for i in node.inputs]
            calls.setdefault(id(node.layer), []).append(inbound)
        entries = [
            {**layers_module.serialize(layer), "name": layer.name, "inbound_nodes": []}
            for layer in self.input_layers
        ]
        for layer in self.layers:
            entry = layers_module.serialize(layer)
            entries.append({**entry, "name": layer.name, "inbound_nodes": calls[id(layer)]})

        def refs(indices: list[int]) -> list[list[Any]]:
            return [[producer[i], _call_index(self, i), 0] for i in indices]

        return {
            "name": self.name,
            "dtype": self.dtype.name,
            "seed": self.seed,
            "layers": entries,
            "input_layers": refs(self.input_indices),
            "output_layers": refs(self.output_indices),
            "single_input": self.single_input,
            "single_output": self.single_output,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Functional:
        """Rebuild the graph by calling the layers again on symbolic tensors, in order."""
        made: dict[str, list[SymbolicTensor]] = {}
        waiting: list[tuple[Layer, list[list[Any]]]] = []  # calls whose inputs are not made yet
        for entry in config["layers"]:
            layer = layers_module.deserialize(entry)
            layer.name = entry.get("name", layer.name)
            if isinstance(layer, InputLayer):
                made[layer.name] = [_input_tensor(layer)]
            waiting += [(layer, inbound) for inbound in entry.get("inbound_nodes", [])]
        while waiting:  # a shared layer's later call may need tensors of later layers
            ready = [
                (layer, inbound)
                for layer, inbound in waiting
                if all(call < len(made.get(source, [])) for source, call, _ in inbound)
            ]
            if not ready:
                raise ValueError("the model config's layer calls refer to tensors never made")
            layer, inbound = ready[0]
            waiting.remove(ready[0])
            args = [made[source][call] for source, call, _ in inbound]
            many = getattr(layer, "takes_list", False)
            made.setdefault(layer.name, []).append(call_symbolic(layer, args if many else args[0]))
        inputs = [made[name][call] for name, call, _ in config["input_layers"]]
        outputs = [made[name][call] for name, call, _ in config["output_layers"]]
        return cls(
            inputs[0] if config.get("single_input", True) else inputs,
            outputs[0] if config.get("single_output", True) else outputs,
            name=config.get("name", "model"),
            dtype=config.get("dtype"),
            seed=config.get("seed"),
        )


def _graph_tensors(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]):
    """Every tensor between inputs and outputs, in creation (thus topological) order."""
    seen: dict[int, SymbolicTensor] = {}
    stack = list(outputs)
    input_ids = {id(t) for t in inputs}
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen[id(tensor)] = tensor
        if not tensor.inputs and id(tensor) not in input_ids:
            raise ValueError(
                f"the outputs depend on {tensor.layer.name!r}, which is not among the inputs; "
                "pass every Input the outputs are computed from"
            )
        if id(tensor) not in input_ids:
            stack.extend(tensor.inputs)
    missing = [t.layer.name for t in inputs if id(t) not in seen]
    if missing:
        raise ValueError(f"inputs {missing} do not lead to any output")
    return sorted(seen.values(), key=lambda t: t.id)


def _twin(layer: Layer) -> Layer:
    """A copy of ``layer`` for a repeated call: same parameter and state arrays (shared, by
    the memo), its own caches and gradient arrays, and a random stream of its own."""
    memo = {id(array): array for array in [*layer.params.values(), *layer.state.values()]}
    memo[id(layer.store)] = layer.store
    memo[id(layer.ops)] = layer.ops  # a module of kernels: shared, never copied
    twin = copy.deepcopy(layer, memo)
    twin.rng = np.random.default_rng(layer.rng.integers(2**63))
    twin.workspace = None
    return twin


def _has_parameters(layer: Layer) -> bool:
    return any(True for _ in layer.parameters())


def _accumulate(pending: dict[int, np.ndarray], index: int, grad: np.ndarray) -> None:
    """pending[index] += grad, without writing into an array a layer still owns."""
    if index in pending:
        pending[index] = pending[index] + grad
    else:
        pending[index] = grad


def _per_output(flag: Any, count: int) -> list[bool]:
    if isinstance(flag, list | tuple):
        if len(flag) != count:
            raise ValueError(f"expected {count} logits flags, got {len(flag)}")
        return [bool(f) for f in flag]
    return [bool(flag)] * count


def _call_index(model: Functional, tensor_index: int) -> int:
    """Which call of its layer produced tensor ``tensor_index`` (0 for the first)."""
    layer = model.tensors[tensor_index].layer
    calls = [t for t in model.tensors[: tensor_index + 1] if t.layer is layer]
    return len(calls) - 1


def _input_tensor(layer: InputLayer) -> SymbolicTensor:
    from tinynn.parameters import ParameterStore

    return SymbolicTensor(layer.input_shape, layer.dtype, layer, (), ParameterStore())


def _check_dtype(layer: Layer, dtype: np.dtype) -> None:
    """A layer's weights were made when it was called; they cannot take another dtype now."""
    for key, param in layer.params.items():
        if param.dtype != dtype:
            raise ValueError(
                f"{layer.name}/{key} is {param.dtype} but the model is {dtype}: a layer makes its "
                f"weights when it is called, in its input's dtype; pass dtype={dtype.name!r} to "
                "tinynn.Input so that the whole graph is built in it"
            )
