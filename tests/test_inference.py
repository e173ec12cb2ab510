"""The Dense-stack inference plan behind predict: same outputs as the layers' forward."""

import numpy as np
import pytest

from tinynn import layers
from tinynn.inference import DenseStack
from tinynn.kernels import numba_available
from tinynn.models import Sequential

BACKEND_NAMES = ["numpy", "numba"] if numba_available() else ["numpy"]


def network(dtype="float32"):
    return Sequential(
        [
            layers.Input((12,)),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(9, activation="elu", use_bias=False),
            layers.Dense(7, activation="leaky_relu"),
            layers.Dense(5, activation="softmax"),
        ],
        seed=0,
        dtype=dtype,
    )


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@pytest.mark.parametrize("batch", [1, 3, 5, 40])
def test_predict_through_the_plan_equals_the_layers_forward(backend, batch):
    model = network(dtype="float64")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", backend=backend)
    assert model._dense_stack is not None
    x = np.random.default_rng(1).normal(size=(batch, 12))
    expected = model.forward(x).copy()
    np.testing.assert_allclose(model.predict(x, batch_size=16), expected, rtol=1e-12)


def test_plan_sees_training_updates():
    model = network()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", backend="numpy")
    x = np.random.default_rng(2).normal(size=(8, 12)).astype("float32")
    before = model.predict(x[:1])
    model.fit(x, np.arange(8) % 5, epochs=3, verbose=0)
    after = model.predict(x[:1])
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, model.forward(x[:1]), rtol=1e-6)


def test_predict_returns_a_copy_not_the_reused_buffer():
    model = network()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(3).normal(size=(2, 12))
    first = model.predict(x[:1])
    kept = first.copy()
    model.predict(x[1:])
    np.testing.assert_array_equal(first, kept)


def test_models_with_other_layers_do_not_get_a_plan():
    model = Sequential([layers.Input((4,)), layers.Flatten(), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    assert DenseStack.from_model(model) is None
    uncompiled = network()
    assert DenseStack.from_model(uncompiled) is None
