"""Describe the machine a benchmark ran on, so that every result file says where it came from.

A time means little without the CPU, the core count and, above all, the BLAS: NumPy's
OpenBLAS picks a different kernel per CPU (threadpoolctl's ``architecture``), and the
environment variables ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` override that choice, so
we record both the variables and the kernel that OpenBLAS reports it actually uses.

Call ``machine_info()`` *after* the measurements: threadpoolctl lists only the libraries that
are loaded by then (another library may bring its own OpenMP), and the thread counts are the
ones in force.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from tinynn.bench import common
from tinynn.profiling.roofline import cpu_model, vector_flags

#: Environment variables that change which kernel or how many threads the libraries use.
THREAD_VARIABLES = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)

#: Distribution names whose versions we report ("missing" when not installed). A benchmark
#: that compares with other libraries passes a longer tuple to ``machine_info``.
PACKAGES = ("numpy", "numba", "threadpoolctl", "matplotlib", "tinynn")
#: Versions that ``format_machine`` prints on lines of their own, not in the libraries line.
_OWN_LINES = ("numpy", "threadpoolctl", "matplotlib", "tinynn")


def package_version(name: str) -> str:
    """Installed version of a distribution, without importing it; "missing" if absent."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return common.MISSING


def thread_pools() -> list[dict[str, Any]]:
    """threadpoolctl's view of the loaded BLAS and OpenMP libraries (empty if unavailable)."""
    threadpoolctl = common.import_optional("threadpoolctl")
    if threadpoolctl is None:
        return []
    pools = []
    for lib in threadpoolctl.threadpool_info():
        pools.append(
            {
                "user_api": lib.get("user_api"),
                "internal_api": lib.get("internal_api"),
                "prefix": lib.get("prefix"),
                "version": lib.get("version"),
                "kernel": lib.get("architecture"),
                "threading_layer": lib.get("threading_layer"),
                "num_threads": lib.get("num_threads"),
                "file": os.path.basename(lib.get("filepath", "")),
                "used_by_numpy": "numpy" in lib.get("filepath", ""),
            }
        )
    return pools


def _numba_threads() -> int | None:
    numba = sys.modules.get("numba")
    return numba.get_num_threads() if numba is not None else None


def machine_info(
    requested_threads: int | None = None, packages: Sequence[str] = PACKAGES
) -> dict[str, Any]:
    """CPU, cores, library versions, BLAS kernel and thread settings, as a JSON-able dict.

    ``packages``: the distributions whose versions to record. ``library_notes`` starts empty: a
    caller may add a few words per package (its BLAS, its threads) for ``format_machine``.
    """
    pools = thread_pools()
    blas = [pool for pool in pools if pool["user_api"] == "blas"]
    numpy_blas = next((pool for pool in blas if pool["used_by_numpy"]), blas[0] if blas else None)
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "cpu_model": cpu_model(),
        "vector_flags": list(vector_flags()),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(affinity(0)) if affinity else os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: package_version(name) for name in packages},
        "library_notes": {},
        "numpy_blas": numpy_blas,
        "thread_pools": pools,
        "threads": {
            "requested": requested_threads,
            "numpy_blas": numpy_blas["num_threads"] if numpy_blas else None,
            "numba": _numba_threads(),
        },
        "environment": {name: os.environ.get(name, "unset") for name in THREAD_VARIABLES},
        "load_average": load_average(),
        "tinynn_source": source_state(),
    }


def source_state() -> dict[str, Any] | None:
    """The git commit of the tinynn checkout and how many tracked files differ from it, so a
    result can be traced to the code it measured (None outside a git checkout)."""
    folder = Path(__file__).resolve().parents[2]

    def git(*arguments: str) -> str:
        command = ["git", "-C", str(folder), *arguments]
        return subprocess.run(command, capture_output=True, text=True, timeout=5, check=True).stdout

    try:
        commit = git("rev-parse", "--short", "HEAD").strip()
        changes = git("status", "--porcelain", "--untracked-files=no").splitlines()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "modified_files": len(changes)}


def busy_warning(info: dict[str, Any]) -> str | None:
    """A warning when the 1-minute load average says other processes shared the CPU: on a
    small machine a second busy process can slow a multi-threaded BLAS call many times over."""
    load = info.get("load_average")
    own = info["threads"].get("numpy_blas") or 1
    if not load or load[0] - own <= 0.5:
        return None
    return (
        f"WARNING: 1-minute load average {load[0]} with {own} threads of our own on "
        f"{info['usable_cores']} cores: other processes competed for the CPU; expect noise"
    )


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: how busy the (shared) machine was."""
    getloadavg = getattr(os, "getloadavg", None)
    return [round(value, 2) for value in getloadavg()] if getloadavg else None


def format_machine(info: dict[str, Any]) -> str:
    """A few lines for the top of a printed table."""
    blas = info.get("numpy_blas")
    if blas:
        blas_text = (
            f"{blas['prefix']} {blas['version']}, kernel {blas['kernel']}, "
            f"{blas['num_threads']} threads"
        )
    else:
        blas_text = "unknown (threadpoolctl missing)"
    versions = info["versions"]
    notes = info.get("library_notes", {})
    libraries = ", ".join(
        f"{name} {version}" + (f" ({notes[name]})" if name in notes else "")
        for name, version in versions.items()
        if name not in _OWN_LINES
    )
    env = info["environment"]
    source = info.get("tinynn_source") or {}  # empty outside a git checkout
    tinynn_text = f"tinynn {versions['tinynn']}"
    if "commit" in source:
        tinynn_text += f" at commit {source['commit']}"
    if "modified_files" in source:
        tinynn_text += f" ({source['modified_files']} tracked files modified)"
    warning = busy_warning(info)
    return "\n".join(
        [
            f"CPU: {info['cpu_model']}, {info['logical_cores']} logical cores "
            f"({info['usable_cores']} usable)",
            f"NumPy {versions['numpy']} BLAS: {blas_text}",
            libraries,
            f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}  "
            f"OPENBLAS_L2_SIZE={env['OPENBLAS_L2_SIZE']}  "
            f"OMP_NUM_THREADS={env['OMP_NUM_THREADS']}  load average {info['load_average']}",
            tinynn_text,
            *([warning] if warning else []),
        ]
    )
