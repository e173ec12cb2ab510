"""``tinynn bench depth``: what depth and width cost, and what they buy.

For each model family (``--families``; see ``tinynn.bench.families``) two sweeps:

    depth   the depths (--depths) at a fixed width (--sweep-width)
    width   the widths (--widths) at 2 layers or blocks (--sweep-depth)

    mlp     hidden Dense layers of ReLU units on 784 inputs: depths 1, 2, 3, 4, 8 at width
            256; widths 64 to 2048
    conv    Conv2D(3×3) + MaxPooling2D blocks on 28×28×1 images: 1, 2, 3 blocks of 16
            channels; 8 to 64 channels
    custom  your own family, ``--model module:function`` (a function of depth and width that
            returns a tinynn model)

For each architecture and backend we measure the median epoch time of ``fit`` on synthetic
data, and (MLP) of the GEMM floor of the same architecture, with their ratio; the parameters
and forward FLOPs per sample (``layer.flops()``, as ``model.summary()`` shows); the epoch time
the roofline of this machine predicts (``tinynn.profile``'s per-layer FLOPs and bytes against
its peak and bandwidth, times the steps of an epoch) and the ratio to it; and the
memory training uses (``tinynn.profiling.training_memory``: parameters, gradients, optimizer
state, activations kept for backward and workspace, counted from the arrays of a step). Each
point's full profile is in the JSON. The roofline is measured before the first point and
after each one, and the best peak and bandwidth of the run bound every point (a busy spell
only lowers them; each profile in the JSON keeps the roofline known when it ran). Then the
built-in families train on the bundled digits (Adam, batch 32, a fixed number of epochs,
seed 0) for a test accuracy: the other side of the trade. Below the table, the marginal cost
of one more layer, between consecutive depths.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinynn.bench import common, depth_report, families, machine, mlp, options, output

NAME = "depth"
FULL = {"repeats": 3, "epochs": 20, "profile_steps": 20}
QUICK = {"repeats": 1, "epochs": 1, "profile_steps": 3}
#: The roofline measurement: full size, and small enough for --quick.
ROOFLINE = {"gemm_n": 1024, "copy_mib": 64, "repeats": 7}
QUICK_ROOFLINE = {"gemm_n": 256, "copy_mib": 8, "repeats": 3}

COLUMNS = [
    ("family", "family", ""),
    ("sweep", "sweep", ""),
    ("depth", "depth", ""),
    ("width", "width", ""),
    ("system", "system", ""),
    ("epoch_s", "epoch s", ".3f"),
    ("ratio_floor", "x floor", ".2f"),
    ("roofline_s", "roofline s", ".3f"),
    ("ratio_roofline", "x roofline", ".2f"),
    ("params", "params", ","),
    ("flops_per_sample", "FLOPs/sample", ","),
    ("train_mb", "train MB", ".2f"),
    ("test_accuracy", "digits acc", ".3f"),
]
CSV_KEYS = [key for key, _, _ in COLUMNS] + ["status", "iqr_s", "times_s", "accuracy_backend"]


def architectures(settings: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    """(family, sweep, depth, width) for every point, in the order they are measured."""
    points = []
    for name in settings["families"]:
        sweep = settings["sweeps"][name]
        points += [(name, "depth", d, sweep["sweep_width"]) for d in sweep["depths"]]
        points += [(name, "width", sweep["sweep_depth"], w) for w in sweep["widths"]]
    return points


def digits_accuracy(family, depth: int, width: int, backend: str, epochs: int, seed: int):
    """Test accuracy on the bundled digits after ``epochs`` epochs of Adam, batch 32."""
    from tinynn import datasets

    x, y = datasets.load_digits()
    x = x.reshape(len(x), *family.digits_shape)
    x_train, x_test, y_train, y_test = datasets.train_test_split(
        x, y, test_size=0.2, stratify=y, seed=0
    )
    model = family.digits(depth, width, backend, seed)
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=0)
    return float(np.mean(model.predict(x_test).argmax(axis=1) == y_test))


def measure_architecture(args, settings, backends, roofline, family, depth, width, data):
    """Rows (floor first, for the MLP, then each tinynn backend) for one architecture.
    ``data``: synthetic (x, y) by (family, input shape), made once and reused."""
    from tinynn.profiling import profile

    batch, seed = settings["batch_size"], args.seed
    counter = family.build(depth, width, "sgd", "numpy", seed)
    samples = settings["sweeps"][family.name]["samples"]
    key = (family.name, str(counter.input_shape))
    if key not in data:
        data.clear()  # keep one data set in memory at a time
        data[key] = family.data(counter, samples, seed)
    x, y = data[key]
    shared = {
        "family": family.name,
        "depth": depth,
        "width": width,
        "params": counter.count_params(),
        "flops_per_sample": sum(layer.flops() for layer in counter.layers),
        "samples": len(x),
    }
    runners: dict[str, Any] = {}
    if family.floor_sizes is not None:
        runners["floor"] = mlp.GemmFloor(x, family.floor_sizes(depth, width), batch, seed)
    for name, ops in backends.items():
        if ops == common.MISSING:
            runners[f"tinynn-{name}"] = common.MISSING
        else:
            model = family.build(depth, width, settings["optimizer"], name, seed)
            runners[f"tinynn-{name}"] = mlp.ModelEpoch(model, x, y, batch)
    live = {name: run for name, run in runners.items() if run != common.MISSING}
    times, errors = common.interleave(live, settings["repeats"], args.warmup)
    available = [name for name, ops in backends.items() if ops != common.MISSING]
    accuracy = None
    if family.digits is not None and available:
        accuracy = digits_accuracy(family, depth, width, available[0], settings["epochs"], seed)
    rows = []
    for system, run in runners.items():
        row: dict[str, Any] = {**shared, "system": system}
        if run == common.MISSING or system in errors:
            row["status"] = common.MISSING if run == common.MISSING else "error"
            rows.append(row)
            continue
        stats = common.summarize(times[system])
        row.update(status="ok", epoch_s=stats["median"], iqr_s=stats["iqr"], times_s=times[system])
        if system != "floor":
            steps = settings["profile_steps"]
            found = profile(run.model, x, y, batch, steps=steps, warmup=1, roofline=roofline)
            row["train_mb"] = found.memory.total / 1e6
            row["memory"] = found.memory.to_dict()
            row["profile"] = found.to_dict()
            if accuracy is not None:
                row.update(test_accuracy=accuracy, accuracy_backend=available[0])
        rows.append(row)
    floor = rows[0].get("epoch_s") if family.floor_sizes is not None else None
    for row in rows:
        row["ratio_floor"] = common.ratio(row.get("epoch_s"), floor)
    return rows


def predict_epoch(row: dict[str, Any], roofline) -> None:
    """The epoch time ``roofline`` allows a tinynn row: its profiled step's sum, over layers
    and passes, of max(FLOPs / peak, bytes / bandwidth), times the steps of an epoch."""
    found = row.get("profile")
    if found is None:
        return
    step = sum(roofline.seconds(r["flops"], r["bytes"]) for r in found["rows"] if "flops" in r)
    row["roofline_s"] = row["samples"] / found["batch_size"] * step
    row["ratio_roofline"] = common.ratio(row.get("epoch_s"), row["roofline_s"])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_common_arguments(parser)
    parser.add_argument(
        "--families",
        type=options.names("mlp", "conv", "custom"),
        default=None,
        help="families to sweep (default: mlp,conv; custom alone when --model is given)",
    )
    parser.add_argument(
        "--model",
        metavar="MODULE:FUNCTION",
        default=None,
        help="your own family: FUNCTION(depth, width) in MODULE returns a tinynn model",
    )
    options.add_int_list_argument(parser, "--depths", "depths (layers or blocks) to sweep")
    options.add_int_list_argument(parser, "--widths", "widths (units or channels) to sweep")
    parser.add_argument(
        "--sweep-width",
        type=options.positive_int,
        default=None,
        help="width while depth varies (mlp 256, conv 16, custom 64)",
    )
    parser.add_argument(
        "--sweep-depth",
        type=options.positive_int,
        default=families.SWEEP_DEPTH,
        help="depth while width varies (default: %(default)s)",
    )
    parser.add_argument(
        "--samples", type=options.positive_int, default=None,
        help="synthetic samples per epoch (mlp 60000, conv and custom 8192)",
    )  # fmt: skip
    parser.add_argument("--batch-size", type=options.positive_int, default=128)
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument(
        "--epochs", type=options.positive_int, default=None, help="digits training epochs (20)"
    )
    options.add_backends_argument(parser)


def build_parser(prog: str = "tinynn bench depth") -> argparse.ArgumentParser:
    return options.build_parser(prog, __doc__, add_arguments)


def family_list(args: argparse.Namespace) -> list[families.Family]:
    """The families to sweep: ``--families``, by default mlp and conv, or custom alone when
    ``--model`` is given."""
    names = args.families or (["custom"] if args.model else ["mlp", "conv"])
    if "custom" in names and not args.model:
        raise ValueError("--families custom needs --model module:function")
    chosen = []
    for name in names:
        chosen.append(
            families.custom_family(args.model) if name == "custom" else families.BUILT_IN[name]
        )
    return chosen


def settings_for(args: argparse.Namespace, chosen: Sequence[families.Family]) -> dict[str, Any]:
    """The sweep and training settings: an explicit option wins, else FULL or QUICK."""
    defaults = QUICK if args.quick else FULL
    sweeps = {}
    for family in chosen:
        own = family.quick if args.quick else family.full
        sweeps[family.name] = {
            "depths": options.flatten(args.depths) or own["depths"],
            "widths": options.flatten(args.widths) or own["widths"],
            "sweep_width": args.sweep_width or own["sweep_width"],
            "sweep_depth": args.sweep_depth,
            "samples": args.samples or own["samples"],
        }
    return {
        "families": [family.name for family in chosen],
        "model": args.model,
        "sweeps": sweeps,
        "repeats": args.repeats or defaults["repeats"],
        "epochs": args.epochs or defaults["epochs"],
        "profile_steps": defaults["profile_steps"],
        "warmup": args.warmup,
        "batch_size": args.batch_size,
        "optimizer": args.optimizer,
        "digits": "Adam lr 0.001, batch 32, stratified 80/20 split seed 0",
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run every family's sweeps for parsed options; the payload ``report`` prints and writes."""
    from tinynn.profiling import Roofline, measure_roofline

    chosen = family_list(args)
    settings = settings_for(args, chosen)
    backends = common.tinynn_backends(args.backends)
    payload = output.new_payload(NAME, getattr(args, "argv", None), settings)
    measured: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    data: dict[tuple[str, str], Any] = {}
    by_name = {family.name: family for family in chosen}
    rows = []
    sizes = QUICK_ROOFLINE if args.quick else ROOFLINE
    with common.limit_threads(args.threads):
        rooflines = [measure_roofline(**sizes)]
        for name, sweep, depth, width in architectures(settings):
            if (name, depth, width) not in measured:  # a point can be in both sweeps
                roofline = Roofline.best(rooflines)
                measured[(name, depth, width)] = measure_architecture(
                    args, settings, backends, roofline, by_name[name], depth, width, data
                )
                if not args.quick:  # the machine's best, over the whole run
                    rooflines.append(measure_roofline(**sizes))
            rows += [{"sweep": sweep, **row} for row in measured[(name, depth, width)]]
        payload["machine"] = machine.machine_info(args.threads)
    roofline = Roofline.best(rooflines)
    for row in rows:
        predict_epoch(row, roofline)
    payload["roofline"] = roofline.to_dict()
    payload["rows"] = rows
    payload["marginal"] = depth_report.marginal_costs(rows)
    payload["backends"] = common.backend_status(backends)
    payload["labels"] = {f.name: [f.depth_label, f.width_label] for f in chosen}
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


#: The report: the table, the marginal costs, the plot (``tinynn.bench.depth_report``).
report = depth_report.report


def main(argv: Sequence[str] | None = None) -> int:
    return options.run_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
