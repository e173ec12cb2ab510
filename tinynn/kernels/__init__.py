"""Compute backends. ``get_backend(name)`` returns a namespace of kernels.

* "numpy" (``tinynn.kernels.numpy_ops``): the reference, always available.
* "numba" (``tinynn.kernels.numba_ops``): the same functions compiled with Numba, fused into
  single passes around the BLAS calls. Needs ``pip install numba``.
* "auto": "numba" when Numba can be imported, else "numpy".

Both namespaces have the same public names and signatures (layer kernels, loss kernels and the
optimizer kernels), plus ``NAME`` and the optimizer submodule ``optim``. Nothing here imports
Numba at ``import tinynn`` time: the Numba backend is imported on the first request for it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

BACKENDS = ("auto", "numpy", "numba")

_MODULES = {"numpy": "tinynn.kernels.numpy_ops", "numba": "tinynn.kernels.numba_ops"}


def numba_available() -> bool:
    """True if Numba imports (this imports it, so call it only when a backend is chosen)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def get_backend(name: str = "auto") -> ModuleType:
    """Return the kernel namespace called ``name``: "auto", "numpy" or "numba".

    Raises ValueError for an unknown name, and ImportError for "numba" without Numba.
    """
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ValueError(f"Unknown backend {name!r}; expected one of {list(BACKENDS)}")
    name = name.lower()
    if name == "auto":
        name = "numba" if numba_available() else "numpy"
    elif name == "numba" and not numba_available():
        raise ImportError(
            "The 'numba' backend needs Numba, which could not be imported. Install it with "
            "`pip install numba`, or use backend='numpy' (or 'auto', which falls back to it)."
        )
    return importlib.import_module(_MODULES[name])
