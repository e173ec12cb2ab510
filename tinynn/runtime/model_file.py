"""A tinynn model file, read and validated into a ``ModelSpec`` without trusting anything in it.

See the package docstring for every check ``read_model`` makes. Exporters (C, ONNX) read the
same ``ModelSpec``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinynn.activations import ACTIVATIONS
from tinynn.runtime.archive import (
    FORMAT,
    FORMAT_VERSION,
    MAX_FILE_BYTES,
    MAX_MEMBERS,
    ModelFileError,
    read_archive,
)

MAX_SAMPLE_SIZE = 1 << 24  # values per sample, summed over all layer outputs: 64 MiB float32
LAYER_CLASSES = ("Dense", "Activation", "Dropout", "Flatten", "Reshape", "Input")
#: The alpha an activation gets when its config names none (LeakyReLU 0.2, ELU 1).
DEFAULT_ALPHA = {
    name: ACTIVATIONS[name]().alpha for name in ACTIVATIONS if ACTIVATIONS[name]().alpha
}


@dataclass(frozen=True)
class LayerSpec:
    """One layer as the file declares it, checked. Exporters (C, ONNX) read these too.

    ``kernel`` is (n_in, units), the layout tinynn's Dense uses; ``bias`` is (units,) or None.
    Dropout and Input are the identity at inference; Flatten and Reshape only change the shape.
    """

    class_name: str
    name: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    dtype: np.dtype
    activation: str = "linear"
    alpha: float = 0.0
    kernel: np.ndarray | None = None
    bias: np.ndarray | None = None


@dataclass(frozen=True)
class ModelSpec:
    """A checked Sequential model: sample shapes (no batch axis), dtype and layers.

    ``config`` is the file's model entry as read (already checked), so a copy can be re-saved.
    """

    name: str
    dtype: np.dtype
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    layers: tuple[LayerSpec, ...]
    metadata: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict, repr=False)  # {"class_name", "config"}


def read_model(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> ModelSpec:
    """Read and validate a tinynn model file; ``ModelFileError`` if anything is wrong."""
    config, arrays = read_archive(path, max_bytes, select=lambda key: key.startswith("weights/"))
    return parse_model(config, arrays, os.fspath(path))


def parse_model(config: Any, arrays: dict[str, np.ndarray], path: str) -> ModelSpec:
    """The ``ModelSpec`` of a file's config and weight arrays (``weights/<i>``), checked;
    ``path`` names the source in error messages."""

    def fail(message: str) -> ModelFileError:
        return ModelFileError(f"{path!r}: {message}")

    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise fail(f"not a tinynn model (the config lacks format {FORMAT!r})")
    if config.get("format_version") != FORMAT_VERSION:
        raise fail(f"format version {config.get('format_version')!r}; expected {FORMAT_VERSION}")
    model = config.get("model")
    if not isinstance(model, dict) or model.get("class_name") != "Sequential":
        raise fail("the model must be a 'Sequential'")
    cfg = _dict(model.get("config"), "the model config", fail)
    layers = cfg.get("layers")
    if not isinstance(layers, list) or not layers or len(layers) > MAX_MEMBERS:
        raise fail(f"'layers' must be a non-empty list of at most {MAX_MEMBERS} layers")
    dtype = _dtype(cfg.get("dtype", "float32"), "the model", fail)
    first = _dict(_dict(layers[0], "layer 0", fail).get("config", {}), "layer 0 config", fail)
    declared = cfg.get("input_shape") or first.get("input_shape") or first.get("shape")
    if declared is None:
        raise fail("the model declares no input shape")
    shape = input_shape = _shape(declared, "the model input shape", fail)
    specs, n_weights, total_values = [], 0, 0
    for index, entry in enumerate(layers):
        entry = _dict(entry, f"layer {index}", fail)
        class_name = entry.get("class_name")
        if class_name not in LAYER_CLASSES:
            raise fail(f"layer {index} has class {class_name!r}; expected one of {LAYER_CLASSES}")
        lc = _dict(entry.get("config", {}), f"layer {index} config", fail)
        what = f"layer {index} ({class_name})"
        own_shape = lc.get("shape" if class_name == "Input" else "input_shape")
        if own_shape is not None and _shape(own_shape, what, fail) != shape:
            raise fail(f"{what} declares input shape {own_shape}; the layers before give {shape}")
        layer_dtype = _dtype(lc.get("dtype") or dtype.name, what, fail)
        found: dict[str, Any] = {}
        out = shape
        if class_name == "Dense":
            units = _size(lc.get("units"), f"{what} units", fail)
            if len(shape) != 1:
                raise fail(f"{what} needs 1-D samples but gets shape {shape}")
            found["kernel"] = _weight(arrays, n_weights, (shape[0], units), layer_dtype, fail)
            n_weights += 1
            use_bias = lc.get("use_bias", True)
            if not isinstance(use_bias, bool):
                raise fail(f"{what} use_bias is {use_bias!r}; expected true or false")
            if use_bias:
                found["bias"] = _weight(arrays, n_weights, (units,), layer_dtype, fail)
                n_weights += 1
            found["activation"], found["alpha"] = _activation(lc.get("activation"), what, fail)
            out = (units,)
        elif class_name == "Activation":
            found["activation"], found["alpha"] = _activation(lc.get("activation"), what, fail)
        elif class_name == "Flatten":
            out = (math.prod(shape),)
        elif class_name == "Reshape":
            out = _reshape(shape, lc.get("target_shape"), what, fail)
        name = str(lc.get("name") or class_name.lower())
        specs.append(LayerSpec(class_name, name, shape, out, layer_dtype, **found))
        shape = out
        total_values += math.prod(out)  # what the single-sample buffers will hold
        if total_values > MAX_SAMPLE_SIZE:
            raise fail(f"the layer outputs add up to over {MAX_SAMPLE_SIZE} values per sample")
    unused = sorted(set(arrays) - {f"weights/{i}" for i in range(n_weights)})
    unused = [key for key in unused if key.startswith("weights/")]
    if unused:
        raise fail(f"holds weights that no layer uses: {unused}")
    metadata = config.get("metadata") if isinstance(config.get("metadata"), dict) else {}
    name = str(cfg.get("name") or "sequential")
    return ModelSpec(name, dtype, input_shape, shape, tuple(specs), metadata, model)


def _weight(arrays: dict, index: int, shape: tuple, dtype: np.dtype, fail) -> np.ndarray:
    key = f"weights/{index}"
    array = arrays.get(key)
    if array is None:
        raise fail(f"is missing the array {key!r}")
    if array.shape != shape or array.dtype != dtype:
        raise fail(
            f"array {key!r} has shape {array.shape} and dtype {array.dtype}; the layer config "
            f"needs {shape} and {dtype}"
        )
    if not np.isfinite(array).all():
        raise fail(f"array {key!r} holds NaN or infinite values")
    return array


def _dict(value: Any, what: str, fail) -> dict:
    if not isinstance(value, dict):
        raise fail(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


def _dtype(value: Any, what: str, fail) -> np.dtype:
    if value not in ("float32", "float64"):
        raise fail(f"{what} has dtype {value!r}; expected 'float32' or 'float64'")
    return np.dtype(value)


def _size(value: Any, what: str, fail) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SAMPLE_SIZE:
        raise fail(f"{what} is {value!r}; expected an integer in 1..{MAX_SAMPLE_SIZE}")
    return value


def _shape(value: Any, what: str, fail) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not 0 < len(value) <= 8:
        raise fail(f"{what} is {value!r}; expected a list of 1 to 8 positive integers")
    shape = tuple(_size(d, what, fail) for d in value)
    _size(math.prod(shape), f"{what} size", fail)
    return shape


def _reshape(shape: tuple, target: Any, what: str, fail) -> tuple[int, ...]:
    if not isinstance(target, list) or not 0 < len(target) <= 8:
        raise fail(f"{what} target_shape is {target!r}; expected a list of integers")
    valid = all(d == -1 or (isinstance(d, int) and 0 < d <= MAX_SAMPLE_SIZE) for d in target)
    if target.count(-1) > 1 or not valid:
        raise fail(f"{what} target_shape {target} must hold positive sizes and at most one -1")
    known = math.prod(d for d in target if d != -1)
    size = math.prod(shape)
    if size % known or (-1 not in target and known != size):
        raise fail(f"{what} cannot reshape {shape} into {tuple(target)}")
    return tuple(size // known if d == -1 else d for d in target)


def _activation(spec: Any, what: str, fail) -> tuple[str, float]:
    config: Any = {}
    if spec is None:
        name = "linear"
    elif isinstance(spec, str):
        name = spec
    else:
        name, config = _dict(spec, f"{what} activation", fail).get("class_name"), spec.get("config")
    try:
        name = ACTIVATIONS.name_of_class(ACTIVATIONS.lookup(name))
    except ValueError:
        raise fail(
            f"{what} has activation {name!r}; expected one of {sorted(ACTIVATIONS)}"
        ) from None
    alpha = _dict(config or {}, f"{what} activation config", fail).get(
        "alpha", DEFAULT_ALPHA.get(name, 0.0)
    )
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not math.isfinite(alpha):
        raise fail(f"{what} activation alpha is {alpha!r}; expected a finite number")
    if name in DEFAULT_ALPHA and alpha <= 0:
        raise fail(f"{what} {name} alpha is {alpha}; it must be > 0")
    return name, float(alpha)
