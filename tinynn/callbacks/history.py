"""``History``: records the epoch logs; ``fit`` returns it."""

from __future__ import annotations

from typing import Any

from tinynn.callbacks.callback import Callback, Logs


class History(Callback):
    """Collect every epoch's logs into lists.

    Attributes:
        history: ``{"loss": [epoch0, epoch1, ...], "val_loss": [...], ...}``. A key that
            first appears at a later epoch gets a shorter list, as in Keras.
        epoch: the 0-based indices of the recorded epochs.

    Unlike Keras, both are reset at ``on_train_begin``, so ``history`` and ``epoch``
    always describe the same run.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
