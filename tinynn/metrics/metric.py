"""``Metric``: the base of the metric classes, Keras's streaming interface on NumPy arrays.

    m = Precision()
    m.update_state(y_true_batch_1, y_pred_batch_1)   # adds counts
    m.update_state(y_true_batch_2, y_pred_batch_2)
    m.result()                                        # precision over both batches
    m.reset_state()

A subclass keeps its running state as NumPy arrays in ``self.state`` (a dict made by
``initial_state``) and says how a batch adds to it and how the state becomes a number.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np


def snake_case(name: str) -> str:
    """``"SparseCategoricalAccuracy"`` -> ``"sparse_categorical_accuracy"``; ``"AUC"`` -> "auc"."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def sample_weights(sample_weight: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """``sample_weight`` broadcast to ``shape``: a scalar, one weight per sample (n,), or one
    per entry. Keras's rule: missing trailing axes are added, so (n,) weights whole rows."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.ndim > len(shape):
        raise ValueError(
            f"sample_weight has shape {weights.shape}; expected a scalar, (n,) or {shape}"
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight contains NaN or inf; expected finite weights")
    weights = weights.reshape(weights.shape + (1,) * (len(shape) - weights.ndim))
    try:
        return np.broadcast_to(weights, shape)
    except ValueError:
        raise ValueError(
            f"sample_weight of shape {np.shape(sample_weight)} does not fit predictions of "
            f"shape {shape}"
        ) from None


class Metric:
    """A metric that accumulates over batches: ``update_state``, ``result``, ``reset_state``.

    Args:
        name: the History key; default: the class name in snake case ("precision", "auc").
        dtype: accepted for Keras compatibility and ignored: counts are float64 and
            results Python floats.

    Deviation from Keras: calling the object, ``m(y_true, y_pred)``, scores those arrays
    alone and leaves the running state untouched (Keras also adds them to it). That is what
    ``fit`` needs: it calls each compiled metric once per epoch on all of the epoch's
    predictions, and on each batch for the progress bar.
    """

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype
        self.state: dict[str, np.ndarray] = {}
        self.reset_state()

    def initial_state(self) -> dict[str, np.ndarray]:
        """Fresh running state, e.g. ``{"total": 0.0, "count": 0.0}`` as arrays."""
        raise NotImplementedError

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch to the running state."""
        raise NotImplementedError

    def result(self) -> Any:
        """The metric over everything added since the last reset (a float)."""
        raise NotImplementedError

    def reset_state(self) -> None:
        # New arrays rather than zeroing in place, so a copy made by __call__ shares nothing.
        self.state = self.initial_state()

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """The metric on these arrays alone; the running state is left as it was."""
        scratch = object.__new__(type(self))
        scratch.__dict__.update(self.__dict__)
        scratch.reset_state()
        scratch.update_state(y_true, y_pred, sample_weight)
        return scratch.result()

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as JSON-able values; ``from_config`` rebuilds the metric."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
