"""Write a model as an ONNX graph, for onnxruntime and every other ONNX consumer.

    tinynn export digits.npz --format onnx          # digits.onnx

    import onnxruntime
    session = onnxruntime.InferenceSession("digits.onnx")
    (probabilities,) = session.run(None, {"input": x})     # x: (batch, *input_shape) float32

Needs the optional extra ``pip install 'tinynn[onnx]'`` (onnx; onnxruntime to run the result).
The graph uses opset 17 and plain operators: Dense is ``Gemm`` (y = x W + b, W in tinynn's
(n_in, units) layout, so no transpose), then the activation's nodes as its class in
``tinynn.activations`` states them (``onnx``: Relu, Tanh, LeakyRelu, Elu, Softmax(axis=-1),
and the stable forms of the sigmoid and softplus, which onnxruntime's own operators compute
less accurately in the tails); Flatten is ``Flatten(axis=1)``, Reshape a ``Reshape`` to
(-1, *target_shape). Dropout and Input are the identity at inference and leave no node.
The batch axis is symbolic ("batch"), so any batch size runs.

The whole graph uses the model's dtype (float32 or float64); a layer stored in the other dtype
has its weights converted. ``onnx.checker`` (with shape inference) validates the result.
"""

from __future__ import annotations

import numpy as np

from tinynn.activations import ACTIVATIONS
from tinynn.runtime import LayerSpec, ModelSpec

OPSET = 17
IR_VERSION = 8  # the IR version that introduced opset 17: readable by older runtimes too


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


def build_onnx(spec: ModelSpec):
    """The checked ``onnx.ModelProto`` computing ``spec``."""
    onnx = _require_onnx()
    from onnx import TensorProto, helper

    from tinynn import __version__

    elem_type = TensorProto.DOUBLE if spec.dtype == np.float64 else TensorProto.FLOAT
    graph = _GraphBuilder(spec.dtype)
    for index, layer in enumerate(spec.layers):
        graph.add_layer(index, layer)
    graph.finish()
    inputs = [helper.make_tensor_value_info("input", elem_type, ["batch", *spec.input_shape])]
    outputs = [helper.make_tensor_value_info("output", elem_type, ["batch", *spec.output_shape])]
    model = helper.make_model(
        helper.make_graph(graph.nodes, spec.name, inputs, outputs, graph.initializers),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="tinynn",
        producer_version=__version__,
        doc_string=f"tinynn Sequential {spec.name!r}: {spec.input_shape} -> {spec.output_shape}",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(spec: ModelSpec) -> bytes:
    """The serialized ONNX model (what a ``.onnx`` file holds)."""
    return build_onnx(spec).SerializeToString()


class _GraphBuilder:
    """Appends nodes one layer at a time; ``current`` names the tensor computed so far."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.nodes: list = []
        self.initializers: list = []
        self.current = "input"

    def _node(self, op: str, inputs: list[str], name: str, **attributes) -> None:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attributes))
        self.current = name

    def _constant(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def add_layer(self, index: int, layer: LayerSpec) -> None:
        prefix = f"layer{index}_{layer.class_name.lower()}"
        if layer.class_name == "Dense":
            weights = [self._constant(f"{prefix}_W", layer.kernel.astype(self.dtype))]
            if layer.bias is not None:
                weights.append(self._constant(f"{prefix}_b", layer.bias.astype(self.dtype)))
            self._node("Gemm", [self.current, *weights], f"{prefix}_z")
            self._activation(layer, prefix)
        elif layer.class_name == "Activation":
            self._activation(layer, prefix)
        elif layer.class_name == "Flatten":
            self._node("Flatten", [self.current], prefix, axis=1)
        elif layer.class_name == "Reshape":
            shape = np.array([-1, *layer.output_shape], dtype=np.int64)
            self._node("Reshape", [self.current, self._constant(f"{prefix}_shape", shape)], prefix)

    def _activation(self, layer: LayerSpec, prefix: str) -> None:
        """The activation's nodes, as its class in ``tinynn.activations`` states them."""
        if layer.activation == "linear":
            return
        cls = ACTIVATIONS[layer.activation]
        activation = cls(layer.alpha) if layer.alpha else cls()
        self._prefix, self._count = f"{prefix}_{layer.activation}", 0
        self.current = activation.onnx(self, self.current)

    # -- what an activation's ``onnx(graph, x)`` calls ---------------------------------------

    def op(self, op_type: str, *inputs: str, **attributes) -> str:
        """Add one node; returns the name of its output."""
        self._count += 1
        name = f"{self._prefix}_{self._count}_{op_type.lower()}"
        self._node(op_type, list(inputs), name, **attributes)
        return name

    def const(self, value: float) -> str:
        """A scalar constant of the graph's dtype."""
        self._count += 1
        return self._constant(f"{self._prefix}_{self._count}_const", np.array(value, self.dtype))

    def finish(self) -> None:
        """Name the last tensor "output" (an Identity when no node would produce it)."""
        if self.nodes:
            self.nodes[-1].output[0] = "output"
        else:
            self._node("Identity", ["input"], "output")
