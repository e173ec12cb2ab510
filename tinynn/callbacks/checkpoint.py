"""``ModelCheckpoint``: save the model after epochs, optionally only when it improved."""

from __future__ import annotations

import os
import string
from typing import Any

from tinynn.callbacks._checks import check_non_negative_int
from tinynn.callbacks.callback import Callback, Logs
from tinynn.callbacks.monitor import (
    check_monitor,
    is_improvement,
    monitor_value,
    resolve_mode,
    worst_value,
)


class ModelCheckpoint(Callback):
    """Call ``model.save(path)`` at the end of each epoch.

    Args:
        filepath: where to save. It may hold ``str.format`` fields filled from
            ``epoch`` (1-based, as in Keras) and the epoch logs, e.g.
            ``"ckpt/model-{epoch:02d}-{val_loss:.2f}.npz"``. Missing folders are created.
        monitor: log key compared when ``save_best_only``.
        save_best_only: save only when ``monitor`` strictly beats the best value so far.
            (If it is missing from the logs, warn and do not save.)
        mode: "min", "max" or "auto" (max if the name contains acc/auc/precision/recall/f1).
        verbose: 1 prints a message on every decision.

    As in Keras, the best value is kept across ``fit`` calls, so a later run does not
    overwrite a better checkpoint from an earlier one.
    """

    main_process_only = True  # it prints or writes files: rank 0 only

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
        verbose: int = 0,
    ) -> None:
        super().__init__()
        self.filepath = os.fspath(filepath)
        try:
            # Parse now so that a typo such as "{epoch:02d" fails before training.
            list(string.Formatter().parse(self.filepath))
        except ValueError as error:
            raise ValueError(
                f"filepath {self.filepath!r} is not a valid format string ({error}); "
                "expected fields like {epoch:02d} or {val_loss:.2f}"
            ) from None
        self.monitor = check_monitor(monitor)
        self.save_best_only = bool(save_best_only)
        self.mode = resolve_mode(mode, self.monitor)
        self.verbose = check_non_negative_int("verbose", verbose)
        self.best: Any = worst_value(self.mode)

    def format_filepath(self, epoch: int, logs: Logs | None = None) -> str:
        """Fill the filepath fields from the 1-based epoch number and the logs."""
        fields = {**(logs or {}), "epoch": epoch + 1}
        try:
            return self.filepath.format(**fields)
        except KeyError as error:
            raise ValueError(
                f"filepath {self.filepath!r} uses the field {error.args[0]!r}, which is not "
                f"in the logs; expected one of: {', '.join(sorted(fields))}"
            ) from None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        path = self.format_filepath(epoch, logs)
        if not self.save_best_only:
            self._say(f"Epoch {epoch + 1}: saving model to {path}")
            self._save(path)
            return
        current = monitor_value(logs, self.monitor, "ModelCheckpoint(save_best_only=True)")
        if current is None:
            return
        if is_improvement(current, self.best, self.mode):
            self._say(
                f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} "
                f"to {current:.5f}, saving model to {path}"
            )
            self.best = current
            self._save(path)
        else:
            self._say(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")

    def _save(self, path: str) -> None:
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.model.save(path)

    def _say(self, message: str) -> None:
        if self.verbose > 0:
            print(message)
