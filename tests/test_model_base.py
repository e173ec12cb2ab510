"""The interface every model shares (``tinynn.model_base.Model``): predict through the one
inference engine, outputs that stay valid, frozen layers, the input gradient, weights."""

import numpy as np
import pytest

from tinynn import layers
from tinynn.kernels import numba_available
from tinynn.models import Sequential
from tinynn.runtime import InferenceModel

BACKEND_NAMES = ["numpy", "numba"] if numba_available() else ["numpy"]


def network(dtype="float32", seed=0):
    return Sequential(
        [
            layers.Input((12,)),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(9, activation="elu", use_bias=False),
            layers.Dense(7, activation="leaky_relu"),
            layers.Dense(5, activation="softmax"),
        ],
        seed=seed,
        dtype=dtype,
    )


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@pytest.mark.parametrize("batch", [1, 3, 5, 40])
def test_predict_through_the_engine_equals_the_layers_forward(backend, batch):
    model = network(dtype="float64")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", backend=backend)
    assert isinstance(model.inference_engine(), InferenceModel)
    x = np.random.default_rng(1).normal(size=(batch, 12))
    expected = model.forward(x)
    np.testing.assert_allclose(model.predict(x, batch_size=16), expected, rtol=1e-12)


def test_the_engine_sees_training_updates():
    model = network()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", backend="numpy")
    x = np.random.default_rng(2).normal(size=(8, 12)).astype("float32")
    before = model.predict(x[:1])
    engine = model.inference_engine()
    model.fit(x, np.arange(8) % 5, epochs=3, verbose=0)
    after = model.predict(x[:1])
    assert model.inference_engine() is engine  # built once: it reads the live weights
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, model.forward(x[:1]), rtol=1e-6)


def test_outputs_a_caller_keeps_are_never_overwritten():
    model = network()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(3).normal(size=(4, 12)).astype("float32")
    first, kept = model.predict(x[:1]), model.predict(x[:1]).copy()
    model.predict(x[1:2])
    np.testing.assert_array_equal(first, kept)
    a, b = model.forward(x[:2]), model.forward(x[2:])
    assert a is not b and not np.shares_memory(a, b)
    model.fit(x, np.arange(4) % 5, epochs=1, verbose=0)  # training lends buffers, then stops
    c, d = model.forward(x[:2]), model.forward(x[2:])
    assert not np.shares_memory(c, d)


def test_models_the_engine_cannot_run_predict_through_their_layers():
    class Double(layers.Layer):
        def forward(self, x, training=False):
            return 2 * self._prepare_input(x)

        def backward(self, grad):
            return 2 * grad

    model = Sequential([layers.Input((4,)), Double(), layers.Dense(2)], seed=0)
    assert model.inference_engine() is None
    x = np.ones((3, 4), np.float32)
    np.testing.assert_allclose(model.predict(x), model.forward(x))
