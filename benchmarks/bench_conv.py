"""Run ``tinynn bench conv``: ``python benchmarks/bench_conv.py --help`` lists the options.

The code lives in ``tinynn/bench/conv.py`` so that the installed ``tinynn bench`` command has it.
"""

import sys

from tinynn.bench.conv import main

if __name__ == "__main__":
    sys.exit(main())
