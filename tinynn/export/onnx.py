"""Write a model as an ONNX graph, for onnxruntime and every other ONNX consumer.

    tinynn export digits.npz --format onnx          # digits.onnx

    import onnxruntime
    session = onnxruntime.InferenceSession("digits.onnx")
    (probabilities,) = session.run(None, {"input": x})     # x: (batch, *input_shape) float32

Needs the optional extra ``pip install 'tinynn[onnx]'`` (onnx; onnxruntime to run the result).
The graph uses opset 17 and plain operators, on the lowered model (``tinynn.runtime.lowering``:
batch normalization folded where it can be):

    Dense                     Gemm (W in tinynn's (n_in, units) layout: no transpose)
    Conv2D, DepthwiseConv2D   Conv (depthwise: group = channels)
    pooling                   MaxPool, AveragePool (count_include_pad=0, as Keras),
                              GlobalAveragePool
    ZeroPadding2D             Pad;  per-channel affine (BN, Normalization, Rescaling): Mul, Add
    merges                    Add, Sub, Mul, Mean, Sum, Concat
    Flatten, Reshape          Flatten(axis=1), Reshape to (-1, *target_shape)
    Permute                   Transpose(perm=[0, *dims]) (one before Flatten and Dense is folded)

then each activation's nodes as its class in ``tinynn.activations`` states them (``onnx``:
Relu, Tanh, LeakyRelu, Clip, Softmax(axis=-1), and the stable forms of the sigmoid, softplus
and ELU, which onnxruntime's own operators compute less accurately in the tails). ONNX
convolutions want channels first (NCHW) while tinynn keeps images channels last (NHWC): a
Transpose goes in before the first image operator and back out before anything that needs
the NHWC order (Flatten, softmax over channels, the output). Dropout and the other identity
layers leave no node. The batch axis is symbolic ("batch"), so any batch size runs.

The whole graph uses the model's dtype (float32 or float64). ``quantize="float16"`` stores
the weights as float16 initializers, each Cast to float32 where it is used; ``"int8"`` writes
the QuantizeLinear/DequantizeLinear (QDQ) graph of ``tinynn.export.onnx_int8``.
``onnx.checker`` (with shape inference) validates the result.
"""

from __future__ import annotations

import numpy as np

from tinynn.activations import ACTIVATIONS
from tinynn.runtime import LayerSpec, ModelSpec
from tinynn.runtime.lowering import AFFINE, channel_affine, lower

OPSET = 17
IR_VERSION = 8  # the IR version that introduced opset 17: readable by older runtimes too
TO_NCHW, TO_NHWC = [0, 3, 1, 2], [0, 2, 3, 1]
#: A sample axis of an NHWC image (h, w, c) -> the same axis of the NCHW tensor, batch first.
NCHW_AXIS = {0: 2, 1: 3, 2: 1}


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ModuleNotFoundError(
            "ONNX export needs the optional package 'onnx'; install it with "
            "pip install 'tinynn[onnx]'",
            name="onnx",
        ) from None
    return onnx


def build_onnx(spec: ModelSpec, weights: str = "float", quantized=None):
    """The checked ``onnx.ModelProto`` computing ``spec``. ``weights`` "float16" stores the
    weights at half precision; ``quantized`` (a ``runtime.QuantizedModel``) makes the QDQ
    graph of its int8 model."""
    onnx = _require_onnx()
    from onnx import TensorProto, helper

    from tinynn import __version__

    elem_type = TensorProto.DOUBLE if spec.dtype == np.float64 else TensorProto.FLOAT
    if quantized is not None:
        from tinynn.export.onnx_int8 import QdqGraphBuilder

        graph = QdqGraphBuilder(quantized)
        spec = quantized.spec
    else:
        spec = lower(spec)
        graph = GraphBuilder(spec, weights)
    graph.build()
    inputs = [helper.make_tensor_value_info("input", elem_type, ["batch", *spec.input_shape])]
    outputs = [helper.make_tensor_value_info("output", elem_type, ["batch", *spec.output_shape])]
    model = helper.make_model(
        helper.make_graph(graph.nodes, spec.name, inputs, outputs, graph.initializers),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="tinynn",
        producer_version=__version__,
        doc_string=f"tinynn model {spec.name!r}: {spec.input_shape} -> {spec.output_shape}",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(spec: ModelSpec, weights: str = "float", quantized=None) -> bytes:
    """The serialized ONNX model (what a ``.onnx`` file holds)."""
    return build_onnx(spec, weights, quantized).SerializeToString()


class GraphBuilder:
    """Appends nodes layer by layer. ``name[t]`` is the ONNX tensor holding tensor t, and
    ``nchw[t]`` says whether an image tensor is stored channels first."""

    def __init__(self, spec: ModelSpec, weights: str = "float") -> None:
        self.spec, self.dtype, self.storage = spec, spec.dtype, weights
        self.nodes: list = []
        self.initializers: list = []
        self.name = {0: "input"}
        self.nchw = {0: False}
        self._transposed: dict[tuple[str, bool], str] = {}
        self._prefix, self._count = "", 0

    # -- nodes and constants ----------------------------------------------------------------

    def node(self, op: str, inputs: list[str], name: str, **attributes) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attributes))
        return name

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def weight(self, name: str, value: np.ndarray) -> str:
        """A weight of the graph's dtype: stored as float16 (then Cast) if asked."""
        if self.storage != "float16":
            return self.constant(name, np.asarray(value, self.dtype))
        from onnx import TensorProto

        half = self.constant(f"{name}_f16", np.asarray(value, np.float16))
        return self.node("Cast", [half], name, to=TensorProto.FLOAT)

    def layout(self, tensor: int, channels_first: bool) -> str:
        """The ONNX name of tensor ``tensor`` in the layout asked for (rank-3 images only)."""
        name = self.name[tensor]
        if len(self.spec.tensor_shape(tensor)) != 3 or self.nchw[tensor] == channels_first:
            return name
        key = (name, channels_first)
        if key not in self._transposed:
            perm = TO_NCHW if channels_first else TO_NHWC
            self._transposed[key] = self.node("Transpose", [name], f"{name}_t", perm=perm)
        return self._transposed[key]

    # -- what an activation's ``onnx(graph, x)`` calls ---------------------------------------

    def op(self, op_type: str, *inputs: str, **attributes) -> str:
        """Add one node; returns the name of its output."""
        self._count += 1
        return self.node(
            op_type, list(inputs), f"{self._prefix}_{self._count}_{op_type.lower()}", **attributes
        )

    def const(self, value: float) -> str:
        """A scalar constant of the graph's dtype."""
        self._count += 1
        return self.constant(f"{self._prefix}_{self._count}_const", np.array(value, self.dtype))

    # -- the layers -------------------------------------------------------------------------

    def build(self) -> None:
        for index, layer in enumerate(self.spec.layers):
            prefix = f"layer{index}_{layer.class_name.lower()}"
            name, nchw = self.add_layer(index, layer, prefix)
            if layer.activation != "linear" and layer.class_name != "Activation":
                name, nchw = self.activation(layer, prefix, name, nchw)
            self.name[index + 1], self.nchw[index + 1] = name, nchw
        final = self.layout(self.spec.output, False)
        if self.nodes and self.nodes[-1].output[0] == final:
            self.nodes[-1].output[0] = "output"  # name the last node's result, no Identity
        else:
            self.node("Identity", [final], "output")

    def activation(self, layer: LayerSpec, prefix: str, name: str, nchw: bool) -> tuple[str, bool]:
        """The activation's nodes, as its class in ``tinynn.activations`` states them."""
        if layer.activation == "softmax" and nchw:  # over the channels: back to NHWC
            name = self.node("Transpose", [name], f"{name}_t", perm=TO_NHWC)
            nchw = False
        cls = ACTIVATIONS[layer.activation]
        activation = cls(layer.alpha) if layer.alpha else cls()
        self._prefix, self._count = f"{prefix}_{layer.activation}", 0
        return activation.onnx(self, name), nchw

    def add_layer(self, index: int, layer: LayerSpec, prefix: str) -> tuple[str, bool]:
        """The nodes of one layer, before its activation: (output name, channels first?)."""
        kind, source = layer.class_name, layer.inputs[0]
        if kind == "Dense":
            weights = [self.weight(f"{prefix}_W", layer.kernel)]
            if layer.bias is not None:
                weights.append(self.weight(f"{prefix}_b", layer.bias))
            return self.node("Gemm", [self.name[source], *weights], f"{prefix}_z"), False
        if kind in ("Conv2D", "DepthwiseConv2D"):
            return self.conv(layer, prefix), True
        if kind in ("MaxPooling2D", "AveragePooling2D"):
            top, bottom, left, right = layer.pads
            extra = {"count_include_pad": 0} if kind == "AveragePooling2D" else {}
            op = "MaxPool" if kind == "MaxPooling2D" else "AveragePool"
            x = self.layout(source, True)
            return self.node(
                op,
                [x],
                prefix,
                kernel_shape=list(layer.pool_size),
                strides=list(layer.strides),
                pads=[top, left, bottom, right],
                **extra,
            ), True
        if kind == "GlobalAveragePooling2D":
            pooled = self.node("GlobalAveragePool", [self.layout(source, True)], prefix)
            if len(layer.output_shape) == 3:
                return pooled, True
            return self.node("Flatten", [pooled], f"{prefix}_flat", axis=1), False
        if kind == "ZeroPadding2D":
            top, bottom, left, right = layer.pads
            pads = self.constant(
                f"{prefix}_pads", np.array([0, 0, top, left, 0, 0, bottom, right], np.int64)
            )
            return self.node("Pad", [self.layout(source, True), pads], prefix), True
        if kind in AFFINE:
            return self.affine(layer, prefix)
        if kind == "Activation":
            return self.activation(layer, prefix, self.name[source], self.nchw[source])
        if kind == "Flatten":
            return self.node("Flatten", [self.layout(source, False)], prefix, axis=1), False
        if kind == "Reshape":
            shape = self.constant(f"{prefix}_shape", np.array([-1, *layer.output_shape], np.int64))
            return self.node("Reshape", [self.layout(source, False), shape], prefix), False
        if kind == "Permute":
            perm = [0, *layer.options["dims"]]
            return self.node("Transpose", [self.layout(source, False)], prefix, perm=perm), False
        return self.merge(layer, prefix)

    def conv(self, layer: LayerSpec, prefix: str) -> str:
        kernel = layer.kernel
        kh, kw, channels, width = kernel.shape
        if layer.class_name == "Conv2D":  # (kh, kw, C, F) -> (F, C, kh, kw)
            weights, group = kernel.transpose(3, 2, 0, 1), 1
        else:  # (kh, kw, C, M) -> (C·M, 1, kh, kw): output channel c·M + m
            weights, group = (
                kernel.transpose(2, 3, 0, 1).reshape(channels * width, 1, kh, kw),
                channels,
            )
        inputs = [self.layout(layer.inputs[0], True), self.weight(f"{prefix}_W", weights)]
        if layer.bias is not None:
            inputs.append(self.weight(f"{prefix}_b", layer.bias))
        top, bottom, left, right = layer.pads
        return self.node(
            "Conv",
            inputs,
            f"{prefix}_z",
            kernel_shape=[kh, kw],
            strides=list(layer.strides),
            dilations=list(layer.dilation),
            pads=[top, left, bottom, right],
            group=group,
        )

    def affine(self, layer: LayerSpec, prefix: str) -> tuple[str, bool]:
        source = layer.inputs[0]
        nchw = self.nchw[source] and len(layer.output_shape) == 3
        shape = (-1, 1, 1) if nchw else (-1,)
        scale, shift = (np.asarray(a, self.dtype).reshape(shape) for a in channel_affine(layer))
        scaled = self.node(
            "Mul", [self.name[source], self.weight(f"{prefix}_scale", scale)], f"{prefix}_mul"
        )
        return self.node("Add", [scaled, self.weight(f"{prefix}_shift", shift)], prefix), nchw

    def merge(self, layer: LayerSpec, prefix: str) -> tuple[str, bool]:
        kind = layer.class_name
        images = len(layer.output_shape) == 3
        inputs = [self.layout(t, True) if images else self.name[t] for t in layer.inputs]
        if kind == "Concatenate":
            axis = NCHW_AXIS[layer.options["axis"]] if images else layer.options["axis"] + 1
            return self.node("Concat", inputs, prefix, axis=axis), images
        op = {"Add": "Sum", "Subtract": "Sub", "Multiply": "Mul", "Average": "Mean"}[kind]
        if kind == "Multiply" and len(inputs) > 2:
            total = inputs[0]
            for i, other in enumerate(inputs[1:]):
                total = self.node("Mul", [total, other], f"{prefix}_{i}")
            return total, images
        return self.node(op, inputs, prefix), images
