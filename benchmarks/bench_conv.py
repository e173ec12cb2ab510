"""One training epoch of a LeNet-style network, tinynn against PyTorch.

The network of the "Images" issue, on MNIST-shaped synthetic data (seeded uniform 28 × 28 × 1
float32 images, random labels: an epoch does the same work whatever the labels are)::

    Conv2D(32, 3×3, relu) → MaxPooling2D(2) → Conv2D(64, 3×3, relu) → MaxPooling2D(2)
    → Flatten → Dense(128, relu) → Dense(10, softmax)          ("valid" padding, float32)

trained with Adam (learning rate 0.001) and sparse softmax cross-entropy at batch 128:

    tinynn-numpy   Sequential.fit on the NumPy backend (NHWC)
    tinynn-numba   the same on the Numba backend ("missing" when Numba does not import)
    torch          the same network in PyTorch CPU: nn.Conv2d / MaxPool2d / Linear in NCHW
                   (the images are transposed once, before any timing), CrossEntropyLoss,
                   zero_grad(set_to_none=True), the same thread count, and Adam(fused=True)
                   when this PyTorch supports it on the CPU (the table and JSON say which)

Contenders run round-robin. We report the median epoch time, samples/s, GFLOP/s (the GEMM
FLOPs of a step, the same for every contender) and the ratio to PyTorch. Target: tinynn ≤ 1.5×
PyTorch; faster is the goal. ``python benchmarks/bench_conv.py --quick`` is a smoke test.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinynn.bench import common, mlp, options, output

# isort: split
# This folder's helper modules: running a script puts its folder on sys.path.
import epochs
import peers
import targets

NAME = "conv"
IMAGE_SHAPE, N_CLASSES = (28, 28, 1), 10
LEARNING_RATE = mlp.LEARNING_RATES["adam"]
FULL = {"samples": 60_000, "repeats": 3}
QUICK = {"samples": 256, "repeats": 1}
NETWORK = "28x28x1, conv 32 3x3 relu, maxpool 2, conv 64 3x3 relu, maxpool 2, dense 128 relu, "
NETWORK += "dense 10 softmax; valid padding, float32"
TORCH_RATIO_TARGET = 1.5  # tinynn epoch / PyTorch epoch, from the "Images" issue

COLUMNS = [
    ("batch_size", "batch", ""),
    ("system", "system", ""),
    ("optimizer", "optimizer", ""),
    ("epoch_s", "epoch s", ".3f"),
    ("iqr_s", "IQR s", ".3f"),
    ("samples_per_s", "samples/s", ",.0f"),
    ("gflops", "GFLOP/s", ".1f"),
    ("ratio_torch", "x torch", ".2f"),
]
CSV_KEYS = [key for key, _, _ in COLUMNS] + ["status", "final_loss", "times_s"]


def build_lenet(backend: str, seed: int):
    """The tinynn network of the module docstring, compiled with Adam and sparse CE."""
    from tinynn import layers, optimizers
    from tinynn.models import Sequential

    model = Sequential(
        [
            layers.Input(IMAGE_SHAPE),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(N_CLASSES, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(
        optimizer=optimizers.Adam(learning_rate=LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        backend=backend,
    )
    return model


def gemm_shapes(model) -> list[tuple[int, int, int]]:
    """(rows per sample, k, n) of each layer's matrix product: a Conv2D multiplies Ho·Wo im2col
    rows of kh·kw·C_in values by a (kh·kw·C_in, filters) kernel, a Dense one row by W."""
    from tinynn.layers import Conv2D, Dense

    shapes = []
    for layer in model.layers:
        if isinstance(layer, Conv2D):
            ho, wo, filters = layer.output_shape
            patch = layer.kernel_size[0] * layer.kernel_size[1] * layer.input_shape[-1]
            shapes.append((ho * wo, patch, filters))
        elif isinstance(layer, Dense):
            shapes.append((1, layer.input_shape[-1], layer.units))
    return shapes


def gemm_flops_per_sample(shapes: Sequence[tuple[int, int, int]]) -> int:
    """2·rows·k·n per product: forward and dW for every layer, dX for all but the first
    (neither framework computes the gradient of the data)."""
    products = [2 * rows * k * n for rows, k, n in shapes]
    return 2 * sum(products) + sum(products[1:])


def torch_lenet(torch, seed: int):
    """The same network in PyTorch, NCHW: the softmax is fused into CrossEntropyLoss."""
    torch.manual_seed(seed)
    nn = torch.nn
    modules = [nn.Conv2d(IMAGE_SHAPE[2], 32, 3), nn.ReLU(), nn.MaxPool2d(2)]
    modules += [nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    # 64 maps of 5 × 5 pixels: 28 -conv-> 26 -pool-> 13 -conv-> 11 -pool-> 5
    modules += [nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, N_CLASSES)]
    return nn.Sequential(*modules)


def torch_adam_variant(torch) -> tuple[str, dict[str, Any], str]:
    """("adam-fused", {"fused": True}, note) if this PyTorch runs a fused Adam step on the CPU,
    else ("adam", {}, why not): PyTorch's default (foreach) Adam is the fallback."""
    try:
        probe = torch.nn.Parameter(torch.zeros(4))
        probe.grad = torch.ones(4)
        torch.optim.Adam([probe], lr=LEARNING_RATE, fused=True).step()
    except (RuntimeError, TypeError, ValueError) as error:
        return "adam", {}, f"Adam default: fused=True unsupported on CPU ({error})"
    return "adam-fused", {"fused": True}, "Adam(fused=True)"


class TinynnLenetEpoch(mlp.TinynnEpoch):
    """``model.fit(x, y, batch_size, epochs=1)`` on the LeNet network. The epoch itself
    (``__call__``) is ``mlp.TinynnEpoch``'s, so it is timed exactly as in ``bench train``."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, backend: str, seed: int):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.model = build_lenet(backend, seed)
        self.last_loss: float | None = None


class TorchLenetEpoch(peers.TorchEpoch):
    """One PyTorch epoch of ``torch_lenet``; ``__call__`` (shuffle, index the batch,
    zero_grad(set_to_none=True), forward, backward, step) is ``peers.TorchEpoch``'s."""

    def __init__(self, torch, x_nchw: np.ndarray, y: np.ndarray, batch_size: int, adam, seed):
        self.torch = torch
        self.x = torch.from_numpy(x_nchw)  # shares memory with the NumPy array
        self.y = torch.from_numpy(np.asarray(y, dtype=np.int64))
        self.batch_size = batch_size
        self.model = torch_lenet(torch, seed)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE, **adam)
        self.generator = torch.Generator().manual_seed(seed)
        self.last_loss: float | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_common_arguments(parser)
    number = options.positive_int
    parser.add_argument("--samples", type=number, help="28x28x1 images (60000; --quick: 256)")
    parser.add_argument("--batch-size", type=number, default=128, help="(default: 128)")
    options.add_backends_argument(parser)
    peers.add_peers_argument(parser, "torch")


def build_parser() -> argparse.ArgumentParser:
    return options.build_parser("bench_conv.py", __doc__, add_arguments)


def measure(args, runners, n_samples, flops_per_sample) -> list[dict[str, Any]]:
    """Time the contenders round-robin; one row each, with the ratio to PyTorch."""
    rows = epochs.time_epochs(
        runners, args.repeats, args.warmup, args.batch_size, n_samples, flops_per_sample
    )
    torch_s = next((row.get("epoch_s") for row in rows if row["system"] == "torch"), None)
    for row in rows:
        row["ratio_torch"] = common.ratio(row.get("epoch_s"), torch_s)
    return rows


def check_targets(rows: list[dict[str, Any]], backends: Sequence[str]) -> list[dict[str, Any]]:
    """tinynn epoch / PyTorch epoch ≤ 1.5 for each tinynn backend (n/a without PyTorch)."""
    checks = []
    for backend in backends:
        system = f"tinynn-{backend}"
        measured = next((r.get("ratio_torch") for r in rows if r["system"] == system), None)
        text = f"{system} LeNet epoch / torch epoch (goal: < 1)"
        checks.append(targets.check(text, measured, TORCH_RATIO_TARGET, "x"))
    return checks


def contenders(args, backends, torch, x, y) -> tuple[dict[tuple[str, str], Any], str]:
    """(system, optimizer) -> an epoch runner or ``common.MISSING``; and which Adam torch uses."""
    runners: dict[tuple[str, str], Any] = {}
    for backend, ops in backends.items():
        runners[(f"tinynn-{backend}", "adam")] = (
            common.MISSING
            if ops == common.MISSING
            else TinynnLenetEpoch(x, y, args.batch_size, backend, args.seed)
        )
    if "torch" not in args.peers:
        return runners, "not requested"
    if torch is None:
        runners[("torch", "adam")] = common.MISSING
        return runners, common.MISSING
    variant, extra, torch_adam = torch_adam_variant(torch)
    nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # once, outside the timing
    runners[("torch", variant)] = TorchLenetEpoch(torch, nchw, y, args.batch_size, extra, args.seed)
    return runners, torch_adam


def run(args: argparse.Namespace) -> int:
    """Run the benchmark for parsed options; returns a process exit code."""
    n_samples = options.pick(args.samples, FULL["samples"], QUICK["samples"], args.quick)
    args.repeats = options.pick(args.repeats, FULL["repeats"], QUICK["repeats"], args.quick)
    threads = args.threads or common.blas_threads()
    torch = common.import_optional("torch") if "torch" in args.peers else None
    backends = common.tinynn_backends(args.backends)
    x, y = mlp.synthetic_data(n_samples, int(np.prod(IMAGE_SHAPE)), N_CLASSES, args.seed)
    x = x.reshape(n_samples, *IMAGE_SHAPE)  # NHWC, as tinynn wants images
    shapes = gemm_shapes(build_lenet("numpy", args.seed))
    flops_per_sample = gemm_flops_per_sample(shapes)
    runners, torch_adam = contenders(args, backends, torch, x, y)
    settings = {
        "network": NETWORK,
        "loss": "softmax cross-entropy (sparse labels)",
        "optimizer": f"Adam lr {LEARNING_RATE}",
        "torch_adam": torch_adam,
        "samples": n_samples,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "threads": threads,
        "gemm_shapes": shapes,
        "gemm_flops_per_sample": flops_per_sample,
        "quick": args.quick,
    }
    payload = output.new_payload(NAME, getattr(args, "argv", None), settings)
    with peers.same_threads(args.threads, torch, threads):
        rows = measure(args, runners, n_samples, flops_per_sample)
        payload["machine"] = peers.machine_info(args.threads)

    payload["rows"] = rows
    payload["backends"] = common.backend_status(backends)
    payload["peers"] = peers.peer_versions(args.peers, {"torch": (torch, "torch")})
    payload["targets"] = check_targets(rows, args.backends)
    report(payload, args.out, args.markdown)
    return 0


def plot(rows: list[dict[str, Any]]):
    """Median epoch seconds per contender, each bar labelled with its ratio to PyTorch."""
    figure = output.new_figure(size=(6.5, 4.0))
    if figure is None:
        return None
    axis = figure.axes[0]
    measured = [row for row in rows if row["status"] == "ok"]
    bars = axis.bar(
        [f"{row['system']}\n{row['optimizer']}" for row in measured],
        [row["epoch_s"] for row in measured],
    )
    ratios = [row["ratio_torch"] for row in measured]
    axis.bar_label(bars, [f"{r:.2f}x torch" if r is not None else "" for r in ratios])
    axis.set_ylabel("epoch time (s), median")
    axis.set_title(f"LeNet epoch (target: ≤ {TORCH_RATIO_TARGET}x torch)")
    return figure


def report(payload: dict[str, Any], out_dir: str, markdown: bool = False) -> None:
    """Print the machine, the table and the target; write JSON, CSV and PNG."""
    settings = payload["settings"]
    output.report(
        payload, out_dir, markdown, name=NAME, columns=COLUMNS, csv_keys=CSV_KEYS,
        figure=plot(payload["rows"]),
        title=f"== bench_conv: LeNet, {settings['samples']:,} images, batch "
        f"{settings['batch_size']}, median of {settings['repeats']} after "
        f"{settings['warmup']} warmup ==",
        notes=[
            f"torch optimizer: {settings['torch_adam']}",
            *targets.report_lines('targets (from the "Images" issue):', payload["targets"]),
        ],
        status_keys=("peers", "backends"),
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return options.run_main(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
