"""Inference latency of a 784-256-256-10 MLP, tinynn against PyTorch.

We time ``model.predict(x)`` for one sample and for 1,000 samples on each tinynn backend
(for 1,000 samples also with ``batch_size=1000``, one forward pass instead of the default
batches of 32), and the same network in PyTorch, ``model(x)`` under ``torch.inference_mode()``
with NumPy in and out. Every call is timed on its own, so the median is a latency, not an
average; the contenders take turns, one round each per repeat.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinynn.bench import common, mlp, options, output

# isort: split
# This folder's helper modules: running a script puts its folder on sys.path.
import peers
import targets

NAME = "predict"
SIZES = [784, 256, 256, 10]
#: One-sample latency limits in microseconds, from the performance issue.
LATENCY_TARGETS = {"numba": 12.0, "numpy": 20.0}
FULL = {"samples": [1, 1000], "repeats": 3, "min_time": 0.25}
QUICK = {"samples": [1, 100], "repeats": 1, "min_time": 0.01}

COLUMNS = [
    ("samples", "samples", ""),
    ("system", "system", ""),
    ("call", "call", ""),
    ("median_us", "median us", ",.1f"),
    ("iqr_us", "IQR us", ",.1f"),
    ("us_per_sample", "us/sample", ",.2f"),
    ("ratio_torch", "x torch", ".2f"),
]
CSV_KEYS = [key for key, _, _ in COLUMNS] + ["status", "calls"]


def contenders(args, backends, torch, n_samples) -> dict[tuple[str, str], Any]:
    """(system, call text) -> a no-argument function, or ``common.MISSING``."""
    x = mlp.synthetic_data(n_samples, SIZES[0], SIZES[-1], args.seed)[0]
    found: dict[tuple[str, str], Any] = {}
    for name, ops in backends.items():
        model = None if ops == common.MISSING else mlp.build_model(SIZES, "sgd", name, args.seed)
        calls = ["predict(x)"] + ([f"predict(x, batch_size={n_samples})"] if n_samples > 1 else [])
        for call in calls:
            if model is None:
                found[(f"tinynn-{name}", call)] = common.MISSING
            elif call == "predict(x)":
                found[(f"tinynn-{name}", call)] = lambda model=model: model.predict(x)
            else:
                found[(f"tinynn-{name}", call)] = lambda model=model: model.predict(
                    x, batch_size=n_samples
                )
    if "torch" in args.peers:
        found[("torch", "model(x), inference_mode")] = (
            common.MISSING if torch is None else torch_predict(torch, x, args.seed)
        )
    return found


def torch_predict(torch, x: np.ndarray, seed: int) -> Callable[[], np.ndarray]:
    """NumPy in, probabilities out as NumPy, as ``model.predict`` does."""
    model = peers.torch_mlp(torch, SIZES, softmax=True, seed=seed).eval()

    def call() -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(x)).numpy()

    return call


def measure(args, settings, runners, n_samples) -> list[dict[str, Any]]:
    """Round-robin latency rounds over the contenders of one sample count."""
    live = {key: fn for key, fn in runners.items() if fn != common.MISSING}
    for fn in live.values():
        for _ in range(max(args.warmup, 1)):  # the first call also compiles Numba kernels
            fn()
    times: dict[tuple[str, str], list[float]] = {key: [] for key in live}
    for _ in range(settings["repeats"]):
        for key, fn in live.items():
            times[key] += common.time_each_call(fn, 1, 0, settings["min_time"])
    rows = []
    for (system, call), fn in runners.items():
        row: dict[str, Any] = {"samples": n_samples, "system": system, "call": call}
        if fn == common.MISSING:
            row["status"] = common.MISSING
        else:
            stats = common.summarize(times[(system, call)])
            row.update(
                status="ok",
                median_us=stats["median"] * 1e6,
                iqr_us=stats["iqr"] * 1e6,
                us_per_sample=stats["median"] * 1e6 / n_samples,
                calls=stats["n"],
            )
        rows.append(row)
    torch_us = next((row.get("median_us") for row in rows if row["system"] == "torch"), None)
    for row in rows:
        row["ratio_torch"] = common.ratio(row.get("median_us"), torch_us)
    return rows


def check_targets(rows: list[dict[str, Any]], backends: Sequence[str]) -> list[dict[str, Any]]:
    """One-sample predict latency against ``LATENCY_TARGETS``, for each tinynn backend."""
    checks = []
    for backend in backends:
        if backend not in LATENCY_TARGETS:
            continue
        measured = next(
            (
                row.get("median_us")
                for row in rows
                if row["samples"] == 1 and row["system"] == f"tinynn-{backend}"
            ),
            None,
        )
        checks.append(
            targets.check(
                f"tinynn-{backend} one-sample predict", measured, LATENCY_TARGETS[backend], " us"
            )
        )
    return checks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_common_arguments(parser)
    options.add_int_list_argument(
        parser, "--samples", "samples per predict call (default: 1 1000; --quick: 1 100)"
    )
    options.add_min_time_argument(parser, FULL["min_time"])
    options.add_backends_argument(parser)
    peers.add_peers_argument(parser, "torch")


def build_parser() -> argparse.ArgumentParser:
    return options.build_parser("bench_predict.py", __doc__, add_arguments)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark for parsed options; returns a process exit code."""
    defaults = QUICK if args.quick else FULL
    settings = {
        "architecture": SIZES,
        "samples": options.flatten(args.samples) or defaults["samples"],
        "repeats": args.repeats or defaults["repeats"],
        "min_time": args.min_time or defaults["min_time"],
        "warmup": args.warmup,
    }
    torch = common.import_optional("torch") if "torch" in args.peers else None
    backends = common.tinynn_backends(args.backends)
    threads = args.threads or common.blas_threads()
    settings["threads"] = threads
    payload = output.new_payload(NAME, getattr(args, "argv", None), settings)
    rows = []
    with peers.same_threads(args.threads, torch, threads):
        for n_samples in settings["samples"]:
            rows += measure(args, settings, contenders(args, backends, torch, n_samples), n_samples)
        payload["machine"] = peers.machine_info(args.threads)
    payload["rows"] = rows
    payload["backends"] = common.backend_status(backends)
    payload["peers"] = peers.peer_versions(args.peers, {"torch": (torch, "torch")})
    payload["targets"] = check_targets(rows, args.backends)
    report(payload, args.out, args.markdown)
    return 0


def plot(rows: list[dict[str, Any]]):
    """Median latency per contender, one panel per sample count."""
    counts = sorted({row["samples"] for row in rows})
    figure = output.new_figure(ncols=len(counts), size=(5.5, 4.0))
    if figure is None:
        return None
    for axis, count in zip(figure.axes, counts, strict=True):
        measured = [row for row in rows if row["samples"] == count and row["status"] == "ok"]
        labels = [f"{row['system']}\n{row['call']}" for row in measured]
        axis.barh(range(len(measured)), [row["median_us"] for row in measured])
        axis.set_yticks(range(len(measured)), labels, fontsize="x-small")
        axis.invert_yaxis()
        axis.set_xlabel("median latency (us)")
        axis.set_title(f"{count} sample{'s' if count > 1 else ''} per call")
    return figure


def report(payload: dict[str, Any], out_dir: str, markdown: bool = False) -> None:
    settings = payload["settings"]
    output.report(
        payload, out_dir, markdown, name=NAME, columns=COLUMNS, csv_keys=CSV_KEYS,
        figure=plot(payload["rows"]),
        title=f"== bench_predict: {settings['architecture']} MLP, median latency of "
        f"every call over {settings['repeats']} rounds ==",
        notes=targets.report_lines(
            "targets (from the performance issue; PyTorch measured 54 us there):",
            payload["targets"],
        ),
        status_keys=("peers", "backends"),
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return options.run_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
