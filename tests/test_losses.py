"""tinynn.losses: gradients, values, the fused from-logits path and its numerical stability."""

from __future__ import annotations

import numpy as np
import pytest

import tinynn
from tinynn import activations, gradcheck, layers, losses

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(4, 3)) * 2.0
PROBS = RNG.dirichlet(np.full(3, 3.0), size=4)
ONE_HOT = np.eye(3)[[0, 2, 1, 2]]
SOFT = RNG.dirichlet(np.ones(3), size=4)
LABELS = np.array([0, 2, 1, 2])


def check(loss, y_pred, y_true):
    result = gradcheck.check_loss(loss, y_pred, y_true)
    assert result.max_error < 1e-6, str(result)


# -- gradient checks ------------------------------------------------------------------------


def test_mse_gradient():
    check(losses.MeanSquaredError(), LOGITS, RNG.normal(size=(4, 3)))


def test_mae_gradient_away_from_ties():
    y_pred = LOGITS
    y_true = y_pred + np.where(RNG.uniform(size=(4, 3)) < 0.5, -0.3, 0.4)
    check(losses.MeanAbsoluteError(), y_pred, y_true)


def test_bce_gradient_from_probabilities():
    p = RNG.uniform(0.05, 0.95, size=(5, 2))
    check(losses.BinaryCrossentropy(), p, RNG.integers(0, 2, size=(5, 2)).astype(float))
    check(losses.BinaryCrossentropy(), p, RNG.uniform(size=(5, 2)))


def test_bce_gradient_from_logits():
    check(losses.BinaryCrossentropy(from_logits=True), LOGITS, (LOGITS > 0.3).astype(float))
    check(losses.BinaryCrossentropy(from_logits=True), LOGITS, RNG.uniform(size=(4, 3)))


@pytest.mark.parametrize("targets", [ONE_HOT, SOFT], ids=["one_hot", "soft"])
def test_cce_gradient_from_probabilities(targets):
    check(losses.CategoricalCrossentropy(), PROBS, targets)


@pytest.mark.parametrize("targets", [ONE_HOT, SOFT], ids=["one_hot", "soft"])
def test_cce_gradient_from_logits(targets):
    check(losses.CategoricalCrossentropy(from_logits=True), LOGITS, targets)


def test_sparse_cce_gradient_from_probabilities():
    check(losses.SparseCategoricalCrossentropy(), PROBS, LABELS)


def test_sparse_cce_gradient_from_logits():
    check(losses.SparseCategoricalCrossentropy(from_logits=True), LOGITS, LABELS)


# -- values ---------------------------------------------------------------------------------


def test_values_match_the_formulas():
    y_true = RNG.normal(size=(4, 3))
    assert losses.MeanSquaredError().forward(LOGITS, y_true) == pytest.approx(
        np.mean((LOGITS - y_true) ** 2)
    )
    assert losses.MeanAbsoluteError().forward(LOGITS, y_true) == pytest.approx(
        np.mean(np.abs(LOGITS - y_true))
    )
    assert losses.CategoricalCrossentropy().forward(PROBS, SOFT) == pytest.approx(
        -np.sum(SOFT * np.log(PROBS)) / 4
    )
    p, y = np.array([[0.9], [0.2]]), np.array([[1.0], [0.0]])
    assert losses.BinaryCrossentropy().forward(p, y) == pytest.approx(
        -(np.log(0.9) + np.log(0.8)) / 2
    )


def test_sparse_and_one_hot_forms_agree_from_probabilities():
    sparse, dense = losses.SparseCategoricalCrossentropy(), losses.CategoricalCrossentropy()
    assert sparse.forward(PROBS, LABELS) == pytest.approx(dense.forward(PROBS, ONE_HOT))
    np.testing.assert_allclose(sparse.backward(), dense.backward(), rtol=1e-12)


def test_logit_and_probability_forms_agree():
    p = activations.Softmax().forward(LOGITS)
    for cls, y in [
        (losses.CategoricalCrossentropy, SOFT),
        (losses.SparseCategoricalCrossentropy, LABELS),
    ]:
        assert cls(from_logits=True).forward(LOGITS, y) == pytest.approx(
            cls().forward(p, y), rel=1e-9
        )
    sig = activations.Sigmoid().forward(LOGITS)
    y = (LOGITS > 0).astype(float)
    assert losses.BinaryCrossentropy(from_logits=True).forward(LOGITS, y) == pytest.approx(
        losses.BinaryCrossentropy().forward(sig, y), rel=1e-9
    )


def test_probabilities_of_exactly_0_and_1_are_clipped_to_a_finite_loss(strict_numpy):
    p = np.array([[0.0, 1.0], [1.0, 0.0]])
    y = np.array([[1.0, 0.0], [1.0, 0.0]])
    for loss in (losses.BinaryCrossentropy(), losses.CategoricalCrossentropy()):
        value = loss.forward(p, y)
        assert np.isfinite(value) and value > 5.0
        assert np.all(np.isfinite(loss.backward()))


def test_bce_accepts_flat_targets_for_a_single_unit_output():
    p = np.array([[0.7], [0.4]])
    loss = losses.BinaryCrossentropy()
    assert loss.forward(p, np.array([1.0, 0.0])) == pytest.approx(loss.forward(p, [[1.0], [0.0]]))


def test_keras_argument_order_in_call():
    y_true, y_pred = np.zeros((2, 2)), np.ones((2, 2))
    assert losses.MeanSquaredError()(y_true, y_pred) == 1.0


def test_lists_are_accepted():
    assert losses.MeanSquaredError().forward([[1.0, 2.0]], [[1.0, 4.0]]) == 2.0


def test_float32_predictions_give_float32_gradients():
    loss = losses.CategoricalCrossentropy(from_logits=True)
    loss.forward(LOGITS.astype(np.float32), ONE_HOT)
    assert loss.backward().dtype == np.float32


# -- numerical stability of the from-logits path --------------------------------------------

HUGE = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [1e4, -1e4, 0.0]])
HUGE_LABELS = np.array([1, 1, 0])  # wrong by 2e4, right, right


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cce_from_huge_logits_is_finite_and_exact(dtype, strict_numpy):
    loss = losses.CategoricalCrossentropy(from_logits=True)
    value = loss.forward(HUGE.astype(dtype), np.eye(3)[HUGE_LABELS])
    assert value == pytest.approx(2e4 / 3, rel=1e-6)
    expected_grad = (np.eye(3)[[0, 1, 0]] - np.eye(3)[HUGE_LABELS]) / 3
    np.testing.assert_allclose(loss.backward(), expected_grad, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_cce_from_huge_logits_is_finite_and_exact(dtype, strict_numpy):
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert loss.forward(HUGE.astype(dtype), HUGE_LABELS) == pytest.approx(2e4 / 3, rel=1e-6)
    assert np.all(np.isfinite(loss.backward()))
    assert loss.forward(HUGE[1:].astype(dtype), HUGE_LABELS[1:]) == 0.0


def test_per_sample_losses_at_huge_logits(strict_numpy):
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert loss.forward(HUGE[:1], [1]) == pytest.approx(2e4)  # true class at −1e4, other +1e4
    assert loss.forward(HUGE[:1], [2]) == pytest.approx(1e4)
    assert loss.forward(HUGE[:1], [0]) == 0.0


def test_bce_from_huge_logits_is_finite_and_exact(strict_numpy):
    loss = losses.BinaryCrossentropy(from_logits=True)
    z = np.array([[1e4, -1e4], [1e4, -1e4]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])  # first row right, second row wrong by 1e4 each
    assert loss.forward(z, y) == pytest.approx(2e4 / 4)
    np.testing.assert_allclose(loss.backward(), [[0, 0], [0.25, -0.25]], atol=1e-12)


def test_fused_gradient_equals_softmax_backward_of_the_probability_gradient():
    """(p − y)/N from the fused loss = softmaxᵀ-Jacobian · (−y/(N p)), on moderate logits."""
    for targets in (ONE_HOT, SOFT):
        fused = losses.CategoricalCrossentropy(from_logits=True)
        fused.forward(LOGITS, targets)
        softmax, cce = activations.Softmax(), losses.CategoricalCrossentropy()
        cce.forward(softmax.forward(LOGITS), targets)
        composed = softmax.backward(cce.backward())
        np.testing.assert_allclose(fused.backward(), composed, rtol=1e-9, atol=1e-12)
        p = softmax.forward(LOGITS)
        if targets is ONE_HOT:
            np.testing.assert_allclose(fused.backward(), (p - targets) / 4, rtol=1e-12)


def test_fused_bce_gradient_equals_sigmoid_backward_of_the_probability_gradient():
    y = RNG.uniform(size=LOGITS.shape)
    fused = losses.BinaryCrossentropy(from_logits=True)
    fused.forward(LOGITS, y)
    sigmoid, bce = activations.Sigmoid(), losses.BinaryCrossentropy()
    bce.forward(sigmoid.forward(LOGITS), y)
    np.testing.assert_allclose(fused.backward(), sigmoid.backward(bce.backward()), rtol=1e-9)


def test_model_with_softmax_output_trains_on_huge_inputs(strict_numpy):
    model = tinynn.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = np.array([[1e4, -1e4, 3e3, 0.0], [-1e4, 1e4, 0.0, 5e3]], dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 2]]
    loss, logits = model.compute_gradients(x, y)
    assert np.isfinite(loss) and loss > 100.0  # huge, random weights: confidently wrong
    assert np.abs(logits).max() > 1e3  # really in the regime that overflows a naive softmax
    for _, grad in model.parameters():
        assert np.all(np.isfinite(grad))
    assert np.isfinite(model.train_on_batch(x, y))
    assert all(np.all(np.isfinite(param)) for param, _ in model.parameters())


# -- errors, lookup, configs ----------------------------------------------------------------


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match=r"before forward"):
        losses.MeanSquaredError().backward()


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 3\).*sparse_categorical"):
        losses.CategoricalCrossentropy().forward(PROBS, LABELS)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 3, 1, 2]), "label 3 is out of range; expected labels in \\[0, 2\\]"),
        (np.array([0.0, 1.5, 1.0, 2.0]), "whole numbers"),
        (np.ones((4, 3)), "shape \\(batch,\\)"),
    ],
)
def test_sparse_label_errors(labels, message):
    with pytest.raises(ValueError, match=message):
        losses.SparseCategoricalCrossentropy().forward(PROBS, labels)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize(("bad", "shown"), [(3, "3"), (-1, "-1")])
def test_from_logits_label_range_error_names_the_label_on_every_backend(backend, bad, shown):
    """The fused path leaves the range check to its kernel; the message stays the same."""
    from tinynn.kernels import get_backend

    if backend == "numba":
        pytest.importorskip("numba")
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    loss.ops = get_backend(backend)
    logits = np.zeros((4, 3), dtype=np.float32)
    message = rf"label {shown} is out of range; expected labels in \[0, 2\]"
    with pytest.raises(ValueError, match=message):
        loss.forward(logits, np.array([0, bad, 1, 2]))


def test_sparse_label_count_must_match():
    with pytest.raises(ValueError, match=r"got 3 labels for 4 predictions"):
        losses.SparseCategoricalCrossentropy().forward(PROBS, LABELS[:3])


def test_get_names_dicts_and_instances():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("MAE"), losses.MeanAbsoluteError)
    loss = losses.BinaryCrossentropy(from_logits=True)
    assert losses.get(loss) is loss
    assert losses.get(losses.serialize(loss)).from_logits is True


def test_unknown_loss_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"Unknown loss 'hinge'.*categorical_crossentropy"):
        losses.get("hinge")


def test_with_logits_and_fused_activation():
    for loss, activation in [
        (losses.BinaryCrossentropy(), "sigmoid"),
        (losses.CategoricalCrossentropy(), "softmax"),
        (losses.SparseCategoricalCrossentropy(), "softmax"),
    ]:
        assert loss.fused_activation == activation
        assert loss.with_logits().from_logits is True
    with pytest.raises(ValueError, match=r"no from-logits form"):
        losses.MeanSquaredError().with_logits()


# --- the from-logits forms against log-softmax written out ---------------------------------


def log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def test_softmax_cross_entropy_from_logits_value_and_gradient():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(4, 3))
    y = rng.dirichlet(np.ones(3), size=4)
    loss = losses.CategoricalCrossentropy(from_logits=True)
    assert loss.forward(z, y) == pytest.approx(-np.sum(y * log_softmax(z)) / 4, rel=1e-12)
    expected = (np.exp(log_softmax(z)) - y) / 4
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-12, atol=1e-15)


def test_sparse_softmax_cross_entropy_from_logits_equals_the_one_hot_form():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    sparse = losses.SparseCategoricalCrossentropy(from_logits=True)
    dense = losses.CategoricalCrossentropy(from_logits=True)
    assert sparse.forward(z, labels) == pytest.approx(
        dense.forward(z, np.eye(4)[labels]), rel=1e-12
    )
    np.testing.assert_allclose(sparse.backward(), dense.backward(), rtol=1e-12, atol=1e-16)


def test_sigmoid_cross_entropy_from_logits_value_and_gradient():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(4, 2)) * 3
    y = rng.uniform(size=(4, 2))
    p = 1.0 / (1.0 + np.exp(-z))
    loss = losses.BinaryCrossentropy(from_logits=True)
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert loss.forward(z, y) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(loss.backward(), (p - y) / z.size, rtol=1e-12)
