"""``load_model``: a model file, read, checked and ready to predict (float or int8)."""

from __future__ import annotations

import os
from pathlib import Path

from tinynn.runtime.archive import MAX_FILE_BYTES, ModelFileError
from tinynn.runtime.inference import InferenceModel
from tinynn.runtime.int8_model import QuantizedModel
from tinynn.runtime.model_file import read_model


def load_model(
    path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES
) -> InferenceModel | QuantizedModel:
    """Read, validate and prepare a model file written by tinynn's ``model.save(path)``, or by
    ``tinynn export --format python`` (whose int8 files give a ``QuantizedModel``)."""
    spec = read_model(Path(path), max_bytes=max_bytes)
    if spec.quantization is not None and spec.quantization.get("scheme") == "int8":
        try:
            return QuantizedModel(spec, spec.quantization.get("tensors"))
        except ValueError as error:
            raise ModelFileError(f"{os.fspath(path)!r}: {error}") from None
    return InferenceModel(spec)
