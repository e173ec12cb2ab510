"""Callbacks that change ``model.optimizer.learning_rate`` between epochs.

Both write the rate in use to ``logs["learning_rate"]`` at the end of each epoch, so
``History`` records it (put them before ``History``; ``fit`` appends ``History`` last).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any

from tinynn.callbacks._checks import check_non_negative_int, check_non_negative_number
from tinynn.callbacks.callback import Callback, Logs
from tinynn.callbacks.monitor import (
    check_monitor,
    is_improvement,
    monitor_value,
    resolve_mode,
    worst_value,
)


def current_learning_rate(model: Any) -> float:
    """Read ``model.optimizer.learning_rate`` as a float, with a clear error if it is not one."""
    rate = model.optimizer.learning_rate
    if isinstance(rate, bool) or not isinstance(rate, Real):
        raise TypeError(
            "learning-rate callbacks need optimizer.learning_rate to be a number, got "
            f"{type(rate).__name__}: {rate!r} (a schedule object already sets the rate itself)"
        )
    return float(rate)


class LearningRateScheduler(Callback):
    """At the start of every epoch set ``lr = schedule(epoch, lr)``.

    Args:
        schedule: ``schedule(epoch: int, lr: float) -> float``; ``epoch`` is 0-based and
            ``lr`` is the current rate. It must return a finite number >= 0.
        verbose: 1 prints the new rate each epoch.

    Example: halve the rate every 10 epochs::

        LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch and epoch % 10 == 0 else lr)
    """

    def __init__(self, schedule: Callable[[int, float], float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise ValueError(f"schedule must be a callable (epoch, lr) -> lr, got {schedule!r}")
        self.schedule = schedule
        self.verbose = check_non_negative_int("verbose", verbose)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        new_rate = self.schedule(epoch, current_learning_rate(self.model))
        valid = isinstance(new_rate, Real) and not isinstance(new_rate, bool)
        if not valid or not math.isfinite(new_rate) or new_rate < 0:
            raise ValueError(
                f"schedule({epoch}, lr) returned {new_rate!r}; expected a finite number >= 0"
            )
        self.model.optimizer.learning_rate = float(new_rate)
        if self.verbose > 0:
            self.say(
                f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {new_rate}."
            )

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving.

    Keras semantics, at the end of each epoch:

    1. ``logs["learning_rate"]`` = the rate used during this epoch.
    2. If in cooldown: ``cooldown_counter -= 1`` and ``wait = 0``.
    3. If the value beats ``best`` by more than ``min_delta``: it becomes ``best`` and
       ``wait = 0``. Otherwise, if not (any longer) in cooldown: ``wait += 1``, and when
       ``wait >= patience`` and ``lr > min_lr``:
       ``lr = max(lr * factor, min_lr)``, ``cooldown_counter = cooldown``, ``wait = 0``.

    Note the order in step 2-3: with ``cooldown=1`` the counter is already back to 0
    when the next epoch is checked, so a reduction can follow on the very next epoch.

    Args:
        monitor: log key to watch.
        factor: ``new_lr = lr * factor``, with ``0 < factor < 1``.
        patience: epochs without improvement before reducing (>= 0).
        verbose: 1 prints a message at each reduction.
        mode: "min", "max" or "auto" (max if the name contains acc/auc/precision/recall/f1;
            Keras checks only "acc").
        min_delta: an improvement must exceed this (>= 0) to count.
        cooldown: epochs to wait after a reduction before counting again (>= 0).
        min_lr: lower bound on the rate (>= 0).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__()
        self.monitor = check_monitor(monitor)
        if isinstance(factor, bool) or not isinstance(factor, Real) or not 0 < factor < 1:
            raise ValueError(
                f"factor must be a number with 0 < factor < 1 (it multiplies the learning "
                f"rate), got {factor!r}"
            )
        self.factor = float(factor)
        self.patience = check_non_negative_int("patience", patience)
        self.verbose = check_non_negative_int("verbose", verbose)
        self.mode = resolve_mode(mode, self.monitor)
        self.min_delta = check_non_negative_number("min_delta", min_delta)
        self.cooldown = check_non_negative_int("cooldown", cooldown)
        self.min_lr = check_non_negative_number("min_lr", min_lr)
        self._reset()

    def _reset(self) -> None:
        self.best = worst_value(self.mode)
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        rate = current_learning_rate(self.model)
        if logs is not None:
            logs["learning_rate"] = rate
        current = monitor_value(logs, self.monitor, "ReduceLROnPlateau")
        if current is None:
            return

        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0

        if is_improvement(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and rate > self.min_lr:
                new_rate = max(rate * self.factor, self.min_lr)
                self.model.optimizer.learning_rate = new_rate
                if self.verbose > 0:
                    self.say(
                        f"Epoch {epoch + 1}: ReduceLROnPlateau reducing the rate to {new_rate}."
                    )
                self.cooldown_counter = self.cooldown
                self.wait = 0
