"""Metric functions: ``metric(y_true, y_pred) -> float`` on whole arrays, in NumPy.

Unlike losses, metrics need no gradient. ``fit`` calls the compiled ones on every epoch's
predictions and stores the result in ``History`` under the metric's name (the Keras names:
"accuracy", "precision", "recall", "f1_score", ...).

Accepted target formats (``n`` samples, ``k`` classes):

- class labels ``(n,)`` or ``(n, 1)`` holding whole numbers ``0 .. k-1``;
- one-hot rows or per-class probabilities ``(n, k)`` with ``k > 1`` (reduced by argmax);
- probabilities of the positive class ``(n,)`` or ``(n, 1)`` in ``[0, 1]``
  (reduced by ``p > 0.5``). A column of whole numbers is read as labels; for
  0/1 values both readings agree, so this rule is never ambiguous.

Precision, recall and F1 follow scikit-learn with ``zero_division=0``. Called directly they
average over classes ("macro") unless told otherwise; compiled into a binary model, the
names mean the positive class (see ``tinynn.metrics.resolve``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

AVERAGES = ("macro", "micro", "weighted", "binary", None)


def _metric_name(name: str) -> Callable[[Callable], Callable]:
    """Attach ``.name`` (the History key) to a metric function."""

    def attach(fn: Callable) -> Callable:
        fn.name = name  # type: ignore[attr-defined]
        return fn

    return attach


# ---- validation ----
def check_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert both arguments to arrays and reject empty, mismatched or non-finite input."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.ndim == 0:
            raise ValueError(f"{name} must be an array with one row per sample, got a scalar {y}")
        if y.shape[0] == 0:
            raise ValueError(f"{name} is empty (shape {y.shape}); expected at least one sample")
        if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
            raise ValueError(f"{name} must be numeric, got dtype {y.dtype}")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{name} contains NaN or inf; expected only finite values")
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"y_true has {y_true.shape[0]} samples but y_pred has {y_pred.shape[0]}; "
            "expected the same number"
        )
    return y_true, y_pred


def _as_labels(y: np.ndarray, name: str) -> np.ndarray:
    """Reduce labels, one-hot rows or probabilities to int64 class labels, shape (n,)."""
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1).astype(np.int64)  # one-hot or per-class probabilities
    if y.ndim == 2:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must have shape (n,), (n, 1) or (n, k), got {y.shape}")
    if np.all(y == np.round(y)):
        if np.any(y < 0):
            raise ValueError(f"{name} holds negative label {y.min()}; expected labels >= 0")
        return y.astype(np.int64)
    if np.any(y < 0) or np.any(y > 1):
        raise ValueError(
            f"{name} holds non-integer values outside [0, 1] (min {y.min()}, max {y.max()}); "
            "expected class labels or probabilities"
        )
    return (y > 0.5).astype(np.int64)  # probability of class 1


def _num_columns(y: np.ndarray) -> int:
    """Number of classes an (n, k) one-hot/probability array declares; 0 for label arrays."""
    return y.shape[1] if y.ndim == 2 and y.shape[1] > 1 else 0


# ---- accuracies ----
# Each *_hits function gives one 0/1 float per sample (per entry, for binary), so the
# functions below take a plain mean and the streaming classes a weighted one: one formula.
def binary_hits(y_true: Any, y_pred: Any, threshold: float = 0.5) -> np.ndarray:
    """1.0 where ``y_pred > threshold`` equals the 0/1 target; shape of y_pred, (n,) or (n, m)."""
    y_true, y_pred = check_pair(y_true, y_pred)
    if y_true.size == y_pred.size == y_true.shape[0]:
        y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)  # (n,) vs (n, 1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true shape {y_true.shape} must match y_pred shape {y_pred.shape}")
    if not np.all((y_true == 0) | (y_true == 1)):
        raise ValueError(f"y_true must hold only 0 and 1, got values {np.unique(y_true)[:5]}")
    return (y_true == (y_pred > threshold)).astype(np.float64)


def categorical_hits(y_true: Any, y_pred: Any) -> np.ndarray:
    """(n,) 1.0 where ``argmax(y_pred) == argmax(y_true)``."""
    y_true, y_pred = check_pair(y_true, y_pred)
    if y_true.ndim != 2 or y_true.shape != y_pred.shape:
        raise ValueError(
            f"categorical_accuracy expects one-hot y_true and y_pred of equal shape (n, k), "
            f"got {y_true.shape} and {y_pred.shape}; for integer labels use "
            "sparse_categorical_accuracy"
        )
    return (np.argmax(y_true, axis=1) == np.argmax(y_pred, axis=1)).astype(np.float64)


def sparse_categorical_hits(y_true: Any, y_pred: Any) -> np.ndarray:
    """(n,) 1.0 where ``argmax(y_pred) == y_true``."""
    y_true, y_pred = check_pair(y_true, y_pred)
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = y_true[:, 0]
    if y_true.ndim != 1 or y_pred.ndim != 2:
        raise ValueError(
            f"sparse_categorical_accuracy expects y_true (n,) labels and y_pred (n, k), "
            f"got {y_true.shape} and {y_pred.shape}"
        )
    if np.any(y_true != np.round(y_true)) or y_true.min() < 0 or y_true.max() >= y_pred.shape[1]:
        raise ValueError(
            f"y_true must hold integer labels in [0, {y_pred.shape[1] - 1}], "
            f"got values from {y_true.min()} to {y_true.max()}"
        )
    return (np.argmax(y_pred, axis=1) == y_true).astype(np.float64)


@_metric_name("binary_accuracy")
def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> float:
    """Fraction of entries where ``y_pred > threshold`` equals the 0/1 target.

    y_true: (n,) or (n, 1) or (n, m) of 0/1;  y_pred: same shape (``(n,)`` and
    ``(n, 1)`` are interchangeable), probabilities or scores.
    """
    return float(np.mean(binary_hits(y_true, y_pred, threshold)))


@_metric_name("categorical_accuracy")
def categorical_accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of rows where ``argmax(y_pred) == argmax(y_true)``.

    y_true: (n, k) one-hot;  y_pred: (n, k) probabilities or scores.
    """
    return float(np.mean(categorical_hits(y_true, y_pred)))


@_metric_name("sparse_categorical_accuracy")
def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of rows where ``argmax(y_pred) == y_true``.

    y_true: (n,) or (n, 1) integer labels in ``0 .. k-1``;  y_pred: (n, k).
    """
    return float(np.mean(sparse_categorical_hits(y_true, y_pred)))


@_metric_name("accuracy")
def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of samples whose predicted class equals the true class.

    The format of each argument is read from its shape (see the module docstring),
    so labels, one-hot rows and probabilities can be mixed freely.
    """
    y_true, y_pred = check_pair(y_true, y_pred)
    k_true, k_pred = _num_columns(y_true), _num_columns(y_pred)
    if k_true and k_pred and k_true != k_pred:
        raise ValueError(f"y_true has {k_true} columns but y_pred has {k_pred}; expected equal")
    return float(np.mean(_as_labels(y_true, "y_true") == _as_labels(y_pred, "y_pred")))


# ---- confusion matrix ----
def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Count matrix ``C[i, j]`` = number of samples of true class i predicted as class j.

    Returns int64 (k, k), rows = true, columns = predicted (scikit-learn's convention).
    ``k`` is ``num_classes`` if given, else the largest label + 1 (or the column count of
    one-hot input).
    """
    y_true, y_pred = check_pair(y_true, y_pred)
    t, p = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    needed = max(int(t.max()) + 1, int(p.max()) + 1, _num_columns(y_true), _num_columns(y_pred))
    if num_classes is None:
        k = needed
    elif isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    elif num_classes < needed:
        raise ValueError(f"num_classes={num_classes} is too small: the data needs {needed}")
    else:
        k = num_classes
    # Each (true, pred) pair gets one flat index true*k + pred; counting those indices in
    # one bincount fills the whole matrix without a Python loop.
    counts = np.bincount(t * k + p, minlength=k * k)
    return counts.reshape(k, k).astype(np.int64)


# ---- precision / recall / F1 ----
def safe_divide(numerator: Any, denominator: Any) -> np.ndarray:
    """Element-wise division that gives 0 where the denominator is 0 (zero_division=0)."""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator), np.asarray(denominator))
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _precision_recall_f1(y_true: Any, y_pred: Any, average: str | None) -> tuple[Any, Any, Any]:
    """Compute (precision, recall, f1), each a float, or (k,) arrays when average is None.

    Per class c, from the confusion matrix C:
        tp = C[c, c],  predicted = sum_i C[i, c],  actual = sum_j C[c, j]
        precision = tp / predicted,  recall = tp / actual,
        f1 = 2 tp / (predicted + actual)      (= 2 P R / (P + R), defined when P + R = 0)
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    cm = confusion_matrix(y_true, y_pred, num_classes=None)
    if average == "binary":
        if cm.shape[0] > 2:
            raise ValueError(
                f"average='binary' needs labels 0 and 1, but the data has {cm.shape[0]} "
                "classes; expected average='macro', 'micro' or 'weighted'"
            )
        cm = confusion_matrix(y_true, y_pred, num_classes=2)
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    actual = cm.sum(axis=1).astype(np.float64)

    if average == "micro":
        # Pool the counts of all classes first; for single-label data this equals accuracy.
        tp, predicted, actual = tp.sum(), predicted.sum(), actual.sum()
    precision = safe_divide(tp, predicted)
    recall = safe_divide(tp, actual)
    f1 = safe_divide(2 * tp, predicted + actual)

    if average is None:
        return precision, recall, f1
    if average == "micro":
        return float(precision), float(recall), float(f1)
    if average == "binary":
        return float(precision[1]), float(recall[1]), float(f1[1])
    # As scikit-learn: average over the classes that occur in y_true or y_pred.
    present = (predicted + actual) > 0
    weights = actual[present] if average == "weighted" else None
    return tuple(float(np.average(s[present], weights=weights)) for s in (precision, recall, f1))


@_metric_name("precision")
def precision(y_true: Any, y_pred: Any, average: str | None = "macro") -> Any:
    """Precision ``tp / (tp + fp)``: of the samples predicted as c, the fraction truly c.

    y_true, y_pred: labels (n,), or one-hot/probabilities (n, k) reduced by argmax.
    average: "macro" (default) averages the per-class values with equal weight over the
        classes present in y_true or y_pred; "weighted" weights them by the true count of
        each class; "micro" pools all counts first (equals accuracy for single-label
        data); "binary" reports class 1 only (labels must be 0/1); None returns the
        per-class array, shape (k,), indexed by label.
    A class that is never predicted gets precision 0 and a class that never occurs gets
    recall 0, like scikit-learn's ``zero_division=0``.
    """
    return _precision_recall_f1(y_true, y_pred, average)[0]


@_metric_name("recall")
def recall(y_true: Any, y_pred: Any, average: str | None = "macro") -> Any:
    """Recall ``tp / (tp + fn)``: of the samples truly c, the fraction predicted as c.

    Arguments and averaging as in ``precision``.
    """
    return _precision_recall_f1(y_true, y_pred, average)[1]


@_metric_name("f1_score")
def f1_score(y_true: Any, y_pred: Any, average: str | None = "macro") -> Any:
    """F1 ``2 P R / (P + R) = 2 tp / (2 tp + fp + fn)``, the harmonic mean of P and R.

    Arguments and averaging as in ``precision``. Macro F1 is the mean of per-class F1
    values, not the F1 of the macro precision and recall (scikit-learn does the same).
    """
    return _precision_recall_f1(y_true, y_pred, average)[2]
