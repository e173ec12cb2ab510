"""The roofline of this machine: the two numbers that bound how fast any layer can run.

The roofline model (Williams, Waterman and Patterson, "Roofline: an insightful visual
performance model for multicore architectures", CACM 2009) bounds the speed of a piece of work
that does F floating-point operations and moves B bytes between the processor and memory::

    attainable GFLOP/s = min(peak GFLOP/s, I · bandwidth)      with I = F / B (FLOP per byte)
    fastest time       = max(F / peak, B / bandwidth)

Below the *ridge point* I = peak / bandwidth the work is memory-bound (a one-sample Dense
layer reads every weight once for two FLOPs per weight: I ≈ 0.5); above it, compute-bound (a
batch of 128 reuses each weight 128 times). Both numbers are measured here, on the machine in
use, at the thread count in use:

* **peak**: the best of several large square matrix products (``np.matmul``, so the BLAS
  NumPy uses, at its current thread count) in the model's dtype, counting 2·n³ FLOPs;
* **bandwidth**: the best of several copies of a large array (``np.copyto``), counting the
  bytes read plus the bytes written, as the STREAM benchmark's "copy" does. NumPy copies on
  one thread, as NumPy's (and our Numba backend's) element-wise passes run.

Copies smaller than the last-level cache measure that cache rather than the memory behind
it; ``Roofline.describe()`` says which of the two the working set fits in. Layers whose data
sits in a faster cache than the copy's can beat the bound (more than 100 % of it).
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: The CPU flags that decide how wide the vector units are (x86 and Arm names).
VECTOR_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "neon",
    "asimd",
    "sve",
    "sve2",
)


@dataclass(frozen=True)
class Roofline:
    """The two measured numbers, and what they were measured on.

    Attributes:
        peak_gflops: best matrix-product speed, GFLOP/s (10⁹ FLOP per second).
        bandwidth_gbs: best copy speed, GB/s (10⁹ bytes per second, read + written).
        dtype: the dtype both were measured in.
        threads: the BLAS threads the product ran on (None if unknown).
        cpu_model, vector_flags: the CPU, and which of ``VECTOR_FLAGS`` it has.
        method: the sizes and repeats used, and the cache sizes, for the record.
    """

    peak_gflops: float
    bandwidth_gbs: float
    dtype: str = "float32"
    threads: int | None = None
    cpu_model: str = ""
    vector_flags: tuple[str, ...] = ()
    method: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("peak_gflops", "bandwidth_gbs"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0):
                raise ValueError(f"Roofline {name} must be a positive number, got {value!r}")

    @property
    def ridge_point(self) -> float:
        """FLOP per byte where the two roofs meet: below it, work is memory-bound."""
        return self.peak_gflops / self.bandwidth_gbs

    def bound_gflops(self, intensity: float) -> float:
        """The attainable GFLOP/s at ``intensity`` FLOP per byte: min(peak, I · bandwidth)."""
        return min(self.peak_gflops, intensity * self.bandwidth_gbs)

    def seconds(self, flops: float, nbytes: float) -> float:
        """The fastest time for work of ``flops`` FLOPs moving ``nbytes`` bytes."""
        return max(flops / (self.peak_gflops * 1e9), nbytes / (self.bandwidth_gbs * 1e9))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["vector_flags"] = list(self.vector_flags)
        data["ridge_point"] = self.ridge_point
        return data

    @classmethod
    def best(cls, measured: list[Roofline]) -> Roofline:
        """The highest peak and the highest bandwidth among several measurements of one
        machine: on a shared machine a busy spell only ever lowers them, so the best is the
        closest to what the machine can do."""
        first = measured[0]
        return cls(
            peak_gflops=max(r.peak_gflops for r in measured),
            bandwidth_gbs=max(r.bandwidth_gbs for r in measured),
            dtype=first.dtype,
            threads=first.threads,
            cpu_model=first.cpu_model,
            vector_flags=first.vector_flags,
            method={**first.method, "measurements": len(measured)},
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Roofline:
        """The inverse of ``to_dict`` (derived entries such as ``ridge_point`` are ignored)."""
        names = ("peak_gflops", "bandwidth_gbs", "dtype", "threads", "cpu_model", "method")
        values = {name: data[name] for name in names if name in data}
        return cls(**values, vector_flags=tuple(data.get("vector_flags", ())))

    def describe(self) -> str:
        """Two lines: the numbers, then the CPU they come from."""
        threads = "? threads" if self.threads is None else f"{self.threads} thread"
        threads += "s" if self.threads != 1 else ""
        gemm = self.method.get("gemm_n")
        copy_mib = self.method.get("copy_mib")
        cache = self.method.get("last_level_cache_bytes")
        where = ""
        if copy_mib and cache:
            fits = "inside" if 2 * copy_mib * 2**20 <= cache else "larger than"
            where = f", {fits} the {cache / 2**20:g} MiB last-level cache"
        gemm_text = f" ({self.dtype} GEMM {gemm}³, {threads})" if gemm else ""
        count = self.method.get("measurements", 1)
        best = f"; the best of {count} measurements" if count > 1 else ""
        copy_text = f" (copy of {copy_mib:g} MiB{where})" if copy_mib else ""
        flags = " ".join(self.vector_flags) or "none found"
        return (
            f"roofline: peak {self.peak_gflops:.1f} GFLOP/s{gemm_text}, bandwidth "
            f"{self.bandwidth_gbs:.1f} GB/s{copy_text}; ridge {self.ridge_point:.1f} FLOP/byte"
            f"{best}\n"
            f"CPU: {self.cpu_model or 'unknown'}; vector flags: {flags}"
        )


def measure_roofline(
    dtype: Any = "float32",
    gemm_n: int = 1024,
    copy_mib: float = 64,
    repeats: int = 7,
    threads: int | None = None,
) -> Roofline:
    """Measure the peak and the bandwidth of this machine (takes about a second).

    Args:
        dtype: "float32" (default) or "float64": what the model computes in.
        gemm_n: the matrix size of the peak measurement (n × n times n × n).
        copy_mib: MiB copied per bandwidth measurement (the same again is read).
        repeats: measurements of each; the best is kept, since a busy machine only ever
            makes a run slower.
        threads: BLAS threads for the product (None: as configured now). Needs threadpoolctl
            to change them; the number in use is recorded either way.
    """
    dtype = np.dtype(dtype)
    if repeats < 1 or gemm_n < 1 or copy_mib <= 0:
        raise ValueError(
            f"repeats, gemm_n and copy_mib must be positive, got {repeats}, {gemm_n}, {copy_mib}"
        )
    with thread_limit(threads):
        peak = _best_gemm_gflops(gemm_n, dtype, repeats)
        used_threads = blas_threads()
    bandwidth = _best_copy_gbs(copy_mib, dtype, repeats)
    return Roofline(
        peak_gflops=peak,
        bandwidth_gbs=bandwidth,
        dtype=dtype.name,
        threads=used_threads,
        cpu_model=cpu_model(),
        vector_flags=vector_flags(),
        method={
            "gemm_n": gemm_n,
            "copy_mib": copy_mib,
            "repeats": repeats,
            "last_level_cache_bytes": last_level_cache_bytes(),
        },
    )


def _best_gemm_gflops(n: int, dtype: np.dtype, repeats: int) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    np.matmul(a, b, out=out)  # warm-up: BLAS threads start, pages are touched
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best / 1e9


def _best_copy_gbs(mib: float, dtype: np.dtype, repeats: int) -> float:
    count = max(1, int(mib * 2**20) // dtype.itemsize)
    source = np.ones(count, dtype)
    target = np.zeros(count, dtype)  # written once, so its pages exist before timing
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - start)
    return 2.0 * source.nbytes / best / 1e9


def thread_limit(threads: int | None) -> contextlib.AbstractContextManager:
    """threadpoolctl's ``threadpool_limits(threads)``, or nothing when threads is None."""
    if threads is None:
        return contextlib.nullcontext()
    try:
        import threadpoolctl
    except ImportError:
        message = "setting threads needs threadpoolctl (pip install threadpoolctl)"
        raise ImportError(message) from None
    return threadpoolctl.threadpool_limits(limits=threads)


def blas_threads() -> int | None:
    """Threads NumPy's BLAS uses now, as threadpoolctl reports it (None without it)."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    libraries = [lib for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    for lib in libraries:
        if "numpy" in lib.get("filepath", ""):
            return lib["num_threads"]
    return libraries[0]["num_threads"] if libraries else None


def _cpuinfo_value(key: str) -> str | None:
    """The first "key : value" line of /proc/cpuinfo (Linux), else None."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        return None
    return None


def cpu_model() -> str:
    """The "model name" of /proc/cpuinfo (Linux), else what ``platform`` knows."""
    return _cpuinfo_value("model name") or platform.processor() or platform.machine() or "unknown"


def vector_flags() -> tuple[str, ...]:
    """Which of ``VECTOR_FLAGS`` this CPU reports ("flags" on x86, "Features" on Arm)."""
    text = _cpuinfo_value("flags") or _cpuinfo_value("Features") or ""
    present = set(text.split())
    return tuple(flag for flag in VECTOR_FLAGS if flag in present)


def last_level_cache_bytes() -> int | None:
    """The size of the largest cache of CPU 0, from sysfs (Linux), else None."""
    folder = "/sys/devices/system/cpu/cpu0/cache"
    sizes = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return None
    for entry in entries:
        try:
            with open(os.path.join(folder, entry, "size")) as handle:
                text = handle.read().strip()
        except OSError:
            continue
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        if text and text[-1] in units and text[:-1].isdigit():
            sizes.append(int(text[:-1]) * units[text[-1]])
        elif text.isdigit():
            sizes.append(int(text))
    return max(sizes) if sizes else None
