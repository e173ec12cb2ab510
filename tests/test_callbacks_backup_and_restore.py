"""``BackupAndRestore``: a killed run, started again, ends with the weights of an unbroken one.

The main test kills a training process with SIGKILL in the middle of an epoch, as a crash or
an out-of-memory killer would, runs the same command again, and compares the final weights
bit for bit with those of a run that was never interrupted. The in-process tests interrupt
``fit`` with an exception instead, which leaves the backup exactly as a kill does.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tinynn
from tinynn import layers
from tinynn.callbacks import BackupAndRestore, Callback
from tinynn.runtime.archive import ModelFileError, read_archive

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    import numpy as np
    import tinynn
    from tinynn import layers
    from tinynn.callbacks import BackupAndRestore, Callback

    folder, kill_at = sys.argv[1], int(sys.argv[2])

    class KillAtStep(Callback):
        def on_train_batch_end(self, batch, logs=None):
            progress = self.params["progress"]
            if progress.epoch * self.params["steps"] + progress.step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(90, 5)).astype("float32"), rng.integers(0, 3, 90)
    model = tinynn.Sequential(
        [tinynn.Input(shape=(5,)), layers.Dense(16, activation="relu"),
         layers.BatchNormalization(), layers.Dropout(0.3), layers.Dense(3, activation="softmax")],
        seed=0,
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"],
                  backend="numpy")
    callbacks = [BackupAndRestore(os.path.join(folder, "backup"), save_freq=4)]
    if kill_at >= 0:
        callbacks.append(KillAtStep())
    history = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.1, verbose=0,
                        callbacks=callbacks)
    np.savez(os.path.join(folder, "weights.npz"), *model.get_weights())
    with open(os.path.join(folder, "history.json"), "w") as file:
        json.dump({"epoch": history.epoch, **history.history}, file)
    """
)


def run_script(script, folder, kill_at):
    folder.mkdir(exist_ok=True)
    command = [sys.executable, str(script), str(folder), str(kill_at)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_a_run_killed_mid_epoch_resumes_to_bit_identical_weights(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert run_script(script, straight, -1).returncode == 0
    # 81 training samples in batches of 16: 6 steps per epoch. Killed after step 11 (epoch 1,
    # step 5): the backup of step 8 is the one to continue from.
    killed = run_script(script, resumed, 11)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    config, _ = read_archive(resumed / "backup" / "backup.npz")
    assert config["backup"]["progress"]["epoch"] == 1 and config["backup"]["progress"]["step"] == 2
    finished = run_script(script, resumed, -1)
    assert finished.returncode == 0, finished.stderr
    expected, got = np.load(straight / "weights.npz"), np.load(resumed / "weights.npz")
    for key in expected.files:
        np.testing.assert_array_equal(got[key], expected[key])
    # The resumed run reports epochs 1 and 2, with the very logs of the unbroken run.
    full = json.loads((straight / "history.json").read_text())
    part = json.loads((resumed / "history.json").read_text())
    assert part["epoch"] == [1, 2]
    assert {key: values[1:] for key, values in full.items() if key != "epoch"} == {
        key: values for key, values in part.items() if key != "epoch"
    }
    assert not (resumed / "backup" / "backup.npz").exists()  # deleted once fit ended


# -- in one process -------------------------------------------------------------------------


def make_model(seed=0):
    model = tinynn.Sequential(
        [
            tinynn.Input(shape=(4,)),
            layers.Dense(8, activation="tanh"),
            layers.Dropout(0.2),
            layers.Dense(2, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(50, 4)).astype("float32"), rng.integers(0, 2, 50)


class Crash(Callback):
    """Raise after a given step, as if the process died there."""

    def __init__(self, at_step):
        super().__init__()
        self.at_step = at_step

    def on_train_batch_end(self, batch, logs=None):
        progress = self.params["progress"]
        if progress.epoch * self.params["steps"] + progress.step == self.at_step:
            raise KeyboardInterrupt("crash")


@pytest.mark.parametrize(
    ("save_freq", "shuffle", "crash_at"), [(3, True, 10), ("epoch", True, 9), (2, False, 5)]
)
def test_an_interrupted_fit_continues_to_the_same_weights(tmp_path, save_freq, shuffle, crash_at):
    x, y = data()
    fit = {"batch_size": 8, "epochs": 3, "verbose": 0, "shuffle": shuffle}
    reference = make_model()
    reference.fit(x, y, **fit)
    backup = BackupAndRestore(tmp_path, save_freq=save_freq)
    with pytest.raises(KeyboardInterrupt):
        make_model().fit(x, y, callbacks=[backup, Crash(crash_at)], **fit)
    assert (tmp_path / "backup.npz").exists()
    model = make_model()
    model.fit(x, y, callbacks=[BackupAndRestore(tmp_path, save_freq=save_freq)], **fit)
    for expected, got in zip(reference.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert model.optimizer.iterations == reference.optimizer.iterations == 21


def test_a_finished_backup_trains_no_further_and_is_kept_when_asked(tmp_path):
    x, y = data()
    model = make_model()
    model.fit(
        x, y, epochs=2, verbose=0, callbacks=[BackupAndRestore(tmp_path, delete_checkpoint=False)]
    )
    config, arrays = read_archive(tmp_path / "backup.npz")
    assert config["backup"]["progress"] == {"epoch": 2, "step": 0}
    assert {key.split("/")[0] for key in arrays} == {"weights", "optimizer"}
    again = make_model(seed=1)
    history = again.fit(x, y, epochs=2, verbose=0, callbacks=[BackupAndRestore(tmp_path)])
    assert history.epoch == []
    for expected, got in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert not (tmp_path / "backup.npz").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind either


def test_a_backup_of_another_model_is_refused_with_a_hint(tmp_path):
    x, y = data()
    make_model().fit(
        x, y, epochs=1, verbose=0, callbacks=[BackupAndRestore(tmp_path, delete_checkpoint=False)]
    )
    other = tinynn.Sequential([tinynn.Input(shape=(4,)), layers.Dense(2, activation="softmax")])
    other.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ModelFileError, match=r"does not fit this model.*start afresh"):
        other.fit(x, y, epochs=1, verbose=0, callbacks=[BackupAndRestore(tmp_path)])


def test_save_freq_is_checked():
    for bad in (0, -2, "batch", 1.5, True):
        with pytest.raises(ValueError, match="save_freq must be 'epoch' or a positive integer"):
            BackupAndRestore("backup", save_freq=bad)
