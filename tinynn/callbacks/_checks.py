"""Argument checks shared by the callbacks; each error names the value and the expectation."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any


def check_non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` if it is an int >= 0 (bool is rejected), else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return value


def check_non_negative_number(name: str, value: Any) -> float:
    """Return ``value`` as float if it is a finite real number >= 0, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return float(value)
