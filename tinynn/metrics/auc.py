"""``AUC``: the area under the ROC or precision-recall curve, as Keras approximates it.

The four outcome counts are accumulated at a fixed grid of thresholds (``confusion_counts``);
each threshold gives one point of the curve, and the area is a Riemann sum over neighbouring
points. The grid decides the accuracy: scores spread evenly over [0, 1] are summed well by
the default 200 thresholds; exact areas (scikit-learn's ``roc_auc_score``) need a threshold
between every two distinct scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.metrics.confusion_metrics import confusion_counts, prepare
from tinynn.metrics.metric import Metric
from tinynn.metrics.scores import safe_divide

EPSILON = 1e-7  # the end thresholds sit this far outside [0, 1], so scores of 0 and 1 count
CURVES = ("ROC", "PR", "PRGAIN")
SUMMATION_METHODS = ("interpolation", "minoring", "majoring")


def interpolated_pr_auc(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """PR area with precision interpolated as Davis & Goadrich (2006) do, per label.

    Between neighbouring thresholds A and B, tp and the predicted positives P = tp + fp
    move linearly, so precision tp / P follows a hyperbola whose integral over recall is
    ``slope * (dtp + intercept * log(P_A / P_B)) / positives`` with slope = dtp / dP and
    intercept = tp_B - slope * P_B (Keras's closed form of the paper's interpolation).
    """
    dtp = tp[:-1] - tp[1:]
    predicted = tp + fp
    dp = predicted[:-1] - predicted[1:]
    slope = safe_divide(dtp, np.maximum(dp, 0))
    intercept = tp[1:] - slope * predicted[1:]
    # Where a bucket starts with no predicted positive, precision is held constant (log 1).
    both = (predicted[:-1] > 0) & (predicted[1:] > 0)
    ratio = np.where(both, safe_divide(predicted[:-1], np.maximum(predicted[1:], 0)), 1.0)
    increments = safe_divide(
        slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0)
    )
    return increments.sum(axis=0)


def curve_points(curve: str, tp, fp, tn, fn) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the curve at each threshold, from high recall to low."""
    recall = safe_divide(tp, tp + fn)
    if curve == "ROC":
        return safe_divide(fp, fp + tn), recall
    if curve == "PR":
        return recall, safe_divide(tp, tp + fp)
    # PR gain (Flach & Kull, 2015): recall and precision rescaled by positives / negatives.
    scale = safe_divide(tp + fn, tn + fp)
    recall_gain = np.where(tp == 0, 0.0, 1.0 - scale * safe_divide(fn, tp))
    precision_gain = np.where(tp == 0, 1.0, 1.0 - scale * safe_divide(fp, tp))
    return np.maximum(recall_gain, 0.0), precision_gain


class AUC(Metric):
    """Area under the ROC (default) or precision-recall curve of binary scores.

    Args:
        num_thresholds: thresholds on the grid, > 1: -1e-7, (i + 1) / (num_thresholds - 1)
            for i < num_thresholds - 2, and 1 + 1e-7.
        curve: "ROC", "PR", or "PRGAIN" (precision-recall gain).
        summation_method: "interpolation" (trapezoids; for PR, Davis & Goadrich's
            interpolation), "minoring" (the lower of two neighbouring heights) or
            "majoring" (the higher); the last two bound the area from below and above.
        name, dtype: as in ``Metric``.
        thresholds: the grid's inner thresholds instead of an even grid; the end
            thresholds are added.
        multi_label: score each column of (n, labels) data separately and average the
            areas; when False every entry counts as one more sample (use False for
            multiclass one-hot data).
        num_labels: the number of columns with multi_label (else read from the first batch).
        label_weights: per-column weights: of the averaged areas (multi_label) or of the
            entries (not multi_label).
        from_logits: apply the sigmoid to y_pred first.
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds: Any = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ) -> None:
        if str(curve).upper() not in CURVES:
            raise ValueError(f"curve must be one of {CURVES}, got {curve!r}")
        if str(summation_method).lower() not in SUMMATION_METHODS:
            raise ValueError(
                f"summation_method must be one of {SUMMATION_METHODS}, got {summation_method!r}"
            )
        self.init_thresholds = thresholds
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
        elif isinstance(num_thresholds, int) and num_thresholds > 1:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        else:
            raise ValueError(f"num_thresholds must be an int > 1, got {num_thresholds!r}")
        self.num_thresholds = len(inner) + 2
        self.thresholds = [-EPSILON, *inner, 1.0 + EPSILON]
        if num_labels is not None and not multi_label:
            raise ValueError("num_labels is needed only when multi_label is True")
        self.curve = str(curve).upper()
        self.summation_method = str(summation_method).lower()
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, float)
        if self.label_weights is not None and np.any(self.label_weights < 0):
            raise ValueError(f"label_weights must be >= 0, got {label_weights!r}")
        self.from_logits = bool(from_logits)
        super().__init__(name=name, dtype=dtype)

    def initial_state(self) -> dict[str, np.ndarray]:
        if self.multi_label and self.num_labels is None:
            return {}  # made by the first update_state, which knows the number of columns
        shape = (
            (self.num_thresholds, self.num_labels) if self.multi_label else (self.num_thresholds,)
        )
        return {key: np.zeros(shape) for key in ("tp", "fp", "tn", "fn")}

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        positive, scores, weights = prepare(y_true, y_pred, sample_weight)
        if self.from_logits:
            scores = 0.5 * (1.0 + np.tanh(0.5 * scores))  # the sigmoid, without overflow
        if self.multi_label:
            if scores.ndim != 2:
                raise ValueError(
                    f"multi_label=True needs y_pred of shape (n, labels), got {scores.shape}"
                )
            if not self.state:
                self.num_labels = scores.shape[1]
                self.state = self.initial_state()
            columns = [
                confusion_counts(
                    positive[:, j],
                    scores[:, j],
                    None if weights is None else weights[:, j],
                    self.thresholds,
                )
                for j in range(scores.shape[1])
            ]
            counts = {key: np.stack([c[key] for c in columns], axis=1) for key in columns[0]}
        else:
            if self.label_weights is not None:
                by_label = np.broadcast_to(self.label_weights, scores.shape)  # each column's weight
                weights = by_label if weights is None else by_label * weights
            counts = confusion_counts(positive, scores, weights, self.thresholds)
        for short, key in (
            ("tp", "true_positives"),
            ("fp", "false_positives"),
            ("tn", "true_negatives"),
            ("fn", "false_negatives"),
        ):
            self.state[short] = self.state[short] + counts[key]

    def result(self) -> float:
        if not self.state:
            return 0.0
        tp, fp, tn, fn = (self.state[key] for key in ("tp", "fp", "tn", "fn"))
        if self.curve == "PR" and self.summation_method == "interpolation":
            areas = interpolated_pr_auc(tp, fp, fn)
        else:
            x, y = curve_points(self.curve, tp, fp, tn, fn)
            if self.summation_method == "interpolation":
                heights = (y[:-1] + y[1:]) / 2
            elif self.summation_method == "minoring":
                heights = np.minimum(y[:-1], y[1:])
            else:
                heights = np.maximum(y[:-1], y[1:])
            areas = np.sum((x[:-1] - x[1:]) * heights, axis=0)
        if not self.multi_label:
            return float(areas)
        if self.label_weights is None:
            return float(np.mean(areas))
        return float(safe_divide(np.sum(areas * self.label_weights), np.sum(self.label_weights)))

    def get_config(self) -> dict[str, Any]:
        config = {
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self.from_logits,
        }
        if self.init_thresholds is not None:
            config["thresholds"] = self.thresholds[1:-1]
        return {**super().get_config(), **config}
