"""Open a model file for a command: the model plus the metadata ``tinynn train`` stored."""

from __future__ import annotations

from typing import Any

from tinynn.models import Model, load_model
from tinynn.runtime.archive import ModelFileError, read_archive


def open_model(path: str) -> tuple[Model, dict[str, Any]]:
    """``(model, metadata)``; metadata is ``{}`` for models saved from Python.

    A file that passes the format checks but whose config is still malformed (a missing key,
    a short list) is reported as a ``ModelFileError`` rather than an internal error.
    """
    config, _ = read_archive(path, select=lambda key: False)
    try:
        model = load_model(path)
    except (KeyError, IndexError, AttributeError) as error:
        raise ModelFileError(f"{path!r} has a malformed model config: {error!r}") from None
    metadata = config.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ModelFileError(
            f"{path!r} has metadata of type {type(metadata).__name__}; expected a JSON object"
        )
    return model, metadata


def class_labels(metadata: dict[str, Any], n_outputs: int) -> list[Any]:
    """The label of each output unit: the recorded classes, or 0..n_outputs-1."""
    classes = metadata.get("classes")
    if isinstance(classes, list) and len(classes) == n_outputs:
        return classes
    return list(range(n_outputs))
