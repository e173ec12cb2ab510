"""Run ``tinynn bench train``: ``python benchmarks/bench_train.py --help`` lists the options.

The code lives in ``tinynn/bench/train.py`` so that the installed ``tinynn bench`` command has it.
"""

import sys

from tinynn.bench.train import main

if __name__ == "__main__":
    sys.exit(main())
