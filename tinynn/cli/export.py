"""``tinynn export MODEL --format {python,c,onnx}``: a model for use outside tinynn.

    tinynn export digits.npz --format python    # digits.py + digits_weights.npz (NumPy only)
    tinynn export digits.npz --format c         # digits.h: one C99 header, predict()
    tinynn export digits.npz --format onnx      # digits.onnx (needs pip install 'tinynn[onnx]')

The file is checked first, as the NumPy runtime checks it; see ``tinynn.export``.
"""

from __future__ import annotations

import argparse
from typing import Any

from tinynn.export import FORMATS, export_model


def register(subparsers: Any) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="write a model as a NumPy-only Python module, a C header or ONNX",
        description="Write a saved model for use outside tinynn: 'python' gives one module "
        "that needs only NumPy plus a weights file, 'c' one self-contained C99 header, "
        "'onnx' an ONNX graph (needs the 'onnx' extra).",
    )
    parser.add_argument("model", metavar="MODEL", help="model file saved by tinynn (.npz)")
    parser.add_argument("--format", required=True, choices=sorted(FORMATS), help="what to write")
    parser.add_argument(
        "--output",
        metavar="PATH",
        default=None,
        help="file to write (default: MODEL with the suffix .py, .h or .onnx)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Export, then name the files written. Problems raise ValueError/OSError/RuntimeError."""
    for path in export_model(args.model, args.format, args.output):
        print(f"Wrote {path}")
    return 0
