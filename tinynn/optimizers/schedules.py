"""Learning-rate schedules: plain functions of the optimizer's step counter, as
``keras.optimizers.schedules`` spells them (``tinynn.optimizers.schedules``).

A schedule is passed as an optimizer's ``learning_rate``; the optimizer calls
``schedule(optimizer.iterations)`` before every step, so step 0 is the first update::

    lr = schedules.CosineDecay(0.1, decay_steps=1000)
    opt = optimizers.SGD(learning_rate=lr)

Schedules hold no state: the value depends only on ``step``. They round-trip through
``serialize``/``deserialize`` as ``{"class_name": ..., "config": {...}}`` (JSON-able).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from tinynn.registry import Registry


def _check_number(name, value, *, low=None, high=None, low_open=False, high_open=False):
    """Raise ValueError (with the value) unless ``value`` is a real number in the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"Invalid {name}: {value!r} (expected a number)")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"Invalid {name}: {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"Invalid {name}: {value}")


def _check_int(name, value, *, low):
    """Raise ValueError unless ``value`` is an int ≥ ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"Invalid {name}: {value!r} (expected an integer >= {low})")


class LearningRateSchedule:
    """Base class: ``schedule(step) -> float`` for an integer ``step >= 0``.

    Subclasses implement ``_value(step)`` and ``get_config()``; ``from_config`` calls the
    constructor with the config as keyword arguments.
    """

    def __call__(self, step: int) -> float:
        _check_int("step", step, low=0)
        return float(self._value(step))

    def _value(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_config()")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


class StepDecay(LearningRateSchedule):
    """Multiply the rate by ``decay_rate`` every ``decay_steps`` steps.

    ``lr(step) = initial_learning_rate · decay_rate ^ floor(step / decay_steps)``

    Same as PyTorch's ``StepLR(step_size=decay_steps, gamma=decay_rate)`` when stepped once
    per optimizer step, and as Keras' ``ExponentialDecay(..., staircase=True)``.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate):
        _check_number("initial_learning_rate", initial_learning_rate, low=0.0)
        _check_int("decay_steps", decay_steps, low=1)
        _check_number("decay_rate", decay_rate, low=0.0, low_open=True)
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.decay_rate = float(decay_rate)

    def _value(self, step: int) -> float:
        return self.initial_learning_rate * self.decay_rate ** (step // self.decay_steps)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
        }


class ExponentialDecay(LearningRateSchedule):
    """Smooth exponential decay (Keras semantics).

    ``lr(step) = initial_learning_rate · decay_rate ^ (step / decay_steps)``; with
    ``staircase=True`` the exponent is ``floor(step / decay_steps)`` (then equal to
    ``StepDecay``). PyTorch's ``ExponentialLR(gamma)`` is the case ``decay_steps=1``.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        _check_number("initial_learning_rate", initial_learning_rate, low=0.0)
        _check_int("decay_steps", decay_steps, low=1)
        _check_number("decay_rate", decay_rate, low=0.0, low_open=True)
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)

    def _value(self, step: int) -> float:
        exponent = step // self.decay_steps if self.staircase else step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate**exponent

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


class CosineDecay(LearningRateSchedule):
    """Cosine decay with optional linear warm-up (Keras semantics; Loshchilov & Hutter 2017).

    Without warm-up (``warmup_target=None``), with ``s = min(step, decay_steps)``::

        lr(step) = initial_learning_rate · ((1 − α)·½·(1 + cos(π·s / decay_steps)) + α)

    so the rate falls from ``initial_learning_rate`` to ``α·initial_learning_rate`` and stays.
    With warm-up, the rate first rises linearly from ``initial_learning_rate`` to
    ``warmup_target`` over ``warmup_steps`` steps, then decays as above from
    ``warmup_target`` (to ``α·warmup_target``) over the next ``decay_steps`` steps.
    ``alpha`` is a *fraction*, unlike PyTorch's ``CosineAnnealingLR(eta_min)``, an absolute rate.
    """

    def __init__(
        self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0
    ):
        _check_number("initial_learning_rate", initial_learning_rate, low=0.0)
        _check_int("decay_steps", decay_steps, low=1)
        _check_number("alpha", alpha, low=0.0, high=1.0)
        if warmup_target is not None:
            _check_number("warmup_target", warmup_target, low=0.0)
            warmup_target = float(warmup_target)
        _check_int("warmup_steps", warmup_steps, low=0)
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.alpha = float(alpha)
        self.warmup_target = warmup_target
        self.warmup_steps = int(warmup_steps)

    def _decay(self, step: int, decay_from: float) -> float:
        completed_fraction = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * completed_fraction))
        return decay_from * ((1.0 - self.alpha) * cosine + self.alpha)

    def _value(self, step: int) -> float:
        if self.warmup_target is None:
            return self._decay(step, self.initial_learning_rate)
        if step < self.warmup_steps:
            completed_fraction = step / self.warmup_steps
            delta = self.warmup_target - self.initial_learning_rate
            return self.initial_learning_rate + delta * completed_fraction
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class InverseTimeDecay(LearningRateSchedule):
    """lr = initial / (1 + decay_rate · step / decay_steps) (Keras's formula; with
    ``staircase`` the ratio step / decay_steps is floored)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        _check_number("initial_learning_rate", initial_learning_rate, low=0.0)
        _check_int("decay_steps", decay_steps, low=1)
        _check_number("decay_rate", decay_rate, low=0.0)
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)

    def _value(self, step: int) -> float:
        ratio = step // self.decay_steps if self.staircase else step / self.decay_steps
        return self.initial_learning_rate / (1 + self.decay_rate * ratio)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


class PolynomialDecay(LearningRateSchedule):
    """lr = (initial − end) · (1 − step / decay_steps)^power + end, and ``end`` after
    decay_steps (Keras's formula). With ``cycle`` the horizon grows to the next multiple of
    decay_steps instead, so the rate decays again from a restart."""

    def __init__(
        self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False
    ):
        _check_number("initial_learning_rate", initial_learning_rate, low=0.0)
        _check_int("decay_steps", decay_steps, low=1)
        _check_number("end_learning_rate", end_learning_rate, low=0.0)
        _check_number("power", power, low=0.0)
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.end_learning_rate = float(end_learning_rate)
        self.power = float(power)
        self.cycle = bool(cycle)

    def _value(self, step: int) -> float:
        horizon = self.decay_steps
        if self.cycle:
            horizon *= max(1, math.ceil(step / self.decay_steps))
        fraction = 1 - min(step, horizon) / horizon
        span = self.initial_learning_rate - self.end_learning_rate
        return span * fraction**self.power + self.end_learning_rate

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """lr = values[i] for boundaries[i−1] < step ≤ boundaries[i] (Keras's rule: values[0] up
    to and including boundaries[0], the last value after the last boundary)."""

    def __init__(self, boundaries, values):
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"values must have one more entry than boundaries; got {len(values)} values "
                f"for {len(boundaries)} boundaries"
            )
        for boundary in boundaries:
            _check_int("boundary", boundary, low=0)
        if boundaries != sorted(boundaries):
            raise ValueError(f"boundaries must increase, got {boundaries}")
        for value in values:
            _check_number("value", value, low=0.0)
        self.boundaries = [int(b) for b in boundaries]
        self.values = [float(v) for v in values]

    def _value(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values, strict=False):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values}


SCHEDULES = Registry(
    "learning-rate schedule",
    {
        cls.__name__: cls
        for cls in (
            StepDecay,
            ExponentialDecay,
            CosineDecay,
            InverseTimeDecay,
            PolynomialDecay,
            PiecewiseConstantDecay,
        )
    },
    base=LearningRateSchedule,
)

register = SCHEDULES.register
serialize = SCHEDULES.serialize
deserialize = SCHEDULES.deserialize


def get(identifier: Any) -> LearningRateSchedule:
    """A schedule from an instance (returned as is) or a serialized dict. A bare name is not
    enough, because every schedule needs arguments: the error then shows the dict form."""
    return SCHEDULES.resolve(identifier)
