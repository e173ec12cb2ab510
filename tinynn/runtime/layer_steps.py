"""The inference engine's steps: one class per kind of layer spec, each with two methods.

    one(*x)     one sample (no batch axis), written into buffers made once: the fast path
    batch(*x)   a batch, in fresh arrays

Every step computes what the layer's own ``forward(x, training=False)`` computes, with the
same formulas: the activation classes of ``tinynn.activations``, the NumPy kernels that the
layers call (``im2col``, ``depthwise_conv2d_forward``, the pooling windows), and batch
normalization's inference form x · s + t. A step reads its arrays from the spec every call and
never copies them, so a step built on a model's live weights sees every training update.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import numpy as np

from tinynn.activations import ACTIVATIONS
from tinynn.kernels.numpy_ops.conv_patches import depthwise_conv2d_forward, im2col, pad2d
from tinynn.kernels.numpy_ops.pool2d import avg_pool2d_forward, max_pool2d_forward
from tinynn.runtime.specs import NO_PADS, LayerSpec


def activation_object(layer: LayerSpec) -> Any:
    """The activation class of a layer spec, instantiated (with its alpha where it has one)."""
    cls = ACTIVATIONS[layer.activation]
    return cls(layer.alpha) if layer.alpha else cls()


#: Bytes of image patches a convolution makes per pass (a few images' worth): measured on
#: ResNet-18's 3×3 layers at 224×224, 8 MiB passes ran 10–20% faster than a whole batch of 8.
PATCH_BYTES = 8 << 20


class _Step:
    """Base: ``one`` runs ``batch`` on a batch of one, into buffers made on the first call."""

    def __init__(self, layer: LayerSpec, kernels: Any = None) -> None:
        self.layer = layer
        self.activation = None if layer.activation == "linear" else activation_object(layer)
        self.kernels = kernels  # a compiled backend's twins of the NumPy kernels, or None

    def kernel(self, name: str, reference: Any) -> Any:
        """The compiled backend's function ``name`` if there is one, else the NumPy one."""
        return reference if self.kernels is None else getattr(self.kernels, name, reference)

    def _activate(self, z: np.ndarray) -> np.ndarray:
        return z if self.activation is None else self.activation.forward(z, out=z)

    def one(self, *xs: np.ndarray) -> np.ndarray:
        return self.batch(*(x[None] for x in xs))[0]


class DenseStep(_Step):
    """y = f(x W + b), with W (n_in, units) as the model keeps it: for one sample,
    ``np.dot(x, W)`` is one BLAS vector-matrix product."""

    def __init__(self, layer: LayerSpec, kernels: Any = None) -> None:
        super().__init__(layer, kernels)
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
    A 1×1 kernel with stride 1 and no padding reads the pixels as they are. Otherwise the
    patches are made for a few images at a time (about ``PATCH_BYTES``), so that the product
    reads them from cache rather than from memory."""

    def __init__(self, layer: LayerSpec, kernels: Any = None) -> None:
        super().__init__(layer, kernels)
        kh, kw, channels, self.filters = layer.kernel.shape
        self.patch = kh * kw * channels
        self.pointwise = (kh, kw) == (1, 1) and layer.strides == (1, 1) and layer.pads == NO_PADS

    def batch(self, x: np.ndarray) -> np.ndarray:
        layer = self.layer
        ho, wo, _ = layer.output_shape
        weights = layer.kernel.reshape(self.patch, self.filters)
        if self.pointwise:
            z = np.matmul(x.reshape(-1, self.patch), weights)
        else:
            z = np.empty((len(x) * ho * wo, self.filters), layer.dtype)
            per_image = ho * wo * self.patch * layer.dtype.itemsize
            images = max(1, min(len(x), PATCH_BYTES // per_image))
            cols = np.empty((images, ho, wo, self.patch), layer.dtype)
            patches = self.kernel("im2col", im2col)
            for start in range(0, len(x), images):
                chunk = x[start : start + images]
                part = cols[: len(chunk)]
                patches(
                    chunk, layer.kernel.shape[:2], layer.strides, layer.dilation, layer.pads, part
                )
                rows = slice(start * ho * wo, (start + len(chunk)) * ho * wo)
                np.matmul(part.reshape(-1, self.patch), weights, out=z[rows])
        if layer.bias is not None:
            z += layer.bias
        return self._activate(z).reshape(len(x), ho, wo, self.filters)


class DepthwiseStep(_Step):
    """Each channel convolved with its own filters, then bias and activation. The NumPy
    kernel makes nine passes over its output (one per tap of a 3×3 kernel), so it is given a
    few images at a time (about ``PATCH_BYTES`` of output), which stay in cache between passes."""

    def batch(self, x: np.ndarray) -> np.ndarray:
        layer = self.layer
        out = np.empty((len(x), *layer.output_shape), layer.dtype)
        convolve = self.kernel("depthwise_conv2d_forward", depthwise_conv2d_forward)
        images = len(x)
        if convolve is depthwise_conv2d_forward:
            images = max(1, min(len(x), PATCH_BYTES // (out[0].nbytes or 1)))
        for start in range(0, len(x), images):
            part = slice(start, start + images)
            convolve(x[part], layer.kernel, layer.strides, layer.dilation, layer.pads, out[part])
        if layer.bias is not None:
            out += layer.bias
        return self._activate(out)


class MaxPoolStep(_Step):
    def batch(self, x: np.ndarray) -> np.ndarray:
        layer = self.layer
        out = np.empty((len(x), *layer.output_shape), layer.dtype)
        window = layer.pool_size[0] * layer.pool_size[1]
        argmax = np.empty(out.shape, np.int8 if window <= 127 else np.int32)
        pool = self.kernel("max_pool2d_forward", max_pool2d_forward)
        return pool(x, layer.pool_size, layer.strides, layer.pads, out, argmax)


class AvgPoolStep(_Step):
    def batch(self, x: np.ndarray) -> np.ndarray:
        layer = self.layer
        out = np.empty((len(x), *layer.output_shape), layer.dtype)
        pool = self.kernel("avg_pool2d_forward", avg_pool2d_forward)
        return pool(x, layer.pool_size, layer.strides, layer.pads, out)


class GlobalAvgPoolStep(_Step):
    def batch(self, x: np.ndarray) -> np.ndarray:
        return x.mean(axis=(1, 2), keepdims=len(self.layer.output_shape) == 3)


class PaddingStep(_Step):
    def batch(self, x: np.ndarray) -> np.ndarray:
        return pad2d(x, self.layer.pads)


class BatchNormStep(_Step):
    """y = x · s + t per channel, s = γ/√(σ² + ε) and t = β − μ·s from the moving statistics:
    the affine map BatchNormalization computes at inference, in two passes over x. s and t
    are computed at every call, from the live statistics (the exporters fold them instead)."""

    def batch(self, x: np.ndarray) -> np.ndarray:
        arrays = self.layer.arrays
        inv_std = 1.0 / np.sqrt(arrays["moving_variance"] + self.layer.options["epsilon"])
        gamma, beta = arrays.get("gamma"), arrays.get("beta")
        scale = inv_std if gamma is None else gamma * inv_std
        shift = (
            -arrays["moving_mean"] * scale if beta is None else beta - arrays["moving_mean"] * scale
        )
        out = np.multiply(x, scale)
        out += shift
        return out


class NormalizationStep(_Step):
    """(x − mean) / √variance per feature; a variance of 0 counts as 1 (the layer's rule)."""

    def batch(self, x: np.ndarray) -> np.ndarray:
        mean, variance = self.layer.arrays["mean"], self.layer.arrays["variance"]
        return (x - mean) * (1 / np.sqrt(np.where(variance > 0, variance, 1)))


class RescalingStep(_Step):
    def batch(self, x: np.ndarray) -> np.ndarray:
        return x * self.layer.options["scale"] + self.layer.options["offset"]


class ActivationStep(_Step):
    def __init__(self, layer: LayerSpec, kernels: Any = None) -> None:
        super().__init__(layer, kernels)
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
