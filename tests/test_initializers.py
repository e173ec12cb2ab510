"""tinynn.initializers: distributions, fans, seeding and name lookup."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinynn import initializers

SHAPE = (300, 500)  # 150,000 draws: sample variance within ~1 % of the true one
FAN_IN, FAN_OUT = SHAPE

#: name -> (variance, uniform?) for a (fan_in, fan_out) kernel.
EXPECTED = {
    "glorot_uniform": (2 / (FAN_IN + FAN_OUT), True),
    "glorot_normal": (2 / (FAN_IN + FAN_OUT), False),
    "he_uniform": (2 / FAN_IN, True),
    "he_normal": (2 / FAN_IN, False),
    "lecun_uniform": (1 / FAN_IN, True),
    "lecun_normal": (1 / FAN_IN, False),
    "random_normal": (0.05**2, False),
    "random_uniform": (0.1**2 / 12, True),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_variance_matches_the_formula(name):
    variance, uniform = EXPECTED[name]
    w = initializers.get(name)(SHAPE, np.float64, np.random.default_rng(0))
    assert w.shape == SHAPE
    assert abs(w.mean()) < 0.02 * math.sqrt(variance)
    assert w.var() == pytest.approx(variance, rel=0.03)
    if uniform:
        limit = math.sqrt(3 * variance)
        assert np.abs(w).max() <= limit
        assert np.abs(w).max() > 0.99 * limit  # and the whole interval is used
    else:
        # a normal, not a uniform: about 4.6 % of draws lie beyond two standard deviations
        beyond = np.mean(np.abs(w) > 2 * math.sqrt(variance))
        assert beyond == pytest.approx(0.0455, abs=0.005)


def test_zeros_and_ones():
    np.testing.assert_array_equal(initializers.get("zeros")((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(initializers.get("ones")((4,)), np.ones(4))


def test_compute_fans_follows_keras():
    assert initializers.compute_fans(()) == (1, 1)
    assert initializers.compute_fans((7,)) == (7, 7)
    assert initializers.compute_fans((64, 10)) == (64, 10)
    assert initializers.compute_fans((3, 3, 16, 32)) == (3 * 3 * 16, 3 * 3 * 32)
    assert initializers.compute_fans((5, 8, 4)) == (5 * 8, 5 * 4)


def test_he_normal_on_a_conv_kernel_uses_the_receptive_field():
    w = initializers.HeNormal()((3, 3, 64, 64), np.float64, np.random.default_rng(1))
    assert w.var() == pytest.approx(2 / (3 * 3 * 64), rel=0.03)


def test_same_generator_state_gives_the_same_draws():
    init = initializers.GlorotUniform()
    a = init((20, 30), np.float64, np.random.default_rng(5))
    b = init((20, 30), np.float64, np.random.default_rng(5))
    c = init((20, 30), np.float64, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_an_initializer_seed_overrides_the_generator():
    init = initializers.HeNormal(seed=3)
    a = init((10, 10), np.float64, np.random.default_rng(0))
    b = init((10, 10), np.float64, np.random.default_rng(99))
    np.testing.assert_array_equal(a, b)


def test_dtype_and_int_shape():
    w = initializers.LecunNormal()(5, np.float32, np.random.default_rng(0))
    assert w.shape == (5,) and w.dtype == np.float32


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("glorot_uniform", initializers.GlorotUniform),
        ("GlorotUniform", initializers.GlorotUniform),
        ("GLOROT_NORMAL", initializers.GlorotNormal),
        ("HeNormal", initializers.HeNormal),
        ("he_uniform", initializers.HeUniform),
        ("LecunNormal", initializers.LecunNormal),
        ("LecunUniform", initializers.LecunUniform),
        ("RandomNormal", initializers.RandomNormal),
        ("RandomUniform", initializers.RandomUniform),
        ("Zeros", initializers.Zeros),
        ("ones", initializers.Ones),
    ],
)
def test_get_accepts_keras_names(name, cls):
    assert type(initializers.get(name)) is cls


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown initializer 'orthogonal'.*glorot_uniform"):
        initializers.get("orthogonal")


@pytest.mark.parametrize("name", sorted(initializers.INITIALIZERS))
def test_serialize_round_trip(name):
    init = initializers.get(name)
    spec = initializers.serialize(init)
    assert spec["class_name"] == name
    rebuilt = initializers.get(spec)
    assert type(rebuilt) is type(init) and rebuilt.get_config() == init.get_config()


def test_configured_initializers_round_trip_and_validate():
    init = initializers.RandomNormal(mean=1.0, stddev=0.5, seed=2)
    rebuilt = initializers.get(initializers.serialize(init))
    np.testing.assert_array_equal(rebuilt((3, 3)), init((3, 3)))
    with pytest.raises(ValueError, match=r"stddev must be >= 0"):
        initializers.RandomNormal(stddev=-1.0)
    with pytest.raises(ValueError, match=r"minval must be <= maxval"):
        initializers.RandomUniform(minval=1.0, maxval=0.0)
