"""``CallbackList``: one object that forwards each hook to every callback, in order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tinynn.callbacks.callback import Callback, Logs
from tinynn.callbacks.history import History
from tinynn.callbacks.progbar import ProgbarLogger


class CallbackList:
    """Fan out every hook to a list of callbacks, so ``fit`` makes one call per event.

    Args:
        callbacks: the user's callbacks, called in the given order.
        model: passed to each callback's ``set_model``.
        params: ``{"epochs", "steps", "verbose"}``, passed to each ``set_params``; verbose
            is 0, 1, 2 or "auto" (which the progress bar resolves against its stream).
        add_history: append a ``History`` unless one is already in the list.
        add_progbar: append a ``ProgbarLogger(verbose=params["verbose"])`` unless one is
            already there and verbose is not 0.
        main_process: False on the processes other than rank 0 of a distributed run: the
            callbacks that print or write files (``main_process_only``) are left out there.

    ``History`` and ``ProgbarLogger`` go last (as in Keras) so that they see keys that
    other callbacks add to ``logs``, such as "learning_rate".
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | None = None,
        model: Any = None,
        params: dict[str, Any] | None = None,
        add_history: bool = False,
        add_progbar: bool = False,
        main_process: bool = True,
    ) -> None:
        self.callbacks: list[Callback] = []
        for callback in callbacks or []:
            self.append(callback)
        params = dict(params or {})
        if add_history and self.history is None:
            self.append(History())
        verbose = params.get("verbose", 1)
        has_progbar = any(isinstance(c, ProgbarLogger) for c in self.callbacks)
        if add_progbar and verbose and not has_progbar:
            self.append(ProgbarLogger(verbose=verbose))
        if not main_process:
            self.callbacks = [c for c in self.callbacks if not c.main_process_only]
        self.model = model
        self.params = params
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def append(self, callback: Callback) -> None:
        if not isinstance(callback, Callback):
            raise TypeError(
                f"callbacks must be Callback instances, got {type(callback).__name__}: {callback!r}"
            )
        self.callbacks.append(callback)

    @property
    def history(self) -> History | None:
        """The ``History`` callback in the list, which ``fit`` returns (None if absent)."""
        for callback in self.callbacks:
            if isinstance(callback, History):
                return callback
        return None

    def set_model(self, model: Any) -> None:
        self.model = model
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = dict(params)
        for callback in self.callbacks:
            callback.set_params(params)

    # Each hook passes one shared dict so callbacks can add keys for those after them.
    def on_train_begin(self, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_train_begin(logs)

    def on_train_end(self, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_train_end(logs)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_train_batch_end(batch, logs)

    def on_test_begin(self, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_test_begin(logs)

    def on_test_end(self, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_test_end(logs)

    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_test_batch_end(batch, logs)

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_predict_begin(logs)

    def on_predict_end(self, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_predict_end(logs)

    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            callback.on_predict_batch_end(batch, logs)
