"""One checking parser per layer class a model file may hold: config and arrays in, specs out.

Each parser reads one layer call: its config, the tensors it is applied to, where its weights
start (``weights/<i>``: every parameter of the model, layer by layer, in the order the layer
creates them) and the prefix of its state arrays (``state/<layer>/``). It checks every
setting against sane bounds and every array against the shape the config implies, then adds
``LayerSpec``s to the graph and returns the tensor the layer outputs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinynn.runtime.image_parsers import (
    parse_conv2d,
    parse_depthwise,
    parse_pooling,
    parse_zero_padding,
)
from tinynn.runtime.specs import MAX_SAMPLE_SIZE, LayerSpec

#: Layers that are the identity at inference: they leave no spec.
IDENTITY_CLASSES = (
    "Dropout",
    "Identity",
    "Input",
    "GaussianNoise",
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
    "RandomTranslation",
)
MERGE_CLASSES = ("Add", "Subtract", "Multiply", "Average", "Concatenate")
MAX_DEPTH = 16  # Residual layers nested in Residual layers


class Call:
    """One layer applied to some tensors: what a parser needs to know about it."""

    def __init__(self, graph, entry: dict, inputs: list[int], weight: int, state: str, depth=0):
        checks = graph.checks
        self.graph, self.checks, self.depth = graph, checks, depth
        self.class_name = entry.get("class_name")
        self.config = checks.dict(entry.get("config", {}), f"layer {entry.get('name')!r} config")
        self.name = str(self.config.get("name") or entry.get("name") or "layer")[:200]
        self.what = f"layer {self.name!r} ({self.class_name})"
        self.inputs, self.weight, self.state = inputs, weight, state
        self.dtype = checks.dtype(self.config.get("dtype") or graph.dtype.name, self.what)
        self.shapes = [graph.shape(t) for t in inputs]
        self.shape = self.shapes[0]
        declared = self.config.get("input_shape")
        single = declared is not None and len(inputs) == 1  # a merge's input_shape is a list
        if single and checks.shape(declared, self.what) != self.shape:
            raise checks.fail(
                f"{self.what} declares input shape {declared}; the layers before give {self.shape}"
            )

    def weights(self, *shapes: tuple[int, ...]) -> list[np.ndarray]:
        """The layer's arrays weights/<i>, weights/<i+1>, …, checked against ``shapes``."""
        return [
            self.graph.weight(self.weight + k, shape, self.dtype) for k, shape in enumerate(shapes)
        ]

    def add(self, class_name: str, output_shape: tuple[int, ...], **fields: Any) -> int:
        fields.setdefault("inputs", tuple(self.inputs))
        fields.setdefault("input_shapes", tuple(self.shapes))
        shape = self.graph.shape(fields["inputs"][0])
        spec = LayerSpec(class_name, self.name, shape, output_shape, self.dtype, **fields)
        return self.graph.add(spec)


def weight_count(checks, entry: Any, depth: int = 0) -> int:
    """How many arrays weights/<i> a layer of this config owns (before any shape is known)."""
    entry = checks.dict(entry, "a layer entry")
    name, config = entry.get("class_name"), checks.dict(entry.get("config", {}), "a layer config")
    bias = 1 if config.get("use_bias", True) is True else 0
    if name in ("Dense", "Conv2D", "DepthwiseConv2D"):
        return 1 + bias
    if name == "SeparableConv2D":
        return 2 + bias
    if name == "BatchNormalization":
        return (config.get("scale", True) is True) + (config.get("center", True) is True)
    if name == "Residual":
        if depth >= MAX_DEPTH:
            raise checks.fail(f"Residual layers are nested more than {MAX_DEPTH} deep")
        children = _children(checks, config)
        return sum(weight_count(checks, child, depth + 1) for _, child in children)
    return 0


def _children(checks, config: dict) -> list[tuple[str, Any]]:
    block, shortcut = config.get("block_layers"), config.get("shortcut")
    if not isinstance(block, list) or not block or len(block) > 1000:
        raise checks.fail("a Residual's block_layers must be a non-empty list of layers")
    if shortcut is not None and (not isinstance(shortcut, list) or not shortcut):
        raise checks.fail("a Residual's shortcut must be null or a non-empty list of layers")
    found = [(f"{i}/", child) for i, child in enumerate(block)]
    return found + [(f"shortcut/{i}/", child) for i, child in enumerate(shortcut or [])]


# -- Dense, normalization ------------------------------------------------------------------


def parse_dense(call: Call) -> int:
    checks, lc = call.checks, call.config
    units = checks.size(lc.get("units"), f"{call.what} units")
    if len(call.shape) != 1:
        raise checks.fail(f"{call.what} needs 1-D samples but gets shape {call.shape}")
    use_bias = checks.flag(lc.get("use_bias", True), f"{call.what} use_bias")
    found = call.weights((call.shape[0], units), *([(units,)] if use_bias else []))
    activation, alpha = checks.activation(lc.get("activation"), call.what)
    bias = found[1] if use_bias else None
    return call.add(
        "Dense", (units,), kernel=found[0], bias=bias, activation=activation, alpha=alpha
    )


def parse_batch_norm(call: Call) -> int:
    checks, lc, what = call.checks, call.config, call.what
    if lc.get("axis", -1) not in (-1, len(call.shape)):
        raise checks.fail(
            f"{what} axis is {lc.get('axis')!r}; only the last axis (-1) is supported"
        )
    epsilon = checks.number(lc.get("epsilon", 1e-3), f"{what} epsilon", positive=True)
    channels = (call.shape[-1],)
    scale = checks.flag(lc.get("scale", True), f"{what} scale")
    center = checks.flag(lc.get("center", True), f"{what} center")
    found = call.weights(*[channels] * (scale + center))
    arrays = {}
    if scale:
        arrays["gamma"] = found[0]
    if center:
        arrays["beta"] = found[-1]
    for key in ("moving_mean", "moving_variance"):
        arrays[key] = call.graph.state(call.state + key, channels, call.dtype)
    if (arrays["moving_variance"] < 0).any():
        raise checks.fail(f"{what} has a negative moving_variance")
    return call.add("BatchNormalization", call.shape, arrays=arrays, options={"epsilon": epsilon})


def parse_input_scaling(call: Call) -> int:
    checks, lc, what = call.checks, call.config, call.what
    if call.class_name == "Rescaling":
        options = {
            "scale": checks.number(lc.get("scale"), f"{what} scale"),
            "offset": checks.number(lc.get("offset", 0.0), f"{what} offset"),
        }
        return call.add("Rescaling", call.shape, options=options)
    if lc.get("axis", -1) != -1:
        raise checks.fail(f"{what} axis is {lc.get('axis')!r}; expected -1")
    features = (call.shape[-1],)
    arrays = {
        key: call.graph.state(call.state + key, features, call.dtype)
        for key in ("mean", "variance")
    }
    if (arrays["variance"] < 0).any():
        raise checks.fail(f"{what} has a negative variance")
    return call.add("Normalization", call.shape, arrays=arrays)


# -- element-wise, shape and merge layers -------------------------------------------------


def parse_activation(call: Call) -> int:
    checks, lc, what = call.checks, call.config, call.what
    if call.class_name == "Activation":
        name, alpha = checks.activation(lc.get("activation"), what)
    elif call.class_name == "Softmax":
        if lc.get("axis", -1) != -1:
            raise checks.fail(f"{what} axis is {lc.get('axis')!r}; expected -1")
        name, alpha = "softmax", 0.0
    else:  # ReLU: relu, relu6 (max_value 6) or a leaky ReLU (negative_slope > 0)
        cap = lc.get("max_value")
        slope = checks.number(lc.get("negative_slope", 0.0), f"{what} negative_slope")
        if cap not in (None, 6, 6.0) or slope < 0 or (slope and cap is not None):
            raise checks.fail(
                f"{what} has max_value {cap!r} and negative_slope {slope}; expected max_value "
                "null or 6, and a negative_slope >= 0 only without max_value"
            )
        name, alpha = ("leaky_relu", slope) if slope else ("relu6" if cap else "relu", 0.0)
    if name == "linear":
        return call.inputs[0]
    return call.add("Activation", call.shape, activation=name, alpha=alpha)


def parse_reshape(call: Call) -> int:
    checks, what, shape = call.checks, call.what, call.shape
    size = math.prod(shape)
    if call.class_name == "Flatten":
        return call.add("Flatten", (size,))
    target = call.config.get("target_shape")
    if isinstance(target, int) and not isinstance(target, bool):
        target = [target]
    if not isinstance(target, list) or not 0 < len(target) <= 8:
        raise checks.fail(f"{what} target_shape is {target!r}; expected a list of integers")
    valid = all(
        d == -1 or (isinstance(d, int) and not isinstance(d, bool) and 0 < d <= MAX_SAMPLE_SIZE)
        for d in target
    )
    if target.count(-1) > 1 or not valid:
        raise checks.fail(
            f"{what} target_shape {target} must hold positive sizes and at most one -1"
        )
    known = math.prod(d for d in target if d != -1)
    if size % known or (-1 not in target and known != size):
        raise checks.fail(f"{what} cannot reshape {shape} into {tuple(target)}")
    return call.add("Reshape", tuple(size // known if d == -1 else d for d in target))


def parse_permute(call: Call) -> int:
    """Permute(dims): the sample's axes reordered, dims counting them from 1 (Keras)."""
    checks, what, shape = call.checks, call.what, call.shape
    dims = call.config.get("dims")
    ints = isinstance(dims, list) and all(
        isinstance(d, int) and not isinstance(d, bool) for d in dims
    )
    if not ints or sorted(dims) != list(range(1, len(shape) + 1)):
        raise checks.fail(
            f"{what} dims is {dims!r}; expected a permutation of 1..{len(shape)} for inputs of "
            f"shape {shape}"
        )
    out = tuple(shape[d - 1] for d in dims)
    return call.add("Permute", out, options={"dims": tuple(dims)})


def parse_merge(call: Call) -> int:
    checks, what, shapes = call.checks, call.what, call.shapes
    if len(shapes) < 2 or (call.class_name == "Subtract" and len(shapes) != 2):
        raise checks.fail(f"{what} is called on {len(shapes)} tensors; it merges two or more")
    if len({len(shape) for shape in shapes}) != 1:
        raise checks.fail(f"{what} merges inputs of different ranks: {shapes}")
    if call.class_name != "Concatenate":
        try:
            out = tuple(np.broadcast_shapes(*shapes))
        except ValueError:
            raise checks.fail(f"{what} cannot combine inputs of shapes {shapes}") from None
        return call.add(call.class_name, out)
    axis = call.config.get("axis", -1)
    rank = len(shapes[0])
    if (
        isinstance(axis, bool)
        or not isinstance(axis, int)
        or not (-rank <= axis <= rank)
        or axis == 0
    ):
        raise checks.fail(f"{what} axis is {axis!r}; expected a sample axis of rank {rank + 1}")
    axis = axis - 1 if axis > 0 else rank + axis
    rest = {shape[:axis] + shape[axis + 1 :] for shape in shapes}
    if len(rest) != 1:
        raise checks.fail(f"{what}: inputs of shapes {shapes} differ outside the axis {axis}")
    out = list(shapes[0])
    out[axis] = sum(shape[axis] for shape in shapes)
    return call.add("Concatenate", tuple(out), options={"axis": axis})


def parse_residual(call: Call) -> int:
    """y = f(block(x) + shortcut(x)): the branches' specs, an Add, then the activation."""
    checks, what = call.checks, call.what
    children = _children(checks, call.config)
    weight, ends = call.weight, {}
    for prefix, child in children:
        branch = "shortcut" if prefix.startswith("shortcut") else "block"
        tensor = ends.get(branch, call.inputs[0])
        child_call = Call(
            call.graph,
            checks.dict(child, f"{what} child"),
            [tensor],
            weight,
            call.state + prefix,
            call.depth + 1,
        )
        ends[branch] = parse_call(child_call)
        weight += weight_count(checks, child, call.depth + 1)
    block, shortcut = ends["block"], ends.get("shortcut", call.inputs[0])
    if call.graph.shape(block) != call.graph.shape(shortcut):
        raise checks.fail(
            f"{what}: the block outputs {call.graph.shape(block)} but the shortcut "
            f"{call.graph.shape(shortcut)}; they must match to be added"
        )
    shape = call.graph.shape(block)
    total = call.add("Add", shape, inputs=(block, shortcut), input_shapes=(shape, shape))
    name, alpha = checks.activation(call.config.get("activation"), what)
    if name == "linear":
        return total
    return call.add(
        "Activation", shape, activation=name, alpha=alpha, inputs=(total,), input_shapes=(shape,)
    )


PARSERS = {
    "Dense": parse_dense,
    "Conv2D": parse_conv2d,
    "DepthwiseConv2D": parse_depthwise,
    "SeparableConv2D": parse_depthwise,
    "MaxPooling2D": parse_pooling,
    "AveragePooling2D": parse_pooling,
    "GlobalAveragePooling2D": parse_pooling,
    "ZeroPadding2D": parse_zero_padding,
    "BatchNormalization": parse_batch_norm,
    "Rescaling": parse_input_scaling,
    "Normalization": parse_input_scaling,
    "Activation": parse_activation,
    "ReLU": parse_activation,
    "Softmax": parse_activation,
    "Flatten": parse_reshape,
    "Reshape": parse_reshape,
    "Permute": parse_permute,
    "Residual": parse_residual,
    **{name: parse_merge for name in MERGE_CLASSES},
}
#: Every layer class a model file may hold.
LAYER_CLASSES = (*PARSERS, *IDENTITY_CLASSES)


def parse_call(call: Call) -> int:
    """Check one layer call and add its specs; returns the tensor it outputs."""
    if call.class_name in IDENTITY_CLASSES:
        if len(call.inputs) != 1:
            raise call.checks.fail(f"{call.what} takes one input")
        return call.inputs[0]
    parser = PARSERS.get(call.class_name)
    if parser is None:
        raise call.checks.fail(
            f"layer {call.name!r} has class {call.class_name!r}, which the runtime and the "
            f"exporters cannot run; expected one of {sorted(LAYER_CLASSES)}"
        )
    if call.class_name not in MERGE_CLASSES and len(call.inputs) != 1:
        raise call.checks.fail(f"{call.what} takes one input, not {len(call.inputs)}")
    return parser(call)
