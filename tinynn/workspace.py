"""Reusable scratch arrays: how a training loop avoids allocating memory at every step.

A workspace is a plain dict owned by one layer, loss or model. ``borrow`` hands out an array
of the requested shape, allocating it only the first time (or when a larger batch arrives).
A smaller batch, such as an epoch's last, partial one, gets a view of the first rows. Whoever
owns the workspace must be done with the previous step's contents before asking again, which
is the case in forward → backward → optimizer step loops.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def borrow(
    workspace: dict[str, np.ndarray] | None, name: str, shape: tuple[int, ...], dtype: Any
) -> np.ndarray:
    """An uninitialised array of ``shape`` and ``dtype``: new if ``workspace`` is None, else
    reused from ``workspace[name]``."""
    if workspace is None:
        return np.empty(shape, dtype=dtype)
    buffer = workspace.get(name)
    # The steady state, tested first: a dozen calls per training step make this path hot.
    if buffer is not None and buffer.shape == shape and buffer.dtype == dtype:
        return buffer
    if (
        buffer is None
        or buffer.dtype != dtype
        or buffer.shape[1:] != tuple(shape[1:])
        or buffer.shape[0] < shape[0]
    ):
        buffer = np.empty(shape, dtype=dtype)
        workspace[name] = buffer
    return buffer if buffer.shape[0] == shape[0] else buffer[: shape[0]]
