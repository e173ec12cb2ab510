"""The loops behind ``Sequential.fit``, ``evaluate`` and ``predict``.

``fit`` is short because callbacks do the bookkeeping (history, progress bar, early stopping,
checkpoints) through Keras's fixed hook names. One step is ``model.compute_gradients`` followed
by ``model.optimizer.step(model.parameters())``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinynn import metrics as metrics_module
from tinynn.callbacks import CallbackList, History
from tinynn.losses import check_labels
from tinynn.validation import (
    check_array,
    check_non_negative_int,
    check_positive_int,
    check_targets,
)
from tinynn.workspace import borrow


def fit(
    model: Any,
    x: Any,
    y: Any,
    batch_size: int = 32,
    epochs: int = 1,
    verbose: Any = "auto",
    callbacks: Sequence[Any] | None = None,
    validation_split: float = 0.0,
    validation_data: tuple | None = None,
    shuffle: bool = True,
    initial_epoch: int = 0,
) -> History:
    """Mini-batch training; see ``Sequential.fit``."""
    batch_size = check_positive_int(batch_size, "batch_size")
    epochs = check_non_negative_int(epochs, "epochs")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    x, y = model._prepare_xy(x, y)
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (x_val, y_val)")
        x_val, y_val = model._prepare_xy(*validation_data)
    elif validation_split > 0.0:
        split = int(len(x) * (1.0 - validation_split))
        if split <= 0 or split >= len(x):
            raise ValueError(
                f"validation_split={validation_split} leaves no training or no validation "
                f"samples out of {len(x)}"
            )
        x, x_val, y, y_val = x[:split], x[split:], y[:split], y[split:]
    else:
        x_val = y_val = None

    n = len(x)
    steps = -(-n // batch_size)
    callback_list = CallbackList(
        callbacks,
        model=model,
        params={"epochs": epochs, "steps": steps, "verbose": verbose},
        add_history=True,
        add_progbar=True,
    )
    tracker = _EpochTracker(model, n)
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        order = model.rng.permutation(n) if shuffle else np.arange(n)
        tracker.reset(y[order])
        for step in range(steps):
            batch = order[step * batch_size : (step + 1) * batch_size]
            callback_list.on_train_batch_begin(step)
            x_batch = _gather(model, "x", x, batch)
            y_batch = _gather(model, "y", y, batch)
            loss, y_pred = model.compute_gradients(x_batch, y_batch)
            model.step_optimizer()
            logs = tracker.update(step * batch_size, loss, y_pred)
            callback_list.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        epoch_logs = tracker.result()
        if x_val is not None:
            val_logs = evaluate(model, x_val, y_val, batch_size=batch_size, return_dict=True)
            epoch_logs.update({f"val_{key}": value for key, value in val_logs.items()})
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callback_list.on_train_end()
    model.history = callback_list.history
    return model.history


def prepare_xy(model: Any, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Check x and y once (shapes, dtypes, finiteness, label range) and cast them to the
    model's dtype; build the model from x's shape if it has no input shape yet."""
    x = check_array(x, "x", model.dtype, model.input_shape if model.built else None)
    if not model.built:
        model.build(x.shape[1:])
    if model._train_loss is None:
        model._finish_compile()
    sparse = model.loss.name == "sparse_categorical_crossentropy"
    y = check_targets(y, len(x), model.output_shape, model.dtype, sparse)
    if sparse:
        y = check_labels(y, model.output_shape[-1])
    return x, y


def _gather(model: Any, name: str, source: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """source[rows], copied into the model's reusable batch buffer (no allocation per step)."""
    out = borrow(model._batch_workspace, name, (len(rows), *source.shape[1:]), source.dtype)
    if source.ndim == 2 and source.dtype.kind == "f":
        return model._ops.gather_rows(source, rows, out)
    return np.take(source, rows, axis=0, out=out)


class _EpochTracker:
    """Running loss (weighted by batch size) and exact epoch metrics.

    Predictions are stored in one preallocated buffer so the epoch's metrics are computed on
    every sample at once: precision and recall do not average over batches. While the epoch
    runs, the progress bar shows the running loss and the accuracy-type metrics, whose batch
    means do combine exactly.
    """

    def __init__(self, model: Any, n: int) -> None:
        self.model = model
        self.names = model._metric_names
        self.metric_fns = model.metrics
        shape = (n, *model.output_shape)
        self.predictions = np.empty(shape, model.dtype) if self.metric_fns else None

    def reset(self, y_true_in_order: np.ndarray) -> None:
        self.y_true = y_true_in_order
        self.loss_sum = 0.0
        self.seen = 0
        self.running = dict.fromkeys(self.names, 0.0)

    def update(self, start: int, loss: float, y_pred: np.ndarray) -> dict[str, float]:
        size = len(y_pred)
        self.loss_sum += loss * size
        self.seen += size
        logs = {"loss": self.loss_sum / self.seen}
        if self.predictions is not None:
            probs = self.predictions[start : start + size]
            activation = self.model._fused_activation
            if activation is not None:
                self.model.layers[-1].ops.activation_forward(activation, y_pred, 0.0, probs)
            else:
                probs[...] = y_pred
            y_true = self.y_true[start : start + size]
            for name, fn in zip(self.names, self.metric_fns, strict=True):
                if "acc" in name:
                    self.running[name] += fn(y_true, probs) * size
                    logs[name] = self.running[name] / self.seen
        return logs

    def result(self) -> dict[str, float]:
        logs = {"loss": self.loss_sum / max(self.seen, 1)}
        if self.predictions is not None and self.seen:
            y_true, y_pred = self.y_true[: self.seen], self.predictions[: self.seen]
            for name, fn in zip(self.names, self.metric_fns, strict=True):
                logs[name] = float(fn(y_true, y_pred))
        return logs


def predict(model: Any, x: Any, batch_size: int = 32) -> np.ndarray:
    """Outputs of ``model.forward(x, training=False)``, computed batch by batch.

    x is checked once here, never again per layer. A compiled stack of Dense layers runs as
    one backend call per batch (``tinynn.inference``), which is what makes one-sample
    latency low.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    model._require_built()
    x = check_array(x, "x", model.dtype, model.input_shape)
    stack = model._dense_stack
    forward = stack.forward if stack is not None else model.forward
    if len(x) <= batch_size:
        return forward(x).copy()
    outputs = np.empty((len(x), *model.output_shape), dtype=model.dtype)
    for start in range(0, len(x), batch_size):
        outputs[start : start + batch_size] = forward(x[start : start + batch_size])
    return outputs


def evaluate(
    model: Any, x: Any, y: Any, batch_size: int = 32, return_dict: bool = False
) -> float | list[float] | dict[str, float]:
    """Loss (with regularization, as in training) and metrics on all of (x, y)."""
    x, y = model._prepare_xy(x, y)
    fused = model._fused_activation is not None
    batch_size = check_positive_int(batch_size, "batch_size")
    outputs = np.empty((len(x), *model.output_shape), dtype=model.dtype)
    for start in range(0, len(x), batch_size):
        outputs[start : start + batch_size] = model.forward(
            x[start : start + batch_size], training=False, logits=fused
        )
    results = {"loss": model._train_loss.forward(outputs, y) + model.regularization_loss()}
    if fused:
        model.layers[-1].ops.activation_forward(model._fused_activation, outputs, 0.0, outputs)
    for name, fn in zip(model._metric_names, model.metrics, strict=True):
        results[name] = float(fn(y, outputs))
    if return_dict:
        return results
    values = list(results.values())
    return values[0] if len(values) == 1 else values


def metric_names(specs: Sequence[Any]) -> list[str]:
    """History keys for compiled metrics: the string given, or the function's name."""
    return [s if isinstance(s, str) else metrics_module.name_of(s) for s in specs]
