"""``tinynn.distributed.DataParallel``: 2 processes under MPI give the model 1 process gives.

The MPI tests start ``mpiexec -n 2 python -m mpi4py`` on this very file (``worker`` below picks
a scenario from the command line), with a timeout; every assertion about the MPI run happens
inside it, on rank 0, against a single-process reference computed there too. They are skipped,
for one stated reason, when mpi4py or its ``mpiexec`` is not installed (``pip install
".[mpi]"``). Each scenario takes a second or two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinynn
from tinynn import layers
from tinynn.callbacks import CallbackList, CSVLogger, ModelCheckpoint, ProgbarLogger

HERE = Path(__file__).resolve()
MPIEXEC = Path(sys.executable).parent / "mpiexec"  # the mpich wheel puts it beside python


def mpi_available() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return MPIEXEC.exists()


needs_mpi = pytest.mark.skipif(
    not mpi_available(), reason='MPI tests need mpi4py and mpiexec: pip install ".[mpi]"'
)


def run_mpi(*args: str, n: int = 2, timeout: float = 60, cwd=None):
    """``mpiexec -n 2 python -m mpi4py ARGS`` with one BLAS thread per process."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [str(MPIEXEC), "-n", str(n), sys.executable, "-m", "mpi4py", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd
    )


def run_scenario(name: str, tmp_path: Path, timeout: float = 60):
    result = run_mpi(str(HERE), name, str(tmp_path), timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# -- without MPI --------------------------------------------------------------------------------


def test_split_sizes_follow_array_split():
    from tinynn.distributed import split_sizes

    for total in range(1, 12):
        for parts in range(1, 5):
            expected = [len(a) for a in np.array_split(np.arange(total), parts)]
            assert split_sizes(total, parts) == expected


def test_import_tinynn_imports_neither_mpi4py_nor_the_distributed_package():
    names = "('mpi4py', 'tinynn.distributed')"
    code = f"import sys, tinynn; print([m for m in {names} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_mpi4py_data_parallel_says_what_to_install(monkeypatch):
    from tinynn.distributed import DataParallel

    monkeypatch.setitem(sys.modules, "mpi4py", None)  # "import mpi4py" now fails
    with pytest.raises(ModuleNotFoundError, match=r"tinynn\[mpi\]") as error:
        DataParallel()
    assert error.value.name == "mpi4py"


class NotMain:
    """What the callbacks and ``save`` read of a distribution on rank 1."""

    is_main = False


def test_only_the_main_process_keeps_callbacks_that_print_or_write(tmp_path):
    writers = [
        ProgbarLogger(),
        CSVLogger(tmp_path / "log.csv"),
        ModelCheckpoint(tmp_path / "m.npz"),
    ]
    early = tinynn.callbacks.EarlyStopping()
    kept = CallbackList([*writers, early], params={"verbose": 2}, add_history=True)
    assert writers[0] in kept.callbacks and len(kept.callbacks) == 5
    others = CallbackList(
        [*writers, early], params={"verbose": 2}, add_history=True, add_progbar=True,
        main_process=False,
    )  # fmt: skip
    assert [type(c).__name__ for c in others.callbacks] == ["EarlyStopping", "History"]


def test_save_writes_on_the_main_process_only(tmp_path):
    model = tinynn.Sequential([tinynn.Input(shape=(3,)), layers.Dense(2)], seed=0)
    model.compile("sgd", "mse")
    model.train_state.distribution = NotMain()
    model.save(tmp_path / "m.npz")
    model.save_weights(tmp_path / "m.weights.npz")
    assert list(tmp_path.iterdir()) == []
    model.train_state.distribution = None
    model.save(tmp_path / "m.npz")
    assert (tmp_path / "m.npz").exists()


def test_python_dash_m_tinynn_is_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "tinynn", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.startswith("tinynn ")


@needs_mpi
def test_one_process_with_data_parallel_trains_bit_for_bit_as_without(tmp_path):
    """In this very process, MPI's world of one: the same arithmetic, nothing to sum."""
    from tinynn.distributed import DataParallel

    x, y = make_data("dense", 50, "float64")
    weights = []
    for distribution in (None, DataParallel()):
        model = dense_model("float64", "l2")
        model.compile("adam", "sparse_categorical_crossentropy", distribution=distribution)
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        weights.append(model.get_weights())
    for alone, parallel in zip(*weights, strict=True):
        np.testing.assert_array_equal(parallel, alone)


# -- under mpiexec -n 2 ---------------------------------------------------------------------


@needs_mpi
def test_two_processes_train_the_model_one_process_trains(tmp_path):
    """Dense and CNN, float64 and float32, SGD with momentum and Adam, a penalty or none, an
    uneven last batch and one a rank has no row of: 20 steps, weights to 1e-10 (float64) and
    1e-5 (float32) relative, the logs of fit to 1e-12, evaluate and predict exactly."""
    run_scenario("equivalence", tmp_path)


@needs_mpi
def test_memory_mapped_data_functional_models_and_per_rank_layers(tmp_path):
    run_scenario("data_and_models", tmp_path)


@needs_mpi
def test_only_rank_0_prints_and_writes_files(tmp_path):
    result = run_scenario("files", tmp_path)
    names = sorted(path.name for path in tmp_path.rglob("*") if path.is_file())
    assert names == ["backup.npz", "checkpoint_0.npz", "log_0.csv", "model_0.npz"], names
    assert result.stderr.count("Epoch 1/3") == 1 and result.stderr.count("Epoch 3/3") == 1
    assert len(list(csv_rows(tmp_path / "log_0.csv"))) == 3


def csv_rows(path: Path):
    return path.read_text().strip().splitlines()[1:]


@needs_mpi
def test_the_cli_trains_on_two_processes_and_prints_one_set_of_results(tmp_path):
    output = tmp_path / "digits.npz"
    args = ["-m", "tinynn", "train", "--epochs", "2", "--output", str(output), "--verbose", "2"]
    result = run_mpi(*args, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("Training a 64-128-64-10 MLP") == 1
    assert "data-parallel on 2 processes" in result.stdout
    assert result.stdout.count("Test split") == 1 and result.stdout.count("Saved the model") == 1
    assert result.stderr.count("Epoch 2/2") == 1
    assert tinynn.load_model(output).evaluate  # rank 0 wrote a whole model file


@needs_mpi
def test_a_rank_that_fails_ends_the_whole_job_quickly(tmp_path):
    start = time.perf_counter()
    result = run_mpi(str(HERE), "fail", str(tmp_path), timeout=60)
    elapsed = time.perf_counter() - start
    assert result.returncode != 0
    assert "RuntimeError: rank 1 fails at step 5" in result.stderr
    assert elapsed < 30, f"the job took {elapsed:.1f} s to end"


@needs_mpi
def test_a_killed_two_process_run_resumes_to_the_same_weights(tmp_path):
    """Dropout and BatchNormalization (per-rank masks and statistics), backups every 3 steps,
    rank 0 killed by SIGKILL in the middle of an epoch: the rerun ends bit-identical."""
    run_scenario("resume", tmp_path / "straight")
    killed = run_mpi(str(HERE), "resume", str(tmp_path / "resumed"), "kill")
    assert killed.returncode != 0
    assert (tmp_path / "resumed" / "backup" / "backup.npz").exists()
    run_scenario("resume", tmp_path / "resumed")
    straight = np.load(tmp_path / "straight" / "weights.npz")
    resumed = np.load(tmp_path / "resumed" / "weights.npz")
    assert straight.files == resumed.files
    for key in straight.files:
        np.testing.assert_array_equal(resumed[key], straight[key])
    assert (
        json.loads((tmp_path / "resumed" / "history.json").read_text())["loss"][-1]
        == (json.loads((tmp_path / "straight" / "history.json").read_text())["loss"][-1])
    )


# -- the MPI side: python -m mpi4py tests/test_distributed.py SCENARIO FOLDER [kill] -----------


def dense_model(dtype, regularizer=None):
    return tinynn.Sequential(
        [
            tinynn.Input(shape=(6,)),
            layers.Dense(8, activation="tanh", kernel_regularizer=regularizer),
            layers.Dense(3, activation="softmax"),
        ],
        dtype=dtype,
        seed=0,
    )


def cnn_model(dtype, regularizer=None):
    return tinynn.Sequential(
        [
            tinynn.Input(shape=(6, 6, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(3, activation="softmax", kernel_regularizer=regularizer),
        ],
        dtype=dtype,
        seed=0,
    )


def make_data(kind, n, dtype):
    rng = np.random.default_rng(1)
    shape = (n, 6) if kind == "dense" else (n, 6, 6, 1)
    return rng.normal(size=shape).astype(dtype), rng.integers(0, 3, n)


def train(kind, dtype, optimizer, regularizer, n, distribution):
    """20 steps: 4 epochs of ceil(n / 16) = 5 batches, the last one short."""
    x, y = make_data(kind, n, dtype)
    model = (dense_model if kind == "dense" else cnn_model)(dtype, regularizer)
    opt = tinynn.optimizers.SGD(0.1, momentum=0.9) if optimizer == "sgd" else "adam"
    model.compile(
        opt,
        "sparse_categorical_crossentropy",
        metrics=["accuracy", "precision"],
        backend="numpy",
        distribution=distribution,
    )
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0, validation_split=0.2)
    return model, history.history, x, y


def relative_error(a, b):
    """The largest difference between two lists of arrays, relative to each array's scale."""
    pairs = zip(a, b, strict=True)
    return max(float(np.max(np.abs(p - q)) / max(np.max(np.abs(p)), 1e-30)) for p, q in pairs)


def scenario_equivalence(dp, folder):
    for dtype, tolerance in (("float64", 1e-10), ("float32", 1e-5)):
        for optimizer in ("sgd", "adam"):
            for kind in ("dense", "cnn"):
                for regularizer, n in ((None, 94), ("l2", 82)):  # last batches of 11 and 1 rows
                    setting = (dtype, optimizer, kind, regularizer, n)
                    model, logs, x, y = train(kind, dtype, optimizer, regularizer, n, dp)
                    evaluated, predicted = model.evaluate(x, y, return_dict=True), model.predict(x)
                    ranks = dp.comm.allgather(model.get_weights())
                    if not dp.is_main:
                        continue
                    assert all(relative_error(ranks[0], w) == 0 for w in ranks), setting
                    alone, alone_logs, _, _ = train(kind, dtype, optimizer, regularizer, n, None)
                    error = relative_error(alone.get_weights(), model.get_weights())
                    assert error < tolerance, (setting, error)
                    assert logs.keys() == alone_logs.keys()
                    for key, values in logs.items():
                        rtol = 1e-12 if dtype == "float64" else 1e-5
                        np.testing.assert_allclose(values, alone_logs[key], rtol=rtol, err_msg=key)
                    alone.set_weights(model.get_weights())  # the same weights: the same results
                    assert alone.evaluate(x, y, return_dict=True) == evaluated, setting
                    np.testing.assert_array_equal(alone.predict(x), predicted)


def scenario_data_and_models(dp, folder):
    folder = Path(folder)
    x, y = make_data("dense", 90, "float32")
    if dp.is_main:
        np.save(folder / "x.npy", x)
    dp.comm.Barrier()
    mapped = np.load(folder / "x.npy", mmap_mode="r")
    weights = []
    for data in (x, mapped):
        model = dense_model("float32")
        model.compile("adam", "sparse_categorical_crossentropy", distribution=dp)
        model.fit(data, y, batch_size=16, epochs=2, verbose=0)
        weights.append(model.get_weights())
    assert relative_error(*weights) == 0

    # Two outputs, one of them with a metric, sample weights: the logs of one process.
    def two_outputs():  # layers built on symbolic tensors take their own seed and dtype
        inputs = tinynn.Input(shape=(6,))
        options = {"dtype": "float64"}
        hidden = layers.Dense(8, activation="relu", name="hidden", seed=1, **options)(inputs)
        classes = layers.Dense(3, activation="softmax", name="classes", seed=2, **options)(hidden)
        value = layers.Dense(1, name="value", seed=3, **options)(hidden)
        return tinynn.Model(inputs, [classes, value], dtype="float64", seed=3)

    x, y = make_data("dense", 77, "float64")
    targets = [y, x[:, :1] * 2.0]
    sample_weight = np.linspace(0.5, 1.5, 77)
    results = []
    for distribution in (dp, None):
        if distribution is None and not dp.is_main:
            break
        model = two_outputs()
        model.compile(
            "adam",
            ["sparse_categorical_crossentropy", "mse"],
            metrics={"classes": ["accuracy"]},
            distribution=distribution,
        )
        logs = model.fit(
            x, targets, batch_size=10, epochs=3, verbose=0, sample_weight=sample_weight
        )
        results.append((model.get_weights(), logs.history))
    if dp.is_main:
        (w_dp, logs_dp), (w_one, logs_one) = results
        assert relative_error(w_one, w_dp) < 1e-10, relative_error(w_one, w_dp)
        for key in logs_one:
            np.testing.assert_allclose(logs_dp[key], logs_one[key], rtol=1e-12, err_msg=key)

    # Dropout and BatchNormalization: per-rank masks, statistics averaged at each epoch's end.
    model = tinynn.Sequential(
        [
            tinynn.Input(shape=(6,)),
            layers.Dense(8),
            layers.BatchNormalization(),
            layers.Dropout(0.5),
            layers.Dense(3, activation="softmax"),
        ],
        seed=5,
    )
    model.compile("adam", "sparse_categorical_crossentropy", distribution=dp)
    dropout = model.layers[2]
    masks = dp.comm.allgather(dropout.rng.bit_generator.state)
    assert masks[0] != masks[1], "the ranks' dropout streams should differ"
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    ranks = dp.comm.allgather(model.get_weights())
    assert relative_error(ranks[0], ranks[1]) == 0, "the ranks' models drifted apart"


def scenario_files(dp, folder):
    from tinynn.callbacks import BackupAndRestore

    folder = Path(folder)
    rank = dp.rank
    x, y = make_data("dense", 64, "float32")
    model = dense_model("float32")
    model.compile("adam", "sparse_categorical_crossentropy", distribution=dp)
    callbacks = [
        CSVLogger(folder / f"log_{rank}.csv"),
        ModelCheckpoint(folder / f"checkpoint_{rank}.npz", monitor="loss"),
        BackupAndRestore(folder / f"backup_{rank}", save_freq=2, delete_checkpoint=False),
    ]
    model.fit(x, y, batch_size=16, epochs=3, verbose=2, callbacks=callbacks)
    model.save(folder / f"model_{rank}.npz")


def scenario_fail(dp, folder):
    class FailOnRank1(tinynn.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if dp.rank == 1 and batch == 5:
                raise RuntimeError("rank 1 fails at step 5")

    x, y = make_data("dense", 200, "float32")
    model = dense_model("float32")
    model.compile("sgd", "sparse_categorical_crossentropy", distribution=dp)
    model.fit(x, y, batch_size=16, epochs=50, verbose=0, callbacks=[FailOnRank1()])


def scenario_resume(dp, folder, kill=None):
    import signal

    from tinynn.callbacks import BackupAndRestore

    folder = Path(folder)

    class KillRank0(tinynn.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if dp.rank == 0 and self.params["progress"].epoch == 1 and batch == 3:
                os.kill(os.getpid(), signal.SIGKILL)  # step 11 of 21: after the backup at 9

    x, y = make_data("dense", 90, "float32")
    model = tinynn.Sequential(
        [
            tinynn.Input(shape=(6,)),
            layers.Dense(8),
            layers.BatchNormalization(),
            layers.Dropout(0.3),
            layers.Dense(3, activation="softmax"),
        ],
        seed=7,
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], distribution=dp)
    callbacks = [BackupAndRestore(folder / "backup", save_freq=3)]
    if kill:
        callbacks.append(KillRank0())
    history = model.fit(x, y, batch_size=13, epochs=3, verbose=0, callbacks=callbacks)
    if dp.is_main:
        weights = model.get_weights()
        np.savez(folder / "weights.npz", *weights)
        (folder / "history.json").write_text(json.dumps(history.history))


def worker(scenario: str, folder: str, *extra: str) -> None:
    from tinynn.distributed import DataParallel

    dp = DataParallel()
    Path(folder).mkdir(parents=True, exist_ok=True)
    globals()[f"scenario_{scenario}"](dp, folder, *extra)


if __name__ == "__main__":
    worker(*sys.argv[1:])
