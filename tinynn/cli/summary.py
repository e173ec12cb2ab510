"""``tinynn summary MODEL``: print the layer table of a saved model."""

from __future__ import annotations

import argparse
from typing import Any

from tinynn.cli.modelfile import open_model


def register(subparsers: Any) -> None:
    """Add the ``summary`` subcommand."""
    parser = subparsers.add_parser(
        "summary",
        help="print a saved model's layers, shapes, parameters and FLOPs",
        description="Print model.summary() of a saved model: layers, output shapes, "
        "parameter counts and forward FLOPs per sample.",
    )
    parser.add_argument("model", metavar="MODEL", help="model file (.npz) to describe")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the model and print its summary. Returns the exit status."""
    model, _ = open_model(args.model)
    model.summary()
    return 0
