"""``tinynn.profile``: where one training step's time goes, layer by layer and pass by pass.

    profile = tinynn.profile(model, x, y, batch_size=128)
    print(profile)       # one row per layer and pass, plus the loss, optimizer and batch

The step that is timed is the step ``fit`` takes, with the same code: the batch is gathered
into reused buffers (``Data.gather``), then ``tinynn.training.train_step`` runs the model's
forward, the loss, the model's backward and ``optimizer.step``, all inside
``TrainState.lend_buffers``. What ``fit`` does besides (metrics, callbacks, the progress bar)
is not part of the step. For the length of the run, each layer's ``forward``,
``forward_logits`` and ``backward``, each loss's ``forward`` and ``backward`` and the
optimizer's ``step`` are wrapped by timers on the objects themselves, and unwrapped afterwards
(``tinynn.profiling.timing``).

Profiling trains: it takes ``warmup + steps`` optimizer steps. Afterwards the weights (and
BatchNormalization's statistics) and the optimizer's state are put back as they were
(``get_weights``/``set_weights``, ``state_dict``/``load_state_dict``), so profiling a model
does not change what it has learned.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from tinynn.batches import prepare_data
from tinynn.layers.layer import product
from tinynn.profiling import costs
from tinynn.profiling.memory import model_runners, training_memory
from tinynn.profiling.results import UNATTRIBUTED, Profile, ProfileRow, middle_steps, spread
from tinynn.profiling.roofline import Roofline, measure_roofline
from tinynn.profiling.timing import StepTimer, timing_hooks
from tinynn.training import train_step
from tinynn.validation import check_non_negative_int, check_positive_int

#: The layer methods that are timed, and the pass they belong to.
LAYER_METHODS = {"forward": "forward", "forward_logits": "forward", "backward": "backward"}


def profile(
    model: Any,
    x: Any,
    y: Any,
    batch_size: int = 128,
    steps: int = 30,
    warmup: int = 3,
    roofline: Roofline | None = None,
    sample_weight: Any = None,
    seed: int = 0,
) -> Profile:
    """Time ``steps`` training steps of a compiled model and split each step into its parts.

    Args:
        model: a compiled ``Sequential`` or functional ``Model``, on either backend.
        x, y: training data, as ``fit`` takes it. Full batches are drawn from it in a
            shuffled order (``seed``), a new order after each pass; a batch is at most
            ``len(x)`` samples.
        batch_size: samples per step.
        steps: timed steps; ``warmup`` untimed steps come first (they also compile Numba
            kernels and allocate the buffers).
        roofline: the machine's peak and bandwidth; None measures them now
            (``measure_roofline``, about a second).
        sample_weight: as in ``fit``.
        seed: seeds the order of the batches.

    Returns:
        a ``Profile``: rows for each layer's forward and backward, the loss, the optimizer
        step, the batch gathering and the time no row covers; the roofline columns; and the
        training memory. ``print(profile)`` shows it.
    """
    state = model.require_compiled()
    batch_size = check_positive_int(batch_size, "batch_size")
    steps = check_positive_int(steps, "steps")
    warmup = check_non_negative_int(warmup, "warmup")
    data = prepare_data(model, x, y, sample_weight)
    batch = min(batch_size, len(data))
    if roofline is None:
        roofline = measure_roofline(model.dtype)
    labelled = model_runners(model)
    saved = _save(model, state)
    timer = StepTimer()
    buffers: dict[str, np.ndarray] = {}
    draw = _batches(len(data), batch, np.random.default_rng(seed))
    last: list[Any] = []

    gather = timer.timed(("batch", "gather"), data.gather)

    def one_step() -> None:
        x_b, y_b, w_b = gather(state.ops, buffers, next(draw))
        train_step(model, state, x_b, y_b, w_b)
        last[:] = [x_b, y_b, w_b]

    try:
        with state.lend_buffers(model):
            with timing_hooks(timer, _targets(labelled, state)):
                records = _run(one_step, timer, warmup, steps)
            memory = training_memory(model, buffers.values())
            transient = _transient_peak(one_step)
            flags = {id(layer): layer.compute_input_grad for _, layer in labelled}
    finally:
        _restore(model, state, saved)
    rows = _rows(model, state, labelled, flags, records, batch, last, memory)
    for row in rows:
        row.apply_roofline(roofline)
    totals = [total for total, _, _ in records]
    median, iqr = spread(totals)
    step_ms = sum(row.ms for row in rows)
    for row in rows:
        row.share = row.ms / step_ms if step_ms else 0.0
    notes = []
    if any(row.cost is not None and not row.cost.exact for row in rows):
        notes.append("~: estimated FLOPs (the loss, or a layer type without a cost rule)")
    if state.ops.NAME == "numba":
        notes.append("temporary arrays that Numba kernels allocate are not traced")
    return Profile(
        model_name=model.name,
        backend=state.ops.NAME,
        batch_size=batch,
        steps=steps,
        rows=rows,
        step_ms=step_ms,
        step_median_ms=1e3 * median,
        step_iqr_ms=1e3 * iqr,
        roofline=roofline,
        memory=memory,
        transient_bytes=transient,
        notes=notes,
    )


def _batches(n: int, batch: int, rng: np.random.Generator):
    """Row indices of one batch after another, a new shuffled order for each pass over n."""
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch + 1, batch):
            yield order[start : start + batch]


def _targets(labelled, state) -> list[tuple[Any, str, tuple[str, str]]]:
    """(object, method, key) for every timed method."""
    targets = [
        (layer, method, (label, pass_name))
        for label, layer in labelled
        for method, pass_name in LAYER_METHODS.items()
    ]
    for label, output in _loss_labels(state):
        key = (label, "forward+backward")
        targets += [(output.train_loss, "forward", key), (output.train_loss, "backward", key)]
    targets.append((state.optimizer, "step", ("optimizer", "step")))
    return targets


def _loss_labels(state) -> list[tuple[str, Any]]:
    if len(state.outputs) == 1:
        return [("loss", state.outputs[0])]
    return [(f"loss[{output.name}]", output) for output in state.outputs]


def _run(one_step: Callable[[], None], timer: StepTimer, warmup: int, steps: int):
    """[(step seconds, {key: seconds}, {key: calls})] for the timed steps."""
    records = []
    for index in range(warmup + steps):
        timer.take()
        start = time.perf_counter()
        one_step()
        total = time.perf_counter() - start
        seconds, calls = timer.take()
        if index >= warmup:
            records.append((total, seconds, calls))
    return records


def _rows(model, state, labelled, flags, records, batch, last, memory) -> list[ProfileRow]:
    """One row per key that ran, in the order of the step, and the unattributed row."""
    keep = middle_steps([total for total, _, _ in records])
    ran = {key for _, _, calls in records for key in calls}
    logits = _logits_layers(model, state)
    x_b, y_b, w_b = last
    ys = [y_b] if model.single_output else list(y_b)
    order: list[tuple[tuple[str, str], str, costs.Cost]] = [
        (("batch", "gather"), "", costs.gather_cost(_arrays(x_b) + ys + _arrays(w_b)))
    ]
    for label, layer in labelled:
        key = (label, "forward")
        order.append((key, type(layer).__name__, costs.layer_cost(
            layer, batch, "forward", logits=id(layer) in logits)))  # fmt: skip
    for (label, output), y_k, shape in zip(
        _loss_labels(state), ys, _output_shapes(model), strict=True
    ):
        predictions = batch * product(shape)
        cost = costs.loss_cost(output.train_loss, predictions, model.dtype.itemsize, y_k.nbytes)
        order.append(((label, "forward+backward"), type(output.train_loss).__name__, cost))
    for label, layer in reversed(labelled):
        cost = costs.layer_cost(layer, batch, "backward", flags[id(layer)], id(layer) in logits)
        order.append(((label, "backward"), type(layer).__name__, cost))
    params = [param for param, _ in model.parameters()]
    cost = costs.optimizer_cost(state.optimizer, params, memory.optimizer_state)
    order.append((("optimizer", "step"), type(state.optimizer).__name__, cost))

    rows = []
    for key, kind, cost in order:
        if key not in ran:
            continue
        values = [seconds.get(key, 0.0) for _, seconds, _ in records]
        median, iqr = spread(values)
        mean = 1e3 * sum(values[i] for i in keep) / len(keep)
        rows.append(ProfileRow(key[0], kind, key[1], mean, 1e3 * median, 1e3 * iqr, cost=cost))
    leftover = [total - sum(seconds.values()) for total, seconds, _ in records]
    step_ms = 1e3 * sum(records[i][0] for i in keep) / len(keep)
    median, iqr = spread(leftover)
    rest = step_ms - sum(row.ms for row in rows)  # = the middle steps' mean of leftover
    rows.append(ProfileRow(UNATTRIBUTED, "", "", rest, 1e3 * median, 1e3 * iqr))
    return rows


def _arrays(value: Any) -> list[np.ndarray]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _output_shapes(model: Any) -> list[tuple[int, ...]]:
    return [model.output_shape] if model.single_output else list(model.output_shape)


def _logits_layers(model: Any, state: Any) -> set[int]:
    """ids of the layers that stop before their activation (the loss absorbs it)."""
    fused = [output.fused_activation is not None for output in state.outputs]
    nodes = getattr(model, "nodes", None)
    if nodes is None:
        return {id(model.layers[-1])} if fused[0] else set()
    producers = {node.output: node.runner for node in nodes}
    return {
        id(producers[index])
        for index, flag in zip(model.output_indices, fused, strict=True)
        if flag and index in producers
    }


def _transient_peak(run: Callable[[], None]) -> int:
    """Peak bytes allocated and not yet freed during ``run()``, by tracemalloc."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    try:
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not tracing:
            tracemalloc.stop()
    return max(0, peak - before)


def _save(model: Any, state: Any) -> tuple[list[np.ndarray], dict[str, Any], list[np.ndarray]]:
    params = [param for param, _ in model.parameters()]
    return model.get_weights(), state.optimizer.state_dict(params), params


def _restore(model: Any, state: Any, saved) -> None:
    weights, optimizer_state, params = saved
    model.set_weights(weights)
    state.optimizer.load_state_dict(optimizer_state, params)
