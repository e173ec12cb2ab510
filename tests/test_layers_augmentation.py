"""tinynn.layers.augmentation: random transforms while training, identity otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import gradcheck
from tinynn.layers import Dense, Flatten, Input
from tinynn.layers.augmentation import (
    GaussianNoise,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    augment,
)
from tinynn.layers.conv import Conv2D
from tinynn.models import Sequential

pytest.importorskip("scipy")


def make_all():
    return [
        RandomFlip("horizontal_and_vertical"),
        RandomRotation(0.1),
        RandomZoom(0.2),
        RandomTranslation(0.2, 0.1),
        RandomCrop(7, 7, padding=1),
        GaussianNoise(0.1),
    ]


def batch(shape=(4, 7, 7, 2), seed=0, dtype=np.float64):
    return np.random.default_rng(seed).random(shape).astype(dtype)


@pytest.mark.parametrize("layer", make_all(), ids=lambda layer: type(layer).__name__)
def test_identity_at_inference_and_random_while_training(layer):
    x = batch(dtype=np.float32)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    assert layer.backward(np.ones_like(x)) is not None  # identity gradient
    y = layer.forward(x, training=True)
    assert y.shape == x.shape and y.dtype == np.float32
    assert not np.array_equal(y, x)


@pytest.mark.parametrize("index", range(6))
def test_the_same_seed_gives_the_same_augmentation(index):
    x = batch()
    first, second = make_all()[index], make_all()[index]
    first.rng, second.rng = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(first(x, training=True), second(x, training=True))
    assert not np.array_equal(first(x, training=True), second.forward(x[::-1], training=True))


def test_rotation_by_a_quarter_turn_is_rot90_counter_clockwise():
    x = batch((1, 9, 9, 2))
    y = RandomRotation((0.25, 0.25)).forward(x, training=True)
    np.testing.assert_allclose(y[0], np.rot90(x[0]), atol=1e-6)


def test_translation_shifts_down_and_right_and_fills_constant():
    x = batch((1, 9, 9, 1))
    layer = RandomTranslation((2 / 9, 2 / 9), (-1 / 9, -1 / 9), fill_mode="constant")
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y[0, 2:, :-1], x[0, :-2, 1:], atol=1e-12)
    assert np.all(y[0, :2] == 0) and np.all(y[0, :, -1] == 0)


def test_zoom_out_shrinks_the_content_about_the_center():
    x = np.zeros((1, 9, 9, 1))
    x[0, 3:6, 3:6] = 1.0  # a 3×3 square in the middle
    y = RandomZoom((1.0, 1.0), fill_mode="constant", interpolation="nearest").forward(
        x, training=True
    )  # zoom by 1 + 1 = 2: half the size
    assert y[0, 4, 4, 0] == 1.0 and y.sum() < x.sum()
    y = RandomZoom((-0.5, -0.5), interpolation="nearest").forward(x, training=True)
    assert y.sum() > x.sum()  # zoom in: the square grows


def test_random_crop_shapes_and_center_crop_at_inference():
    layer = RandomCrop(5, 6)
    x = batch((3, 7, 8, 2), dtype=np.float32)
    y = layer.forward(x, training=True)
    assert y.shape == (3, 5, 6, 2) and layer.output_shape == (5, 6, 2)
    np.testing.assert_array_equal(layer.forward(x), x[:, 1:6, 1:7])
    cifar = RandomCrop(7, 8, padding=2)
    np.testing.assert_array_equal(cifar.forward(x), x)  # same size: inference is the identity


@pytest.mark.parametrize(
    "layer",
    [
        RandomFlip("horizontal_and_vertical", seed=0),
        RandomCrop(5, 6, padding=1, seed=0),
        GaussianNoise(0.3, seed=0),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_exact_gradients_while_training(layer):
    layer.dtype = np.dtype("float64")
    result = gradcheck.check_layer(layer, batch((4, 6, 7, 2)), training=True)
    assert result.max_error < 1e-6, str(result)


@pytest.mark.parametrize("index", [1, 2, 3])
def test_resampling_layers_have_no_input_gradient_after_a_transform(index):
    layer = make_all()[index]
    x = batch()
    layer.forward(x, training=True)
    assert layer.backward(np.ones_like(x)) is None
    flip = RandomFlip()
    flip.forward(x, training=True)
    assert flip.backward(None) is None  # passed on by the layers before it


def test_augmentation_applies_only_while_training_in_a_model():
    augmenting = Sequential(
        [
            Input((6, 6, 1)),
            RandomFlip(),
            RandomRotation(0.05),
            GaussianNoise(0.1),
            Conv2D(2, 3, activation="relu"),
            Flatten(),
            Dense(2, activation="softmax"),
        ],
        seed=0,
    )
    plain = Sequential(
        [
            Input((6, 6, 1)),
            Conv2D(2, 3, activation="relu"),
            Flatten(),
            Dense(2, activation="softmax"),
        ],
        seed=0,
    )
    plain.set_weights(augmenting.get_weights())
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 6, 6, 1), dtype=np.float32), rng.integers(0, 2, 32)
    np.testing.assert_array_equal(augmenting.predict(x), plain.predict(x))
    augmenting.compile("adam", "sparse_categorical_crossentropy", backend="numpy")
    plain.compile("adam", "sparse_categorical_crossentropy", backend="numpy")
    assert augmenting.evaluate(x, y) == pytest.approx(plain.evaluate(x, y), rel=1e-6)
    augmenting.fit(x, y, epochs=2, batch_size=8, verbose=0)  # backward through the prefix
    assert not np.array_equal(augmenting.get_weights()[0], plain.get_weights()[0])


def test_augment_function_is_seeded_and_composes_the_layers():
    x = batch((5, 8, 8, 1), dtype=np.float32)
    options = dict(
        flip="horizontal",
        rotation=0.05,
        zoom=0.1,
        translation=0.1,
        crop=(6, 6),
        crop_padding=1,
        noise=0.01,
    )
    a, b = augment(x, seed=3, **options), augment(x, seed=3, **options)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5, 6, 6, 1) and a.dtype == np.float32
    assert not np.array_equal(a, augment(x, seed=4, **options))
    np.testing.assert_array_equal(augment(x, seed=0), x)  # nothing asked, nothing done


def test_configs_round_trip():
    for layer in [*make_all(), RandomZoom((-0.1, 0.3), (0.0, 0.2), fill_mode="constant")]:
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RandomFlip("diagonal"), "mode"),
        (lambda: RandomRotation("lots"), "factor"),
        (lambda: RandomRotation((0.2, 0.1)), "lower"),
        (lambda: RandomZoom(0.1, fill_mode="mirror"), "fill_mode"),
        (lambda: RandomZoom(0.1, interpolation="bicubic"), "interpolation"),
        (lambda: RandomZoom((-2.0, 0.1)), "height_factor"),
        (lambda: RandomTranslation(1.5, 0.1), "height_factor"),
        (lambda: RandomCrop(0, 4), "height"),
        (lambda: RandomCrop(4, 4, padding=-1), "padding"),
        (lambda: GaussianNoise(-0.1), "stddev"),
        (lambda: RandomCrop(9, 9).build((7, 7, 1)), "cannot crop"),
        (lambda: RandomFlip().build((49,)), "NHWC"),
    ],
)
def test_invalid_arguments_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()
