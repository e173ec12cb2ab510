"""Decision boundaries of a classifier on 2-D points."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.plot._mpl import figure_and_ax


def plot_decision_boundary(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    resolution: int = 200,
    ax: Any = None,
    figsize: tuple[float, float] | None = None,
    padding: float = 0.5,
    title: str | None = None,
) -> Any:
    """Colour the plane by the class the model predicts, and scatter the data on top.

    Args:
        model: anything with ``predict(points) -> (m, k)`` scores; k = 1 means a sigmoid
            output (class 1 where the score > 0.5), k > 1 means argmax over classes.
        x: (n, 2) points; y: (n,) integer labels.
        resolution: grid points per axis; the image is (resolution, resolution).
        padding: margin around the data, in data units.

    Returns:
        the Figure. The ax holds one image (the predicted class per grid point, row 0 at the
        bottom: ``origin="lower"``) and one scatter collection of the n points.
    """
    x = np.asarray(x)
    y = np.asarray(y).reshape(-1)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(
            f"plot_decision_boundary needs 2-D points, x of shape (n, 2); got {x.shape}"
        )
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} points but y has {len(y)} labels; expected the same")
    if not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    lows, highs = x.min(axis=0) - padding, x.max(axis=0) + padding
    grid_x = np.linspace(lows[0], highs[0], resolution)
    grid_y = np.linspace(lows[1], highs[1], resolution)
    mesh_x, mesh_y = np.meshgrid(grid_x, grid_y)  # row i has y = grid_y[i]
    points = np.column_stack([mesh_x.ravel(), mesh_y.ravel()])
    classes = predicted_classes(model.predict(points)).reshape(resolution, resolution)

    fig, ax = figure_and_ax(ax, figsize or (5, 4.5))  # first, so a missing matplotlib is explained
    from matplotlib.colors import ListedColormap

    n_classes = int(max(classes.max(), y.max())) + 1
    colours = [f"C{k % 10}" for k in range(n_classes)]
    cmap = ListedColormap(colours)
    extent = (lows[0], highs[0], lows[1], highs[1])
    # One colour per class, so that class k is the same colour in the image and the points.
    colour_range = {"cmap": cmap, "vmin": -0.5, "vmax": n_classes - 0.5}
    ax.imshow(classes, origin="lower", extent=extent, alpha=0.3, aspect="auto", **colour_range)
    ax.scatter(x[:, 0], x[:, 1], c=y, s=14, edgecolors="k", linewidths=0.4, **colour_range)
    ax.set_xlim(lows[0], highs[0])
    ax.set_ylim(lows[1], highs[1])
    if title is not None:
        ax.set_title(title)
    return fig


def predicted_classes(scores: np.ndarray) -> np.ndarray:
    """Class labels from model outputs: argmax over classes, or ``score > 0.5`` for one column."""
    scores = np.asarray(scores)
    if scores.ndim == 1 or scores.shape[-1] == 1:
        return (scores.reshape(len(scores)) > 0.5).astype(np.int64)
    return np.argmax(scores, axis=-1)
