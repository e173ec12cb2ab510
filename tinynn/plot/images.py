"""Image grids and confusion matrices: looking at data and at mistakes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinynn.plot._mpl import figure_and_ax, pyplot


def plot_confusion_matrix(
    cm: np.ndarray,
    class_names: Sequence[str] | None = None,
    ax: Any = None,
    figsize: tuple[float, float] | None = None,
    normalize: bool = False,
) -> Any:
    """Draw a confusion matrix (rows = true class, columns = predicted) with counts in cells.

    Args:
        cm: (k, k) counts, as from ``tinynn.metrics.confusion_matrix``.
        class_names: k tick labels; default "0" … "k-1".
        normalize: divide each row by its total, so a cell reads "fraction of class i
            predicted as j" (shown with two decimals).

    Returns:
        the Figure; the ax has one image of the (possibly normalized) matrix, one text per
        cell, x label "predicted" and y label "true".
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix must be square (k, k), got shape {cm.shape}")
    k = cm.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(n) for n in class_names]
    if len(names) != k:
        raise ValueError(f"got {len(names)} class_names for a {k}×{k} matrix; expected {k}")
    values = cm.astype(float)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    fig, ax = figure_and_ax(ax, figsize or (0.5 * k + 2.5, 0.5 * k + 2))
    image = ax.imshow(values, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax)
    threshold = values.max() / 2 if values.size else 0
    for i in range(k):
        for j in range(k):
            text = f"{values[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            colour = "white" if values[i, j] > threshold else "black"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize="small")
    ax.set_xticks(range(k))
    ax.set_xticklabels(names)
    ax.set_yticks(range(k))
    ax.set_yticklabels(names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return fig


def show_images(
    images: np.ndarray,
    labels: Sequence[Any] | None = None,
    predictions: Sequence[Any] | None = None,
    ncols: int = 8,
    figsize: tuple[float, float] | None = None,
    cmap: str = "gray_r",
) -> Any:
    """A grid of small images with their labels; wrong predictions get red titles.

    Args:
        images: (n, h, w), (n, h, w, 1), (n, h, w, 3), or flat (n, h·w) with h = w.
        labels: n true labels, shown as each title.
        predictions: n predicted labels; titles become "true/pred", red where they differ.
        ncols: images per row.

    Returns:
        the Figure: one ax per image (axes beyond n are hidden), each with its image.
    """
    images = _as_image_stack(np.asarray(images))
    n = len(images)
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values is not None and len(values) != n:
            raise ValueError(f"got {len(values)} {name} for {n} images; expected {n}")
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    plt = pyplot()
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=figsize or (1.2 * ncols, 1.35 * nrows), squeeze=False
    )
    for index, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if index >= n:
            continue
        ax.imshow(images[index], cmap=cmap if images[index].ndim == 2 else None)
        title, colour = _image_title(index, labels, predictions)
        if title:
            ax.set_title(title, color=colour, fontsize="small")
    fig.tight_layout()
    return fig


def _as_image_stack(images: np.ndarray) -> np.ndarray:
    """(n, h, w) or (n, h, w, 3) from the accepted layouts."""
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side != images.shape[1]:
            raise ValueError(
                f"flat images of {images.shape[1]} pixels are not square; pass (n, h, w) instead"
            )
        return images.reshape(len(images), side, side)
    if images.ndim == 4 and images.shape[-1] == 1:
        return images[..., 0]
    if images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3):
        return images
    raise ValueError(
        f"images must be (n, h, w), (n, h, w, 1), (n, h, w, 3) or (n, h*w); got {images.shape}"
    )


def _image_title(index: int, labels: Any, predictions: Any) -> tuple[str, str]:
    if predictions is None:
        return ("" if labels is None else str(labels[index])), "black"
    if labels is None:
        return f"pred {predictions[index]}", "black"
    true, pred = labels[index], predictions[index]
    return f"{true}/{pred}", ("black" if true == pred else "red")
