"""Epoch workloads that ``bench_train.py`` and ``bench_conv.py`` share, beyond the installed
``tinynn.bench.mlp`` (synthetic data, the tinynn epoch, the GEMM floor): the GEMM FLOPs of an MLP
training step, the floor plus an SGD update, and the round-robin timing of epochs into table
rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinynn.bench import common
from tinynn.bench.mlp import GemmFloor


def gemm_flops_per_sample(sizes: Sequence[int]) -> int:
    """Matrix-product FLOPs of one training step, per sample (2·m·n·k per product).

    forward 2·Σ a·b, dW 2·Σ a·b, and dX 2·Σ a·b over every layer but the first.
    """
    products = [a * b for a, b in itertools.pairwise(sizes)]
    return 2 * sum(products) + 2 * sum(products) + 2 * sum(products[1:])


class GemmFloorWithSgd(GemmFloor):
    """The floor plus the one pass no SGD trainer can skip: W ← W − lr·dW for every layer
    after each step, through a tinynn backend's ``sgd_update`` kernel (``ops``: the Numba one
    when it imports, one fused pass per array).

    Not a yardstick but a measured reference point: its distance from the floor is what the
    update alone costs. At one thread that is a few percent. With a two-thread BLAS it is much
    more, because the update reads gradients that the other core's BLAS thread has just
    written. The learning rate is tiny so the weights, and the timing, do not drift.
    """

    def __init__(
        self, x: np.ndarray, sizes: Sequence[int], batch_size: int, seed: int, ops
    ) -> None:
        super().__init__(x, sizes, batch_size, seed)
        self.ops = ops
        self.no_momentum = np.empty(0, dtype=x.dtype)

    def step(self, indices: np.ndarray) -> None:
        super().step(indices)
        for weight, grad in zip(self.weights, self.grad_weights, strict=True):
            self.ops.optim.sgd_update(
                weight, grad, self.no_momentum, 1e-12, 0.0, 0.0, False, 0.0, False
            )


def time_epochs(
    runners: dict[tuple[str, str], Any],
    repeats: int,
    warmup: int,
    batch_size: int,
    n_samples: int,
    flops_per_sample: int,
) -> list[dict[str, Any]]:
    """Time epoch runners round-robin (``common.interleave``); one table row per runner.

    ``runners`` maps (system, optimizer) to an epoch over ``n_samples`` samples, or to
    ``common.MISSING``. A row's status is "ok", "missing" or "error" (with the error's text);
    a timed row has the median epoch seconds and their IQR, samples/s, GEMM GFLOP/s, every
    epoch's seconds and the runner's last loss. Ratios are left to the caller, whose baselines
    differ (the floor, PyTorch with the same optimizer, any PyTorch row).
    """
    live = {key: run for key, run in runners.items() if run != common.MISSING}
    times, errors = common.interleave(live, repeats, warmup)
    rows = []
    for (system, optimizer), run in runners.items():
        row: dict[str, Any] = {"batch_size": batch_size, "system": system, "optimizer": optimizer}
        if run == common.MISSING:
            row["status"] = common.MISSING
        elif (system, optimizer) in errors:
            row.update(status="error", error=errors[(system, optimizer)])
        else:
            stats = common.summarize(times[(system, optimizer)])
            seconds = stats["median"]
            row.update(
                status="ok",
                epoch_s=seconds,
                iqr_s=stats["iqr"],
                samples_per_s=n_samples / seconds,
                gflops=flops_per_sample * n_samples / seconds / 1e9,
                times_s=times[(system, optimizer)],
                final_loss=getattr(run, "last_loss", None),  # the floor computes no loss
            )
        rows.append(row)
    return rows
