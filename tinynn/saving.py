"""Saving and loading models: what of a model goes into the file, and back.

The file format itself (layout, atomic writing, safe reading) is ``tinynn.runtime.archive``.
This module maps a model onto it:

    config     the model config (layers by registered class name), the compile settings,
               the random generators' states and any metadata the caller adds
    weights/i  every parameter, layer by layer (frozen ones too)
    state/l/k  layer l's non-trained arrays (BatchNormalization's moving statistics)
    optimizer  per-parameter buffers and step counts, for every weights/i

Loading instantiates only classes found in the registries (``tinynn.layers.LAYERS``,
``losses.LOSSES``, …) and checks every array against the model before copying it in, so a
file can never run code.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from tinynn import losses, metrics, optimizers
from tinynn.registry import Registry
from tinynn.runtime.archive import ModelFileError, read_archive, write_archive
from tinynn.train_state import is_main_process

#: Suffixes of other frameworks' formats, which ``save`` refuses rather than mislabel.
FOREIGN_SUFFIXES = {".keras": "Keras", ".h5": "HDF5 (Keras 2)", ".hdf5": "HDF5 (Keras 2)"}


def check_suffix(path: str | os.PathLike) -> None:
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix in FOREIGN_SUFFIXES:
        raise ValueError(
            f"{os.fspath(path)!r} names a {FOREIGN_SUFFIXES[suffix]} file, but tinynn writes its "
            "own format (a .npz archive); use a .npz file name. To read a Keras file, use "
            "tinynn.convert.from_keras"
        )


def model_parameters(model: Any) -> list[np.ndarray]:
    """Every parameter of the model, trainable or not, in layer order."""
    return [param for layer in model.layers for param in layer.params.values()]


def save_model(model: Any, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write ``model`` to ``path`` atomically (see ``tinynn.runtime.archive``).

    ``metadata`` is any JSON-able dict stored beside the config (the CLI records the data set
    and split there). Under ``tinynn.distributed.DataParallel`` only rank 0 writes: every
    process holds the same model, so a script that saves runs unchanged on N processes.
    """
    check_suffix(path)
    model.require_built()
    if not is_main_process(model):
        return
    params = model_parameters(model)
    arrays: dict[str, np.ndarray] = _weight_arrays(model, params)
    config: dict[str, Any] = {
        "model": {"class_name": type(model).__name__, "config": model.get_config()},
        "compile": None,
        "rng": {
            "model": model.rng.bit_generator.state,
            "layers": [layer.rng.bit_generator.state for layer in model.layers],
        },
        "metadata": metadata or {},
    }
    state = model.train_state
    if state is not None:
        saved = state.optimizer.state_dict(params)
        for i, buffers in enumerate(saved["state"]):
            for key, value in buffers.items():
                arrays[f"optimizer/{i}/{key}"] = value
        config["compile"] = {
            "optimizer": optimizers.serialize(state.optimizer),
            "optimizer_iterations": int(saved["iterations"]),
            "optimizer_slots": [sorted(buffers) for buffers in saved["state"]],
            "optimizer_shapes": saved["shapes"],
            "optimizer_steps": saved["steps"],
            "loss": _serialized_losses(state),
            "loss_weights": state.loss_weights,
            "metrics": _metric_names(state.metric_specs),
            "backend": state.ops.NAME,
        }
    write_archive(path, config, arrays)


def _metric_names(specs: Any) -> Any:
    """The compiled metrics by name (a dict by output, or lists, as they were given)."""
    if isinstance(specs, dict):
        return {key: _metric_names(value) for key, value in specs.items()}
    if isinstance(specs, list | tuple):
        return [_metric_names(spec) for spec in specs]
    return specs if isinstance(specs, str) else metrics.name_of(specs)


def _serialized_losses(state: Any) -> Any:
    """The compiled loss: one serialized loss, or a list of them, one per output."""
    if not state.outputs:
        return losses.serialize(losses.get(state.loss_spec))
    found = [losses.serialize(output.loss) for output in state.outputs]
    return found[0] if len(found) == 1 else found


def _weight_arrays(model: Any, params: list[np.ndarray]) -> dict[str, np.ndarray]:
    arrays = {f"weights/{i}": param for i, param in enumerate(params)}
    for index, layer in enumerate(model.layers):
        for key, value in layer.state.items():
            arrays[f"state/{index}/{key}"] = value
    return arrays


def save_weights(model: Any, path: str | os.PathLike) -> None:
    """Only the weights and layer state, with the model config to check them against (written
    by rank 0 only under a distribution, as ``save_model``)."""
    check_suffix(path)
    model.require_built()
    if not is_main_process(model):
        return
    config = {"model": {"class_name": type(model).__name__, "config": model.get_config()}}
    write_archive(path, config, _weight_arrays(model, model_parameters(model)))


def load_weights(model: Any, path: str | os.PathLike) -> None:
    """Copy the weights of a file written by ``save`` or ``save_weights`` into ``model``,
    after checking that every array fits; the model keeps its own arrays."""
    _, arrays = read_archive(path, select=lambda key: not key.startswith("optimizer/"))
    model.require_built()
    _restore_weights(model, arrays)


def load_model(path: str | os.PathLike, models: Registry) -> Any:
    """Rebuild, re-weight and (if it was compiled) re-compile a saved model."""
    config, arrays = read_archive(path)
    spec = config.get("model")
    if not isinstance(spec, dict):
        raise ModelFileError(f"{os.fspath(path)!r} has no model entry")
    try:
        model = models.deserialize(spec)
    except (TypeError, ValueError, KeyError) as error:
        raise ModelFileError(f"{os.fspath(path)!r}: the model config is invalid: {error}") from None
    model.require_built()
    _restore_weights(model, arrays)
    _restore_rng(model, config.get("rng", {}))
    compiled = config.get("compile")
    if compiled:
        _restore_compile(model, compiled, arrays)
    return model


def _restore_weights(model: Any, arrays: dict[str, np.ndarray]) -> None:
    params = model_parameters(model)
    found = [arrays.get(f"weights/{i}") for i in range(len(params))]
    for i, (param, value) in enumerate(zip(params, found, strict=True)):
        if value is None or value.shape != param.shape or value.dtype != param.dtype:
            raise ModelFileError(
                f"weight {i} does not fit the model: expected {param.shape} {param.dtype}, "
                f"found {None if value is None else (value.shape, value.dtype.name)}"
            )
    extra = sorted(k for k in arrays if k.startswith("weights/") and int(k[8:]) >= len(params))
    if extra:
        raise ModelFileError(f"the file holds weights the model has no place for: {extra}")
    for index, layer in enumerate(model.layers):
        for key, target in layer.state.items():
            value = arrays.get(f"state/{index}/{key}")
            if value is None or value.shape != target.shape:
                raise ModelFileError(
                    f"layer {layer.name!r} state {key!r}: expected shape {target.shape}, found "
                    f"{None if value is None else value.shape}"
                )
    for param, value in zip(params, found, strict=True):
        param[...] = value
    for index, layer in enumerate(model.layers):
        for key, target in layer.state.items():  # in place: a container's state is a view
            target[...] = arrays[f"state/{index}/{key}"]


def _restore_compile(model: Any, compiled: dict, arrays: dict[str, np.ndarray]) -> None:
    try:
        model.compile(
            optimizer=optimizers.get(compiled["optimizer"]),
            loss=compiled["loss"],
            loss_weights=compiled.get("loss_weights"),
            metrics=compiled.get("metrics", []),
            backend=compiled.get("backend", "auto"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"the compile settings are invalid: {error}") from None
    params = model_parameters(model)
    slots = compiled.get("optimizer_slots", [])
    state = {
        "class_name": compiled["optimizer"]["class_name"],
        "iterations": compiled.get("optimizer_iterations", 0),
        "config": compiled["optimizer"]["config"],
        "shapes": compiled.get("optimizer_shapes", []),
        "state": [
            {key: arrays.get(f"optimizer/{i}/{key}") for key in keys}
            for i, keys in enumerate(slots)
        ],
    }
    if "optimizer_steps" in compiled:
        state["steps"] = compiled["optimizer_steps"]
    try:
        if slots and len(slots) != len(params):
            # a file from before per-parameter state: one flat buffer for all parameters
            state = _split_flat_state(state, params)
        model.optimizer.load_state_dict(state, params if slots else None)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"optimizer state does not fit the model: {error}") from None


def _split_flat_state(state: dict[str, Any], params: list[np.ndarray]) -> dict[str, Any]:
    """Per-parameter entries from the single flat buffer earlier tinynn versions saved."""
    if len(state["state"]) != 1 or state["shapes"] != [[sum(p.size for p in params)]]:
        raise ValueError(f"{len(state['state'])} state entries for {len(params)} parameters")
    flat, entries, offset = state["state"][0], [], 0
    for param in params:
        entries.append(
            {
                key: value[offset : offset + param.size].reshape(param.shape)
                for key, value in flat.items()
            }
        )
        offset += param.size
    shapes = [list(param.shape) for param in params]
    return {
        **state,
        "shapes": shapes,
        "state": entries,
        "steps": [state["iterations"]] * len(params),
    }


def _restore_rng(model: Any, states: dict[str, Any]) -> None:
    def restore(generator: np.random.Generator, state: Any) -> None:
        if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
            raise ModelFileError("random-generator state must be a PCG64 state")
        generator.bit_generator.state = state

    if "model" in states:
        restore(model.rng, states["model"])
    for layer, state in zip(model.layers, states.get("layers", []), strict=False):
        restore(layer.rng, state)
