"""Net2Net growth: widen and deepen preserve the function, then the grown model trains on."""

import numpy as np
import pytest

import tinynn
from tinynn import callbacks, grow, layers

RNG = np.random.default_rng(0)


def cnn():
    model = tinynn.Sequential(
        [
            tinynn.Input((6, 6, 2)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(5, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(3, activation="softmax"),
        ],
        dtype="float64",
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(RNG.normal(size=(16, 6, 6, 2)), RNG.integers(0, 3, 16), epochs=2, verbose=0)
    return model


def residual_graph():
    """A residual stream (stem + two blocks added to it), a fan-out, and a concatenation."""
    x = tinynn.Input((6, 6, 1), dtype="float64")
    stem = layers.Conv2D(3, 3, padding="same", activation="relu", seed=1, name="stem")(x)
    block = layers.Conv2D(3, 3, padding="same", seed=2, name="block")(stem)
    stream = layers.Add()([stem, layers.BatchNormalization()(block)])
    side = layers.Conv2D(2, 1, seed=3, name="side")(stream)  # a second reader: a fan-out
    joined = layers.Concatenate()([layers.GlobalAveragePooling2D()(stream), layers.Flatten()(side)])
    y = layers.Dense(4, activation="softmax", seed=4)(joined)
    model = tinynn.Model(x, y)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(RNG.normal(size=(8, 6, 6, 1)), RNG.integers(0, 4, 8), epochs=1, verbose=0)
    return model


@pytest.mark.parametrize(("layer", "units"), [("conv2d", 7), ("dense", 9), (0, 5)])
def test_widening_preserves_the_function_and_leaves_the_original_alone(layer, units):
    model = cnn()
    before = model.get_weights()
    x = RNG.normal(size=(5, 6, 6, 2))
    wider = grow.widen(model, layer, units, seed=1)
    np.testing.assert_allclose(wider.predict(x), model.predict(x), rtol=0, atol=1e-10)
    name = layer if isinstance(layer, str) else model.layers[layer].name
    assert wider.get_layer(name).params["W"].shape[-1] == units
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert wider.layers[1].state["moving_mean"].shape == (units,) or layer == "dense"


def test_widening_a_residual_stream_widens_every_layer_added_to_it():
    model = residual_graph()
    x = RNG.normal(size=(4, 6, 6, 1))
    wider = grow.widen(model, "stem", 5, seed=0)
    assert wider.get_layer("block").filters == 5  # added to the stem's output: widened too
    assert wider.get_layer("side").filters == 2  # reads the stream: only its rows change
    np.testing.assert_allclose(wider.predict(x), model.predict(x), rtol=0, atol=1e-10)
    wider.fit(RNG.normal(size=(8, 6, 6, 1)), RNG.integers(0, 4, 8), epochs=1, verbose=0)


def test_deepening_inserts_an_identity_for_relu_and_linear_only():
    model = cnn()
    x = RNG.normal(size=(3, 6, 6, 2))
    for after in ("conv2d", "dense", "batch_normalization"):
        deeper = grow.deepen(model, after=after)
        assert len(deeper.layers) == len(model.layers) + 1
        np.testing.assert_allclose(deeper.predict(x), model.predict(x), rtol=0, atol=1e-12)
    tanh = tinynn.Sequential([tinynn.Input((3,)), layers.Dense(4, "tanh"), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"'tanh'.*f\(f\(x\)\) != f\(x\)"):
        grow.deepen(tanh, after="dense")
    graph = residual_graph()
    deeper = grow.deepen(graph, after="stem")
    np.testing.assert_allclose(deeper.predict(x[..., :1]), graph.predict(x[..., :1]), atol=1e-12)


def test_the_grown_model_trains_saves_and_exports_with_its_new_shapes(tmp_path):
    model = cnn()
    wider = grow.widen(model, "dense", 8, noise=0.01, seed=0)
    assert wider.optimizer.iterations == model.optimizer.iterations
    history = wider.fit(RNG.normal(size=(16, 6, 6, 2)), RNG.integers(0, 3, 16), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    wider.save(str(tmp_path / "wider.npz"))
    loaded = tinynn.load_model(tmp_path / "wider.npz")
    assert loaded.get_layer("dense").units == 8
    assert "(None, 8)" in loaded.summary(print_fn=None)


def test_bad_requests_name_what_is_wrong():
    model = cnn()
    with pytest.raises(ValueError, match="units must be an integer above 5"):
        grow.widen(model, "dense", 5)
    with pytest.raises(ValueError, match="is an output of the model"):
        grow.widen(model, "dense_1", 6)
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        grow.widen(model, "nope", 6)
    with pytest.raises(ValueError, match="only Dense, Conv2D and SeparableConv2D"):
        grow.widen(model, "max_pooling2d", 6)
    softmaxed = tinynn.Sequential(
        [tinynn.Input((3,)), layers.Dense(4), layers.Activation("softmax"), layers.Dense(2)]
    )
    with pytest.raises(ValueError, match="softmax mixes the entries"):
        grow.widen(softmaxed, "dense", 6)


def test_grow_on_plateau_widens_during_fit():
    from tinynn.datasets import load_digits

    x, y = load_digits()
    model = tinynn.Sequential(
        [tinynn.Input((64,)), layers.Dense(2, activation="relu"), layers.Dense(10, "softmax")],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    grower = callbacks.GrowOnPlateau("dense", patience=1, min_delta=0.05, max_units=8, seed=0)
    history = model.fit(x[:400], y[:400], epochs=6, verbose=0, callbacks=[grower])
    assert grower.growth and grower.growth[-1][2] <= 8
    assert model.layers[0].units == grower.growth[-1][2]
    assert len(history.history["loss"]) == 6
