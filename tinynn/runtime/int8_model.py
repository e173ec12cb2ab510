"""An int8 model: calibrate a float model on data, quantize every layer, predict with integers.

    q = QuantizedModel.calibrated(spec, calibration)   # calibration: (n, *input_shape) floats
    q.predict(x)                          # floats in and out: quantize, int8 layers, dequantize
    q.predict_int8(q.quantize_input(x))   # int8 in and out: the integer reference itself

The float model is first lowered (``tinynn.runtime.lowering``: batch normalization folded,
ReLU and ReLU6 fused into the layer before, where they become a clamp), and every other
activation gets a layer of its own, a lookup table. Calibration runs that float model over the
data and records the smallest and largest value of every tensor; ``tensor_qparams`` turns them
into a scale and zero point per tensor (``tinynn.runtime.quantization``), except where TFLite
fixes them: pooling, padding and reshaping keep their input's, sigmoid, tanh and softmax
outputs have fixed ranges. Those (scale, zero point) pairs are all an int8 model adds to its
float model: ``--format python`` stores them in the weights file, and loading quantizes the
weights again, exactly as the C header's int8 arrays were made.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinynn.runtime.inference import InferenceModel
from tinynn.runtime.int8_layers import FUSED, SAME_QPARAMS, QParams, quantize_layer, run_layer
from tinynn.runtime.lowering import lower, split_activations
from tinynn.runtime.quantization import (
    FIXED_QPARAMS,
    QMAX,
    QMIN,
    choose_qparams,
    dequantize,
    quantize,
)
from tinynn.runtime.specs import ModelSpec


def prepare(spec: ModelSpec) -> ModelSpec:
    """The float graph an int8 model quantizes: lowered, with lookup-table activations split."""
    return split_activations(lower(spec), FUSED)


def calibrate(prepared: ModelSpec, x: Any, batch_size: int = 256) -> list[tuple[float, float]]:
    """(min, max) of every tensor of ``prepared`` over the samples x (float, any batch)."""
    x = np.asarray(x)
    shape = prepared.input_shape
    if x.ndim != len(shape) + 1 or x.shape[1:] != shape or not len(x):
        raise ValueError(
            f"calibration data must have shape (samples, {', '.join(map(str, shape))}) with "
            f"at least one sample, got {x.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError("calibration data holds NaN or infinite values")
    engine = InferenceModel(prepared)
    count = len(prepared.layers) + 1
    low, high = [math.inf] * count, [-math.inf] * count
    for start in range(0, len(x), batch_size):
        for t, value in enumerate(engine.tensors(x[start : start + batch_size])):
            low[t] = min(low[t], float(value.min()))
            high[t] = max(high[t], float(value.max()))
    return list(zip(low, high, strict=True))


def tensor_qparams(prepared: ModelSpec, ranges: list[tuple[float, float]]) -> list[QParams]:
    """(scale, zero point) per tensor from the calibrated ranges (see the module docstring)."""
    found = [choose_qparams(*ranges[0])]
    for k, layer in enumerate(prepared.layers):
        if layer.class_name in SAME_QPARAMS:
            found.append(found[layer.inputs[0]])
        elif layer.class_name == "Activation" and layer.activation in FIXED_QPARAMS:
            found.append(FIXED_QPARAMS[layer.activation])
        else:
            found.append(choose_qparams(*ranges[k + 1]))
    return found


class QuantizedModel:
    """An int8 model ready to predict; see the module docstring.

    Attributes: ``spec`` (the prepared float graph), ``layers`` (a ``QuantizedLayer`` each),
    ``qparams`` ((scale, zero point) per tensor), ``input_q`` and ``output_q``,
    ``input_shape``, ``output_shape``, ``metadata``; ``dtype`` is float32, what ``predict``
    takes and returns.
    """

    def __init__(self, spec: ModelSpec, qparams: list, prepared: ModelSpec | None = None) -> None:
        self.spec = prepared if prepared is not None else prepare(spec)
        self.qparams = _checked(self.spec, qparams)
        self.layers = [
            quantize_layer(layer, tuple(self.qparams[t] for t in layer.inputs), self.qparams[k + 1])
            for k, layer in enumerate(self.spec.layers)
        ]
        self.input_q, self.output_q = self.qparams[0], self.qparams[self.spec.output]
        self.input_shape, self.output_shape = spec.input_shape, spec.output_shape
        self.metadata, self.dtype = spec.metadata, np.dtype(np.float32)

    @classmethod
    def calibrated(cls, spec: ModelSpec, calibration: Any) -> QuantizedModel:
        """Quantize ``spec`` with ranges measured on ``calibration`` samples."""
        prepared = prepare(spec)
        return cls(spec, tensor_qparams(prepared, calibrate(prepared, calibration)), prepared)

    def quantize_input(self, x: Any) -> np.ndarray:
        return quantize(x, *self.input_q)

    def dequantize_output(self, q: np.ndarray) -> np.ndarray:
        return dequantize(q, *self.output_q)

    def predict_int8(self, q: Any) -> np.ndarray:
        """int8 outputs (batch, *output_shape) for int8 inputs (batch, *input_shape)."""
        q = np.asarray(q)
        if q.dtype != np.int8 or q.shape[1:] != self.input_shape:
            raise ValueError(f"expected int8 samples of shape (batch, *{self.input_shape})")
        values = [q]
        for qlayer in self.layers:
            values.append(run_layer(qlayer, *[values[t] for t in qlayer.layer.inputs]))
        return values[self.spec.output]

    def predict(self, x: Any, batch_size: int | None = None) -> np.ndarray:
        """float32 outputs for float inputs (batch, *input_shape), computed in int8."""
        x = np.asarray(x)
        if x.shape[1:] != self.input_shape or x.ndim != len(self.input_shape) + 1:
            raise ValueError(
                f"expected a batch of shape (batch, *{self.input_shape}), got {x.shape}"
            )
        size = batch_size or max(len(x), 1)
        parts = [
            self.dequantize_output(self.predict_int8(self.quantize_input(x[i : i + size])))
            for i in range(0, len(x), size)
        ]
        return np.concatenate(parts) if parts else np.empty((0, *self.output_shape), np.float32)

    def predict_one(self, sample: Any) -> np.ndarray:
        return self.predict(np.asarray(sample)[None])[0]

    def __call__(self, x: Any) -> np.ndarray:
        return self.predict(x)

    def config(self) -> dict[str, Any]:
        """What a file records about this quantization (``{"scheme": "int8", "tensors"}``)."""
        return {"scheme": "int8", "tensors": [[float(s), int(z)] for s, z in self.qparams]}

    def __repr__(self) -> str:
        kinds = " -> ".join(q.kind for q in self.layers)
        return f"<QuantizedModel int8 {self.input_shape} -> {self.output_shape}: {kinds}>"


def _checked(prepared: ModelSpec, qparams: Any) -> list[QParams]:
    """qparams as (float scale, int zero point) pairs, one per tensor, else ValueError."""
    count = len(prepared.layers) + 1
    if not isinstance(qparams, list | tuple) or len(qparams) != count:
        raise ValueError(
            f"int8 quantization needs {count} (scale, zero point) pairs, one per tensor"
        )
    found = []
    for t, pair in enumerate(qparams):
        valid = isinstance(pair, list | tuple) and len(pair) == 2
        scale, zero = (pair[0], pair[1]) if valid else (None, None)
        valid = valid and isinstance(scale, float | int) and not isinstance(scale, bool)
        valid = valid and isinstance(zero, int) and not isinstance(zero, bool)
        if not valid or not (0 < scale < 1e30 and QMIN <= zero <= QMAX):
            raise ValueError(
                f"tensor {t} has quantization {pair!r}; expected [scale > 0, int8 zero]"
            )
        found.append((float(scale), int(zero)))
    for k, layer in enumerate(prepared.layers):
        if layer.class_name in SAME_QPARAMS and found[k + 1] != found[layer.inputs[0]]:
            raise ValueError(f"layer {layer.name!r} must keep its input's scale and zero point")
    return found
