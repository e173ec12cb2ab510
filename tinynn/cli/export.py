"""``tinynn export MODEL --format {python,c,onnx}``: a model for use outside tinynn.

    tinynn export digits.npz --format python    # digits.py + digits_weights.npz (NumPy only)
    tinynn export digits.npz --format c         # digits.h: one C99 header, predict()
    tinynn export digits.npz --format onnx      # digits.onnx (needs pip install 'tinynn[onnx]')
    tinynn export digits.npz --format c --quantize int8 --calibration x_train.npy

The file is checked first, as the NumPy runtime checks it; see ``tinynn.export``. A C header
states its footprint, and the command prints it: bytes of constant weights (flash) and of
activation buffers (RAM).
"""

from __future__ import annotations

import argparse
from typing import Any

from tinynn.export import FORMATS, QUANTIZE, export_model, header_footprint


def register(subparsers: Any) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="write a model as a NumPy-only Python module, a C header or ONNX",
        description="Write a saved model for use outside tinynn: 'python' gives one module "
        "that needs only NumPy plus a weights file, 'c' one self-contained C99 header, "
        "'onnx' an ONNX graph (needs the 'onnx' extra). Dense, convolutional, pooling, "
        "normalization and residual models all export; batch normalization is folded into "
        "the layer before it where it can be.",
    )
    parser.add_argument("model", metavar="MODEL", help="model file saved by tinynn (.npz)")
    parser.add_argument("--format", required=True, choices=sorted(FORMATS), help="what to write")
    parser.add_argument(
        "--output",
        metavar="PATH",
        default=None,
        help="file to write (default: MODEL with the suffix .py, .h or .onnx; for python, a "
        "name Python can import)",
    )
    parser.add_argument(
        "--quantize",
        choices=QUANTIZE,
        default=None,
        help="int8: TensorFlow Lite's post-training int8 scheme (weights per channel, "
        "activations calibrated; needs --calibration); float16: weights at half precision, "
        "computed in float32 (python and onnx only)",
    )
    parser.add_argument(
        "--calibration",
        metavar="NPY",
        default=None,
        help="a .npy file of typical inputs, (samples, *input_shape), for --quantize int8: "
        "a few hundred training samples",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Export, then name the files written (and a header's footprint). Problems raise
    ValueError/OSError/RuntimeError."""
    if args.calibration is not None and args.quantize != "int8":
        raise ValueError("--calibration is for --quantize int8; add it, or drop --calibration")
    paths = export_model(args.model, args.format, args.output, args.quantize, args.calibration)
    for path in paths:
        print(f"Wrote {path}")
    if args.format == "c":
        footprint = header_footprint(paths[0])
        print(
            f"Footprint: {footprint['flash_bytes']:,} bytes of weights (flash), "
            f"{footprint['ram_bytes']:,} bytes of activations (RAM)"
        )
    return 0
