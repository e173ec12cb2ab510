"""``LayerStatistics``: watch activations and gradients, layer by layer, while a model trains.

Vanishing and exploding gradients, dead ReLUs and saturated sigmoids all show up as numbers
per layer: the spread of each layer's output and the size of each parameter's gradient. This
callback records them so they can be plotted (``tinynn.plot.plot_gradient_flow``) or read::

    stats = LayerStatistics(x_probe=x_train[:128])
    model.fit(x_train, y_train, epochs=5, callbacks=[stats])
    stats.history["dense"]["grad_norm"]        # one value per epoch
    stats.history["dense"]["output_std"]

It reads only public state: ``layer.grads`` (which hold the gradients of the batch just
trained on when ``on_train_batch_end`` runs; an optimizer's gradient clipping has already
been applied to them) and the outputs of ``layer.forward`` on a fixed probe batch that you
pass in, run in inference mode (dropout off) after the optimizer step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.callbacks.callback import Callback, Logs

MODES = ("epoch", "batch")
#: The statistics kept for each array: mean, standard deviation and L2 norm.
STATS = ("mean", "std", "norm")


class LayerStatistics(Callback):
    """Record per-layer output and gradient statistics every ``every`` epochs or batches.

    Args:
        every: record every ``every``-th epoch (or batch), starting with the first.
        on: "epoch" or "batch". With "epoch", gradient statistics are the *average over the
            epoch's batches* of each batch's statistic (one batch alone is noisy); with
            "batch", those of that single batch.
        x_probe: optional fixed batch (n, *input_shape). If given, each record also runs it
            through the model layer by layer (``training=False``) and stores the mean, std and
            norm of every layer's output. The same probe every time makes records comparable.

    Attributes:
        history: ``{layer_name: {key: [value per record]}}``, layers in model order. Keys:
            ``"grad_mean"``, ``"grad_std"``, ``"grad_norm"`` over all of the layer's gradient
            arrays together (layers with parameters only); ``"W/grad_norm"`` etc. per
            parameter; ``"output_mean"``, ``"output_std"``, ``"output_norm"`` with a probe.
            The norm is the L2 norm of the whole array, √Σ g².
        steps: the epoch (or global batch) index of each record, 0-based.
    """

    def __init__(self, every: int = 1, on: str = "epoch", x_probe: Any = None) -> None:
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int, got {every!r}")
        if on not in MODES:
            raise ValueError(f"on must be one of {MODES}, got {on!r}")
        self.every = every
        self.on = on
        self.x_probe = None if x_probe is None else np.asarray(x_probe)
        self.history: dict[str, dict[str, list[float]]] = {}
        self.steps: list[int] = []
        self._global_batch = 0
        self._epoch = 0
        self._sums: dict[str, dict[str, float]] = {}
        self._batches = 0

    # -- hooks ---------------------------------------------------------------------------

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.history = {layer.name: {} for layer in self.model.layers}
        self.steps = []
        self._global_batch = 0

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch = epoch
        self._sums = {}
        self._batches = 0

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        step = self._global_batch
        self._global_batch += 1
        if self.on == "batch":
            if step % self.every == 0:
                self._record(step, self.gradient_statistics())
        elif self._epoch % self.every == 0:
            self._accumulate(self.gradient_statistics())

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.on == "epoch" and epoch % self.every == 0 and self._batches:
            averages = {
                name: {key: total / self._batches for key, total in values.items()}
                for name, values in self._sums.items()
            }
            self._record(epoch, averages)

    # -- the statistics ------------------------------------------------------------------

    def gradient_statistics(self) -> dict[str, dict[str, float]]:
        """``{layer_name: {"grad_norm": …, "W/grad_norm": …, …}}`` from ``layer.grads`` now."""
        result = {}
        for layer in self.model.layers:
            if not layer.grads:
                continue
            values = {}
            for key, grad in layer.grads.items():
                for stat, value in describe(grad).items():
                    values[f"{key}/grad_{stat}"] = value
            every_grad = np.concatenate([g.ravel() for g in layer.grads.values()])
            for stat, value in describe(every_grad).items():
                values[f"grad_{stat}"] = value
            result[layer.name] = values
        return result

    def output_statistics(self) -> dict[str, dict[str, float]]:
        """``{layer_name: {"output_mean": …, "output_std": …, "output_norm": …}}`` on the probe.

        Runs ``layer.forward(x, training=False)`` layer by layer, as ``model.predict`` would.
        Layers overwrite their backward caches, which is harmless here: the next training
        step runs its own forward before its backward.
        """
        if self.x_probe is None:
            return {}
        result = {}
        x = self.x_probe.astype(self.model.dtype, copy=False)
        for layer in self.model.layers:
            x = layer.forward(x, training=False)
            result[layer.name] = {f"output_{stat}": value for stat, value in describe(x).items()}
        return result

    # -- bookkeeping ---------------------------------------------------------------------

    def _accumulate(self, stats: dict[str, dict[str, float]]) -> None:
        for name, values in stats.items():
            sums = self._sums.setdefault(name, {})
            for key, value in values.items():
                sums[key] = sums.get(key, 0.0) + value
        self._batches += 1

    def _record(self, step: int, grad_stats: dict[str, dict[str, float]]) -> None:
        self.steps.append(step)
        for source in (grad_stats, self.output_statistics()):
            for name, values in source.items():
                record = self.history.setdefault(name, {})
                for key, value in values.items():
                    record.setdefault(key, []).append(value)


def describe(array: np.ndarray) -> dict[str, float]:
    """Mean, standard deviation and L2 norm of all entries, as Python floats."""
    flat = np.asarray(array, dtype=np.float64).ravel()
    return {
        "mean": float(flat.mean()),
        "std": float(flat.std()),
        "norm": float(np.sqrt(np.dot(flat, flat))),
    }
