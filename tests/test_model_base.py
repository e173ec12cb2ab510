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


def conv_network(seed=0):
    """Convolutions, batch norm, pooling, padding and a residual block: the engine runs them
    all (BN from its live moving statistics)."""
    return Sequential(
        [
            layers.Input((8, 8, 2)),
            layers.Rescaling(2.0, offset=-1.0),
            layers.Conv2D(6, 3, padding="same", activation="relu"),
            layers.BatchNormalization(momentum=0.5),
            layers.ZeroPadding2D(1),
            layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2),
            layers.basic_block(12),
            layers.SeparableConv2D(4, 3, padding="same", activation="relu6"),
            layers.MaxPooling2D(2),
            layers.AveragePooling2D(2, strides=1, padding="same"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(5, activation="softmax"),
        ],
        seed=seed,
    )


def graph_network(seed=0):
    from tinynn.models import Model

    inputs = layers.Input((6, 6, 3))
    h = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    h = layers.BatchNormalization()(h)
    skip = layers.Conv2D(4, 1)(inputs)
    h = layers.Concatenate()([layers.Add()([h, skip]), layers.Multiply()([h, skip])])
    out = layers.Dense(3, activation="softmax")(layers.Flatten()(h))
    return Model(inputs, out, seed=seed)


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@pytest.mark.parametrize("make", [conv_network, graph_network])
def test_the_engine_runs_conv_and_graph_models_as_their_layers_do(backend, make):
    model = make()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", backend=backend)
    assert isinstance(model.inference_engine(), InferenceModel)
    x = np.random.default_rng(4).normal(size=(16, *model.input_shape)).astype("float32")
    model.fit(x, np.arange(16) % 3, epochs=2, batch_size=8, verbose=0)  # BN statistics move
    for batch in (x[:1], x[:5], x):
        np.testing.assert_allclose(
            model.predict(batch, batch_size=8), model.forward(batch), atol=1e-6
        )


def test_the_engine_reads_live_weights_and_statistics_of_conv_models():
    model = conv_network()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", backend="numpy")
    x = np.random.default_rng(5).normal(size=(8, 8, 8, 2)).astype("float32")
    engine = model.inference_engine()
    before = model.predict(x)
    model.fit(x, np.arange(8) % 5, epochs=2, verbose=0)
    assert model.inference_engine() is engine  # no copies to refresh: the arrays are live
    assert not np.allclose(before, model.predict(x))
    np.testing.assert_allclose(model.predict(x), model.forward(x), atol=1e-6)


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


# --- a layer written the natural way trains (it used to stop silently after compile) ---------


class HandWrittenDense(layers.Layer):
    """Dense without an activation, as a student writes it: keeps the arrays add_weight gives."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        super().build(input_shape)
        self.W = self.add_weight("W", (input_shape[0], self.units), "glorot_uniform")
        self.b = self.add_weight("b", (self.units,), "zeros")

    def compute_output_shape(self, input_shape):
        return (self.units,)

    def forward(self, x, training=False):
        self.x = self._prepare_input(x)
        return self.x @ self.W + self.b

    def backward(self, grad):
        self.grads["W"][...] = self.x.T @ grad
        self.grads["b"][...] = grad.sum(axis=0)
        return grad @ self.W.T


def digits_subset(n=200):
    from tinynn.datasets import load_digits

    x, y = load_digits()
    return x[:n], y[:n]


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_a_hand_written_layer_trains_to_the_same_weights_as_dense(backend):
    x, y = digits_subset()

    def model(first):
        return Sequential(
            [layers.Input((64,)), first, layers.Activation("relu"), layers.Dense(10, "softmax")],
            seed=3,
            dtype="float64",
        )

    ours, builtin = model(HandWrittenDense(16)), model(layers.Dense(16))
    kept = ours.layers[0].W
    for m in (ours, builtin):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", backend=backend)
        m.fit(x, y, epochs=3, batch_size=32, verbose=0)
    assert ours.layers[0].W is kept and ours.layers[0].params["W"] is kept  # never rebound
    assert not np.allclose(kept, ours.layers[0].get_weights()[0] * 0)  # it trained
    for a, b in zip(ours.get_weights(), builtin.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# --- trainable = False freezes a layer in fit, as in Keras -----------------------------------


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_frozen_weights_stay_bit_identical_and_the_others_move(backend):
    x, y = digits_subset()
    model = Sequential(
        [layers.Input((64,)), layers.Dense(32, activation="relu"), layers.Dense(10, "softmax")],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", backend=backend)
    model.layers[0].trainable = False  # after compile: honoured on the next fit
    frozen, head = model.layers[0].get_weights(), model.layers[1].get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    for before, after in zip(frozen, model.layers[0].get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert not np.allclose(head[0], model.layers[1].get_weights()[0])
    state = model.optimizer.state_dict(model.weights)
    assert state["steps"][:2] == [0, 0] and all(step > 0 for step in state["steps"][2:])
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    text = model.summary(print_fn=None)
    assert "Trainable params: 330" in text and "Non-trainable params: 2,080" in text
    model.layers[0].trainable = True  # and unfreezing is honoured too
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.allclose(frozen[0], model.layers[0].get_weights()[0])


def test_a_frozen_pretrained_body_under_a_new_head_trains_only_the_head():
    x, y = digits_subset()
    body = [layers.Dense(32, activation="relu"), layers.BatchNormalization()]
    pretrained = Sequential([layers.Input((64,)), *body, layers.Dense(10, "softmax")], seed=1)
    pretrained.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    pretrained.fit(x, y, epochs=2, verbose=0)
    for layer in body:
        layer.trainable = False
    before = [w.copy() for layer in body for w in layer.weights]  # moving statistics too
    calls = []
    original = body[0].backward
    body[0].backward = lambda grad: calls.append(1) or original(grad)
    model = Sequential([layers.Input((64,)), *body, layers.Dense(10, "softmax")], seed=2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    after = [w for layer in body for w in layer.weights]
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    assert calls == []  # nothing below the head learns, so backward never reached the body
    assert model.evaluate(x, y) < pretrained.evaluate(x, y) * 5  # the head did learn


# --- the input gradient ----------------------------------------------------------------------


def test_input_gradient_matches_finite_differences():
    from tinynn.gradcheck import numerical_gradient, relative_error

    x, y = digits_subset(6)
    x = x.astype(np.float64)
    model = Sequential(
        [layers.Input((64,)), layers.Dense(8, activation="tanh"), layers.Dense(10, "softmax")],
        seed=0,
        dtype="float64",
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    grad = model.input_gradient(x, y)
    assert grad.shape == x.shape

    def loss():
        return model.evaluate(x, y)

    assert relative_error(grad, numerical_gradient(loss, x)) < 1e-7
