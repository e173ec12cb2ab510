"""``tinynn bench depth``'s report: the table, the marginal cost of one more layer, the plots.

The marginal cost compares consecutive points of a depth sweep (same family, width and
system): the change in epoch time, training memory, forward FLOPs per sample, parameters and
digits accuracy, divided by the number of layers (or blocks) added.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from tinynn.bench import output

MARGINAL_COLUMNS = [
    ("family", "family", ""),
    ("width", "width", ""),
    ("from_depth", "from", ""),
    ("to_depth", "to", ""),
    ("system", "system", ""),
    ("ms_per_layer", "epoch ms/layer", ".2f"),
    ("roofline_ms_per_layer", "roofline ms/layer", ".2f"),
    ("mb_per_layer", "train MB/layer", ".3f"),
    ("flops_per_layer", "FLOPs/sample/layer", ",.0f"),
    ("params_per_layer", "params/layer", ",.0f"),
    ("accuracy_per_layer", "digits acc/layer", "+.4f"),
]


def marginal_costs(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per pair of consecutive depths of each depth sweep and tinynn system."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for row in rows:
        if row["sweep"] == "depth" and row["status"] == "ok" and row["system"] != "floor":
            groups.setdefault((row["family"], row["width"], row["system"]), []).append(row)
    entries = []
    for (family, width, system), group in groups.items():
        group = sorted(group, key=lambda row: row["depth"])
        for before, after in itertools.pairwise(group):
            entry = {
                "family": family,
                "width": width,
                "from_depth": before["depth"],
                "to_depth": after["depth"],
                "system": system,
            }
            for name, key, scale in PER_LAYER:
                entry[name] = _per_layer(before, after, key, scale)
            entries.append(entry)
    return entries


#: (entry key, row key, scale): what ``marginal_costs`` differences.
PER_LAYER = [
    ("ms_per_layer", "epoch_s", 1e3),
    ("roofline_ms_per_layer", "roofline_s", 1e3),
    ("mb_per_layer", "train_mb", 1.0),
    ("flops_per_layer", "flops_per_sample", 1.0),
    ("params_per_layer", "params", 1.0),
    ("accuracy_per_layer", "test_accuracy", 1.0),
]


def _per_layer(before: dict, after: dict, key: str, scale: float) -> float | None:
    """(after − before) · scale per layer added; None when either is unknown."""
    if before.get(key) is None or after.get(key) is None:
        return None
    return scale * (after[key] - before[key]) / (after["depth"] - before["depth"])


def plot(payload: dict[str, Any]):
    """For each family: epoch time (measured, and the roofline's prediction dashed) and
    digits accuracy, against depth (first row) and against width (second row)."""
    rows = [row for row in payload["rows"] if row["status"] == "ok"]
    names = list(dict.fromkeys(row["family"] for row in rows))
    if not names:
        return None
    figure = output.new_figure(ncols=2, nrows=2 * len(names), size=(6.0, 3.6))
    if figure is None:
        return None
    axes = iter(figure.axes)
    for name in names:
        labels = payload.get("labels", {}).get(name, ["depth", "width"])
        for sweep, label in zip(("depth", "width"), labels, strict=True):
            time_axis, accuracy_axis = next(axes), next(axes)
            points = [row for row in rows if row["family"] == name and row["sweep"] == sweep]
            _plot_sweep(time_axis, accuracy_axis, points, sweep)
            fixed = "width" if sweep == "depth" else "depth"
            held = sorted({row[fixed] for row in points})
            title = f"{name}: {label}" + (f" ({fixed} {held[0]})" if len(held) == 1 else "")
            for axis in (time_axis, accuracy_axis):
                axis.set_xlabel(title)
    return figure


def _plot_sweep(time_axis, accuracy_axis, points, sweep: str) -> None:
    for system in dict.fromkeys(row["system"] for row in points):
        line = sorted((row[sweep], row["epoch_s"]) for row in points if row["system"] == system)
        time_axis.plot(*zip(*line, strict=True), marker="o", label=system)
    predicted = sorted(
        {(row[sweep], row["roofline_s"]) for row in points if row.get("roofline_s") is not None}
    )
    if predicted:
        first: dict[int, float] = {}
        for x, seconds in predicted:  # the backends share the same FLOPs and bytes
            first.setdefault(x, seconds)
        xs, ys = zip(*first.items(), strict=True)
        time_axis.plot(xs, ys, "k--", marker="x", label="roofline bound")
    accuracy = sorted(
        {(row[sweep], row["test_accuracy"]) for row in points if "test_accuracy" in row}
    )
    if accuracy:
        accuracy_axis.plot(*zip(*accuracy, strict=True), marker="o")
    ticks = sorted({row[sweep] for row in points})
    for axis in (time_axis, accuracy_axis):
        if sweep == "width" and len(ticks) > 1:
            axis.set_xscale("log", base=2)
        axis.set_xticks(ticks, [str(tick) for tick in ticks])
    time_axis.set_ylabel("epoch time (s), median")
    accuracy_axis.set_ylabel("digits test accuracy")
    time_axis.legend(fontsize="small")


def report(
    payload: dict[str, Any], out_dir: str, markdown: bool = False, extra_notes: Sequence[str] = ()
) -> None:
    """Print the machine, the table, the marginal costs and the notes (``extra_notes`` last);
    write JSON, CSV and PNG."""
    from tinynn.bench.depth import COLUMNS, CSV_KEYS, NAME
    from tinynn.profiling.roofline import Roofline

    settings = payload["settings"]
    marginal = payload.get("marginal", [])
    lines = ["", "marginal cost of one more layer (between consecutive depths of a depth sweep):"]
    lines.append(output.format_table(marginal, MARGINAL_COLUMNS) if marginal else "  (none)")
    if markdown and marginal:
        lines += ["", output.format_markdown(marginal, MARGINAL_COLUMNS)]
    output.report(
        payload, out_dir, markdown, name=NAME, columns=COLUMNS, csv_keys=CSV_KEYS,
        figure=plot(payload),
        title=f"== tinynn bench depth: {', '.join(settings['families'])}; batch "
        f"{settings['batch_size']}, {settings['optimizer']}, median of {settings['repeats']} ==",
        notes=[
            *lines,
            "",
            "x floor: against the MLP's GEMM-only epoch. roofline s: the epoch this machine's "
            "roofline allows, (samples / batch) x the profiled step's sum over layers and passes "
            "of max(FLOPs / peak, bytes / bandwidth)",
            Roofline.from_dict(payload["roofline"]).describe(),
            "train MB: the arrays a training step keeps (parameters, gradients, optimizer "
            "state, activations kept for backward, workspace; the JSON splits them)",
            f"digits acc: {settings['epochs']} epochs, {settings['digits']}",
            *extra_notes,
        ],
    )  # fmt: skip
