"""``tinynn bench depth``: what depth and width cost, and what they buy.

Two sweeps of ReLU MLPs with a softmax output:

    depth   1, 2, 3, 4 and 8 hidden layers of width 256
    width   64, 128, 256, 512, 1024 and 2048 units, 2 hidden layers

For each architecture we measure, on the 784-input synthetic data, the median epoch time of
tinynn (per backend) and of the GEMM floor of the *same* architecture, their ratio, the
parameters and forward FLOPs per sample (``layer.flops()``, as ``model.summary()`` shows), and
the peak memory allocated during one epoch (tracemalloc: NumPy's arrays are traced, the BLAS
library's internal buffers are not). Then the same hidden layers on the bundled digits
(64 inputs) give a test accuracy after a fixed number of epochs, seed 0, stratified split
seed 0: the other side of the trade.
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinynn.bench import common, machine, mlp, options, output

NAME = "depth"
N_INPUTS, N_CLASSES = 784, 10
DEPTH_SWEEP_WIDTH, WIDTH_SWEEP_DEPTH = 256, 2
FULL = {
    "depths": [1, 2, 3, 4, 8],
    "widths": [64, 128, 256, 512, 1024, 2048],
    "samples": 60_000,
    "repeats": 3,
    "epochs": 20,
}
QUICK = {"depths": [1, 2], "widths": [64, 128], "samples": 512, "repeats": 1, "epochs": 1}

COLUMNS = [
    ("sweep", "sweep", ""),
    ("depth", "depth", ""),
    ("width", "width", ""),
    ("system", "system", ""),
    ("epoch_s", "epoch s", ".3f"),
    ("ratio_floor", "x floor", ".2f"),
    ("params", "params", ","),
    ("flops_per_sample", "FLOPs/sample", ","),
    ("peak_mb", "peak MB", ".1f"),
    ("test_accuracy", "digits acc", ".3f"),
]
CSV_KEYS = [key for key, _, _ in COLUMNS] + ["status", "iqr_s", "times_s", "accuracy_backend"]


def architectures(depths: Sequence[int], widths: Sequence[int]) -> list[tuple[str, int, int]]:
    """(sweep, depth, width) for both sweeps, in the order they are measured."""
    return [("depth", d, DEPTH_SWEEP_WIDTH) for d in depths] + [
        ("width", WIDTH_SWEEP_DEPTH, w) for w in widths
    ]


def peak_memory_mb(run) -> float:
    """Peak MB that ``run()`` allocates on top of what exists already, by tracemalloc."""
    tracemalloc.start()
    try:
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def digits_accuracy(hidden: Sequence[int], backend: str, epochs: int, seed: int) -> float:
    """Test accuracy on the bundled digits after ``epochs`` epochs of Adam, batch 32."""
    from tinynn import datasets

    x, y = datasets.load_digits()
    x_train, x_test, y_train, y_test = datasets.train_test_split(
        x, y, test_size=0.2, stratify=y, seed=0
    )
    model = mlp.build_model(mlp.layer_sizes(x.shape[1], hidden, N_CLASSES), "adam", backend, seed)
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=0)
    return float(np.mean(model.predict(x_test).argmax(axis=1) == y_test))


def measure_architecture(args, settings, backends, x, y, depth, width) -> list[dict[str, Any]]:
    """Rows (floor first, then each tinynn backend) for one architecture."""
    hidden = [width] * depth
    sizes = mlp.layer_sizes(N_INPUTS, hidden, N_CLASSES)
    counter = mlp.build_model(sizes, "sgd", "numpy", args.seed)
    shared = {
        "depth": depth,
        "width": width,
        "params": counter.count_params(),
        "flops_per_sample": sum(layer.flops() for layer in counter.layers),
    }
    runners: dict[str, Any] = {"floor": mlp.GemmFloor(x, sizes, settings["batch_size"], args.seed)}
    for name, ops in backends.items():
        runners[f"tinynn-{name}"] = (
            common.MISSING
            if ops == common.MISSING
            else mlp.TinynnEpoch(
                x, y, sizes, settings["batch_size"], settings["optimizer"], name, args.seed
            )
        )
    live = {name: run for name, run in runners.items() if run != common.MISSING}
    times, errors = common.interleave(live, settings["repeats"], args.warmup)
    available = [name for name, ops in backends.items() if ops != common.MISSING]
    accuracy = (
        digits_accuracy(hidden, available[0], settings["epochs"], args.seed) if available else None
    )
    rows = []
    for system, run in runners.items():
        row = {**shared, "system": system}
        if run == common.MISSING or system in errors:
            row["status"] = common.MISSING if run == common.MISSING else "error"
        else:
            stats = common.summarize(times[system])
            row.update(status="ok", epoch_s=stats["median"], iqr_s=stats["iqr"])
            row.update(times_s=times[system], peak_mb=peak_memory_mb(run))
        if system != "floor" and accuracy is not None:
            row.update(test_accuracy=accuracy, accuracy_backend=available[0])
        rows.append(row)
    for row in rows:
        row["ratio_floor"] = common.ratio(row.get("epoch_s"), rows[0].get("epoch_s"))
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_common_arguments(parser)
    options.add_int_list_argument(
        parser, "--depths", "hidden-layer counts at width 256 (1 2 3 4 8)"
    )
    options.add_int_list_argument(
        parser, "--widths", "widths at 2 hidden layers (64 128 256 512 1024 2048)"
    )
    parser.add_argument(
        "--samples", type=options.positive_int, default=None, help="synthetic samples (60000)"
    )
    parser.add_argument("--batch-size", type=options.positive_int, default=128)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument(
        "--epochs", type=options.positive_int, default=None, help="digits training epochs (20)"
    )
    options.add_backends_argument(parser)


def build_parser(prog: str = "tinynn bench depth") -> argparse.ArgumentParser:
    return options.build_parser(prog, __doc__, add_arguments)


def settings_for(args: argparse.Namespace) -> dict[str, Any]:
    """The sweep and training settings: an explicit option wins, else FULL or QUICK."""
    defaults = QUICK if args.quick else FULL
    return {
        "depths": options.flatten(args.depths) or defaults["depths"],
        "widths": options.flatten(args.widths) or defaults["widths"],
        "samples": args.samples or defaults["samples"],
        "repeats": args.repeats or defaults["repeats"],
        "epochs": args.epochs or defaults["epochs"],
        "warmup": args.warmup,
        "batch_size": args.batch_size,
        "optimizer": args.optimizer,
        "digits": "Adam lr 0.001, batch 32, stratified 80/20 split seed 0",
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run both sweeps for parsed options; the payload ``report`` prints and writes."""
    settings = settings_for(args)
    backends = common.tinynn_backends(args.backends)
    x, y = mlp.synthetic_data(settings["samples"], N_INPUTS, N_CLASSES, args.seed)
    payload = output.new_payload(NAME, getattr(args, "argv", None), settings)
    payload["notes"].append(
        "peak_mb: tracemalloc peak during one epoch; BLAS internal buffers are not traced"
    )
    measured: dict[tuple[int, int], list[dict[str, Any]]] = {}
    rows = []
    with common.limit_threads(args.threads):
        for sweep, depth, width in architectures(settings["depths"], settings["widths"]):
            if (depth, width) not in measured:  # depth 2 × 256 is in both sweeps
                measured[(depth, width)] = measure_architecture(
                    args, settings, backends, x, y, depth, width
                )
            rows += [{"sweep": sweep, **row} for row in measured[(depth, width)]]
        payload["machine"] = machine.machine_info(args.threads)
    payload["rows"] = rows
    payload["backends"] = common.backend_status(backends)
    return payload


def run(args: argparse.Namespace) -> int:
    """Measure, print and write the results; returns a process exit code.

    ``measure`` (settings, data, then ``measure_architecture`` for each point of the sweeps)
    returns the payload that ``report`` prints and writes. A caller that adds to the results,
    as the source checkout's ``benchmarks/bench_depth.py`` adds the project's target check,
    calls the two itself.
    """
    report(measure(args), args.out, args.markdown)
    return 0


def plot(rows: list[dict[str, Any]]):
    """Epoch time and test accuracy against depth (top) and against width (bottom)."""
    figure = output.new_figure(ncols=2, nrows=2, size=(6.0, 4.0))
    if figure is None:
        return None
    axes = figure.axes
    for row_index, sweep in enumerate(("depth", "width")):
        time_axis, accuracy_axis = axes[2 * row_index], axes[2 * row_index + 1]
        sweep_rows = [row for row in rows if row["sweep"] == sweep and row["status"] == "ok"]
        for system in dict.fromkeys(row["system"] for row in sweep_rows):
            points = [(row[sweep], row["epoch_s"]) for row in sweep_rows if row["system"] == system]
            time_axis.plot(*zip(*points, strict=True), marker="o", label=system)
        accuracy = sorted(
            {(row[sweep], row["test_accuracy"]) for row in sweep_rows if "test_accuracy" in row}
        )
        if accuracy:
            accuracy_axis.plot(*zip(*accuracy, strict=True), marker="o")
        ticks = sorted({row[sweep] for row in sweep_rows})
        for axis in (time_axis, accuracy_axis):
            axis.set_xlabel("hidden layers (width 256)" if sweep == "depth" else "width (depth 2)")
            if sweep == "width":
                axis.set_xscale("log", base=2)
            axis.set_xticks(ticks, [str(tick) for tick in ticks])
        time_axis.set_ylabel("epoch time (s), median")
        accuracy_axis.set_ylabel("digits test accuracy")
        time_axis.legend(fontsize="small")
    return figure


def report(
    payload: dict[str, Any], out_dir: str, markdown: bool = False, extra_notes: Sequence[str] = ()
) -> None:
    """Print the machine, the table and the notes (``extra_notes`` last); write JSON, CSV, PNG."""
    settings = payload["settings"]
    output.report(
        payload, out_dir, markdown, name=NAME, columns=COLUMNS, csv_keys=CSV_KEYS,
        figure=plot(payload["rows"]),
        title=f"== tinynn bench depth: {settings['samples']:,} samples, batch "
        f"{settings['batch_size']}, {settings['optimizer']}, median of {settings['repeats']} ==",
        notes=[
            "peak MB: tracemalloc peak during one epoch (BLAS internal buffers are not traced)",
            f"digits acc: {settings['epochs']} epochs, {settings['digits']}",
            *extra_notes,
        ],
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return options.run_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
