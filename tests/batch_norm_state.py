"""A test helper: batch normalization with statistics and γ, β that do something."""

from __future__ import annotations

import numpy as np

from tinynn import layers


def randomize_state(model, seed=0):
    """Moving statistics and γ, β away from their initial values, so BN does something."""
    rng = np.random.default_rng(seed)

    def visit(layer):
        for child in [*getattr(layer, "block", []), *(getattr(layer, "shortcut", None) or [])]:
            visit(child)
        if isinstance(layer, layers.BatchNormalization):
            shape = layer.state["moving_mean"].shape
            layer.state["moving_mean"][...] = rng.normal(0, 0.5, shape)
            layer.state["moving_variance"][...] = rng.uniform(0.5, 2, shape)
            layer.params["gamma"][...] = rng.uniform(0.5, 1.5, shape)
            layer.params["beta"][...] = rng.normal(0, 0.3, shape)

    for layer in model.layers:
        visit(layer)
    return model
