"""``python -m tinynn``: the ``tinynn`` command line, also under MPI
(``mpiexec -n 4 python -m mpi4py -m tinynn train``)."""

import sys

from tinynn.cli import main

sys.exit(main())
