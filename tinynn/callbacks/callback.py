"""The ``Callback`` base class: named hooks that ``fit``/``evaluate``/``predict`` call.

A callback lets code run at fixed points of training without ``fit`` knowing about it,
which keeps ``fit`` short (see STYLE.md, example 11). The hook names and their order
are those of Keras::

    on_train_begin
      on_epoch_begin(epoch)                     epoch is 0-based
        on_train_batch_begin(batch) / on_train_batch_end(batch, logs)   batch is 0-based
        on_test_begin ... on_test_end           validation, if any
      on_epoch_end(epoch, logs)                 logs: loss, metrics, val_loss, val_<metric>
    on_train_end

``logs`` is a dict from name to float, e.g. ``{"loss": 0.31, "accuracy": 0.9}``. The
same dict is passed to every callback in turn, so a callback may add a key (the
learning-rate callbacks add "learning_rate") that later ones, such as ``History``, see.
"""

from __future__ import annotations

from typing import Any

from tinynn.train_state import is_main_process

Logs = dict[str, Any]


class Callback:
    """Base class whose hooks do nothing; subclasses override the hooks they need.

    Attributes:
        model: the model being trained, set by ``set_model``. Callbacks use only
            ``stop_training``, ``get_weights()``, ``set_weights()``, ``save(path)`` and
            ``optimizer.learning_rate``.
        params: ``{"epochs": int, "steps": int | None, "verbose": int | "auto"}``, set by
            ``set_params``; ``steps`` is the number of batches per epoch. ``fit`` adds
            ``"progress"``: its ``tinynn.fit_progress.FitProgress``.
    """

    #: True for a callback that prints or writes files (the progress bar, CSVLogger,
    #: ModelCheckpoint): under a distribution (``tinynn.distributed``) only the main process,
    #: rank 0, runs it. Callbacks that decide something (EarlyStopping, the learning-rate
    #: callbacks) run on every process, on the same global logs, so all decide alike.
    main_process_only = False

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = dict(params)

    def say(self, message: str) -> None:
        """Print a message (a verbose callback's), on the main process only."""
        if is_main_process(self.model):
            print(message)

    # ---- training ----
    def on_train_begin(self, logs: Logs | None = None) -> None:
        """Called once before the first epoch."""

    def on_train_end(self, logs: Logs | None = None) -> None:
        """Called once after the last epoch, also when training stopped early."""

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        """Called at the start of epoch ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        """Called after the epoch and its validation; ``logs`` holds the epoch's results."""

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Called before the optimizer step on batch ``batch`` (0-based, per epoch)."""

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Called after the step; ``logs["loss"]`` is the loss reported for this batch."""

    # ---- evaluation (also used for validation inside fit) ----
    def on_test_begin(self, logs: Logs | None = None) -> None:
        """Called before evaluation starts."""

    def on_test_end(self, logs: Logs | None = None) -> None:
        """Called after evaluation; ``logs`` holds the evaluation results."""

    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Called before an evaluation batch."""

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Called after an evaluation batch."""

    # ---- prediction ----
    def on_predict_begin(self, logs: Logs | None = None) -> None:
        """Called before prediction starts."""

    def on_predict_end(self, logs: Logs | None = None) -> None:
        """Called after prediction."""

    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Called before a prediction batch."""

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Called after a prediction batch."""
