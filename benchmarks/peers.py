"""PyTorch and scikit-learn doing the same work as tinynn, for ratios measured side by side:
what the benchmark scripts of this folder share about their peers (the runners, the thread
settings, the --peers option, the peers' versions and PyTorch's BLAS in the machine record).

Both peers are optional. Each runner takes the already-imported module (from
``common.import_optional``), so a missing peer never reaches this file: the benchmark reports it
as missing instead.

PyTorch mirrors tinynn's epoch: a shuffled permutation, batches indexed from it,
``nn.Sequential`` of ``Linear``/``ReLU``, ``CrossEntropyLoss`` (log-softmax fused into the
loss, as tinynn does), ``zero_grad(set_to_none=True)``, and the same thread count.
scikit-learn's ``MLPClassifier`` runs one epoch per ``fit`` with ``max_iter=1``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import warnings
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from tinynn.bench import common, machine, options
from tinynn.bench.mlp import LEARNING_RATES

#: The distributions whose versions the machine record gives: tinynn's own and the peers'.
PACKAGES = (*machine.PACKAGES, "torch", "scikit-learn")

#: PyTorch optimizer variants: name -> (optimizer family, extra keyword arguments).
TORCH_OPTIMIZERS = {
    "sgd": ("sgd", {}),
    "adam": ("adam", {}),
    "adam-fused": ("adam", {"fused": True}),
}


def add_peers_argument(parser: argparse.ArgumentParser, *valid: str) -> None:
    """--peers: which of the ``valid`` peer libraries to compare with (default: all), or none."""
    choices = ",".join(valid)
    parser.add_argument(
        "--peers",
        type=options.names(*valid),
        default=list(valid),
        help=f"peers to compare with: {choices} or none (default: {choices})",
    )


def peer_versions(requested: Sequence[str], loaded: dict[str, tuple[Any, str]]) -> dict[str, str]:
    """The JSON's "peers": each requested peer's installed version, or ``common.MISSING`` when
    its module did not import. ``loaded``: peer name -> (its module or None, package name)."""
    versions = {}
    for name in requested:
        module, package = loaded[name]
        versions[name] = common.MISSING if module is None else machine.package_version(package)
    return versions


def torch_details() -> dict[str, Any] | None:
    """PyTorch's BLAS and threads, if the benchmark imported torch (we never import it here)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    blas = "unknown"
    for item in torch.__config__.show().replace(",", "\n").split("\n"):
        if "BLAS_INFO=" in item:  # "  - Build settings: BLAS_INFO=mkl"
            blas = item.split("BLAS_INFO=", 1)[1].strip()
    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
    return {
        "blas": blas,
        "cpu_capability": capability() if capability else "unknown",
        "num_threads": torch.get_num_threads(),
    }


def machine_info(requested_threads: int | None = None) -> dict[str, Any]:
    """``tinynn.bench.machine.machine_info`` plus the peers: their versions, and PyTorch's BLAS,
    CPU capability and threads when it was imported (also printed beside its version)."""
    info = machine.machine_info(requested_threads, PACKAGES)
    torch = torch_details()
    info["torch"] = torch
    info["threads"]["torch"] = torch["num_threads"] if torch else None
    if torch:
        info["library_notes"]["torch"] = (
            f"BLAS {torch['blas']}, {torch['cpu_capability']}, {torch['num_threads']} threads"
        )
    return info


@contextlib.contextmanager
def torch_threads(torch: ModuleType, threads: int | None) -> Iterator[None]:
    """Run PyTorch with ``threads`` intra-op threads, then put its setting back."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def same_threads(
    blas_limit: int | None, torch: ModuleType | None, torch_count: int | None
) -> Iterator[None]:
    """Cap the BLAS and OpenMP pools at ``blas_limit`` (None: leave them as they are) and, when
    PyTorch is loaded, run it with ``torch_count`` threads, so that tinynn and its peers are
    timed with the same thread count."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(common.limit_threads(blas_limit))
        if torch is not None:
            stack.enter_context(torch_threads(torch, torch_count))
        yield


def torch_mlp(torch: ModuleType, sizes: Sequence[int], softmax: bool = False, seed: int = 0):
    """nn.Sequential(Linear, ReLU, …, Linear[, Softmax]) with the widths in ``sizes``."""
    torch.manual_seed(seed)
    nn = torch.nn
    modules = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        modules.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            modules.append(nn.ReLU())
    if softmax:
        modules.append(nn.Softmax(dim=1))
    return nn.Sequential(*modules)


class TorchEpoch:
    """One PyTorch training epoch over (x, y); calling again continues training."""

    def __init__(
        self,
        torch: ModuleType,
        x: np.ndarray,
        y: np.ndarray,
        sizes: Sequence[int],
        batch_size: int,
        optimizer: str,
        seed: int,
    ) -> None:
        self.torch = torch
        self.x = torch.from_numpy(x)  # shares memory with the NumPy array
        self.y = torch.from_numpy(np.asarray(y, dtype=np.int64))
        self.batch_size = batch_size
        self.model = torch_mlp(torch, sizes, seed=seed)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        family, extra = TORCH_OPTIMIZERS[optimizer]
        factory = torch.optim.SGD if family == "sgd" else torch.optim.Adam
        self.optimizer = factory(self.model.parameters(), lr=LEARNING_RATES[family], **extra)
        self.generator = torch.Generator().manual_seed(seed)
        self.last_loss: float | None = None

    def __call__(self) -> None:
        n = len(self.x)
        order = self.torch.randperm(n, generator=self.generator)
        loss = None
        for start in range(0, n, self.batch_size):
            indices = order[start : start + self.batch_size]
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss_fn(self.model(self.x[indices]), self.y[indices])
            loss.backward()
            self.optimizer.step()
        self.last_loss = float(loss.item()) if loss is not None else None


class SklearnEpoch:
    """``MLPClassifier(max_iter=1).fit(x, y)``: a fresh network trained for one epoch.

    Plain SGD (momentum 0) and Adam with the same learning rates and batch size as tinynn, no
    L2 penalty (alpha=0). Each call re-initializes the weights, as ``fit`` does; the
    ConvergenceWarning that one epoch provokes is suppressed.
    """

    def __init__(
        self,
        sklearn_nn: ModuleType,
        x: np.ndarray,
        y: np.ndarray,
        hidden: Sequence[int],
        batch_size: int,
        solver: str,
        seed: int,
    ) -> None:
        self.x, self.y = x, y
        self.classifier = sklearn_nn.MLPClassifier(
            hidden_layer_sizes=tuple(hidden),
            activation="relu",
            solver=solver,
            alpha=0.0,
            batch_size=batch_size,
            learning_rate_init=LEARNING_RATES[solver],
            momentum=0.0,
            nesterovs_momentum=False,
            max_iter=1,
            shuffle=True,
            random_state=seed,
        )
        self.last_loss: float | None = None

    def __call__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.classifier.fit(self.x, self.y)
        self.last_loss = float(self.classifier.loss_)
