"""``TerminateOnNaN``: stop as soon as a batch loss is NaN or infinite."""

from __future__ import annotations

import math

from tinynn.callbacks.callback import Callback, Logs


class TerminateOnNaN(Callback):
    """Set ``model.stop_training`` when ``logs["loss"]`` of a training batch is not finite.

    A NaN loss means the weights are already NaN (often a too-large learning rate);
    every further step would be wasted work. ``fit`` checks ``stop_training`` after
    each batch and after each epoch.

    Attributes:
        terminated_batch: ``(epoch, batch)`` where training was stopped, else None.
    """

    def __init__(self) -> None:
        super().__init__()
        self.terminated_batch: tuple[int, int] | None = None
        self._epoch = 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.terminated_batch = None

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.say(
                f"Epoch {self._epoch + 1}, batch {batch}: invalid loss {loss}, terminating training"
            )
            self.terminated_batch = (self._epoch, batch)
            self.model.stop_training = True
