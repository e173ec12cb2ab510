"""tinynn.layers.Activation: an activation function as a layer of its own."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import activations, gradcheck
from tinynn.layers import Activation, Dense

NAMES = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "softmax"]


@pytest.mark.parametrize("name", NAMES)
def test_gradient_check(name, away_from_zero):
    layer = Activation(name, dtype="float64")
    result = gradcheck.check_layer(layer, away_from_zero((4, 5), seed=1) * 2.0)
    assert set(result.errors) == {"x"}
    assert result.max_error < 1e-6, str(result)


def test_gradient_check_on_image_shaped_input(away_from_zero):
    layer = Activation("elu", dtype="float64")
    assert gradcheck.check_layer(layer, away_from_zero((2, 3, 4, 2), seed=2)).max_error < 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_dense_then_activation_equals_dense_with_activation(name):
    rng = np.random.default_rng(3)
    x, g = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
    fused = Dense(3, activation=name, dtype="float64", seed=0)
    linear = Dense(3, dtype="float64", seed=0)
    act = Activation(name, dtype="float64")
    np.testing.assert_allclose(act.forward(linear.forward(x)), fused.forward(x), rtol=1e-12)
    fused_dx = fused.backward(g)
    split_dx = linear.backward(act.backward(g))
    np.testing.assert_allclose(split_dx, fused_dx, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(linear.grads["W"], fused.grads["W"], rtol=1e-10, atol=1e-14)


def test_forward_logits_passes_through_and_backward_then_is_identity():
    layer = Activation("softmax", dtype="float64")
    x = np.random.default_rng(4).normal(size=(3, 4))
    np.testing.assert_array_equal(layer.forward_logits(x), x)
    g = np.ones((3, 4))
    np.testing.assert_array_equal(layer.backward(g), g)
    layer.forward(x)  # and a plain forward switches the activation back on
    assert not np.array_equal(layer.backward(g), g)


def test_no_parameters_and_shape_is_kept():
    layer = Activation("relu")
    layer.build((3, 2))
    assert layer.params == {} and layer.count_params() == 0
    assert layer.output_shape == (3, 2)
    assert layer.flops() == 6


def test_dtype_follows_the_layer():
    layer = Activation("tanh")  # float32 by default
    y = layer.forward(np.ones((2, 2), dtype=np.float64))
    assert y.dtype == np.float32
    assert layer.backward(np.ones((2, 2))).dtype == np.float32


def test_custom_activation_instance_is_used():
    class Double(activations.ActivationFunction):
        name = "double"

        def forward(self, x):
            return 2 * x

        def backward(self, grad_output):
            return 2 * grad_output

    layer = Activation(Double(), dtype="float64")
    np.testing.assert_array_equal(layer.forward(np.ones((1, 2))), [[2.0, 2.0]])
    np.testing.assert_array_equal(layer.backward(np.ones((1, 2))), [[2.0, 2.0]])


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match=r"before forward"):
        Activation("relu").backward(np.ones((1, 2)))


def test_wrong_input_shape_names_the_expected_shape():
    layer = Activation("relu", input_shape=(4,))
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 4\)"):
        layer.forward(np.ones((2, 3)))


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"Unknown activation 'gelu'.*'sigmoid'"):
        Activation("gelu")


@pytest.mark.parametrize("activation", ["softplus", activations.LeakyReLU(alpha=0.1)])
def test_config_round_trip_gives_the_same_outputs(activation):
    layer = Activation(activation, name="act", dtype="float64", input_shape=(3,))
    clone = Activation.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    x = np.random.default_rng(5).normal(size=(2, 3))
    np.testing.assert_array_equal(clone.forward(x), layer.forward(x))
