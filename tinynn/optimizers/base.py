"""The ``Optimizer`` base class: bookkeeping shared by SGD, RMSprop, Adam and AdamW.

An optimizer walks the ``(param, grad)`` pairs that ``model.parameters()`` yields. Layers know
nothing about it. Per-parameter state (momentum, moment estimates) is a list aligned with the
*position* of each pair, so no names are involved that could collide::

    opt = Adam(learning_rate=1e-3)
    for x, y in batches:
        opt.zero_grad(model.parameters())
        ...forward, loss, backward...
        opt.step(model.parameters())

``step`` clips the gradients, reads the learning rate (a float or a schedule evaluated at
``iterations``) and calls one update kernel per pair. The maths lives in ``self.ops``
(``tinynn.kernels.numpy_ops.optim`` by default); subclasses only say which buffers they need
and which kernel to call, as ``torch.optim.SGD`` does around its functional ``sgd(...)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinynn import schedules
from tinynn.kernels.numpy_ops import optim as numpy_optim

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
        self._shapes: list[tuple[int, ...]] = []  # one shape per (param, grad) pair
        self._state: list[dict[str, np.ndarray]] = []  # one dict of buffers per pair

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

    # --- one training step ---------------------------------------------------------------

    def step(self, params: Pairs) -> None:
        """Update every ``param`` in place from its ``grad``; then ``iterations += 1``."""
        pairs = list(params)
        first_step = self._build_or_check_state(pairs)
        grads = [grad for _, grad in pairs]
        self._clip(grads)
        lr = self.learning_rate
        for (param, grad), buffers in zip(pairs, self._state, strict=True):
            self._update(param, grad, buffers, lr, first_step)
        self.iterations += 1

    def zero_grad(self, params: Pairs) -> None:
        """Set every gradient array to 0 (in place)."""
        for _, grad in params:
            grad.fill(0)

    def _clip(self, grads: list[np.ndarray]) -> None:
        if self.clipvalue is not None:
            for grad in grads:
                self.ops.clip_by_value(grad, self.clipvalue)
        if self.clipnorm is not None:
            for grad in grads:
                self.ops.clip_by_norm(grad, self.clipnorm)
        if self.global_clipnorm is not None:
            self.ops.clip_by_global_norm(grads, self.global_clipnorm)

    def _build_or_check_state(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> bool:
        """Create zero buffers on the first step (returns True then), else check the shapes."""
        shapes = []
        for index, (param, grad) in enumerate(pairs):
            if not (isinstance(param, np.ndarray) and param.dtype.kind == "f"):
                raise ValueError(f"Parameter {index} must be a float NumPy array, got {param!r}")
            if not isinstance(grad, np.ndarray) or grad.shape != param.shape:
                got = getattr(grad, "shape", type(grad).__name__)
                raise ValueError(
                    f"Gradient {index} has shape {got}, but its parameter has {param.shape}"
                )
            shapes.append(param.shape)
        if not self._shapes:
            self._shapes = shapes
            self._state = [self._new_buffers(param) for param, _ in pairs]
            return True
        if shapes != self._shapes:
            raise ValueError(
                f"{type(self).__name__} was built for parameters of shapes {self._shapes}, "
                f"but step() got {shapes}. Use a new optimizer for a different model."
            )
        for (param, _), buffers in zip(pairs, self._state, strict=True):
            for key, buffer in buffers.items():  # e.g. float64 arrays loaded for float32 params
                if buffer.dtype != param.dtype:
                    buffers[key] = buffer.astype(param.dtype)
        return False

    def _new_buffers(self, param: np.ndarray) -> dict[str, np.ndarray]:
        return {key: np.zeros_like(param) for key in self._buffer_names()}

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
        first_step: bool,
    ) -> None:
        """Call the kernel for one pair."""
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

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: JSON-able scalars plus copies of the buffers.

        ``{"class_name": "Adam", "iterations": 5, "config": {...},
        "shapes": [[3, 2], [2]], "state": [{"exp_avg": ndarray, ...}, ...]}``.
        ``shapes`` and ``state`` are empty before the first step.
        """
        return {
            "class_name": type(self).__name__,
            "iterations": self.iterations,
            "config": self.get_config(),
            "shapes": [list(shape) for shape in self._shapes],
            "state": [{key: buf.copy() for key, buf in bufs.items()} for bufs in self._state],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned: hyperparameters (as PyTorch does),
        step counter and buffers (copied). Raises ValueError if anything does not fit."""
        required = {"class_name", "iterations", "config", "shapes", "state"}
        missing = required - set(state_dict)
        if missing:
            raise ValueError(f"state_dict is missing keys {sorted(missing)}")
        if state_dict["class_name"] != type(self).__name__:
            raise ValueError(
                f"state_dict is for {state_dict['class_name']}, not {type(self).__name__}"
            )
        iterations = state_dict["iterations"]
        if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral):
            raise ValueError(f"Invalid iterations in state_dict: {iterations!r}")
        if iterations < 0:
            raise ValueError(f"Invalid iterations in state_dict: {iterations}")
        try:
            restored = type(self).from_config(state_dict["config"])
        except TypeError as error:  # unknown or missing constructor arguments
            message = f"state_dict config does not fit {type(self).__name__}: {error}"
            raise ValueError(message) from error

        shapes = [tuple(int(n) for n in shape) for shape in state_dict["shapes"]]
        state = state_dict["state"]
        if len(state) != len(shapes):
            raise ValueError(f"state_dict has {len(state)} state entries for {len(shapes)} shapes")
        expected_keys = set(restored._buffer_names())
        new_state = []
        for index, (shape, buffers) in enumerate(zip(shapes, state, strict=True)):
            if set(buffers) != expected_keys:
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
            new_state.append(new_buffers)

        # Everything checked: now copy the hyperparameters over and install the state.
        for attribute, value in vars(restored).items():
            if attribute not in ("ops", "iterations", "_shapes", "_state"):
                setattr(self, attribute, value)
        self.iterations = int(iterations)
        self._shapes = shapes
        self._state = new_state

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"
