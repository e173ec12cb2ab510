"""The cost rules of tinynn's layers: FLOPs and bytes of each pass, per layer type.

``tinynn.profiling.costs.layer_cost`` looks a layer up in ``RULES`` (by its class, or its
nearest tinynn base class) and calls the forward or the backward rule with the batch size and
how the layer ran (``PassInfo``). What is counted is described in ``costs``'s docstring; each
rule's docstring gives its own counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tinynn.layers.layer import product
from tinynn.profiling import costs
from tinynn.profiling.costs import Cost, PassInfo

# -- helpers ------------------------------------------------------------------------------


def _size(layer: Any) -> int:
    return layer.dtype.itemsize


def values_in(layer: Any) -> int:
    """Values in one input sample (summed over the inputs of a merge)."""
    shape = layer.input_shape
    if shape and isinstance(shape[0], tuple | list):
        return sum(product(s) for s in shape)
    return product(shape)


def values_out(layer: Any) -> int:
    return product(layer.output_shape)


def param_values(layer: Any) -> int:
    return sum(param.size for param in layer.params.values())


def _has_derivative(layer: Any, info: PassInfo) -> bool:
    """True when backward multiplies by f'(z): an activation other than linear, applied."""
    activation = getattr(layer, "activation", None)
    return activation is not None and not info.logits and activation.name != "linear"


# -- Dense and Conv2D: a matrix product on rows (Dense) or on image patches (Conv2D) -------


def _gemm_shape(layer: Any) -> tuple[int, int, int, bool]:
    """(positions per sample, patch size P, outputs F, materializes cols)."""
    if hasattr(layer, "filters") and hasattr(layer, "kernel_size"):
        ho, wo, filters = layer.output_shape
        patch = layer.kernel_size[0] * layer.kernel_size[1] * layer.input_shape[2]
        pointwise = layer.kernel_size == (1, 1) and layer.strides == (1, 1) and not any(layer.pads)
        return ho * wo, patch, filters, not pointwise
    return 1, layer.input_shape[0], layer.units, False


def _gemm_forward(layer: Any, info: PassInfo) -> Cost:
    positions, patch, outputs, has_cols = _gemm_shape(layer)
    s, rows = _size(layer), info.batch * positions
    cols = 2 * rows * patch * s if has_cols else 0  # im2col writes them, the product reads them
    return Cost(
        flops=info.batch * layer.flops(),
        weight_bytes=param_values(layer) * s,
        read_bytes=info.batch * values_in(layer) * s + cols // 2,
        write_bytes=rows * outputs * s + cols // 2,
    )


def _gemm_backward(layer: Any, info: PassInfo) -> Cost:
    positions, patch, outputs, has_cols = _gemm_shape(layer)
    s, rows = _size(layer), info.batch * positions
    kernel, bias = patch * outputs, outputs if layer.use_bias else 0
    trainable = layer.trainable
    flops = rows * outputs if _has_derivative(layer, info) else 0
    read = rows * outputs  # g
    read += rows * outputs if _has_derivative(layer, info) else 0  # y, for f'
    weights = write = 0
    if trainable:
        flops += 2 * rows * patch * outputs + (rows * outputs if bias else 0)
        read += rows * patch  # x, or cols
        weights += kernel + bias  # dW, db written
    if info.input_grad:
        flops += 2 * rows * patch * outputs
        weights += kernel  # W read
        write += rows * patch  # dx, or dcols
        if has_cols:  # col2im adds dcols back onto the pixels
            flops += rows * patch
            read += rows * patch
            write += info.batch * values_in(layer)
    return Cost(flops, weights * s, read * s, write * s)


# -- pooling ------------------------------------------------------------------------------


def _max_pool_forward(layer: Any, info: PassInfo) -> Cost:
    window = layer.pool_size[0] * layer.pool_size[1]
    index_size = 1 if window <= 127 else 4  # the argmax cache: int8 or int32
    out = info.batch * values_out(layer)
    return Cost(
        flops=info.batch * layer.flops(),
        read_bytes=info.batch * values_in(layer) * _size(layer),
        write_bytes=out * (_size(layer) + index_size),
    )


def _max_pool_backward(layer: Any, info: PassInfo) -> Cost:
    """Each output's gradient is added to the input that held the maximum."""
    if not info.input_grad:
        return Cost()
    window = layer.pool_size[0] * layer.pool_size[1]
    index_size = 1 if window <= 127 else 4
    out = info.batch * values_out(layer)
    return Cost(
        flops=out,
        read_bytes=out * (_size(layer) + index_size),
        write_bytes=info.batch * values_in(layer) * _size(layer),
    )


def _average_pool_backward(layer: Any, info: PassInfo) -> Cost:
    """Each output's gradient, divided by its window's size, is added over the window."""
    if not info.input_grad:
        return Cost()
    out = info.batch * values_out(layer)
    window = layer.pool_size[0] * layer.pool_size[1]
    return Cost(
        flops=out * window,
        read_bytes=out * _size(layer),
        write_bytes=info.batch * values_in(layer) * _size(layer),
    )


def _global_pool_backward(layer: Any, info: PassInfo) -> Cost:
    """dL/dy / (H·W), one division per channel, copied to every pixel."""
    if not info.input_grad:
        return Cost()
    return Cost(
        flops=info.batch * values_out(layer),
        read_bytes=info.batch * values_out(layer) * _size(layer),
        write_bytes=info.batch * values_in(layer) * _size(layer),
    )


# -- normalization ------------------------------------------------------------------------


def _normalization_forward(layer: Any, info: PassInfo) -> Cost:
    """Read x; write x̂ (cached) and y; read γ and β. BatchNormalization in training also
    reads and writes its two moving statistics."""
    s, values = _size(layer), info.batch * values_in(layer)
    weights = param_values(layer)
    if layer.state and layer.trainable:
        weights += 2 * sum(array.size for array in layer.state.values())
    return Cost(
        flops=info.batch * layer.flops(),
        weight_bytes=weights * s,
        read_bytes=values * s,
        write_bytes=2 * values * s,
    )


def _normalization_backward(layer: Any, info: PassInfo) -> Cost:
    """With ĝ = γ ⊙ g and N values: dγ = Σ g ⊙ x̂ (2N), dβ = Σ g (N) when trainable;
    dL/dx = (ĝ − ⟨ĝ⟩ − x̂ ⊙ ⟨ĝ ⊙ x̂⟩) / σ (8N) when wanted. A frozen BatchNormalization
    used its moving statistics: dL/dx = ĝ / σ (2N)."""
    s, values = _size(layer), info.batch * values_in(layer)
    gamma = layer.params.get("gamma")
    gamma_size = 0 if gamma is None else gamma.size
    flops, weights, read, write = 0, 0, 2 * values, 0  # g and x̂ are read
    if layer.trainable:
        flops += (2 * values if "gamma" in layer.params else 0) + (
            values if "beta" in layer.params else 0
        )
        weights += param_values(layer)  # dγ, dβ written
    if info.input_grad:
        batch_statistics = layer.trainable or not layer.state
        flops += 8 * values if batch_statistics else 2 * values
        weights += gamma_size  # γ read
        write += values
    return Cost(flops, weights * s, read * s, write * s)


# -- element-wise layers ------------------------------------------------------------------


def _elementwise_forward(layer: Any, info: PassInfo) -> Cost:
    """Read x, write y: activations, rescaling, padding."""
    if info.logits:  # an Activation that the loss absorbed passes x through
        return Cost()
    return Cost(
        flops=info.batch * layer.flops(),
        read_bytes=info.batch * values_in(layer) * _size(layer),
        write_bytes=info.batch * values_out(layer) * _size(layer),
    )


def _activation_backward(layer: Any, info: PassInfo) -> Cost:
    """dL/dx = g ⊙ f'(x), from the cached y: read g and y, write dL/dx."""
    if info.logits:
        return Cost()
    values, s = info.batch * values_in(layer), _size(layer)
    return Cost(flops=values, read_bytes=2 * values * s, write_bytes=values * s)


def _scaling_backward(layer: Any, info: PassInfo) -> Cost:
    """dL/dx = g · scale (Rescaling, Normalization); padding cuts the border off (0 FLOPs)."""
    values, s = info.batch * values_in(layer), _size(layer)
    flops = 0 if hasattr(layer, "pads") else values
    return Cost(flops=flops, read_bytes=values * s, write_bytes=values * s)


def _dropout_forward(layer: Any, info: PassInfo) -> Cost:
    """Draw uniforms, compare, scale, multiply (3 FLOPs per value, the draw not counted):
    read x, write the uniforms, the mask (cached) and y. Nothing at rate 0."""
    if layer.rate == 0.0:
        return Cost()
    values, s = info.batch * values_in(layer), _size(layer)
    return Cost(flops=3 * values, read_bytes=values * s, write_bytes=3 * values * s)


def _dropout_backward(layer: Any, info: PassInfo) -> Cost:
    if layer.rate == 0.0:
        return Cost()
    values, s = info.batch * values_in(layer), _size(layer)
    return Cost(flops=values, read_bytes=2 * values * s, write_bytes=values * s)


def _merge_backward(layer: Any, info: PassInfo) -> Cost:
    """Read g, write one gradient per input (Multiply also reads the inputs, and does one
    product per value and input)."""
    if not info.input_grad:
        return Cost()
    s = _size(layer)
    out, inputs = info.batch * values_out(layer), info.batch * values_in(layer)
    multiply = type(layer).__name__ == "Multiply"
    return Cost(
        flops=inputs if multiply or type(layer).__name__ == "Average" else 0,
        read_bytes=(out + (inputs if multiply else 0)) * s,
        write_bytes=inputs * s,
    )


def _free(layer: Any, info: PassInfo) -> Cost:
    """Inputs, Flatten, Reshape, Identity: views, no arithmetic."""
    return Cost()


# -- containers: the children's costs, plus the sum and the activation --------------------


def _residual_forward(layer: Any, info: PassInfo) -> Cost:
    total = Cost()
    for _, child in layer.children():
        total += costs.layer_cost(child, info.batch, "forward")
    values, s = info.batch * values_out(layer), _size(layer)
    return total + Cost(flops=2 * values, read_bytes=2 * values * s, write_bytes=values * s)


def _residual_backward(layer: Any, info: PassInfo) -> Cost:
    total = Cost()
    for _, child in layer.children():
        total += costs.layer_cost(child, info.batch, "backward", child.compute_input_grad)
    values, s = info.batch * values_out(layer), _size(layer)
    own = Cost(flops=values, read_bytes=2 * values * s, write_bytes=values * s)  # dz
    if info.input_grad:  # the two branches' dL/dx are added
        own += Cost(flops=values, read_bytes=2 * values * s, write_bytes=values * s)
    return total + own


Rule = tuple[Callable[[Any, PassInfo], Cost], Callable[[Any, PassInfo], Cost]]

#: Layer class name -> (forward rule, backward rule). A subclass uses the rule of its nearest
#: listed base class (ReLU and Softmax are Activations).
RULES: dict[str, Rule] = {
    "Dense": (_gemm_forward, _gemm_backward),
    "Conv2D": (_gemm_forward, _gemm_backward),
    "MaxPooling2D": (_max_pool_forward, _max_pool_backward),
    "AveragePooling2D": (_elementwise_forward, _average_pool_backward),
    "GlobalAveragePooling2D": (_elementwise_forward, _global_pool_backward),
    "BatchNormalization": (_normalization_forward, _normalization_backward),
    "LayerNormalization": (_normalization_forward, _normalization_backward),
    "Activation": (_elementwise_forward, _activation_backward),
    "Dropout": (_dropout_forward, _dropout_backward),
    "Rescaling": (_elementwise_forward, _scaling_backward),
    "Normalization": (_elementwise_forward, _scaling_backward),
    "ZeroPadding2D": (_elementwise_forward, _scaling_backward),
    "Merge": (_elementwise_forward, _merge_backward),
    "Residual": (_residual_forward, _residual_backward),
    "InputLayer": (_free, _free),
    "Flatten": (_free, _free),
    "Reshape": (_free, _free),
    "Identity": (_free, _free),
}


def rule_for(layer: Any) -> Rule | None:
    """The rule of the layer's class or of its nearest base class with one, among tinynn's
    own layers (a user's class of the same name gets the estimate)."""
    for cls in type(layer).__mro__:
        if cls.__module__.startswith("tinynn.layers") and cls.__name__ in RULES:
            return RULES[cls.__name__]
    return None
