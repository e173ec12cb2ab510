"""One training epoch of a 784-256-256-10 ReLU MLP, tinynn against its peers and the floor.

Every contender trains on the same seeded synthetic data (60,000 × 784 float32, random labels)
with softmax cross-entropy, at each batch size:

    floor          the GEMM-only epoch of ``tinynn.bench.mlp.GemmFloor``: the yardstick
    floor+update   the floor plus an SGD update of its weights after every step
                   (``epochs.GemmFloorWithSgd``): what the one unavoidable optimizer pass costs
    tinynn-numpy   Sequential.fit on the NumPy backend, SGD and Adam
    tinynn-numba   the same on the Numba backend ("missing" when Numba does not import)
    torch          PyTorch CPU with the same thread count: SGD, Adam, Adam(fused=True)
    sklearn        MLPClassifier(max_iter=1): SGD and Adam

and we report the median epoch time, samples/s, GFLOP/s (the GEMM FLOPs of the step, so the
number is comparable across contenders), the ratio to the floor and the ratio to PyTorch (SGD
against torch SGD, Adam against torch's fused Adam), and check the performance issue's
targets. Contenders run round-robin, one epoch each per round, so that machine noise is shared.
Run ``python benchmarks/bench_train.py --quick`` for a smoke test.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from tinynn.bench import common, mlp, options, output

# isort: split
# This folder's helper modules: running a script puts its folder on sys.path.
import epochs
import peers
import targets

NAME = "train"
N_INPUTS, HIDDEN, N_CLASSES = 784, (256, 256), 10
FULL = {"batch_sizes": [32, 128, 512], "samples": 60_000, "repeats": 3}
QUICK = {"batch_sizes": [64], "samples": 1024, "repeats": 1}
#: (batch size, limit on tinynn SGD time / floor time), from the performance issue.
SGD_FLOOR_TARGETS = ((32, 1.30), (128, 1.10), (512, 1.10))
ADAM_FLOOR_TARGET = (128, 1.30)

COLUMNS = [
    ("batch_size", "batch", ""),
    ("system", "system", ""),
    ("optimizer", "optimizer", ""),
    ("epoch_s", "epoch s", ".3f"),
    ("iqr_s", "IQR s", ".3f"),
    ("samples_per_s", "samples/s", ",.0f"),
    ("gflops", "GFLOP/s", ".1f"),
    ("ratio_floor", "x floor", ".2f"),
    ("ratio_torch", "x torch", ".2f"),
]
CSV_KEYS = [key for key, _, _ in COLUMNS] + ["status", "final_loss", "times_s"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_common_arguments(parser)
    options.add_int_list_argument(
        parser, "--batch-sizes", "batch sizes, e.g. 32,128,512 (default: 32 128 512; --quick: 64)"
    )
    parser.add_argument(
        "--samples",
        type=options.positive_int,
        default=None,
        help="synthetic training samples (default: 60000; --quick: 1024)",
    )
    options.add_backends_argument(parser)
    peers.add_peers_argument(parser, "torch", "sklearn")
    parser.add_argument(
        "--optimizers",
        type=options.names("sgd", "adam"),
        default=["sgd", "adam"],
        help="optimizers for tinynn and the peers (default: sgd,adam)",
    )


def build_parser() -> argparse.ArgumentParser:
    return options.build_parser("bench_train.py", __doc__, add_arguments)


def contenders(args, backends, torch, sklearn_nn, x, y, sizes, batch_size):
    """(system, optimizer) -> a runner, or ``common.MISSING`` for what is not installed."""
    found: dict[tuple[str, str], Any] = {
        ("floor", "-"): mlp.GemmFloor(x, sizes, batch_size, args.seed)
    }
    if "sgd" in args.optimizers:
        available = [ops for ops in backends.values() if ops != common.MISSING]
        numba_ops = backends.get("numba", common.MISSING)
        fastest = numba_ops if numba_ops != common.MISSING else next(iter(available), None)
        found[("floor+update", "sgd")] = (
            common.MISSING
            if fastest is None
            else epochs.GemmFloorWithSgd(x, sizes, batch_size, args.seed, fastest)
        )
    for backend, ops in backends.items():
        for optimizer in args.optimizers:
            found[(f"tinynn-{backend}", optimizer)] = (
                common.MISSING
                if ops == common.MISSING
                else mlp.TinynnEpoch(x, y, sizes, batch_size, optimizer, backend, args.seed)
            )
    if "torch" in args.peers:
        variants = [
            v for v, (family, _) in peers.TORCH_OPTIMIZERS.items() if family in args.optimizers
        ]
        for variant in variants:
            found[("torch", variant)] = (
                common.MISSING
                if torch is None
                else peers.TorchEpoch(torch, x, y, sizes, batch_size, variant, args.seed)
            )
    if "sklearn" in args.peers:
        for solver in args.optimizers:
            found[("sklearn", solver)] = (
                common.MISSING
                if sklearn_nn is None
                else peers.SklearnEpoch(
                    sklearn_nn, x, y, sizes[1:-1], batch_size, solver, args.seed
                )
            )
    return found


def measure_batch_size(args, runners, batch_size, n_samples, flops_per_sample):
    """Time the contenders of one batch size round-robin; their rows, with the ratios to the
    floor and to PyTorch with the same optimizer (SGD to SGD, Adam to fused Adam)."""
    rows = epochs.time_epochs(
        runners, args.repeats, args.warmup, batch_size, n_samples, flops_per_sample
    )
    epoch = {(row["system"], row["optimizer"]): row.get("epoch_s") for row in rows}
    for row in rows:
        row["ratio_floor"] = common.ratio(row.get("epoch_s"), epoch.get(("floor", "-")))
        if row["system"] != "floor":
            baseline = ("torch", "sgd") if row["optimizer"] == "sgd" else ("torch", "adam-fused")
            row["ratio_torch"] = common.ratio(row.get("epoch_s"), epoch.get(baseline))
    return rows


def check_targets(rows: list[dict[str, Any]], backends: Sequence[str]) -> list[dict[str, Any]]:
    """The issue's targets, checked against this run's numbers for each tinynn backend."""
    index = {(row["system"], row["optimizer"], row["batch_size"]): row for row in rows}

    def measured(system: str, optimizer: str, batch_size: int, key: str) -> float | None:
        return index.get((system, optimizer, batch_size), {}).get(key)

    checks = []
    for backend in backends:
        system = f"tinynn-{backend}"
        for batch_size, limit in SGD_FLOOR_TARGETS:
            value = measured(system, "sgd", batch_size, "ratio_floor")
            checks.append(
                targets.check(f"{system} SGD / floor at batch {batch_size}", value, limit, "x")
            )
        for batch_size in sorted({row["batch_size"] for row in rows} | {32, 128, 512}):
            value = measured(system, "adam", batch_size, "ratio_torch")
            text = f"{system} Adam / torch fused Adam at batch {batch_size} (faster: < 1)"
            checks.append(targets.check(text, value, 1.0, "x"))
        batch_size, limit = ADAM_FLOOR_TARGET
        value = measured(system, "adam", batch_size, "ratio_floor")
        checks.append(
            targets.check(f"{system} Adam / floor at batch {batch_size}", value, limit, "x")
        )
    return checks


def run(args: argparse.Namespace) -> int:
    """Run the benchmark for parsed options; returns a process exit code."""
    batch_sizes = options.pick(
        options.flatten(args.batch_sizes), FULL["batch_sizes"], QUICK["batch_sizes"], args.quick
    )
    n_samples = options.pick(args.samples, FULL["samples"], QUICK["samples"], args.quick)
    args.repeats = options.pick(args.repeats, FULL["repeats"], QUICK["repeats"], args.quick)
    sizes = mlp.layer_sizes(N_INPUTS, HIDDEN, N_CLASSES)
    flops_per_sample = epochs.gemm_flops_per_sample(sizes)
    threads = args.threads or common.blas_threads()

    torch = common.import_optional("torch") if "torch" in args.peers else None
    sklearn_nn = (
        common.import_optional("sklearn.neural_network") if "sklearn" in args.peers else None
    )
    backends = common.tinynn_backends(args.backends)
    x, y = mlp.synthetic_data(n_samples, N_INPUTS, N_CLASSES, args.seed)

    payload = output.new_payload(
        NAME,
        getattr(args, "argv", None),
        {
            "architecture": sizes,
            "activation": "relu",
            "loss": "softmax cross-entropy (sparse labels)",
            "samples": n_samples,
            "batch_sizes": batch_sizes,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "threads": threads,
            "optimizers": args.optimizers,
            "learning_rates": mlp.LEARNING_RATES,
            "gemm_flops_per_sample": flops_per_sample,
            "quick": args.quick,
        },
    )
    rows = []
    with peers.same_threads(args.threads, torch, threads):
        for batch_size in batch_sizes:
            runners = contenders(args, backends, torch, sklearn_nn, x, y, sizes, batch_size)
            rows += measure_batch_size(args, runners, batch_size, n_samples, flops_per_sample)
        payload["machine"] = peers.machine_info(args.threads)

    payload["rows"] = rows
    payload["backends"] = common.backend_status(backends)
    loaded = {"torch": (torch, "torch"), "sklearn": (sklearn_nn, "scikit-learn")}
    payload["peers"] = peers.peer_versions(args.peers, loaded)
    payload["targets"] = check_targets(rows, args.backends)
    report(payload, args.out, args.markdown)
    return 0


def plot(rows: list[dict[str, Any]]):
    """Epoch seconds and ratio to the floor per contender, one group of bars per batch size."""
    figure = output.new_figure(ncols=2)
    if figure is None:
        return None
    measured = [row for row in rows if row["status"] == "ok"]
    labels = list(
        dict.fromkeys(f"{row['system']} {row['optimizer']}".rstrip(" -") for row in measured)
    )
    batch_sizes = sorted({row["batch_size"] for row in measured})
    width = 0.8 / max(len(labels), 1)
    time_axis, ratio_axis = figure.axes
    for i, label in enumerate(labels):
        positions, seconds, ratios = [], [], []
        for j, batch_size in enumerate(batch_sizes):
            for row in measured:
                name = f"{row['system']} {row['optimizer']}".rstrip(" -")
                if name == label and row["batch_size"] == batch_size:
                    positions.append(j + i * width)
                    seconds.append(row["epoch_s"])
                    ratios.append(row["ratio_floor"])
        time_axis.bar(positions, seconds, width, label=label)
        ratio_axis.bar(positions, ratios, width, label=label)
    for axis, title in ((time_axis, "epoch time (s), median"), (ratio_axis, "time / GEMM floor")):
        axis.set_xticks(
            [j + 0.4 - width / 2 for j in range(len(batch_sizes))], [str(b) for b in batch_sizes]
        )
        axis.set_xlabel("batch size")
        axis.set_title(title)
    ratio_axis.axhline(1.0, color="black", linewidth=0.8)
    time_axis.legend(fontsize="small")
    return figure


def report(payload: dict[str, Any], out_dir: str, markdown: bool = False) -> None:
    """Print the machine, the table and the targets; write JSON, CSV and PNG."""
    settings = payload["settings"]
    output.report(
        payload, out_dir, markdown, name=NAME, columns=COLUMNS, csv_keys=CSV_KEYS,
        figure=plot(payload["rows"]),
        title=f"== bench_train: {settings['architecture']} MLP, "
        f"{settings['samples']:,} samples, median of {settings['repeats']} after "
        f"{settings['warmup']} warmup ==",
        notes=targets.report_lines("targets (from the performance issue):", payload["targets"]),
        status_keys=("peers", "backends"),
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return options.run_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
