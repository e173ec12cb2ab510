"""Rewrite a ``ModelSpec`` into the plainer graph the exporters and int8 quantization compile.

    lower(spec)                      fold_permute, fold_batch_norm, then fuse_activations
    fold_permute(spec)               Permute -> Flatten -> Dense becomes Flatten -> Dense
    fold_batch_norm(spec)            Conv/Dense (linear) -> BatchNormalization becomes one layer
    fuse_activations(spec)           Conv/Dense (linear) -> Activation becomes one layer
    split_activations(spec, keep)    the reverse, for activations not in ``keep``
    channel_affine(layer)            BatchNormalization, Normalization and Rescaling as
                                     y = x · scale + shift per channel (the last axis)

At inference, BatchNormalization is ``y = γ (z − μ)/√(σ² + ε) + β = z·s + (β − μ·s)`` with
``s = γ/√(σ² + ε)`` per channel. When z = x W + b comes straight from a layer nobody else
reads, the scale goes into that layer's kernel columns and the shift into its bias: the BN
costs nothing. Where a nonlinearity sits in between (tinynn's CNN puts BN after the ReLU), it
stays a per-channel scale and shift. The live engine never folds: these copies would go stale
as a model trains. Each rewrite returns a new spec with new arrays; the input is unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tinynn.runtime.specs import LayerSpec, ModelSpec

#: Layers whose output channels are the kernel's last axis and that can absorb a scale.
WEIGHTED = ("Dense", "Conv2D", "DepthwiseConv2D")
#: Per-channel affine layers (``channel_affine``).
AFFINE = ("BatchNormalization", "Normalization", "Rescaling")


def channel_affine(layer: LayerSpec) -> tuple[np.ndarray, np.ndarray]:
    """(scale, shift), each (C,) in float64, with y = x · scale + shift over the last axis."""
    channels = layer.output_shape[-1]
    arrays = {key: value.astype(np.float64) for key, value in layer.arrays.items()}
    if layer.class_name == "BatchNormalization":
        inv_std = 1 / np.sqrt(arrays["moving_variance"] + layer.options["epsilon"])
        scale = arrays.get("gamma", np.ones(channels)) * inv_std
        shift = arrays.get("beta", np.zeros(channels)) - arrays["moving_mean"] * scale
    elif layer.class_name == "Normalization":
        variance = arrays["variance"]
        scale = 1 / np.sqrt(np.where(variance > 0, variance, 1))
        shift = -arrays["mean"] * scale
    elif layer.class_name == "Rescaling":
        scale = np.full(channels, layer.options["scale"])
        shift = np.full(channels, layer.options["offset"])
    else:
        raise ValueError(f"layer {layer.name!r} ({layer.class_name}) is not a per-channel affine")
    return scale, shift


def _rebuild(spec: ModelSpec, plan: list[Any]) -> ModelSpec:
    """A spec from ``plan``: per old layer k, a LayerSpec (inputs in old tensor numbers), an
    int t (the layer is dropped: its output is old tensor t), or a list of LayerSpecs run in
    a chain (the first reads old tensors, the next ones each the one before)."""
    layers: list[LayerSpec] = []
    tensor = {0: 0}
    for k, item in enumerate(plan):
        if isinstance(item, int):
            tensor[k + 1] = tensor[item]
            continue
        for i, layer in enumerate(item if isinstance(item, list) else [item]):
            inputs = tuple(tensor[t] for t in layer.inputs) if i == 0 else (len(layers),)
            layers.append(dataclasses.replace(layer, inputs=inputs))
        tensor[k + 1] = len(layers)
    return dataclasses.replace(spec, layers=tuple(layers), output=tensor[spec.output])


def _sole_producer(readers: dict[int, list[int]], k: int, layer: LayerSpec) -> int | None:
    """The index of the layer whose output layer k reads, if layer k is its only reader."""
    if len(layer.inputs) != 1 or layer.inputs[0] == 0:
        return None
    source = layer.inputs[0]
    return source - 1 if readers[source] == [k] else None


def fold_batch_norm(spec: ModelSpec) -> ModelSpec:
    """Fold every BatchNormalization that follows a linear Dense or convolution into it."""
    plan: list[Any] = list(spec.layers)
    readers = spec.consumers()
    for k, layer in enumerate(spec.layers):
        if layer.class_name != "BatchNormalization":
            continue
        producer = _sole_producer(readers, k, layer)
        if producer is None or not isinstance(plan[producer], LayerSpec):
            continue
        source = plan[producer]
        linear = source.class_name in WEIGHTED and source.activation == "linear"
        if not linear or source.dtype != layer.dtype:
            continue
        scale, shift = channel_affine(layer)
        kernel = source.kernel.astype(np.float64)
        if source.class_name == "DepthwiseConv2D":  # output channel c·M + m is kernel[..., c, m]
            kernel = kernel * scale.reshape(kernel.shape[2:])
        else:
            kernel = kernel * scale
        bias = shift if source.bias is None else source.bias.astype(np.float64) * scale + shift
        plan[producer] = dataclasses.replace(
            source,
            kernel=kernel.astype(source.dtype),
            bias=bias.astype(source.dtype),
            name=f"{source.name}+{layer.name}",
        )
        plan[k] = layer.inputs[0]
    return _rebuild(spec, plan)


def fold_permute(spec: ModelSpec) -> ModelSpec:
    """Fold a Permute that is flattened into a Dense layer into that layer's kernel rows.

    A converted PyTorch model flattens its NCHW feature maps in (C, H, W) order, so it holds
    Permute((3, 1, 2)) -> Flatten -> Dense. Flattening without the permutation gives the same
    values in another order; reordering the Dense kernel's rows to match gives the same output
    with no transposition at all.
    """
    plan: list[Any] = list(spec.layers)
    readers = spec.consumers()
    for k, layer in enumerate(spec.layers):
        if layer.class_name != "Permute" or len(readers[k + 1]) != 1:
            continue
        flatten_at = readers[k + 1][0]
        if flatten_at < 0 or spec.layers[flatten_at].class_name != "Flatten":
            continue  # -1: the permuted tensor is the model's output
        flatten = spec.layers[flatten_at]
        dense_at = readers[flatten_at + 1][0] if len(readers[flatten_at + 1]) == 1 else -1
        dense = plan[dense_at] if dense_at >= 0 else None
        if not isinstance(dense, LayerSpec) or dense.class_name != "Dense":
            continue
        # order[p] = the flat index, in the unpermuted input, of the value at position p
        order = np.arange(dense.kernel.shape[0]).reshape(layer.input_shape)
        order = order.transpose([d - 1 for d in layer.options["dims"]]).ravel()
        kernel = np.empty_like(dense.kernel)
        kernel[order] = dense.kernel
        plan[dense_at] = dataclasses.replace(dense, kernel=kernel)
        plan[flatten_at] = dataclasses.replace(
            flatten, input_shape=layer.input_shape, input_shapes=(layer.input_shape,)
        )
        plan[k] = layer.inputs[0]
    return _rebuild(spec, plan)


def fuse_activations(spec: ModelSpec) -> ModelSpec:
    """Give an Activation layer's function to the linear Dense or convolution before it."""
    plan: list[Any] = list(spec.layers)
    readers = spec.consumers()
    for k, layer in enumerate(spec.layers):
        if layer.class_name != "Activation":
            continue
        producer = _sole_producer(readers, k, layer)
        if producer is None or not isinstance(plan[producer], LayerSpec):
            continue
        source = plan[producer]
        linear = source.class_name in WEIGHTED and source.activation == "linear"
        if not linear or source.dtype != layer.dtype:
            continue
        plan[producer] = dataclasses.replace(
            source,
            activation=layer.activation,
            alpha=layer.alpha,
            name=f"{source.name}+{layer.name}",
        )
        plan[k] = layer.inputs[0]
    return _rebuild(spec, plan)


def split_activations(spec: ModelSpec, keep: tuple[str, ...]) -> ModelSpec:
    """Give every Dense or convolution whose activation is not in ``keep`` a linear output and
    an Activation layer after it (int8 clamps relu and relu6, and looks the others up)."""
    plan: list[Any] = []
    for layer in spec.layers:
        if layer.class_name in WEIGHTED and layer.activation not in keep:
            linear = dataclasses.replace(layer, activation="linear", alpha=0.0)
            after = LayerSpec(
                "Activation",
                f"{layer.name}/{layer.activation}",
                layer.output_shape,
                layer.output_shape,
                layer.dtype,
                layer.activation,
                layer.alpha,
                input_shapes=(layer.output_shape,),
            )
            plan.append([linear, after])
        else:
            plan.append(layer)
    return _rebuild(spec, plan)


def lower(spec: ModelSpec) -> ModelSpec:
    """The graph the exporters write: permutations and batch norms folded, then activations
    fused."""
    return fuse_activations(fold_batch_norm(fold_permute(spec)))
