"""The accuracy classes: the same numbers as the accuracy functions, weighted and streamed."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import layers, metrics
from tinynn.models import Sequential

RNG = np.random.default_rng(0)
LABELS = RNG.integers(0, 3, 50)
SCORES = RNG.random((50, 3))
BINARY = RNG.integers(0, 2, (50, 1))
PROBS = RNG.random((50, 1))


def test_each_class_agrees_with_its_function_and_is_named_like_keras() -> None:
    onehot = np.eye(3)[LABELS]
    cases = [
        (metrics.BinaryAccuracy(), metrics.binary_accuracy, BINARY, PROBS, "binary_accuracy"),
        (metrics.CategoricalAccuracy(), metrics.categorical_accuracy, onehot, SCORES, None),
        (
            metrics.SparseCategoricalAccuracy(),
            metrics.sparse_categorical_accuracy,
            LABELS,
            SCORES,
            None,
        ),
    ]
    for metric, function, y_true, y_pred, _ in cases:
        assert metric(y_true, y_pred) == pytest.approx(function(y_true, y_pred))
        assert metric.name == function.name
    assert metrics.BinaryAccuracy(threshold=0.9)(BINARY, PROBS) == pytest.approx(
        metrics.binary_accuracy(BINARY, PROBS, threshold=0.9)
    )


def test_weights_and_batches() -> None:
    weights = RNG.random(50)
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(LABELS[:20], SCORES[:20], sample_weight=weights[:20])
    m.update_state(LABELS[20:], SCORES[20:], sample_weight=weights[20:])
    hits = SCORES.argmax(axis=1) == LABELS
    assert m.result() == pytest.approx(np.sum(weights * hits) / np.sum(weights))
    m.reset_state()
    assert m.result() == 0.0
    # Multi-label rows score the mean over their columns, then rows are weighted.
    multi = metrics.BinaryAccuracy()
    y, p = np.array([[1, 0], [1, 1]]), np.array([[0.9, 0.8], [0.7, 0.6]])
    assert multi(y, p, sample_weight=[1, 3]) == pytest.approx((0.5 * 1 + 1.0 * 3) / 4)


def test_matches_sklearn_with_sample_weights() -> None:
    skm = pytest.importorskip("sklearn.metrics")
    weights = RNG.random(50)
    want = skm.accuracy_score(LABELS, SCORES.argmax(axis=1), sample_weight=weights)
    got = metrics.SparseCategoricalAccuracy()(LABELS, SCORES, sample_weight=weights)
    assert got == pytest.approx(want)


def test_classes_in_compile_keep_their_names_as_history_keys() -> None:
    model = Sequential([layers.Input((3,)), layers.Dense(3, activation="softmax")], seed=0)
    chosen = [metrics.SparseCategoricalAccuracy(), metrics.SparseCategoricalAccuracy(name="acc2")]
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=chosen)
    x = SCORES.astype(np.float32)
    history = model.fit(x, LABELS, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "sparse_categorical_accuracy", "acc2"}
    expected = metrics.sparse_categorical_accuracy(LABELS, model.predict(x))
    assert model.evaluate(x, LABELS, return_dict=True)["acc2"] == pytest.approx(expected)
