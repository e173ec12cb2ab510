"""Numba settings: the one place that decides how every kernel of this backend is compiled.

The settings are read once, when the Numba backend is first imported, into a frozen
``NumbaSettings``; every kernel module decorates its loops with ``jit`` from here, so changing
a setting here changes it everywhere (numbagg's ``decorators.py`` is the model).

Defaults and why:

* ``cache=True``: compiled machine code is written next to the source (``__pycache__``, or
  Numba's user-wide cache when that is read-only), so only the very first run pays the compile
  time. ``TINYNN_NUMBA_CACHE=0`` turns it off, e.g. on a read-only install; it is the only
  environment variable tinynn reads, and only here. Numba keys its cache on each kernel's
  source and argument types, not on the options below: after changing one of them, delete
  the ``*.nbi``/``*.nbc`` files in this package's ``__pycache__`` (or the stale machine code
  is loaded).
* ``fastmath=False``: no reassociation, no flush-to-zero, NaN and inf behave as in NumPy. Our
  kernels are tested against the NumPy twins to ~1 rounding error, which fastmath would break.
* ``error_model="numpy"``: x / 0 gives inf or NaN as in NumPy. Numba's default ("python")
  raises ZeroDivisionError and puts a branch in every division, which stops vectorization.
* ``parallel=False`` (serial kernels), measured on the 2-core AVX-512 machine this backend was
  written on (OpenBLAS 0.3.31, 2 threads; Numba's workqueue threading layer; medians of 15
  alternating runs; other jobs were running, so read the ratios rather than the times)::

      kernel                                     serial      parallel=True   ratio
      Adam update, 4M float32 params             1.55 ms     1.67 ms          1.1
      Adam update, 100k float32 params           0.019 ms    0.070 ms         3.7
      ReLU + bias pass, 1024 x 4096 float32      0.56 ms     0.63 ms          1.1
      GEMM 1024³ then the ReLU + bias pass       42.8 ms     42.6 ms          1.0
      GEMM 128 x 256 x 256 then the pass         0.084 ms    0.228 ms         2.7
      GEMM 32 x 64 x 64 then the pass            0.004 ms    0.144 ms        32

  A second run under heavier load gave ratios of 1.6 to 12, and the OpenMP layer was worse
  (11x for the 128 x 256 step). The loops are memory-bound, so a second core adds little even
  alone, and between BLAS calls the Numba and OpenBLAS thread pools take turns waking up and
  spinning while the other works. A tinynn kernel takes microseconds, less than waking a pool.
  So every kernel is serial. ``parallel=True`` would turn the ``prange`` loops of the
  row-independent kernels into parallel loops (with a threading layer to choose as well).
* ``numpy_forward_min_size`` / ``numpy_backward_min_size``: see below.

Activations built on tanh/exp/expm1 are a special case. Without Intel's SVML library (not
available to this Numba: ``numba -s`` reports "SVML Operational: False"), LLVM cannot vectorize
calls to tanh or exp, so a compiled loop calls the C library once per element (~13 ns for
tanhf, ~2 ns for expf), while NumPy's ufuncs have their own AVX-512 versions (~0.2-0.4 ns per
element). Compiled single pass vs NumPy (bias add + ufuncs), µs, float32, median of 7::

    forward           128x10       128x32       128x64       128x256      128x1024
    tanh             11.5 / 1.9   34.6 / 2.5   70.8 / 3.6  449  / 10.1  1957 / 39
    elu               4.9 / 6.1   14.1 / 9.4   28.6 / 14.7 234  / 72    1226 / 611
    softmax           4.6 / 13.4  13.2 / 17.0  28.2 / 21.3 123  / 46     571 / 306
    sigmoid (exp)     3.6 / 6.3    8.9 / 9.3   17.5 / 14.2  68  / 60     269 / 601
    softplus         12.6 / 12.9  47.9 / 41.2 100  / 97    474  / 545   3460 / 3127
    relu              0.8 / 2.3    0.8 / 3.4    1.2 / 5.1   2.4 / 15.3   9.4 / 61
    backward
    softplus (expm1)  8.2 / 4.9           -    53.0 / 8.2  374  / 19.5  1103 / 77
    relu              1.1 / 4.8           -     1.7 / 6.4   3.7 / 11.7  14.6 / 41

So the Numba backend hands tanh, and elu and softmax from 4096 elements up, to NumPy for the
forward pass (after a bias add), and softplus to NumPy for the backward pass; everything else,
including every other backward pass, runs compiled. On a machine whose Numba has SVML the
compiled loops vectorize too, and these tables should be measured again.

The fused loss kernels always run compiled, although they exponentiate every logit: with the
class counts tinynn is made for they win by far (128 x 10: ~7 µs against 40-75 µs), and in
float32 they are more accurate than the NumPy twins (no cancellation at large logits). With
hundreds of classes they take about twice NumPy's time (128 x 256: ~230 µs against ~110 µs).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    #: activation name -> arrays of at least this many elements use NumPy's ufuncs for the
    #: forward pass (0: always). Activations not listed always run compiled.
    numpy_forward_min_size: Mapping[str, int] = field(
        default_factory=lambda: {"tanh": 0, "elu": 4096, "softmax": 4096}
    )
    #: the same for the backward pass.
    numpy_backward_min_size: Mapping[str, int] = field(default_factory=lambda: {"softplus": 0})

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

    ``@jit(inline=True)`` marks a small helper that takes arrays, to be pasted into its
    callers: a separate call per element or per row pays reference counting on every array
    argument, which measured 3-10x slower than the inlined loop on a 128 x 256 batch.
    """
    options = SETTINGS.jit_options()
    if inline:
        options["inline"] = "always"
    if function is None:
        return numba.njit(**options)
    return numba.njit(**options)(function)
