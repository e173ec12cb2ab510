"""A tinynn model file, read and validated into a ``ModelSpec`` without trusting anything in it.

See the package docstring for every check ``read_model`` makes. Exporters (C, ONNX) read the
same ``ModelSpec``. A Sequential model becomes a chain of layer specs; a Functional model
(``tinynn.Model(inputs, outputs)``, one input and one output) a graph whose layers are
ordered so that each comes after the layers it reads (see ``tinynn.runtime.specs``).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from tinynn.runtime.archive import (
    FORMAT,
    FORMAT_VERSION,
    MAX_FILE_BYTES,
    MAX_MEMBERS,
    read_archive,
)
from tinynn.runtime.layer_parsers import LAYER_CLASSES, Call, parse_call, weight_count
from tinynn.runtime.specs import MAX_SAMPLE_SIZE, Checks, LayerSpec, ModelSpec

#: How an exported file may store its weights: float16 halves them (``--quantize float16``).
STORAGE_SCHEMES = ("float16", "int8")


def read_model(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> ModelSpec:
    """Read and validate a tinynn model file; ``ModelFileError`` if anything is wrong."""
    config, arrays = read_archive(
        path, max_bytes, select=lambda key: key.startswith(("weights/", "state/"))
    )
    return parse_model(config, arrays, os.fspath(path))


class Graph:
    """The specs parsed so far, and the file's arrays, handed out once each after checking."""

    def __init__(self, checks: Checks, arrays: dict, dtype: np.dtype, stored: tuple) -> None:
        self.checks, self.arrays, self.dtype, self.stored = checks, arrays, dtype, stored
        self.layers: list[LayerSpec] = []
        self.input_shape: tuple[int, ...] = ()
        self.used: set[str] = set()
        self.total_values = 0

    def shape(self, tensor: int) -> tuple[int, ...]:
        return self.input_shape if tensor == 0 else self.layers[tensor - 1].output_shape

    def add(self, spec: LayerSpec) -> int:
        self.total_values += math.prod(spec.output_shape)  # what the buffers will hold
        if self.total_values > MAX_SAMPLE_SIZE:
            raise self.checks.fail(
                f"the layer outputs add up to over {MAX_SAMPLE_SIZE} values per sample"
            )
        self.layers.append(spec)
        return len(self.layers)

    def weight(self, index: int, shape: tuple, dtype: np.dtype) -> np.ndarray:
        key = f"weights/{index}"
        self.used.add(key)
        return self.checks.array(self.arrays, key, shape, dtype, self.stored)

    def state(self, key: str, shape: tuple, dtype: np.dtype) -> np.ndarray:
        self.used.add(key)
        return self.checks.array(self.arrays, key, shape, dtype, self.stored)


def parse_model(config: Any, arrays: dict[str, np.ndarray], path: str) -> ModelSpec:
    """The ``ModelSpec`` of a file's config and arrays (``weights/<i>``, ``state/<l>/<key>``),
    checked; ``path`` names the source in error messages."""
    checks = Checks(path)
    fail = checks.fail
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise fail(f"not a tinynn model (the config lacks format {FORMAT!r})")
    if config.get("format_version") != FORMAT_VERSION:
        raise fail(f"format version {config.get('format_version')!r}; expected {FORMAT_VERSION}")
    model = config.get("model")
    kind = model.get("class_name") if isinstance(model, dict) else None
    if kind not in ("Sequential", "Functional"):
        raise fail("the model must be a 'Sequential' or a 'Functional' model")
    cfg = checks.dict(model.get("config"), "the model config")
    layers = cfg.get("layers")
    if not isinstance(layers, list) or not layers or len(layers) > MAX_MEMBERS:
        raise fail(f"'layers' must be a non-empty list of at most {MAX_MEMBERS} layers")
    entries = [checks.dict(entry, f"layer {i}") for i, entry in enumerate(layers)]
    dtype = checks.dtype(cfg.get("dtype", "float32"), "the model")
    quantization = _quantization(config.get("quantization"), checks)
    stored = (np.dtype("float16"),) if quantization else ()
    graph = Graph(checks, arrays, dtype, stored)
    if kind == "Sequential":
        output = _sequential(graph, cfg, entries)
    else:
        output = _functional(graph, cfg, entries)
    unused = sorted(key for key in arrays if key.startswith(("weights/", "state/")))
    unused = [key for key in unused if key not in graph.used]
    if unused:
        raise fail(f"holds weights that no layer uses: {unused[:5]}")
    weights = tuple(arrays[f"weights/{i}"] for i in range(len(arrays)) if f"weights/{i}" in arrays)
    state = {key: value for key, value in arrays.items() if key.startswith("state/")}
    metadata = config.get("metadata") if isinstance(config.get("metadata"), dict) else {}
    name = str(cfg.get("name") or kind.lower())
    return ModelSpec(
        name,
        dtype,
        graph.input_shape,
        graph.shape(output),
        tuple(graph.layers),
        metadata,
        model,
        output,
        weights,
        state,
        quantization,
    )


def _quantization(value: Any, checks: Checks) -> dict | None:
    if value is None:
        return None
    value = checks.dict(value, "the quantization entry")
    if value.get("scheme") not in STORAGE_SCHEMES:
        raise checks.fail(
            f"quantization scheme {value.get('scheme')!r}; expected one of {STORAGE_SCHEMES}"
        )
    return value


def _sequential(graph: Graph, cfg: dict, entries: list[dict]) -> int:
    checks = graph.checks
    first = checks.dict(entries[0].get("config", {}), "layer 0 config")
    declared = cfg.get("input_shape") or first.get("input_shape") or first.get("shape")
    if declared is None:
        raise checks.fail("the model declares no input shape")
    graph.input_shape = checks.shape(declared, "the model input shape")
    tensor, weight, index = 0, 0, 0
    for entry in entries:
        if entry.get("class_name") == "Input":  # records the shape; not one of model.layers
            shape = checks.dict(entry.get("config", {}), "an Input config").get("shape")
            if shape is not None and checks.shape(shape, "an Input shape") != graph.shape(tensor):
                raise checks.fail(
                    f"an Input declares shape {shape}; the model gives {graph.shape(tensor)}"
                )
            continue
        call = Call(graph, entry, [tensor], weight, f"state/{index}/")
        tensor = parse_call(call)
        weight += weight_count(checks, entry)
        index += 1
    return tensor


def _functional(graph: Graph, cfg: dict, entries: list[dict]) -> int:
    """Layer calls in an order where each call's inputs exist (shared layers may call back to
    later layers, as ``tinynn.functional.Functional.from_config`` allows)."""
    checks = graph.checks
    for key in ("input_layers", "output_layers"):
        refs = cfg.get(key)
        if not isinstance(refs, list) or len(refs) != 1:
            raise checks.fail(
                f"the model has {len(refs) if isinstance(refs, list) else 'no'} {key}; the "
                "runtime and the exporters run models with one input and one output"
            )
    made: dict[str, list[int]] = {}
    waiting: list[tuple[dict, list, int, int]] = []  # (entry, inbound refs, weight, index)
    weight, index = 0, 0
    for entry in entries:
        name = entry.get("name")
        if not isinstance(name, str) or name in made:
            raise checks.fail(f"layer names must be unique strings, got {name!r}")
        calls = entry.get("inbound_nodes", [])
        if not isinstance(calls, list) or len(calls) > MAX_MEMBERS:
            raise checks.fail(f"layer {name!r} has malformed inbound_nodes")
        if entry.get("class_name") == "Input":
            if graph.input_shape:
                raise checks.fail("the model has several Input layers; the runtime takes one")
            shape = checks.dict(entry.get("config", {}), f"layer {name!r} config").get("shape")
            graph.input_shape = checks.shape(shape, f"the input {name!r} shape")
            made[name] = [0]
            continue
        made[name] = []
        waiting += [(entry, inbound, weight, index) for inbound in calls]
        weight += weight_count(checks, entry)
        index += 1
    if not graph.input_shape:
        raise checks.fail("the model has no Input layer")
    while waiting:
        ready = next((item for item in waiting if _refs(checks, item[1], made) is not None), None)
        if ready is None:
            raise checks.fail("the model's layer calls refer to tensors that are never made")
        waiting.remove(ready)
        entry, inbound, weight, index = ready
        call = Call(graph, entry, _refs(checks, inbound, made), weight, f"state/{index}/")
        made[entry["name"]].append(parse_call(call))
    output = _refs(checks, cfg["output_layers"], made)
    if output is None:
        raise checks.fail("the model's output is never made")
    return output[0]


def _refs(checks: Checks, refs: Any, made: dict[str, list[int]]) -> list[int] | None:
    """The tensors [[layer name, call index, 0], …] refer to, or None if one is not made yet."""
    if not isinstance(refs, list) or not refs:
        raise checks.fail(f"a layer call lists its inputs as {refs!r}; expected [[name, call, 0]]")
    tensors = []
    for ref in refs:
        valid = isinstance(ref, list) and len(ref) == 3 and isinstance(ref[0], str)
        if not valid or isinstance(ref[1], bool) or not isinstance(ref[1], int) or ref[1] < 0:
            raise checks.fail(f"a layer call refers to {ref!r}; expected [name, call index, 0]")
        if ref[0] not in made:
            raise checks.fail(f"a layer call refers to the unknown layer {ref[0]!r}")
        if ref[1] >= len(made[ref[0]]):
            return None
        tensors.append(made[ref[0]][ref[1]])
    return tensors


__all__ = ["LAYER_CLASSES", "LayerSpec", "ModelSpec", "parse_model", "read_model"]
