"""Export a saved model for use outside tinynn: a standalone Python module, C, or ONNX.

    from tinynn.export import export_model, quantize_model
    export_model("digits.npz", "c", "digits.h")          # -> [PosixPath('digits.h')]
    export_model("digits.npz", "c", "digits8.h", quantize="int8", calibration=x_train)
    q = quantize_model("digits.npz", x_train)            # the int8 model, in NumPy integers
    q.predict(x_test)

    tinynn export digits.npz --format python             # digits.py + digits_weights.npz

Every format first reads the file with ``tinynn.runtime.read_model``, so a crafted or corrupt
file is refused with the same checks the runtime applies, before anything is written:

    python   the NumPy-only runtime as one module, plus a slim weights file beside it
    c        one self-contained C99 header (``tinynn.export.c``; int8: ``c_int8``)
    onnx     an ONNX graph (needs the optional extra: ``pip install 'tinynn[onnx]'``)

``quantize``: None (the model's own float32 or float64), "float16" (weights stored at half
precision, computed in float32: python and onnx; C99 has no half type), or "int8" (TFLite's
post-training int8 scheme, see ``tinynn.runtime.quantization``; needs ``calibration``, a few
hundred typical inputs as an array or a ``.npy`` file).

Files are written atomically (a temporary file, then a rename), like ``model.save``, with the
mode the user's umask gives new files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from tinynn import runtime
from tinynn.runtime import archive
from tinynn.runtime.int8_model import QuantizedModel

#: format -> suffix of the file it writes when no output path is given.
FORMATS = {"python": ".py", "c": ".h", "onnx": ".onnx"}
QUANTIZE = ("float16", "int8")


def default_output(model_path: str | os.PathLike, format: str) -> Path:
    """``digits.npz`` -> ``digits.py`` / ``digits.h`` / ``digits.onnx``, in the same folder.

    A Python module must be importable, so its name becomes an identifier:
    ``tinynn-model.npz`` -> ``tinynn_model.py``.
    """
    path = Path(model_path)
    stem = path.name.removesuffix(".npz").removesuffix(".tinynn") or "model"
    if format == "python":
        stem = re.sub(r"\W", "_", stem, flags=re.ASCII)
        stem = stem if stem[0].isalpha() or stem[0] == "_" else f"model_{stem}"
    return path.with_name(stem + FORMATS[format])


def load_calibration(calibration: Any, spec: runtime.ModelSpec) -> np.ndarray:
    """Calibration samples from an array or a ``.npy`` file (never unpickled), checked."""
    if isinstance(calibration, str | os.PathLike):
        try:
            calibration = np.load(calibration, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            raise ValueError(
                f"cannot read calibration data from {os.fspath(calibration)!r}: {error}"
            ) from None
    x = np.asarray(calibration)
    if x.dtype.kind not in "fiu":
        raise ValueError(f"calibration data must be numbers, got dtype {x.dtype}")
    shape = spec.input_shape
    if x.shape[1:] != shape and x.ndim == 2 and x.shape[1] == int(np.prod(shape)):
        x = x.reshape(len(x), *shape)  # flat rows of an image model
    return x.astype(np.float32)


def quantize_model(model: Any, calibration: Any) -> QuantizedModel:
    """The int8 model of a model file (or ``runtime.ModelSpec``), calibrated on samples."""
    spec = model if isinstance(model, runtime.ModelSpec) else runtime.read_model(model)
    return QuantizedModel.calibrated(spec, load_calibration(calibration, spec))


def export_model(
    model_path: str | os.PathLike,
    format: str,
    output_path: str | os.PathLike | None = None,
    quantize: str | None = None,
    calibration: Any = None,
) -> list[Path]:
    """Write ``model_path`` in ``format``; returns the paths written (python: module, weights)."""
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; expected one of {sorted(FORMATS)}")
    if quantize not in (None, *QUANTIZE):
        raise ValueError(f"unknown quantization {quantize!r}; expected one of {QUANTIZE}")
    if quantize == "float16" and format == "c":
        raise ValueError("C99 has no half-precision type: use --quantize int8 for a smaller header")
    if quantize == "int8" and calibration is None:
        raise ValueError(
            "int8 quantization needs calibration data: typical inputs, e.g. --calibration x.npy"
        )
    spec = runtime.read_model(model_path)
    if spec.quantization is not None:
        raise ValueError(f"{os.fspath(model_path)!r} is already an exported, quantized file")
    output = Path(output_path) if output_path is not None else default_output(model_path, format)
    if output.is_dir():
        raise IsADirectoryError(f"the output {str(output)!r} is a directory; give a file name")
    quantized = quantize_model(spec, calibration) if quantize == "int8" else None
    source = Path(model_path).name
    if format == "python":
        from tinynn.export.python import export_python

        return export_python(spec, Path(model_path), output, quantize, quantized)
    if format == "c":
        if quantized is not None:
            from tinynn.export.c_int8 import export_c_int8

            text = export_c_int8(quantized, "tinynn", source=source)
        else:
            from tinynn.export.c import export_c

            text = export_c(spec, "tinynn", source=source)
        write_atomic(output, text.encode())
        return [output]
    from tinynn.export.onnx import export_onnx

    write_atomic(output, export_onnx(spec, quantize or "float", quantized))
    return [output]


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, with the mode the user's umask gives new files
    (the file format's own writer, ``tinynn.runtime.archive.write_atomic``)."""
    archive.write_atomic(path, lambda stream: stream.write(data))


def header_footprint(path: str | os.PathLike) -> dict[str, int]:
    """The flash and RAM bytes a generated C header states (its ``*_FLASH_BYTES`` and
    ``*_RAM_BYTES`` macros), as {"flash_bytes", "ram_bytes"}."""
    text = Path(path).read_text(encoding="utf-8")
    found = dict(re.findall(r"#define \w+_(FLASH|RAM)_BYTES (\d+)", text))
    return {"flash_bytes": int(found["FLASH"]), "ram_bytes": int(found["RAM"])}


__all__ = [
    "FORMATS",
    "QUANTIZE",
    "default_output",
    "export_model",
    "header_footprint",
    "quantize_model",
    "write_atomic",
]
