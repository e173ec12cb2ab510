"""Saving and loading models: one ``.npz`` file, no pickle, atomic writes.

File layout (a plain NumPy ``.npz`` archive, readable with ``np.load(path)``):

    __config__            uint8 bytes of a UTF-8 JSON document: format tag and version, the
                          model config (layers by registered class name), compile settings,
                          optimizer iteration count, random-generator states, and the name,
                          shape and dtype of every array below
    weights/<i>           the i-th parameter, in ``model.parameters()`` order
    optimizer/<i>/<key>   the optimizer's per-parameter state (momentum buffers, …)

Loading uses ``allow_pickle=False`` and instantiates only classes found in the registries
(``tinynn.layers.LAYERS``, ``losses.LOSSES``, …), so a file can never run code. Every array is
checked against the shape and dtype its config declares before it is used.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from typing import Any

import numpy as np

from tinynn.runtime import ArchiveReader, ModelFileError

FORMAT = "tinynn.model"
FORMAT_VERSION = 1
CONFIG_KEY = "__config__"


#: The largest model file we read: 1 GiB.
MAX_FILE_BYTES = 1 << 30


def save_model(model: Any, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write ``model`` to ``path`` atomically: a temporary file, fsync, then rename.

    ``metadata`` is any JSON-able dict stored beside the config (the CLI records the data set
    and split there); ``read_model_file(path)[0]["metadata"]`` returns it.

    If anything fails half-way (a full disk, an interrupt), the previous file at ``path`` is
    left untouched and the temporary file is removed.
    """
    from tinynn import losses, metrics, optimizers

    model._require_built()
    arrays: dict[str, np.ndarray] = {}
    manifest = []
    for i, (param, _) in enumerate(model.parameters()):
        arrays[f"weights/{i}"] = param
        manifest.append(
            {"key": f"weights/{i}", "shape": list(param.shape), "dtype": param.dtype.name}
        )
    for i, layer in enumerate(model.layers):
        # Non-trainable arrays that inference needs, e.g. BatchNormalization's moving averages.
        for key, value in getattr(layer, "state", {}).items():
            arrays[f"state/{i}/{key}"] = value
            manifest.append(
                {"key": f"state/{i}/{key}", "shape": list(value.shape), "dtype": value.dtype.name}
            )
    config: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": {"class_name": "Sequential", "config": model.get_config()},
        "compile": None,
        "rng": {
            "model": model.rng.bit_generator.state,
            "layers": [layer.rng.bit_generator.state for layer in model.layers],
        },
        "arrays": manifest,
        "metadata": metadata or {},
    }
    if model.optimizer is not None and model.loss is not None:
        state = model.optimizer.state_dict()
        for i, buffers in enumerate(state["state"]):
            for key, value in buffers.items():
                name = f"optimizer/{i}/{key}"
                arrays[name] = np.asarray(value)
                manifest.append(
                    {
                        "key": name,
                        "shape": list(np.shape(value)),
                        "dtype": np.asarray(value).dtype.name,
                    }
                )
        config["compile"] = {
            "optimizer": optimizers.serialize(model.optimizer),
            "optimizer_iterations": int(state["iterations"]),
            "optimizer_slots": [sorted(buffers) for buffers in state["state"]],
            "optimizer_shapes": [list(shape) for shape in state["shapes"]],
            "loss": losses.serialize(model.loss),
            "metrics": [
                spec if isinstance(spec, str) else metrics.name_of(spec)
                for spec in model._metric_specs
            ],
            "backend": model.backend,
        }
    arrays[CONFIG_KEY] = np.frombuffer(json.dumps(config).encode("utf-8"), dtype=np.uint8)
    _atomic_savez(os.fspath(path), arrays)


def _atomic_savez(path: str, arrays: dict[str, np.ndarray]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    handle, temp_path = tempfile.mkstemp(prefix=".tinynn-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.remove(temp_path)
        raise


def read_model_file(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The validated config and arrays of a model file, or ``ModelFileError``.

    Arrays are read by ``tinynn.runtime.ArchiveReader``, which checks each declared shape
    against the bytes actually stored before allocating anything, and refuses object
    (pickled) arrays; a crafted header cannot make us allocate terabytes.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model file at {path!r}")
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise ModelFileError(f"{path!r} is {size} bytes; the limit is {MAX_FILE_BYTES}")
    with open(path, "rb") as stream:
        signature = stream.read(4)
    if signature != b"PK\x03\x04":
        raise ModelFileError(
            f"{path!r} is not a readable tinynn model file: it is not an .npz (zip) archive"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            reader = ArchiveReader(archive, path, MAX_FILE_BYTES)
            if CONFIG_KEY not in reader.members:
                raise ModelFileError(f"{path!r} has no {CONFIG_KEY!r} entry; not written by tinynn")
            config = _decode_config(reader.array(CONFIG_KEY, "config"), path)
            arrays = {
                entry.get("key"): reader.array(entry.get("key"), "weight")
                for entry in config.get("arrays", [])
            }
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as error:
        raise ModelFileError(
            f"{path!r} is not a readable tinynn model file (corrupt or truncated): {error}"
        ) from None
    for entry in config.get("arrays", []):
        key, array = entry.get("key"), arrays[entry.get("key")]
        if list(array.shape) != entry.get("shape") or array.dtype.name != entry.get("dtype"):
            raise ModelFileError(
                f"{path!r}: array {key!r} has shape {array.shape} and dtype {array.dtype}; "
                f"the config declares {tuple(entry.get('shape') or ())} and {entry.get('dtype')}"
            )
    return config, arrays


def _decode_config(raw: np.ndarray, path: str) -> dict[str, Any]:
    try:
        config = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelFileError(f"{path!r} has an unreadable config: {error}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path!r} is not a tinynn model (format tag missing)")
    if config.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path!r} has format version {config.get('format_version')!r}; "
            f"this tinynn reads version {FORMAT_VERSION}"
        )
    if not isinstance(config.get("arrays", []), list):
        raise ModelFileError(f"{path!r}: the config's array list is malformed")
    return config


def load_model(path: str | os.PathLike) -> Any:
    """Rebuild, re-weight and (if it was compiled) re-compile a saved ``Sequential``."""
    from tinynn import losses, optimizers
    from tinynn.models import Sequential

    config, arrays = read_model_file(path)
    model_spec = config.get("model", {})
    if model_spec.get("class_name") != "Sequential":
        raise ModelFileError(f"unknown model class {model_spec.get('class_name')!r}")
    model = Sequential.from_config(model_spec.get("config", {}))
    model.build()
    params = [param for param, _ in model.parameters()]
    weights = [arrays.get(f"weights/{i}") for i in range(len(params))]
    for i, (param, value) in enumerate(zip(params, weights, strict=True)):
        if value is None or value.shape != param.shape or value.dtype != param.dtype:
            raise ModelFileError(
                f"weight {i} does not fit the model: expected {param.shape} {param.dtype}, "
                f"found {None if value is None else (value.shape, value.dtype.name)}"
            )
        param[...] = value
    _restore_layer_state(model, arrays)
    _restore_rng(model, config.get("rng", {}))
    compiled = config.get("compile")
    if compiled:
        model.compile(
            optimizer=optimizers.get(compiled["optimizer"]),
            loss=losses.get(compiled["loss"]),
            metrics=compiled.get("metrics", []),
            backend=compiled.get("backend", "auto"),
        )
        slots = compiled.get("optimizer_slots", [])
        try:
            state = [
                {key: arrays[f"optimizer/{i}/{key}"] for key in keys}
                for i, keys in enumerate(slots)
            ]
            model.optimizer.load_state_dict(
                {
                    "class_name": compiled["optimizer"]["class_name"],
                    "iterations": compiled.get("optimizer_iterations", 0),
                    "config": compiled["optimizer"]["config"],
                    "shapes": compiled.get("optimizer_shapes", []),
                    "state": state,
                }
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"optimizer state does not fit the model: {error}") from None
    return model


def _restore_layer_state(model: Any, arrays: dict[str, np.ndarray]) -> None:
    """Copy saved non-trainable state into each layer's own arrays (in place: a container's
    ``state`` is a view of its children's)."""
    for i, layer in enumerate(model.layers):
        for key, target in getattr(layer, "state", {}).items():
            value = arrays.get(f"state/{i}/{key}")
            if value is None or value.shape != target.shape:
                raise ModelFileError(
                    f"layer {layer.name!r} state {key!r}: expected shape {target.shape}, found "
                    f"{None if value is None else value.shape}"
                )
            target[...] = value


def _restore_rng(model: Any, states: dict[str, Any]) -> None:
    def restore(generator: np.random.Generator, state: Any) -> None:
        if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
            raise ModelFileError("random-generator state must be a PCG64 state")
        generator.bit_generator.state = state

    if "model" in states:
        restore(model.rng, states["model"])
    for layer, state in zip(model.layers, states.get("layers", []), strict=False):
        restore(layer.rng, state)
