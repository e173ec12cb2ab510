"""Metrics: numbers that tell a person how well the model does.

- ``scores``: plain functions ``metric(y_true, y_pred) -> float`` (accuracy, precision,
  recall, F1, the confusion matrix), with scikit-learn's averaging options;
- ``accuracy_metrics``, ``confusion_metrics``, ``auc``: Keras's metric classes
  (``BinaryAccuracy``, ``Precision(thresholds, top_k, class_id)``, ``Recall``, ``AUC``, ...),
  which also accumulate over batches with ``update_state`` / ``result`` / ``reset_state``;
- here: ``get`` (a name to a metric) and ``resolve``, the rule by which a name given to
  ``compile(metrics=[...])`` depends on the model's loss and output, as in Keras.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from tinynn.metrics.accuracy_metrics import (
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
)
from tinynn.metrics.auc import AUC
from tinynn.metrics.confusion_metrics import Precision, Recall, positive_class_f1
from tinynn.metrics.metric import Metric
from tinynn.metrics.scores import (
    AVERAGES,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    confusion_matrix,
    f1_score,
    precision,
    recall,
    sparse_categorical_accuracy,
)

MetricFn = Callable[[np.ndarray, np.ndarray], Any]

# Losses whose targets are 0/1 labels, so "accuracy", "precision", ... mean the binary kind.
BINARY_LOSSES = frozenset({"binary_crossentropy", "bce"})

__all__ = [
    "AUC",
    "AVERAGES",
    "BINARY_LOSSES",
    "METRICS",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "Metric",
    "Precision",
    "Recall",
    "SparseCategoricalAccuracy",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "confusion_matrix",
    "f1_score",
    "get",
    "infer_accuracy",
    "is_binary",
    "name_of",
    "precision",
    "recall",
    "resolve",
    "sparse_categorical_accuracy",
]


def name_of(metric: Callable) -> str:
    """The History key of a metric: its ``name`` attribute, else its ``__name__``."""
    name = getattr(metric, "name", None) or getattr(metric, "__name__", None)
    return name if isinstance(name, str) else type(metric).__name__


# ---- lookup ----
#: Names ``get`` knows. A class is instantiated with its defaults on each lookup.
METRICS: dict[str, MetricFn | type[Metric]] = {
    "accuracy": accuracy,
    "acc": accuracy,
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "precision": precision,
    "recall": recall,
    "f1_score": f1_score,
    "f1": f1_score,
    "auc": AUC,
}


def get(identifier: str | MetricFn | None) -> MetricFn | None:
    """Return the metric for a name, or the callable itself (None stays None).

    Note: "accuracy", "precision", ... here infer their format from the data shapes and
    average over classes; a model that knows its loss calls ``resolve`` instead, as Keras
    does.
    """
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        if identifier in METRICS:
            found = METRICS[identifier]
            return found() if isinstance(found, type) else found
        raise ValueError(
            f"Unknown metric {identifier!r}; expected one of: {', '.join(sorted(METRICS))}"
        )
    raise TypeError(
        f"metric identifier must be a name (str) or a callable, got {type(identifier).__name__}"
    )


# ---- what a name means for a model ----
def is_binary(loss_name: str | None, output_shape: int | tuple[int | None, ...]) -> bool:
    """True for a model that scores 0/1 targets: binary cross-entropy, or one output unit."""
    units = output_shape if isinstance(output_shape, int) else output_shape[-1]
    return (loss_name or "") in BINARY_LOSSES or units == 1


def _renamed(fn: Callable, name: str, **attributes: Any) -> Callable:
    """``fn`` under the History key ``name`` (``functools.wraps`` keeps ``__wrapped__``)."""

    @functools.wraps(fn)
    def metric(y_true: Any, y_pred: Any) -> Any:
        return fn(y_true, y_pred)

    metric.__name__ = name
    metric.name = name  # type: ignore[attr-defined]
    for key, value in attributes.items():
        setattr(metric, key, value)
    return metric


def infer_accuracy(loss_name: str | None, output_shape: int | tuple[int | None, ...]) -> MetricFn:
    """Pick the accuracy that the string "accuracy" means, as Keras does from the loss.

    - binary accuracy when the loss is binary cross-entropy or the output has 1 unit;
    - sparse categorical accuracy when the loss name starts with "sparse_";
    - categorical accuracy otherwise.

    The returned function is named "accuracy", so History keeps the key the user wrote.
    """
    if is_binary(loss_name, output_shape):
        chosen: Callable = binary_accuracy
    elif (loss_name or "").startswith("sparse_"):
        chosen = sparse_categorical_accuracy
    else:
        chosen = categorical_accuracy
    return _renamed(chosen, "accuracy")


_AVERAGED = {"precision": precision, "recall": recall, "f1_score": f1_score, "f1": f1_score}


def resolve(spec: Any, loss_name: str | None, output_shape: int | tuple[int | None, ...]) -> Any:
    """The metric that an entry of ``compile(metrics=[...])`` means for this model.

    Objects and functions are used as given. Names follow the model, as in Keras and
    scikit-learn, keeping the name as the History key:

    - "accuracy"/"acc": see ``infer_accuracy``;
    - "precision", "recall", "f1_score"/"f1" for a binary model (``is_binary``): of the
      positive class, each score above 0.5 counting as a positive prediction
      (``Precision()``, ``Recall()``; scikit-learn's ``average="binary"``);
    - the same names for a multiclass model: the macro average over classes, which the
      function's ``average`` attribute records (the progress bar prints
      "precision (macro)");
    - anything else: ``get(spec)``.
    """
    if not isinstance(spec, str):
        return get(spec)
    if spec.lower() in ("accuracy", "acc"):
        return infer_accuracy(loss_name, output_shape)
    if spec not in _AVERAGED:
        return get(spec)
    if not is_binary(loss_name, output_shape):
        return _renamed(_AVERAGED[spec], spec, average="macro")
    if spec == "precision":
        return Precision(name=spec)
    if spec == "recall":
        return Recall(name=spec)
    return _renamed(positive_class_f1, spec, average="binary")
