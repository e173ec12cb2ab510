"""``TrainState``: what ``model.compile`` decides, given a name and a type.

The training loops (``tinynn.training``) read a model only through its public methods and this
object, which ``compile`` keeps as ``model.train_state``: the optimizer, the kernel backend,
and for each output of the model its loss, its weight in the total, and its metrics.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from tinynn import activations, losses, optimizers
from tinynn import metrics as metrics_module


@dataclass
class OutputState:
    """One output of the model: how it is scored and what is reported about it.

    Attributes:
        name: the output layer's name (it prefixes the logs of a multi-output model).
        loss: as compiled. ``train_loss`` is what training minimises: ``loss``, or its
            from-logits twin when the output activation is folded into it, which
            ``fused_activation`` then names.
        weight: the factor of this loss in the total (Keras's ``loss_weights``).
        metrics, metric_names: the metric functions, resolved for this output, and their
            names as given.
    """

    name: str
    loss: losses.Loss
    weight: float = 1.0
    train_loss: losses.Loss | None = None
    fused_activation: str | None = None
    metrics: list[Any] = field(default_factory=list)
    metric_names: list[str] = field(default_factory=list)

    def to_probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """The model's outputs from what training produced: logits -> p, in place, when fused."""
        if self.fused_activation is None:
            return outputs
        return activations.get(self.fused_activation).forward(outputs, out=outputs)


@dataclass
class TrainState:
    """The result of ``model.compile``.

    Attributes:
        optimizer: the optimizer instance.
        ops: the kernel backend (``tinynn.kernels``) the layers and the losses run on.
        loss_spec, metric_specs, loss_weights: as given to ``compile``.
        outputs: one ``OutputState`` per model output, filled in by ``bind``.
        buffers: reusable arrays lent to each layer and loss during ``fit``, by object id.
        distribution: how training is spread over processes (None: this process only).
    """

    optimizer: Any
    ops: ModuleType
    loss_spec: Any
    metric_specs: list[Any]
    loss_weights: Any = None
    outputs: list[OutputState] = field(default_factory=list)
    buffers: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    distribution: Any = None

    # -- for a single-output model, the one output's parts --------------------------------

    @property
    def loss(self) -> losses.Loss:
        return self.outputs[0].loss if self.outputs else _single_loss(self.loss_spec)

    @property
    def train_loss(self) -> losses.Loss | None:
        return self.outputs[0].train_loss if self.outputs else None

    @property
    def fused_activation(self) -> str | None:
        return self.outputs[0].fused_activation if len(self.outputs) == 1 else None

    @property
    def metrics(self) -> list[Any]:
        return [metric for output in self.outputs for metric in output.metrics]

    @property
    def metric_names(self) -> list[str]:
        """History keys of the metrics: the names given, prefixed by the output's name when
        the model has several outputs (Keras's ``dense_1_accuracy``)."""
        if len(self.outputs) == 1:
            return list(self.outputs[0].metric_names)
        return [f"{o.name}_{name}" for o in self.outputs for name in o.metric_names]

    @property
    def bound(self) -> bool:
        return bool(self.outputs)

    def compile_arguments(self) -> dict[str, Any]:
        """What ``compile`` was given, to compile another model alike (a grown copy, a float64
        twin, the same model on another backend): a new optimizer of the same configuration
        (the state stays with this one), the losses as configs (so the two models share no
        loss object), and the metrics, backend, loss weights and distribution."""
        if not self.outputs:
            loss = self.loss_spec
        elif len(self.outputs) == 1:
            loss = losses.serialize(self.outputs[0].loss)
        else:
            loss = [losses.serialize(output.loss) for output in self.outputs]
        return {
            "optimizer": optimizers.get(optimizers.serialize(self.optimizer)),
            "loss": loss,
            "metrics": self.metric_specs,
            "backend": self.ops.NAME,
            "loss_weights": self.loss_weights,
            "distribution": self.distribution,
        }

    # -- decisions that need the built model ------------------------------------------------

    def bind(self, model: Any) -> None:
        """Per output: its loss (fused with the output activation where it can be), weight
        and metrics; and the backend for every layer and loss."""
        layers = getattr(model, "output_layers", None) or [model.output_layer]
        shapes = model.output_shape if len(layers) > 1 else [model.output_shape]
        names = [layer.name for layer in layers]
        loss_list = _per_output(self.loss_spec, names, "loss")
        weights = _per_output(self.loss_weights, names, "loss_weights", default=1.0)
        metric_lists = _metrics_per_output(self.metric_specs, names)
        self.outputs = []
        for name, layer, shape, spec, weight, specs in zip(
            names, layers, shapes, loss_list, weights, metric_lists, strict=True
        ):
            loss = losses.get(spec)
            train_loss, fused = losses.fuse_output_activation(loss, layer)
            train_loss.ops = self.ops
            output = OutputState(name, loss, float(weight), train_loss, fused)
            output.metric_names = [
                s if isinstance(s, str) else metrics_module.name_of(s) for s in specs
            ]
            output.metrics = [metrics_module.resolve(s, loss.name, shape) for s in specs]
            self.outputs.append(output)
        for layer in model.layers:
            layer.ops = self.ops

    @contextmanager
    def lend_buffers(self, model: Any) -> Iterator[None]:
        """While the block runs, every layer and loss writes into buffers allocated once and
        reused at every step, so training allocates nothing per step. Afterwards they
        allocate fresh arrays again, so outputs a caller keeps stay valid."""
        owners = [*model.layers, *(output.train_loss for output in self.outputs)]
        for owner in owners:
            owner.workspace = self.buffers.setdefault(id(owner), {})
        try:
            yield
        finally:
            for owner in owners:
                owner.workspace = None


def is_main_process(model: Any) -> bool:
    """False on every process but rank 0 of a model compiled with a distribution (the
    processes that neither print progress nor write files); True without one."""
    state = getattr(model, "train_state", None)
    distribution = getattr(state, "distribution", None)
    return distribution is None or distribution.is_main


def _single_loss(spec: Any) -> losses.Loss:
    if isinstance(spec, dict | list | tuple) and not (
        isinstance(spec, dict) and "class_name" in spec
    ):
        raise ValueError("this model has several losses; read them from train_state.outputs")
    return losses.get(spec)


def _metrics_per_output(specs: Any, names: Sequence[str]) -> list[list[Any]]:
    """Metrics for each output: one list for all, a list of lists in output order, or a dict
    by output name (outputs it does not name get none)."""
    if isinstance(specs, dict):
        unknown = sorted(set(specs) - set(names))
        if unknown:
            raise ValueError(f"metrics name outputs {unknown}; the outputs are {list(names)}")
        return [_as_metric_list(specs.get(name, [])) for name in names]
    specs = list(specs)
    if len(names) > 1 and len(specs) == len(names) and all(isinstance(s, list) for s in specs):
        return [list(s) for s in specs]
    return [specs for _ in names]


def _as_metric_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _per_output(spec: Any, names: Sequence[str], what: str, default: Any = None) -> list[Any]:
    """One entry per output from a single value, a list in output order, or a dict by name."""
    if spec is None:
        if default is None:
            raise ValueError(f"compile needs a {what}; expected one of {sorted(losses.LOSSES)}")
        return [default] * len(names)
    if isinstance(spec, dict) and "class_name" not in spec:
        unknown = sorted(set(spec) - set(names))
        missing = [name for name in names if name not in spec]
        if unknown or (missing and default is None):
            raise ValueError(
                f"{what} names outputs {sorted(spec)}; the model's outputs are {list(names)}"
            )
        return [spec.get(name, default) for name in names]
    if isinstance(spec, list | tuple):
        if len(spec) != len(names):
            raise ValueError(
                f"{what} has {len(spec)} entries for {len(names)} outputs {list(names)}"
            )
        return list(spec)
    return [spec] * len(names)
