"""Export a saved model for use outside tinynn: a standalone Python module, C, or ONNX.

    from tinynn.export import export_model
    export_model("digits.npz", "c", "digits.h")          # -> [PosixPath('digits.h')]

    tinynn export digits.npz --format python             # digits.py + digits_weights.npz

Every format first reads the file with ``tinynn.runtime.read_model``, so a crafted or corrupt
file is refused with the same checks the runtime applies, before anything is written:

    python   the NumPy-only runtime as one module, plus a slim weights file beside it
    c        one self-contained C99 header (``tinynn.export.c``)
    onnx     an ONNX graph (needs the optional extra: ``pip install 'tinynn[onnx]'``)

Files are written atomically (a temporary file, then a rename), like ``model.save``.
"""

from __future__ import annotations

import os
from pathlib import Path

from tinynn import runtime
from tinynn.runtime import archive

#: format -> suffix of the file it writes when no output path is given.
FORMATS = {"python": ".py", "c": ".h", "onnx": ".onnx"}


def default_output(model_path: str | os.PathLike, format: str) -> Path:
    """``digits.npz`` -> ``digits.py`` / ``digits.h`` / ``digits.onnx``, in the same folder."""
    path = Path(model_path)
    stem = path.name.removesuffix(".npz").removesuffix(".tinynn") or "model"
    return path.with_name(stem + FORMATS[format])


def export_model(
    model_path: str | os.PathLike, format: str, output_path: str | os.PathLike | None = None
) -> list[Path]:
    """Write ``model_path`` in ``format``; returns the paths written (python: module, weights)."""
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; expected one of {sorted(FORMATS)}")
    spec = runtime.read_model(model_path)
    output = Path(output_path) if output_path is not None else default_output(model_path, format)
    if output.is_dir():
        raise IsADirectoryError(f"the output {str(output)!r} is a directory; give a file name")
    if format == "python":
        from tinynn.export.python import export_python

        return export_python(spec, Path(model_path), output)
    if format == "c":
        from tinynn.export.c import export_c

        prefix = "tinynn"
        write_atomic(output, export_c(spec, prefix, source=Path(model_path).name).encode())
        return [output]
    from tinynn.export.onnx import export_onnx

    write_atomic(output, export_onnx(spec))
    return [output]


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, with the mode the user's umask gives new files
    (the file format's own writer, ``tinynn.runtime.archive.write_atomic``)."""
    archive.write_atomic(path, lambda stream: stream.write(data))


__all__ = ["FORMATS", "default_output", "export_model", "write_atomic"]
