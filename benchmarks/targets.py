"""The project's performance targets: a PASS/MISS check of one measured number, and its lines.

The limits themselves live beside the benchmark that measures them (``SGD_FLOOR_TARGETS`` in
``bench_train.py``, ``DEPTH_TARGET`` in ``bench_depth.py``, …), each with the issue it comes
from. A target is checked only against numbers measured in the same run, and an unmeasured one
(a peer or backend not installed) is "n/a", never estimated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def check(description: str, measured: float | None, limit: float, unit: str = "") -> dict:
    """A target check: PASS when ``measured <= limit``, MISS above it, n/a when unmeasured."""
    status = "n/a" if measured is None else "PASS" if measured <= limit else "MISS"
    return {
        "target": description,
        "measured": measured,
        "limit": limit,
        "unit": unit,
        "status": status,
    }


def format_targets(checks: Sequence[dict[str, Any]]) -> str:
    """One line per check: "  [PASS] what: 1.07x (limit 1.1x)"."""
    lines = []
    for item in checks:
        if item["measured"] is None:
            measured = "not measured"
        else:
            measured = f"{item['measured']:.3g}{item['unit']}"
        lines.append(
            f"  [{item['status']:>4}] {item['target']}: {measured}"
            f" (limit {item['limit']:g}{item['unit']})"
        )
    return "\n".join(lines)


def report_lines(heading: str, checks: Sequence[dict[str, Any]]) -> list[str]:
    """The heading and the checks, as notes for ``tinynn.bench.output.report`` to print
    after the table."""
    return [heading, format_targets(checks)]
