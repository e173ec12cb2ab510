"""Optimizers: SGD, RMSprop, Adam, AdamW, and ``get()`` to build one from a name or config.

Each optimizer keeps per-parameter state for the ``(param, grad)`` pairs it is given and calls
an update kernel from ``tinynn.kernels.numpy_ops.update_rules``; layers never see it. Update rules
follow ``torch.optim`` exactly; defaults follow Keras (each class notes where they differ).

    opt = optimizers.get("adam")                       # default hyperparameters
    opt = optimizers.Adam(learning_rate=3e-4, clipnorm=1.0)
    opt.step(model.parameters())
"""

from __future__ import annotations

from typing import Any

from tinynn.optimizers import schedules
from tinynn.optimizers.adam import Adam, AdamW
from tinynn.optimizers.optimizer import Optimizer
from tinynn.optimizers.rmsprop import RMSprop
from tinynn.optimizers.sgd import SGD
from tinynn.registry import Registry

OPTIMIZERS = Registry(
    "optimizer",
    {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW},
    base=Optimizer,
)

register = OPTIMIZERS.register


def get(identifier: Any) -> Optimizer:
    """An optimizer from a name, a serialized dict, or an instance.

    * ``"adam"`` (any case): a new ``Adam()`` with default hyperparameters.
    * ``{"class_name": "Adam", "config": {...}}``: ``Adam.from_config(config)``.
    * an ``Optimizer``: returned as it is (so its state is kept).
    """
    return OPTIMIZERS.resolve(identifier)


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name": "Adam", "config": optimizer.get_config()}``, the inverse of ``get``."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "get",
    "register",
    "schedules",
    "serialize",
]
