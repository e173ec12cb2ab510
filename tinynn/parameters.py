"""The parameter store: where a model's parameters and gradients live, allocated once.

    store = ParameterStore()
    W, grad_W = store.allocate((784, 256), np.float32)    # zero-filled views, side by side

A model owns one store and gives it to each of its layers before building them
(``layer.store = model.store``). ``Layer.add_weight`` then takes its arrays from the store, and
the array it returns is the array that trains, for the layer's whole life: nothing ever moves
or rebinds it, so a custom layer may keep ``self.W = self.add_weight(...)`` and use ``self.W``.
A layer without a store (built on its own) gets ordinary arrays.

**Why a store.** Arrays handed out one after the other sit side by side in one flat block, so
the parameters of consecutive layers form one contiguous stretch of memory, and so do their
gradients, at the same offsets. An optimizer can then update a whole run of parameters with one
kernel call (``contiguous_runs``), and a data-parallel trainer can sum every gradient across
processes with one message per block.

A block is two flat arrays (parameters and gradients) whose first elements start a 64-byte
cache line. A request that does not fit the current block opens a new one, at least half as
large as everything allocated so far, so a model of any size has a handful of blocks. A layer
whose shapes change (``tinynn.grow``) asks for new arrays; the old stretch is simply unused.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The smallest block, in elements (16 KB of float32).
MIN_BLOCK = 1 << 12
#: Blocks and runs start on a cache line: NumPy itself only promises 16 bytes.
ALIGNMENT = 64


@dataclass
class Block:
    """Flat parameter and gradient arrays of the same length; ``used`` elements handed out."""

    params: np.ndarray
    grads: np.ndarray
    used: int = 0

    @property
    def capacity(self) -> int:
        return self.params.size


class ParameterStore:
    """The blocks holding a model's parameters and gradients (see the module docstring)."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []

    def allocate(self, shape: Sequence[int], dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        """A zero-filled parameter of ``shape`` and its zero gradient, views into one block."""
        dtype = np.dtype(dtype)
        shape = tuple(int(d) for d in shape)
        size = math.prod(shape)
        block = self._block_with_room(size, dtype)
        start, block.used = block.used, block.used + size
        param = block.params[start : block.used].reshape(shape)
        grad = block.grads[start : block.used].reshape(shape)
        return param, grad

    def _block_with_room(self, size: int, dtype: np.dtype) -> Block:
        for block in reversed(self.blocks):
            if block.params.dtype == dtype:
                if block.capacity - block.used >= size:
                    return block
                break  # only the newest block of a dtype is filled: earlier ones stay in order
        allocated = sum(block.used for block in self.blocks if block.params.dtype == dtype)
        capacity = max(size, MIN_BLOCK, allocated // 2)
        block = Block(aligned_zeros(capacity, dtype), aligned_zeros(capacity, dtype))
        self.blocks.append(block)
        return block

    @property
    def used_bytes(self) -> int:
        """Bytes of parameters handed out (gradients take as many again)."""
        return sum(block.used * block.params.itemsize for block in self.blocks)

    @property
    def reserved_bytes(self) -> int:
        """Bytes the blocks hold, parameters and gradients together."""
        return sum(block.params.nbytes + block.grads.nbytes for block in self.blocks)

    def __repr__(self) -> str:
        return (
            f"<ParameterStore {len(self.blocks)} block(s), {self.used_bytes:,} bytes of "
            f"parameters used, {self.reserved_bytes:,} reserved>"
        )


def aligned_zeros(size: int, dtype: Any) -> np.ndarray:
    """A zero-filled 1-D array whose first element starts a 64-byte cache line."""
    dtype = np.dtype(dtype)
    raw = np.zeros(size * dtype.itemsize + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + size * dtype.itemsize].view(dtype)


def contiguous_runs(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]],
) -> list[tuple[np.ndarray, np.ndarray, list[int]]]:
    """Group (param, grad) pairs whose arrays lie end to end in memory.

    Returns one (flat params, flat grads, indices of the pairs) per run, in order. A run is a
    maximal sequence of pairs where each parameter starts exactly where the previous one ended,
    inside the same flat buffer, and likewise each gradient: an update written element-wise on
    the flat views is then the same update on every pair. Pairs that are not views of a flat
    buffer (ordinary arrays) form runs of their own, stepped as they are.
    """
    runs: list[tuple[np.ndarray, np.ndarray, list[int]]] = []
    run: _Run | None = None
    for index, (param, grad) in enumerate(pairs):
        p_base, p_start = _flat_position(param)
        g_base, g_start = _flat_position(grad)
        if run is not None and run.extends(param, p_base, p_start, g_base, g_start):
            run.add(index, param.nbytes)
            continue
        if run is not None:
            runs.append(run.close())
            run = None
        if p_base is None or g_base is None:
            runs.append((param, grad, [index]))
        else:
            run = _Run(param.dtype, p_base, p_start, g_base, g_start)
            run.add(index, param.nbytes)
    if run is not None:
        runs.append(run.close())
    return runs


class _Run:
    """A growing run: the two flat buffers, where it starts in each (bytes), its length."""

    def __init__(self, dtype, p_base, p_start, g_base, g_start) -> None:
        self.dtype, self.p_base, self.p_start, self.g_base, self.g_start = (
            dtype,
            p_base,
            p_start,
            g_base,
            g_start,
        )
        self.nbytes = 0
        self.indices: list[int] = []

    def extends(self, param, p_base, p_start, g_base, g_start) -> bool:
        return (
            p_base is self.p_base
            and g_base is self.g_base
            and param.dtype == self.dtype
            and p_start == self.p_start + self.nbytes
            and g_start == self.g_start + self.nbytes
        )

    def add(self, index: int, nbytes: int) -> None:
        self.indices.append(index)
        self.nbytes += nbytes

    def close(self) -> tuple[np.ndarray, np.ndarray, list[int]]:
        params = _bytes(self.p_base)[self.p_start : self.p_start + self.nbytes].view(self.dtype)
        grads = _bytes(self.g_base)[self.g_start : self.g_start + self.nbytes].view(self.dtype)
        return params, grads, self.indices


def _bytes(base: np.ndarray) -> np.ndarray:
    return base.view(np.uint8)


def _flat_position(array: np.ndarray) -> tuple[np.ndarray | None, int]:
    """(the 1-D buffer that owns ``array``'s memory, its byte offset there) when ``array`` is a
    C-contiguous view into such a buffer (as the store hands out), else (None, 0)."""
    base = array.base
    if (
        not isinstance(base, np.ndarray)
        or base.ndim != 1
        or not base.flags.c_contiguous
        or not array.flags.c_contiguous
        or not array.flags.writeable
    ):
        return None, 0
    offset = array.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    if not 0 <= offset <= base.nbytes - array.nbytes:
        return None, 0
    return base, offset
