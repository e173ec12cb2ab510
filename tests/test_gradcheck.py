"""tinynn.gradcheck: the checker itself must pass correct code and catch wrong code."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn
from tinynn import activations, gradcheck, layers, losses, regularizers


class OffByAFactorDense(layers.Dense):
    """A Dense whose weight gradient is 10 % too large: the kind of bug gradcheck exists for."""

    def backward(self, grad_output):
        grad_x = super().backward(grad_output)
        self.grads["W"] *= 1.1
        return grad_x


class SkipsActivationInInputGradDense(layers.Dense):
    """A Dense that forgets the activation derivative in dL/dx (a classic slip)."""

    def backward(self, grad_output):
        super().backward(grad_output)
        return grad_output @ self.params["W"].T


def test_relative_error():
    a = np.array([1.0, 2.0])
    assert gradcheck.relative_error(a, a) == 0.0
    assert gradcheck.relative_error(np.zeros(2), np.zeros(2)) == 0.0
    assert gradcheck.relative_error(a, -a) == 1.0
    assert gradcheck.relative_error(a, 1.1 * a) == pytest.approx(0.1 / 2.1)


def test_numerical_gradient_of_a_known_function_restores_the_array():
    w = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = w.copy()
    grad = gradcheck.numerical_gradient(lambda: float(np.sum(w**3)), w)
    np.testing.assert_allclose(grad, 3 * before**2, rtol=1e-8)
    np.testing.assert_array_equal(w, before)


def test_numerical_gradient_works_on_non_contiguous_arrays():
    base = np.arange(12.0).reshape(3, 4)
    view = base.T  # perturbing a flattened copy of this would change nothing
    grad = gradcheck.numerical_gradient(lambda: float(np.sum(base**2)), view)
    np.testing.assert_allclose(grad, 2 * view, rtol=1e-8)


def test_correct_layer_passes():
    result = gradcheck.check_layer(
        layers.Dense(3, activation="tanh", dtype="float64", seed=0),
        np.random.default_rng(0).normal(size=(4, 5)),
    )
    assert result.passed() and result.max_error < 1e-8
    assert set(result.errors) == {"W", "b", "x"}


def test_wrong_weight_gradient_is_detected():
    layer = OffByAFactorDense(3, activation="tanh", dtype="float64", seed=0)
    result = gradcheck.check_layer(layer, np.random.default_rng(0).normal(size=(4, 5)))
    assert result.errors["W"] > 1e-2
    assert result.errors["b"] < 1e-6 and result.errors["x"] < 1e-6  # and only W is blamed
    assert result.max_error > 1e-2 and not result.passed()


def test_wrong_input_gradient_is_detected():
    layer = SkipsActivationInInputGradDense(3, activation="sigmoid", dtype="float64", seed=0)
    result = gradcheck.check_layer(layer, np.random.default_rng(1).normal(size=(4, 5)))
    assert result.errors["x"] > 1e-2 and result.errors["W"] < 1e-6


def test_wrong_activation_backward_is_detected():
    class BadTanh(activations.Tanh):
        def backward(self, grad_output, out=None):
            return grad_output * (1.0 - self.y)  # should be 1 − y²

    x = np.random.default_rng(2).normal(size=(3, 4))
    assert gradcheck.check_activation(BadTanh(), x).max_error > 1e-2
    assert gradcheck.check_activation(activations.Tanh(), x).max_error < 1e-8


def test_wrong_loss_backward_is_detected():
    class HalfGradMSE(losses.MeanSquaredError):
        def backward(self):
            return 0.5 * super().backward()

    y_pred, y_true = np.ones((2, 3)), np.zeros((2, 3))
    assert gradcheck.check_loss(HalfGradMSE(), y_pred, y_true).max_error > 1e-2


def test_wrong_regularizer_gradient_is_detected():
    class HalfL2(regularizers.L2):
        def gradient(self, w):
            return self.l2 * w  # missing the factor 2

    w = np.random.default_rng(3).normal(size=(3, 3))
    assert gradcheck.check_regularizer(HalfL2(0.1), w).max_error > 1e-2


def test_layer_regularizers_are_part_of_the_checked_loss():
    layer = layers.Dense(2, kernel_regularizer=regularizers.L2(1.0), dtype="float64", seed=0)
    result = gradcheck.check_layer(layer, np.random.default_rng(4).normal(size=(3, 4)))
    assert result.errors["W"] < 1e-6


def test_float32_layers_are_refused_with_advice():
    layer = layers.Dense(2, dtype="float32")
    with pytest.raises(ValueError, match=r"needs float64.*dtype='float64'"):
        gradcheck.check_layer(layer, np.ones((2, 3)))


def test_unbuilt_layer_without_dtype_is_checked_in_float64():
    layer = layers.Dense(2, seed=0)
    assert gradcheck.check_layer(layer, np.ones((2, 3))).passed()
    assert layer.dtype == np.float64


def test_check_model_with_dropout_regularizers_and_a_fused_softmax():
    model = tinynn.Sequential(
        [
            layers.Input((4,)),
            layers.Dense(5, activation="elu", kernel_regularizer="l2"),
            layers.Dropout(0.3),
            layers.Dense(3, activation="softmax"),
        ],
        dtype="float64",
        seed=0,
    )
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = np.random.default_rng(5).normal(size=(6, 4))
    y = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    result = gradcheck.check_model(model, x, y)
    assert set(result.errors) == {"dense/W", "dense/b", "dense_1/W", "dense_1/b"}
    assert result.max_error < 1e-6, str(result)


def test_result_report_and_tolerance():
    result = gradcheck.GradCheckResult({"W": 1e-9, "b": 1e-4})
    assert result.max_error == 1e-4
    assert not result.passed() and result.passed(tolerance=1e-3)
    assert "W" in str(result) and "1.000e-04" in str(result)
    assert gradcheck.GradCheckResult().max_error == 0.0


def test_check_model_on_a_float32_model_checks_a_float64_copy_and_leaves_it_alone():
    # The README's model: float32, as Keras builds it. The check used to refuse it.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 5)).astype("float32"), rng.integers(0, 3, 6)
    model = tinynn.Sequential(
        [tinynn.Input((5,)), layers.Dense(4, activation="relu"), layers.Dense(3, "softmax")],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    result = gradcheck.check_model(model, x, y)
    assert result.passed(1e-6), str(result)
    assert set(result.errors) == {"dense/W", "dense/b", "dense_1/W", "dense_1/b"}
    for a, b in zip(before, model.get_weights(), strict=True):
        assert b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
