"""Run ``tinynn bench kernels``: ``python benchmarks/bench_kernels.py --help`` lists the options.

The code lives in ``tinynn/bench/kernels.py`` so that the installed ``tinynn bench`` command has it.
"""

import sys

from tinynn.bench.kernels import main

if __name__ == "__main__":
    sys.exit(main())
