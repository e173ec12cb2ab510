"""``tinynn bench depth`` plus the project's depth target.

The sweep itself is the installed command's (``tinynn/bench/depth.py``; ``tinynn bench depth
--help`` describes it), and this script takes the same options. It adds the target of the
performance issue, checked against the numbers of the same run and printed as PASS, MISS or
n/a below the table: an MLP with eight hidden layers of 256 trains at most 1.15× as long as its
GEMM floor.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from tinynn.bench import depth, options

# isort: split
# This folder's helper modules: running a script puts its folder on sys.path.
import targets

#: (hidden layers, width, limit on tinynn epoch / floor epoch), from the performance issue.
DEPTH_TARGET = (8, 256, 1.15)


def check_targets(rows: list[dict[str, Any]], backends: Sequence[str]) -> list[dict[str, Any]]:
    """``DEPTH_TARGET`` for each tinynn backend ("n/a" when that depth was not measured)."""
    hidden, width, limit = DEPTH_TARGET
    checks = []
    for backend in backends:
        system = f"tinynn-{backend}"
        measured = next(
            (
                row.get("ratio_floor")
                for row in rows
                if row.get("family", "mlp") == "mlp"
                and (row["sweep"], row["depth"], row["width"], row["system"])
                == ("depth", hidden, width, system)
            ),
            None,
        )
        text = f"{system} depth {hidden} width {width} / floor"
        checks.append(targets.check(text, measured, limit, "x"))
    return checks


def run(args: argparse.Namespace) -> int:
    """The installed benchmark's ``measure`` and ``report``, with the target check between."""
    payload = depth.measure(args)
    payload["targets"] = check_targets(payload["rows"], args.backends)
    lines = targets.report_lines("targets (from the performance issue):", payload["targets"])
    depth.report(payload, args.out, args.markdown, extra_notes=lines)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = options.build_parser("bench_depth.py", __doc__, depth.add_arguments)
    return options.run_main(parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
