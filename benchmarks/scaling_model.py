"""The alpha-beta model of ``bench_scaling.py``: fitted to this machine's Allreduce, then used
to predict the scaling efficiency of DataParallel on a cluster network.

    Allreduce of m bytes on p ranks (Rabenseifner's algorithm, MPICH's for large messages: a
    reduce-scatter by recursive halving, then an allgather by recursive doubling):
        T(p, m) = 2 log2(p) alpha + 2 (p - 1)/p m / bandwidth + (p - 1)/p m gamma
    alpha: latency per message; gamma: the arithmetic of the reduction, per byte (measured here
    as NumPy's a += b).

    One step on p ranks at global batch B: compute(B / p) + T(p, 4 P) for P float32 parameters,
    where compute(b) is the one-process, one-thread step measured here at exactly that local
    batch b (so each rank is assumed to be one core of this machine). It does not shrink in
    proportion to b: every rank updates all the weights and streams them through forward and
    backward at every step, and small matrix products run below the BLAS's peak.

    strong scaling (B fixed): efficiency = compute(B) / (p (compute(B / p) + T))
    weak scaling (B / p fixed): efficiency = compute(B / p) / (compute(B / p) + T)

Communication is assumed not to overlap computation (what DataParallel does; see the docs).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

#: Assumed cluster networks: (latency alpha in s, bandwidth in bytes/s per link).
NETWORKS = {
    "100 Gb/s InfiniBand (alpha 2 us, 12.5 GB/s)": (2e-6, 12.5e9),
    "10 Gb/s Ethernet (alpha 25 us, 1.25 GB/s)": (25e-6, 1.25e9),
}
PREDICTED_RANKS = [2, 8, 64, 512]
STRONG_BATCH, WEAK_ROWS = 2048, 512


def fit_alpha_beta(rows: list[dict]) -> dict[str, float]:
    """t = a + b * bytes, least squares on relative errors (every size counts alike)."""
    m = np.array([r["bytes"] for r in rows], float)
    t = np.array([r["allreduce_ms"] for r in rows]) / 1e3
    (a, b), *_ = np.linalg.lstsq(np.stack([1 / t, m / t], axis=1), np.ones_like(t), rcond=None)
    big = [r for r in rows if r["elements"] >= 10**6] or rows
    gamma = float(np.median([r["add_ms"] / 1e3 / r["bytes"] for r in big]))
    return {"a_s": float(a), "b_s_per_byte": float(b), "gamma_s_per_byte": gamma}


def allreduce_time(ranks: int, nbytes: float, alpha: float, bandwidth: float, gamma: float):
    """Rabenseifner's Allreduce (MPICH's for large messages): a reduce-scatter by recursive
    halving, then an allgather by recursive doubling."""
    if ranks == 1:
        return 0.0
    share = (ranks - 1) / ranks * nbytes
    return 2 * math.log2(ranks) * alpha + 2 * share / bandwidth + share * gamma


def local_batches() -> list[int]:
    """The per-rank batches the predictions need: B / p for every p, and the weak rows."""
    return sorted({STRONG_BATCH // 2**k for k in range(10)} | {WEAK_ROWS})


def predictions(compute: dict, fit: dict, models: dict) -> list[dict]:
    """Efficiencies at 1 to 512 ranks; ``compute[model][batch]``: seconds per step."""
    found = []
    for model, sizes in models.items():
        step = compute[model]
        nbytes = 4 * parameter_count(sizes)
        for network, (alpha, bandwidth) in NETWORKS.items():
            for ranks in [2**k for k in range(10)]:
                comm = allreduce_time(ranks, nbytes, alpha, bandwidth, fit["gamma_s_per_byte"])
                local = step[STRONG_BATCH // ranks]
                strong = step[STRONG_BATCH] / (ranks * (local + comm))
                weak = step[WEAK_ROWS] / (step[WEAK_ROWS] + comm)
                for scaling, efficiency in (
                    (f"strong, batch {STRONG_BATCH}", strong),
                    (f"weak, {WEAK_ROWS} rows per rank", weak),
                ):
                    found.append(
                        {
                            "kind": "prediction",
                            "model": model,
                            "network": network,
                            "scaling": scaling,
                            "ranks": ranks,
                            "efficiency": efficiency,
                        }
                    )
    return found


def parameter_count(sizes: Sequence[int]) -> int:
    return sum(a * b + b for a, b in itertools.pairwise(sizes))
