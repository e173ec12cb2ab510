"""MPI, imported on first use: the one place tinynn touches ``mpi4py``.

``import tinynn`` never imports this module; ``DataParallel()`` does, when it is created.
``pip install ".[mpi]"`` brings ``mpi4py`` and the ``mpich`` wheel (an MPI library installed
by pip). On a cluster, install only ``mpi4py`` built against the site's MPI instead.
"""

from __future__ import annotations

from types import ModuleType

INSTALL_HINT = (
    'pip install "tinynn[mpi]" (mpi4py and the mpich wheel), or on a cluster, mpi4py built '
    "against the site's MPI"
)


def import_mpi() -> ModuleType:
    """``mpi4py.MPI``, or an ImportError saying what to install.

    mpi4py 4 loads the MPI library when ``mpi4py.MPI`` is imported: mpi4py without an MPI
    library raises RuntimeError("cannot load MPI library") there, which we turn into the same
    ImportError as a missing mpi4py.
    """
    try:
        from mpi4py import MPI
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] != "mpi4py":
            raise
        raise ModuleNotFoundError(
            f"tinynn.distributed needs mpi4py: {INSTALL_HINT}", name="mpi4py"
        ) from None
    except RuntimeError as error:
        raise ImportError(f"mpi4py found no MPI library ({error}); {INSTALL_HINT}") from None
    return MPI


def launched_by_mpi4py() -> bool:
    """True when this process runs under ``python -m mpi4py`` (``mpiexec -n N python -m mpi4py
    script.py``), the launch that aborts the whole job when one process fails."""
    import sys

    return "mpi4py.run" in sys.modules
