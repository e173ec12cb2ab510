"""``tinynn.metrics.resolve``: what a metric name given to ``compile`` means for a model.

The rule of Keras and scikit-learn: a binary model's "precision", "recall" and "f1_score" are
those of the positive class; a multiclass model's are macro averages, and say so.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import layers, metrics
from tinynn.models import Sequential

# The three-class case of test_metrics.py: true 0 0 1 1 2 2, predicted 0 1 1 1 0 2.
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED_ONE_HOT = np.eye(3)[[0, 1, 1, 1, 0, 2]]

# A binary model's scores: predicted 1 where > 0.5.   true: 0 0 0 1 1 1 1 1
#                                                     pred: 1 0 0 1 1 0 0 1
# Positive class: tp 3, fp 1, fn 2 -> precision 3/4, recall 3/5, F1 6/9.
# Class 0: precision 2/4, recall 2/3, so the macro averages are 0.625 and 0.633.
BINARY_TRUE = np.array([0, 0, 0, 1, 1, 1, 1, 1])
BINARY_SCORES = np.array([[0.9], [0.2], [0.1], [0.8], [0.7], [0.3], [0.2], [0.6]])


def test_the_keras_metric_classes_are_there() -> None:
    for name in ("Precision", "Recall", "AUC", "BinaryAccuracy", "SparseCategoricalAccuracy"):
        assert isinstance(getattr(metrics, name)(), metrics.Metric), name
    auc = metrics.get("auc")
    assert isinstance(auc, metrics.AUC) and metrics.get("auc") is not auc  # a new one each time


@pytest.mark.parametrize(
    ("loss", "shape"), [("binary_crossentropy", (None, 1)), ("mse", (None, 1)), ("bce", 1)]
)
def test_binary_models_score_the_positive_class(loss, shape) -> None:
    expected = {"precision": 3 / 4, "recall": 3 / 5, "f1_score": 6 / 9, "f1": 6 / 9}
    for name, value in expected.items():
        metric = metrics.resolve(name, loss, shape)
        assert metrics.name_of(metric) == name
        assert metric(BINARY_TRUE, BINARY_SCORES) == pytest.approx(value)
    assert metrics.resolve("accuracy", loss, shape)(BINARY_TRUE, BINARY_SCORES) == 5 / 8


def test_multiclass_models_average_over_classes_and_say_so() -> None:
    for name in ("precision", "recall", "f1_score"):
        metric = metrics.resolve(name, "sparse_categorical_crossentropy", (None, 3))
        assert metric.average == "macro" and metrics.name_of(metric) == name
        expected = getattr(metrics, name)(Y_TRUE, Y_PRED_ONE_HOT, average="macro")
        assert metric(Y_TRUE, Y_PRED_ONE_HOT) == pytest.approx(expected)
    objects = metrics.Precision(class_id=1), len
    assert [metrics.resolve(m, "mse", (None, 3)) for m in objects] == list(objects)
    assert metrics.resolve("binary_accuracy", "mse", 3) is metrics.binary_accuracy


def test_a_compiled_binary_model_reports_the_positive_class() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] + rng.normal(scale=1.0, size=200) > 0.8).astype(np.float32)
    model = Sequential([layers.Input((2,)), layers.Dense(1, activation="sigmoid")], seed=3)
    names = ["accuracy", "precision", "recall", "f1_score"]
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=names)
    model.fit(x, y, epochs=3, batch_size=32, verbose=0)
    got = model.evaluate(x, y, return_dict=True)
    predicted = model.predict(x)[:, 0] > 0.5
    tp, fp = np.sum(predicted & (y == 1)), np.sum(predicted & (y == 0))
    fn = np.sum(~predicted & (y == 1))
    assert got["precision"] == pytest.approx(tp / (tp + fp))
    assert got["recall"] == pytest.approx(tp / (tp + fn))
    assert got["f1_score"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    macro = metrics.precision(y, predicted.astype(int), average="macro")
    assert abs(got["precision"] - macro) > 0.01  # the old, macro reading differs here


def test_a_compiled_binary_model_agrees_with_sklearn_defaults() -> None:
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (x @ [1.0, -1.0, 0.5, 0.0] + rng.normal(size=300) > 0.5).astype(np.float32)
    model = Sequential([layers.Input((4,)), layers.Dense(1, activation="sigmoid")], seed=0)
    names = ["precision", "recall", "f1_score", "auc"]
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=names)
    got = model.evaluate(x, y, return_dict=True)
    scores = model.predict(x)[:, 0]
    predicted = (scores > 0.5).astype(int)
    assert got["precision"] == pytest.approx(skm.precision_score(y, predicted))
    assert got["recall"] == pytest.approx(skm.recall_score(y, predicted))
    assert got["f1_score"] == pytest.approx(skm.f1_score(y, predicted))
    assert got["auc"] == pytest.approx(skm.roc_auc_score(y, scores), abs=5e-3)
