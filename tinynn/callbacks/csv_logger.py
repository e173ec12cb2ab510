"""``CSVLogger``: write one CSV row per epoch with the epoch logs."""

from __future__ import annotations

import csv
import os
from typing import Any

from tinynn.callbacks.callback import Callback, Logs


class CSVLogger(Callback):
    """Append ``epoch`` (0-based, as Keras) and the epoch logs to a CSV file.

    The columns are ``epoch`` followed by the log keys of the first epoch in sorted
    order, so the file layout does not depend on callback order. A key missing in a
    later epoch is written as "NA"; a key that appears only later is not written.
    The file is opened and closed for each row, so it is complete even if training
    crashes, and can be read while training runs.

    Args:
        filename: path of the CSV file.
        separator: the one-character column delimiter.
        append: keep existing rows (and reuse the existing header's columns); otherwise
            the file is overwritten when training begins.
    """

    main_process_only = True  # it prints or writes files: rank 0 only

    def __init__(
        self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False
    ) -> None:
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator must be a single character, got {separator!r}")
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self._needs_header = True

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.keys = None
        self._needs_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as file:
                header = next(csv.reader(file, delimiter=self.separator), None)
            if header:
                self.keys = header[1:]  # reuse the columns so appended rows line up
                self._needs_header = False
        if not self.append:
            open(self.filename, "w").close()  # start a fresh file

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        row: dict[str, Any] = {"epoch": epoch}
        for key in self.keys:
            row[key] = logs.get(key, "NA")
        # newline="" is what the csv module requires: it writes its own line endings.
        with open(self.filename, "a", newline="") as file:
            writer = csv.DictWriter(
                file, fieldnames=["epoch", *self.keys], delimiter=self.separator
            )
            if self._needs_header:
                writer.writeheader()
                self._needs_header = False
            writer.writerow(row)
