"""Optimizers: SGD, RMSprop, Adam, AdamW, and ``get()`` to build one from a name or config.

Each optimizer keeps per-parameter state for the ``(param, grad)`` pairs it is given and calls
an update kernel from ``tinynn.kernels.numpy_ops.optim``; layers never see it. Update rules
follow ``torch.optim`` exactly; defaults follow Keras (each class notes where they differ).

    opt = optimizers.get("adam")                       # default hyperparameters
    opt = optimizers.Adam(learning_rate=3e-4, clipnorm=1.0)
    opt.step(model.parameters())
"""

from __future__ import annotations

from typing import Any

from tinynn.optimizers.adam import Adam, AdamW
from tinynn.optimizers.base import Optimizer
from tinynn.optimizers.rmsprop import RMSprop
from tinynn.optimizers.sgd import SGD

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def _lookup(name: Any) -> type[Optimizer]:
    key = name.lower() if isinstance(name, str) else name
    if key not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[key]


def get(identifier: str | dict | Optimizer) -> Optimizer:
    """An optimizer from a name, a serialized dict, or an instance.

    * ``"adam"`` (any case): a new ``Adam()`` with default hyperparameters.
    * ``{"class_name": "Adam", "config": {...}}``: ``Adam.from_config(config)``.
    * an ``Optimizer``: returned as it is (so its state is kept).
    """
    if identifier is None:
        raise ValueError(f"An optimizer is required; expected one of {sorted(OPTIMIZERS)}")
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(f"Optimizer config needs a 'class_name' key, got {identifier!r}")
        return _lookup(identifier["class_name"]).from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        return _lookup(identifier)()
    raise ValueError(
        f"Could not interpret optimizer {identifier!r}; expected one of {sorted(OPTIMIZERS)}"
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name": "Adam", "config": optimizer.get_config()}``, the inverse of ``get``."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


__all__ = ["OPTIMIZERS", "SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "get", "serialize"]
