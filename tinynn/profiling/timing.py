"""Timing the parts of a training step: explicit, temporary wrappers around bound methods.

``timing_hooks(timer, targets)`` replaces, for the length of a ``with`` block, each target
method (``layer.forward``, ``layer.backward``, ``loss.forward``, ``optimizer.step``, …) by a
wrapper that times it, as an attribute of that one object: the class is untouched, and on
leaving the block the attribute is deleted again (or the object's own attribute put back), so
the object is exactly as before. The step itself runs the same code as ``fit``.

Times are *exclusive*: when a timed call makes another timed call (a layer's
``forward_logits`` calling its ``forward``), the inner call's time is counted for the inner key
only. So the keys' times never overlap, and the time of the step that no key covers is what
the profile reports as unattributed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

Key = tuple[str, str]


class StepTimer:
    """Exclusive seconds and call counts per key, since the last ``take``."""

    def __init__(self) -> None:
        self.seconds: dict[Key, float] = {}
        self.calls: dict[Key, int] = {}
        self._children: list[float] = []  # per active call: time spent in timed calls inside

    def timed(self, key: Key, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function``, timed under ``key``."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self._children.append(0.0)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                inside = self._children.pop()
                self.seconds[key] = self.seconds.get(key, 0.0) + elapsed - inside
                self.calls[key] = self.calls.get(key, 0) + 1
                if self._children:
                    self._children[-1] += elapsed

        wrapper.__wrapped__ = function  # type: ignore[attr-defined]
        return wrapper

    def take(self) -> tuple[dict[Key, float], dict[Key, int]]:
        """The seconds and calls recorded so far, and start afresh."""
        seconds, calls = self.seconds, self.calls
        self.seconds, self.calls = {}, {}
        return seconds, calls


@contextmanager
def timing_hooks(timer: StepTimer, targets: Sequence[tuple[Any, str, Key]]) -> Iterator[None]:
    """Time ``obj.method`` under ``key`` for each (obj, method name, key), inside the block.

    A method is wrapped once per object even if listed twice (the first key wins).
    """
    installed: list[tuple[Any, str, bool, Any]] = []
    wrapped: set[tuple[int, str]] = set()
    try:
        for obj, name, key in targets:
            if (id(obj), name) in wrapped or not callable(getattr(obj, name, None)):
                continue
            own = vars(obj)
            installed.append((obj, name, name in own, own.get(name)))
            setattr(obj, name, timer.timed(key, getattr(obj, name)))
            wrapped.add((id(obj), name))
        yield
    finally:
        for obj, name, had_own, original in reversed(installed):
            if had_own:
                setattr(obj, name, original)
            else:
                delattr(obj, name)
