"""Running a validated model: ``InferenceModel`` prepares every layer once (kernels transposed
and aligned, output buffers allocated), so that predicting one sample is a BLAS
matrix-vector product per Dense layer and a few in-place NumPy operations.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from tinynn.runtime.activations import ACTIVATIONS
from tinynn.runtime.model_file import MAX_FILE_BYTES, LayerSpec, ModelSpec, read_model


class _Dense:
    """y = f(x W + b). W is kept transposed, (units, n_in) and contiguous: for one sample
    ``np.dot(W.T, x)`` is a plain BLAS matrix-vector product over contiguous rows."""

    def __init__(self, layer: LayerSpec) -> None:
        self.kernel_t = _aligned_copy(layer.kernel.T)
        self.bias = None if layer.bias is None else np.ascontiguousarray(layer.bias)
        self.activation = None if layer.activation == "linear" else ACTIVATIONS[layer.activation]
        self.alpha = layer.alpha
        self.out = np.empty(layer.output_shape, layer.dtype)  # reused by every ``one`` call

    def one(self, x: np.ndarray) -> np.ndarray:
        out = self.out
        np.dot(self.kernel_t, x, out=out)
        if self.bias is not None:
            np.add(out, self.bias, out=out)
        if self.activation is not None:
            self.activation(out, self.alpha, out)
        return out

    def batch(self, x: np.ndarray) -> np.ndarray:
        out = np.matmul(x, self.kernel_t.T)
        if self.bias is not None:
            out += self.bias
        if self.activation is not None:
            self.activation(out, self.alpha, out)
        return out


def aligned_empty(shape: int | tuple[int, ...], dtype: Any, alignment: int = 64) -> np.ndarray:
    """An uninitialised C-contiguous array whose first element starts an ``alignment``-byte
    boundary (a cache line). NumPy only promises 16 bytes; BLAS vector loads that straddle
    two cache lines cost ~4% of one-sample latency."""
    dtype = np.dtype(dtype)
    size = math.prod(shape) if isinstance(shape, tuple) else shape
    buffer = np.empty(size * dtype.itemsize + alignment, dtype=np.uint8)
    start = -buffer.ctypes.data % alignment
    return buffer[start : start + size * dtype.itemsize].view(dtype).reshape(shape)


def _aligned_copy(array: np.ndarray) -> np.ndarray:
    copy = aligned_empty(array.shape, array.dtype)
    copy[...] = array
    return copy


class _Activation:
    def __init__(self, layer: LayerSpec) -> None:
        self.activation, self.alpha = ACTIVATIONS[layer.activation], layer.alpha
        self.out = np.empty(layer.output_shape, layer.dtype)

    def one(self, x: np.ndarray) -> np.ndarray:
        return self.activation(x, self.alpha, self.out)

    def batch(self, x: np.ndarray) -> np.ndarray:
        return self.activation(x, self.alpha, np.empty_like(x))


class _Reshape:
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def one(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.shape)

    def batch(self, x: np.ndarray) -> np.ndarray:
        return x.reshape((len(x), *self.shape))


class _Cast:
    """A layer computing in another dtype than the one before it (tinynn casts its input)."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype

    def one(self, x: np.ndarray) -> np.ndarray:
        return x.astype(self.dtype)

    batch = one


class InferenceModel:
    """A validated model ready to predict. Build it with ``load_model(path)``.

    Attributes: ``input_shape`` and ``output_shape`` (one sample, no batch axis), ``dtype``,
    ``spec`` (the ``ModelSpec`` read from the file) and ``metadata`` (what training recorded).
    Safe to share between threads: a call that finds the single-sample buffers busy computes
    with fresh arrays instead.
    """

    def __init__(self, spec: ModelSpec) -> None:
        self.spec, self.metadata = spec, spec.metadata
        self.input_shape, self.output_shape, self.dtype = (
            spec.input_shape,
            spec.output_shape,
            spec.dtype,
        )
        steps: list[Any] = []
        dtype = spec.dtype
        for layer in spec.layers:
            if layer.dtype != dtype:
                steps.append(_Cast(layer.dtype))
                dtype = layer.dtype
            if layer.class_name == "Dense":
                steps.append(_Dense(layer))
            elif layer.class_name == "Activation":
                steps.append(_Activation(layer))
            elif layer.class_name in ("Flatten", "Reshape"):
                steps.append(_Reshape(layer.output_shape))
        if dtype != spec.dtype:
            steps.append(_Cast(spec.dtype))
        self._one = tuple(step.one for step in steps)  # bound methods: no lookups per call
        self._batch = tuple(step.batch for step in steps)
        self._lock = threading.Lock()

    def predict_one(self, sample: Any) -> np.ndarray:
        """Output (*output_shape) for one sample of shape ``input_shape``: the fast path."""
        x = np.ascontiguousarray(sample, dtype=self.dtype)
        if x.shape != self.input_shape:
            raise ValueError(f"expected one sample of shape {self.input_shape}, got {x.shape}")
        if not self._lock.acquire(blocking=False):  # another thread is using the buffers
            return self._run_batch(x[None])[0]
        try:
            for step in self._one:
                x = step(x)
            return x.astype(self.dtype)  # a copy: the buffer is reused by the next call
        finally:
            self._lock.release()

    def predict(self, x: Any, batch_size: int | None = None) -> np.ndarray:
        """Outputs (batch, *output_shape) for x of shape (batch, *input_shape).

        ``batch_size`` bounds memory by predicting that many rows at a time.
        """
        x = np.asarray(x)
        if x.shape[1:] != self.input_shape or x.ndim != len(self.input_shape) + 1:
            raise ValueError(
                f"expected a batch of shape (batch, {', '.join(map(str, self.input_shape))}), "
                f"got {x.shape}; use predict_one for a single sample"
            )
        if len(x) == 1:
            return self.predict_one(x[0])[None]
        if batch_size is None or batch_size >= len(x):
            return self._run_batch(x)
        return np.concatenate(
            [self._run_batch(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        )

    def _run_batch(self, x: np.ndarray) -> np.ndarray:
        h = np.array(x, dtype=self.dtype)  # a copy, so nothing below can write into the input
        for step in self._batch:
            h = step(h)
        return h

    def __call__(self, x: Any) -> np.ndarray:
        return self.predict(x)

    def __repr__(self) -> str:
        kinds = " -> ".join(layer.class_name for layer in self.spec.layers)
        return f"<InferenceModel {self.input_shape} -> {self.output_shape}: {kinds}>"


def load_model(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> InferenceModel:
    """Read, validate and prepare a model file written by tinynn's ``model.save(path)``."""
    return InferenceModel(read_model(Path(path), max_bytes=max_bytes))
