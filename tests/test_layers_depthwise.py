"""tinynn.layers.depthwise: DepthwiseConv2D and SeparableConv2D against gradients, PyTorch
and their definition (depthwise, then a 1×1 convolution)."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import gradcheck
from tinynn.layers import Dense, Flatten, Input
from tinynn.layers.conv import Conv2D
from tinynn.layers.depthwise import DepthwiseConv2D, SeparableConv2D
from tinynn.models import Sequential

# (kernel_size, strides, padding, depth_multiplier, dilation_rate)
CASES = [
    (3, 1, "valid", 1, 1),
    (3, 2, "same", 2, 1),
    ((2, 3), (1, 2), "same", 1, 1),
    (3, 1, "same", 1, 2),
    (2, 1, "valid", 3, 1),
]


def make(cls, case, **kwargs):
    kernel_size, strides, padding, multiplier, dilation = case
    if cls is SeparableConv2D:
        kwargs["filters"] = 4
    kwargs.setdefault("bias_initializer", "random_normal")
    return cls(
        kernel_size=kernel_size,
        strides=strides,
        padding=padding,
        depth_multiplier=multiplier,
        dilation_rate=dilation,
        dtype="float64",
        seed=0,
        **kwargs,
    )


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
@pytest.mark.parametrize("cls", [DepthwiseConv2D, SeparableConv2D])
def test_gradient_check(cls, case, away_from_zero):
    layer = make(cls, case, activation="tanh")
    result = gradcheck.check_layer(layer, away_from_zero((2, 7, 6, 3), seed=1))
    expected = {"depthwise", "b", "x"} | ({"pointwise"} if cls is SeparableConv2D else set())
    assert set(result.errors) == expected
    assert result.max_error < 1e-6, str(result)


@pytest.mark.parametrize("cls", [DepthwiseConv2D, SeparableConv2D])
def test_gradient_check_relu_without_bias_with_regularizers(cls, away_from_zero):
    layer = make(
        cls,
        (3, 1, "same", 2, 1),
        activation="relu",
        use_bias=False,
        depthwise_regularizer="l2",
    )
    result = gradcheck.check_layer(layer, away_from_zero((2, 5, 5, 2), seed=2))
    assert "b" not in result.errors
    assert result.max_error < 1e-6, str(result)


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_depthwise_matches_pytorch_grouped_convolution(case):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    layer = make(DepthwiseConv2D, case)
    x = np.random.default_rng(3).normal(size=(2, 7, 6, 3))
    y = layer.forward(x)
    kh, kw, channels, multiplier = layer.params["depthwise"].shape
    # (kh, kw, C, M) -> (C·M, 1, kh, kw): PyTorch's output channel c·M + m is ours too.
    weight = torch.from_numpy(layer.params["depthwise"]).permute(2, 3, 0, 1)
    weight = weight.reshape(channels * multiplier, 1, kh, kw)
    top, bottom, left, right = layer.pads
    padded = functional.pad(torch.from_numpy(x).permute(0, 3, 1, 2), (left, right, top, bottom))
    expected = functional.conv2d(
        padded,
        weight,
        torch.from_numpy(layer.params["b"]),
        stride=layer.strides,
        dilation=layer.dilation_rate,
        groups=channels,
    )
    np.testing.assert_allclose(y, expected.permute(0, 2, 3, 1).numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("case", CASES[:3], ids=[str(c) for c in CASES[:3]])
def test_separable_is_depthwise_then_pointwise(case):
    separable = make(SeparableConv2D, case, activation="relu")
    x = np.random.default_rng(4).normal(size=(2, 7, 6, 3))
    y = separable.forward(x)
    depthwise = make(DepthwiseConv2D, case, use_bias=False)
    pointwise = Conv2D(4, 1, activation="relu", dtype="float64")
    depthwise.build(x.shape[1:])
    pointwise.build(depthwise.output_shape)
    depthwise.params["depthwise"][...] = separable.params["depthwise"]
    pointwise.params["W"][...] = separable.params["pointwise"]
    pointwise.params["b"][...] = separable.params["b"]
    np.testing.assert_allclose(y, pointwise.forward(depthwise.forward(x)), atol=1e-12)


def test_shapes_parameters_and_flops():
    depthwise = DepthwiseConv2D(3, padding="same", depth_multiplier=2)
    depthwise.build((8, 8, 3))
    assert depthwise.output_shape == (8, 8, 6)
    assert depthwise.count_params() == 3 * 3 * 3 * 2 + 6
    assert depthwise.flops() == 8 * 8 * 6 * (2 * 9 + 2)
    separable = SeparableConv2D(16, 3, strides=2, padding="same")
    separable.build((8, 8, 4))
    assert separable.output_shape == (4, 4, 16)
    assert [p.shape for p, _ in separable.parameters()] == [(3, 3, 4, 1), (1, 1, 4, 16), (16,)]
    assert separable.flops() == 4 * 4 * 4 * 2 * 9 + 4 * 4 * 16 * (2 * 4 + 2)
    conv = Conv2D(16, 3, strides=2, padding="same")
    conv.build((8, 8, 4))
    assert separable.flops() < conv.flops() / 4  # the point of factorising


def test_first_layer_skips_the_input_gradient():
    for cls in (DepthwiseConv2D, SeparableConv2D):
        layer = make(cls, CASES[0])
        layer.compute_input_grad = False
        y = layer.forward(np.ones((1, 5, 5, 2)))
        assert layer.backward(np.ones_like(y)) is None
        assert np.any(layer.grads["depthwise"] != 0)


def test_config_round_trip():
    for layer in (
        DepthwiseConv2D(
            3,
            strides=2,
            padding="same",
            depth_multiplier=2,
            activation="relu",
            depthwise_regularizer="l2",
            use_bias=False,
        ),
        SeparableConv2D(
            8, (3, 2), dilation_rate=2, pointwise_initializer="he_normal", bias_regularizer="l1"
        ),
    ):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 0}, "depth_multiplier"),
        (DepthwiseConv2D, {"kernel_size": 3, "padding": "full"}, "padding"),
        (SeparableConv2D, {"filters": -1, "kernel_size": 3}, "filters"),
        (SeparableConv2D, {"filters": 2, "kernel_size": (1, 2, 3)}, "kernel_size"),
    ],
)
def test_invalid_arguments_are_refused(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


def test_mobilenet_style_model_trains():
    model = Sequential(
        [
            Input((8, 8, 2)),
            SeparableConv2D(8, 3, padding="same", activation="relu"),
            DepthwiseConv2D(3, strides=2, activation="relu"),
            Flatten(),
            Dense(2, activation="softmax"),
        ],
        seed=0,
    )
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64)
    x = rng.normal(size=(64, 8, 8, 2)).astype(np.float32)
    x[y == 1, 2:6, 2:6, 0] += 1.5  # a bright square marks class 1
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"], backend="numpy")
    history = model.fit(x, y, epochs=25, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.evaluate(x, y)[1] > 0.9
