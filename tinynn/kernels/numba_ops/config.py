"""Numba settings: the one place that decides how every kernel of this backend is compiled.

The settings are read once, when the Numba backend is first imported, into a frozen
``NumbaSettings``; every kernel module decorates its loops with ``jit`` from here, so changing
a setting here changes it everywhere (numbagg's ``decorators.py`` is the model).

Defaults and why:

* ``cache=True``: compiled machine code is written next to the source (``__pycache__``, or
  Numba's user-wide cache when that is read-only), so only the very first run pays the compile
  time. ``TINYNN_NUMBA_CACHE=0`` turns it off, e.g. on a read-only install; it is the only
  environment variable tinynn reads, and only here.
* ``fastmath=False``: no reassociation, no flush-to-zero, NaN and inf behave as in NumPy. Our
  kernels are tested against the NumPy twins to ~1 rounding error, which fastmath would break.
* ``error_model="numpy"``: x / 0 gives inf or NaN as in NumPy. Numba's default ("python")
  raises ZeroDivisionError and puts a branch in every division, which stops vectorization.
* ``parallel=False`` (serial kernels), from measurements on the 2-core AVX-512 machine this
  backend was written on (OpenBLAS 0.3.31 with 2 threads; medians of 7 runs)::

      kernel                               serial      parallel=True (workqueue layer)
      Adam update, 4M float32 params       9.6 ms      6.0 ms   alone
      ReLU + bias, 1024 x 4096 float32     3.5 ms      2.4 ms   alone
      GEMM 1024² then ReLU + bias pass,   57.4 ms     61.3 ms   interleaved with BLAS
        repeated (a Dense layer step)

  Alone, the parallel loops win a little on large arrays (~1.5x; the loops are memory-bound,
  and 2 cores share one memory bus). Interleaved with BLAS calls, as in every training step,
  the win disappears: the Numba and OpenBLAS thread pools take turns spinning and waiting for
  each other (an earlier measurement of small kernels between GEMMs showed ~30x slow-downs).
  At the sizes tinynn trains at (batch 32-256, width <= 1024) a kernel takes microseconds, less
  than waking a thread pool. So every kernel is serial; ``parallel=True`` would turn the
  ``prange`` loops of the row-independent kernels into parallel loops (the threading layer
  would then have to be chosen too; "workqueue" needs no extra library).
* ``numpy_math_min_size``: see below.

Activations built on exp/tanh/log (sigmoid, tanh, elu, softplus, softmax) are a special case.
Without Intel's SVML library (not available to this Numba: ``numba -s`` reports
"SVML Operational: False"), LLVM cannot vectorize calls to exp or tanh, so a compiled loop
calls the C library once per element (about 2 ns for expf, 13 ns for tanhf), while NumPy's
ufuncs use their own AVX-512 versions (about 0.2-0.4 ns per element). Measured on a
128 x 256 float32 array: tanh 430 µs compiled vs 5.6 µs in NumPy; exp 60 µs vs 11 µs. For
small arrays the compiled single pass still wins, because NumPy pays a few microseconds of
overhead per ufunc call. So for arrays of at least ``numpy_math_min_size`` elements the Numba
backend evaluates those activations with NumPy's ufuncs (after its own bias pass), and below
it uses the compiled single pass. Cheap activations (linear, relu, leaky_relu) and every
backward pass except softplus's are always compiled.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numba


@dataclass(frozen=True)
class NumbaSettings:
    """How the kernels are compiled. See the module docstring for the measurements behind
    each default."""

    cache: bool = True
    fastmath: bool = False
    parallel: bool = False
    error_model: str = "numpy"
    #: Arrays with at least this many elements get exp/tanh-based forward activations from
    #: NumPy's SIMD ufuncs instead of a compiled loop (crossover measured at ~2-6k elements).
    numpy_math_min_size: int = 4096

    def jit_options(self) -> dict[str, Any]:
        """Keyword arguments for ``numba.njit``."""
        return {
            "cache": self.cache,
            "fastmath": self.fastmath,
            "parallel": self.parallel,
            "error_model": self.error_model,
            "nogil": True,
        }


def read_settings(environ: dict[str, str] | None = None) -> NumbaSettings:
    """Build the settings from their defaults and the ``TINYNN_NUMBA_CACHE`` override
    ("0", "false", "no" or "off" turn the on-disk cache off)."""
    environ = os.environ if environ is None else environ
    cache = environ.get("TINYNN_NUMBA_CACHE", "1").strip().lower()
    return NumbaSettings(cache=cache not in ("0", "false", "no", "off"))


#: Read once, when the backend is first imported.
SETTINGS = read_settings()

#: ``prange`` is ``range`` in serial kernels and a parallel loop when ``parallel=True``.
prange = numba.prange


def jit(function: Callable | None = None, *, inline: bool = False) -> Callable:
    """Compile ``function`` with the backend's settings (lazily, on its first call).

    ``@jit(inline=True)`` marks a helper that Numba should paste into its callers (for a
    function called once per row, the call itself would cost more than a short row).
    """
    options = SETTINGS.jit_options()
    if inline:
        options["inline"] = "always"
    if function is None:
        return numba.njit(**options)
    return numba.njit(**options)(function)
