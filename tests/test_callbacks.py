"""Tests for tinynn.callbacks, driven by a fake model and a minimal fit loop."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinynn.callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgbarLogger,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from tinynn.callbacks.monitor import resolve_mode


class FakeOptimizer:
    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = learning_rate


class FakeModel:
    """Has exactly the surface the callbacks use. Its weights encode the epoch number."""

    def __init__(self, learning_rate: float = 0.1) -> None:
        self.stop_training = False
        self.weights = [np.zeros((2, 2)), np.zeros(2)]
        self.optimizer = FakeOptimizer(learning_rate)
        self.saved: list[str] = []
        self.rates_used: list[float] = []

    def get_weights(self) -> list[np.ndarray]:
        return self.weights  # live arrays on purpose: callbacks must copy them

    def set_weights(self, weights: list[np.ndarray]) -> None:
        for live, new in zip(self.weights, weights, strict=True):
            live[...] = new

    def save(self, path: str) -> None:
        Path(path).write_text("saved")
        self.saved.append(path)


def run_fit(
    model: FakeModel,
    callbacks: list[Callback],
    epoch_logs: list[dict[str, float]],
    batch_losses: list[float] | None = None,
    verbose: int = 0,
) -> History:
    """A minimal fit loop with Keras's hook order; epoch e sets every weight to e."""
    batch_losses = batch_losses or [0.5, 0.25]
    params = {"epochs": len(epoch_logs), "steps": len(batch_losses), "verbose": verbose}
    hooks = CallbackList(callbacks, model=model, params=params, add_history=True)
    model.stop_training = False
    hooks.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        hooks.on_epoch_begin(epoch)
        model.rates_used.append(model.optimizer.learning_rate)
        for batch, loss in enumerate(batch_losses):
            hooks.on_train_batch_begin(batch)
            for w in model.weights:
                w[...] = epoch  # in place, like an optimizer step
            hooks.on_train_batch_end(batch, {"loss": loss})
            if model.stop_training:
                break
        hooks.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    hooks.on_train_end()
    assert hooks.history is not None
    return hooks.history


def losses(values: list[float], key: str = "val_loss") -> list[dict[str, float]]:
    return [{"loss": 1.0, key: v} for v in values]


# ---- CallbackList and History ----
def test_callback_list_calls_every_hook_in_order() -> None:
    calls: list[tuple[str, Any]] = []

    class Recorder(Callback):
        def on_train_begin(self, logs=None):
            calls.append(("train_begin", self.params["epochs"]))

        def on_epoch_end(self, epoch, logs=None):
            calls.append(("epoch_end", epoch))
            logs["extra"] = 1.0  # later callbacks (History) must see this

        def on_train_batch_end(self, batch, logs=None):
            calls.append(("batch_end", batch))

        def on_train_end(self, logs=None):
            calls.append(("train_end", self.model is not None))

    history = run_fit(FakeModel(), [Recorder()], losses([1.0, 0.5]))
    assert calls == [
        ("train_begin", 2),
        ("batch_end", 0),
        ("batch_end", 1),
        ("epoch_end", 0),
        ("batch_end", 0),
        ("batch_end", 1),
        ("epoch_end", 1),
        ("train_end", True),
    ]
    assert history.history == {"loss": [1.0, 1.0], "val_loss": [1.0, 0.5], "extra": [1.0, 1.0]}
    assert history.epoch == [0, 1]


def test_callback_list_adds_defaults_once_and_rejects_non_callbacks() -> None:
    mine = History()
    hooks = CallbackList([mine], params={"verbose": 1}, add_history=True, add_progbar=True)
    assert hooks.history is mine
    assert [type(c).__name__ for c in hooks.callbacks] == ["History", "ProgbarLogger"]
    silent = CallbackList([], params={"verbose": 0}, add_history=True, add_progbar=True)
    assert [type(c).__name__ for c in silent.callbacks] == ["History"]
    with pytest.raises(TypeError, match="Callback instances, got str"):
        CallbackList(["early_stopping"])  # type: ignore[list-item]


def test_every_base_hook_exists_and_does_nothing() -> None:
    hooks = CallbackList([Callback()], model=FakeModel(), params={"epochs": 1})
    hooks.on_test_begin()
    hooks.on_test_batch_begin(0)
    hooks.on_test_batch_end(0, {"loss": 1.0})
    hooks.on_test_end({"loss": 1.0})
    hooks.on_predict_begin()
    hooks.on_predict_batch_begin(0)
    hooks.on_predict_batch_end(0)
    hooks.on_predict_end()


# ---- EarlyStopping ----
def test_early_stopping_stops_after_patience_and_restores_best_weights() -> None:
    model = FakeModel()
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    # best at epoch 1; epochs 2 and 3 do not improve -> wait reaches 2 at epoch 3
    history = run_fit(model, [stopper], losses([1.0, 0.8, 0.9, 0.85, 0.7, 0.6]))
    assert stopper.stopped_epoch == 3
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.best == 0.8 and stopper.best_epoch == 1
    for w in model.weights:
        np.testing.assert_array_equal(w, 1.0)  # weights of epoch 1, not of epoch 3


def test_early_stopping_patience_zero_and_max_mode() -> None:
    stopper = EarlyStopping(monitor="val_accuracy", patience=0)
    assert stopper.mode == "max"
    history = run_fit(FakeModel(), [stopper], losses([0.5, 0.6, 0.6, 0.9], key="val_accuracy"))
    assert stopper.stopped_epoch == 2  # 0.6 does not beat 0.6
    assert len(history.epoch) == 3


def test_early_stopping_min_delta() -> None:
    stopper = EarlyStopping(monitor="loss", min_delta=0.1, patience=1)
    logs = [{"loss": v} for v in [1.0, 0.95, 0.92, 0.5]]
    run_fit(FakeModel(), [stopper], logs)
    assert stopper.stopped_epoch == 1  # 0.95 is an improvement of only 0.05


def test_early_stopping_baseline_keeps_counting_until_beaten() -> None:
    values = [0.9, 0.8, 0.7, 0.75, 0.6]
    with_baseline = EarlyStopping(patience=2, baseline=0.5)
    run_fit(FakeModel(), [with_baseline], losses(values))
    # Improvements that do not beat the baseline leave wait growing: 1, 2, 3, then 4 >= 2.
    assert with_baseline.stopped_epoch == 3
    without = EarlyStopping(patience=2)
    run_fit(FakeModel(), [without], losses(values))
    assert without.stopped_epoch == 0  # never stopped


def test_early_stopping_start_from_epoch_ignores_warmup() -> None:
    stopper = EarlyStopping(patience=0, start_from_epoch=2)
    run_fit(FakeModel(), [stopper], losses([0.1, 0.9, 1.0, 1.1, 1.2]))
    assert stopper.stopped_epoch == 3  # best is 1.0 at epoch 2, epoch 3 is worse


def test_early_stopping_restores_even_without_stopping_and_is_reusable() -> None:
    model = FakeModel()
    stopper = EarlyStopping(patience=5, restore_best_weights=True)
    run_fit(model, [stopper], losses([0.3, 0.1, 0.2]))
    assert stopper.stopped_epoch == 0
    np.testing.assert_array_equal(model.weights[1], [1.0, 1.0])
    run_fit(model, [stopper], losses([5.0, 4.0]))  # best is reset by on_train_begin
    assert stopper.best == 4.0


def test_early_stopping_warns_when_monitor_missing() -> None:
    stopper = EarlyStopping(monitor="val_accuracy")
    with pytest.warns(RuntimeWarning, match="'val_accuracy'.*Available keys: loss, val_loss"):
        run_fit(FakeModel(), [stopper], losses([1.0, 2.0]))
    assert stopper.stopped_epoch == 0


def test_auto_mode_rules() -> None:
    for name in ["val_accuracy", "acc", "val_auc", "precision", "val_recall", "val_f1_score"]:
        assert resolve_mode("auto", name) == "max", name
    for name in ["val_loss", "loss", "val_mae"]:
        assert resolve_mode("auto", name) == "min", name
    assert resolve_mode("max", "val_loss") == "max"


# ---- ModelCheckpoint ----
def test_checkpoint_saves_only_on_improvement(tmp_path: Path) -> None:
    model = FakeModel()
    pattern = tmp_path / "ckpt" / "model-{epoch:02d}-{val_loss:.2f}.npz"
    checkpoint = ModelCheckpoint(pattern, save_best_only=True)
    run_fit(model, [checkpoint], losses([0.5, 0.6, 0.4, 0.4, 0.45]))
    names = [Path(p).name for p in model.saved]
    assert names == ["model-01-0.50.npz", "model-03-0.40.npz"]
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == names
    assert checkpoint.best == 0.4


def test_checkpoint_saves_every_epoch_and_max_mode(tmp_path: Path) -> None:
    model = FakeModel()
    run_fit(model, [ModelCheckpoint(tmp_path / "e{epoch}.npz")], losses([0.5, 0.6]))
    assert [Path(p).name for p in model.saved] == ["e1.npz", "e2.npz"]
    model = FakeModel()
    best = ModelCheckpoint(tmp_path / "best.npz", monitor="val_accuracy", save_best_only=True)
    run_fit(model, [best], losses([0.5, 0.7, 0.6], key="val_accuracy"))
    assert len(model.saved) == 2 and best.best == 0.7


def test_checkpoint_filepath_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a valid format string"):
        ModelCheckpoint(str(tmp_path / "model-{epoch:02d"))
    checkpoint = ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.npz"))
    with pytest.raises(ValueError, match=r"'val_acc'.*epoch, loss, val_loss"):
        run_fit(FakeModel(), [checkpoint], losses([0.5]))


def test_checkpoint_missing_monitor_warns_and_skips(tmp_path: Path) -> None:
    model = FakeModel()
    checkpoint = ModelCheckpoint(tmp_path / "m.npz", monitor="val_auc", save_best_only=True)
    with pytest.warns(RuntimeWarning, match="val_auc"):
        run_fit(model, [checkpoint], losses([0.5]))
    assert model.saved == []


# ---- learning-rate callbacks ----
def test_learning_rate_scheduler_sets_and_logs_rate() -> None:
    model = FakeModel(learning_rate=0.1)
    seen: list[tuple[int, float]] = []

    def schedule(epoch: int, lr: float) -> float:
        seen.append((epoch, lr))
        return lr if epoch < 1 else lr * 0.5

    history = run_fit(model, [LearningRateScheduler(schedule)], losses([1.0, 1.0, 1.0]))
    assert seen == [(0, 0.1), (1, 0.1), (2, 0.05)]
    assert model.rates_used == [0.1, 0.05, 0.025]
    assert history.history["learning_rate"] == [0.1, 0.05, 0.025]


def test_learning_rate_scheduler_rejects_bad_output() -> None:
    for bad in [None, "0.1", math.nan, -1.0]:
        scheduler = LearningRateScheduler(lambda epoch, lr, bad=bad: bad)
        with pytest.raises(ValueError, match="expected a finite number >= 0"):
            run_fit(FakeModel(), [scheduler], losses([1.0]))


def test_learning_rate_callbacks_need_a_numeric_rate() -> None:
    model = FakeModel()
    model.optimizer.learning_rate = object()  # e.g. a schedule object
    with pytest.raises(TypeError, match=r"optimizer\.learning_rate to be a number"):
        run_fit(model, [LearningRateScheduler(lambda e, lr: lr)], losses([1.0]))


def test_reduce_lr_on_plateau_follows_keras_with_cooldown_and_min_lr() -> None:
    # Hand-traced through Keras's ReduceLROnPlateau.on_epoch_end.
    model = FakeModel(learning_rate=0.1)
    reducer = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1, min_lr=0.02)
    values = [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]
    history = run_fit(model, [reducer], losses(values))
    assert model.rates_used == pytest.approx([0.1, 0.1, 0.05, 0.025, 0.02, 0.02, 0.02])
    # logs["learning_rate"] is the rate used during the epoch, before any reduction
    assert history.history["learning_rate"] == pytest.approx(model.rates_used)
    assert model.optimizer.learning_rate == pytest.approx(0.02)


def test_reduce_lr_on_plateau_patience_and_longer_cooldown() -> None:
    model = FakeModel(learning_rate=1.0)
    reducer = ReduceLROnPlateau(factor=0.1, patience=2, cooldown=2)
    run_fit(model, [reducer], losses([1.0] * 9))
    # reductions at the end of epochs 2 and 5; cooldown epochs 3 and 6 do not count
    assert model.rates_used == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01])
    assert model.optimizer.learning_rate == pytest.approx(0.001)


def test_reduce_lr_on_plateau_min_delta_and_max_mode() -> None:
    model = FakeModel(learning_rate=1.0)
    reducer = ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1, min_delta=0.05)
    run_fit(model, [reducer], losses([0.5, 0.52, 0.6, 0.61], key="val_accuracy"))
    # 0.52 and 0.61 are improvements smaller than min_delta -> reduce after epochs 1 and 3
    assert model.rates_used == [1.0, 1.0, 0.5, 0.5]
    assert model.optimizer.learning_rate == 0.25


# ---- TerminateOnNaN ----
def test_terminate_on_nan(capsys: pytest.CaptureFixture[str]) -> None:
    model = FakeModel()
    terminate = TerminateOnNaN()
    history = run_fit(model, [terminate], losses([1.0, 1.0]), batch_losses=[0.5, math.nan, 0.3])
    assert model.stop_training
    assert terminate.terminated_batch == (0, 1)
    assert history.epoch == [0]
    assert "invalid loss nan" in capsys.readouterr().out
    run_fit(model, [terminate], losses([1.0]), batch_losses=[math.inf])
    assert terminate.terminated_batch == (0, 0)
    run_fit(model, [terminate], losses([1.0]), batch_losses=[0.2])
    assert terminate.terminated_batch is None and not model.stop_training


# ---- CSVLogger ----
def read_rows(path: Path, separator: str = ",") -> list[list[str]]:
    with open(path, newline="") as file:
        return list(csv.reader(file, delimiter=separator))


def test_csv_logger_writes_sorted_columns(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    logs = [
        {"val_loss": 0.5, "loss": 0.75, "accuracy": 0.25},
        {"val_loss": 0.25, "loss": 0.5},  # accuracy missing -> NA
    ]
    run_fit(FakeModel(), [CSVLogger(path)], logs)
    assert read_rows(path) == [
        ["epoch", "accuracy", "loss", "val_loss"],
        ["0", "0.25", "0.75", "0.5"],
        ["1", "NA", "0.5", "0.25"],
    ]


def test_csv_logger_append_and_separator(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    run_fit(FakeModel(), [CSVLogger(path, separator=";")], [{"loss": 1.0, "acc": 0.5}])
    run_fit(
        FakeModel(), [CSVLogger(path, separator=";", append=True)], [{"acc": 0.75, "loss": 0.5}]
    )
    assert path.read_text().splitlines() == ["epoch;acc;loss", "0;0.5;1.0", "0;0.75;0.5"]
    run_fit(FakeModel(), [CSVLogger(path, separator=";")], [{"loss": 2.0}])  # overwrite
    assert read_rows(path, ";") == [["epoch", "loss"], ["0", "2.0"]]


# ---- constructor validation ----
@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: EarlyStopping(patience=-1), "patience must be an int >= 0, got -1"),
        (lambda: EarlyStopping(patience=1.5), "patience must be an int >= 0, got 1.5"),
        (lambda: EarlyStopping(min_delta=-0.1), "min_delta must be >= 0, got -0.1"),
        (lambda: EarlyStopping(mode="maximum"), "mode must be one of .* got 'maximum'"),
        (lambda: EarlyStopping(monitor=""), "monitor must be a non-empty"),
        (lambda: EarlyStopping(baseline=math.nan), "baseline must be a finite number"),
        (lambda: EarlyStopping(start_from_epoch=-2), "start_from_epoch must be an int >= 0"),
        (lambda: ReduceLROnPlateau(factor=1.0), r"0 < factor < 1.*got 1.0"),
        (lambda: ReduceLROnPlateau(factor=0), r"0 < factor < 1.*got 0"),
        (lambda: ReduceLROnPlateau(cooldown=-1), "cooldown must be an int >= 0"),
        (lambda: ReduceLROnPlateau(min_lr=-1e-3), "min_lr must be >= 0"),
        (lambda: LearningRateScheduler(0.1), "schedule must be a callable"),  # type: ignore[arg-type]
        (lambda: CSVLogger("x.csv", separator=";;"), "single character, got ';;'"),
        (lambda: ProgbarLogger(verbose=3), "verbose must be 0, 1, 2 or 'auto', got 3"),
        (lambda: ModelCheckpoint("m.npz", mode="best"), "mode must be one of"),
    ],
)
def test_constructor_validation(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()
