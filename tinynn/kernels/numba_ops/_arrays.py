"""Small helpers shared by the Numba kernel wrappers: views of fixed rank and shape checks.

A compiled function is specialised on the rank of its arrays, so the kernels are written for
1-D (element-wise) or 2-D (row-wise) arrays, and the Python wrappers reshape whatever they
receive. Reshaping an input that is not contiguous makes a copy, which is harmless. Reshaping an
*output* that way would make the kernel write into the copy, so ``OutputView`` notices the
copy and writes the result back.

Compiled code does not check indices, so every wrapper checks shapes here first: a wrong shape
must be a ValueError, never a read past the end of an array.
"""

from __future__ import annotations

import math

import numpy as np


class OutputView:
    """A view of ``out`` with another shape, with a write-back when only a copy was possible.

    view = OutputView(out, rows_shape(out))   # or (-1,) for element-wise kernels
    kernel(..., view.array)
    view.write_back()
    """

    def __init__(self, out: np.ndarray, shape: tuple[int, ...]) -> None:
        self.out = out
        if out.shape == shape or (shape == (-1,) and out.ndim == 1):
            # Already the kernel's shape (the common case): compiled code handles any strides.
            self.array, self.is_copy = out, False
            return
        self.array = out.reshape(shape)
        # A contiguous array always reshapes to a view. Otherwise reshape may have copied:
        # a copy is fresh memory, which cannot overlap ``out``.
        contiguous = out.flags.c_contiguous
        self.is_copy = not contiguous and out.size > 0 and not np.may_share_memory(self.array, out)

    def write_back(self) -> np.ndarray:
        """Copy the result into the original array if the view was a copy; return it."""
        if self.is_copy:
            self.out[...] = self.array.reshape(self.out.shape)
        return self.out


def rows_shape(a: np.ndarray) -> tuple[int, int]:
    """The 2-D shape (rows, last axis) of a: (n,) -> (1, n), (a, b, c) -> (a·b, c), () -> (1, 1)."""
    if a.ndim == 0:
        return (1, 1)
    return (math.prod(a.shape[:-1]), a.shape[-1])


def as_rows(a: np.ndarray) -> np.ndarray:
    """a reshaped to ``rows_shape(a)`` (a copy only if a is not contiguous enough)."""
    if a.ndim == 2:
        return a
    return a.reshape(rows_shape(a))


def check_same_shape(**arrays: np.ndarray) -> None:
    """ValueError unless all the named arrays have one shape (the first one's)."""
    names = list(arrays)
    expected = arrays[names[0]].shape
    for name in names[1:]:
        if arrays[name].shape != expected:
            raise ValueError(
                f"{name} has shape {arrays[name].shape}; expected {expected}, the shape of "
                f"{names[0]}"
            )


def check_buffer(name: str, buffer: np.ndarray, param: np.ndarray, used: bool) -> None:
    """An optimizer state buffer must match param's size when the options use it."""
    if used and buffer.size != param.size:
        raise ValueError(
            f"{name} has {buffer.size} elements; expected {param.size} (the parameter's size) "
            "because the chosen options use it"
        )
