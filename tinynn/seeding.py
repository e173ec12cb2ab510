"""Where random generators come from: a seed given to a layer or model, or the global seed.

Every random draw in tinynn comes from a ``numpy.random.Generator`` owned by a layer (initial
weights, dropout masks, augmentation) or a model (shuffling). A seed passed to the object
fixes it. Without one, the generator draws on the *global seed* if ``set_random_seed`` was
called, and on fresh operating-system entropy otherwise.

The global seed is the one piece of global state in tinynn, there because Keras scripts start
with ``keras.utils.set_random_seed(42)`` and expect every later layer to repeat. Each object
created afterwards takes the next independent stream of that seed (``SeedSequence.spawn``),
so results repeat when the same objects are created in the same order.
"""

from __future__ import annotations

import numpy as np

_state: dict[str, np.random.SeedSequence | None] = {"sequence": None}


def set_random_seed(seed: int) -> None:
    """Make every layer and model created from now on without a seed of its own repeatable."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"the seed must be a non-negative integer, got {seed!r}")
    _state["sequence"] = np.random.SeedSequence(int(seed))


def new_generator(seed: int | np.random.SeedSequence | None = None) -> np.random.Generator:
    """A generator from ``seed``; without one, the next stream of the global seed, if set."""
    if seed is None and _state["sequence"] is not None:
        seed = _state["sequence"].spawn(1)[0]
    return np.random.default_rng(seed)


def layer_generators(model) -> list[np.random.Generator]:
    """Every generator of a model's layers, each once, in a fixed order: each layer's, then
    its sublayers' (a ``Residual`` block's children), then those of the twins a functional
    model runs for a layer it calls more than once. ``model.rng`` (shuffling) is not among
    them. What ``BackupAndRestore`` saves and ``DataParallel`` gives per-rank streams."""
    found: dict[int, np.random.Generator] = {}

    def visit(layer) -> None:
        found.setdefault(id(layer.rng), layer.rng)
        children = getattr(layer, "children", None)
        for _, child in children() if callable(children) else []:
            visit(child)

    for layer in model.layers:
        visit(layer)
    for node in getattr(model, "nodes", []):
        visit(node.runner)
    return list(found.values())
