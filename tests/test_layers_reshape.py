"""tinynn.layers: Flatten, Reshape and Input."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import gradcheck
from tinynn.layers import Flatten, Input, InputLayer, Reshape


def test_flatten_gradient_check():
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    result = gradcheck.check_layer(Flatten(dtype="float64"), x)
    assert result.max_error < 1e-6, str(result)


@pytest.mark.parametrize("target", [(4, 3), (-1, 2), (2, 2, 3)])
def test_reshape_gradient_check(target):
    x = np.random.default_rng(1).normal(size=(2, 3, 4))
    result = gradcheck.check_layer(Reshape(target, dtype="float64"), x)
    assert result.max_error < 1e-6, str(result)


def test_flatten_shapes_and_values():
    layer = Flatten()
    x = np.arange(24.0).reshape(2, 3, 4)
    y = layer.forward(x)
    assert layer.output_shape == (12,) and y.shape == (2, 12)
    np.testing.assert_array_equal(y[1], np.arange(12.0, 24.0))  # C order, like Keras
    assert layer.backward(np.ones((2, 12))).shape == (2, 3, 4)


def test_reshape_infers_the_minus_one():
    layer = Reshape((-1, 3))
    layer.build((2, 6))
    assert layer.output_shape == (4, 3)
    y = layer.forward(np.arange(24.0).reshape(2, 2, 6))
    assert y.shape == (2, 4, 3)
    assert layer.backward(y).shape == (2, 2, 6)


def test_reshape_accepts_an_int_target():
    layer = Reshape(6)
    assert layer.compute_output_shape((2, 3)) == (6,)


@pytest.mark.parametrize(
    ("target", "message"),
    [((-1, -1), "at most one -1"), ((0, 3), "positive sizes"), ((-2, 3), "positive sizes")],
)
def test_bad_targets(target, message):
    with pytest.raises(ValueError, match=message):
        Reshape(target)


def test_target_of_the_wrong_type():
    with pytest.raises(TypeError, match=r"tuple of ints such as \(4, -1\)"):
        Reshape("4x3")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ((5, 2), r"cannot reshape \(3, 4\) \(12 values\) into \(5, 2\) \(10 values\)"),
        ((5, -1), r"cannot reshape \(3, 4\) into \(5, -1\)"),
    ],
)
def test_incompatible_sizes(target, message):
    with pytest.raises(ValueError, match=message):
        Reshape(target).build((3, 4))


def test_wrong_input_shape_names_the_expected_shape():
    layer = Flatten(input_shape=(3, 4))
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 3, 4\)"):
        layer.forward(np.ones((2, 4, 3)))


@pytest.mark.parametrize("layer", [Flatten(name="f", dtype="float64"), Reshape((2, -1), seed=1)])
def test_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    x = np.arange(12.0).reshape(2, 2, 3)
    np.testing.assert_array_equal(clone.forward(x), layer.forward(x))


def test_input_declares_a_shape_and_is_the_identity():
    tensor = Input((3, 2))
    assert tensor.shape == (3, 2) and not tensor.inputs  # a symbolic tensor: no values
    layer = tensor.layer
    assert layer.shape == layer.input_shape == (3, 2)
    x = np.ones((4, 3, 2), dtype=np.float32)
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)
    config = layer.get_config()
    assert config["shape"] == [3, 2] and "input_shape" not in config
    assert InputLayer.from_config(config).shape == (3, 2)
