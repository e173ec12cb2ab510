"""Scaling out with DataParallel: what communication costs, here and (modelled) on a cluster.

    python benchmarks/bench_scaling.py             # a few minutes; results in benchmarks/results/
    python benchmarks/bench_scaling.py --quick     # a smoke test

Each measurement runs as a job of its own (``scaling_worker.py``), started with its own BLAS
thread count (OPENBLAS/OMP/MKL/NUMBA_NUM_THREADS):

    allreduce   mpiexec -n 2: the bare mpi4py floor, Allreduce(IN_PLACE) and Iallreduce + Wait of
                float32 buffers from 1e3 to 1e7 elements, and NumPy's a += b (the reduction's
                arithmetic)
    1x1, 1x2    one process with 1 and 2 BLAS threads: train_step on the global batch
    2x1         mpiexec -n 2, 1 BLAS thread each, DataParallel: fit's step ("blocking"); the
                same step split by a Barrier into compute, wait and communication, followed by
                the bare Allreduce of as many bytes (the floor); and the step with each layer's
                gradients reduced by a non-blocking Iallreduce started as soon as that layer's
                backward is done ("overlap", PyTorch DDP's and Horovod's scheme)
    2x1 async   the blocking and overlapped steps again with MPICH_ASYNC_PROGRESS=1 (a progress
                thread per process, which lets a non-blocking collective advance while NumPy
                computes)

for a 784-256-256-10 and a 784-2048-2048-10 ReLU MLP at global batches 128, 512 and 2048
(float32, SGD with momentum, NumPy backend, one fixed batch: no data loading). Each mode's steps
take turns with the others' (one step each per round); medians are quoted.

From these: the target (the communication ``reduce_gradients`` adds per step, at most 1.2x the
bare Allreduce of the same bytes), a latency-bandwidth (alpha-beta) fit of the measured
Allreduce, and a prediction of the scaling efficiency at 2 to 512 ranks on two cluster networks
(``NETWORKS``), strong (global batch 2048) and weak (512 rows per rank).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinynn.bench import machine, options, output

# isort: split
# This folder's helper modules: running a script puts its folder on sys.path.
import targets
from scaling_model import (
    NETWORKS,
    PREDICTED_RANKS,
    STRONG_BATCH,
    WEAK_ROWS,
    fit_alpha_beta,
    local_batches,
    parameter_count,
    predictions,
)

NAME = "bench_scaling"
HERE = Path(__file__).resolve().parent
WORKER = HERE / "scaling_worker.py"
MODELS = {"784-256-256-10": [784, 256, 256, 10], "784-2048-2048-10": [784, 2048, 2048, 10]}
FULL = {"batches": [128, 512, 2048], "repeats": 9, "sizes": [10**k for k in range(3, 8)]}
QUICK = {"batches": [128], "repeats": 2, "sizes": [1000, 100_000]}
QUICK_MODELS = {"784-256-256-10": [784, 256, 256, 10]}
#: The issue's target: reduce_gradients' time over the bare Allreduce of the same bytes.
COMM_TARGET = 1.2
STEP_COLUMNS = [
    ("model", "model", ""),
    ("batch", "batch", ""),
    ("config", "ranks x threads", ""),
    ("step_ms", "step ms", ".2f"),
    ("speedup", "speedup vs 1x1", ".2f"),
    ("compute_ms", "compute ms", ".2f"),
    ("wait_ms", "wait ms", ".2f"),
    ("comm_ms", "comm ms", ".3f"),
    ("floor_ms", "bare Allreduce ms", ".3f"),
    ("comm_ratio", "comm / bare", ".2f"),
]
CSV_KEYS = [
    "kind",
    "model",
    "batch",
    "config",
    "step_ms",
    "speedup",
    "compute_ms",
    "wait_ms",
    "comm_ms",
    "floor_ms",
    "comm_ratio",
    "elements",
    "bytes",
    "allreduce_ms",
    "iallreduce_ms",
    "add_ms",
    "blocking_ms",
    "overlap_ms",
    "overlap_gain",
    "async_blocking_ms",
    "async_overlap_ms",
    "network",
    "scaling",
    "ranks",
    "efficiency",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_common_arguments(parser)
    options.add_int_list_argument(
        parser, "--batches", "global batch sizes (default: 128 512 2048; --quick: 128)"
    )


def mpi_available() -> str | None:
    """The mpiexec beside this Python (the mpich wheel's), or None without mpi4py."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    found = Path(sys.executable).parent / "mpiexec"
    return str(found) if found.exists() else shutil.which("mpiexec")


def run_job(job: dict, ranks: int, threads: int, mpiexec: str, extra_env=None) -> list:
    """Start one worker job (under mpiexec for several ranks) and return rank 0's rows."""
    env = {**os.environ, **(extra_env or {})}
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[name] = str(threads)
    with tempfile.TemporaryDirectory() as folder:
        job_path, out_path = Path(folder) / "job.json", Path(folder) / "out.json"
        job_path.write_text(json.dumps({**job, "mpi": ranks > 1}))
        command = [sys.executable, str(WORKER), str(job_path), str(out_path)]
        if ranks > 1:
            command = [mpiexec, "-n", str(ranks), sys.executable, "-m", "mpi4py", *command[1:]]
        subprocess.run(command, env=env, check=True, timeout=3600)
        return json.loads(out_path.read_text())


def median_ms(values: Sequence[float]) -> float:
    return 1e3 * float(np.median(values))


def measure(args, mpiexec: str, models: dict, batches: list[int]) -> dict[str, Any]:
    """Every job; the raw per-repeat seconds, as the workers return them."""
    steps = {"models": models, "batches": batches, "warmup": args.warmup}
    # The small model's steps take milliseconds: 4 times the repeats for steadier medians.
    repeats = {
        "repeats": {
            name: args.repeats * (4 if parameter_count(sizes) < 10**6 else 1)
            for name, sizes in models.items()
        }
    }
    sizes = options.pick(None, FULL["sizes"], QUICK["sizes"], args.quick)
    raw = {
        "allreduce": run_job({"kind": "allreduce", "sizes": sizes, "repeats": 20}, 2, 1, mpiexec)
    }
    # reduce_gradients alone: a millisecond or less for the small model, 25 ms for the wide.
    counts = {name: (1000 if parameter_count(s) < 10**6 else 100) for name, s in models.items()}
    if args.quick:
        counts = dict.fromkeys(models, 5)
    job = {"kind": "reduce", "models": models, "repeats": counts, "warmup": 5}
    raw["reduce"] = run_job(job, 2, 1, mpiexec)
    for threads in (1, 2):
        job = {"kind": "steps", **steps, **repeats, "modes": ["single"]}
        raw[f"1x{threads}"] = run_job(job, 1, threads, mpiexec)
    # For the predictions: one rank's step at every local batch they need (1 thread).
    job = {"kind": "steps", **steps, **repeats, "batches": local_batches(), "modes": ["single"]}
    raw["compute"] = run_job(job, 1, 1, mpiexec)
    job = {"kind": "steps", **steps, **repeats, "modes": ["split", "blocking", "overlap"]}
    raw["2x1"] = run_job(job, 2, 1, mpiexec)
    job = {"kind": "steps", **steps, **repeats, "modes": ["blocking", "overlap"]}
    raw["2x1 async"] = run_job(job, 2, 1, mpiexec, {"MPICH_ASYNC_PROGRESS": "1"})
    return raw


def step_rows(raw: dict) -> list[dict]:
    rows = []
    baseline = {(r["model"], r["batch"]): median_ms(r["steps"]["single"]) for r in raw["1x1"]}
    for config in ("1x1", "1x2", "2x1"):
        for r in raw[config]:
            key = (r["model"], r["batch"])
            row = {"kind": "step", "model": r["model"], "batch": r["batch"], "config": config}
            if config == "2x1":
                split = np.array(r["steps"]["split"]) - np.array(r["wait"]) - np.array(r["comm"])
                row.update(step_ms=median_ms(r["steps"]["blocking"]), compute_ms=median_ms(split))
                row.update(wait_ms=median_ms(r["wait"]), comm_ms=median_ms(r["comm"]))
                row.update(floor_ms=median_ms(r["floor"]))
                row["comm_ratio"] = row["comm_ms"] / row["floor_ms"]
            else:
                row["step_ms"] = row["compute_ms"] = median_ms(r["steps"]["single"])
            row["speedup"] = baseline[key] / row["step_ms"]
            rows.append(row)
    return rows


def overlap_rows(raw: dict) -> list[dict]:
    rows = []
    for plain, fast in zip(raw["2x1"], raw["2x1 async"], strict=True):
        blocking, overlap = (
            median_ms(plain["steps"]["blocking"]),
            median_ms(plain["steps"]["overlap"]),
        )
        rows.append(
            {
                "kind": "overlap",
                "model": plain["model"],
                "batch": plain["batch"],
                "blocking_ms": blocking,
                "overlap_ms": overlap,
                "overlap_gain": blocking / overlap - 1,
                "async_blocking_ms": median_ms(fast["steps"]["blocking"]),
                "async_overlap_ms": median_ms(fast["steps"]["overlap"]),
            }
        )
    return rows


def reduce_rows(raw: dict) -> list[dict]:
    rows = []
    for r in raw["reduce"]:
        # Each reduce_gradients is paired with the bare Allreduce timed beside it: the median
        # of their ratios, which a slow spell of the machine affects alike.
        ratios = np.array(r["reduce"]) / np.array(r["floor"])
        rows.append({
            "kind": "reduce", "model": r["model"], "bytes": 4 * r["parameters"],
            "runs": len(r["runs"]), "comm_ms": median_ms(r["reduce"]),
            "floor_ms": median_ms(r["floor"]), "comm_ratio": float(np.median(ratios)),
        })  # fmt: skip
    return rows


def allreduce_rows(raw: dict) -> list[dict]:
    return [
        {
            "kind": "allreduce",
            "elements": r["elements"],
            "bytes": r["bytes"],
            "allreduce_ms": median_ms(r["allreduce"]),
            "iallreduce_ms": median_ms(r["iallreduce"]),
            "add_ms": median_ms(r["add"]),
        }
        for r in raw["allreduce"]
    ]


def run(args: argparse.Namespace) -> int:
    mpiexec = mpi_available()
    if mpiexec is None:
        print('bench_scaling needs mpi4py and mpiexec: pip install ".[mpi]"', file=sys.stderr)
        return 1
    batches = options.pick(
        options.flatten(args.batches), FULL["batches"], QUICK["batches"], args.quick
    )
    args.repeats = options.pick(args.repeats, FULL["repeats"], QUICK["repeats"], args.quick)
    models = QUICK_MODELS if args.quick else MODELS
    settings = {
        "models": models,
        "batches": batches,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "dtype": "float32",
        "optimizer": "SGD(momentum=0.9)",
        "backend": "numpy",
        "networks": NETWORKS,
        "quick": args.quick,
    }
    payload = output.new_payload(NAME, getattr(args, "argv", None), settings)
    raw = measure(args, mpiexec, models, batches)
    steps, sweep, reduced = step_rows(raw), allreduce_rows(raw), reduce_rows(raw)
    fit = fit_alpha_beta(sweep)
    payload.update(raw=raw, alpha_beta=fit, machine=machine.machine_info(1))
    compute = {name: {} for name in models}
    for r in raw["compute"]:
        compute[r["model"]][r["batch"]] = float(np.median(r["steps"]["single"]))
    payload["compute_s"] = compute
    payload["rows"] = [
        *sweep,
        *reduced,
        *steps,
        *overlap_rows(raw),
        *predictions(compute, fit, models),
    ]
    # The target, on reduce_gradients alone: inside a step on this oversubscribed 2-core
    # machine, whichever collective follows the computation also absorbs the scheduler's
    # delays (both ranks must run at once), which the step table shows beside it.
    payload["targets"] = [
        targets.check(
            f"reduce_gradients / bare Allreduce of the same bytes, {r['model']}",
            r["comm_ratio"],
            COMM_TARGET,
            "x",
        )
        for r in reduced
    ]
    report(payload, args.out, args.markdown)
    return 0


def report(payload: dict, out_dir: str, markdown: bool) -> None:
    rows, fit = payload["rows"], payload["alpha_beta"]
    print(f"== {NAME}: DataParallel on mpi4py, medians of {payload['settings']['repeats']} ==")
    print(machine.format_machine(payload["machine"]))
    print("\nAllreduce on 2 ranks, float32 (the bare mpi4py call):")
    output.print_table(
        [r for r in rows if r["kind"] == "allreduce"],
        [
            ("elements", "elements", ","),
            ("bytes", "bytes", ","),
            ("allreduce_ms", "Allreduce ms", ".3f"),
            ("iallreduce_ms", "Iallreduce+Wait ms", ".3f"),
            ("add_ms", "a += b ms", ".3f"),
        ],
        markdown,
    )
    print(
        f"alpha-beta fit: t = {fit['a_s'] * 1e6:.1f} us + bytes / "
        f"{1e-9 / fit['b_s_per_byte']:.2f} GB/s; reduction arithmetic "
        f"{1e-9 / fit['gamma_s_per_byte']:.2f} GB/s"
    )
    print("\nreduce_gradients against the bare Allreduce of the same bytes (2 ranks):")
    output.print_table(
        [r for r in rows if r["kind"] == "reduce"],
        [("model", "model", ""), ("bytes", "bytes", ","), ("runs", "runs", ""),
         ("comm_ms", "reduce_gradients ms", ".3f"), ("floor_ms", "bare Allreduce ms", ".3f"),
         ("comm_ratio", "median ratio", ".2f")],
        markdown,
    )  # fmt: skip
    print("\nTraining step (1x1 and 1x2: one process; 2x1: two, DataParallel):")
    output.print_table([r for r in rows if r["kind"] == "step"], STEP_COLUMNS, markdown)
    print("\nOverlap (2x1): fit's step against one Iallreduce per layer during backward:")
    output.print_table(
        [r for r in rows if r["kind"] == "overlap"],
        [
            ("model", "model", ""),
            ("batch", "batch", ""),
            ("blocking_ms", "blocking ms", ".2f"),
            ("overlap_ms", "overlap ms", ".2f"),
            ("overlap_gain", "gain", "+.1%"),
            ("async_blocking_ms", "async: blocking ms", ".2f"),
            ("async_overlap_ms", "async: overlap ms", ".2f"),
        ],
        markdown,
    )
    print("\nPredicted scaling efficiency on a cluster (alpha-beta model):")
    for model, steps in payload["compute_s"].items():
        measured = ", ".join(f"{b}: {t * 1e3:.1f}" for b, t in sorted(steps.items()))
        print(f"  one rank's step in ms at each local batch, {model}: {measured}")
    output.print_table(
        [r for r in rows if r["kind"] == "prediction" and r["ranks"] in PREDICTED_RANKS],
        [
            ("model", "model", ""),
            ("network", "network", ""),
            ("scaling", "scaling", ""),
            ("ranks", "ranks", ""),
            ("efficiency", "efficiency", ".0%"),
        ],
        markdown,
    )
    for line in targets.report_lines("targets (from the scaling issue):", payload["targets"]):
        print(line)
    files = output.save_results(out_dir, NAME, payload, CSV_KEYS, plot(payload))
    print("wrote " + ", ".join(files.values()))


def plot(payload: dict):
    """Allreduce against size with the fit; the measured step split; the predicted efficiency."""
    figure = output.new_figure(ncols=3, size=(5.2, 4.2))
    if figure is None:
        return None
    rows, fit = payload["rows"], payload["alpha_beta"]
    sizes_axis, steps_axis, scale_axis = figure.axes
    reduce = [r for r in rows if r["kind"] == "allreduce"]
    nbytes = np.array([r["bytes"] for r in reduce], float)
    sizes_axis.loglog(nbytes, [r["allreduce_ms"] for r in reduce], "o", label="measured")
    sizes_axis.loglog(
        nbytes, 1e3 * (fit["a_s"] + fit["b_s_per_byte"] * nbytes), "-", label="alpha-beta fit"
    )
    sizes_axis.set(xlabel="message (bytes)", ylabel="ms", title="Allreduce, 2 ranks (this machine)")
    sizes_axis.legend(fontsize="small")
    steps = [r for r in rows if r["kind"] == "step"]
    labels = [f"{r['model'].split('-')[1]} b{r['batch']}\n{r['config']}" for r in steps]
    bottom = np.zeros(len(steps))
    for key, label in (("compute_ms", "compute"), ("wait_ms", "wait"), ("comm_ms", "comm")):
        values = np.array([r.get(key) or 0.0 for r in steps])
        steps_axis.bar(range(len(steps)), values, bottom=bottom, label=label)
        bottom += values
    steps_axis.set_yscale("log")
    steps_axis.set_xticks(range(len(steps)), labels, fontsize=5, rotation=90)
    steps_axis.set(ylabel="ms per step", title="Step time (this machine)")
    steps_axis.legend(fontsize="small")
    styles = {network: style for network, style in zip(NETWORKS, ("-", "--"), strict=True)}
    series = 0
    for model in payload["settings"]["models"]:
        for scaling in (f"strong, batch {STRONG_BATCH}", f"weak, {WEAK_ROWS} rows per rank"):
            color, series = f"C{series}", series + 1  # one colour per series, both networks
            for network in NETWORKS:
                found = [
                    r
                    for r in rows
                    if r["kind"] == "prediction"
                    and r["model"] == model
                    and r["network"] == network
                    and r["scaling"] == scaling
                ]
                label = f"{model}, {scaling}" if styles[network] == "-" else None
                scale_axis.semilogx(
                    [r["ranks"] for r in found],
                    [r["efficiency"] for r in found],
                    styles[network],
                    color=color,
                    base=2,
                    label=label,
                )
    scale_axis.set(
        xlabel="ranks",
        ylabel="efficiency",
        ylim=(0, 1.05),
        title="Predicted: solid 100 Gb/s IB, dashed 10 GbE",
    )
    scale_axis.legend(fontsize=6)
    return figure


def main(argv: Sequence[str] | None = None) -> int:
    return options.run_main(
        options.build_parser("bench_scaling.py", __doc__, add_arguments), run, argv
    )


if __name__ == "__main__":
    sys.exit(main())
