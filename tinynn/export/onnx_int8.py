"""The ONNX form of an int8 model: QuantizeLinear/DequantizeLinear (QDQ) around float operators.

Every tensor between layers is quantized and dequantized again with its calibrated scale and
zero point (``QuantizeLinear`` then ``DequantizeLinear``); weights are int8 initializers with
one scale per output channel, and biases int32 ones with scale input scale × weight scale,
each read through a ``DequantizeLinear``. This is the format onnxruntime's quantization tools
write: onnxruntime fuses such patterns into integer kernels where it has them and computes
the rest in float, so its outputs are close to, not bit-exact with, tinynn's integer
reference (its rounding of intermediate results differs).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinynn.export.onnx import GraphBuilder
from tinynn.runtime import LayerSpec
from tinynn.runtime.int8_layers import QuantizedLayer
from tinynn.runtime.int8_model import QuantizedModel


class QdqGraphBuilder(GraphBuilder):
    """``GraphBuilder`` on the int8 model's layers, with Q/DQ pairs and int8 weights."""

    def __init__(self, model: QuantizedModel) -> None:
        super().__init__(model.spec)
        self.model = model
        self._layer: QuantizedLayer | None = None

    def qdq(self, name: str, qparams: tuple[float, int], prefix: str) -> str:
        """``name`` quantized to int8 with ``qparams``, and dequantized again."""
        scale = self.constant(f"{prefix}_scale", np.array(qparams[0], np.float32))
        zero = self.constant(f"{prefix}_zero", np.array(qparams[1], np.int8))
        q = self.node("QuantizeLinear", [name, scale, zero], f"{prefix}_q")
        return self.node("DequantizeLinear", [q, scale, zero], f"{prefix}_dq")

    def weight(self, name: str, value: np.ndarray) -> str:
        """int8 weights (per output channel: axis 1 of Gemm's (n_in, units), axis 0 of a
        Conv's kernel) or int32 biases, each with its DequantizeLinear."""
        q = self._layer
        value = np.asarray(value)
        if value.dtype == np.int8:
            scales, axis = q.weight_scales, 1 if value.ndim == 2 else 0
            zeros = np.zeros(len(scales), np.int8)
        elif value.dtype == np.int32:
            scales, axis = q.in_q[0][0] * q.weight_scales, 0
            zeros = np.zeros(len(scales), np.int32)
        else:
            return super().weight(name, value)
        stored = self.constant(f"{name}_int", value)
        scale = self.constant(f"{name}_scale", scales.astype(np.float32))
        zero = self.constant(f"{name}_zero", zeros)
        return self.node("DequantizeLinear", [stored, scale, zero], name, axis=axis)

    def build(self) -> None:
        self.name[0] = self.qdq("input", self.model.input_q, "input")
        for index, q in enumerate(self.model.layers):
            self._layer = q
            layer = q.layer
            prefix = f"layer{index}_{layer.class_name.lower()}"
            if q.weights is not None and q.kind != "Affine":
                layer = dataclasses.replace(layer, kernel=q.weights, bias=q.bias)
            if q.kind == "Affine":
                name, nchw = self.affine_int8(q, prefix)
            else:
                name, nchw = self.add_layer(index, layer, prefix)
            if layer.activation != "linear" and layer.class_name != "Activation":
                name, nchw = self.activation(layer, prefix, name, nchw)
            self.name[index + 1] = self.qdq(name, q.out_q, f"{prefix}_out")
            self.nchw[index + 1] = nchw
        final = self.layout(self.spec.output, False)
        self.node("Identity", [final], "output")

    def affine_int8(self, q: QuantizedLayer, prefix: str) -> tuple[str, bool]:
        layer: LayerSpec = q.layer
        source = layer.inputs[0]
        nchw = self.nchw[source] and len(layer.output_shape) == 3
        shape = (-1, 1, 1) if nchw else (-1,)
        scale = self.weight(f"{prefix}_scale", q.weights.reshape(shape))
        shift = self.weight(f"{prefix}_shift", q.bias.reshape(shape))
        scaled = self.node("Mul", [self.name[source], scale], f"{prefix}_mul")
        return self.node("Add", [scaled, shift], prefix), nchw
