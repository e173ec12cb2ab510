"""Convert a PyTorch ``nn.Module`` into a tinynn functional model, by tracing it.

``torch.fx.symbolic_trace`` records what ``forward`` does as a graph of module calls and
functions (a residual ``out += identity`` becomes an ``add`` node), which torchvision's
ResNet and MobileNetV2 both allow. Each node becomes the matching tinynn layer called on
symbolic tensors, and the module's weights are copied in, moved to tinynn's layouts
(``torch_modules``).

Tensors are followed with their PyTorch rank in mind: an image tensor is NCHW in PyTorch and
NHWC here. Flattening a feature map flattens it in PyTorch's (C, H, W) order, so it is
converted to ``Permute((3, 1, 2))`` then ``Flatten``, and a following Linear layer needs no
reordering; after global average pooling there is nothing left to reorder.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from tinynn import layers
from tinynn.convert.torch_modules import CONVERTERS, UnsupportedError
from tinynn.layers.symbolic import Input, SymbolicTensor


def from_torch(module: Any, input_shape: Any, dtype: Any = "float32") -> Any:
    """A tinynn ``Model`` computing what ``module`` computes in eval mode.

    Args:
        module: a ``torch.nn.Module`` built from Linear, Conv2d (groups 1 or depthwise),
            BatchNorm1d/2d, ReLU/ReLU6/LeakyReLU/Sigmoid/Tanh/ELU/Softplus/Softmax,
            MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten, Dropout, Identity and
            residual additions (``x + y``, ``torch.add``), ``torch.cat`` on channels.
        input_shape: one sample as PyTorch sees it, without the batch axis: (C, H, W) for
            images (the tinynn model then takes NHWC batches, ``x.transpose(0, 2, 3, 1)``),
            (features,) otherwise.
        dtype: the tinynn model's dtype.

    Raises ``UnsupportedError`` (a ValueError) naming the first module or function it cannot
    convert, and its type.
    """
    import torch.fx

    module = module.eval()
    graph = torch.fx.symbolic_trace(module).graph
    dtype = np.dtype(dtype)
    shape = tuple(int(d) for d in input_shape)
    tinynn_shape = (*shape[1:], shape[0]) if len(shape) == 3 else shape
    values: dict[str, Any] = {}
    weights: list[tuple[layers.Layer, list[np.ndarray]]] = []
    inputs, outputs = [], None
    for node in graph.nodes:
        if node.op == "placeholder":
            if inputs:
                raise UnsupportedError("a module with several inputs (forward takes one)")
            tensor = Input(tinynn_shape, dtype=dtype, name="input")
            inputs.append(tensor)
            values[node.name] = _Value(tensor, len(shape) + 1)
        elif node.op == "call_module":
            sub = module.get_submodule(node.target)
            values[node.name] = _call_module(sub, node, values, weights, dtype)
        elif node.op in ("call_function", "call_method"):
            values[node.name] = _call_function(node, values, dtype)
        elif node.op == "output":
            outputs = _argument(node.args[0], values).tensor
        else:
            raise UnsupportedError(f"fx node {node.name!r} of kind {node.op!r}")
    from tinynn.models import Model

    model = Model(inputs=inputs[0], outputs=outputs, name=type(module).__name__.lower())
    for layer, arrays in weights:
        layer.set_weights(arrays)
    return model


class _Value:
    """A traced value: the tinynn tensor, and the tensor's rank as PyTorch sees it (4 for an
    NCHW image batch), which decides how flatten and pooling translate."""

    def __init__(self, tensor: SymbolicTensor, rank: int) -> None:
        self.tensor, self.rank = tensor, rank


def _argument(arg: Any, values: dict[str, _Value]) -> Any:
    name = getattr(arg, "name", None)
    if name is None or name not in values:
        raise UnsupportedError(f"an argument {arg!r} that is not a traced tensor")
    return values[name]


def _call_module(sub: Any, node: Any, values, weights, dtype) -> _Value:
    kind = type(sub).__name__
    source = _argument(node.args[0], values)
    name = str(node.target).replace(".", "_")
    if kind in ("Dropout", "Identity"):
        return source
    if kind == "Flatten":
        if (sub.start_dim, sub.end_dim) != (1, -1):
            raise UnsupportedError(f"{name}: Flatten({sub.start_dim}, {sub.end_dim})")
        return _flatten(source, name)
    if kind == "AdaptiveAvgPool2d":
        if _pair(sub.output_size) != (1, 1):
            raise UnsupportedError(f"{name}: AdaptiveAvgPool2d to {sub.output_size} (only 1)")
        return _global_pool(source, name, dtype)
    converter = CONVERTERS.get(kind)
    if converter is None:
        raise UnsupportedError(
            f"cannot convert module {node.target!r} of type {kind}; supported: "
            f"{sorted([*CONVERTERS, 'AdaptiveAvgPool2d', 'Dropout', 'Flatten', 'Identity'])}"
        )
    layer, arrays = converter(sub, name, dtype)
    output = layer(source.tensor)
    if arrays:
        weights.append((layer, arrays))
    return _Value(output, source.rank)


def _call_function(node: Any, values: dict[str, _Value], dtype: np.dtype) -> _Value:
    import torch
    import torch.nn.functional as F  # noqa: N812

    target = node.target
    name = node.name
    tensors = [a for a in node.args if getattr(a, "name", None) in values]
    if target in (operator.add, torch.add, operator.iadd, "add", "add_"):
        if len(tensors) != 2 or len(node.args) != 2:
            raise UnsupportedError(f"{name}: an addition with a constant (only tensor + tensor)")
        first, second = (_argument(t, values) for t in tensors)
        return _Value(layers.Add(name=name, dtype=dtype)([first.tensor, second.tensor]), first.rank)
    if target in (operator.mul, torch.mul, "mul") and len(tensors) == 2:
        first, second = (_argument(t, values) for t in tensors)
        product = layers.Multiply(name=name, dtype=dtype)([first.tensor, second.tensor])
        return _Value(product, first.rank)
    if target in (torch.cat,):
        parts = [_argument(t, values) for t in node.args[0]]
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
        if dim not in (1, -parts[0].rank + 1):
            raise UnsupportedError(f"{name}: torch.cat over dim {dim} (only channels, 1)")
        joined = layers.Concatenate(name=name, dtype=dtype)([p.tensor for p in parts])
        return _Value(joined, parts[0].rank)
    source = _argument(node.args[0], values)
    if target in (torch.flatten, "flatten"):
        start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
        if start != 1:
            raise UnsupportedError(f"{name}: flatten from dim {start} (only 1)")
        return _flatten(source, name)
    if target in (F.relu, torch.relu, "relu", "relu_"):
        return _Value(layers.ReLU(name=name, dtype=dtype)(source.tensor), source.rank)
    if target in (F.relu6,):
        return _Value(layers.ReLU(max_value=6, name=name, dtype=dtype)(source.tensor), source.rank)
    if target in (F.adaptive_avg_pool2d,):
        size = node.args[1] if len(node.args) > 1 else node.kwargs.get("output_size")
        if _pair(size) != (1, 1):
            raise UnsupportedError(f"{name}: adaptive_avg_pool2d to {size} (only 1)")
        return _global_pool(source, name, dtype)
    label = getattr(target, "__name__", target)
    raise UnsupportedError(f"cannot convert the function {label!r} (fx node {name!r})")


def _flatten(source: _Value, name: str) -> _Value:
    """PyTorch's flatten(x, 1): an NCHW map flattens as (C, H, W), so permute first."""
    tensor = source.tensor
    if len(tensor.shape) == 1:  # already flat (after global pooling)
        return _Value(tensor, 2)
    if source.rank == 4 and tensor.shape[:2] != (1, 1):
        tensor = layers.Permute((3, 1, 2), name=f"{name}_to_chw", dtype=tensor.dtype)(tensor)
    return _Value(layers.Flatten(name=name, dtype=tensor.dtype)(tensor), 2)


def _global_pool(source: _Value, name: str, dtype: np.dtype) -> _Value:
    """AdaptiveAvgPool2d(1): (N, C, 1, 1) in PyTorch, (N, C) here; flatten then does nothing."""
    pooled = layers.GlobalAveragePooling2D(name=name, dtype=dtype)(source.tensor)
    return _Value(pooled, 4)


def _pair(value: Any) -> tuple[Any, Any]:
    return (value, value) if not isinstance(value, list | tuple) else tuple(value)
