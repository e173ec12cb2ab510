"""The result of ``tinynn.profile``: one row per layer and pass, the step, the roofline and the
memory, printed as a table.

**Times.** Each step is timed as a whole, and each row's part of it (exclusive times, see
``tinynn.profiling.timing``). A row's ``ms`` is its *interquartile mean*: the mean over the
steps whose total time lies between the quartiles of all steps' totals. Those middle steps
drop the slow outliers of a shared machine as a median would, and, unlike medians, means over
one set of steps add up: the rows' ``ms`` (with the unattributed row, the time between the
timed calls) sum to the step's ``ms`` exactly. ``median_ms`` and ``iqr_ms`` describe each row
over all steps.

**Roofline columns.** With F the row's FLOPs and B its bytes moved (``tinynn.profiling.costs``),
intensity I = F / B, attained GFLOP/s = F / time, the bound = min(peak, I · bandwidth), and
"% of bound" = the fastest time the roofline allows, max(F / peak, B / bandwidth), divided by
the measured time. A row that moves bytes but does no arithmetic (the batch gathering) has no
GFLOP/s, but still a "% of bound": that of its bytes against the bandwidth.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tinynn.profiling.costs import Cost
from tinynn.profiling.memory import MemoryFootprint, format_bytes
from tinynn.profiling.roofline import Roofline

UNATTRIBUTED = "(unattributed)"


@dataclass
class ProfileRow:
    """One layer and pass (or the loss, the optimizer step, the batch, the unattributed time).

    ``cost`` is None for the unattributed row. The roofline fields are None where they do not
    apply (no FLOPs, or no bytes).
    """

    layer: str
    kind: str
    pass_name: str
    ms: float
    median_ms: float
    iqr_ms: float
    share: float = 0.0
    cost: Cost | None = None
    attained_gflops: float | None = None
    bound_gflops: float | None = None
    roofline_ms: float | None = None
    percent_of_bound: float | None = None

    def apply_roofline(self, roofline: Roofline) -> None:
        if self.cost is None:
            return
        flops, nbytes = self.cost.flops, self.cost.bytes
        seconds = self.ms / 1e3
        if flops and seconds > 0:
            self.attained_gflops = flops / seconds / 1e9
        if flops and nbytes:
            self.bound_gflops = roofline.bound_gflops(flops / nbytes)
        if flops or nbytes:
            self.roofline_ms = 1e3 * roofline.seconds(flops, nbytes)
            if seconds > 0:
                self.percent_of_bound = 100 * self.roofline_ms / self.ms

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if k != "cost"}
        if self.cost is not None:
            data.update(
                flops=self.cost.flops,
                weight_bytes=self.cost.weight_bytes,
                read_bytes=self.cost.read_bytes,
                write_bytes=self.cost.write_bytes,
                bytes=self.cost.bytes,
                intensity=self.cost.intensity,
                exact=self.cost.exact,
            )
        return data


@dataclass
class Profile:
    """What ``tinynn.profile`` measured. ``print(profile)`` shows the table."""

    model_name: str
    backend: str
    batch_size: int
    steps: int
    rows: list[ProfileRow]
    step_ms: float
    step_median_ms: float
    step_iqr_ms: float
    roofline: Roofline
    memory: MemoryFootprint
    transient_bytes: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def unattributed_ms(self) -> float:
        return sum(row.ms for row in self.rows if row.layer == UNATTRIBUTED)

    @property
    def total_cost(self) -> Cost:
        total = Cost()
        for row in self.rows:
            if row.cost is not None:
                total += row.cost
        return total

    @property
    def roofline_ms(self) -> float:
        """The step as the roofline predicts it: the sum of every row's fastest time."""
        return sum(row.roofline_ms or 0.0 for row in self.rows)

    def table(self, markdown: bool = False) -> str:
        """The rows as a text table (or Markdown), with the step's total last."""
        cells = [_cells(row) for row in self.rows]
        cells.append(_total_cells(self))
        return _markdown(cells) if markdown else _text(cells)

    def format(self, markdown: bool = False) -> str:
        """The title, the table and the lines below it: step, roofline, memory."""
        step = (
            f"step: {self.step_ms:.3f} ms (interquartile mean of {self.steps} steps; median "
            f"{self.step_median_ms:.3f} ms, IQR {self.step_iqr_ms:.3f} ms). The rows add up to "
            f"it; {self.unattributed_ms:.3f} ms "
            f"({100 * self.unattributed_ms / self.step_ms:.1f} %) is not attributed to any row."
        )
        predicted = (
            f"roofline: the step needs at least {self.roofline_ms:.3f} ms (each row's "
            f"max(FLOPs / peak, bytes / bandwidth)); measured {self.step_ms / self.roofline_ms:.2f}"
            "x that."
            if self.roofline_ms
            else "roofline: nothing to bound"
        )
        lines = [
            f"== tinynn.profile: {self.model_name}, batch {self.batch_size}, "
            f"{self.backend} backend ==",
            self.table(markdown),
            "",
            step,
            predicted,
            self.roofline.describe(),
            f"memory for training at batch {self.batch_size}:",
            self.memory.format(),
        ]
        if self.transient_bytes is not None:
            lines.append(
                f"  temporary arrays: peak {format_bytes(self.transient_bytes)} during one step, "
                "freed by its end (tracemalloc; not in the total)"
            )
        lines += self.notes
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return (
            f"<Profile {self.model_name!r} batch {self.batch_size}: {self.step_ms:.3f} ms per "
            f"step, {len(self.rows)} rows>"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "backend": self.backend,
            "batch_size": self.batch_size,
            "steps": self.steps,
            "step_ms": self.step_ms,
            "step_median_ms": self.step_median_ms,
            "step_iqr_ms": self.step_iqr_ms,
            "unattributed_ms": self.unattributed_ms,
            "roofline_ms": self.roofline_ms,
            "rows": [row.to_dict() for row in self.rows],
            "roofline": self.roofline.to_dict(),
            "memory": self.memory.to_dict(),
            "transient_bytes": self.transient_bytes,
            "notes": list(self.notes),
        }


# -- statistics ---------------------------------------------------------------------------


def middle_steps(totals: Sequence[float]) -> list[int]:
    """Indices of the steps whose total lies between the quartiles (all, for one or two)."""
    if len(totals) < 3:
        return list(range(len(totals)))
    q1, _, q3 = statistics.quantiles(totals, n=4, method="inclusive")
    return [i for i, total in enumerate(totals) if q1 <= total <= q3]


def spread(values: Sequence[float]) -> tuple[float, float]:
    """(median, inter-quartile range)."""
    if len(values) < 2:
        return (values[0] if values else 0.0), 0.0
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return median, q3 - q1


# -- the table ----------------------------------------------------------------------------

HEADER = (
    "layer",
    "pass",
    "ms",
    "±IQR",
    "% step",
    "MFLOP",
    "weights KB",
    "read KB",
    "written KB",
    "FLOP/B",
    "GFLOP/s",
    "bound",
    "% bound",
)


def _number(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _cells(row: ProfileRow) -> list[str]:
    cost = row.cost
    mark = "" if cost is None or cost.exact else "~"
    return [
        row.layer,
        row.pass_name,
        f"{row.ms:.3f}",
        f"{row.iqr_ms:.3f}",
        f"{100 * row.share:.1f}",
        "-" if cost is None else mark + f"{cost.flops / 1e6:,.2f}",
        "-" if cost is None else f"{cost.weight_bytes / 1e3:,.1f}",
        "-" if cost is None else f"{cost.read_bytes / 1e3:,.1f}",
        "-" if cost is None else f"{cost.write_bytes / 1e3:,.1f}",
        _number(cost.intensity if cost is not None else None, ".2f"),
        _number(row.attained_gflops, ".2f"),
        _number(row.bound_gflops, ".1f"),
        _number(row.percent_of_bound, ".0f"),
    ]


def _total_cells(profile: Profile) -> list[str]:
    cost = profile.total_cost
    gflops = cost.flops / (profile.step_ms / 1e3) / 1e9 if profile.step_ms else None
    bound = profile.roofline.bound_gflops(cost.intensity) if cost.intensity else None
    percent = 100 * profile.roofline_ms / profile.step_ms if profile.step_ms else None
    return [
        "step",
        "total",
        f"{profile.step_ms:.3f}",
        f"{profile.step_iqr_ms:.3f}",
        "100.0",
        ("" if cost.exact else "~") + f"{cost.flops / 1e6:,.2f}",
        f"{cost.weight_bytes / 1e3:,.1f}",
        f"{cost.read_bytes / 1e3:,.1f}",
        f"{cost.write_bytes / 1e3:,.1f}",
        _number(cost.intensity, ".2f"),
        _number(gflops, ".2f"),
        _number(bound, ".1f"),
        _number(percent, ".0f"),
    ]


def _text(rows: list[list[str]]) -> str:
    table = [list(HEADER), *rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]

    def line(cells: list[str]) -> str:
        first = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
        rest = [cell.rjust(width) for cell, width in zip(cells[2:], widths[2:], strict=True)]
        return "  ".join(first + rest).rstrip()

    rule = "-" * len(line(list(HEADER)))
    return "\n".join([line(list(HEADER)), rule, *(line(r) for r in rows[:-1]), rule,
                      line(rows[-1])])  # fmt: skip


def _markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)
