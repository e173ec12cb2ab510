"""Where ``fit`` stands: ``FitProgress`` (epoch, step, the epoch's order) and the
``EpochTracker`` (running loss and predictions), which ``BackupAndRestore`` saves and restores
to continue a run in the middle of an epoch."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.batches import Data
from tinynn.train_state import TrainState


class FitProgress:
    """Where ``fit`` stands; callbacks find it as ``params["progress"]``.

    Attributes:
        epoch: the epoch running, or the next one to run between epochs.
        step: how many steps of ``epoch`` are done.
        order: ``epoch``'s order of the samples (indices into the data).
        tracker: the ``EpochTracker`` holding the epoch's running loss and predictions.
        shuffler: the generator that shuffles every epoch (``model.rng``), or None when
            ``fit`` was given ``shuffle=False`` (every epoch then visits the data in order).

    ``state_dict`` says where training stands in plain numbers: with the model, its optimizer
    and its generators, it is everything needed to continue (``BackupAndRestore`` saves all of
    them). Instead of the order itself it keeps the shuffler's state before it drew the order,
    enough to draw the same order again. A callback that calls ``load_state_dict`` in
    ``on_train_begin`` moves ``fit`` there: it starts at that epoch and, if ``step`` > 0,
    continues that epoch with its order and running sums.
    """

    def __init__(self, epoch: int, tracker: EpochTracker, shuffler: Any = None) -> None:
        self.epoch = epoch
        self.step = 0
        self.order: np.ndarray | None = None
        self.tracker = tracker
        self.shuffler = shuffler
        self._order_state: dict | None = None  # the shuffler's state before it drew `order`

    def begin_epoch(self, epoch: int) -> None:
        """Start ``epoch``: its order is ``shuffler.permutation(n)``, or 0, 1, …, n − 1."""
        self.epoch, self.step = epoch, 0
        state = None if self.shuffler is None else self.shuffler.bit_generator.state
        self.order = self._draw_order(state)
        self.tracker.reset(self.order)

    def end_epoch(self) -> None:
        self.epoch, self.step = self.epoch + 1, 0

    def state_dict(self) -> dict[str, Any]:
        """{"epoch", "step"}, and in the middle of an epoch "order_state" (the shuffler's
        state before it drew the order, or None) and "tracker" (``EpochTracker.state_dict``)."""
        state: dict[str, Any] = {"epoch": self.epoch, "step": self.step}
        if self.step > 0:
            state["order_state"] = self._order_state
            state["tracker"] = self.tracker.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        if self.step > 0:
            self.order = self._draw_order(state["order_state"])
            self.tracker.reset(self.order)
            self.tracker.load_state_dict(state["tracker"])

    def _draw_order(self, shuffler_state: dict | None) -> np.ndarray:
        """The order a shuffler in ``shuffler_state`` draws (0, 1, …, n − 1 without one)."""
        n = len(self.tracker.data)
        self._order_state = shuffler_state
        if shuffler_state is None:
            return np.arange(n)
        if self.shuffler is None:
            raise ValueError("the epoch to continue was shuffled, but fit has shuffle=False")
        self.shuffler.bit_generator.state = shuffler_state
        return self.shuffler.permutation(n)


class EpochTracker:
    """Running loss (weighted by batch size) and exact epoch metrics.

    Predictions are stored in one preallocated buffer per output, so the epoch's metrics are
    computed on every sample at once: precision and recall do not average over batches. While
    the epoch runs, the progress bar shows the running loss and the accuracy-type metrics,
    whose batch means do combine exactly. Under a distribution each process holds the
    predictions of its slice of the batch; ``distribution.collect`` gathers the whole batch's.
    """

    def __init__(self, state: TrainState, model: Any, data: Data, distribution: Any = None):
        self.state = state
        self.data = data
        self.distribution = distribution
        shapes = model.output_shape if len(state.outputs) > 1 else [model.output_shape]
        self.predictions = [
            np.empty((len(data), *shape), model.dtype) if output.metrics else None
            for output, shape in zip(state.outputs, shapes, strict=True)
        ]

    def reset(self, order: np.ndarray) -> None:
        """Start an epoch that visits the samples in ``order``."""
        self.targets = self.data.targets(order)
        self.loss_sum = 0.0
        self.seen = 0
        self.running = dict.fromkeys(self.state.metric_names, 0.0)

    def update(self, start: int, size: int, loss: float, y_pred: Any) -> dict[str, float]:
        """Add the batch of ``size`` samples at ``start`` in the epoch's order."""
        predictions = [y_pred] if len(self.state.outputs) == 1 else y_pred
        self.loss_sum += loss * size
        self.seen += size
        logs = {"loss": self.loss_sum / self.seen}
        names = iter(self.state.metric_names)
        for output, store, pred, y in zip(
            self.state.outputs, self.predictions, predictions, self.targets, strict=True
        ):
            if store is None:
                continue
            probs = store[start : start + size]
            if self.distribution is None:
                probs[...] = pred
            else:
                self.distribution.collect(pred, probs)
            output.to_probabilities(probs)
            for fn, name in zip(output.metrics, names, strict=False):
                if "acc" in name:
                    self.running[name] += fn(y[start : start + size], probs) * size
                    logs[name] = self.running[name] / self.seen
        return logs

    def result(self) -> dict[str, float]:
        logs = {"loss": self.loss_sum / max(self.seen, 1)}
        names = iter(self.state.metric_names)
        for output, store, y in zip(
            self.state.outputs, self.predictions, self.targets, strict=True
        ):
            for fn, name in zip(output.metrics, names, strict=False):
                if store is not None and self.seen:
                    logs[name] = float(fn(y[: self.seen], store[: self.seen]))
        return logs

    def state_dict(self) -> dict[str, Any]:
        """The running sums and the predictions so far (those of the epoch's first samples)."""
        return {
            "loss_sum": self.loss_sum,
            "seen": self.seen,
            "running": dict(self.running),
            "predictions": [None if s is None else s[: self.seen].copy() for s in self.predictions],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.loss_sum, self.seen = float(state["loss_sum"]), int(state["seen"])
        self.running = {name: float(value) for name, value in state["running"].items()}
        for store, saved in zip(self.predictions, state["predictions"], strict=True):
            if store is not None:
                store[: self.seen] = saved
