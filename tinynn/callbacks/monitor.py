"""Watching one logged quantity: which direction is better, and did it improve?

Shared by ``EarlyStopping``, ``ModelCheckpoint`` and ``ReduceLROnPlateau``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

MODES = ("auto", "min", "max")
# Substrings of quantities where larger is better; everything else (losses, errors)
# is minimised. Keras 2 used the same idea with "acc" only.
MAXIMIZED_HINTS = ("acc", "auc", "precision", "recall", "f1")


def check_monitor(monitor: Any) -> str:
    """Return ``monitor`` if it is a non-empty string, else raise ValueError."""
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(f"monitor must be a non-empty log key such as 'val_loss', got {monitor!r}")
    return monitor


def resolve_mode(mode: str, monitor: str) -> str:
    """Turn ``mode`` into "min" or "max"; "auto" looks at the monitor's name.

    >>> resolve_mode("auto", "val_accuracy"), resolve_mode("auto", "val_loss")
    ('max', 'min')
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if any(hint in monitor for hint in MAXIMIZED_HINTS) else "min"


def worst_value(mode: str) -> float:
    """The starting 'best' value that any real value improves on: +inf for min, -inf for max."""
    return math.inf if mode == "min" else -math.inf


def is_improvement(current: float, reference: float, mode: str, min_delta: float = 0.0) -> bool:
    """True if ``current`` beats ``reference`` by more than ``min_delta``.

    min mode: ``current < reference - min_delta``; max mode: ``current > reference + min_delta``.
    A NaN is never an improvement, because every comparison with NaN is False.
    """
    if mode == "min":
        return bool(current < reference - min_delta)
    return bool(current > reference + min_delta)


def monitor_value(logs: dict[str, Any] | None, monitor: str, owner: str) -> Any:
    """Return ``logs[monitor]``, or warn (naming the available keys) and return None."""
    logs = logs or {}
    value = logs.get(monitor)
    if value is None:
        warnings.warn(
            f"{owner} is conditioned on {monitor!r}, which is not in the logs. "
            f"Available keys: {', '.join(logs) or '(none)'}",
            RuntimeWarning,
            stacklevel=3,
        )
    return value
