"""``ProgbarLogger``: shows training progress on stderr (a tqdm bar, or one line per epoch)."""

from __future__ import annotations

import os
import sys
import time
from numbers import Real
from typing import Any, TextIO

from tqdm.std import tqdm as std_tqdm

from tinynn.callbacks.callback import Callback, Logs

VERBOSE_LEVELS = (0, 1, 2, "auto")
# The size a bar assumes when the terminal reports none: a fresh pseudo-terminal (``script``,
# ``docker run -t``) says 0x0, and tqdm, left to measure it, draws every update as an empty
# line (it takes the -1 rows it computes from 0 lines as "no room on screen").
FALLBACK_SIZE = os.terminal_size((80, 24))


def _notebook_aware_tqdm() -> type:
    """tqdm.auto's widget bar in Jupyter when ipywidgets is installed, else the text bar.

    Imported on first use: tqdm.auto warns inside a kernel that lacks ipywidgets, and a plain
    ``import tinynn`` should never print anything.
    """
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return std_tqdm
    from tqdm.auto import tqdm as auto_tqdm

    return auto_tqdm


def terminal_size(stream: Any) -> os.terminal_size | None:
    """The (columns, lines) of the terminal ``stream`` writes to, (0, 0) if it reports none,
    or None when ``stream`` is no terminal: a pipe, a file, pytest's capture, Jupyter."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):  # no isatty(), or a closed stream
        return None
    try:
        return os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return os.terminal_size((0, 0))


def format_logs(logs: Logs | None, labels: dict[str, str] | None = None) -> str:
    """Render logs the Keras way: ``"loss: 0.3120 - accuracy: 0.9000"``.

    Values below 1e-3 use scientific notation so a small loss does not print as 0.0000.
    ``labels`` renames keys for display, e.g. ``{"precision": "precision (macro)"}``.
    """
    labels = labels or {}
    parts = []
    for key, value in (logs or {}).items():
        if isinstance(value, Real):  # Python and NumPy scalars
            value = float(value)
            text = f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.4e}"
        else:
            text = str(value)
        parts.append(f"{labels.get(key, key)}: {text}")
    return " - ".join(parts)


def metric_labels(model: Any) -> dict[str, str]:
    """Display names that say how a compiled metric averages over classes.

    A multiclass "precision" is the macro average over classes (``tinynn.metrics.resolve``);
    its History key stays the name the user wrote, but the printed line says
    ``precision (macro)`` so nobody mistakes it for one class's precision.
    """
    names = list(getattr(model, "metrics_names", None) or [])[1:]  # [0] is "loss"
    labels = {}
    for name, metric in zip(names, getattr(model, "metrics", None) or [], strict=False):
        average = getattr(metric, "average", None)
        if isinstance(average, str) and average != "binary":
            labels[name] = f"{name} ({average})"
            labels[f"val_{name}"] = f"val_{name} ({average})"
    return labels


class ProgbarLogger(Callback):
    """Print progress during ``fit``, on stderr, so stdout keeps only results.

    Args:
        verbose: 0 prints nothing; 1 shows a live tqdm bar per epoch with the running
            loss and metrics, elapsed time and ETA; 2 prints one line per epoch;
            "auto" (``fit``'s default) is 1 when the stream is a terminal and 2 otherwise
            (a pipe, a file, CI, Jupyter), so logs hold no ``\\r`` fragments.
        stream: file-like object to write to. None (default) means ``sys.stderr``, looked
            up when writing so that redirection (and pytest's capture) works; it also
            lets ``tqdm.auto`` draw a widget bar in Jupyter for verbose=1. An explicit
            stream always gets the plain text bar.

    Uses ``params["epochs"]`` and ``params["steps"]`` (batches per epoch; None gives a
    bar without a total or ETA).

    Keras prints progress on stdout and its "auto" means 1 almost everywhere; we follow
    tqdm and Unix tools (stderr), and pick per-epoch lines when no terminal is attached.
    """

    main_process_only = True  # it prints or writes files: rank 0 only

    def __init__(self, verbose: int | str = 1, stream: TextIO | None = None) -> None:
        super().__init__()
        if verbose not in VERBOSE_LEVELS or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        self.verbose = verbose
        self.stream = stream
        self._bar: Any = None
        self._epoch_start = 0.0
        self._labels: dict[str, str] = {}

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stderr

    def _mode(self) -> int:
        """The verbose level in force: "auto" decided by the stream at this moment."""
        if self.verbose != "auto":
            return int(self.verbose)
        size = terminal_size(self._out())
        return 1 if size is not None and size.columns > 0 else 2

    def _epoch_label(self, epoch: int) -> str:
        epochs = self.params.get("epochs")
        return f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}"

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._labels = metric_labels(self.model)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch_start = time.perf_counter()
        if self._mode() != 1:
            return
        out = self._out()
        bar_class = _notebook_aware_tqdm() if self.stream is None else std_tqdm
        size = terminal_size(out)
        if size is not None:
            # An explicit size stops tqdm measuring a terminal that reports none.
            size = os.terminal_size(
                (size.columns or FALLBACK_SIZE.columns, size.lines or FALLBACK_SIZE.lines)
            )
        self._bar = bar_class(
            total=self.params.get("steps"),
            desc=self._epoch_label(epoch),
            unit="step",
            file=out,
            leave=True,
            ncols=size.columns if size else None,
            nrows=size.lines if size else None,
        )

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self._bar is None:
            return
        # Set the text first without redrawing; update() then redraws (rate-limited by
        # tqdm's mininterval), so a fast loop is not slowed by printing.
        self._bar.set_postfix_str(format_logs(logs, self._labels), refresh=False)
        self._bar.update(1)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        text = format_logs(logs, self._labels)
        if self._bar is not None:
            # The epoch logs add the validation results; close() draws the final state.
            self._bar.set_postfix_str(text, refresh=False)
            self._close_bar()
        elif self._mode() == 2:
            elapsed = time.perf_counter() - self._epoch_start
            print(f"{self._epoch_label(epoch)} - {elapsed:.1f}s - {text}", file=self._out())

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._close_bar()  # in case training stopped in the middle of an epoch

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
