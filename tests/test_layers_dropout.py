"""tinynn.layers.Dropout: inverted dropout, seeding, gradients and configs."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import gradcheck
from tinynn.layers import Dropout


def test_gradient_check_in_training_mode():
    layer = Dropout(0.4, seed=3, dtype="float64")
    x = np.random.default_rng(0).normal(size=(5, 6))
    result = gradcheck.check_layer(layer, x, training=True)
    assert result.max_error < 1e-6, str(result)
    assert (layer.forward(x, training=True) == 0).any()  # a mask really was applied


def test_inverted_scaling_preserves_the_mean():
    layer = Dropout(0.3, seed=1, dtype="float64")
    y = layer.forward(np.ones((400, 500)), training=True)
    assert y.mean() == pytest.approx(1.0, abs=0.01)
    assert np.mean(y == 0) == pytest.approx(0.3, abs=0.01)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.7])


def test_inactive_when_not_training():
    layer = Dropout(0.5, seed=0)
    x = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    g = np.ones((3, 4), dtype=np.float32)
    np.testing.assert_array_equal(layer.backward(g), g)


def test_rate_zero_is_the_identity_even_when_training():
    x = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_array_equal(Dropout(0.0).forward(x, training=True), x)


def test_backward_applies_the_same_mask_as_forward():
    layer = Dropout(0.5, seed=2, dtype="float64")
    x = np.random.default_rng(2).normal(size=(4, 5))
    y = layer.forward(x, training=True)
    mask = y / x
    np.testing.assert_allclose(layer.backward(np.full((4, 5), 3.0)), 3.0 * mask)


def test_same_seed_same_mask_and_different_seed_different_mask():
    x = np.ones((8, 16))

    def mask(seed):
        return Dropout(0.5, seed=seed, dtype="float64").forward(x, training=True)

    np.testing.assert_array_equal(mask(7), mask(7))
    assert not np.array_equal(mask(7), mask(8))


def test_successive_batches_get_fresh_masks():
    layer = Dropout(0.5, seed=0, dtype="float64")
    x = np.ones((8, 16))
    assert not np.array_equal(layer.forward(x, training=True), layer.forward(x, training=True))


def test_dtype_is_kept():
    y = Dropout(0.5, seed=0).forward(np.ones((2, 3)), training=True)
    assert y.dtype == np.float32


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5])
def test_rate_must_be_in_zero_one(rate):
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        Dropout(rate)


def test_config_round_trip():
    layer = Dropout(0.25, seed=4, name="drop", dtype="float64")
    clone = Dropout.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    x = np.ones((3, 5))
    np.testing.assert_array_equal(clone.forward(x, training=True), layer.forward(x, training=True))


def test_forward_keeps_units_where_the_draw_reaches_the_rate_and_scales_them():
    layer = Dropout(0.25, seed=0, dtype="float64")
    x = np.arange(1.0, 9.0).reshape(2, 4)
    uniform = np.random.default_rng(0).random(x.shape)
    y = layer.forward(x, training=True)
    expected_mask = np.where(uniform >= 0.25, 1 / 0.75, 0.0)
    np.testing.assert_allclose(y, x * expected_mask)
    np.testing.assert_allclose(layer.backward(np.full_like(x, 3.0)), 3.0 * expected_mask)
