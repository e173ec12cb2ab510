"""The ``Optimizer`` base class: bookkeeping shared by SGD, RMSprop, Adam and AdamW.

An optimizer walks the ``(param, grad)`` pairs that ``model.parameters()`` yields. Layers know
nothing about it. Its per-parameter state (momentum, moment estimates, the step count) is kept
for each parameter *array* (``param_state.ParamState``), so no names are involved that could
collide, and a layer unfrozen later simply starts with fresh state::

    opt = Adam(learning_rate=1e-3)
    for x, y in batches:
        ...forward, loss, backward...           (each backward overwrites the gradients)
        opt.step(model.parameters())

``step`` clips the gradients, reads the learning rate (a float or a schedule evaluated at
``iterations``) and calls one update kernel per *group*: consecutive pairs lying end to end in
memory, as a model's parameter store lays them out, are updated by one call on flat views
(``param_state.plan_groups``), which gives the same numbers as one call per pair. The maths
lives in ``self.ops`` (``tinynn.kernels.numpy_ops.update_rules`` by default); subclasses only
say which buffers they need and which kernel to call, as ``torch.optim.SGD`` does around its
functional ``sgd(...)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tinynn.kernels.numpy_ops import update_rules as numpy_optim
from tinynn.optimizers import schedules
from tinynn.optimizers.param_state import Group, ParamState, plan_groups

Pairs = Iterable[tuple[np.ndarray, np.ndarray]]


def check_range(name: str, value: Any, low: float, high: float = math.inf, *, high_open=False):
    """Raise ``ValueError(f"Invalid {name}: {value}")`` unless ``low <= value <= high``
    (``< high`` if ``high_open``). Used by every optimizer's ``__init__``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"Invalid {name}: {value!r} (expected a number)")
    if not low <= value <= high or (high_open and value == high):
        raise ValueError(f"Invalid {name}: {value}")


class Optimizer:
    """Base class. Subclasses implement ``_buffer_names``, ``_update`` and ``get_config``.

    Args:
        learning_rate: float ≥ 0, or a ``schedules.LearningRateSchedule`` that is evaluated
            at ``self.iterations`` before each step.
        clipvalue: clip each gradient element into ``[-clipvalue, clipvalue]``.
        clipnorm: rescale each gradient array whose L2 norm exceeds ``clipnorm``.
        global_clipnorm: rescale all gradient arrays together when their joint L2 norm
            exceeds ``global_clipnorm``. At most one of ``clipnorm``/``global_clipnorm``.
        name: label stored in the config; defaults to the lower-case class name.

    Clipping rewrites the grad arrays in place (as ``torch.nn.utils.clip_grad_norm_`` does),
    value first, then norm (tf.keras 2 order; Keras 3 allows only one kind at a time).

    Attributes:
        iterations: number of steps taken so far.
        ops: the kernel module; a model may swap in another backend with the same functions.
    """

    def __init__(
        self,
        learning_rate: float | schedules.LearningRateSchedule,
        *,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        for arg_name, value in [
            ("clipnorm", clipnorm),
            ("clipvalue", clipvalue),
            ("global_clipnorm", global_clipnorm),
        ]:
            if value is not None:
                check_range(arg_name, value, 0.0)
                if value == 0:
                    raise ValueError(f"Invalid {arg_name}: {value} (must be > 0 or None)")
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(
                "Only one of clipnorm and global_clipnorm can be set; got "
                f"clipnorm={clipnorm}, global_clipnorm={global_clipnorm}"
            )
        self.learning_rate = learning_rate  # validated by the property setter
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.global_clipnorm = None if global_clipnorm is None else float(global_clipnorm)
        self.name = type(self).__name__.lower() if name is None else str(name)
        self.iterations = 0
        self.ops = numpy_optim
        self._state: dict[int, ParamState] = {}  # id(param) -> its state (which holds param)
        self._pending: list[ParamState] | None = None  # a loaded state_dict, not yet bound
        self._plans: dict[tuple, list[Group]] = {}

    # --- learning rate -------------------------------------------------------------------

    @property
    def learning_rate(self) -> float:
        """The rate for the next step (a schedule is evaluated at ``iterations``).

        Assigning a float (``opt.learning_rate = 0.01``) replaces a schedule.
        """
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return self._learning_rate(self.iterations)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float | schedules.LearningRateSchedule) -> None:
        if isinstance(value, schedules.LearningRateSchedule):
            self._learning_rate = value
            return
        check_range("learning rate", value, 0.0)
        self._learning_rate = float(value)

    @property
    def variables(self) -> list[np.ndarray]:
        """The state arrays the optimizer keeps for its parameters (momentum, moments), as
        Keras's ``optimizer.variables``: the live arrays, not copies (``state_dict`` copies)."""
        return [buffer for state in self._state.values() for buffer in state.buffers.values()]

    # --- one training step ---------------------------------------------------------------

    def step(self, params: Pairs) -> None:
        """Update every ``param`` in place from its ``grad``; then ``iterations += 1``."""
        pairs = list(params)
        groups = self._groups(pairs)
        self._clip([grad for _, grad in pairs], [group.grad for group in groups])
        lr = self.learning_rate
        for group in groups:
            self._update(group.param, group.grad, group.buffers, lr, group.step + 1)
            for member in group.members:
                member.step += 1
        self.iterations += 1

    def zero_grad(self, params: Pairs) -> None:
        """Set every gradient array to 0 (in place)."""
        for _, grad in params:
            grad.fill(0)

    def _clip(self, grads: list[np.ndarray], flat_grads: list[np.ndarray]) -> None:
        # Value and global-norm clipping treat every element alike, so they run on the
        # groups' flat views; per-array norm clipping needs each array on its own.
        if self.clipvalue is not None:
            for grad in flat_grads:
                self.ops.clip_by_value(grad, self.clipvalue)
        if self.clipnorm is not None:
            for grad in grads:
                self.ops.clip_by_norm(grad, self.clipnorm)
        if self.global_clipnorm is not None:
            self.ops.clip_by_global_norm(flat_grads, self.global_clipnorm)

    def _groups(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[Group]:
        """The groups for these pairs: planned once per list of arrays, then reused."""
        key = tuple((id(param), id(grad)) for param, grad in pairs)
        groups = self._plans.get(key)
        if groups is None:
            self._check_pairs(pairs)
            states = self._states_for([param for param, _ in pairs])
            groups = plan_groups(pairs, states, self._buffer_names())
            self._plans = {key: groups}  # keep one plan: a model steps the same list each time
        return groups

    def _check_pairs(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> None:
        for index, (param, grad) in enumerate(pairs):
            if not (isinstance(param, np.ndarray) and param.dtype.kind == "f"):
                raise ValueError(f"Parameter {index} must be a float NumPy array, got {param!r}")
            if not isinstance(grad, np.ndarray) or grad.shape != param.shape:
                got = getattr(grad, "shape", type(grad).__name__)
                raise ValueError(
                    f"Gradient {index} has shape {got}, but its parameter has {param.shape}"
                )
            if grad.dtype != param.dtype:
                raise ValueError(
                    f"Gradient {index} is {grad.dtype}, but its parameter is {param.dtype}"
                )

    def _states_for(self, params: list[np.ndarray]) -> list[ParamState]:
        """Each parameter's state, created (zeros, step 0) for arrays not seen before; a
        loaded ``state_dict`` waiting for its parameters is bound to these, in order."""
        if self._pending is not None:
            self._bind(params, self._pending)
        states = []
        for param in params:
            state = self._state.get(id(param))
            if state is None or state.param is not param:
                state = ParamState(param)
                self._state[id(param)] = state
            for key, buffer in state.buffers.items():  # e.g. float64 loaded for float32
                if buffer.dtype != param.dtype:
                    state.buffers[key] = buffer.astype(param.dtype)
            states.append(state)
        return states

    def _bind(self, params: list[np.ndarray], rows: list[tuple]) -> None:
        """Give loaded (shape, step, buffers) rows to these arrays, in order."""
        shapes = [shape for shape, _, _ in rows]
        got = [param.shape for param in params]
        if got != shapes:
            raise ValueError(
                f"{type(self).__name__} was loaded for parameters of shapes {shapes}, "
                f"but step() got {got}. Use a new optimizer for a different model."
            )
        self._pending = None
        self._plans = {}
        for param, (_, step, buffers) in zip(params, rows, strict=True):
            self._state[id(param)] = ParamState(param, step, dict(buffers))

    # --- what subclasses provide ---------------------------------------------------------

    def _buffer_names(self) -> tuple[str, ...]:
        """Names of the per-parameter buffers these hyperparameters need."""
        raise NotImplementedError

    def _update(
        self,
        param: np.ndarray,
        grad: np.ndarray,
        buffers: dict[str, np.ndarray],
        lr: float,
        step: int,
    ) -> None:
        """Call the kernel for one group; ``step`` is 1 on a parameter's first update."""
        raise NotImplementedError

    @staticmethod
    def _buffer_or_empty(buffers: dict[str, np.ndarray], key: str, param: np.ndarray):
        """The buffer, or an empty array for a kernel argument these options do not use."""
        if key in buffers:
            return buffers[key]
        return np.empty(0, dtype=param.dtype)

    # --- config and state ----------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """JSON-able constructor arguments; a schedule becomes ``{"class_name", "config"}``."""
        learning_rate = self._learning_rate
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            learning_rate = schedules.serialize(learning_rate)
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def state_dict(self, params: Sequence[np.ndarray] | None = None) -> dict[str, Any]:
        """Everything needed to resume: JSON-able scalars plus copies of the buffers.

        ``{"class_name": "Adam", "iterations": 5, "config": {...}, "shapes": [[3, 2], [2]],
        "steps": [5, 5], "state": [{"exp_avg": ndarray, ...}, ...]}``, one entry per
        parameter: those of ``params`` in that order (an array never stepped gets step 0 and
        no buffers), or by default every parameter stepped so far, in the order first seen.
        """
        if params is not None:
            rows = []
            for param in params:
                state = self._state.get(id(param))
                if state is None or state.param is not param:  # never stepped: no state yet
                    state = ParamState(param)
                rows.append((param.shape, state.step, state.buffers))
        elif self._pending is not None:
            rows = self._pending
        else:
            rows = [(e.param.shape, e.step, e.buffers) for e in self._state.values()]
        return {
            "class_name": type(self).__name__,
            "iterations": self.iterations,
            "config": self.get_config(),
            "shapes": [list(shape) for shape, _, _ in rows],
            "steps": [int(step) for _, step, _ in rows],
            "state": [{key: buf.copy() for key, buf in buffers.items()} for _, _, buffers in rows],
        }

    def load_state_dict(
        self, state_dict: dict[str, Any], params: Sequence[np.ndarray] | None = None
    ) -> None:
        """Restore what ``state_dict()`` returned: hyperparameters (as PyTorch does), the step
        counters and copies of the buffers. With ``params`` the entries belong to those arrays,
        in order; without, to the pairs of the next ``step``, in order. Raises ValueError if
        anything does not fit, before changing anything."""
        required = {"class_name", "iterations", "config", "shapes", "state"}
        missing = required - set(state_dict)
        if missing:
            raise ValueError(f"state_dict is missing keys {sorted(missing)}")
        if state_dict["class_name"] != type(self).__name__:
            raise ValueError(
                f"state_dict is for {state_dict['class_name']}, not {type(self).__name__}"
            )
        iterations = _check_count(state_dict["iterations"], "iterations")
        try:
            restored = type(self).from_config(state_dict["config"])
        except TypeError as error:  # unknown or missing constructor arguments
            message = f"state_dict config does not fit {type(self).__name__}: {error}"
            raise ValueError(message) from error

        shapes = [tuple(int(n) for n in shape) for shape in state_dict["shapes"]]
        state = state_dict["state"]
        steps = state_dict.get("steps", [iterations] * len(shapes))  # files before "steps"
        if not len(state) == len(shapes) == len(steps):
            raise ValueError(
                f"state_dict has {len(state)} state entries and {len(steps)} step counts "
                f"for {len(shapes)} shapes"
            )
        expected_keys = set(restored._buffer_names())
        rows = []
        for index, (shape, step, buffers) in enumerate(zip(shapes, steps, state, strict=True)):
            step = _check_count(step, f"step of entry {index}")
            if set(buffers) != expected_keys and not (step == 0 and not buffers):
                raise ValueError(
                    f"state entry {index} has buffers {sorted(buffers)}, "
                    f"expected {sorted(expected_keys)}"
                )
            new_buffers = {}
            for key, buffer in buffers.items():
                buffer = np.array(buffer, copy=True)
                if buffer.shape != shape or not np.issubdtype(buffer.dtype, np.floating):
                    raise ValueError(
                        f"state entry {index} buffer {key!r} is {buffer.dtype} of shape "
                        f"{buffer.shape}; expected a float array of shape {shape}"
                    )
                new_buffers[key] = buffer
            rows.append((shape, step, new_buffers))
        if params is not None:
            got = [tuple(param.shape) for param in params]
            if got != shapes:
                raise ValueError(f"state_dict holds shapes {shapes}; the parameters are {got}")

        # Everything checked: now copy the hyperparameters over and install the state.
        for attribute, value in vars(restored).items():
            if attribute not in ("ops", "iterations", "_state", "_pending", "_plans"):
                setattr(self, attribute, value)
        self.iterations = iterations
        self._state, self._plans, self._pending = {}, {}, rows
        if params is not None:
            self._bind(list(params), rows)

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _check_count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"Invalid {what} in state_dict: {value!r}")
    return int(value)
