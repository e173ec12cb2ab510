"""``EarlyStopping``: stop training when a monitored quantity stops improving."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

import numpy as np

from tinynn.callbacks._checks import check_non_negative_int, check_non_negative_number
from tinynn.callbacks.callback import Callback, Logs
from tinynn.callbacks.monitor import (
    check_monitor,
    is_improvement,
    monitor_value,
    resolve_mode,
    worst_value,
)


class EarlyStopping(Callback):
    """Set ``model.stop_training`` once ``monitor`` has not improved for ``patience`` epochs.

    Keras 3 semantics, epoch by epoch (epochs before ``start_from_epoch`` are ignored):

    1. ``wait += 1``.
    2. If the value beats the best so far by more than ``min_delta``, it becomes the
       best (and its weights are kept if ``restore_best_weights``); ``wait`` is reset to
       0 only if the value also beats ``baseline`` (when one is given). Next epoch.
    3. Otherwise, if ``wait >= patience`` (and this is not epoch 0), stop:
       ``stopped_epoch = epoch``.

    So ``patience=0`` stops at the first epoch without improvement. With
    ``restore_best_weights=True`` the weights of the best epoch are put back at the end
    of training, whether or not it stopped early.

    Args:
        monitor: log key to watch, e.g. "val_loss" or "val_accuracy".
        min_delta: an improvement must exceed this (>= 0) to count.
        patience: epochs without improvement before stopping (>= 0).
        verbose: 1 prints a message when stopping or restoring.
        mode: "min", "max" or "auto" (max if the name contains acc/auc/precision/recall/f1).
        baseline: value to beat; while it is not beaten, ``wait`` keeps growing.
        restore_best_weights: restore the best epoch's weights at ``on_train_end``.
        start_from_epoch: number of warm-up epochs that are not monitored.

    Attributes:
        stopped_epoch: 0-based epoch at which training was stopped (0 if it was not).
        best: best monitored value; ``best_epoch``: its 0-based epoch.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        self.monitor = check_monitor(monitor)
        self.min_delta = check_non_negative_number("min_delta", min_delta)
        self.patience = check_non_negative_int("patience", patience)
        self.verbose = check_non_negative_int("verbose", verbose)
        self.mode = resolve_mode(mode, self.monitor)
        finite = isinstance(baseline, Real) and math.isfinite(baseline)
        if baseline is not None and (isinstance(baseline, bool) or not finite):
            raise ValueError(f"baseline must be a finite number or None, got {baseline!r}")
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = check_non_negative_int("start_from_epoch", start_from_epoch)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = worst_value(self.mode)
        self.best_epoch = 0
        self.best_weights: list[np.ndarray] | None = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._reset()  # so one instance can be reused across fit() calls

    def _snapshot(self) -> list[np.ndarray]:
        # Copy: a model may hand out its live arrays, which the optimizer then updates
        # in place, and the "best" weights would silently follow the current ones.
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        current: Any = monitor_value(logs, self.monitor, "EarlyStopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Nothing better seen yet, so the current weights are the best so far.
            self.best_weights = self._snapshot()
            self.best_epoch = epoch

        self.wait += 1
        if is_improvement(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._snapshot()
            beats_baseline = self.baseline is None or is_improvement(
                current, self.baseline, self.mode, self.min_delta
            )
            if beats_baseline:
                self.wait = 0
            return

        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            self.say(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                epoch_number = self.best_epoch + 1
                self.say(f"Restoring model weights from the end of the best epoch: {epoch_number}.")
            self.model.set_weights(self.best_weights)
