"""Keras's threshold metrics: ``Precision``, ``Recall`` and ``AUC``, counted in NumPy.

Every entry of ``y_pred`` is a score; at a threshold t it is predicted positive when
``score > t``, and its target is positive when non-zero. Counting the four outcomes (true and
false positives and negatives) at each threshold gives everything:

    precision = tp / (tp + fp)     recall = tp / (tp + fn)     fpr = fp / (fp + tn)

and the area under the curve those points trace over a grid of thresholds (``AUC``, in auc.py).
A binary model's single column and a multi-label model's many columns are both just entries;
``class_id`` picks one column, ``top_k`` keeps only each row's k best scores.

Where we deviate from Keras: integer labels (n,) are accepted against scores (n, k) and
one-hot encoded, as a sparse loss trains them (Keras needs one-hot targets), and calling the
object is stateless (see ``Metric``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.metrics.metric import Metric, sample_weights
from tinynn.metrics.scores import check_pair, safe_divide

NEG_INF = -1e10  # Keras's threshold with top_k: every kept score lies above it


def prepare(y_true: Any, y_pred: Any, sample_weight: Any = None, top_k=None, class_id=None):
    """``(positive, scores, weights)``, all of one shape: targets as booleans, the scores
    ``top_k`` and ``class_id`` leave, and per-entry weights (or None)."""
    y_true, y_pred = check_pair(y_true, y_pred)
    y_true, y_pred = y_true.astype(np.float64), y_pred.astype(np.float64)
    if y_pred.ndim == 2 and y_pred.shape[1] > 1 and y_true.size == len(y_true):
        labels, k = y_true.reshape(-1), y_pred.shape[1]
        if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() >= k:
            raise ValueError(
                f"y_true has shape {y_true.shape}, so it must hold integer labels in "
                f"[0, {k - 1}] for y_pred of shape {y_pred.shape}; got {np.unique(labels)[:5]}"
            )
        y_true = np.eye(k)[labels.astype(np.int64)]
    elif y_true.size == y_pred.size:
        y_true = y_true.reshape(y_pred.shape)  # (n,) against (n, 1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true shape {y_true.shape} must match y_pred shape {y_pred.shape}")
    weights = sample_weights(sample_weight, y_pred.shape)
    if top_k is not None:
        best = np.argsort(-y_pred, axis=-1, kind="stable")[..., :top_k]  # ties: lower index
        kept = np.zeros(y_pred.shape, dtype=bool)
        np.put_along_axis(kept, best, True, axis=-1)
        y_pred = np.where(kept, y_pred, NEG_INF)
    if class_id is not None:
        if y_pred.ndim < 2 or class_id >= y_pred.shape[-1]:
            raise ValueError(
                f"class_id={class_id} needs y_pred of shape (n, num_classes) with more than "
                f"{class_id} columns, got {y_pred.shape}"
            )
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
        weights = None if weights is None else weights[..., class_id]
    return y_true != 0, y_pred, weights


def confusion_counts(positive, scores, weights, thresholds) -> dict[str, np.ndarray]:
    """Weighted tp, fp, tn, fn at each threshold (same order as ``thresholds``).

    Sorting the thresholds once, each score falls in the bucket ``b`` = how many of them
    lie below it; it is predicted positive at the first b. A histogram of buckets and a
    cumulative sum then give the counts in O(n log t), without an (n, t) comparison.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    order = np.argsort(thresholds, kind="stable")
    buckets = np.searchsorted(thresholds[order], scores.ravel(), side="left")
    w = np.ones(buckets.shape) if weights is None else weights.ravel()
    is_pos = positive.ravel()
    size = len(thresholds) + 1
    pos_hist = np.bincount(buckets, weights=w * is_pos, minlength=size)
    neg_hist = np.bincount(buckets, weights=w * ~is_pos, minlength=size)
    # Below sorted threshold i (predicted negative): buckets 0..i; above it: buckets i+1..
    below = {"pos": np.cumsum(pos_hist)[:-1], "neg": np.cumsum(neg_hist)[:-1]}
    above = {"pos": np.cumsum(pos_hist[::-1])[::-1][1:], "neg": np.cumsum(neg_hist[::-1])[::-1][1:]}
    in_order = np.empty_like(order)
    in_order[order] = np.arange(len(order))
    return {
        "true_positives": above["pos"][in_order],
        "false_positives": above["neg"][in_order],
        "true_negatives": below["neg"][in_order],
        "false_negatives": below["pos"][in_order],
    }


def parse_thresholds(thresholds: Any, default: float) -> list[float]:
    """A float or a list of floats in [0, 1] (Keras's rule); None gives ``[default]``."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, list | tuple) else [thresholds]
    bad = [t for t in values if not isinstance(t, int | float) or not 0 <= t <= 1]
    if bad or not values:
        raise ValueError(f"thresholds must be numbers in [0, 1], got {thresholds!r}")
    return [float(t) for t in values]


def _check_index(value: Any, name: str, minimum: int) -> int | None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or value < minimum
    ):
        raise ValueError(f"{name} must be None or an int >= {minimum}, got {value!r}")
    return value


class _ThresholdMetric(Metric):
    """Counts of two outcomes at each of a few thresholds; ``Precision`` and ``Recall``."""

    counted: tuple[str, str]  # (true_positives, the error that completes the denominator)

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.top_k = _check_index(top_k, "top_k", 1)
        self.class_id = _check_index(class_id, "class_id", 0)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        super().__init__(name=name, dtype=dtype)

    def initial_state(self) -> dict[str, np.ndarray]:
        return {key: np.zeros(len(self.thresholds)) for key in self.counted}

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        data = prepare(y_true, y_pred, sample_weight, self.top_k, self.class_id)
        counts = confusion_counts(*data, self.thresholds)
        for key in self.counted:
            self.state[key] = self.state[key] + counts[key]

    def result(self) -> float | np.ndarray:
        """A float, or one value per threshold when several were given."""
        hits, misses = (self.state[key] for key in self.counted)
        value = safe_divide(hits, hits + misses)
        return float(value[0]) if len(value) == 1 else value

    @property
    def true_positives(self) -> np.ndarray:
        """Weighted count at each threshold, as Keras's variable of that name."""
        return self.state["true_positives"]

    def get_config(self) -> dict[str, Any]:
        extra = {"thresholds": self.init_thresholds, "top_k": self.top_k, "class_id": self.class_id}
        return {**super().get_config(), **extra}


class Precision(_ThresholdMetric):
    """tp / (tp + fp): of the entries predicted positive, the fraction that are positive.

    Args:
        thresholds: a float or list of floats in [0, 1]; an entry is predicted positive
            when its score exceeds it. Default 0.5, or none at all with ``top_k``. Use 0
            for logits. Several thresholds give one result each (an array); ``compile``
            needs one number per epoch, so give it a single threshold.
        top_k: count only each row's k highest scores as predictions.
        class_id: score only this column of (n, num_classes) predictions.
        name, dtype: as in ``Metric``.

    For a binary model (one sigmoid unit) this is scikit-learn's ``precision_score`` of
    ``y_pred > 0.5``: the precision of the positive class.
    """

    counted = ("true_positives", "false_positives")

    @property
    def false_positives(self) -> np.ndarray:
        return self.state["false_positives"]


class Recall(_ThresholdMetric):
    """tp / (tp + fn): of the positive entries, the fraction predicted positive.

    Arguments as in ``Precision``.
    """

    counted = ("true_positives", "false_negatives")

    @property
    def false_negatives(self) -> np.ndarray:
        return self.state["false_negatives"]


def positive_class_f1(y_true: Any, y_pred: Any, threshold: float = 0.5) -> float:
    """F1 = 2 tp / (2 tp + fp + fn) of the entries whose score exceeds ``threshold``: for a
    binary model, scikit-learn's ``f1_score`` of ``y_pred > 0.5`` (the positive class)."""
    counts = confusion_counts(*prepare(y_true, y_pred), [threshold])
    tp, fp, fn = (
        counts[key][0] for key in ("true_positives", "false_positives", "false_negatives")
    )
    return float(safe_divide(2 * tp, 2 * tp + fp + fn))
