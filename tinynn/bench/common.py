"""What every benchmark shares: timing, statistics, optional modules, backends and threads.

The machines we run on are shared and noisy, so every number we quote is a *median* over
repeats, with its inter-quartile range beside it, and every comparison is a *ratio* against a
baseline measured in the same invocation. ``interleave`` runs the contenders round-robin
(one epoch of each, then the next round) so that a slow spell on the machine hits all of them
rather than one.

Command-line options are in ``tinynn.bench.options``, printing and result files in
``tinynn.bench.output``. The scripts in the source checkout's ``benchmarks/`` folder use these
helpers too.
"""

from __future__ import annotations

import contextlib
import importlib
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

# Threads NumPy's BLAS uses now; the roofline records them too, so it is defined there once.
from tinynn.profiling.roofline import blas_threads  # noqa: F401 (re-exported)

DEFAULT_OUT = "benchmarks/results"
MISSING = "missing"

# -- timing and statistics ------------------------------------------------------------------


def summarize(times: Sequence[float]) -> dict[str, float]:
    """Median, quartiles and IQR of a list of timings (seconds), plus min and count."""
    values = sorted(times)
    if len(values) == 1:
        q1 = q3 = values[0]
    else:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return {
        "median": statistics.median(values),
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "min": values[0],
        "n": len(values),
    }


def calls_per_repeat(fn: Callable[[], Any], min_time: float) -> int:
    """How many calls of ``fn`` make one repeat last at least ``min_time`` seconds
    (1, 2, 5, 10, 20, 50, … as ``timeit.Timer.autorange`` chooses)."""
    number = 1
    while True:
        for factor in (1, 2, 5):
            count = number * factor
            start = time.perf_counter()
            for _ in range(count):
                fn()
            if time.perf_counter() - start >= min_time:
                return count
        number *= 10


def time_per_call(fn: Callable[[], Any], repeats: int, warmup: int, min_time: float) -> list[float]:
    """Seconds per call of ``fn``, one value per repeat; each repeat loops over enough calls
    to last ``min_time``, so that calls of a microsecond are timed well above the clock's
    resolution. ``warmup`` untimed calls come first (they also trigger JIT compilation)."""
    for _ in range(warmup):
        fn()
    number = calls_per_repeat(fn, min_time)
    results = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        results.append((time.perf_counter() - start) / number)
    return results


def time_each_call(
    fn: Callable[[], Any], repeats: int, warmup: int, min_time: float, min_calls: int = 5
) -> list[float]:
    """Seconds of every single call, over ``repeats`` rounds of at least ``min_time`` seconds
    and ``min_calls`` calls each: a latency distribution rather than an average."""
    for _ in range(warmup):
        fn()
    results = []
    for _ in range(repeats):
        round_start = time.perf_counter()
        calls = 0
        while calls < min_calls or time.perf_counter() - round_start < min_time:
            start = time.perf_counter()
            fn()
            results.append(time.perf_counter() - start)
            calls += 1
    return results


def interleave(
    runners: dict[str, Callable[[], Any]], repeats: int, warmup: int
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Time each runner ``warmup + repeats`` times, round-robin: round r runs every runner once.

    Returns ``(times, errors)``: the timed seconds per runner name, and for each runner that
    raised, its error text (it is dropped from later rounds; its times stay incomplete).
    """
    times: dict[str, list[float]] = {name: [] for name in runners}
    errors: dict[str, str] = {}
    for round_index in range(warmup + repeats):
        seconds = {}
        for name, run in runners.items():
            if name in errors:
                continue
            start = time.perf_counter()
            try:
                run()
            except Exception as error:  # a broken contender must not sink the others
                errors[name] = f"{type(error).__name__}: {error}"
                print(f"[bench] {label(name)} failed: {errors[name]}", file=sys.stderr)
                continue
            seconds[name] = time.perf_counter() - start
            if round_index >= warmup:
                times[name].append(seconds[name])
        kind = "warmup" if round_index < warmup else "timed"
        progress = ", ".join(f"{label(name)} {value:.3f}s" for name, value in seconds.items())
        print(f"[bench] round {round_index + 1} ({kind}): {progress}", file=sys.stderr, flush=True)
    return times, errors


def label(name: Any) -> str:
    """A runner's name for messages: tuples such as ("floor", "sgd") are joined by spaces."""
    return " ".join(str(part) for part in name) if isinstance(name, tuple) else str(name)


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, or None when either is unknown."""
    if value is None or baseline is None or baseline == 0:
        return None
    return value / baseline


# -- optional modules, backends and threads -------------------------------------------------


def import_optional(name: str) -> ModuleType | None:
    """``import name``, or None if it is not installed. Tests replace this to fake absence."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def tinynn_backends(requested: Sequence[str]) -> dict[str, Any]:
    """Map each requested backend name to its kernel namespace, or to ``MISSING``.

    A backend is used when ``tinynn.kernels.BACKENDS`` lists it and ``get_backend`` returns it;
    otherwise (e.g. "numba" without Numba installed) it is reported as missing, never faked.
    """
    from tinynn import kernels

    found: dict[str, Any] = {}
    for name in requested:
        if name not in kernels.BACKENDS or name == "auto":
            found[name] = MISSING
            continue
        try:
            found[name] = kernels.get_backend(name)
        except Exception as error:  # e.g. listed, but Numba itself is not installed
            print(f"[bench] backend {name!r} unavailable: {error}", file=sys.stderr)
            found[name] = MISSING
    return found


def backend_status(backends: dict[str, Any]) -> dict[str, str]:
    """The JSON's "backends": "ok" for each backend ``tinynn_backends`` found, else ``MISSING``."""
    return {name: MISSING if ops == MISSING else "ok" for name, ops in backends.items()}


@contextlib.contextmanager
def limit_threads(threads: int | None) -> Iterator[None]:
    """Cap every BLAS and OpenMP pool at ``threads`` for the duration (no-op for None)."""
    threadpoolctl = import_optional("threadpoolctl")
    if threads is None or threadpoolctl is None:
        yield
        return
    with threadpoolctl.threadpool_limits(limits=threads):
        yield
