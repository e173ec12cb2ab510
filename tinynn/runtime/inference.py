"""The inference engine: ``InferenceModel`` runs a checked ``ModelSpec``, one sample or a batch.

It is the one implementation behind both ``model.predict`` (on a model's live weights) and the
NumPy-only runtime (on a file's weights): every layer is prepared once (its activation object,
its buffers), so that predicting one sample is a vector-matrix product per Dense layer and a
few in-place NumPy operations. The activations are the classes of ``tinynn.activations``
themselves, so inference computes exactly the formulas training does.

``kernels`` (optional) is a compiled backend such as ``tinynn.kernels.numba_ops``: consecutive
Dense layers then run as one compiled call (``kernels.DenseStack``). The engine imports
nothing beyond NumPy and the modules it is shipped with; the kernels are handed in.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from tinynn.activations import ACTIVATIONS
from tinynn.runtime.archive import MAX_FILE_BYTES
from tinynn.runtime.model_file import LayerSpec, ModelSpec, read_model


def _activation_object(layer: LayerSpec) -> Any:
    """The activation class of a layer spec, instantiated (with its alpha where it has one)."""
    cls = ACTIVATIONS[layer.activation]
    return cls(layer.alpha) if layer.alpha else cls()


class _Dense:
    """y = f(x W + b), with W (n_in, units) as the model keeps it: for one sample,
    ``np.dot(x, W)`` is one BLAS vector-matrix product."""

    def __init__(self, layer: LayerSpec) -> None:
        self.kernel, self.bias = layer.kernel, layer.bias
        self.activation = None if layer.activation == "linear" else _activation_object(layer)
        self.out = np.empty(layer.output_shape, layer.dtype)  # reused by every ``one`` call

    def one(self, x: np.ndarray) -> np.ndarray:
        out = np.dot(x, self.kernel, out=self.out)
        if self.bias is not None:
            out += self.bias
        if self.activation is not None:
            self.activation.forward(out, out=out)
        return out

    def batch(self, x: np.ndarray) -> np.ndarray:
        out = np.matmul(x, self.kernel)
        if self.bias is not None:
            out += self.bias
        if self.activation is not None:
            self.activation.forward(out, out=out)
        return out


class _DenseRun:
    """Consecutive Dense layers run by a compiled backend's ``DenseStack``."""

    def __init__(self, layers: list[LayerSpec], kernels: Any) -> None:
        self.stack = kernels.DenseStack(
            [(layer.kernel, layer.bias, _activation_object(layer)) for layer in layers]
        )
        self.dtype = layers[0].dtype
        self.scratch = np.empty(self.stack.width, self.dtype)

    def one(self, x: np.ndarray) -> np.ndarray:
        return self.stack.forward_one(x, self.scratch)

    def batch(self, x: np.ndarray) -> np.ndarray:
        scratch = np.empty(len(x) * self.stack.width, self.dtype)
        return self.stack.forward(x, scratch)


class _Activation:
    def __init__(self, layer: LayerSpec) -> None:
        self.activation = _activation_object(layer)
        self.out = np.empty(layer.output_shape, layer.dtype)

    def one(self, x: np.ndarray) -> np.ndarray:
        return self.activation.forward(x, out=self.out)

    def batch(self, x: np.ndarray) -> np.ndarray:
        return self.activation.forward(x, out=np.empty_like(x))


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


def _steps(spec: ModelSpec, kernels: Any) -> list[Any]:
    """One step per layer (Dropout and Input are the identity at inference); with a compiled
    backend, consecutive Dense layers with built-in activations become one step."""
    steps: list[Any] = []
    dtype, run = spec.dtype, []

    def flush() -> None:
        if run:
            steps.append(_DenseRun(list(run), kernels))
            run.clear()

    for layer in spec.layers:
        if layer.class_name in ("Dropout", "Input"):
            continue
        if layer.dtype != dtype:
            flush()
            steps.append(_Cast(layer.dtype))
            dtype = layer.dtype
        if kernels is not None and layer.class_name == "Dense" and layer.kernel.flags.c_contiguous:
            run.append(layer)
            continue
        flush()
        if layer.class_name == "Dense":
            steps.append(_Dense(layer))
        elif layer.class_name == "Activation":
            steps.append(_Activation(layer))
        elif layer.class_name in ("Flatten", "Reshape"):
            steps.append(_Reshape(layer.output_shape))
    flush()
    if dtype != spec.dtype:
        steps.append(_Cast(spec.dtype))
    return steps


class InferenceModel:
    """A validated model ready to predict. Build it with ``load_model(path)``, or from a
    ``ModelSpec`` (``kernels``: an optional compiled backend, see the module docstring).

    Attributes: ``input_shape`` and ``output_shape`` (one sample, no batch axis), ``dtype``,
    ``spec`` (the ``ModelSpec`` read from the file) and ``metadata`` (what training recorded).
    Safe to share between threads: a call that finds the single-sample buffers busy computes
    with fresh arrays instead. Every result is a new array.
    """

    def __init__(self, spec: ModelSpec, kernels: Any = None) -> None:
        self.spec, self.metadata = spec, spec.metadata
        self.input_shape, self.output_shape = spec.input_shape, spec.output_shape
        self.dtype = spec.dtype
        steps = _steps(spec, kernels)
        self._one = tuple(step.one for step in steps)  # bound methods: no lookups per call
        self._batch = tuple(step.batch for step in steps)
        self._lock = threading.Lock()

    def predict_one(self, sample: Any) -> np.ndarray:
        """Output (*output_shape) for one sample of shape ``input_shape``: the fast path."""
        x = np.ascontiguousarray(sample, dtype=self.dtype)
        if x.shape != self.input_shape:
            raise ValueError(f"expected one sample of shape {self.input_shape}, got {x.shape}")
        return self.run_one(x)

    def run_one(self, x: np.ndarray) -> np.ndarray:
        """``predict_one`` for a sample already checked: contiguous, right shape and dtype."""
        if not self._lock.acquire(blocking=False):  # another thread is using the buffers
            return self.run_batch(x[None])[0]
        try:
            for step in self._one:
                x = step(x)
            return x.copy()  # the buffer is reused by the next call
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
            return self.run_batch(x)
        return np.concatenate(
            [self.run_batch(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        )

    def run_batch(self, x: np.ndarray) -> np.ndarray:
        """Outputs for a batch already checked, as a new array."""
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
