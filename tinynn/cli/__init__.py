"""The ``tinynn`` command line: train, evaluate, predict and summarize models.

    tinynn train                              # digits MLP in about a second -> tinynn-model.npz
    tinynn evaluate tinynn-model.npz          # scores on the recorded test split
    tinynn predict tinynn-model.npz rows.csv  # a class per row
    tinynn summary tinynn-model.npz           # layer table
    tinynn profile tinynn-model.npz           # where a training step's time goes

Adding a command
----------------
Each command lives in its own module of this package and has one entry point::

    def register(subparsers) -> None:
        parser = subparsers.add_parser("export", help="...")
        parser.add_argument(...)
        parser.set_defaults(run=run)       # run(args: argparse.Namespace) -> int exit status

To add one (``export``, ``bench``, …), write ``tinynn/cli/<name>.py`` with ``register`` and
append the module to ``COMMAND_MODULES`` below; nothing else changes. ``run`` reports a
problem by raising ValueError, TypeError, OSError or RuntimeError with a one-line message;
``main`` prints it as ``tinynn: error: <message>`` and exits with status 1. Usage errors
(unknown option, bad value) exit with status 2, as argparse does, also on one line.
Shared helpers: ``data`` (data sets, splits, preprocessing), ``csvfiles``, ``modelfile``
(open a model and its metadata), ``report`` (scores and confusion matrix), ``arguments``
(argparse types), ``architectures`` (the MLP and CNN that ``train`` builds).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from tinynn.cli import bench, evaluate, export, predict, profile, summary, train

#: The subcommands, in the order ``tinynn --help`` lists them.
COMMAND_MODULES = (train, evaluate, predict, summary, profile, export, bench)

EXIT_OK = 0
EXIT_ERROR = 1  # the command ran and failed: bad file, bad data, ...
EXIT_USAGE = 2  # the command line itself is wrong (argparse's convention)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class UsageError(Exception):
    """A bad command line, raised instead of argparse's print-usage-and-exit."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are raised, so ``main`` prints them on one line.

    Subcommand parsers are made by ``add_subparsers`` with the class of their parent, so they
    raise the same way.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per module in ``COMMAND_MODULES``."""
    from tinynn import __version__

    parser = _Parser(
        prog="tinynn",
        description="Train, evaluate and use small neural networks built with tinynn.",
        epilog="Run 'tinynn COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"tinynn {__version__}")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", required=True
    )
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def _one_line(text: str) -> str:
    """Join a multi-line message so the error stays on the single ``tinynn: error:`` line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = lines[0] if lines else ""
    for line in lines[1:]:
        joined += (" " if joined.endswith((".", ":", ";")) else "; ") + line
    return joined


def _report(message: str, status: int) -> int:
    print(f"tinynn: error: {_one_line(message)}", file=sys.stderr)
    return status


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the final flush at exit cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout has no file descriptor (e.g. captured in tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Never raises for bad input: usage errors give status 2, failures while running status 1,
    each with one ``tinynn: error: ...`` line on stderr; Ctrl-C gives 130 quietly.
    """
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except UsageError as error:
            return _report(str(error), EXIT_USAGE)
        except SystemExit as done:  # --help and --version print, then exit(0)
            return done.code if isinstance(done.code, int) else EXIT_OK
        try:
            return int(args.run(args))
        except BrokenPipeError:
            # Whoever read our output went away (``| head``): stop quietly, as Unix tools do.
            _silence_stdout()
            return EXIT_ERROR
        except (ValueError, TypeError, OSError, RuntimeError, ImportError) as error:
            return _report(str(error) or type(error).__name__, EXIT_ERROR)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
