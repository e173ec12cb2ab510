"""``ProgbarLogger``: where progress goes (stderr) and what "auto" draws for each kind of stream.

Streams here are never terminals (StringIO, pytest's capture) unless a test makes one: a
``FakeTerminal``, or a real pseudo-terminal in a subprocess.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest

from tinynn import layers
from tinynn.callbacks import CallbackList, ProgbarLogger, progbar
from tinynn.models import Sequential

LOGS = [{"loss": 0.5, "val_loss": 0.25}, {"loss": 0.25, "val_loss": 0.125}]


def run_epochs(callback: ProgbarLogger, logs=LOGS, steps: int = 2) -> None:
    """Drive the hooks as ``fit`` does, without a model."""
    hooks = CallbackList([callback], params={"epochs": len(logs), "steps": steps})
    hooks.on_train_begin()
    for epoch, epoch_logs in enumerate(logs):
        hooks.on_epoch_begin(epoch)
        for batch in range(steps):
            hooks.on_train_batch_end(batch, {"loss": 0.5})
        hooks.on_epoch_end(epoch, dict(epoch_logs))
    hooks.on_train_end()


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal of ``columns`` columns."""

    def __init__(self, columns: int) -> None:
        super().__init__()
        self.columns = columns

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return -1


@pytest.fixture
def fake_terminal(monkeypatch):
    def make(columns: int) -> FakeTerminal:
        terminal = FakeTerminal(columns)

        def get_terminal_size(fd: int) -> os.terminal_size:
            assert fd == -1, "asked the size of another stream"
            return os.terminal_size((terminal.columns, 24))

        monkeypatch.setattr(progbar.os, "get_terminal_size", get_terminal_size)
        return terminal

    return make


def small_model() -> Sequential:
    model = Sequential([layers.Input((3,)), layers.Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 3)).astype(np.float32), np.arange(40) % 3


# ---- explicit verbose levels -------------------------------------------------------------
def test_verbose_1_shows_loss_and_metrics() -> None:
    stream = io.StringIO()
    logs = [{"loss": 0.123456, "val_loss": 0.5}, {"loss": 0.0000321, "val_loss": 0.4}]
    run_epochs(ProgbarLogger(verbose=1, stream=stream), logs)
    out = stream.getvalue()
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "loss: 0.1235" in out and "val_loss: 0.5000" in out
    assert "loss: 3.2100e-05" in out
    assert "2/2" in out  # steps done / total, from tqdm


def test_verbose_2_prints_one_line_per_epoch() -> None:
    stream = io.StringIO()
    run_epochs(ProgbarLogger(verbose=2, stream=stream))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2 - ")
    assert lines[1].endswith("loss: 0.2500 - val_loss: 0.1250")


def test_verbose_0_is_silent() -> None:
    stream = io.StringIO()
    run_epochs(ProgbarLogger(verbose=0, stream=stream))
    assert stream.getvalue() == ""


def test_progress_goes_to_stderr_and_leaves_stdout_to_results(capsys) -> None:
    run_epochs(ProgbarLogger(verbose=2))
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "val_loss: 0.2500" in captured.err


# ---- verbose="auto" ----------------------------------------------------------------------
def test_auto_without_a_terminal_prints_plain_lines_and_no_carriage_returns() -> None:
    stream = io.StringIO()  # a pipe, a log file, CI
    run_epochs(ProgbarLogger(verbose="auto", stream=stream), steps=50)
    text = stream.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2 - ")


def test_auto_on_a_terminal_draws_the_live_bar(fake_terminal) -> None:
    terminal = fake_terminal(100)
    run_epochs(ProgbarLogger(verbose="auto", stream=terminal))
    text = terminal.getvalue()
    assert "\r" in text and "100%" in text and "2/2" in text
    assert max(len(line) for line in text.replace("\r", "\n").splitlines()) <= 100


def test_a_terminal_that_reports_no_width_gets_lines_or_a_bar_of_fixed_width(
    fake_terminal,
) -> None:
    terminal = fake_terminal(0)
    run_epochs(ProgbarLogger(verbose="auto", stream=terminal))
    assert terminal.getvalue().splitlines()[0].startswith("Epoch 1/2 - ")
    terminal = fake_terminal(0)
    run_epochs(ProgbarLogger(verbose=1, stream=terminal))  # forced: a bar, 80 columns wide
    drawn = [line for line in terminal.getvalue().replace("\r", "\n").splitlines() if line]
    assert drawn and all(line.startswith("Epoch") for line in drawn)
    assert "100%" in drawn[-1]


def test_fit_by_default_logs_one_line_per_epoch_when_stderr_is_not_a_terminal(capsys) -> None:
    x, y = xy()
    small_model().fit(x, y, epochs=3, batch_size=8)  # verbose="auto"
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "\r" not in captured.err
    lines = captured.err.splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]


PTY_SCRIPT = """
import sys
import numpy as np
from tinynn import layers
from tinynn.models import Sequential
model = Sequential([layers.Input((3,)), layers.Dense(3, activation="softmax")], seed=0)
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
model.fit(x, np.arange(40) % 3, epochs=2, batch_size=8, verbose=VERBOSE)
"""


def run_in_a_fresh_pty(verbose: str) -> str:
    """Everything a child prints to a new pseudo-terminal, which reports 0 columns."""
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    script = PTY_SCRIPT.replace("VERBOSE", verbose)
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=follower, stderr=follower, close_fds=True
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert child.wait(timeout=60) == 0
    return b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize("verbose", ['"auto"', "1"])
def test_a_zero_column_terminal_shows_progress_not_empty_lines(verbose: str) -> None:
    text = run_in_a_fresh_pty(verbose)
    lines = text.split("\r\n")[:-1]  # the terminal turns each "\n" into "\r\n"
    assert len(lines) == 2, repr(text)  # one line per epoch, however it was drawn
    assert all(line.replace("\r", "").startswith("Epoch") for line in lines), repr(text)
    assert lines[1].replace("\r", "").startswith("Epoch 2/2")


def test_a_multiclass_average_is_named_in_the_printed_line(capsys) -> None:
    x, y = xy()
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["precision"])
    history = model.fit(x, y, epochs=1, validation_split=0.25, verbose=2)
    err = capsys.readouterr().err
    assert "- precision (macro): " in err and "- val_precision (macro): " in err
    assert "precision" in history.history  # the History key stays what the user wrote
