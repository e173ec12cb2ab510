"""The loops behind ``fit`` and ``evaluate``, reading one ``TrainState`` (``tinynn.train_state``).

One training step is the data path of the whole library, in plain method calls
(``train_step``):

    y_pred = model.forward(x, training=True)          # layer.forward, first to last
    loss = state.train_loss.forward(y_pred, y)        # one loss per output, weighted
    model.backward(state.train_loss.backward())       # layer.backward, last to first
    state.optimizer.step(model.parameters())          # (param, grad) pairs

``fit`` is short because callbacks do the bookkeeping (history, progress bar, early stopping,
checkpoints, backups) through Keras's fixed hook names; where it stands (epoch, step, the
epoch's order) is a ``FitProgress`` they can read, and a backup can move. Under a distribution
(``tinynn.distributed.DataParallel``) every process runs this same loop on its slice of each
batch (``shard``), and the steps and logs are those of the global batch. Data for a model
with several inputs or outputs is a list (or a dict by layer name) of arrays; ``batches.Data``
holds it in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinynn.batches import Data, prepare_data
from tinynn.callbacks import CallbackList, History
from tinynn.fit_progress import EpochTracker, FitProgress
from tinynn.train_state import TrainState
from tinynn.validation import check_non_negative_int, check_positive_int


def forward_loss(model: Any, state: TrainState, x: Any, y: Any, sample_weight=None):
    """The loss of one batch: each output's loss times its weight, summed, plus the layers'
    regularization. x and y are arrays (lists of arrays for several inputs or outputs),
    already checked. Each loss keeps its gradient for ``output_gradients``.

    Returns (loss, y_pred), y_pred as the output layers produced it (logits where the output
    activation is folded into the loss).
    """
    outputs = state.outputs
    if len(outputs) == 1:  # the common case, without lists
        output = outputs[0]
        y_pred = model.forward(x, training=True, logits=output.fused_activation is not None)
        loss = output.weight * output.train_loss.forward(y_pred, y, sample_weight)
        return loss + model.regularization_loss(), y_pred
    logits = [output.fused_activation is not None for output in outputs]
    y_pred = model.forward(x, training=True, logits=logits)
    loss = sum(
        output.weight * output.train_loss.forward(prediction, target, sample_weight)
        for output, prediction, target in zip(outputs, y_pred, y, strict=True)
    )
    return loss + model.regularization_loss(), y_pred


def output_gradients(state: TrainState, scale: float = 1.0) -> Any:
    """dL/dy_pred of the last ``forward_loss``, times ``scale``: one array, or one per output."""
    grads = [
        output.train_loss.backward()
        if output.weight * scale == 1.0
        else output.weight * scale * output.train_loss.backward()
        for output in state.outputs
    ]
    return grads[0] if len(grads) == 1 else grads


def compute_gradients(model: Any, state: TrainState, x: Any, y: Any, sample_weight=None):
    """Forward and backward on one batch, filling every trainable layer's grads; returns
    (loss, y_pred) as ``forward_loss``."""
    loss, y_pred = forward_loss(model, state, x, y, sample_weight)
    model.backward(output_gradients(state))
    return loss, y_pred


def train_step(model: Any, state: TrainState, x: Any, y: Any, sample_weight=None):
    """One optimizer step on one batch; returns (loss, y_pred) as ``compute_gradients``.

    Under a distribution (``tinynn.distributed.DataParallel``) x and y are this process's
    slice of the global batch: its loss gradient is weighted by the slice's share of the batch
    (``output_scale``), and ``reduce_gradients`` sums the gradients of every process before
    the step and returns the loss of the global batch. y_pred stays this process's.
    """
    distribution = state.distribution
    if distribution is None:
        loss, y_pred = compute_gradients(model, state, x, y, sample_weight)
    else:
        loss, y_pred = forward_loss(model, state, x, y, sample_weight)
        model.backward(output_gradients(state, distribution.output_scale(model)))
        loss = distribution.reduce_gradients(model, loss)
    state.optimizer.step(model.parameters())
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
    sample_weight: Any = None,
    class_weight: dict | None = None,
) -> History:
    """Mini-batch training; see ``Model.fit``."""
    batch_size = check_positive_int(batch_size, "batch_size")
    epochs = check_non_negative_int(epochs, "epochs")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    state = model.require_compiled()
    data = prepare_data(model, x, y, sample_weight, class_weight)
    validation = None
    if validation_data is not None:
        if not isinstance(validation_data, tuple | list) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, weights)")
        validation = prepare_data(model, *validation_data)
    elif validation_split > 0.0:
        split = int(len(data) * (1.0 - validation_split))
        if split <= 0 or split >= len(data):
            raise ValueError(
                f"validation_split={validation_split} leaves no training or no validation "
                f"samples out of {len(data)}"
            )
        data, validation = data.split(split)

    n = len(data)
    steps = -(-n // batch_size)
    distribution = state.distribution
    if distribution is not None:
        distribution.begin_fit(model, n, batch_size)  # rank 0's weights and shuffling
    tracker = EpochTracker(state, model, data, distribution)
    progress = FitProgress(initial_epoch, tracker, shuffler=model.rng if shuffle else None)
    callback_list = CallbackList(
        callbacks,
        model=model,
        params={"epochs": epochs, "steps": steps, "verbose": verbose, "progress": progress},
        add_history=True,
        add_progbar=True,
        main_process=distribution is None or distribution.is_main,
    )
    buffers: dict[str, np.ndarray] = {}
    model.stop_training = False
    callback_list.on_train_begin()  # a BackupAndRestore may move `progress` to its backup
    for epoch in range(progress.epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        # Read again each epoch: a callback may have grown the model (``GrowOnPlateau``).
        state = tracker.state = model.require_compiled()
        if progress.step == 0:  # a new epoch, else one restored mid-way, with its order
            progress.begin_epoch(epoch)  # order: model.rng.permutation(n) or 0, 1, …, n − 1
        with state.lend_buffers(model):
            for step in range(progress.step, steps):
                rows = progress.order[step * batch_size : (step + 1) * batch_size]
                callback_list.on_train_batch_begin(step)
                local = rows if distribution is None else distribution.shard(rows)
                x_batch, y_batch, w_batch = data.gather(state.ops, buffers, local)
                loss, y_pred = train_step(model, state, x_batch, y_batch, w_batch)
                logs = tracker.update(step * batch_size, len(rows), loss, y_pred)
                progress.step = step + 1
                callback_list.on_train_batch_end(step, logs)
                if model.stop_training:
                    break
        if distribution is not None:
            distribution.end_epoch(model)
        epoch_logs = tracker.result()
        if validation is not None:
            val_logs = evaluate_data(model, validation, batch_size)
            epoch_logs.update({f"val_{key}": value for key, value in val_logs.items()})
        progress.end_epoch()
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callback_list.on_train_end()
    model.history = callback_list.history
    return model.history


def evaluate(
    model: Any,
    x: Any,
    y: Any,
    batch_size: int = 32,
    return_dict: bool = False,
    sample_weight: Any = None,
) -> float | list[float] | dict[str, float]:
    """Loss (with regularization, as in training) and metrics on all of (x, y)."""
    results = evaluate_data(model, prepare_data(model, x, y, sample_weight), batch_size)
    if return_dict:
        return results
    values = list(results.values())
    return values[0] if len(values) == 1 else values


def evaluate_data(model: Any, data: Data, batch_size: int) -> dict[str, float]:
    """The outputs for every sample, then the loss and metrics on all of them at once.

    Under a distribution each process runs every N-th batch and the outputs are summed over
    the processes (``sum_over_ranks``: each filled its batches and left zeros elsewhere), so
    every process computes the results on the same outputs as a single process.
    """
    state = model.require_compiled()
    batch_size = check_positive_int(batch_size, "batch_size")
    logits = [output.fused_activation is not None for output in state.outputs]
    single = len(state.outputs) == 1
    shapes = [model.output_shape] if single else model.output_shape
    distribution = state.distribution
    starts = range(0, len(data), batch_size)
    if distribution is None:
        outputs = [np.empty((len(data), *shape), model.dtype) for shape in shapes]
    else:
        outputs = [np.zeros((len(data), *shape), model.dtype) for shape in shapes]
        starts = distribution.owned(starts)
    for start in starts:
        rows = slice(start, start + batch_size)
        produced = model.forward(
            data.inputs(rows), training=False, logits=logits[0] if single else logits
        )
        for store, value in zip(outputs, [produced] if single else produced, strict=True):
            store[rows] = value
    if distribution is not None:
        for store in outputs:
            distribution.sum_over_ranks(store)
    results = {"loss": model.regularization_loss()}
    per_output = {}
    for output, y_pred, y in zip(state.outputs, outputs, data.y, strict=True):
        value = output.weight * output.train_loss.forward(y_pred, y, data.sample_weight)
        results["loss"] += value
        per_output[f"{output.name}_loss"] = value
        output.to_probabilities(y_pred)
    if not single:
        results.update(per_output)
    names = iter(state.metric_names)
    for output, y_pred, y in zip(state.outputs, outputs, data.y, strict=True):
        for fn, name in zip(output.metrics, names, strict=False):
            results[name] = float(fn(y, y_pred))
    return results
