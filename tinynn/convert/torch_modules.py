"""PyTorch modules as tinynn layers, with their weights moved to tinynn's layouts.

Layouts differ in two ways, and every function here says which it handles:

* images: PyTorch is NCHW, tinynn (as Keras) NHWC. A convolution kernel (out, in, kh, kw)
  becomes (kh, kw, in, out); a depthwise kernel (in·m, 1, kh, kw) becomes (kh, kw, in, m),
  output channel c·m + k in both;
* Dense: ``nn.Linear`` keeps W as (out, in) and computes x Wᵀ; tinynn keeps (in, out).

BatchNormalization's momentum is Keras's: PyTorch's ``momentum=0.1`` is ``momentum=0.9``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn import activations, layers


class UnsupportedError(ValueError):
    """A module, function or argument tinynn cannot convert; the message names it."""


def _numpy(tensor: Any, dtype: np.dtype) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(dtype)


def _pads(padding: Any, kernel: tuple[int, int], name: str) -> Any:
    """PyTorch's padding (int, pair, or "same"/"valid") as tinynn's."""
    if isinstance(padding, str):
        if padding == "same" and all(k % 2 for k in kernel):
            return "same"  # stride 1 and odd kernels: PyTorch and Keras pad alike
        if padding == "valid":
            return "valid"
        raise UnsupportedError(f"{name}: padding={padding!r} with kernel {kernel}")
    h, w = (padding, padding) if isinstance(padding, int) else tuple(padding)
    return ((h, h), (w, w))


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def conv2d(module: Any, name: str, dtype: np.dtype) -> tuple[layers.Layer, list[np.ndarray]]:
    """nn.Conv2d -> Conv2D (groups 1) or DepthwiseConv2D (groups == in_channels)."""
    if module.padding_mode != "zeros":
        raise UnsupportedError(f"{name}: padding_mode={module.padding_mode!r} (only 'zeros')")
    kernel = _pair(module.kernel_size)
    common = {
        "kernel_size": kernel,
        "strides": _pair(module.stride),
        "padding": _pads(module.padding, kernel, name),
        "dilation_rate": _pair(module.dilation),
        "use_bias": module.bias is not None,
        "name": name,
        "dtype": dtype,
    }
    W = _numpy(module.weight, dtype)
    bias = [] if module.bias is None else [_numpy(module.bias, dtype)]
    if module.groups == 1:
        return layers.Conv2D(module.out_channels, **common), [W.transpose(2, 3, 1, 0), *bias]
    if module.groups == module.in_channels and module.out_channels % module.in_channels == 0:
        multiplier = module.out_channels // module.in_channels
        kh, kw = kernel
        depthwise = W.reshape(module.in_channels, multiplier, kh, kw).transpose(2, 3, 0, 1)
        return layers.DepthwiseConv2D(depth_multiplier=multiplier, **common), [depthwise, *bias]
    raise UnsupportedError(
        f"{name}: Conv2d with groups={module.groups} (only 1, or depthwise: groups == "
        f"in_channels = {module.in_channels})"
    )


def batch_norm(module: Any, name: str, dtype: np.dtype) -> tuple[layers.Layer, list[np.ndarray]]:
    """nn.BatchNorm1d/2d -> BatchNormalization over the last (channel) axis."""
    if not module.track_running_stats:
        raise UnsupportedError(f"{name}: BatchNorm without running statistics")
    momentum = 0.9 if module.momentum is None else 1.0 - module.momentum
    layer = layers.BatchNormalization(
        momentum=momentum,
        epsilon=module.eps,
        center=module.affine,
        scale=module.affine,
        name=name,
        dtype=dtype,
    )
    affine = [_numpy(module.weight, dtype), _numpy(module.bias, dtype)] if module.affine else []
    stats = [_numpy(module.running_mean, dtype), _numpy(module.running_var, dtype)]
    return layer, affine + stats


def linear(module: Any, name: str, dtype: np.dtype) -> tuple[layers.Layer, list[np.ndarray]]:
    """nn.Linear (W (out, in)) -> Dense (W (in, out))."""
    layer = layers.Dense(
        module.out_features, use_bias=module.bias is not None, name=name, dtype=dtype
    )
    bias = [] if module.bias is None else [_numpy(module.bias, dtype)]
    return layer, [_numpy(module.weight, dtype).T, *bias]


def max_pool(module: Any, name: str, dtype: np.dtype) -> tuple[layers.Layer, list]:
    """nn.MaxPool2d -> MaxPooling2D; PyTorch's padding never wins a max, nor does ours."""
    if module.ceil_mode or _pair(module.dilation) != (1, 1) or module.return_indices:
        raise UnsupportedError(f"{name}: MaxPool2d with ceil_mode, dilation or indices")
    window = _pair(module.kernel_size)
    strides = _pair(module.stride if module.stride is not None else module.kernel_size)
    padding = _pads(module.padding, window, name)
    return layers.MaxPooling2D(window, strides, padding, name=name, dtype=dtype), []


def avg_pool(module: Any, name: str, dtype: np.dtype) -> tuple[layers.Layer, list]:
    """nn.AvgPool2d without padding -> AveragePooling2D (padded windows average differently:
    PyTorch counts the zeros by default, Keras does not)."""
    if _pair(module.padding) != (0, 0) or module.ceil_mode:
        raise UnsupportedError(f"{name}: AvgPool2d with padding or ceil_mode")
    window = _pair(module.kernel_size)
    strides = _pair(module.stride if module.stride is not None else module.kernel_size)
    return layers.AveragePooling2D(window, strides, name=name, dtype=dtype), []


def activation(module: Any, name: str, dtype: np.dtype) -> tuple[layers.Layer, list]:
    kind = type(module).__name__
    if kind == "ReLU":
        return layers.ReLU(name=name, dtype=dtype), []
    if kind == "ReLU6" or (kind == "Hardtanh" and (module.min_val, module.max_val) == (0, 6)):
        return layers.ReLU(max_value=6, name=name, dtype=dtype), []
    if kind == "LeakyReLU":
        return layers.ReLU(negative_slope=module.negative_slope, name=name, dtype=dtype), []
    if kind == "Softmax":
        if module.dim not in (1, -1, None):
            raise UnsupportedError(f"{name}: Softmax over dim {module.dim} (only the last)")
        return layers.Softmax(name=name, dtype=dtype), []
    if kind == "ELU":
        return layers.Activation(activations.ELU(module.alpha), name=name, dtype=dtype), []
    if kind == "Softplus" and module.beta != 1:
        raise UnsupportedError(f"{name}: Softplus with beta={module.beta} (only 1)")
    simple = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus"}
    return layers.Activation(simple[kind], name=name, dtype=dtype), []


#: PyTorch module class name -> converter.
CONVERTERS = {
    "Conv2d": conv2d,
    "BatchNorm2d": batch_norm,
    "BatchNorm1d": batch_norm,
    "Linear": linear,
    "MaxPool2d": max_pool,
    "AvgPool2d": avg_pool,
    "ReLU": activation,
    "ReLU6": activation,
    "Hardtanh": activation,
    "LeakyReLU": activation,
    "Softmax": activation,
    "Sigmoid": activation,
    "Tanh": activation,
    "Softplus": activation,
    "ELU": activation,
}
