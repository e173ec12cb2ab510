"""Compute backends. ``get_backend(name)`` returns a namespace of kernels.

"numpy" is the reference and always available. "numba" (compiled kernels) arrives with the
performance work; "auto" picks the fastest backend that imports. Nothing here imports Numba at
``import tinynn`` time.
"""

from __future__ import annotations

from types import ModuleType

BACKENDS = ("auto", "numpy")


def get_backend(name: str = "auto") -> ModuleType:
    """Return the kernel namespace called ``name`` ("auto" or "numpy")."""
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ValueError(f"Unknown backend {name!r}; expected one of {list(BACKENDS)}")
    from tinynn.kernels import numpy_ops

    return numpy_ops
