"""The int8 layers: their integer parameters, and the NumPy integer reference that runs them.

``quantize_layer`` turns one float layer spec (of a lowered model) and the (scale, zero point)
of the tensors around it into a ``QuantizedLayer``; ``run_layer`` computes its int8 output
from int8 inputs with the arithmetic of ``tinynn.runtime.quantization``. Together they define
what the C header of ``--quantize int8`` computes, bit for bit. Every accumulator is exact
(int64 here, int32 in C, where it cannot overflow for the layer sizes a file may declare).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinynn.activations import ACTIVATIONS
from tinynn.kernels.numpy_ops.conv_patches import (
    depthwise_conv2d_forward,
    im2col,
    offset_slices,
    pad2d,
)
from tinynn.kernels.numpy_ops.pool2d import max_pool2d_forward, window_counts
from tinynn.runtime.lowering import AFFINE, channel_affine
from tinynn.runtime.quantization import (
    QMAX,
    QMIN,
    activation_range,
    activation_table,
    multiply_by_quantized_multiplier,
    quantize_bias,
    quantize_multipliers,
    quantize_weights,
    requantize,
    softmax_rows,
    softmax_table,
)
from tinynn.runtime.specs import LayerSpec

QParams = tuple[float, int]
#: Layers whose output keeps the scale and zero point of their input (TFLite requires it).
SAME_QPARAMS = (
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "ZeroPadding2D",
    "Flatten",
    "Reshape",
    "Permute",
)
ADD_LIKE = ("Add", "Subtract", "Average")
ADD_SHIFT = 20  # TFLite's Add: inputs are shifted left by 20 bits before rescaling
FUSED = ("linear", "relu", "relu6")  # activations an int8 Dense or convolution clamps


@dataclass
class QuantizedLayer:
    """One layer of an int8 model.

    ``weights`` int8 (the float kernel's layout; per-channel affine layers: (C,)), ``bias``
    int32, ``m0``/``shift`` the requantization multipliers (per output channel; per input
    for merges), ``low``/``high`` the clamp of the output, ``table`` the 256-entry lookup of
    an activation (int8) or of softmax's exponentials (int32), ``out_m0``/``out_shift`` the
    output multiplier of Add, Subtract and Average; ``weight_scales`` the float scale of
    each output channel's weights (float64).
    """

    layer: LayerSpec
    in_q: tuple[QParams, ...]
    out_q: QParams
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None
    m0: np.ndarray | None = None
    shift: np.ndarray | None = None
    low: int = QMIN
    high: int = QMAX
    table: np.ndarray | None = None
    out_m0: int = 0
    out_shift: int = 0
    weight_scales: np.ndarray | None = None

    @property
    def kind(self) -> str:
        return "Affine" if self.layer.class_name in AFFINE else self.layer.class_name


def quantize_layer(layer: LayerSpec, in_q: tuple[QParams, ...], out_q: QParams) -> QuantizedLayer:
    """The integer parameters of ``layer`` between tensors quantized as ``in_q`` and ``out_q``."""
    q = QuantizedLayer(layer, in_q, out_q)
    kind, s_in = q.kind, in_q[0][0]
    if kind in ("Dense", "Conv2D", "DepthwiseConv2D", "Affine"):
        if kind == "Affine":
            kernel, bias = channel_affine(layer)
        else:
            kernel, bias = layer.kernel.astype(np.float64), layer.bias
        if layer.activation not in FUSED:
            raise ValueError(f"layer {layer.name!r}: int8 fuses only {FUSED}; split it first")
        flat = kernel.reshape(*kernel.shape[:2], -1) if kind == "DepthwiseConv2D" else kernel
        weights, w_scales = quantize_weights(flat, -1)
        q.weights, q.weight_scales = weights.reshape(kernel.shape), w_scales
        q.bias = quantize_bias(bias, s_in * w_scales)
        q.m0, q.shift = quantize_multipliers(s_in * w_scales / out_q[0])
        q.low, q.high = activation_range(layer.activation, *out_q)
    elif kind == "Activation" and layer.activation == "softmax":
        q.table = softmax_table(s_in)
    elif kind == "Activation":
        cls = ACTIVATIONS[layer.activation]
        function = cls(layer.alpha) if layer.alpha else cls()
        q.table = activation_table(lambda r: function.forward(r), in_q[0], out_q)
    elif kind in ADD_LIKE:
        if len(in_q) > 8:
            raise ValueError(f"layer {layer.name!r}: int8 merges at most 8 inputs")
        twice_max = 2 * max(s for s, _ in in_q)
        q.m0, q.shift = quantize_multipliers(np.array([s for s, _ in in_q]) / twice_max)
        output = twice_max / (2**ADD_SHIFT * out_q[0])
        if kind == "Average":
            output /= len(in_q)
        (out_m0,), (out_shift,) = quantize_multipliers(np.array([output]))
        q.out_m0, q.out_shift = int(out_m0), int(out_shift)
    elif kind == "Multiply":
        if len(in_q) != 2:
            raise ValueError(f"layer {layer.name!r}: int8 Multiply takes exactly two inputs")
        q.m0, q.shift = quantize_multipliers([in_q[0][0] * in_q[1][0] / out_q[0]])
    elif kind == "Concatenate":
        q.m0, q.shift = quantize_multipliers(np.array([s for s, _ in in_q]) / out_q[0])
    elif kind not in SAME_QPARAMS:
        raise ValueError(f"layer {layer.name!r} ({layer.class_name}) has no int8 form")
    return q


def _trunc_div(a: np.ndarray, b: Any) -> np.ndarray:
    """a / b rounded toward zero, as C divides integers (b > 0)."""
    return np.where(a >= 0, a // b, -((-a) // b))


def _rounded_mean(total: np.ndarray, count: Any) -> np.ndarray:
    """TFLite's int8 average: (sum ± count/2) / count, truncated (halves away from zero)."""
    half = np.asarray(count) // 2
    return _trunc_div(np.where(total > 0, total + half, total - half), count)


def run_layer(q: QuantizedLayer, *xs: np.ndarray) -> np.ndarray:
    """The int8 output (batch, *output_shape) of a quantized layer for int8 inputs."""
    layer, kind = q.layer, q.kind
    zp_in, zp_out = q.in_q[0][1], q.out_q[1]
    x = xs[0].astype(np.int64)
    if kind == "Dense":
        acc = (x - zp_in) @ q.weights.astype(np.int64) + q.bias
        return requantize(acc, q.m0, q.shift, zp_out, q.low, q.high)
    if kind == "Conv2D":
        kh, kw, channels, filters = q.weights.shape
        ho, wo, _ = layer.output_shape
        cols = np.empty((len(x), ho, wo, kh * kw * channels), np.int64)
        im2col(x - zp_in, (kh, kw), layer.strides, layer.dilation, layer.pads, cols)
        acc = cols @ q.weights.astype(np.int64).reshape(-1, filters) + q.bias
        return requantize(acc, q.m0, q.shift, zp_out, q.low, q.high)
    if kind == "DepthwiseConv2D":
        acc = np.empty((len(x), *layer.output_shape), np.int64)
        depthwise_conv2d_forward(
            x - zp_in, q.weights.astype(np.int64), layer.strides, layer.dilation, layer.pads, acc
        )
        return requantize(acc + q.bias, q.m0, q.shift, zp_out, q.low, q.high)
    if kind == "Affine":
        acc = (x - zp_in) * q.weights.astype(np.int64) + q.bias
        return requantize(acc, q.m0, q.shift, zp_out, q.low, q.high)
    if kind == "MaxPooling2D":  # in float64, where −∞ pads exactly as in float
        out = np.empty((len(x), *layer.output_shape))
        argmax = np.empty(out.shape, np.int32)
        max_pool2d_forward(
            x.astype(np.float64), layer.pool_size, layer.strides, layer.pads, out, argmax
        )
        return out.astype(np.int8)
    if kind == "AveragePooling2D":
        ho, wo, _ = layer.output_shape
        padded = pad2d(x, layer.pads)
        total = np.zeros((len(x), *layer.output_shape), np.int64)
        for i in range(layer.pool_size[0]):
            for j in range(layer.pool_size[1]):
                rows, cols = offset_slices(i, j, (ho, wo), layer.strides, (1, 1))
                total += padded[:, rows, cols, :]
        counts = window_counts(x.shape[1:3], layer.pool_size, layer.strides, layer.pads)
        return _rounded_mean(total, counts.astype(np.int64)).astype(np.int8)
    if kind == "GlobalAveragePooling2D":
        total = x.sum(axis=(1, 2), keepdims=len(layer.output_shape) == 3)
        return _rounded_mean(total, x.shape[1] * x.shape[2]).astype(np.int8)
    if kind == "ZeroPadding2D":
        return pad2d(xs[0], layer.pads, value=zp_in)
    if kind in ("Flatten", "Reshape"):
        return xs[0].reshape((len(x), *layer.output_shape))
    if kind == "Permute":
        return np.ascontiguousarray(xs[0].transpose(0, *layer.options["dims"]))
    if kind == "Activation" and layer.activation == "softmax":
        return softmax_rows(x, q.table)
    if kind == "Activation":
        return q.table[x + 128]
    return _merge(q, [a.astype(np.int64) for a in xs])


def _merge(q: QuantizedLayer, xs: list[np.ndarray]) -> np.ndarray:
    kind, zp_out = q.kind, q.out_q[1]
    if kind in ADD_LIKE:
        scaled = [
            multiply_by_quantized_multiplier((x - zp) << ADD_SHIFT, m0, shift)
            for x, (_, zp), m0, shift in zip(xs, q.in_q, q.m0, q.shift, strict=True)
        ]
        total = scaled[0] - scaled[1] if kind == "Subtract" else sum(scaled[1:], scaled[0])
        return requantize(total, q.out_m0, q.out_shift, zp_out, q.low, q.high)
    if kind == "Multiply":
        product = (xs[0] - q.in_q[0][1]) * (xs[1] - q.in_q[1][1])
        return requantize(product, q.m0[0], q.shift[0], zp_out, q.low, q.high)
    parts = []
    for x, in_q, m0, shift in zip(xs, q.in_q, q.m0, q.shift, strict=True):
        same = in_q == q.out_q
        parts.append(x.astype(np.int8) if same else requantize(x - in_q[1], m0, shift, zp_out))
    return np.concatenate(parts, axis=1 + q.layer.options["axis"])
