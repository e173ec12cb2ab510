"""The inference engine's steps: one class per kind of layer spec, each with two methods.

    one(*x)     one sample (no batch axis), written into buffers made once: the fast path
    batch(*x)   a batch, in fresh arrays

Every step computes what the layer's own ``forward(x, training=False)`` computes, with the
same formulas: the activation classes of ``tinynn.activations``, and the NumPy kernels that
the layers call (``im2col``, ``depthwise_conv2d_forward``, the pooling windows and
``normalize_forward``). A step reads its arrays from the spec every call and never copies
them, so a step built on a model's live weights sees every training update.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np

from tinynn.activations import ACTIVATIONS
from tinynn.kernels.numpy_ops.conv_patches import depthwise_conv2d_forward, im2col, pad2d
from tinynn.kernels.numpy_ops.normalize import normalize_forward
from tinynn.kernels.numpy_ops.pool2d import avg_pool2d_forward, max_pool2d_forward
from tinynn.runtime.specs import NO_PADS, LayerSpec


def activation_object(layer: LayerSpec) -> Any:
    """The activation class of a layer spec, instantiated (with its alpha where it has one)."""
    cls = ACTIVATIONS[layer.activation]
    return cls(layer.alpha) if layer.alpha else cls()


class _Step:
    """Base: ``one`` runs ``batch`` on a batch of one, into buffers made on the first call."""

    def __init__(self, layer: LayerSpec) -> None:
        self.layer = layer
        self.activation = None if layer.activation == "linear" else activation_object(layer)

    def _activate(self, z: np.ndarray) -> np.ndarray:
        return z if self.activation is None else self.activation.forward(z, out=z)

    def one(self, *xs: np.ndarray) -> np.ndarray:
        return self.batch(*(x[None] for x in xs))[0]


class DenseStep(_Step):
    """y = f(x W + b), with W (n_in, units) as the model keeps it: for one sample,
    ``np.dot(x, W)`` is one BLAS vector-matrix product."""

    def __init__(self, layer: LayerSpec) -> None:
        super().__init__(layer)
        self.kernel, self.bias = layer.kernel, layer.bias
        self.out = np.empty(layer.output_shape, layer.dtype)  # reused by every ``one`` call

    def one(self, x: np.ndarray) -> np.ndarray:
        out = np.dot(x, self.kernel, out=self.out)
        if self.bias is not None:
            out += self.bias
        return self._activate(out)

    def batch(self, x: np.ndarray) -> np.ndarray:
        out = np.matmul(x, self.kernel)
        if self.bias is not None:
            out += self.bias
        return self._activate(out)


class DenseRun:
    """Consecutive Dense layers run by a compiled backend's ``DenseStack``."""

    def __init__(self, layers: list[LayerSpec], kernels: Any) -> None:
        self.stack = kernels.DenseStack(
            [(layer.kernel, layer.bias, activation_object(layer)) for layer in layers]
        )
        self.dtype = layers[0].dtype
        self.scratch = np.empty(self.stack.width, self.dtype)

    def one(self, x: np.ndarray) -> np.ndarray:
        return self.stack.forward_one(x, self.scratch)

    def batch(self, x: np.ndarray) -> np.ndarray:
        scratch = np.empty(len(x) * self.stack.width, self.dtype)
        return self.stack.forward(x, scratch)


class Conv2DStep(_Step):
    """y = f(im2col(x) · W + b), with W (kh, kw, C, F) read as (kh·kw·C, F): ``Conv2D.forward``.
    A 1×1 kernel with stride 1 and no padding reads the pixels as they are."""

    def __init__(self, layer: LayerSpec) -> None:
        super().__init__(layer)
        kh, kw, channels, self.filters = layer.kernel.shape
        self.patch = kh * kw * channels
        self.pointwise = (kh, kw) == (1, 1) and layer.strides == (1, 1) and layer.pads == NO_PADS

    def batch(self, x: np.ndarray) -> np.ndarray:
        layer = self.layer
        ho, wo, _ = layer.output_shape
        if self.pointwise:
            cols = x
        else:
            cols = np.empty((len(x), ho, wo, self.patch), layer.dtype)
            im2col(x, layer.kernel.shape[:2], layer.strides, layer.dilation, layer.pads, cols)
        z = np.matmul(cols.reshape(-1, self.patch), layer.kernel.reshape(self.patch, self.filters))
        if layer.bias is not None:
            z += layer.bias
        return self._activate(z).reshape(len(x), ho, wo, self.filters)


class DepthwiseStep(_Step):
    """Each channel convolved with its own filters, then bias and activation."""

    def batch(self, x: np.ndarray) -> np.ndarray:
        layer = self.layer
        out = np.empty((len(x), *layer.output_shape), layer.dtype)
        depthwise_conv2d_forward(x, layer.kernel, layer.strides, layer.dilation, layer.pads, out)
        if layer.bias is not None:
            out += layer.bias
        return self._activate(out)


class MaxPoolStep(_Step):
    def batch(self, x: np.ndarray) -> np.ndarray:
        layer = self.layer
        out = np.empty((len(x), *layer.output_shape), layer.dtype)
        window = layer.pool_size[0] * layer.pool_size[1]
        argmax = np.empty(out.shape, np.int8 if window <= 127 else np.int32)
        return max_pool2d_forward(x, layer.pool_size, layer.strides, layer.pads, out, argmax)


class AvgPoolStep(_Step):
    def batch(self, x: np.ndarray) -> np.ndarray:
        layer = self.layer
        out = np.empty((len(x), *layer.output_shape), layer.dtype)
        return avg_pool2d_forward(x, layer.pool_size, layer.strides, layer.pads, out)


class GlobalAvgPoolStep(_Step):
    def batch(self, x: np.ndarray) -> np.ndarray:
        return x.mean(axis=(1, 2), keepdims=len(self.layer.output_shape) == 3)


class PaddingStep(_Step):
    def batch(self, x: np.ndarray) -> np.ndarray:
        return pad2d(x, self.layer.pads)


class BatchNormStep(_Step):
    """γ ⊙ (x − μ)/√(σ² + ε) + β with the moving statistics, as the layer computes it at
    inference (``normalize_forward``); the exporters fold it into a scale and a shift."""

    def batch(self, x: np.ndarray) -> np.ndarray:
        arrays, channels = self.layer.arrays, x.shape[-1]
        x2d = x.reshape(-1, channels)
        xhat, out = np.empty_like(x2d), np.empty_like(x2d)
        normalize_forward(
            x2d,
            arrays["moving_mean"],
            arrays["moving_variance"],
            arrays.get("gamma"),
            arrays.get("beta"),
            self.layer.options["epsilon"],
            xhat,
            out,
        )
        return out.reshape(x.shape)


class NormalizationStep(_Step):
    """(x − mean) / √variance per feature; a variance of 0 counts as 1 (the layer's rule)."""

    def batch(self, x: np.ndarray) -> np.ndarray:
        mean, variance = self.layer.arrays["mean"], self.layer.arrays["variance"]
        return (x - mean) * (1 / np.sqrt(np.where(variance > 0, variance, 1)))


class RescalingStep(_Step):
    def batch(self, x: np.ndarray) -> np.ndarray:
        return x * self.layer.options["scale"] + self.layer.options["offset"]


class ActivationStep(_Step):
    def __init__(self, layer: LayerSpec) -> None:
        super().__init__(layer)
        self.out = np.empty(layer.output_shape, layer.dtype)

    def one(self, x: np.ndarray) -> np.ndarray:
        return self.activation.forward(x, out=self.out)

    def batch(self, x: np.ndarray) -> np.ndarray:
        return self.activation.forward(x, out=np.empty_like(x))


class ReshapeStep(_Step):
    """Flatten and Reshape: the same values in another shape (a view when it can be)."""

    def one(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.layer.output_shape)

    def batch(self, x: np.ndarray) -> np.ndarray:
        return x.reshape((len(x), *self.layer.output_shape))


class PermuteStep(_Step):
    """The sample's axes reordered: x.transpose(0, *dims), copied to C order."""

    def batch(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x.transpose(0, *self.layer.options["dims"]))


class MergeStep(_Step):
    """Add, Subtract, Multiply, Average, Concatenate, as the merge layers compute them."""

    def batch(self, *xs: np.ndarray) -> np.ndarray:
        kind = self.layer.class_name
        if kind == "Concatenate":
            return np.concatenate(xs, axis=1 + self.layer.options["axis"])
        if kind == "Subtract":
            return xs[0] - xs[1]
        if kind == "Multiply":
            return reduce(np.multiply, xs)
        total = reduce(np.add, xs)
        return total / len(xs) if kind == "Average" else total


class Cast:
    """Inputs of a layer computing in another dtype than the tensor (tinynn casts them)."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype

    def one(self, x: np.ndarray) -> np.ndarray:
        return x.astype(self.dtype)

    batch = one


STEPS = {
    "Dense": DenseStep,
    "Conv2D": Conv2DStep,
    "DepthwiseConv2D": DepthwiseStep,
    "MaxPooling2D": MaxPoolStep,
    "AveragePooling2D": AvgPoolStep,
    "GlobalAveragePooling2D": GlobalAvgPoolStep,
    "ZeroPadding2D": PaddingStep,
    "BatchNormalization": BatchNormStep,
    "Normalization": NormalizationStep,
    "Rescaling": RescalingStep,
    "Activation": ActivationStep,
    "Flatten": ReshapeStep,
    "Reshape": ReshapeStep,
    "Permute": PermuteStep,
    **{name: MergeStep for name in ("Add", "Subtract", "Multiply", "Average", "Concatenate")},
}
