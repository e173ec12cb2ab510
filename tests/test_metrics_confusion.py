"""Precision, Recall and AUC: Keras's own examples and test values, then scikit-learn as the
oracle on fixed random data, then the classes inside ``compile``."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import layers, metrics
from tinynn.models import Sequential, load_model


# ---- Keras's documented examples and test cases -------------------------------------------
def test_precision_and_recall_follow_keras_examples() -> None:
    for cls in (metrics.Precision, metrics.Recall):
        m = cls()
        m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        assert m.result() == pytest.approx(2 / 3)
        m.reset_state()
        m.update_state([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0])
        assert m.result() == pytest.approx(1.0)
    assert metrics.Precision(top_k=2)([0, 0, 1, 1], [1, 1, 1, 1]) == 0.0
    assert metrics.Precision(top_k=4)([0, 0, 1, 1], [1, 1, 1, 1]) == pytest.approx(0.5)
    top3 = metrics.Precision(top_k=3)
    assert top3([0, 1, 1, 0, 0], [0.2, 0.1, 0.5, 0, 0.2]) == pytest.approx(1 / 3)


def test_precision_accumulates_weighted_top_k_batches_like_keras() -> None:
    m = metrics.Precision(top_k=3)
    m.update_state([[0, 1, 1, 0, 1]], [[0.2, 0.1, 0.4, 0, 0.2]], sample_weight=[[1, 4, 2, 3, 5]])
    m.update_state([1, 0, 1, 1, 1], [0.2, 0.6, 0.4, 0.2, 0.2], sample_weight=np.array(3))
    assert m.result() == pytest.approx(((2 + 5) + (3 + 3)) / ((1 + 2 + 5) + (3 + 3 + 3)))


def test_class_id_and_top_k_with_threshold_like_keras() -> None:
    y_pred = [[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]
    y_true = np.eye(3)[[2, 0, 1, 0, 2]]
    m = metrics.Precision(class_id=1)
    m.update_state(y_true, y_pred)
    assert (m.result(), m.true_positives[0], m.false_positives[0]) == (1.0, 1.0, 0.0)
    m = metrics.Precision(thresholds=0.7, top_k=2)
    m.update_state([0, 1, 1, 0, 1], [0.2, 0.8, 0.6, 0, 0.2])
    assert (m.result(), m.true_positives[0], m.false_positives[0]) == (1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="class_id=2 needs y_pred of shape"):
        metrics.Precision(class_id=2)([0, 1, 1, 0, 0], [0.2, 0.1, 0.6, 0, 0.2])


# Keras's AUCTest data: thresholds [-1e-7, 0.5, 1 + 1e-7], weights 1..4.
AUC_TRUE, AUC_PRED, AUC_WEIGHTS = [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("curve", "summation", "expected"),
    [
        ("ROC", "interpolation", 0.7855),
        ("ROC", "majoring", 1.0),
        ("ROC", "minoring", 0.571),
        ("PR", "majoring", 1.0),
        ("PR", "minoring", 0.7 * 0.429),
        ("PR", "interpolation", 2.416 / 7 + 4 / 7),
        ("PRGAIN", "majoring", 1.0),
        ("PRGAIN", "minoring", 0.0),
        ("PRGAIN", "interpolation", 0.5),
    ],
)
def test_auc_matches_keras_weighted_cases(curve, summation, expected) -> None:
    auc = metrics.AUC(num_thresholds=3, curve=curve, summation_method=summation)
    assert auc(AUC_TRUE, AUC_PRED, sample_weight=AUC_WEIGHTS) == pytest.approx(expected, abs=1e-3)


def test_auc_matches_keras_unweighted_and_logit_cases() -> None:
    assert metrics.AUC(num_thresholds=3)(AUC_TRUE, AUC_PRED) == pytest.approx(0.75)
    logits = -np.log(1.0 / (np.float32(AUC_PRED) + 1e-12) - 1.0)  # float32, as in Keras's test
    assert metrics.AUC(num_thresholds=3, from_logits=True)(AUC_TRUE, logits) == pytest.approx(0.75)
    assert metrics.AUC(thresholds=[0.5])(AUC_TRUE, AUC_PRED) == pytest.approx(0.75)
    assert metrics.AUC()(AUC_TRUE, AUC_TRUE) == 1.0


# Keras's MultiAUCTest data: two labels, thresholds [-1e-7, 0.25, 0.5, 0.75, 1 + 1e-7].
MULTI_PRED = np.array([[0, 0.5, 0.3, 0.9], [0.1, 0.2, 0.3, 0.4]]).T
MULTI_TRUE = np.array([[0, 0, 1, 1], [0, 0, 1, 1]]).T


def test_multi_label_auc_matches_keras() -> None:
    per_label = metrics.AUC(num_thresholds=5, multi_label=True)
    assert per_label(MULTI_TRUE, MULTI_PRED) == pytest.approx((0.875 + 1.0) / 2)
    weighted = metrics.AUC(num_thresholds=5, multi_label=True, label_weights=[0.75, 0.25])
    assert weighted(MULTI_TRUE, MULTI_PRED) == pytest.approx(0.875 * 0.75 + 0.25)
    flat = metrics.AUC(num_thresholds=5)
    expected = 1.0 - 0.3333 * (1.0 - 0.2857) / 2.0
    assert flat(MULTI_TRUE, MULTI_PRED, sample_weight=[1, 2, 3, 4]) == pytest.approx(
        expected, abs=1e-3
    )
    full = np.arange(8).reshape(4, 2)
    expected = 1.0 - 0.3333 * (1.0 - 0.2727) / 2.0
    assert flat(MULTI_TRUE, MULTI_PRED, sample_weight=full) == pytest.approx(expected, abs=1e-3)
    flat_weighted = metrics.AUC(num_thresholds=5, label_weights=[0.75, 0.25])
    expected = 1.0 - (1.0 - 0.375) * 0.375 / 2.0
    assert flat_weighted(MULTI_TRUE, MULTI_PRED) == pytest.approx(expected, abs=1e-2)


# ---- state, names, configs, errors ---------------------------------------------------------
def test_streaming_equals_one_batch_and_calling_leaves_the_state_alone() -> None:
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 2, 300), rng.random(300)
    for make in (metrics.Precision, metrics.Recall, metrics.AUC):
        m = make()
        m.update_state(y[:100], p[:100])
        m.update_state(y[100:], p[100:])
        assert m.result() == pytest.approx(make()(y, p))
        before = m.result()
        m(y[:10], 1 - p[:10])  # stateless
        assert m.result() == before
        m.reset_state()
        assert m.result() == 0.0


def test_names_thresholds_and_configs_round_trip() -> None:
    assert [m.name for m in (metrics.Precision(), metrics.Recall(), metrics.AUC())] == [
        "precision",
        "recall",
        "auc",
    ]
    several = metrics.Precision(thresholds=[0.5, 0.7])
    np.testing.assert_allclose(several([0, 1, 1, 0], [1, 0.6, 0.8, 0]), [2 / 3, 1 / 2])
    auc = metrics.AUC(num_thresholds=3)
    np.testing.assert_allclose(auc.thresholds, [-1e-7, 0.5, 1 + 1e-7])
    for m in (
        metrics.Precision(thresholds=[0.3, 0.6], class_id=1, name="p1"),
        metrics.Recall(top_k=2),
        metrics.AUC(curve="PR", summation_method="majoring", thresholds=[0.3, 0.5], name="a"),
        metrics.AUC(multi_label=True, num_labels=2, label_weights=[1, 2], from_logits=True),
    ):
        config = m.get_config()
        copy = type(m).from_config(config)
        assert copy.get_config() == config and copy.name == m.name


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: metrics.Precision(thresholds=1.5), r"thresholds must be numbers in \[0, 1\]"),
        (lambda: metrics.Recall(top_k=0), "top_k must be None or an int >= 1, got 0"),
        (lambda: metrics.Precision(class_id=-1), "class_id must be None or an int >= 0"),
        (lambda: metrics.AUC(num_thresholds=1), "num_thresholds must be an int > 1"),
        (lambda: metrics.AUC(curve="XYZ"), "curve must be one of"),
        (lambda: metrics.AUC(summation_method="riemann"), "summation_method must be one of"),
        (lambda: metrics.AUC(num_labels=3), "only when multi_label is True"),
    ],
)
def test_constructor_validation(make, match) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs_name_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"y_true shape \(4, 2\) must match y_pred shape"):
        metrics.Precision()(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"integer labels in \[0, 2\]"):
        metrics.Recall()([0, 3], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    with pytest.raises(ValueError, match="sample_weight of shape"):
        metrics.AUC()([0, 1], [0.2, 0.8], sample_weight=[1, 2, 3])


# ---- scikit-learn as the oracle ------------------------------------------------------------
@pytest.fixture(scope="module")
def skm():
    return pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("seed", range(3))
def test_binary_precision_and_recall_match_sklearn_at_each_threshold(skm, seed) -> None:
    rng = np.random.default_rng(seed)
    y, p, w = rng.integers(0, 2, 400), rng.random((400, 1)), rng.random(400)
    thresholds = [0.2, 0.5, 0.8]
    got_p = metrics.Precision(thresholds=thresholds)(y, p, sample_weight=w)
    got_r = metrics.Recall(thresholds=thresholds)(y, p, sample_weight=w)
    for i, t in enumerate(thresholds):
        predicted = (p[:, 0] > t).astype(int)
        assert got_p[i] == pytest.approx(skm.precision_score(y, predicted, sample_weight=w))
        assert got_r[i] == pytest.approx(skm.recall_score(y, predicted, sample_weight=w))


def test_top_1_of_one_class_is_sklearns_per_class_score(skm) -> None:
    rng = np.random.default_rng(3)
    labels, scores = rng.integers(0, 4, 300), rng.random((300, 4))
    predicted = scores.argmax(axis=1)
    want_p = skm.precision_score(labels, predicted, average=None)
    want_r = skm.recall_score(labels, predicted, average=None)
    for c in range(4):  # integer labels against (n, k) scores are one-hot encoded
        assert metrics.Precision(top_k=1, class_id=c)(labels, scores) == pytest.approx(want_p[c])
        assert metrics.Recall(top_k=1, class_id=c)(labels, scores) == pytest.approx(want_r[c])


def test_roc_auc_is_exact_when_thresholds_separate_every_score(skm) -> None:
    rng = np.random.default_rng(4)
    n_thresholds = 21
    # Scores halfway between grid thresholds, so every distinct score is its own ROC point.
    grid = (np.arange(n_thresholds - 1) + 0.5) / (n_thresholds - 1)
    y, p = rng.integers(0, 2, 500), rng.choice(grid, 500)
    w = rng.random(500)
    auc = metrics.AUC(num_thresholds=n_thresholds)
    assert auc(y, p) == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert auc(y, p, sample_weight=w) == pytest.approx(skm.roc_auc_score(y, p, sample_weight=w))
    y2, p2 = rng.integers(0, 2, (500, 3)), rng.choice(grid, (500, 3))
    multi = metrics.AUC(num_thresholds=n_thresholds, multi_label=True)
    assert multi(y2, p2) == pytest.approx(skm.roc_auc_score(y2, p2, average="macro"))
    flat = metrics.AUC(num_thresholds=n_thresholds)
    assert flat(y2, p2) == pytest.approx(skm.roc_auc_score(y2.ravel(), p2.ravel()))


def test_default_grid_approximates_sklearn_on_spread_scores(skm) -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 2000)
    p = np.clip(0.5 + 0.25 * (y - 0.5) + rng.normal(0, 0.2, 2000), 0, 1)
    assert metrics.AUC()(y, p) == pytest.approx(skm.roc_auc_score(y, p), abs=2e-3)
    pr = metrics.AUC(curve="PR")(y, p)
    assert pr == pytest.approx(skm.average_precision_score(y, p), abs=1e-2)


# ---- inside compile ------------------------------------------------------------------------
def binary_model() -> Sequential:
    return Sequential([layers.Input((2,)), layers.Dense(1, activation="sigmoid")], seed=0)


def test_metric_objects_work_in_compile_fit_evaluate_and_saving(tmp_path) -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(64, 2)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.normal(size=64) > 0).astype(np.float32)
    model = binary_model()
    chosen = [metrics.Precision(), metrics.Recall(thresholds=0.3), metrics.AUC(name="roc")]
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=chosen)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert {"precision", "recall", "roc"} <= set(history.history)
    results = model.evaluate(x, y, return_dict=True)
    p = model.predict(x)
    assert results["precision"] == pytest.approx(metrics.Precision()(y, p))
    assert results["recall"] == pytest.approx(metrics.Recall(thresholds=0.3)(y, p))
    assert results["roc"] == pytest.approx(metrics.AUC()(y, p))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[metrics.AUC()])
    model.save(tmp_path / "m.npz")  # metric objects are saved by name
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.evaluate(x, y, return_dict=True)["auc"] == pytest.approx(results["roc"])
