"""``tinynn bench {kernels,train,depth,predict,conv} [options]``: the benchmark suite.

Each subcommand is one module of ``tinynn.bench`` and takes the same options as running that
module directly (``python -m tinynn.bench.train --quick``) or its wrapper script
(``python benchmarks/bench_train.py --quick``). Run ``tinynn bench train --help`` for them.
"""

from __future__ import annotations

import argparse
import importlib

from tinynn.bench import BENCHMARKS

_SUMMARIES = {
    "kernels": "every kernel, NumPy backend against Numba backend",
    "train": "epoch time of a 784-256-256-10 MLP against the GEMM floor, PyTorch, scikit-learn",
    "depth": "epoch time, memory and digits accuracy against depth and width",
    "predict": "inference latency for 1 and 1,000 samples, tinynn and PyTorch",
    "conv": "epoch time of a LeNet-style convolutional network against PyTorch",
}
# Every subcommand, in order. "conv" is added here because tinynn.bench.BENCHMARKS does not
# list it yet; dict.fromkeys keeps the order and drops the duplicate once it does.
SUBCOMMANDS = BENCHMARKS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bench`` command and its subcommands (``SUBCOMMANDS``) to the ``tinynn`` parser."""
    parser = subparsers.add_parser(
        "bench",
        help="run a benchmark: print a table, write JSON, CSV and PNG results",
        description="Benchmarks. Results go to --out (default benchmarks/results).",
    )
    benchmarks = parser.add_subparsers(dest="benchmark", metavar="{" + ",".join(SUBCOMMANDS) + "}")
    benchmarks.required = True
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"tinynn.bench.{name}")
        sub = benchmarks.add_parser(
            name,
            help=_SUMMARIES[name],
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(run=_runner(module))


def _runner(module):
    """fn(args) -> exit code, for ``parser.set_defaults(run=...)``."""

    def run(args: argparse.Namespace) -> int:
        return module.run(args)

    return run
