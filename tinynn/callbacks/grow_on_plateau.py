"""GrowOnPlateau: widen a layer when training stops improving, Net2Net's growth while learning."""

from __future__ import annotations

import math
from typing import Any

from tinynn.callbacks.callback import Callback


class GrowOnPlateau(Callback):
    """Widen ``layer`` by ``factor`` (up to ``max_units``) whenever ``monitor`` has not improved
    by more than ``min_delta`` for ``patience`` epochs.

        model.fit(x, y, epochs=50, callbacks=[GrowOnPlateau("dense", max_units=256)])

    The growth is function preserving (``tinynn.grow.widen``), so the loss does not jump; the
    optimizer starts fresh state for the new shapes and keeps its step count. ``growth`` lists
    (epoch, old units, new units) for every widening.

    Args:
        layer: the Dense, Conv2D or SeparableConv2D to widen, by name or index.
        monitor: a key of the epoch logs ("loss", "val_loss", "accuracy", …).
        mode: "min" or "max"; "auto" means "max" for accuracy-like keys, "min" otherwise.
        noise: passed to ``widen`` (0 keeps the function exactly).
    """

    def __init__(
        self,
        layer: Any,
        monitor: str = "loss",
        factor: float = 2.0,
        max_units: int = 1024,
        patience: int = 3,
        min_delta: float = 1e-4,
        mode: str = "auto",
        noise: float = 0.0,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if not factor > 1:
            raise ValueError(f"factor must be above 1, got {factor}")
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.layer, self.monitor, self.factor = layer, monitor, float(factor)
        self.max_units, self.patience, self.min_delta = int(max_units), int(patience), min_delta
        self.mode = mode if mode != "auto" else ("max" if "acc" in monitor else "min")
        self.noise, self.seed = noise, seed
        self.growth: list[tuple[int, int, int]] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.best, self.wait = None, 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        from tinynn import grow

        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(
                f"GrowOnPlateau monitors {self.monitor!r}, not in the logs {sorted(logs or {})}"
            )
        sign = -1.0 if self.mode == "min" else 1.0
        if self.best is None or sign * (value - self.best) > self.min_delta:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        layer = (
            self.model.get_layer(self.layer)
            if isinstance(self.layer, str)
            else self.model.layers[self.layer]
        )
        units = getattr(layer, "units", None) or layer.filters
        if self.wait < self.patience or units >= self.max_units:
            return
        new_units = min(self.max_units, math.ceil(units * self.factor))
        seed = None if self.seed is None else self.seed + len(self.growth)
        grown = grow.widen(self.model, layer.name, new_units, noise=self.noise, seed=seed)
        grow.grow_in_place(self.model, grown)
        self.growth.append((epoch, units, new_units))
        self.best, self.wait = None, 0
