"""Models, as ``keras.models`` spells them: ``Sequential``, ``Model``, ``load_model`` and
``clone_model``.

``Model`` (``tinynn.model_base``) is the training interface every model shares;
``Sequential`` (``tinynn.sequential``) is a list of layers and a loop over them;
``Model(inputs=..., outputs=...)`` makes a ``Functional`` model (``tinynn.functional``), a
graph of layers.
"""

from __future__ import annotations

import os

from tinynn.functional import Functional
from tinynn.model_base import Model
from tinynn.registry import Registry
from tinynn.sequential import Sequential

#: Model classes a file may name. Loading looks them up here and nowhere else.
MODELS = Registry("model", {"Sequential": Sequential, "Functional": Functional}, base=Model)


def load_model(path: str | os.PathLike) -> Model:
    """Load a model saved with ``model.save(path)``: structure, weights and, if it was
    compiled, the optimizer and its state. Never executes code from the file."""
    from tinynn import saving

    return saving.load_model(path, MODELS)


def clone_model(model: Model) -> Model:
    """A new model of the same structure with freshly initialised weights (Keras's
    ``clone_model``): rebuilt from ``model.get_config()``, sharing nothing with ``model``."""
    return MODELS.lookup(type(model).__name__).from_config(model.get_config())


__all__ = ["MODELS", "Functional", "Model", "Sequential", "clone_model", "load_model"]
