"""tinynn.regularizers: penalties, their gradients, and name lookup."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import gradcheck, regularizers

W = np.array([[0.5, -1.5, 2.0], [-0.25, 0.75, -3.0]])


@pytest.mark.parametrize(
    "regularizer",
    [regularizers.L1(0.03), regularizers.L2(0.02), regularizers.L1L2(l1=0.01, l2=0.05)],
    ids=["l1", "l2", "l1_l2"],
)
def test_gradient_check(regularizer):
    w = np.random.default_rng(0).normal(size=(4, 3))
    w = np.where(np.abs(w) < 0.05, 0.1, w)  # L1's kink at 0
    result = gradcheck.check_regularizer(regularizer, w)
    assert result.max_error < 1e-6, str(result)


def test_penalties_and_gradients_match_the_keras_formulas():
    assert regularizers.L1(0.1)(W) == pytest.approx(0.1 * 8.0)
    assert regularizers.L2(0.1)(W) == pytest.approx(0.1 * np.sum(W**2))
    both = regularizers.L1L2(l1=0.1, l2=0.2)
    assert both(W) == pytest.approx(0.1 * 8.0 + 0.2 * np.sum(W**2))
    np.testing.assert_allclose(both.gradient(W), 0.1 * np.sign(W) + 2 * 0.2 * W)


def test_l1_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(regularizers.L1(1.0).gradient(np.zeros(3)), np.zeros(3))


def test_gradient_keeps_float32():
    assert regularizers.L2().gradient(W.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_factors_must_be_finite_and_non_negative(bad):
    with pytest.raises(ValueError, match=r"l2 must be a finite number >= 0"):
        regularizers.L2(bad)


def test_names_use_the_keras_default_factor():
    assert regularizers.get("l1").l1 == 0.01
    assert regularizers.get("L2").l2 == 0.01
    both = regularizers.get("l1_l2")
    assert (both.l1, both.l2) == (0.01, 0.01)
    assert both(W) > 0.0  # a name never gives a penalty that silently does nothing


def test_get_none_instance_and_dict():
    assert regularizers.get(None) is None
    reg = regularizers.L1L2(l1=0.3)
    assert regularizers.get(reg) is reg
    rebuilt = regularizers.get(regularizers.serialize(reg))
    assert type(rebuilt) is regularizers.L1L2
    assert (rebuilt.l1, rebuilt.l2) == (0.3, 0.0)
    assert regularizers.serialize(None) is None


@pytest.mark.parametrize("reg", [regularizers.L1(0.2), regularizers.L2(0.4)])
def test_serialize_round_trip(reg):
    rebuilt = regularizers.get(regularizers.serialize(reg))
    assert type(rebuilt) is type(reg)
    assert rebuilt(W) == reg(W)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown regularizer 'l3'.*'l1'.*'l1_l2'.*'l2'"):
        regularizers.get("l3")
