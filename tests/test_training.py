"""The fit / evaluate / predict loops: splits, shuffling, metrics, callbacks, bad input."""

import numpy as np
import pytest

from tinynn import callbacks, layers, metrics, optimizers
from tinynn.models import Sequential


def classifier(seed=0, dropout=0.0):
    stack = [layers.Input((3,)), layers.Dense(6, activation="tanh")]
    if dropout:
        stack.append(layers.Dropout(dropout))
    stack.append(layers.Dense(3, activation="softmax"))
    return Sequential(stack, seed=seed)


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)).astype("float32"), rng.integers(0, 3, size=n)


def test_validation_split_holds_out_the_last_fraction():
    x, y = data(n=40)
    model = classifier()
    model.compile(
        optimizer=optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy"
    )
    history = model.fit(x, y, epochs=1, validation_split=0.25, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(x[30:], y[30:]))
    assert history.history["loss"][0] == pytest.approx(model.evaluate(x[:30], y[:30]), rel=1e-6)


def test_validation_data_is_used_as_given():
    x, y = data()
    x_val, y_val = data(n=10, seed=1)
    model = classifier()
    model.compile(
        optimizer=optimizers.SGD(learning_rate=0.0),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x, y, validation_data=(x_val, y_val), verbose=0)
    expected = model.evaluate(x_val, y_val)
    assert history.history["val_loss"][0] == pytest.approx(expected[0])
    assert history.history["val_accuracy"][0] == pytest.approx(expected[1])


def test_epoch_metrics_are_exact_over_all_samples():
    """With a zero learning rate the weights stay put, so the epoch's metrics must equal the
    metrics of the whole training set, including precision, which batches cannot average."""
    x, y = data(n=50)
    model = classifier()
    model.compile(
        optimizer=optimizers.SGD(learning_rate=0.0),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy", "precision", "recall", "f1_score"],
    )
    logs = model.fit(x, y, epochs=1, batch_size=7, verbose=0).history
    predicted = model.predict(x)
    assert logs["accuracy"][0] == pytest.approx(np.mean(predicted.argmax(1) == y))
    assert logs["precision"][0] == pytest.approx(metrics.precision(y, predicted))
    assert logs["recall"][0] == pytest.approx(metrics.recall(y, predicted))
    assert logs["f1_score"][0] == pytest.approx(metrics.f1_score(y, predicted))


def test_training_loss_is_the_sample_weighted_mean_of_batch_losses():
    x, y = data(n=10)
    model = classifier()
    model.compile(
        optimizer=optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy"
    )
    logs = model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0).history
    batch_losses = [model.evaluate(x[i : i + 4], y[i : i + 4]) for i in (0, 4, 8)]
    expected = (4 * batch_losses[0] + 4 * batch_losses[1] + 2 * batch_losses[2]) / 10
    assert logs["loss"][0] == pytest.approx(expected, rel=1e-6)


def test_shuffle_false_is_deterministic_without_a_seed():
    x, y = data()
    results = []
    for _ in range(2):
        model = classifier(seed=3)
        model.rng = np.random.default_rng()  # shuffling would now differ between runs
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        results.append(model.fit(x, y, epochs=2, shuffle=False, verbose=0).history["loss"])
    assert results[0] == results[1]


def test_callbacks_see_every_hook_and_can_stop_training():
    x, y = data()
    events = []

    class Recorder(callbacks.Callback):
        def on_train_begin(self, logs=None):
            events.append("train_begin")

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch_end", epoch, sorted(logs)))
            if epoch == 1:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            events.append("train_end")

    model = classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=10, callbacks=[Recorder()], verbose=0)
    assert events[0] == "train_begin" and events[-1] == "train_end"
    assert [e[1] for e in events if isinstance(e, tuple)] == [0, 1]
    assert history.epoch == [0, 1]


def test_early_stopping_restores_best_weights_in_fit():
    x, y = data()
    model = classifier()
    model.compile(
        optimizer=optimizers.SGD(learning_rate=5.0), loss="sparse_categorical_crossentropy"
    )
    stop = callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    history = model.fit(x, y, epochs=30, callbacks=[stop], verbose=0)
    assert len(history.epoch) < 30


def test_verbose_one_draws_a_progress_bar(capsys):
    x, y = data()
    model = classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=8, verbose=1)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Epoch 2/2" in text and "loss" in text and "accuracy" in text


def test_epochs_zero_trains_nothing():
    x, y = data()
    model = classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    history = model.fit(x, y, epochs=0, verbose=0)
    assert history.history == {}
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture
def compiled():
    model = classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


BAD_FIT_CASES = [
    ({"x": np.zeros((5, 3)), "y": np.zeros(4, int)}, ValueError, "different lengths: 5 and 4"),
    ({"x": np.zeros((5, 4)), "y": np.zeros(5, int)}, ValueError, r"expects \(3,\)"),
    ({"x": np.full((5, 3), np.nan), "y": np.zeros(5, int)}, ValueError, "x contains nan"),
    ({"x": np.full((5, 3), np.inf), "y": np.zeros(5, int)}, ValueError, "x contains inf"),
    ({"x": np.zeros((5, 3)), "y": np.array([0, 1, 2, 3, 0])}, ValueError, r"label 3 .*\[0, 2\]"),
    ({"x": np.zeros((5, 3)), "y": np.array([0, 1, -1, 0, 0])}, ValueError, "label -1"),
    ({"x": np.array([["a", "b", "c"]]), "y": np.zeros(1, int)}, TypeError, "must be numeric"),
    ({"x": np.zeros((0, 3)), "y": np.zeros(0, int)}, ValueError, "x is empty"),
    ({"x": np.zeros((5, 3)), "y": np.array(list("abcde"))}, TypeError, "y must be numeric"),
    ({"x": np.zeros((5, 3)), "y": np.zeros(5), "batch_size": 0}, ValueError, "batch_size"),
    ({"x": np.zeros((5, 3)), "y": np.zeros(5), "batch_size": -3}, ValueError, "batch_size"),
    ({"x": np.zeros((5, 3)), "y": np.zeros(5), "epochs": -1}, ValueError, "epochs"),
    ({"x": np.zeros((5, 3)), "y": np.zeros(5), "validation_split": 1.5}, ValueError, r"\[0, 1\)"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_FIT_CASES)
def test_bad_fit_input_is_named(compiled, kwargs, error, message):
    kwargs.setdefault("verbose", 0)
    with pytest.raises(error, match=message):
        compiled.fit(**kwargs)


def test_nan_targets_are_rejected_for_dense_targets():
    model = classifier()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    y = np.eye(3)[[0, 1, 2, 0]]
    y[2, 1] = np.nan
    with pytest.raises(ValueError, match="y contains nan"):
        model.fit(np.zeros((4, 3)), y, verbose=0)


def test_integer_labels_with_categorical_loss_get_a_hint():
    model = classifier()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        model.fit(np.zeros((4, 3)), np.array([0, 1, 2, 0]), verbose=0)


def test_predict_and_evaluate_validate_too(compiled):
    with pytest.raises(ValueError, match=r"expects \(3,\)"):
        compiled.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="contains nan"):
        compiled.evaluate(np.full((2, 3), np.nan), np.zeros(2, int))
    with pytest.raises(ValueError, match="batch_size"):
        compiled.predict(np.zeros((2, 3)), batch_size=0)
