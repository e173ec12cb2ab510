"""What ``compile`` decides (``TrainState``) and the loops behind ``fit`` and ``evaluate``.

One training step is the data path of the whole library, in plain method calls
(``train_step``):

    y_pred = model.forward(x, training=True)          # layer.forward, first to last
    loss = state.train_loss.forward(y_pred, y)
    model.backward(state.train_loss.backward())       # layer.backward, last to first
    state.optimizer.step(model.parameters())          # (param, grad) pairs

``fit`` is short because callbacks do the bookkeeping (history, progress bar, early stopping,
checkpoints) through Keras's fixed hook names. The loops read the model only through its
public methods and the ``TrainState`` that ``compile`` stored on it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from tinynn import losses
from tinynn import metrics as metrics_module
from tinynn.callbacks import CallbackList, History
from tinynn.validation import check_array, check_non_negative_int, check_positive_int, check_targets
from tinynn.workspace import borrow


@dataclass
class TrainState:
    """The result of ``model.compile``: how the model trains and what it reports.

    Attributes:
        optimizer, loss: as compiled (instances).
        metric_specs: the metrics as given to ``compile`` (names or functions).
        ops: the kernel backend (``tinynn.kernels``) the layers and the loss run on.
        train_loss: what training minimises: ``loss``, or its from-logits twin when the
            output activation is folded into it (``fused_activation`` then names it).
        metrics, metric_names: the metric functions, resolved for the model's output, and
            their names in ``History``.
        buffers: the reusable arrays the training loop lends each layer and the loss
            (``lend_buffers``), keyed by the object's id.
    """

    optimizer: Any
    loss: losses.Loss
    metric_specs: list[Any]
    ops: ModuleType
    train_loss: losses.Loss | None = None
    fused_activation: str | None = None
    metrics: list[Any] = field(default_factory=list)
    metric_names: list[str] = field(default_factory=list)
    buffers: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def bound(self) -> bool:
        return self.train_loss is not None

    def bind(self, model: Any) -> None:
        """The decisions that need the built model: loss fusion, metrics, the layers' backend."""
        self.train_loss, self.fused_activation = losses.fuse_output_activation(
            self.loss, model.output_layer
        )
        self.train_loss.ops = self.ops
        for layer in model.layers:
            layer.ops = self.ops
        self.metric_names = [
            spec if isinstance(spec, str) else metrics_module.name_of(spec)
            for spec in self.metric_specs
        ]
        self.metrics = [
            metrics_module.resolve(spec, self.loss.name, model.output_shape)
            for spec in self.metric_specs
        ]

    @contextmanager
    def lend_buffers(self, model: Any) -> Iterator[None]:
        """While the block runs, every layer and the loss write into buffers allocated once
        and reused at every step, so training allocates nothing per step. Afterwards they
        allocate fresh arrays again, so outputs a caller keeps stay valid."""
        owners = [*model.layers, self.train_loss]
        for owner in owners:
            owner.workspace = self.buffers.setdefault(id(owner), {})
        try:
            yield
        finally:
            for owner in owners:
                owner.workspace = None

    def to_probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """The model's outputs from what training produced: logits -> p when fused."""
        if self.fused_activation is None:
            return outputs
        from tinynn import activations

        return activations.get(self.fused_activation).forward(outputs, out=outputs)


def train_step(model: Any, state: TrainState, x: np.ndarray, y: np.ndarray):
    """One optimizer step on one batch; returns (loss, y_pred) with y_pred as the last layer
    produced it (logits when the output activation is fused into the loss)."""
    loss, y_pred = compute_gradients(model, state, x, y)
    state.optimizer.step(model.parameters())
    return loss, y_pred


def compute_gradients(model: Any, state: TrainState, x: np.ndarray, y: np.ndarray):
    """Forward and backward on one batch, filling every trainable layer's grads; returns
    (loss, y_pred)."""
    y_pred = model.forward(x, training=True, logits=state.fused_activation is not None)
    loss = state.train_loss.forward(y_pred, y) + model.regularization_loss()
    model.backward(state.train_loss.backward())
    return loss, y_pred


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
    """Mini-batch training; see ``Model.fit``."""
    batch_size = check_positive_int(batch_size, "batch_size")
    epochs = check_non_negative_int(epochs, "epochs")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    state = model.require_compiled()
    x, y = prepare_xy(model, x, y)
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (x_val, y_val)")
        x_val, y_val = prepare_xy(model, *validation_data)
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
    tracker = EpochTracker(state, model.output_shape, n, model.dtype)
    batches: dict[str, np.ndarray] = {}
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        order = model.rng.permutation(n) if shuffle else np.arange(n)
        tracker.reset(y[order])
        with state.lend_buffers(model):
            for step in range(steps):
                rows = order[step * batch_size : (step + 1) * batch_size]
                callback_list.on_train_batch_begin(step)
                x_batch = gather(state.ops, batches, "x", x, rows)
                y_batch = gather(state.ops, batches, "y", y, rows)
                loss, y_pred = train_step(model, state, x_batch, y_batch)
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
    state = model.require_compiled()
    x = check_array(x, "x", model.dtype, model.input_shape if model.built else None)
    if not model.built:
        model.build(x.shape[1:])
    if not state.bound:
        state.bind(model)
    sparse = state.loss.name == "sparse_categorical_crossentropy"
    y = check_targets(y, len(x), model.output_shape, model.dtype, sparse)
    if sparse:
        y = losses.check_labels(y, model.output_shape[-1])
    return x, y


def gather(
    ops: ModuleType, batches: dict[str, np.ndarray], name: str, source: np.ndarray, rows
) -> np.ndarray:
    """source[rows], copied into a batch buffer reused at every step."""
    out = borrow(batches, name, (len(rows), *source.shape[1:]), source.dtype)
    return ops.gather_rows(source, rows, out)


class EpochTracker:
    """Running loss (weighted by batch size) and exact epoch metrics.

    Predictions are stored in one preallocated buffer so the epoch's metrics are computed on
    every sample at once: precision and recall do not average over batches. While the epoch
    runs, the progress bar shows the running loss and the accuracy-type metrics, whose batch
    means do combine exactly.
    """

    def __init__(self, state: TrainState, output_shape: tuple, n: int, dtype: Any) -> None:
        self.state = state
        shape = (n, *output_shape)
        self.predictions = np.empty(shape, dtype) if state.metrics else None

    def reset(self, y_true_in_order: np.ndarray) -> None:
        self.y_true = y_true_in_order
        self.loss_sum = 0.0
        self.seen = 0
        self.running = dict.fromkeys(self.state.metric_names, 0.0)

    def update(self, start: int, loss: float, y_pred: np.ndarray) -> dict[str, float]:
        size = len(y_pred)
        self.loss_sum += loss * size
        self.seen += size
        logs = {"loss": self.loss_sum / self.seen}
        if self.predictions is not None:
            probs = self.predictions[start : start + size]
            probs[...] = y_pred
            self.state.to_probabilities(probs)
            y_true = self.y_true[start : start + size]
            for name, fn in zip(self.state.metric_names, self.state.metrics, strict=True):
                if "acc" in name:
                    self.running[name] += fn(y_true, probs) * size
                    logs[name] = self.running[name] / self.seen
        return logs

    def result(self) -> dict[str, float]:
        logs = {"loss": self.loss_sum / max(self.seen, 1)}
        if self.predictions is not None and self.seen:
            y_true, y_pred = self.y_true[: self.seen], self.predictions[: self.seen]
            for name, fn in zip(self.state.metric_names, self.state.metrics, strict=True):
                logs[name] = float(fn(y_true, y_pred))
        return logs


def evaluate(
    model: Any, x: Any, y: Any, batch_size: int = 32, return_dict: bool = False
) -> float | list[float] | dict[str, float]:
    """Loss (with regularization, as in training) and metrics on all of (x, y)."""
    state = model.require_compiled()
    x, y = prepare_xy(model, x, y)
    batch_size = check_positive_int(batch_size, "batch_size")
    fused = state.fused_activation is not None
    outputs = np.empty((len(x), *model.output_shape), dtype=model.dtype)
    for start in range(0, len(x), batch_size):
        outputs[start : start + batch_size] = model.forward(
            x[start : start + batch_size], training=False, logits=fused
        )
    results = {"loss": state.train_loss.forward(outputs, y) + model.regularization_loss()}
    state.to_probabilities(outputs)
    for name, fn in zip(state.metric_names, state.metrics, strict=True):
        results[name] = float(fn(y, outputs))
    if return_dict:
        return results
    values = list(results.values())
    return values[0] if len(values) == 1 else values
