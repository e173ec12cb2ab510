"""Training on several processes: ``DataParallel`` over MPI (``mpi4py``).

    pip install "tinynn[mpi]"                        # mpi4py and the mpich wheel
    mpiexec -n 4 python -m mpi4py train.py           # the same train.py as on one process

    from tinynn.distributed import DataParallel
    model.compile(optimizer="adam", loss="mse", distribution=DataParallel())

``import tinynn`` imports neither this package nor mpi4py; creating a ``DataParallel`` imports
mpi4py. Why ``python -m mpi4py``: when a process raises and nobody catches it, mpi4py's runner
calls ``MPI_Abort``, which ends every process of the job; a plain ``python train.py`` under
mpiexec leaves the other processes waiting forever in their next collective call. See
docs/scaling.md.
"""

from tinynn.distributed.data_parallel import DataParallel, split_sizes
from tinynn.distributed.mpi import launched_by_mpi4py

__all__ = ["DataParallel", "launched_by_mpi4py", "split_sizes"]
