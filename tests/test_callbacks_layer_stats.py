"""LayerStatistics: per-layer gradient and output statistics recorded during fit."""

import numpy as np
import pytest

import tinynn
from tinynn.callbacks import LayerStatistics
from tinynn.callbacks.layer_stats import describe
from tinynn.layers import Dense, Dropout


def make_model(seed=0):
    model = tinynn.Sequential(
        [
            tinynn.Input((2,)),
            Dense(6, activation="tanh"),
            Dropout(0.25),
            Dense(3, activation="softmax"),
        ],
        seed=seed,
        dtype="float64",
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


@pytest.fixture(scope="module")
def data():
    return tinynn.datasets.make_blobs(n_samples=40, seed=1)


def test_epoch_records_have_one_value_per_epoch_for_every_layer(data):
    x, y = data
    stats = LayerStatistics(x_probe=x[:8])
    make_model().fit(x, y, epochs=3, batch_size=10, verbose=0, callbacks=[stats])
    assert stats.steps == [0, 1, 2]
    assert list(stats.history) == ["dense", "dropout", "dense_1"]
    dense = stats.history["dense"]
    for key in ("grad_norm", "grad_mean", "grad_std", "W/grad_norm", "b/grad_std", "output_std"):
        assert len(dense[key]) == 3, key
    # A layer without parameters has output statistics but no gradient statistics.
    assert set(stats.history["dropout"]) == {"output_mean", "output_std", "output_norm"}


def test_batch_records_match_gradients_computed_independently(data):
    x, y = data
    model, twin = make_model(), make_model()  # same seed: same weights and dropout masks
    stats = LayerStatistics(on="batch")
    model.fit(x, y, epochs=1, batch_size=10, shuffle=False, verbose=0, callbacks=[stats])
    twin.train_on_batch(x[:10], y[:10])  # leaves the first batch's gradients in layer.grads
    first = twin.layers[0]
    everything = np.concatenate([first.grads["W"].ravel(), first.grads["b"].ravel()])
    record = stats.history["dense"]
    assert record["W/grad_norm"][0] == pytest.approx(np.linalg.norm(first.grads["W"]))
    assert record["b/grad_mean"][0] == pytest.approx(first.grads["b"].mean())
    assert record["grad_norm"][0] == pytest.approx(np.linalg.norm(everything))
    assert record["grad_std"][0] == pytest.approx(everything.std())
    assert stats.steps == [0, 1, 2, 3]


def test_epoch_value_is_the_mean_of_the_batch_values(data):
    x, y = data
    per_epoch, per_batch = LayerStatistics(), LayerStatistics(on="batch")
    make_model().fit(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[per_epoch, per_batch])
    batch_norms = np.array(per_batch.history["dense_1"]["grad_norm"]).reshape(2, 4)
    np.testing.assert_allclose(per_epoch.history["dense_1"]["grad_norm"], batch_norms.mean(axis=1))


def test_output_statistics_describe_the_probe_after_the_step(data):
    x, y = data
    model = make_model()
    stats = LayerStatistics(x_probe=x[:8])
    model.fit(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[stats])
    probabilities = model.predict(x[:8])  # dropout off, as in the callback
    expected = describe(probabilities)
    record = stats.history["dense_1"]
    assert record["output_mean"][-1] == pytest.approx(expected["mean"])  # = 1/3 for softmax
    assert record["output_std"][-1] == pytest.approx(expected["std"])
    assert record["output_norm"][-1] == pytest.approx(np.linalg.norm(probabilities))


def test_every_selects_epochs_and_global_batches(data):
    x, y = data
    epochs, batches = LayerStatistics(every=2), LayerStatistics(every=3, on="batch")
    make_model().fit(x, y, epochs=5, batch_size=10, verbose=0, callbacks=[epochs, batches])
    assert epochs.steps == [0, 2, 4]
    assert batches.steps == [0, 3, 6, 9, 12, 15, 18]  # 4 batches per epoch, counted across epochs
    assert len(batches.history["dense"]["grad_norm"]) == 7


def test_watching_does_not_change_training(data):
    x, y = data
    watched, plain = make_model(seed=3), make_model(seed=3)
    stats = LayerStatistics(on="batch", x_probe=x[:5])
    watched.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[stats])
    plain.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(watched.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_new_fit_starts_a_new_record(data):
    x, y = data
    model, stats = make_model(), LayerStatistics()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[stats])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[stats])
    assert stats.steps == [0]
    assert len(stats.history["dense"]["grad_norm"]) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"every": 0}, "every"), ({"every": 1.5}, "every"), ({"on": "step"}, "on must be one of")],
)
def test_invalid_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LayerStatistics(**kwargs)


def test_describe_gives_mean_std_and_l2_norm():
    stats = describe(np.array([[3.0, -4.0], [0.0, 0.0]]))
    assert stats == {"mean": -0.25, "std": pytest.approx(np.std([3, -4, 0, 0])), "norm": 5.0}
