"""``tinynn bench depth [options]``: what depth and width cost on this machine.

Each subcommand is one module of ``tinynn.bench`` (listed in ``tinynn.bench.BENCHMARKS``) and
takes the same options as running that module directly (``python -m tinynn.bench.depth``).
Run ``tinynn bench depth --help`` for them. Comparisons with PyTorch and scikit-learn, and the
project's performance targets, are scripts in the source checkout's ``benchmarks/`` folder.
"""

from __future__ import annotations

import argparse
import importlib

from tinynn.bench import BENCHMARKS

#: One line per subcommand for ``tinynn bench --help``.
_SUMMARIES = {
    "depth": "epoch time against the GEMM floor and the roofline, parameters, FLOPs, training "
    "memory and digits accuracy, against depth and width (MLPs, CNNs or your own models)",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bench`` command and its subcommands (``BENCHMARKS``) to the ``tinynn`` parser."""
    parser = subparsers.add_parser(
        "bench",
        help="measure what depth and width cost on this machine (table, JSON, CSV and PNG)",
        description="Benchmarks on this machine. Results go to --out (default "
        "benchmarks/results). Comparisons with other libraries are scripts in the source "
        "checkout's benchmarks/ folder (see docs/benchmarks.md).",
    )
    benchmarks = parser.add_subparsers(dest="benchmark", metavar="{" + ",".join(BENCHMARKS) + "}")
    benchmarks.required = True
    for name in BENCHMARKS:
        module = importlib.import_module(f"tinynn.bench.{name}")
        sub = benchmarks.add_parser(
            name,
            help=_SUMMARIES[name],
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
