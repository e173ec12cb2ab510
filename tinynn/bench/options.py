"""The command-line options the benchmarks share, and the parsing that runs one.

An option whose default depends on ``--quick`` defaults to None here, and the benchmark fills
it in with its full-size or its --quick value (``pick``), so an explicit value always wins.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tinynn.bench import common


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def int_list(text: str) -> list[int]:
    """ "32,128,512" -> [32, 128, 512] (nargs="+" also accepts "32 128 512")."""
    return [positive_int(part) for part in text.split(",") if part.strip()]


def names(*valid: str) -> Callable[[str], list[str]]:
    """An argparse type: "numpy,numba" -> ["numpy", "numba"], "none" -> [], and a usage
    error naming the valid choices for anything else."""

    def parse(text: str) -> list[str]:
        chosen = [part.strip().lower() for part in text.split(",") if part.strip()]
        if chosen == ["none"]:
            return []
        for name in chosen:
            if name not in valid:
                raise argparse.ArgumentTypeError(
                    f"unknown name {name!r}; expected a comma-separated list of {list(valid)}"
                    " or none"
                )
        return chosen

    return parse


def flatten(groups: Sequence[Sequence[Any]] | None) -> list[Any] | None:
    """Join the lists that ``nargs="+"`` with a list type produces."""
    if groups is None:
        return None
    return [item for group in groups for item in group]


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """--out, --repeats, --warmup, --threads, --seed, --quick: the options of every benchmark."""
    parser.add_argument(
        "--out",
        default=common.DEFAULT_OUT,
        help="folder for the JSON, CSV and PNG results (default: %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=None,
        help="timed repeats; medians are quoted (default: 3, or 1 with --quick)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed runs before timing, which also compile JIT kernels (default: 1)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="threads for BLAS, OpenMP and PyTorch (default: what the BLAS uses now)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for data and weights")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and one repeat: a smoke test"
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")


def add_int_list_argument(parser: argparse.ArgumentParser, option: str, help: str) -> None:
    """An option of positive integers, "32,128" or "32 128" (``flatten`` joins the groups).
    Its default is None, so that the benchmark's full or --quick default applies."""
    parser.add_argument(option, type=int_list, nargs="+", default=None, help=help)


def add_min_time_argument(parser: argparse.ArgumentParser, default: float) -> None:
    """--min-time: how long each repeat keeps calling a contender, so that calls of a few
    microseconds are timed well above the clock's resolution. ``default`` is only the help's:
    the option stays None, so that the benchmark's full or --quick setting applies."""
    parser.add_argument(
        "--min-time",
        type=float,
        default=None,
        help=f"seconds of back-to-back calls per contender and repeat (default: {default:g})",
    )


def add_backends_argument(parser: argparse.ArgumentParser) -> None:
    """--backends: the tinynn backends to time; one that does not load is reported missing."""
    parser.add_argument(
        "--backends",
        type=names("numpy", "numba"),
        default=["numpy", "numba"],
        help="tinynn backends (default: numpy,numba; a missing one is reported)",
    )


def pick(value: Any, full: Any, quick: Any, is_quick: bool) -> Any:
    """An explicit option wins; otherwise the --quick or the full-size default."""
    if value is not None:
        return value
    return quick if is_quick else full


def build_parser(prog: str, description: str | None, add_arguments) -> argparse.ArgumentParser:
    """The stand-alone parser of a benchmark: ``prog`` is how its usage line names it
    ("tinynn bench depth", or a script's file name), ``description`` its module docstring."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return parser


def run_main(parser: argparse.ArgumentParser, run, argv: Sequence[str] | None) -> int:
    """Parse ``argv`` (default: the command line), remember it for the JSON, and run."""
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return run(args)
