"""The inference engine: ``InferenceModel`` runs a checked ``ModelSpec``, one sample or a batch.

It is the one implementation behind both ``model.predict`` (on a model's live weights) and the
NumPy-only runtime (on a file's weights). Every layer is prepared once as a step of
``tinynn.runtime.layer_steps`` (its activation object, its buffers), so that predicting one
sample through a Dense stack is a vector-matrix product per layer and a few in-place NumPy
operations. The steps compute with the activation classes of ``tinynn.activations`` and the
NumPy kernels the layers call, so inference computes exactly the formulas training does.

A model is a program: slot 0 holds the input, and step k writes slot k + 1 from the slots it
reads. A chain (every step reading the one before, as in a Sequential model) runs as a plain
loop; a graph (Functional, Residual) keeps its slots in a list.

``kernels`` (optional) is a compiled backend such as ``tinynn.kernels.numba_ops``: consecutive
Dense layers of a chain then run as one compiled call (``kernels.DenseStack``), and the
convolution and pooling steps call the backend's twins of the NumPy kernels. The engine
imports nothing beyond NumPy and the modules it is shipped with; the kernels are handed in.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from tinynn.runtime.layer_steps import STEPS, Cast, DenseRun
from tinynn.runtime.specs import LayerSpec, ModelSpec


def _units(spec: ModelSpec, kernels: Any) -> list[tuple[str, list[LayerSpec]]]:
    """The layers grouped into steps: ("layer", [one layer]), or, with a compiled backend, a
    ("run", [Dense, …]) of consecutive Dense layers of one dtype in a chain."""
    fuse = kernels is not None and spec.is_chain()
    units: list[tuple[str, list[LayerSpec]]] = []
    for layer in spec.layers:
        dense = fuse and layer.class_name == "Dense" and layer.kernel.flags.c_contiguous
        if dense and units and units[-1][0] == "run" and units[-1][1][-1].dtype == layer.dtype:
            units[-1][1].append(layer)
        else:
            units.append(("run" if dense else "layer", [layer]))
    return units


def program(spec: ModelSpec, kernels: Any = None) -> tuple[list, int, dict[int, int]]:
    """([(step, slots it reads)], the output's slot, {tensor: slot}). A layer computing in
    another dtype than a tensor it reads gets a ``Cast`` step first, as tinynn's layers cast
    their inputs. Tensors inside a fused run of Dense layers have no slot."""
    steps: list[tuple[Any, tuple[int, ...]]] = []
    dtype_of = [spec.dtype]  # per slot
    slot_of = {0: 0}  # tensor -> slot

    def emit(step: Any, reads: tuple[int, ...], dtype: np.dtype) -> int:
        steps.append((step, reads))
        dtype_of.append(dtype)
        return len(steps)

    def read(tensor: int, dtype: np.dtype) -> int:
        slot = slot_of[tensor]
        return slot if dtype_of[slot] == dtype else emit(Cast(dtype), (slot,), dtype)

    tensor = 0
    for kind, unit in _units(spec, kernels):
        reads = tuple(read(t, unit[0].dtype) for t in unit[0].inputs)
        step = (
            DenseRun(unit, kernels)
            if kind == "run"
            else STEPS[unit[0].class_name](unit[0], kernels)
        )
        tensor += len(unit)
        slot_of[tensor] = emit(step, reads, unit[-1].dtype)
    return steps, read(spec.output, spec.dtype), slot_of


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
        steps, self._output, self._slots = program(spec, kernels)
        self._chain = self._output == len(steps) and all(
            reads == (k,) for k, (_, reads) in enumerate(steps)
        )
        self._one = tuple(step.one for step, _ in steps)  # bound methods: no lookups per call
        self._batch = tuple(step.batch for step, _ in steps)
        self._reads = tuple(reads for _, reads in steps)
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
            if self._chain:
                for step in self._one:
                    x = step(x)
                return x.copy()  # the buffer is reused by the next call
            return self._run_graph(self._one, x).copy()
        finally:
            self._lock.release()

    def tensors(self, x: np.ndarray) -> list[np.ndarray | None]:
        """Every tensor for a batch x: the input, then each layer's output (what int8
        calibration measures); None inside a fused run of Dense layers."""
        slots = [np.array(x, dtype=self.dtype)]
        for step, reads in zip(self._batch, self._reads, strict=True):
            slots.append(step(*[slots[i] for i in reads]))
        count = len(self.spec.layers) + 1
        return [slots[self._slots[t]] if t in self._slots else None for t in range(count)]

    def step_times(self, x: np.ndarray) -> list[tuple[str, float]]:
        """Where the time of a batch goes: x run step by step, as (what the step computes,
        seconds) in order. A step is one layer (its class), a run of Dense layers a compiled
        backend fuses ("Dense"), or a cast between dtypes ("Cast")."""
        slots, times = [np.array(x, dtype=self.dtype)], []
        for step, reads in zip(self._batch, self._reads, strict=True):
            start = time.perf_counter()
            slots.append(step(*[slots[i] for i in reads]))
            owner = step.__self__
            layer = getattr(owner, "layer", None)
            label = layer.class_name if layer is not None else type(owner).__name__
            times.append(("Dense" if label == "DenseRun" else label, time.perf_counter() - start))
        return times

    def _run_graph(self, steps: tuple, x: np.ndarray) -> np.ndarray:
        slots = [x]
        for step, reads in zip(steps, self._reads, strict=True):
            slots.append(step(*[slots[i] for i in reads]))
        return slots[self._output]

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
        if not self._chain:
            return self._run_graph(self._batch, h)
        for step in self._batch:
            h = step(h)
        return h

    def __call__(self, x: Any) -> np.ndarray:
        return self.predict(x)

    def __repr__(self) -> str:
        kinds = " -> ".join(layer.class_name for layer in self.spec.layers)
        return f"<InferenceModel {self.input_shape} -> {self.output_shape}: {kinds}>"
