"""Inference of torchvision's ResNet-18 and MobileNetV2, converted with ``tinynn.convert``,
against PyTorch on the same threads.

    python benchmarks/bench_imported.py              # batch 8 of 224x224 images, 1 thread
    python benchmarks/bench_imported.py --quick      # 64x64, one round: a smoke test

Each model is built by torchvision with random weights (random batch-norm statistics too),
converted once, and timed on the same batch: tinynn's ``model.predict(x, batch_size=8)`` on
each backend, and the PyTorch module under ``torch.inference_mode()``, NumPy in and out. The
contenders take turns, one call each per round; the table gives medians and the ratio to
PyTorch (target: tinynn within 1.5x). A second table says where tinynn's time goes: one
batch through the inference engine ``predict`` runs, timed step by step and summed by layer
class.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinynn.bench import common, output
from tinynn.convert import from_torch

# isort: split
import peers
import targets

NAME = "imported"
MODELS = ("resnet18", "mobilenet_v2")
TORCH_RATIO_TARGET = 1.5  # tinynn time / PyTorch time, from the extensibility issue
FULL = {"size": 224, "repeats": 5, "warmup": 1}
QUICK = {"size": 64, "repeats": 1, "warmup": 0}
COLUMNS = [
    ("model", "model", ""),
    ("system", "system", ""),
    ("median_ms", "median ms", ",.1f"),
    ("ratio_torch", "x torch", ".2f"),
]
CSV_KEYS = [key for key, _, _ in COLUMNS] + ["times_s", "status"]


def torchvision_model(name: str, torch: Any) -> Any:
    """A torchvision model with random weights and batch-norm statistics, in eval mode."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from torchvision_models import import_torchvision  # the CPU-build workaround

    torch.manual_seed(0)
    model = getattr(import_torchvision().models, name)(weights=None)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def layer_times(model: Any, x: np.ndarray) -> dict[str, float]:
    """Seconds per layer class in one batch through the inference engine ``predict`` runs
    (``InferenceModel.step_times``), largest first."""
    totals: dict[str, float] = defaultdict(float)
    engine = model.inference_engine()
    if engine is None:  # predict runs the layers' forward: nothing to break down
        return {}
    for kind, seconds in engine.step_times(x):
        totals[kind] += seconds
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def run(args: argparse.Namespace) -> int:
    settings = QUICK if args.quick else FULL
    torch = common.import_optional("torch")
    if torch is None:
        print("PyTorch is not installed: nothing to convert or compare with", file=sys.stderr)
        return 1
    payload = output.new_payload(NAME, args.argv, {**settings, "batch": args.batch})
    payload["machine"] = peers.machine_info(args.threads)
    backends = common.tinynn_backends(args.backends)
    rng = np.random.default_rng(0)
    size = settings["size"]
    x = rng.normal(size=(args.batch, 3, size, size)).astype(np.float32)
    x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    breakdown = {}
    with peers.same_threads(args.threads, torch, args.threads):
        for name in MODELS:
            module = torchvision_model(name, torch)
            runners: dict[str, Any] = {}
            for backend, ops in backends.items():
                if ops == common.MISSING:
                    continue
                model = from_torch(module, input_shape=(3, size, size))
                model.compile(optimizer="sgd", loss="mse", backend=backend)
                runners[f"tinynn-{backend}"] = lambda m=model: m.predict(
                    x_nhwc, batch_size=args.batch
                )
                if backend == "numpy":
                    breakdown[name] = layer_times(model, x_nhwc)

            def torch_call(module=module):
                with torch.inference_mode():
                    return module(torch.from_numpy(x)).numpy()

            runners["torch"] = torch_call
            times, errors = common.interleave(runners, settings["repeats"], settings["warmup"])
            baseline = float(np.median(times["torch"])) if times["torch"] else None
            for system, seconds in times.items():
                median = float(np.median(seconds)) if seconds else None
                payload["rows"].append(
                    {
                        "model": name,
                        "system": system,
                        "median_ms": None if median is None else 1e3 * median,
                        "ratio_torch": common.ratio(median, baseline),
                        "times_s": seconds,
                        "status": errors.get(system, "ok"),
                    }
                )
    payload["breakdown_s"] = breakdown
    payload["targets"] = [
        targets.check(
            f"{row['model']} {row['system']} within {TORCH_RATIO_TARGET}x torch",
            row["ratio_torch"],
            TORCH_RATIO_TARGET,
            "x",
        )
        for row in payload["rows"]
        if row["system"].startswith("tinynn")
    ]
    for name, parts in breakdown.items():
        total = sum(parts.values())
        shares = ", ".join(f"{kind} {100 * t / total:.0f}%" for kind, t in list(parts.items())[:5])
        payload["notes"].append(f"tinynn-numpy {name}: {1e3 * total:.0f} ms in layers: {shares}")
    payload["backends"] = common.backend_status(backends)
    output.report(
        payload,
        args.out,
        args.markdown,
        title=f"converted torchvision models, batch {args.batch} of {size}x{size} images",
        name=NAME,
        columns=COLUMNS,
        csv_keys=CSV_KEYS,
        figure=None,
        notes=[
            *payload["notes"],
            *targets.report_lines("targets (from the extensibility issue):", payload["targets"]),
        ],
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64x64 images, one round")
    parser.add_argument("--batch", type=int, default=8, help="images per batch (default 8)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads")
    parser.add_argument(
        "--backends", nargs="+", default=["numpy", "numba"], help="tinynn backends to time"
    )
    parser.add_argument("--out", default="benchmarks/results", help="folder for the results")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table too")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = argv
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
