"""The Numba conv and pooling kernels against their NumPy twins (the reference)."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn.kernels.numpy_ops import conv_patches as numpy_conv
from tinynn.kernels.numpy_ops import pool2d as numpy_pooling
from tinynn.layers.conv import conv_geometry

pytest.importorskip("numba")
from tinynn.kernels.numba_ops import conv_patches_jit as numba_conv
from tinynn.kernels.numba_ops import pool2d_jit as numba_pooling

# (kernel or window, strides, dilation, padding, channels); channels 1 takes NumPy's path in
# the Numba im2col/col2im, so both are covered.
CASES = [
    ((3, 3), (1, 1), (1, 1), "valid", 3),
    ((3, 2), (2, 1), (1, 2), "same", 4),
    ((2, 2), (2, 2), (1, 1), "same", 2),
    ((3, 3), (2, 2), (2, 1), "valid", 3),
    ((3, 3), (1, 1), (1, 1), "same", 1),
    ((1, 1), (1, 1), (1, 1), "valid", 5),
]
IDS = [str(case) for case in CASES]
DTYPES = [np.float64, np.float32]
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}


def setup(case, dtype, seed=0, size=(7, 6)):
    kernel, strides, dilation, padding, channels = case
    x = np.random.default_rng(seed).normal(size=(3, *size, channels)).astype(dtype)
    out_hw, pads = conv_geometry(size, kernel, strides, dilation, padding)
    return x, out_hw, pads


def assert_twins(a, b, dtype):
    np.testing.assert_allclose(a, b, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_im2col_and_col2im(case, dtype):
    kernel, strides, dilation, _, channels = case
    x, (ho, wo), pads = setup(case, dtype)
    cols = [np.full((3, ho, wo, kernel[0] * kernel[1] * channels), np.nan, dtype) for _ in "ab"]
    numpy_conv.im2col(x, kernel, strides, dilation, pads, cols[0])
    numba_conv.im2col(x, kernel, strides, dilation, pads, cols[1])
    np.testing.assert_array_equal(cols[0], cols[1])  # a copy: exactly equal
    grad = np.random.default_rng(1).normal(size=cols[0].shape).astype(dtype)
    grads = [np.full(x.shape, np.nan, dtype) for _ in "ab"]  # every value must be written
    numpy_conv.col2im(grad, kernel, strides, dilation, pads, grads[0])
    numba_conv.col2im(grad, kernel, strides, dilation, pads, grads[1])
    assert_twins(grads[1], grads[0], dtype)


def test_col2im_is_the_adjoint_of_im2col():
    case = CASES[1]
    kernel, strides, dilation, _, channels = case
    x, (ho, wo), pads = setup(case, np.float64)
    cols = np.empty((3, ho, wo, kernel[0] * kernel[1] * channels))
    numba_conv.im2col(x, kernel, strides, dilation, pads, cols)
    g = np.random.default_rng(2).normal(size=cols.shape)
    back = np.empty_like(x)
    numba_conv.col2im(g, kernel, strides, dilation, pads, back)
    assert np.sum(cols * g) == pytest.approx(np.sum(x * back), rel=1e-12)  # ⟨Ax, g⟩ = ⟨x, Aᵀg⟩


@pytest.mark.parametrize("multiplier", [1, 2])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_depthwise_forward_and_backward(case, dtype, multiplier):
    kernel, strides, dilation, _, channels = case
    x, (ho, wo), pads = setup(case, dtype)
    rng = np.random.default_rng(3)
    W = rng.normal(size=(*kernel, channels, multiplier)).astype(dtype)
    ys = [np.full((3, ho, wo, channels * multiplier), np.nan, dtype) for _ in "ab"]
    numpy_conv.depthwise_conv2d_forward(x, W, strides, dilation, pads, ys[0])
    numba_conv.depthwise_conv2d_forward(x, W, strides, dilation, pads, ys[1])
    assert_twins(ys[1], ys[0], dtype)
    g = rng.normal(size=ys[0].shape).astype(dtype)
    grad_W = [np.full_like(W, np.nan) for _ in "ab"]
    grad_x = [np.full_like(x, np.nan) for _ in "ab"]
    numpy_conv.depthwise_conv2d_backward(x, W, g, strides, dilation, pads, grad_W[0], grad_x[0])
    numba_conv.depthwise_conv2d_backward(x, W, g, strides, dilation, pads, grad_W[1], grad_x[1])
    assert_twins(grad_W[1], grad_W[0], dtype)
    assert_twins(grad_x[1], grad_x[0], dtype)
    numba_conv.depthwise_conv2d_backward(x, W, g, strides, dilation, pads, grad_W[1], None)
    assert_twins(grad_W[1], grad_W[0], dtype)


POOL_CASES = [case for case in CASES if case[2] == (1, 1)] + [((3, 3), (1, 1), (1, 1), "same", 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES, ids=[str(c) for c in POOL_CASES])
def test_pooling(case, dtype):
    window, strides, _, _, channels = case
    x, (ho, wo), pads = setup(case, dtype)
    x[0, :2, :2] = 0.0  # a tie, as after a ReLU: both must pick the first offset
    ys = [np.full((3, ho, wo, channels), np.nan, dtype) for _ in "ab"]
    argmax = [np.full((3, ho, wo, channels), -1, np.int8) for _ in "ab"]
    numpy_pooling.max_pool2d_forward(x, window, strides, pads, ys[0], argmax[0])
    numba_pooling.max_pool2d_forward(x, window, strides, pads, ys[1], argmax[1])
    np.testing.assert_array_equal(ys[1], ys[0])
    np.testing.assert_array_equal(argmax[1], argmax[0])
    g = np.random.default_rng(4).normal(size=ys[0].shape).astype(dtype)
    grads = [np.full_like(x, np.nan) for _ in "ab"]
    numpy_pooling.max_pool2d_backward(g, argmax[0], window, strides, pads, grads[0])
    numba_pooling.max_pool2d_backward(g, argmax[1], window, strides, pads, grads[1])
    assert_twins(grads[1], grads[0], dtype)
    numpy_pooling.avg_pool2d_forward(x, window, strides, pads, ys[0])
    numba_pooling.avg_pool2d_forward(x, window, strides, pads, ys[1])
    assert_twins(ys[1], ys[0], dtype)
    numpy_pooling.avg_pool2d_backward(g, window, strides, pads, grads[0])
    numba_pooling.avg_pool2d_backward(g, window, strides, pads, grads[1])
    assert_twins(grads[1], grads[0], dtype)


def test_wrong_shapes_are_refused_before_the_compiled_code_runs():
    x = np.zeros((2, 5, 5, 3))
    geometry = ((3, 3), (1, 1), (1, 1), (0, 0, 0, 0))
    with pytest.raises(ValueError, match="output spatial size"):
        numba_conv.im2col(x, *geometry, np.zeros((2, 4, 4, 27)))
    with pytest.raises(ValueError, match="out has shape"):
        numba_conv.im2col(x, *geometry, np.zeros((2, 3, 3, 26)))
    with pytest.raises(ValueError, match="NHWC"):
        numba_conv.col2im(np.zeros((2, 3, 3, 27)), *geometry, np.zeros((2, 5, 5)))
    with pytest.raises(ValueError, match="W has shape"):
        numba_conv.depthwise_conv2d_forward(
            x, np.zeros((3, 3, 2, 1)), (1, 1), (1, 1), (0, 0, 0, 0), np.zeros((2, 3, 3, 2))
        )
    with pytest.raises(ValueError, match="W has shape"):  # it would write past grad_W's end
        numba_conv.depthwise_conv2d_backward(
            x,
            np.zeros((3, 3, 2, 1)),
            np.zeros((2, 3, 3, 2)),
            (1, 1),
            (1, 1),
            (0, 0, 0, 0),
            np.zeros((3, 3, 2, 1)),
            np.zeros_like(x),
        )
    with pytest.raises(ValueError, match="argmax"):
        numba_pooling.max_pool2d_forward(
            x, (2, 2), (2, 2), (0, 0, 0, 0), np.zeros((2, 2, 2, 3)), np.zeros((2, 2, 2, 2))
        )
    with pytest.raises(ValueError, match="batch and channels"):
        numba_pooling.avg_pool2d_backward(
            np.zeros((2, 2, 2, 3)), (2, 2), (2, 2), (0, 0, 0, 0), np.zeros((2, 5, 5, 4))
        )


def test_a_model_on_the_numba_kernels_matches_the_numpy_model():
    import types

    from tinynn.kernels import numpy_ops
    from tinynn.layers import Dense, Flatten, Input
    from tinynn.layers.conv import Conv2D
    from tinynn.layers.depthwise import SeparableConv2D
    from tinynn.layers.pooling import AveragePooling2D, MaxPooling2D
    from tinynn.models import Sequential

    # numpy_ops plus the Numba image kernels: what the layers see once they are registered
    names = {name: getattr(numpy_ops, name) for name in numpy_ops.__all__}
    names.update({name: getattr(numba_conv, name) for name in numba_conv.__all__})
    names.update({name: getattr(numba_pooling, name) for name in numba_pooling.__all__})
    mixed = types.SimpleNamespace(**names)

    def build():
        return Sequential(
            [
                Input((9, 9, 2)),
                Conv2D(4, 3, padding="same", activation="relu"),
                MaxPooling2D(2, padding="same"),
                SeparableConv2D(4, 3, activation="relu"),
                AveragePooling2D(2, strides=1),
                Flatten(),
                Dense(3, activation="softmax"),
            ],
            dtype="float64",
            seed=0,
        )

    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(8, 9, 9, 2)), rng.integers(0, 3, 8)
    models = [build(), build()]
    for model, ops in zip(models, (numpy_ops, mixed), strict=True):
        model.compile("sgd", "sparse_categorical_crossentropy", backend="numpy")
        for layer in model.layers:
            layer.ops = ops
        model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    for reference, numba_weight in zip(*(m.get_weights() for m in models), strict=True):
        np.testing.assert_allclose(numba_weight, reference, rtol=1e-10, atol=1e-12)
