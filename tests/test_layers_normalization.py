"""tinynn.layers.normalization: BatchNormalization (Keras semantics, state, PyTorch oracle)
and LayerNormalization."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import gradcheck
from tinynn.layers import Dense, Flatten, Input
from tinynn.layers.conv import Conv2D
from tinynn.layers.normalization import BatchNormalization, LayerNormalization
from tinynn.models import Sequential


def images(shape=(4, 3, 5, 6), seed=1, scale=2.0, shift=1.0):
    # Not seed 0: gradcheck draws its upstream gradient R with seed 0, and with x = R + 1 the
    # BN input gradient (R with its per-channel mean and x̂ component removed) would be ~0.
    return np.random.default_rng(seed).normal(size=shape) * scale + shift


def make_bn(**kwargs):
    # Random γ and β: the defaults (ones and zeros) would hide a backward that ignores them.
    kwargs.setdefault("gamma_initializer", "random_normal")
    kwargs.setdefault("beta_initializer", "random_normal")
    return BatchNormalization(dtype="float64", seed=0, **kwargs)


@pytest.mark.parametrize("training", [True, False], ids=["batch_stats", "moving_stats"])
@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (16, 5)], ids=["images", "features"])
def test_batch_norm_gradient_check(shape, training):
    layer = make_bn()
    result = gradcheck.check_layer(layer, images(shape, scale=1.0), training=training)
    assert set(result.errors) == {"gamma", "beta", "x"}
    assert result.max_error < 1e-6, str(result)


def test_batch_norm_gradient_check_without_scale_or_center_and_with_regularizers():
    layer = make_bn(scale=False, gamma_regularizer="l2")
    result = gradcheck.check_layer(layer, images(scale=1.0), training=True)
    assert set(result.errors) == {"beta", "x"}
    layer = make_bn(center=False, gamma_regularizer="l2")
    result = gradcheck.check_layer(layer, images(scale=1.0), training=True)
    assert set(result.errors) == {"gamma", "x"}
    assert result.max_error < 1e-6, str(result)
    assert layer.regularization_loss() > 0


def test_training_uses_batch_statistics_and_updates_the_moving_averages():
    layer = BatchNormalization(momentum=0.9, epsilon=1e-3, dtype="float64")
    x = images()
    y = layer.forward(x, training=True)
    per_channel = y.reshape(-1, 6)
    np.testing.assert_allclose(per_channel.mean(axis=0), 0.0, atol=1e-12)
    mean, var = x.reshape(-1, 6).mean(axis=0), x.reshape(-1, 6).var(axis=0)
    np.testing.assert_allclose(per_channel.std(axis=0), np.sqrt(var / (var + 1e-3)), rtol=1e-12)
    np.testing.assert_allclose(layer.state["moving_mean"], 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(layer.state["moving_variance"], 0.9 + 0.1 * var, rtol=1e-12)


def test_inference_uses_the_moving_averages_and_does_not_update_them():
    layer = BatchNormalization(dtype="float64")
    layer.build((6,))
    layer.state["moving_mean"][...] = 2.0
    layer.state["moving_variance"][...] = 4.0 - 1e-3
    before = {key: value.copy() for key, value in layer.state.items()}
    y = layer.forward(np.full((3, 6), 4.0))
    np.testing.assert_allclose(y, 1.0)  # (4 − 2) / √4, one sample at a time
    for key, value in layer.state.items():
        np.testing.assert_array_equal(value, before[key])


def test_moving_statistics_are_state_not_parameters():
    layer = BatchNormalization()
    layer.build((5, 5, 3))
    assert list(layer.params) == ["gamma", "beta"] and layer.count_params() == 6
    assert set(layer.state) == {"moving_mean", "moving_variance"}
    assert [p.shape for p, _ in layer.parameters()] == [(3,), (3,)]
    model = Sequential([Input((5, 5, 3)), BatchNormalization(), Flatten(), Dense(2)])
    # Keras's order: γ, β, then the moving averages (not trained), W, b
    assert [w.shape for w in model.get_weights()] == [(3,)] * 4 + [(75, 2), (2,)]
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 2


def test_batch_norm_matches_pytorch_in_training_and_inference():
    torch = pytest.importorskip("torch")
    layer = make_bn(momentum=0.9)
    x = images()
    y = layer.forward(x, training=True)
    reference = torch.nn.BatchNorm2d(6, eps=1e-3, momentum=0.1, dtype=torch.float64)
    with torch.no_grad():
        reference.weight[...] = torch.from_numpy(layer.params["gamma"])
        reference.bias[...] = torch.from_numpy(layer.params["beta"])
    x_nchw = torch.from_numpy(x).permute(0, 3, 1, 2)
    expected = reference.train()(x_nchw).detach().permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(y, expected, atol=1e-10)
    # PyTorch's momentum is 1 − ours; its running mean matches, its running variance uses the
    # unbiased batch variance (Keras, and we, use the biased one).
    np.testing.assert_allclose(layer.state["moving_mean"], reference.running_mean, atol=1e-12)
    count = x.size // 6
    biased = 0.9 + (reference.running_var.numpy() - 0.9) * (count - 1) / count
    np.testing.assert_allclose(layer.state["moving_variance"], biased, atol=1e-12)
    with torch.no_grad():
        reference.running_var[...] = torch.from_numpy(layer.state["moving_variance"])
    expected = reference.eval()(x_nchw).detach().permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(layer.forward(x, training=False), expected, atol=1e-10)


@pytest.mark.parametrize("axis", [-1, [1, 2, 3], (2, 3)], ids=["last", "all", "trailing2"])
def test_layer_norm_gradient_check(axis):
    layer = LayerNormalization(
        axis=axis,
        gamma_initializer="random_normal",
        beta_initializer="random_normal",
        dtype="float64",
        seed=0,
    )
    result = gradcheck.check_layer(layer, images(scale=1.0))
    assert set(result.errors) == {"gamma", "beta", "x"}
    assert result.max_error < 1e-6, str(result)


def test_layer_norm_parameter_shapes_follow_the_axes():
    layer = LayerNormalization(axis=[1, 2, 3])
    layer.build((5, 4, 3))
    assert layer.params["gamma"].shape == (5, 4, 3)
    layer = LayerNormalization()
    layer.build((5, 4, 3))
    assert layer.params["gamma"].shape == (3,) and not layer.state


def test_layer_norm_matches_pytorch_and_ignores_training():
    torch = pytest.importorskip("torch")
    layer = LayerNormalization(
        axis=(2, 3),
        gamma_initializer="random_normal",
        beta_initializer="random_normal",
        dtype="float64",
        seed=0,
    )
    x = images()
    y = layer.forward(x, training=True)
    expected = torch.nn.functional.layer_norm(
        torch.from_numpy(x),
        (5, 6),
        torch.from_numpy(layer.params["gamma"]),
        torch.from_numpy(layer.params["beta"]),
        eps=1e-3,
    ).numpy()
    np.testing.assert_allclose(y, expected, atol=1e-10)
    np.testing.assert_allclose(layer.forward(x, training=False), expected, atol=1e-10)


def test_configs_round_trip():
    for layer in (
        BatchNormalization(momentum=0.9, epsilon=1e-5, center=False, gamma_regularizer="l2"),
        LayerNormalization(axis=[1, 2], epsilon=1e-6, scale=False),
        LayerNormalization(),
    ):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


def test_invalid_arguments_and_axes_are_refused():
    with pytest.raises(ValueError, match="momentum"):
        BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="epsilon"):
        LayerNormalization(epsilon=0.0)
    with pytest.raises(ValueError, match="last"):
        BatchNormalization(axis=1).build((4, 4, 3))
    with pytest.raises(ValueError, match="trailing"):
        LayerNormalization(axis=1).build((4, 4, 3))
    with pytest.raises(ValueError, match="axis"):
        LayerNormalization(axis="channels")


def test_batch_norm_in_a_conv_model_trains_and_evaluates_with_moving_averages():
    model = Sequential(
        [
            Input((6, 6, 1)),
            Conv2D(4, 3, use_bias=False),
            BatchNormalization(momentum=0.5),
            LayerNormalization(),
            Flatten(),
            Dense(2, activation="softmax"),
        ],
        seed=0,
    )
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64)
    x = rng.normal(size=(64, 6, 6, 1)).astype(np.float32) + 3.0 * y[:, None, None, None]
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"], backend="numpy")
    model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    bn = model.layers[1]
    assert np.all(bn.state["moving_mean"] != 0.0)
    first = model.predict(x[:8])
    np.testing.assert_array_equal(model.predict(x[:8]), first)  # inference leaves state alone
    np.testing.assert_allclose(model.predict(x[:1]), first[:1], rtol=1e-5)  # batch-independent
    assert model.evaluate(x, y)[1] > 0.9
