"""Printing a benchmark's results and writing them to files.

Results go to ``<out>/<name>.json`` (everything, with the machine description), ``.csv`` (one
row per measurement) and ``.png`` (a plot, drawn on matplotlib's Agg canvas without pyplot, so
no global figure state). Rows are dicts; a row whose ``status`` is not "ok" ("missing" for an
absent backend or library, "error") shows that status in place of its numbers.
"""

from __future__ import annotations

import csv
import datetime
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinynn.bench import common, machine


def _cell(row: dict[str, Any], column: Sequence[str]) -> str:
    """Format one value. ``column`` is (key, title, float format[, status key])."""
    key, _, fmt = column[:3]
    value = row.get(key)
    if value is None:
        status = row.get(column[3] if len(column) > 3 else "status", "ok")
        return "-" if status in (None, "ok") else str(status)
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if isinstance(value, int | float) and not isinstance(value, bool) and fmt:
        return format(value, fmt)
    return str(value)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[Sequence[str]]) -> str:
    """A plain-text table. ``columns``: (row key, header, format spec for floats[, status key]).

    An absent value prints as the row's status ("missing", "error"), or as the status stored
    under the column's own status key, so an absent backend or library is visible in the table,
    never blank or faked.
    """
    header = [column[1] for column in columns]
    body = [[_cell(row, column) for column in columns] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(columns))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])


def format_markdown(rows: Sequence[dict[str, Any]], columns: Sequence[Sequence[str]]) -> str:
    """The same table as Markdown (printed with ``--markdown``, for docs/benchmarks.md)."""
    lines = [
        "| " + " | ".join(column[1] for column in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row, column) for column in columns) + " |")
    return "\n".join(lines)


def print_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[Sequence[str]], markdown: bool
) -> None:
    print(format_table(rows, columns))
    if markdown:
        print()
        print(format_markdown(rows, columns))


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_csv(path: Path, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """One line per row with the given keys; unknown values are left empty."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(keys), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _csv_value(row.get(key)) for key in keys})


def _csv_value(value: Any) -> Any:
    """Empty for unknown; a list (e.g. every repeat's time) as "a;b;c"."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(f"{item:.6g}" if isinstance(item, float) else str(item) for item in value)
    return value


def new_figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (7.0, 4.5)):
    """A matplotlib Figure on the Agg canvas (no pyplot, no global state), or None when
    matplotlib is not installed."""
    figure_module = common.import_optional("matplotlib.figure")
    if figure_module is None:
        return None
    figure = figure_module.Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="tight")
    figure.subplots(nrows, ncols, squeeze=False)
    return figure


def save_results(
    out_dir: str | Path,
    name: str,
    payload: dict[str, Any],
    csv_keys: Sequence[str],
    figure: Any,
) -> dict[str, str]:
    """Write ``name``.json/.csv/.png into ``out_dir`` (created if needed); return the paths."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / f"{name}.json", "csv": folder / f"{name}.csv"}
    if figure is not None:
        paths["png"] = folder / f"{name}.png"
        figure.savefig(paths["png"], dpi=110)
    else:
        payload.setdefault("notes", []).append("no plot: matplotlib is not installed")
    payload["files"] = {kind: str(path) for kind, path in paths.items()}
    write_json(paths["json"], payload)
    write_csv(paths["csv"], payload["rows"], csv_keys)
    return {kind: str(path) for kind, path in paths.items()}


def new_payload(name: str, argv: Sequence[str] | None, settings: dict[str, Any]) -> dict[str, Any]:
    """The JSON skeleton every benchmark fills: what ran, when, and with which settings."""
    return {
        "benchmark": name,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": list(sys.argv[1:] if argv is None else argv),
        "settings": settings,
        "load_average_at_start": machine.load_average(),
        "rows": [],
        "notes": [],
    }


def report(
    payload: dict[str, Any],
    out_dir: str,
    markdown: bool,
    *,
    title: str,
    name: str,
    columns: Sequence[Sequence[str]],
    csv_keys: Sequence[str],
    figure: Any,
    notes: Sequence[str] = (),
    status_keys: Sequence[str] = ("backends",),
) -> None:
    """Print a benchmark's title, machine, the payload entries named in ``status_keys`` (which
    contenders were found), the table and the notes; then write JSON, CSV and PNG."""
    print(title)
    print(machine.format_machine(payload["machine"]))
    print("  ".join(f"{key}: {payload[key]}" for key in status_keys))
    print_table(payload["rows"], columns, markdown)
    for note in notes:
        print(note)
    files = save_results(out_dir, name, payload, csv_keys, figure)
    print("wrote " + ", ".join(files.values()))
