"""Weight matrices as heat maps, or each unit's incoming weights as an image."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinynn.plot._mpl import pyplot


def plot_weights(
    layer_or_model: Any,
    image_shape: tuple[int, int] | None = None,
    max_units: int = 32,
    figsize: tuple[float, float] | None = None,
) -> Any:
    """Show weight matrices: a heat map of W per layer, or each unit's weights as an image.

    Args:
        layer_or_model: a layer with ``params["W"]`` of shape (n_in, units), or a model, whose
            layers with a "W" each get one panel.
        image_shape: for a single layer, reshape unit j's incoming weights ``W[:, j]`` to this
            shape and show the first ``max_units`` units as small images (e.g. (8, 8) for the
            first layer of a digits model).
        figsize: (width, height) in inches.

    Returns:
        the Figure. Heat maps use a diverging colour map centred on 0, with a colour bar;
        panel titles give the layer name and the shape of W.
    """
    layers = getattr(layer_or_model, "layers", None)
    layers = [layer_or_model] if layers is None else layers
    layers = [layer for layer in layers if "W" in getattr(layer, "params", {})]
    if not layers:
        raise ValueError("plot_weights found no layer with a weight matrix params['W']; build it")
    plt = pyplot()
    if image_shape is not None:
        if len(layers) != 1:
            raise ValueError("image_shape applies to a single layer; pass the layer, not a model")
        return _unit_images(plt, layers[0], tuple(image_shape), max_units, figsize)
    fig, axes = plt.subplots(
        1, len(layers), figsize=figsize or (3.8 * len(layers), 3.5), squeeze=False
    )
    for ax, layer in zip(axes[0], layers, strict=True):
        weights = layer.params["W"]
        matrix = weights.reshape(weights.shape[0], -1)
        limit = float(np.abs(matrix).max()) or 1.0
        image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_title(f"{layer.name} W {weights.shape}")
        ax.set_xlabel("unit (output)")
        ax.set_ylabel("input")
        fig.colorbar(image, ax=ax)
    fig.tight_layout()
    return fig


def _unit_images(plt: Any, layer: Any, shape: tuple, max_units: int, figsize: Any) -> Any:
    weights = layer.params["W"]
    if math.prod(shape) != weights.shape[0]:
        raise ValueError(
            f"image_shape {shape} holds {math.prod(shape)} values, but each unit of {layer.name} "
            f"has {weights.shape[0]} inputs; expected a shape with that many"
        )
    count = min(max_units, weights.shape[1])
    ncols = min(8, count)
    nrows = -(-count // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize or (1.2 * ncols, 1.3 * nrows))
    axes = np.atleast_1d(axes).ravel()
    limit = float(np.abs(weights[:, :count]).max()) or 1.0
    for j, ax in enumerate(axes):
        ax.set_axis_off()
        if j < count:
            ax.imshow(weights[:, j].reshape(shape), cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(f"unit {j}", fontsize="small")
    fig.suptitle(f"{layer.name}: incoming weights of each unit")
    fig.tight_layout()
    return fig
