"""Synthetic data shaped for any compiled model: what a profile or a benchmark trains on.

The time and memory of a training step do not depend on the values, only on the shapes (and
on the values being ordinary numbers: no denormals, no NaN). So a saved model, or a model
family in a benchmark, can be measured without its data set.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def random_data(model: Any, samples: int, seed: int = 0) -> tuple[Any, Any]:
    """(x, y) for ``samples`` samples of a compiled model.

    x: uniform values in [0, 1) of each input's shape, in the model's dtype (a list for a
    model with several inputs). y: for each output, what its compiled loss takes: integer
    labels for sparse categorical cross-entropy, one-hot rows for categorical cross-entropy,
    0/1 values for binary cross-entropy, standard normal values otherwise.
    """
    state = model.require_compiled()
    model.require_built()
    if not state.bound:
        state.bind(model)
    rng = np.random.default_rng(seed)
    in_shapes = [model.input_shape] if model.single_input else list(model.input_shape)
    out_shapes = [model.output_shape] if model.single_output else list(model.output_shape)
    xs = [rng.random((samples, *shape), dtype=model.dtype) for shape in in_shapes]
    ys = [
        _targets(output.loss.name, shape, samples, model.dtype, rng)
        for output, shape in zip(state.outputs, out_shapes, strict=True)
    ]
    return (xs[0] if model.single_input else xs), (ys[0] if model.single_output else ys)


def _targets(loss: str, shape: tuple[int, ...], samples: int, dtype: Any, rng) -> np.ndarray:
    classes = shape[-1]
    if loss == "sparse_categorical_crossentropy":
        return rng.integers(0, classes, size=(samples, *shape[:-1]))
    if loss == "categorical_crossentropy":
        labels = rng.integers(0, classes, size=(samples, *shape[:-1]))
        return np.eye(classes, dtype=dtype)[labels]
    if loss == "binary_crossentropy":
        return rng.integers(0, 2, size=(samples, *shape)).astype(dtype)
    return rng.standard_normal((samples, *shape)).astype(dtype)


def suitable_loss(model: Any) -> Any:
    """A loss for each output from its layer's activation: sparse categorical cross-entropy
    after softmax, binary cross-entropy after sigmoid, mean squared error otherwise (one
    name, or a list for a model with several outputs)."""
    chosen = []
    for layer in [model.output_layer] if model.single_output else model.output_layers:
        activation = getattr(getattr(layer, "activation", None), "name", None)
        by_activation = {
            "softmax": "sparse_categorical_crossentropy",
            "sigmoid": "binary_crossentropy",
        }
        chosen.append(by_activation.get(activation, "mean_squared_error"))
    return chosen[0] if model.single_output else chosen
