"""tinynn.layers.residual: the Residual container and the ResNet basic block."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import gradcheck
from tinynn import layers as layers_module
from tinynn.layers import Dense, Input
from tinynn.layers.conv import Conv2D
from tinynn.layers.normalization import BatchNormalization
from tinynn.layers.pooling import GlobalAveragePooling2D
from tinynn.layers.residual import Residual, basic_block
from tinynn.models import Sequential, load_model
from tinynn.optimizers import Adam

NEW_LAYERS = (Residual, Conv2D, BatchNormalization, GlobalAveragePooling2D)


def randomize_normalization(layer, seed=0):
    """Random γ and β, so the check cannot pass with a backward that ignores them."""
    rng = np.random.default_rng(seed)
    for key, value in layer.params.items():
        if key.endswith(("gamma", "beta")):
            value[...] = rng.normal(size=value.shape)


@pytest.mark.parametrize(
    "kwargs", [{"filters": 3}, {"filters": 4, "strides": 2}, {"filters": 5, "projection": True}]
)
@pytest.mark.parametrize("training", [True, False], ids=["train", "infer"])
def test_basic_block_gradient_check(kwargs, training):
    block = basic_block(**kwargs, dtype="float64", seed=0)
    block.build((5, 5, 3))
    randomize_normalization(block)
    x = np.random.default_rng(1).normal(size=(3, 5, 5, 3))
    result = gradcheck.check_layer(block, x, training=training)
    assert {"0/W", "1/gamma", "3/W", "4/beta", "x"} <= set(result.errors)
    assert ("shortcut/0/W" in result.errors) == ("strides" in kwargs or "projection" in kwargs)
    assert result.max_error < 1e-6, str(result)


def test_output_is_the_sum_of_both_branches_then_the_activation():
    block = [Dense(4, use_bias=False, kernel_initializer="ones")]
    shortcut = Dense(4, use_bias=False, kernel_initializer="ones")
    layer = Residual(block, shortcut=shortcut, activation="relu", dtype="float64")
    x = np.array([[1.0, -2.0, 0.5, 0.25], [-1.0, -1.0, -1.0, -1.0]])
    np.testing.assert_allclose(layer.forward(x), np.maximum(2 * x.sum(1, keepdims=True), 0) + 0 * x)
    identity = Residual([Dense(4, kernel_initializer="zeros")], dtype="float64")
    np.testing.assert_allclose(identity.forward(x), x)  # a zero block leaves the shortcut


def test_backward_sums_the_gradients_of_both_paths():
    layer = Residual([Dense(3)], dtype="float64")
    layer.build((3,))
    layer.params["0/W"][...] = np.eye(3)
    layer.forward(np.ones((2, 3)))
    grad = layer.backward(np.full((2, 3), 2.0))
    np.testing.assert_allclose(grad, 4.0)  # 2 through the identity block + 2 through the skip


def test_children_parameters_are_visible_to_the_model_and_the_optimizer():
    model = Sequential(
        [
            Input((4, 4, 2)),
            Conv2D(3, 1),
            basic_block(3),
            GlobalAveragePooling2D(),
            Dense(2, activation="softmax"),
        ],
        seed=0,
    )
    residual = model.layers[1]
    assert list(residual.params) == ["0/W", "1/gamma", "1/beta", "3/W", "4/gamma", "4/beta"]
    assert residual.count_params() == 2 * (3 * 3 * 3 * 3) + 4 * 3
    pairs = list(model.parameters())
    assert len(pairs) == 2 + 6 + 2
    assert len(model.get_weights()) == len(pairs) + 4  # and the moving statistics, as Keras
    assert any(p is residual.block[0].params["W"] for p, _ in pairs)  # the very arrays
    assert set(residual.state) == {f"{i}/moving_{s}" for i in (1, 4) for s in ("mean", "variance")}
    weights = [np.full_like(w, 0.5) for w in model.get_weights()]
    model.set_weights(weights)
    assert np.all(residual.block[3].params["W"] == 0.5)


def test_model_gradient_check_and_training_with_residual_blocks():
    model = Sequential(
        [
            Input((4, 4, 2)),
            basic_block(4, projection=True),
            basic_block(4),
            GlobalAveragePooling2D(),
            Dense(3, activation="softmax"),
        ],
        dtype="float64",
        seed=0,
    )
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 4, 4, 2)), rng.integers(0, 3, 6)
    model.compile(Adam(0.01), "sparse_categorical_crossentropy", backend="numpy")
    result = gradcheck.check_model(model, x, y)
    assert "residual/shortcut/0/W" in result.errors and "residual_1/3/W" in result.errors
    assert result.max_error < 1e-6, str(result)
    history = model.fit(x, y, epochs=30, batch_size=6, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_settings_reach_the_children():
    layer = basic_block(2, projection=True, dtype="float64", seed=3)
    layer.build((4, 4, 2))
    assert all(child.dtype == np.float64 for _, child in layer.children())
    assert all(p.dtype == np.float64 for p in layer.params.values())
    marker = object()
    layer.ops = marker
    assert all(child.ops is marker for _, child in layer.children())
    layer.workspace = {}
    assert all(child.workspace == {} for _, child in layer.children())
    layer.compute_input_grad = False
    assert not layer.block[0].compute_input_grad and not layer.shortcut[0].compute_input_grad
    assert layer.block[1].compute_input_grad
    twin = basic_block(2, projection=True, dtype="float64", seed=3)
    twin.build((4, 4, 2))
    for key, value in layer.params.items():  # children's weights come from the block's seed
        np.testing.assert_array_equal(twin.params[key], value)


def test_first_layer_residual_returns_no_input_gradient():
    layer = Residual([Dense(2)], dtype="float64")
    layer.build((2,))
    layer.compute_input_grad = False
    layer.forward(np.ones((1, 2)))
    assert layer.backward(np.ones((1, 2))) is None
    assert np.any(layer.grads["0/W"] != 0)


def test_summary_counts_children_parameters_and_flops():
    model = Sequential([Input((6, 6, 4)), basic_block(4)])
    block = model.layers[0]
    conv_flops = 6 * 6 * 4 * (2 * 9 * 4 + 2)
    assert block.flops() > 2 * conv_flops
    text = model.summary(print_fn=None)
    assert "residual (Residual)" in text and "(None, 6, 6, 4)" in text
    assert f"{block.count_params():,}" in text


def test_mismatched_branches_are_refused_with_a_hint():
    with pytest.raises(ValueError, match="shortcut outputs"):
        Residual([Conv2D(8, 3, padding="same")]).build((5, 5, 4))
    with pytest.raises(ValueError, match="shortcut outputs"):
        basic_block(8).build((5, 5, 4))  # channels change but no projection
    with pytest.raises(TypeError, match="Layer"):
        Residual(["conv"])
    with pytest.raises(ValueError, match="at least one"):
        Residual([])
    with pytest.raises(AttributeError):
        Residual([Dense(2)]).params = {"W": np.zeros(2)}


def test_config_and_save_load_round_trip(tmp_path, monkeypatch):
    for cls in NEW_LAYERS:  # until they are registered in tinynn.layers.LAYERS
        monkeypatch.setitem(layers_module.LAYERS, cls.__name__, cls)
    model = Sequential(
        [
            Input((4, 4, 2)),
            basic_block(3, projection=True),
            Residual([Conv2D(3, 1, activation="tanh")], activation="leaky_relu"),
            GlobalAveragePooling2D(),
            Dense(2, activation="softmax"),
        ],
        seed=0,
    )
    clone = Residual.from_config(model.layers[0].get_config())
    assert clone.get_config() == model.layers[0].get_config()
    model.compile("sgd", "sparse_categorical_crossentropy", backend="numpy")
    path = tmp_path / "resnet.npz"
    model.save(path)
    loaded = load_model(path)
    for expected, actual in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(actual, expected)
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 2)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)


def test_a_functional_model_seed_redraws_a_blocks_children_repeatably():
    import tinynn

    def build():
        x = Input(shape=(4, 4, 2))
        y = basic_block(3, strides=1, projection=True)(x)
        return tinynn.Model(x, y, seed=3)

    first, second = build(), build()
    assert len(first.get_weights()) > 2
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
