"""Run ``tinynn bench predict``: ``python benchmarks/bench_predict.py --help`` lists the options.

The code lives in ``tinynn/bench/predict.py`` so that the installed ``tinynn bench`` command has it.
"""

import sys

from tinynn.bench.predict import main

if __name__ == "__main__":
    sys.exit(main())
