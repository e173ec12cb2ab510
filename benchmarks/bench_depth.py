"""Run ``tinynn bench depth``: ``python benchmarks/bench_depth.py --help`` lists the options.

The code lives in ``tinynn/bench/depth.py`` so that the installed ``tinynn bench`` command has it.
"""

import sys

from tinynn.bench.depth import main

if __name__ == "__main__":
    sys.exit(main())
