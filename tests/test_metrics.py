"""Tests for tinynn.metrics: hand-computed cases, then scikit-learn as the oracle."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import metrics

# ---- hand-computed cases (no scikit-learn needed) ----
# Three classes, six samples.
#   true: 0 0 1 1 2 2
#   pred: 0 1 1 1 0 2
# confusion matrix (rows true, cols pred):
#   [[1 1 0]
#    [0 2 0]
#    [1 0 1]]
# precision per class: 1/2, 2/3, 1/1 ; recall per class: 1/2, 2/2, 1/2
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 0, 2])


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]


def test_confusion_matrix_by_hand() -> None:
    cm = metrics.confusion_matrix(Y_TRUE, Y_PRED)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 0], [1, 0, 1]])


def test_confusion_matrix_num_classes_pads_and_validates() -> None:
    cm = metrics.confusion_matrix([0, 1], [1, 1], num_classes=4)
    assert cm.shape == (4, 4)
    assert cm.sum() == 2
    with pytest.raises(ValueError, match="num_classes=2 is too small"):
        metrics.confusion_matrix([0, 2], [0, 1], num_classes=2)
    with pytest.raises(ValueError, match="positive int"):
        metrics.confusion_matrix([0, 1], [0, 1], num_classes=0)


def test_accuracy_by_hand_in_every_format() -> None:
    expected = 4 / 6
    assert metrics.accuracy(Y_TRUE, Y_PRED) == pytest.approx(expected)
    probs = one_hot(Y_PRED, 3) * 0.8 + 0.05  # rows sum to 0.95, argmax unchanged
    assert metrics.accuracy(Y_TRUE, probs) == pytest.approx(expected)
    assert metrics.accuracy(one_hot(Y_TRUE, 3), probs) == pytest.approx(expected)
    assert metrics.accuracy(Y_TRUE[:, None], Y_PRED[:, None]) == pytest.approx(expected)
    # Binary probabilities of class 1 are thresholded at 0.5.
    assert metrics.accuracy([0, 1, 1, 0], [0.2, 0.9, 0.4, 0.6]) == pytest.approx(0.5)


def test_categorical_sparse_and_binary_accuracy_by_hand() -> None:
    probs = one_hot(Y_PRED, 3)
    assert metrics.categorical_accuracy(one_hot(Y_TRUE, 3), probs) == pytest.approx(4 / 6)
    assert metrics.sparse_categorical_accuracy(Y_TRUE, probs) == pytest.approx(4 / 6)
    assert metrics.sparse_categorical_accuracy(Y_TRUE[:, None], probs) == pytest.approx(4 / 6)
    y, p = np.array([[0], [1], [1], [0]]), np.array([[0.2], [0.9], [0.4], [0.6]])
    assert metrics.binary_accuracy(y, p) == pytest.approx(0.5)
    assert metrics.binary_accuracy(y.ravel(), p) == pytest.approx(0.5)  # (n,) vs (n, 1)
    assert metrics.binary_accuracy(y, p, threshold=0.3) == pytest.approx(0.75)


def test_precision_recall_f1_by_hand() -> None:
    p = np.array([1 / 2, 2 / 3, 1.0])
    r = np.array([1 / 2, 1.0, 1 / 2])
    f = 2 * p * r / (p + r)
    np.testing.assert_allclose(metrics.precision(Y_TRUE, Y_PRED, average=None), p)
    np.testing.assert_allclose(metrics.recall(Y_TRUE, Y_PRED, average=None), r)
    np.testing.assert_allclose(metrics.f1_score(Y_TRUE, Y_PRED, average=None), f)
    assert metrics.precision(Y_TRUE, Y_PRED) == pytest.approx(p.mean())
    assert metrics.recall(Y_TRUE, Y_PRED) == pytest.approx(r.mean())
    assert metrics.f1_score(Y_TRUE, Y_PRED) == pytest.approx(f.mean())
    # weighted by class support (2, 2, 2 here, so equal to macro) and micro (= accuracy)
    assert metrics.recall(Y_TRUE, Y_PRED, average="weighted") == pytest.approx(r.mean())
    assert metrics.f1_score(Y_TRUE, Y_PRED, average="micro") == pytest.approx(4 / 6)


def test_binary_average_by_hand() -> None:
    y_true = [1, 1, 1, 0, 0]
    y_pred = [1, 0, 1, 1, 0]  # tp=2, fp=1, fn=1
    assert metrics.precision(y_true, y_pred, average="binary") == pytest.approx(2 / 3)
    assert metrics.recall(y_true, y_pred, average="binary") == pytest.approx(2 / 3)
    assert metrics.f1_score(y_true, y_pred, average="binary") == pytest.approx(2 / 3)
    # sigmoid outputs (n, 1) are thresholded at 0.5
    probs = np.array([[0.9], [0.1], [0.7], [0.6], [0.2]])
    assert metrics.precision(y_true, probs, average="binary") == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="average='binary' needs labels 0 and 1"):
        metrics.precision([0, 1, 2], [0, 1, 2], average="binary")


def test_zero_division_gives_zero() -> None:
    # Class 2 is never predicted (precision 0) and class 1 never occurs (recall 0).
    y_true = [0, 0, 2, 2]
    y_pred = [0, 1, 0, 0]
    np.testing.assert_allclose(metrics.precision(y_true, y_pred, average=None), [1 / 3, 0, 0])
    np.testing.assert_allclose(metrics.recall(y_true, y_pred, average=None), [1 / 2, 0, 0])
    np.testing.assert_allclose(metrics.f1_score(y_true, y_pred, average=None), [0.4, 0, 0])
    # Binary: positive class never predicted and never present.
    assert metrics.precision([0, 0], [0, 0], average="binary") == 0.0
    assert metrics.recall([0, 0], [0, 0], average="binary") == 0.0
    assert metrics.f1_score([0, 0], [0, 0], average="binary") == 0.0


def test_macro_ignores_classes_absent_from_both_arguments() -> None:
    # Label 1 appears nowhere: scikit-learn averages over labels {0, 2} only.
    assert metrics.recall([0, 2], [0, 2]) == 1.0


# ---- infer_accuracy / names / get ----
def test_infer_accuracy_follows_keras_rules() -> None:
    cases = [
        ("binary_crossentropy", (None, 3), metrics.binary_accuracy),
        ("mse", (None, 1), metrics.binary_accuracy),
        ("sparse_categorical_crossentropy", (None, 10), metrics.sparse_categorical_accuracy),
        ("categorical_crossentropy", (None, 10), metrics.categorical_accuracy),
        (None, 4, metrics.categorical_accuracy),
    ]
    for loss, shape, expected in cases:
        fn = metrics.infer_accuracy(loss, shape)
        assert fn.__wrapped__ is expected, (loss, shape)
        assert fn.__name__ == "accuracy"
        assert metrics.name_of(fn) == "accuracy"
    sparse = metrics.infer_accuracy("sparse_categorical_crossentropy", (None, 3))
    assert sparse(Y_TRUE, one_hot(Y_PRED, 3)) == pytest.approx(4 / 6)


def test_metric_names_are_keras_history_keys() -> None:
    assert [metrics.name_of(f) for f in (metrics.accuracy, metrics.f1_score)] == [
        "accuracy",
        "f1_score",
    ]
    assert metrics.precision.name == "precision"
    assert metrics.recall.__name__ == "recall"


def test_get_names_aliases_and_callables() -> None:
    assert metrics.get("acc") is metrics.accuracy
    assert metrics.get("f1_score") is metrics.f1_score
    assert metrics.get(None) is None

    def custom(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return 0.0

    assert metrics.get(custom) is custom


def test_get_unknown_name_lists_sorted_valid_names() -> None:
    with pytest.raises(ValueError) as info:
        metrics.get("acuracy")
    message = str(info.value)
    assert "'acuracy'" in message
    assert ", ".join(sorted(metrics.METRICS)) in message
    with pytest.raises(TypeError, match="int"):
        metrics.get(3)  # type: ignore[arg-type]


# ---- validation ----
@pytest.mark.parametrize(
    "fn", [metrics.accuracy, metrics.precision, metrics.f1_score, metrics.confusion_matrix]
)
def test_validation_errors(fn) -> None:
    with pytest.raises(ValueError, match="3 samples but y_pred has 2"):
        fn([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="NaN"):
        fn([0, 1], [0.2, np.nan])
    with pytest.raises(ValueError, match="negative label"):
        fn([0, -1], [0, 1])


def test_format_specific_validation() -> None:
    with pytest.raises(ValueError, match="sparse_categorical_accuracy"):
        metrics.categorical_accuracy([0, 1], [[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(ValueError, match=r"labels in \[0, 1\]"):
        metrics.sparse_categorical_accuracy([0, 2], [[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(ValueError, match="only 0 and 1"):
        metrics.binary_accuracy([0, 2], [0.1, 0.9])
    with pytest.raises(ValueError, match="outside"):
        metrics.accuracy([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError, match="average must be one of"):
        metrics.recall([0, 1], [0, 1], average="samples")


# ---- scikit-learn as the oracle ----
@pytest.fixture(scope="module")
def skm():
    return pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("average", ["macro", "weighted", "micro"])
def test_multiclass_matches_sklearn(skm, seed: int, average: str) -> None:
    rng = np.random.default_rng(seed)
    k = 5
    y_true = rng.integers(0, k, size=200)
    # Predictions that never use class 4, so its precision is 0/0 -> 0.
    logits = rng.normal(size=(200, k))
    logits[:, 4] = -np.inf
    y_prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    y_prob /= y_prob.sum(axis=1, keepdims=True)
    y_pred = y_prob.argmax(axis=1)
    kw = {"average": average, "zero_division": 0}
    for ours, theirs in [
        (metrics.precision, skm.precision_score),
        (metrics.recall, skm.recall_score),
        (metrics.f1_score, skm.f1_score),
    ]:
        expected = theirs(y_true, y_pred, **kw)
        assert ours(y_true, y_pred, average=average) == pytest.approx(expected, rel=1e-12)
        assert ours(one_hot(y_true, k), y_prob, average=average) == pytest.approx(
            expected, rel=1e-12
        )
    assert metrics.accuracy(y_true, y_prob) == skm.accuracy_score(y_true, y_pred)
    np.testing.assert_array_equal(
        metrics.confusion_matrix(y_true, y_pred, num_classes=k),
        skm.confusion_matrix(y_true, y_pred, labels=range(k)),
    )


@pytest.mark.parametrize("seed", range(5))
def test_per_class_matches_sklearn(skm, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    y_true = rng.integers(0, 4, size=50)
    y_pred = rng.integers(0, 4, size=50)
    kw = {"average": None, "zero_division": 0, "labels": range(4)}
    np.testing.assert_allclose(
        metrics.precision(y_true, y_pred, average=None), skm.precision_score(y_true, y_pred, **kw)
    )
    np.testing.assert_allclose(
        metrics.recall(y_true, y_pred, average=None), skm.recall_score(y_true, y_pred, **kw)
    )
    np.testing.assert_allclose(
        metrics.f1_score(y_true, y_pred, average=None), skm.f1_score(y_true, y_pred, **kw)
    )


@pytest.mark.parametrize("seed", range(5))
def test_binary_matches_sklearn(skm, seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    y_true = rng.integers(0, 2, size=120)
    y_prob = rng.random(size=(120, 1))
    y_pred = (y_prob[:, 0] > 0.5).astype(int)
    for average in ["binary", "macro"]:
        kw = {"average": average, "zero_division": 0}
        for ours, theirs in [
            (metrics.precision, skm.precision_score),
            (metrics.recall, skm.recall_score),
            (metrics.f1_score, skm.f1_score),
        ]:
            expected = theirs(y_true, y_pred, **kw)
            assert ours(y_true, y_prob, average=average) == pytest.approx(expected, rel=1e-12)
    assert metrics.binary_accuracy(y_true, y_prob) == skm.accuracy_score(y_true, y_pred)
    assert metrics.accuracy(y_true, y_prob) == skm.accuracy_score(y_true, y_pred)
    np.testing.assert_array_equal(
        metrics.confusion_matrix(y_true, y_prob), skm.confusion_matrix(y_true, y_pred)
    )
