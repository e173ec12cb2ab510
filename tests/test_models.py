"""Sequential: structure, compile, the Keras-style API, determinism and convergence."""

import numpy as np
import pytest

import tinynn
from tinynn import layers, losses, optimizers
from tinynn.datasets import load_digits, make_spirals, make_xor, train_test_split
from tinynn.models import Sequential


def small_model(seed=0, dtype="float32", output_activation="softmax"):
    return Sequential(
        [
            layers.Input((4,)),
            layers.Dense(8, activation="relu"),
            layers.Dense(3, activation=output_activation),
        ],
        seed=seed,
        dtype=dtype,
    )


def toy_data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = rng.integers(0, 3, size=n)
    return x, y


def test_build_gives_shapes_names_and_param_counts():
    model = small_model()
    model.build()
    assert [layer.name for layer in model.layers] == ["dense", "dense_1"]
    assert model.output_shape == (3,)
    assert model.count_params() == (4 * 8 + 8) + (8 * 3 + 3)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.compute_gradients(*toy_data())
    assert model.layers[0].compute_input_grad is False  # nobody needs dL/dx of the data


def test_input_shape_from_first_layer_and_lazy_build_from_data():
    declared = Sequential([layers.Dense(2, input_shape=(5,))])
    declared.build()
    assert declared.layers[0].params["W"].shape == (5, 2)
    lazy = Sequential([layers.Dense(2)])
    lazy.compile(optimizer="sgd", loss="mse")
    lazy.fit(np.ones((3, 7)), np.zeros((3, 2)), verbose=0)
    assert lazy.layers[0].params["W"].shape == (7, 2)


def test_compile_accepts_names_and_instances():
    model = small_model()
    model.compile(optimizer="Adam", loss="sparse_categorical_crossentropy", metrics=["acc"])
    assert isinstance(model.optimizer, optimizers.Adam)
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    loss = losses.SparseCategoricalCrossentropy()
    model.compile(optimizer=opt, loss=loss)
    assert model.optimizer is opt and model.loss is loss


@pytest.mark.parametrize(
    ("kwargs", "valid"),
    [
        ({"optimizer": "adamax", "loss": "mse"}, "sgd"),
        ({"optimizer": "sgd", "loss": "hinge"}, "mean_squared_error"),
        ({"optimizer": "sgd", "loss": "mse", "metrics": ["auroc"]}, "accuracy"),
    ],
)
def test_unknown_names_list_the_valid_ones(kwargs, valid):
    model = small_model()
    with pytest.raises(ValueError, match=valid):
        model.compile(**kwargs)


def test_unknown_activation_lists_the_valid_ones():
    with pytest.raises(ValueError, match="relu"):
        layers.Dense(3, activation="swishy")


def test_fit_before_compile_is_refused():
    x, y = toy_data()
    with pytest.raises(RuntimeError, match="compile"):
        small_model().fit(x, y, verbose=0)


def test_fit_returns_history_with_keras_keys():
    x, y = toy_data()
    model = small_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.epoch == [0, 1, 2]
    assert all(len(values) == 3 for values in history.history.values())
    assert model.history is history


def test_evaluate_returns_loss_alone_or_with_metrics():
    x, y = toy_data()
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, y), float)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(x, y)
    probs = model.predict(x)
    assert accuracy == pytest.approx(np.mean(probs.argmax(1) == y))
    assert loss == pytest.approx(-np.mean(np.log(probs[np.arange(len(y)), y])), rel=1e-5)
    assert model.evaluate(x, y, return_dict=True) == {"loss": loss, "accuracy": accuracy}


def test_predict_does_not_depend_on_batch_size():
    x, _ = toy_data(n=37)
    model = small_model(dtype="float64")
    np.testing.assert_allclose(model.predict(x, batch_size=1), model.predict(x, batch_size=64))
    assert model.predict(x).shape == (37, 3)
    np.testing.assert_allclose(model.predict(x).sum(axis=1), 1.0)


def test_get_and_set_weights_use_keras_layout():
    model = small_model()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 8), (8,), (8, 3), (3,)]
    weights[0][...] = 1.0
    assert not np.all(model.layers[0].params["W"] == 1.0)
    model.set_weights(weights)
    assert np.all(model.layers[0].params["W"] == 1.0)
    with pytest.raises(ValueError, match="expected 4 weight arrays"):
        model.set_weights(weights[:2])
    with pytest.raises(ValueError, match=r"expected \(4, 8\)"):
        model.set_weights([np.zeros((3, 8)), *weights[1:]])


def run_seeded_training(seed):
    x, y = toy_data(n=40)
    model = Sequential(
        [
            layers.Input((4,)),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(3, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0)
    return model.get_weights(), history.history["loss"], model.predict(x)


def test_same_seed_gives_identical_weights_losses_and_predictions():
    first, second = run_seeded_training(7), run_seeded_training(7)
    for a, b in zip(first[0], second[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert first[1] == second[1]
    np.testing.assert_array_equal(first[2], second[2])
    other = run_seeded_training(8)
    assert other[1] != first[1]


def test_float64_model_computes_in_float64():
    x, y = toy_data()
    model = small_model(dtype="float64")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert all(p.dtype == np.float64 for p in model.get_weights())
    assert model.predict(x).dtype == np.float64


def test_softmax_output_with_cross_entropy_uses_the_fused_stable_path():
    x, y = toy_data()
    model = small_model(dtype="float64")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert model.train_state.fused_activation == "softmax"
    fused_loss, logits = model.compute_gradients(x, y)
    probs = model.predict(x)
    manual = -np.mean(np.log(probs[np.arange(len(y)), y]))
    assert fused_loss == pytest.approx(manual, rel=1e-10)
    np.testing.assert_allclose(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), probs)


def test_fused_path_stays_finite_for_huge_logits():
    model = small_model(dtype="float64")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.build()
    model.layers[-1].params["W"][...] = 1e4
    x, y = toy_data()
    with np.errstate(all="raise"):
        history = model.fit(np.abs(x) * 10, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(np.isfinite(g).all() for _, g in model.parameters())


def test_keras_style_script_runs_with_only_the_import_changed():
    script = """
import numpy as np
import tinynn as keras

x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
y = keras.utils.to_categorical((x[:, 0] > 0).astype(int), 2)
model = keras.Sequential([
    keras.Input(shape=(4,)),
    keras.layers.Dense(16, activation="relu"),
    keras.layers.Dropout(0.1),
    keras.layers.Dense(2, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
              loss="categorical_crossentropy", metrics=["accuracy"])
model.summary()
stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3)
history = model.fit(x, y, epochs=20, batch_size=16, validation_split=0.25,
                    callbacks=[stop], verbose=0)
loss, acc = model.evaluate(x, y, verbose=0)
probabilities = model.predict(x[:3])
"""
    namespace = {}
    exec(compile(script, "keras_script", "exec"), namespace)
    assert namespace["probabilities"].shape == (3, 2)
    assert namespace["acc"] > 0.8


def test_xor_reaches_full_training_accuracy():
    x, y = make_xor()
    model = Sequential(
        [
            layers.Input((2,)),
            layers.Dense(8, activation="tanh"),
            layers.Dense(1, activation="sigmoid"),
        ],
        seed=0,
    )
    model.compile(
        optimizer=optimizers.Adam(learning_rate=0.05),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=300, batch_size=4, verbose=0)
    assert model.evaluate(x, y)[1] == 1.0


def test_spirals_reach_97_percent_training_accuracy():
    x, y = make_spirals(n_samples=300, n_classes=3, seed=0)
    model = Sequential(
        [
            layers.Input((2,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(64, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ],
        seed=0,
    )
    model.compile(
        optimizer=optimizers.Adam(learning_rate=0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=200, batch_size=32, verbose=0)
    assert model.evaluate(x, y)[1] >= 0.97


def test_digits_reach_95_percent_test_accuracy():
    x, y = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, seed=0)
    model = tinynn.Sequential(
        [
            layers.Input((64,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=30, batch_size=32, verbose=0)
    assert model.evaluate(x_test, y_test)[1] >= 0.95
