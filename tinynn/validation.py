"""Checks on user data, run once at the entry of fit / evaluate / predict.

Each failure raises ``TypeError`` (wrong kind of data) or ``ValueError`` (wrong values or
shapes) with a message that names the problem and the expected value. The hot loops behind
these entry points trust the data after that.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_array(
    x: Any, name: str, dtype: np.dtype, sample_shape: tuple | None = None
) -> np.ndarray:
    """A finite, non-empty numeric array of shape (n, *sample_shape), cast to ``dtype``."""
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} could not be converted to a numeric array: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric (int, float or bool), got dtype {array.dtype}")
    if array.ndim == 0:
        raise ValueError(f"{name} must have a batch axis, got a scalar")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty; expected at least one sample")
    if sample_shape is not None and array.shape[1:] != tuple(sample_shape):
        raise ValueError(
            f"{name} has samples of shape {array.shape[1:]}; "
            f"the model expects {tuple(sample_shape)}"
        )
    array = array.astype(dtype, copy=False)
    check_finite(array, name)
    return array


#: Float32 arrays up to this size take the small-data path of ``check_finite``.
_SMALL = 16_384
_BLAS_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def check_finite(array: np.ndarray, name: str) -> None:
    """ValueError naming the first NaN or inf in ``array``, if there is one.

    One reduction finds out cheaply: NaN and ±inf make it non-finite, and it needs no
    temporary array the size of the data (np.isfinite(x).all() would allocate a 47 MB mask
    for MNIST at every fit). Only when the reduction is not finite is the mask built, to say
    where; one that merely overflowed finds none. Which reduction, measured on one core:

    - a few samples of float32 (``predict``): Σ x² in float64. Squares of float32 values
      cannot overflow there and are never negative, so the sum raises no floating-point
      warning (not even for +inf and −inf together), and no ``np.errstate`` is needed: that
      context manager alone costs more (1 µs) than this check of a 784-pixel sample;
    - anything larger: x·x through BLAS under ``np.errstate`` (5 ms for MNIST's
      60,000 × 784 float32, where a plain sum takes 10 ms, at every ``fit``).
    """
    if array.dtype.kind != "f" or array.size == 0:
        return
    if array.dtype == np.float32 and array.size <= _SMALL:
        wide = array.reshape(-1).astype(np.float64)
        total = float(np.dot(wide, wide))
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            if array.dtype in _BLAS_FLOATS and array.flags.c_contiguous:
                flat = array.reshape(-1)
                total = float(np.dot(flat, flat))
            else:
                total = float(np.add.reduce(array, axis=None))
    if math.isfinite(total):
        return
    bad = np.argwhere(~np.isfinite(array))
    if len(bad) == 0:
        return
    where = tuple(int(i) for i in bad[0])
    raise ValueError(f"{name} contains {array[where]} at index {where}; expected finite values")


def check_same_length(x: np.ndarray, y: np.ndarray, x_name: str = "x", y_name: str = "y") -> None:
    if len(x) != len(y):
        raise ValueError(
            f"{x_name} and {y_name} have different lengths: {len(x)} and {len(y)}; "
            "expected one target per sample"
        )


def check_targets(
    y: Any, n_samples: int, output_shape: tuple, dtype: np.dtype, sparse: bool
) -> np.ndarray:
    """Targets for n samples: labels (n,) if ``sparse``, else shaped like the model's output.

    A flat y of length n is accepted for a single-unit output (binary or regression) and
    reshaped to (n, 1), as Keras does.
    """
    array = np.asarray(y)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"y must be numeric (int, float or bool), got dtype {array.dtype}")
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError("y is empty; expected one target per sample")
    if len(array) != n_samples:
        raise ValueError(
            f"x and y have different lengths: {n_samples} and {len(array)}; "
            "expected one target per sample"
        )
    if sparse:
        if array.dtype.kind == "f":  # integer labels cannot be NaN: no pass over them
            check_finite(array, "y")
        return array
    if array.ndim == 1 and tuple(output_shape) == (1,):
        array = array.reshape(-1, 1)
    if array.shape[1:] != tuple(output_shape):
        hint = ""
        if array.ndim == 1:
            hint = (
                " (integer labels? use loss='sparse_categorical_crossentropy' or "
                "tinynn.utils.to_categorical)"
            )
        raise ValueError(
            f"y has targets of shape {array.shape[1:]}; the model's output is "
            f"{tuple(output_shape)}{hint}"
        )
    array = array.astype(dtype, copy=False)
    check_finite(array, "y")
    return array


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_non_negative_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)
