"""The results block that ``train`` and ``evaluate`` print: scores and a confusion matrix.

    Test split (360 samples)
      loss               0.0721
      accuracy           0.9778
      precision (macro)  0.9781
      recall (macro)     0.9776

    Confusion matrix (rows: true class, columns: predicted class)
    true\\pred   0   1   2 ...
            0  36   0   0
            1   0  35   1

``train`` and ``evaluate`` both call ``compute_scores`` and then ``print_scores``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinynn import datasets, metrics


def format_confusion_matrix(matrix: np.ndarray, labels: Sequence[Any]) -> str:
    """A right-aligned table of counts, true classes down the side, predictions across."""
    corner = "true\\pred"
    names = [str(label) for label in labels]
    width = max(len(name) for name in [*names, str(int(matrix.max(initial=0)))])
    side = max(len(corner), *(len(name) for name in names))
    lines = [corner.ljust(side) + "".join(f"  {name:>{width}}" for name in names)]
    for name, row in zip(names, matrix, strict=True):
        lines.append(name.rjust(side) + "".join(f"  {int(count):>{width}}" for count in row))
    return "\n".join(lines)


def compute_scores(model: Any, x: np.ndarray, y: np.ndarray, n_classes: int) -> dict[str, Any]:
    """Loss (for a cross-entropy model), accuracy, macro precision/recall, confusion matrix.

    x: (n, n_features) float32 model inputs; y: (n,) int64 class indices.
    """
    probabilities = model.predict(x)
    predicted = probabilities.argmax(axis=1)
    scores: dict[str, Any] = {}
    loss_name = getattr(model.loss, "name", None)
    if loss_name == "sparse_categorical_crossentropy":
        scores["loss"] = float(model.evaluate(x, y, return_dict=True)["loss"])
    elif loss_name == "categorical_crossentropy":
        targets = datasets.to_categorical(y, model.output_shape[-1])
        scores["loss"] = float(model.evaluate(x, targets, return_dict=True)["loss"])
    # Other losses (or an uncompiled model) have no loss that fits class labels: skip it.
    return {
        **scores,
        "accuracy": float(np.mean(predicted == y)),
        "precision (macro)": float(metrics.precision(y, predicted, average="macro")),
        "recall (macro)": float(metrics.recall(y, predicted, average="macro")),
        "confusion": metrics.confusion_matrix(y, predicted, num_classes=n_classes),
    }


def print_scores(
    title: str, scores: dict[str, Any], labels: Sequence[Any], print_fn: Callable = print
) -> None:
    """Print ``compute_scores`` output under a title, names aligned in one column."""
    names = [name for name in scores if name != "confusion"]
    width = max(len(name) for name in names)
    print_fn(title)
    for name in names:
        print_fn(f"  {name.ljust(width)}  {scores[name]:.4f}")
    print_fn("")
    print_fn("Confusion matrix (rows: true class, columns: predicted class)")
    print_fn(format_confusion_matrix(scores["confusion"], labels))
