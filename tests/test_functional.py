"""Functional models: graphs with fan-outs, merges, shared layers, several inputs and outputs."""

import numpy as np
import pytest

import tinynn
from tinynn import gradcheck, layers
from tinynn.functional import Functional

RNG = np.random.default_rng(0)


def branchy(dtype="float64"):
    """x -> dense -> (fan-out) -> [tanh branch, relu branch] -> concat + add -> softmax."""
    x = tinynn.Input(shape=(6,), dtype=dtype)
    h = layers.Dense(5, activation="tanh", seed=1)(x)
    a = layers.Dense(4, activation="relu", seed=2)(h)
    b = layers.Dense(4, activation="sigmoid", seed=3)(h)
    merged = layers.Concatenate()([layers.Add()([a, b]), layers.Multiply()([a, b]), h])
    y = layers.Dense(3, activation="softmax", seed=4)(merged)
    return tinynn.Model(inputs=x, outputs=y, name="branchy")


def test_model_with_inputs_and_outputs_is_functional_and_runs_the_graph():
    model = branchy()
    assert isinstance(model, Functional)
    x = RNG.normal(size=(7, 6))
    dense, a_layer, b_layer = model.layers[0], model.layers[1], model.layers[2]
    h = np.tanh(x @ dense.params["W"] + dense.params["b"])
    a = np.maximum(h @ a_layer.params["W"] + a_layer.params["b"], 0)
    b = 1 / (1 + np.exp(-(h @ b_layer.params["W"] + b_layer.params["b"])))
    last = model.layers[-1]
    z = np.concatenate([a + b, a * b, h], axis=1) @ last.params["W"] + last.params["b"]
    expected = np.exp(z - z.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-12)
    assert model.output_shape == (3,) and model.input_shape == (6,)


def test_gradcheck_covers_a_fan_out_and_merges():
    model = branchy()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = RNG.normal(size=(5, 6)), np.array([0, 1, 2, 1, 0])
    result = gradcheck.check_model(model, x, y)
    assert result.passed(1e-6), str(result)
    assert len(result.errors) == 8


def test_input_gradient_sums_over_every_path_from_the_input():
    from tinynn.gradcheck import numerical_gradient, relative_error

    model = branchy()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = RNG.normal(size=(4, 6)), np.array([0, 1, 2, 1])
    grad = model.input_gradient(x, y)
    assert relative_error(grad, numerical_gradient(lambda: model.evaluate(x, y), x)) < 1e-7


def test_a_shared_layer_keeps_one_set_of_weights_and_sums_its_gradients():
    x = tinynn.Input(shape=(4,), dtype="float64")
    shared = layers.Dense(4, activation="tanh", seed=0)
    y = layers.Dense(2, activation="softmax", seed=1)(shared(shared(x)))  # used twice in a row
    model = tinynn.Model(x, y)
    assert model.layers.count(shared) == 1 and model.count_params() == 20 + 10
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    data, labels = RNG.normal(size=(6, 4)), np.array([0, 1, 1, 0, 1, 0])
    assert gradcheck.check_model(model, data, labels).passed(1e-6)
    W, b = shared.params["W"], shared.params["b"]
    head = model.layers[1]
    z = np.tanh(np.tanh(data @ W + b) @ W + b) @ head.params["W"] + head.params["b"]
    expected = tinynn.activations.Softmax().forward(z)
    np.testing.assert_allclose(model.predict(data), expected, rtol=1e-12)


def test_two_inputs_two_outputs_train_with_lists_dicts_and_weights():
    image = tinynn.Input(shape=(4, 4, 1), name="image")
    meta = tinynn.Input(shape=(3,), name="meta")
    features = layers.Flatten()(layers.Conv2D(2, 3, activation="relu", seed=0)(image))
    joined = layers.Concatenate()([features, meta])
    label = layers.Dense(3, activation="softmax", name="label", seed=1)(joined)
    score = layers.Dense(1, name="score", seed=2)(joined)
    model = tinynn.Model(inputs=[image, meta], outputs=[label, score], seed=0)
    model.compile(
        optimizer="adam",
        loss={"label": "sparse_categorical_crossentropy", "score": "mse"},
        loss_weights={"label": 1.0, "score": 0.5},
        metrics={"label": ["accuracy"]},
    )
    n = 40
    xs = [RNG.normal(size=(n, 4, 4, 1)), RNG.normal(size=(n, 3))]
    ys = [RNG.integers(0, 3, n), RNG.normal(size=(n, 1))]
    history = model.fit(xs, ys, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    results = model.evaluate({"image": xs[0], "meta": xs[1]}, {"label": ys[0], "score": ys[1]},
                             return_dict=True)  # fmt: skip
    assert set(results) == {"loss", "label_loss", "score_loss", "label_accuracy"}
    assert results["loss"] == pytest.approx(results["label_loss"] + results["score_loss"])
    label_p, score_p = model.predict(xs)
    assert label_p.shape == (n, 3) and score_p.shape == (n, 1)
    with pytest.raises(ValueError, match=r"takes 2 arrays as x \(\['image', 'meta'\]\), got 3"):
        model.predict([*xs, xs[1]])


def test_save_and_load_rebuild_the_graph_weights_and_training_state(tmp_path):
    model = branchy(dtype="float32")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = RNG.normal(size=(20, 6)).astype("float32"), RNG.integers(0, 3, 20)
    model.fit(x, y, epochs=2, verbose=0)
    model.save(str(tmp_path / "graph.npz"))
    loaded = tinynn.load_model(tmp_path / "graph.npz")
    assert isinstance(loaded, Functional)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    model.fit(x, y, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)  # the optimizer state came back too


def test_a_shared_layer_called_late_round_trips_through_its_config():
    x = tinynn.Input(shape=(3,))
    shared = layers.Dense(3, seed=0)
    h = layers.Dense(3, seed=1)(shared(x))
    y = shared(h)  # the shared layer's second call needs a later layer's output
    model = tinynn.Model(x, y)
    rebuilt = Functional.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    data = RNG.normal(size=(2, 3)).astype("float32")
    np.testing.assert_array_equal(rebuilt.predict(data), model.predict(data))


def test_calling_layers_on_symbolic_tensors_gives_clear_errors():
    x = tinynn.Input(shape=(4,))
    y = tinynn.Input(shape=(4,))
    with pytest.raises(ValueError, match="takes one input tensor, got 2"):
        layers.Dense(2)([x, y])
    with pytest.raises(ValueError, match="cannot combine inputs of shapes"):
        layers.Add()([x, layers.Dense(3)(y)])
    dense = layers.Dense(2)
    dense(x)
    with pytest.raises(ValueError, match="built for inputs of shape"):
        dense(tinynn.Input(shape=(5,)))
    with pytest.raises(ValueError, match="not among the inputs"):
        tinynn.Model(inputs=x, outputs=layers.Add()([x, y]))
    out = layers.Dense(1)(x)
    assert "SymbolicTensor shape=(None, 1)" in repr(out)


def test_a_model_seed_repeats_the_weights_and_a_layer_seed_wins():
    def build(seed):
        x = tinynn.Input(shape=(6,))
        h = layers.Dense(5, activation="relu")(x)  # drawn unseeded at the call
        y = layers.Dense(3, seed=7)(h)
        return tinynn.Model(x, y, seed=seed)

    first, again, other = build(0), build(0), build(1)
    for a, b in zip(first.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])
    np.testing.assert_array_equal(first.get_weights()[2], other.get_weights()[2])  # seed=7
    assert np.all(first.get_weights()[1] == 0)  # biases start at zero, as drawn


def test_a_model_dtype_the_graph_was_not_built_in_is_refused():
    x = tinynn.Input(shape=(4,))
    y = layers.Dense(2)(x)
    with pytest.raises(ValueError, match=r"float32 but the model is float64.*tinynn.Input"):
        tinynn.Model(x, y, dtype="float64")
    x64 = tinynn.Input(shape=(4,), dtype="float64")
    model = tinynn.Model(x64, layers.Dense(2)(x64), dtype="float64")
    assert model.predict(np.ones((1, 4))).dtype == np.float64
