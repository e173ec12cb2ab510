"""Argument types for argparse: each converts one string or raises ``ArgumentTypeError``.

argparse turns ``ArgumentTypeError`` into a usage error (exit status 2) that names the
option, e.g. ``tinynn: error: argument --epochs: expected an integer >= 1, got '0'``.
"""

from __future__ import annotations

import argparse
import math


def positive_int(text: str) -> int:
    """An integer ≥ 1 (epochs, batch size)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite float > 0 (learning rate)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def open_fraction(text: str) -> float:
    """A float strictly between 0 and 1 (test size)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}")
    return value


def dropout_rate(text: str) -> float:
    """A float in [0, 1): the fraction of units dropped; 0 means no dropout layers."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a rate in [0, 1), got {text!r}")
    return value


def hidden_sizes(text: str) -> tuple[int, ...]:
    """Comma-separated layer widths, e.g. ``"128,64"``; an empty string means no hidden layer
    (the model is then multinomial logistic regression)."""
    if not text.strip():
        return ()
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated integers >= 1 such as '128,64', got {text!r}"
            )
        sizes.append(int(part))
    return tuple(sizes)


def verbosity(text: str) -> int | str:
    """``fit``'s verbose: "auto", 0, 1 or 2 (see ``tinynn.callbacks.ProgbarLogger``)."""
    if text == "auto":
        return text
    if text not in ("0", "1", "2"):
        raise argparse.ArgumentTypeError(f"expected auto, 0, 1 or 2, got {text!r}")
    return int(text)
