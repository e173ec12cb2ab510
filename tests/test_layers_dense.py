"""tinynn.layers.Dense: gradients for every activation, layout, logits path, configs, errors."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import activations, gradcheck, initializers, regularizers
from tinynn.kernels import numpy_ops
from tinynn.layers import Dense
from tinynn.layers.dense import dense_step_backward, dense_step_forward

ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "softmax"]


def make_dense(activation="linear", **kwargs):
    kwargs.setdefault("bias_initializer", "random_normal")  # a zero bias would hide bias bugs
    return Dense(3, activation=activation, dtype="float64", seed=0, **kwargs)


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_check(activation, use_bias, away_from_zero):
    layer = make_dense(activation, use_bias=use_bias)
    result = gradcheck.check_layer(layer, away_from_zero((4, 5), seed=1))
    assert set(result.errors) == ({"W", "b", "x"} if use_bias else {"W", "x"})
    assert result.max_error < 1e-6, str(result)


@pytest.mark.parametrize("activation", ["linear", "tanh", "softmax"])
def test_gradient_check_with_kernel_and_bias_regularizers(activation, away_from_zero):
    layer = make_dense(
        activation,
        kernel_regularizer=regularizers.L1L2(l1=0.05, l2=0.1),
        bias_regularizer=regularizers.L2(0.2),
    )
    result = gradcheck.check_layer(layer, away_from_zero((4, 5), seed=2))
    assert result.max_error < 1e-6, str(result)


def test_gradient_check_with_a_custom_activation():
    class Cube(activations.ActivationFunction):
        """f(x) = x³; f'(x) = 3x², from the cached input (so no kernel_name)."""

        name = "cube"

        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, grad_output):
            return grad_output * 3 * self.x**2

    layer = Dense(3, activation=Cube(), dtype="float64", seed=0)
    x = np.random.default_rng(3).normal(size=(4, 5))
    assert gradcheck.check_layer(layer, x).max_error < 1e-6


# -- shapes, layout and the forward formula -------------------------------------------------


def test_build_creates_an_in_by_out_kernel():
    layer = Dense(4, input_shape=(7,))
    layer.build((7,))
    assert layer.params["W"].shape == (7, 4)
    assert layer.params["b"].shape == (4,)
    assert layer.output_shape == layer.compute_output_shape((7,)) == (4,)
    assert layer.params["W"].dtype == np.float32
    assert layer.count_params() == 7 * 4 + 4


def test_no_bias_means_no_b_parameter():
    layer = Dense(2, use_bias=False)
    layer.build((3,))
    assert list(layer.params) == list(layer.grads) == ["W"]


def test_lazy_build_on_first_forward():
    layer = Dense(2)
    y = layer.forward(np.ones((5, 3)))
    assert layer.built and layer.input_shape == (3,) and y.shape == (5, 2)


def test_forward_is_activation_of_x_w_plus_b():
    layer = make_dense("tanh")
    x = np.random.default_rng(4).normal(size=(6, 5))
    y = layer.forward(x)
    np.testing.assert_allclose(y, np.tanh(x @ layer.params["W"] + layer.params["b"]), rtol=1e-12)


def test_wrong_input_shape_names_the_expected_shape():
    layer = Dense(2, input_shape=(3,))
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 3\)"):
        layer.forward(np.ones((4, 5)))


def test_image_input_is_refused_with_a_hint_and_leaves_the_layer_unbuilt():
    layer = Dense(2)
    with pytest.raises(ValueError, match=r"\(features,\), got \(4, 4\); add a Flatten"):
        layer.forward(np.ones((2, 4, 4)))
    assert not layer.built and not layer.params


def test_seeded_layers_start_from_the_same_weights():
    a, b = Dense(3, seed=5), Dense(3, seed=5)
    a.build((4,))
    b.build((4,))
    np.testing.assert_array_equal(a.params["W"], b.params["W"])


# -- backward -------------------------------------------------------------------------------


def test_forward_logits_then_backward_is_the_linear_layer():
    layer = make_dense("softmax")
    rng = np.random.default_rng(6)
    x, g = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
    z = layer.forward_logits(x)
    W, b = layer.params["W"], layer.params["b"]
    np.testing.assert_allclose(z, x @ W + b, rtol=1e-12)
    grad_x = layer.backward(g)
    np.testing.assert_allclose(layer.grads["W"], x.T @ g, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], g.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(grad_x, g @ W.T, rtol=1e-12)


def test_forward_after_forward_logits_applies_the_activation_again():
    layer = make_dense("sigmoid")
    x = np.ones((2, 5))
    z = layer.forward_logits(x).copy()
    np.testing.assert_allclose(layer.forward(x), 1 / (1 + np.exp(-z)), rtol=1e-12)


def test_compute_input_grad_false_skips_dx_but_fills_the_weights():
    layer = make_dense("relu")
    layer.compute_input_grad = False
    x = np.random.default_rng(7).normal(size=(4, 5))
    layer.forward(x)
    assert layer.backward(np.ones((4, 3))) is None
    assert layer.grads["W"].any()


def test_gradients_are_overwritten_not_accumulated():
    layer = make_dense("elu")
    x = np.random.default_rng(8).normal(size=(4, 5))
    grads = []
    for _ in range(2):
        layer.forward(x)
        layer.backward(np.ones((4, 3)))
        grads.append(layer.grads["W"].copy())
    np.testing.assert_array_equal(grads[0], grads[1])


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match=r"before forward"):
        Dense(2).backward(np.ones((1, 2)))


def test_regularization_loss_and_gradient():
    layer = make_dense(kernel_regularizer=regularizers.L2(0.5), bias_regularizer="l1")
    x = np.zeros((2, 5))  # zero input: the data gradient of W is 0, leaving the penalty's
    layer.forward(x)
    layer.backward(np.zeros((2, 3)))
    W, b = layer.params["W"], layer.params["b"]
    assert layer.regularization_loss() == pytest.approx(0.5 * np.sum(W**2) + 0.01 * np.sum(abs(b)))
    np.testing.assert_allclose(layer.grads["W"], 2 * 0.5 * W)
    np.testing.assert_allclose(layer.grads["b"], 0.01 * np.sign(b))


def test_flops_per_sample():
    layer = Dense(4)
    layer.build((10,))
    assert layer.flops() == 2 * 10 * 4 + 2 * 4


# -- configuration and errors ---------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "softmax"])
def test_config_round_trip_gives_the_same_outputs(activation):
    layer = Dense(
        3,
        activation=activations.get(activation),
        use_bias=True,
        kernel_initializer="he_normal",
        kernel_regularizer=regularizers.L1L2(l1=0.1, l2=0.2),
        bias_regularizer="l2",
        input_shape=(5,),
        name="d",
        dtype="float64",
        seed=1,
    )
    clone = Dense.from_config(layer.get_config())
    layer.build((5,))
    clone.build((5,))
    for key in layer.params:
        clone.params[key][...] = layer.params[key]
    x = np.random.default_rng(9).normal(size=(4, 5))
    np.testing.assert_array_equal(clone.forward(x), layer.forward(x))
    assert clone.get_config() == layer.get_config()
    assert clone.regularization_loss() == layer.regularization_loss()


def test_config_is_plain_json():
    import json

    config = Dense(3, activation="elu", kernel_regularizer="l2").get_config()
    assert json.loads(json.dumps(config)) == config
    assert config["activation"] == {"class_name": "elu", "config": {"alpha": 1.0}}
    assert config["kernel_initializer"]["class_name"] == "glorot_uniform"


@pytest.mark.parametrize("units", [0, -2, "3", 2.5, True, None])
def test_units_must_be_a_positive_integer(units):
    with pytest.raises(ValueError, match=r"units must be a positive integer"):
        Dense(units)


def test_numpy_integer_units_are_accepted():
    assert Dense(np.int64(3)).units == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"activation": "relux"}, "Unknown activation 'relux'; expected one of .*'relu'"),
        ({"kernel_initializer": "glorot"}, "Unknown initializer 'glorot'.*'glorot_uniform'"),
        ({"bias_initializer": "zero"}, "Unknown initializer 'zero'.*'zeros'"),
        ({"kernel_regularizer": "l3"}, "Unknown regularizer 'l3'.*'l2'"),
        ({"bias_regularizer": "L0"}, "Unknown regularizer 'L0'.*'l1'"),
    ],
)
def test_unknown_names_list_the_valid_ones(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Dense(2, **kwargs)


def test_initializer_instances_are_used_as_given():
    layer = Dense(2, kernel_initializer=initializers.Ones(), bias_initializer="ones")
    layer.build((3,))
    np.testing.assert_array_equal(layer.params["W"], np.ones((3, 2)))
    np.testing.assert_array_equal(layer.params["b"], np.ones(2))


# --- the reference step against the chain rule written out --------------------------------


@pytest.fixture
def dense_arrays():
    rng = np.random.default_rng(3)
    return rng.normal(size=(6, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)


@pytest.mark.parametrize("name", ["linear", "relu", "tanh", "softmax"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_step_forward_is_f_of_x_w_plus_b(name, use_bias, dense_arrays):
    x, W, b = dense_arrays
    bias = b if use_bias else None
    out = np.empty((6, 3))
    result = dense_step_forward(numpy_ops, activations.get(name), x, W, bias, out)
    assert result is out
    z = x @ W + (b if use_bias else 0.0)
    np.testing.assert_allclose(out, activations.get(name).forward(z), rtol=1e-12)


@pytest.mark.parametrize("name", ["linear", "sigmoid", "elu", "softmax"])
def test_dense_step_backward_matches_the_chain_rule(name, dense_arrays):
    x, W, b = dense_arrays
    act = activations.get(name)
    y = dense_step_forward(numpy_ops, act, x, W, b, np.empty((6, 3)))
    grad_y = np.random.default_rng(4).normal(size=y.shape)
    grad_W, grad_b = np.full_like(W, np.nan), np.full_like(b, np.nan)
    grad_z, grad_x = np.empty_like(y), np.empty_like(x)
    dense_step_backward(numpy_ops, act, x, W, y, grad_y, grad_W, grad_b, grad_z, grad_x)
    probe = activations.get(name)
    probe.forward(x @ W + b)
    dz = probe.backward(grad_y)
    np.testing.assert_allclose(grad_z, dz, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad_W, x.T @ dz, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad_b, dz.sum(axis=0), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad_x, dz @ W.T, rtol=1e-10, atol=1e-14)


def test_dense_step_backward_skips_what_it_is_not_given(dense_arrays):
    x, W, _ = dense_arrays
    y = x @ W
    grad_W = np.empty_like(W)
    dense_step_backward(numpy_ops, None, x, W, y, np.ones_like(y), grad_W, None, None, None)
    np.testing.assert_allclose(grad_W, x.T @ np.ones_like(y))


# --- the code a student reads is the code that runs ----------------------------------------


def test_on_numpy_a_dense_layer_runs_its_activations_own_methods(monkeypatch):
    calls = []
    forward, backward = activations.Tanh.forward, activations.Tanh.backward
    monkeypatch.setattr(
        activations.Tanh,
        "forward",
        lambda self, x, out=None: calls.append("f") or forward(self, x, out),
    )
    monkeypatch.setattr(
        activations.Tanh,
        "backward",
        lambda self, g, out=None: calls.append("b") or backward(self, g, out),
    )
    layer = Dense(3, activation="tanh", seed=0)
    layer.backward(np.ones_like(layer.forward(np.ones((2, 4)))))
    assert calls == ["f", "b"]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_subclass_that_changes_the_maths_is_honoured_on_every_backend(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    from tinynn.kernels import get_backend

    class Doubled(activations.ReLU):  # not the built-in class: no compiled twin may replace it
        def forward(self, x, out=None):
            self.y = 2 * np.maximum(x, 0)
            return self.y

    layer = Dense(3, activation=Doubled(), seed=0)
    layer.ops = get_backend(backend)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    y = layer.forward(x)
    z = x @ layer.params["W"] + layer.params["b"]
    np.testing.assert_allclose(y, 2 * np.maximum(z, 0), rtol=1e-6)
