"""Keras's accuracy classes: ``BinaryAccuracy``, ``CategoricalAccuracy``,
``SparseCategoricalAccuracy``, as (sample-weighted) running means of per-sample hits.

Each wraps the hit function of the accuracy of the same name in ``functional``, so the class
and the function cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinynn.metrics import scores
from tinynn.metrics.metric import Metric, sample_weights


class MeanMetric(Metric):
    """The weighted mean of one value per sample, accumulated as (total, count)."""

    def initial_state(self) -> dict[str, np.ndarray]:
        return {"total": np.zeros(()), "count": np.zeros(())}

    def per_sample(self, y_true: Any, y_pred: Any) -> np.ndarray:
        """One value per sample, shape (n,)."""
        raise NotImplementedError

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        values = self.per_sample(y_true, y_pred)
        weights = sample_weights(sample_weight, values.shape)
        if weights is None:
            weights = np.ones_like(values)
        self.state["total"] = self.state["total"] + np.sum(weights * values)
        self.state["count"] = self.state["count"] + np.sum(weights)

    def result(self) -> float:
        count = float(self.state["count"])
        return float(self.state["total"]) / count if count else 0.0


class BinaryAccuracy(MeanMetric):
    """How often ``y_pred > threshold`` matches a 0/1 target (Keras's ``BinaryAccuracy``).

    y_true, y_pred: (n,), (n, 1) or (n, m). With m > 1 columns (multi-label), each sample
    scores the mean over its columns, and samples are then weighted by ``sample_weight``.
    """

    def __init__(
        self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5
    ) -> None:
        self.threshold = float(threshold)
        super().__init__(name=name, dtype=dtype)

    def per_sample(self, y_true: Any, y_pred: Any) -> np.ndarray:
        hits = scores.binary_hits(y_true, y_pred, self.threshold)
        return hits.reshape(len(hits), -1).mean(axis=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


class _ArgmaxAccuracy(MeanMetric):
    """Shared body of the two accuracies that compare argmaxes."""

    hits: Callable[[Any, Any], np.ndarray]

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def per_sample(self, y_true: Any, y_pred: Any) -> np.ndarray:
        return self.hits(y_true, y_pred)


class CategoricalAccuracy(_ArgmaxAccuracy):
    """How often ``argmax(y_pred) == argmax(y_true)``; y_true one-hot (n, k), y_pred (n, k)."""

    hits = staticmethod(scores.categorical_hits)


class SparseCategoricalAccuracy(_ArgmaxAccuracy):
    """How often ``argmax(y_pred) == y_true``; y_true labels (n,) or (n, 1), y_pred (n, k)."""

    hits = staticmethod(scores.sparse_categorical_hits)
