"""Every Numba kernel against its NumPy reference, on the same inputs.

Each row times one kernel of the Numba backend (``tinynn.kernels.numba_ops``) and its reference:
the class method the same layer runs on the NumPy backend (``numpy_references.NumpyReference``
wraps those methods in the twins' signatures; the optimizer updates and the gather are the NumPy
backend's own functions):

    dense_forward[act], dense_backward[act]   x (batch, width) · W (width, width), every activation
    sparse_softmax_ce, softmax_ce             logits (batch, 10), integer / one-hot targets
    gather_rows                               batch rows of a (rows, 784) source
    sgd, sgd_momentum, rmsprop, adam          one optimizer update of a parameter array

A call takes microseconds, so each repeat loops over enough calls to last ``min_time`` and we
quote the median time per call. The Numba columns say "missing" when that backend is absent.
(Dropout has no kernel of its own: its two NumPy lines live in the layer, on every backend.)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from tinynn import activations
from tinynn.bench import common, machine, options, output

# isort: split
# This folder's helper modules: running a script puts its folder on sys.path.
from numpy_references import NumpyReference

NAME = "kernels"
N_CLASSES = 10
FULL = {
    "batch_sizes": [32, 128, 512],
    "width": 256,
    "param_shapes": [(256, 256), (784, 256)],
    "gather": (8192, 784),
    "repeats": 3,
    "min_time": 0.05,
}
QUICK = {
    "batch_sizes": [16],
    "width": 32,
    "param_shapes": [(32, 32)],
    "gather": (256, 32),
    "repeats": 1,
    "min_time": 0.002,
}

COLUMNS = [
    ("kernel", "kernel", ""),
    ("shape", "shape", ""),
    ("numpy_us", "numpy us", ".2f", "numpy_status"),
    ("numba_us", "numba us", ".2f", "numba_status"),
    ("speedup", "numba speedup", ".2f"),
]
CSV_KEYS = ["kernel", "shape", "numpy_us", "numba_us", "speedup", "numpy_status", "numba_status"]


class Case(NamedTuple):
    """One table row: ``make(ops)`` returns a no-argument function calling the kernel of
    ``ops`` (the Numba backend, or the ``NumpyReference``) on this row's inputs."""

    kernel: str
    shape: str
    make: Callable[[Any], Callable[[], Any]]


def _random(rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


def dense_cases(rng: np.random.Generator, batch: int, width: int) -> list[Case]:
    """Forward and backward of a (width -> width) Dense layer, for every built-in activation
    (each side gets its own activation object: the reference caches y in it)."""
    x = _random(rng, (batch, width))
    W = _random(rng, (width, width)) / np.float32(np.sqrt(width))
    b = _random(rng, (width,))
    grad_y = _random(rng, (batch, width))
    shape = f"{batch}x{width}x{width}"
    cases = []
    for name in activations.ACTIVATIONS:
        y = NumpyReference.dense_forward(
            x, W, b, activations.get(name), np.empty((batch, width), np.float32)
        )

        def forward(ops, name=name, y=y):
            activation, out = activations.get(name), np.empty_like(y)
            return lambda: ops.dense_forward(x, W, b, activation, out)

        def backward(ops, name=name, y=y):
            activation = activations.get(name)
            grad_W, grad_b = np.empty_like(W), np.empty_like(b)
            grad_z, grad_x = np.empty_like(y), np.empty_like(x)
            return lambda: ops.dense_backward(
                x, W, y, grad_y, activation, grad_W, grad_b, grad_z, grad_x
            )

        cases += [
            Case(f"dense_forward[{name}]", shape, forward),
            Case(f"dense_backward[{name}]", shape, backward),
        ]
    return cases


def loss_and_gather_cases(
    rng: np.random.Generator, batch: int, gather: tuple[int, int]
) -> list[Case]:
    """Softmax cross-entropy from logits (sparse and one-hot labels), and the batch gather."""
    logits = _random(rng, (batch, N_CLASSES))
    labels = rng.integers(0, N_CLASSES, size=batch)
    one_hot = np.eye(N_CLASSES, dtype=np.float32)[labels]
    source = rng.random(gather, dtype=np.float32)
    indices = rng.integers(0, gather[0], size=batch)

    def sparse_ce(ops):
        grad = np.empty_like(logits)
        return lambda: ops.sparse_softmax_cross_entropy(logits, labels, grad)

    def dense_ce(ops):
        grad = np.empty_like(logits)
        return lambda: ops.softmax_cross_entropy(logits, one_hot, grad)

    def gather_rows(ops):
        out = np.empty((batch, gather[1]), np.float32)
        return lambda: ops.gather_rows(source, indices, out)

    return [
        Case("sparse_softmax_ce", f"{batch}x{N_CLASSES}", sparse_ce),
        Case("softmax_ce", f"{batch}x{N_CLASSES}", dense_ce),
        Case("gather_rows", f"{batch} of {gather[0]}x{gather[1]}", gather_rows),
    ]


def optimizer_cases(rng: np.random.Generator, shape: tuple[int, int]) -> list[Case]:
    """One update of a parameter of ``shape`` by each optimizer kernel (PyTorch defaults)."""
    grad = _random(rng, shape) * np.float32(1e-3)
    empty = np.empty(0, np.float32)

    def state():
        # Every backend gets its own copies: the updates write in place.
        return _random(rng, shape), np.zeros(shape, np.float32), np.zeros(shape, np.float32)

    def sgd(ops):
        param, _, _ = state()
        update = ops.optim.sgd_update  # looked up once, not inside the timed call
        return lambda: update(param, grad, empty, 0.01, 0.0, 0.0, False, 0.0, False)

    def sgd_momentum(ops):
        param, buffer, _ = state()
        update = ops.optim.sgd_update
        return lambda: update(param, grad, buffer, 0.01, 0.9, 0.0, False, 0.0, False)

    def rmsprop(ops):
        param, square_avg, _ = state()
        update = ops.optim.rmsprop_update
        return lambda: update(
            param, grad, square_avg, empty, empty, 0.001, 0.9, 1e-7, 0.0, 0.0, False
        )

    def adam(ops):
        param, exp_avg, exp_avg_sq = state()
        update = ops.optim.adam_update
        return lambda: update(
            param, grad, exp_avg, exp_avg_sq, empty, 0.001, 0.9, 0.999, 1e-7, 0.0, False, 10, False
        )

    label = f"{shape[0]}x{shape[1]}"
    return [
        Case(name, label, fn)
        for name, fn in [
            ("sgd_update", sgd),
            ("sgd_update[momentum]", sgd_momentum),
            ("rmsprop_update", rmsprop),
            ("adam_update", adam),
        ]
    ]


def all_cases(settings: dict[str, Any], seed: int) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for batch in settings["batch_sizes"]:
        cases += dense_cases(rng, batch, settings["width"])
        cases += loss_and_gather_cases(rng, batch, settings["gather"])
    for shape in settings["param_shapes"]:
        cases += optimizer_cases(rng, shape)
    return cases


def measure(case: Case, backends: dict[str, Any], settings: dict[str, Any], warmup: int) -> dict:
    """One table row: microseconds per call on each side, and numpy time / numba time."""
    row: dict[str, Any] = {"kernel": case.kernel, "shape": case.shape, "status": "ok"}
    for name, ops in backends.items():
        if ops == common.MISSING:
            row[f"{name}_status"] = common.MISSING
            continue
        try:
            call = case.make(ops)
            times = common.time_per_call(
                call, settings["repeats"], max(warmup, 1), settings["min_time"]
            )
        except Exception as error:  # a kernel the backend lacks or rejects: report, go on
            row[f"{name}_status"] = "error"
            row[f"{name}_error"] = f"{type(error).__name__}: {error}"
            continue
        stats = common.summarize(times)
        row[f"{name}_status"] = "ok"
        row[f"{name}_us"] = stats["median"] * 1e6
        row[f"{name}_iqr_us"] = stats["iqr"] * 1e6
    row["speedup"] = common.ratio(row.get("numpy_us"), row.get("numba_us"))
    return row


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_common_arguments(parser)
    options.add_int_list_argument(
        parser, "--batch-sizes", "batch sizes (default: 32 128 512; --quick: 16)"
    )
    parser.add_argument(
        "--width", type=options.positive_int, default=None, help="layer width (default: 256)"
    )
    options.add_min_time_argument(parser, FULL["min_time"])


def build_parser() -> argparse.ArgumentParser:
    return options.build_parser("bench_kernels.py", __doc__, add_arguments)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark for parsed options; returns a process exit code."""
    defaults = QUICK if args.quick else FULL
    settings = dict(defaults)
    settings["batch_sizes"] = options.flatten(args.batch_sizes) or defaults["batch_sizes"]
    settings["width"] = args.width or defaults["width"]
    settings["min_time"] = args.min_time or defaults["min_time"]
    settings["repeats"] = args.repeats or defaults["repeats"]
    settings["warmup"] = args.warmup
    # The reference is always there; the twins need Numba ("missing" without it).
    backends = {"numpy": NumpyReference(), **common.tinynn_backends(["numba"])}
    payload = output.new_payload(NAME, getattr(args, "argv", None), settings)
    with common.limit_threads(args.threads):
        cases = all_cases(settings, args.seed)
        payload["rows"] = [measure(case, backends, settings, args.warmup) for case in cases]
        payload["machine"] = machine.machine_info(args.threads)
    payload["backends"] = common.backend_status(backends)
    report(payload, args.out, args.markdown)
    return 0


def plot(rows: list[dict[str, Any]]):
    """Time per call of each kernel on each backend, at the largest batch size measured."""
    figure = output.new_figure(size=(8.0, 0.22 * len(rows) + 1.5))
    if figure is None:
        return None
    axis = figure.axes[0]
    labels = [f"{row['kernel']} {row['shape']}" for row in rows]
    positions = np.arange(len(rows))
    for offset, backend in ((-0.2, "numpy"), (0.2, "numba")):
        values = [row.get(f"{backend}_us") or 0.0 for row in rows]
        axis.barh(positions + offset, values, 0.4, label=backend)
    axis.set_yticks(positions, labels, fontsize="x-small")
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.set_xlabel("microseconds per call (median; log scale)")
    axis.legend()
    return figure


def report(payload: dict[str, Any], out_dir: str, markdown: bool = False) -> None:
    settings = payload["settings"]
    output.report(
        payload, out_dir, markdown, name=NAME, columns=COLUMNS, csv_keys=CSV_KEYS,
        figure=plot(payload["rows"]),
        title=f"== bench_kernels: median us per call of {settings['repeats']} repeats ==",
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return options.run_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
