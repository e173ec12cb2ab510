"""Training curves and gradient flow: what happened during ``fit``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tinynn.plot._mpl import figure_and_ax, pyplot


def plot_history(
    history: Any, metrics: Sequence[str] | None = None, figsize: tuple[float, float] | None = None
) -> Any:
    """One panel per metric, training and validation curves against the epoch.

    Args:
        history: a ``History`` (what ``fit`` returns) or its ``.history`` dict,
            ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}``.
        metrics: names to draw, e.g. ``["loss"]``. Default: every key not starting with "val_".
            A key "val_<name>" present in the history is drawn on the same panel.
        figsize: (width, height) in inches; default 4.5 inches wide per panel.

    Returns:
        the Figure; panel i has title ``metrics[i]``, x label "epoch", and lines labelled
        "train" and (if present) "validation".
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise TypeError(f"plot_history expects a History or a dict of lists, got {type(logs)}")
    if metrics is None:
        metrics = [key for key in logs if not key.startswith("val_")]
    if isinstance(metrics, str):
        metrics = [metrics]
    missing = [name for name in metrics if name not in logs]
    if missing or not metrics:
        raise ValueError(f"no history for metrics {missing or metrics}; expected from {list(logs)}")
    plt = pyplot()
    figsize = figsize or (4.5 * len(metrics), 3.5)
    fig, axes = plt.subplots(1, len(metrics), figsize=figsize, squeeze=False)
    epoch = getattr(history, "epoch", None)
    for ax, name in zip(axes[0], metrics, strict=True):
        values = logs[name]
        xs = epoch if epoch is not None and len(epoch) == len(values) else range(len(values))
        ax.plot(list(xs), values, label="train")
        validation = logs.get(f"val_{name}")
        if validation is not None:
            ax.plot(list(xs)[: len(validation)], validation, label="validation", linestyle="--")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def plot_gradient_flow(
    stats: Any,
    ax: Any = None,
    figsize: tuple[float, float] | None = None,
    label: str | None = None,
    max_lines: int = 8,
    log_scale: bool = True,
) -> Any:
    """Gradient norm of each layer, first layer on the left: vanishing gradients fall to the left.

    Args:
        stats: one of
            * a ``callbacks.LayerStatistics`` after training: one line per recorded step
              (at most ``max_lines``, evenly spaced; dark = early, light = late);
            * ``{layer_name: norm}``: one line (a snapshot);
            * ``{layer_name: [norm at step 0, norm at step 1, ...]}``: one line per step.
        ax: draw into this ax (e.g. to compare several networks on one plot).
        label: legend label for a snapshot line.
        log_scale: use a logarithmic y axis (norms often span orders of magnitude).

    Returns:
        the Figure. x ticks are the layer names; y label "gradient norm".
    """
    names, series, step_labels = _gradient_table(stats)
    if not names:
        raise ValueError("no gradient statistics to plot: no layer has parameters")
    fig, ax = figure_and_ax(ax, figsize or (max(4.0, 0.6 * len(names) + 2), 3.5))
    chosen = np.unique(np.linspace(0, len(series) - 1, min(max_lines, len(series))).astype(int))
    cmap = pyplot().get_cmap("viridis")
    positions = np.arange(len(names))
    for rank, index in enumerate(chosen):
        if len(chosen) == 1:
            line_label, colour = label or step_labels[index], None
        else:
            line_label, colour = step_labels[index], cmap(rank / max(len(chosen) - 1, 1))
        ax.plot(positions, series[index], marker="o", label=line_label, color=colour)
    ax.set_xticks(positions)
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_xlabel("layer (input → output)")
    ax.set_ylabel("gradient norm")
    if log_scale:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if any(lbl is not None for lbl in step_labels) or label is not None:
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _gradient_table(stats: Any) -> tuple[list[str], list[list[float]], list[str | None]]:
    """(layer names, one list of per-layer norms per step, a label per step)."""
    history = getattr(stats, "history", None)
    if history is not None and hasattr(stats, "steps"):  # a LayerStatistics
        names = [name for name, record in history.items() if record.get("grad_norm")]
        unit = getattr(stats, "on", "step")
        steps = list(stats.steps)
        series = [[history[name]["grad_norm"][i] for name in names] for i in range(len(steps))]
        return names, series, [f"{unit} {step}" for step in steps]
    if not isinstance(stats, Mapping):
        raise TypeError(
            "plot_gradient_flow expects a LayerStatistics or a dict {layer_name: norm or list "
            f"of norms}}, got {type(stats).__name__}"
        )
    names = list(stats)
    values = [np.atleast_1d(np.asarray(stats[name], dtype=float)) for name in names]
    lengths = {len(v) for v in values}
    if len(lengths) > 1:
        raise ValueError(f"every layer needs the same number of norms, got lengths {lengths}")
    count = lengths.pop() if lengths else 0
    series = [[float(v[i]) for v in values] for i in range(count)]
    labels = [None] if count == 1 else [f"step {i}" for i in range(count)]
    return names, series, labels
