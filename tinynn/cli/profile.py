"""``tinynn profile MODEL``: where a saved model's training step spends its time.

Trains the model for a few steps on random data of its input shape (a step's time does not
depend on the values), or on ``--data FILE`` (a .npy of inputs, or a .npz with arrays ``x``
and, optionally, ``y``), and prints ``tinynn.profile``'s table: one row per layer and pass, the
loss, the optimizer step and the batch gathering, with FLOPs, bytes, the roofline bound of
this machine and the training memory. The file is not changed.

A model saved after ``compile`` keeps its loss and optimizer; otherwise ``--loss`` and
``--optimizer`` choose them (by default SGD, and the loss that suits the output activation:
sparse categorical cross-entropy after softmax, binary cross-entropy after sigmoid, mean
squared error otherwise).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from tinynn.cli import arguments
from tinynn.cli.modelfile import open_model
from tinynn.kernels import BACKENDS
from tinynn.profiling.profiler import profile
from tinynn.profiling.random_data import random_data, suitable_loss
from tinynn.profiling.roofline import measure_roofline, thread_limit


def register(subparsers: Any) -> None:
    """Add the ``profile`` subcommand."""
    parser = subparsers.add_parser(
        "profile",
        help="time a saved model's training step layer by layer, against this machine's roofline",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="model file (.npz) to profile")
    parser.add_argument("--batch-size", type=arguments.positive_int, default=128)
    parser.add_argument(
        "--steps", type=arguments.positive_int, default=30, help="timed steps (default: 30)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default: 3)")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="kernel backend (default: the one the model was compiled with, else auto)",
    )
    parser.add_argument("--optimizer", help="optimizer name (default: as saved, else sgd)")
    parser.add_argument("--loss", help="loss name (default: as saved, else from the output)")
    parser.add_argument(
        "--data",
        metavar="FILE",
        help="inputs to train on: a .npy array, or a .npz with x (and y); default: random",
    )
    parser.add_argument(
        "--threads",
        type=arguments.positive_int,
        help="BLAS threads (default: what NumPy's BLAS uses now; needs threadpoolctl)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random data")
    parser.add_argument("--json", metavar="FILE", help="also write the profile as JSON")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load, compile if needed, profile and print. Returns the exit status."""
    if args.warmup < 0:
        raise ValueError(f"--warmup must be 0 or more, got {args.warmup}")
    model, _ = open_model(args.model)
    compile_for_profile(model, args)
    if args.data:
        x, y = read_data(args.data, model, args.seed)
    else:
        x, y = random_data(model, 8 * args.batch_size, seed=args.seed)
    with thread_limit(args.threads):
        roofline = measure_roofline(model.dtype)
        result = profile(
            model,
            x,
            y,
            batch_size=args.batch_size,
            steps=args.steps,
            warmup=args.warmup,
            roofline=roofline,
            seed=args.seed,
        )
    print(result.format(markdown=args.markdown))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result.to_dict(), handle, indent=2, default=float)
        print(f"wrote {args.json}")
    return 0


def read_data(path: str, model: Any, seed: int) -> tuple[Any, Any]:
    """(x, y) from a .npy (x) or .npz (x, and y if present) file; random targets for a file
    without y. Arrays only: nothing in the file is executed (``allow_pickle=False``)."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            arrays = {"x": loaded}
        else:
            with loaded:
                arrays = dict(loaded)
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read --data {path!r}: {error}") from None
    if "x" not in arrays:
        raise ValueError(f"--data {path!r} holds {sorted(arrays)}; expected an array named x")
    x = arrays["x"]
    shape = tuple(model.input_shape) if model.single_input else None
    if shape is not None and (x.ndim < 2 or tuple(x.shape[1:]) != shape):
        raise ValueError(
            f"--data {path!r}: x has shape {x.shape}; the model takes samples of shape {shape}, "
            f"so x should be (samples, {', '.join(str(d) for d in shape)})"
        )
    if "y" in arrays:
        return x, arrays["y"]
    _, y = random_data(model, len(x), seed)
    return x, y


def compile_for_profile(model: Any, args: argparse.Namespace) -> None:
    """Compile with the saved settings, overridden by --optimizer, --loss and --backend."""
    state = model.train_state
    if state is not None and not (args.optimizer or args.loss or args.backend):
        return
    saved = state.compile_arguments() if state is not None else {}
    model.compile(
        optimizer=args.optimizer or saved.get("optimizer", "sgd"),
        loss=args.loss or saved.get("loss") or suitable_loss(model),
        backend=args.backend or saved.get("backend", "auto"),
        loss_weights=saved.get("loss_weights"),
        metrics=saved.get("metrics"),
    )
