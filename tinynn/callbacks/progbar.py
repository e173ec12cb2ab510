"""``ProgbarLogger``: shows training progress (a tqdm bar, or one line per epoch)."""

from __future__ import annotations

import sys
import time
from numbers import Real
from typing import Any, TextIO

from tqdm.std import tqdm as std_tqdm

from tinynn.callbacks.base import Callback, Logs


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


def format_logs(logs: Logs | None) -> str:
    """Render logs the Keras way: ``"loss: 0.3120 - accuracy: 0.9000"``.

    Values below 1e-3 use scientific notation so a small loss does not print as 0.0000.
    """
    parts = []
    for key, value in (logs or {}).items():
        if isinstance(value, Real):  # Python and NumPy scalars
            value = float(value)
            text = f"{value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.4e}"
        else:
            text = str(value)
        parts.append(f"{key}: {text}")
    return " - ".join(parts)


class ProgbarLogger(Callback):
    """Print progress during ``fit``.

    Args:
        verbose: 0 prints nothing; 1 shows a live tqdm bar per epoch with the running
            loss and metrics, elapsed time and ETA; 2 prints one line per epoch.
        stream: file-like object to write to. None (default) means ``sys.stdout``, looked
            up when writing so that redirection (and pytest's capture) works; it also
            lets ``tqdm.auto`` draw a widget bar in Jupyter. An explicit stream always
            gets the plain text bar.

    Uses ``params["epochs"]`` and ``params["steps"]`` (batches per epoch; None gives a
    bar without a total or ETA).
    """

    def __init__(self, verbose: int = 1, stream: TextIO | None = None) -> None:
        super().__init__()
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        self.verbose = verbose
        self.stream = stream
        self._bar: Any = None
        self._epoch_start = 0.0

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stdout

    def _epoch_label(self, epoch: int) -> str:
        epochs = self.params.get("epochs")
        return f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}"

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch_start = time.perf_counter()
        if self.verbose != 1:
            return
        bar_class = _notebook_aware_tqdm() if self.stream is None else std_tqdm
        self._bar = bar_class(
            total=self.params.get("steps"),
            desc=self._epoch_label(epoch),
            unit="step",
            file=self._out(),
            leave=True,
        )

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self._bar is None:
            return
        # Set the text first without redrawing; update() then redraws (rate-limited by
        # tqdm's mininterval), so a fast loop is not slowed by printing.
        self._bar.set_postfix_str(format_logs(logs), refresh=False)
        self._bar.update(1)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        text = format_logs(logs)
        if self._bar is not None:
            # The epoch logs add the validation results; close() draws the final state.
            self._bar.set_postfix_str(text, refresh=False)
            self._close_bar()
        elif self.verbose == 2:
            elapsed = time.perf_counter() - self._epoch_start
            print(f"{self._epoch_label(epoch)} - {elapsed:.1f}s - {text}", file=self._out())

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._close_bar()  # in case training stopped in the middle of an epoch

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
