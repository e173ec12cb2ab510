"""``BackupAndRestore``: a run that is killed continues where its last backup left it."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from tinynn.callbacks.callback import Callback, Logs
from tinynn.runtime.archive import ModelFileError, read_archive, write_archive
from tinynn.seeding import layer_generators
from tinynn.train_state import is_main_process

#: The backup inside ``backup_dir``: one archive, replaced atomically at every backup.
BACKUP_FILE = "backup.npz"
KIND = "tinynn.backup"


class BackupAndRestore(Callback):
    """Back up everything ``fit`` needs to continue; restore it when ``fit`` starts (Keras's
    ``keras.callbacks.BackupAndRestore``).

        model.fit(x, y, epochs=10, callbacks=[BackupAndRestore("backup", save_freq=100)])

    Run the same script again after a crash or a ``kill -9``: ``fit`` continues after the last
    backup and ends with the weights an uninterrupted run gives, bit for bit (same seed, same
    data and settings).

    Args:
        backup_dir: folder of the backup (created when needed). The backup is one file in it,
            ``backup.npz``, written to a temporary file and renamed over the previous one, so a
            kill while writing leaves the previous backup whole.
        save_freq: "epoch" (after every epoch) or N > 0: after every N-th step, counted from
            the first step of training across epochs, so a restarted run backs up at the same
            steps.
        delete_checkpoint: remove the backup when ``fit`` ends (completed, or stopped by a
            callback), so the next run starts afresh, as in Keras.

    A backup holds the weights and layer state; the optimizer's buffers, step counts and
    hyperparameters; where ``fit`` stands (``FitProgress``: epoch, step, the epoch's order of
    samples, its running loss and predictions); and the state of every random generator (the
    model's, which shuffles, and each layer's: dropout masks, augmentation). The state of other
    callbacks (EarlyStopping's patience count) is not saved, as in Keras; use
    ``CSVLogger(append=True)`` so a restarted run extends its log.

    Under ``tinynn.distributed.DataParallel`` every process takes part: the generators and
    layer state, which differ per process, are gathered to rank 0, which writes the file; at
    restore rank 0 reads it and sends it to every process, so it need only be on rank 0's disk.
    A run restored on a different number of processes continues from rank 0's generators
    and layer state (jumped per rank, as ``DataParallel`` does).
    """

    def __init__(
        self,
        backup_dir: str | os.PathLike[str],
        save_freq: str | int = "epoch",
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        valid_int = isinstance(save_freq, int | np.integer) and not isinstance(save_freq, bool)
        if save_freq != "epoch" and not (valid_int and save_freq > 0):
            raise ValueError(f"save_freq must be 'epoch' or a positive integer, got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.path = os.path.join(self.backup_dir, BACKUP_FILE)
        self.save_freq = save_freq if save_freq == "epoch" else int(save_freq)
        self.delete_checkpoint = bool(delete_checkpoint)

    # -- hooks ------------------------------------------------------------------------------

    def on_train_begin(self, logs: Logs | None = None) -> None:
        distribution = self._distribution()
        backup = None
        if is_main_process(self.model) and os.path.exists(self.path):
            backup = read_archive(self.path)
        if distribution is not None:
            backup = distribution.broadcast_object(backup)
        if backup is not None:
            self._restore(*backup)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            return
        progress = self._progress()
        if (progress.epoch * self.params["steps"] + progress.step) % self.save_freq == 0:
            self.backup()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            self.backup()

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.delete_checkpoint and is_main_process(self.model) and os.path.exists(self.path):
            os.remove(self.path)

    # -- writing ----------------------------------------------------------------------------

    def backup(self) -> None:
        """Write the backup now (every process must call it under a distribution)."""
        model = self.model
        local = {
            "generators": [g.bit_generator.state for g in layer_generators(model)],
            "state": [array.copy() for array in _layer_state(model)],
        }
        distribution = self._distribution()
        ranks = [local] if distribution is None else distribution.gather_objects(local)
        if not is_main_process(model):
            return
        arrays = {f"weights/{i}": array for i, array in enumerate(model.weights)}
        for rank, found in enumerate(ranks):
            for i, array in enumerate(found["state"]):
                arrays[f"ranks/{rank}/state/{i}"] = array
        saved = model.optimizer.state_dict(_trained(model))
        slots = []
        for i, buffers in enumerate(saved.pop("state")):
            slots.append(sorted(buffers))
            for key, value in buffers.items():
                arrays[f"optimizer/{i}/{key}"] = value
        progress = self._progress().state_dict()
        tracker = progress.pop("tracker", None)
        if tracker is not None:
            for i, predictions in enumerate(tracker.pop("predictions")):
                if predictions is not None:
                    arrays[f"progress/predictions/{i}"] = predictions
            tracker["running"] = {name: float(v) for name, v in tracker["running"].items()}
            progress["tracker"] = {**tracker, "loss_sum": float(tracker["loss_sum"])}
        backup = {
            "kind": KIND,
            "weights": len(model.weights),
            "optimizer": saved,
            "optimizer_slots": slots,
            "progress": progress,
            "model_generator": model.rng.bit_generator.state,
            "rank_generators": [found["generators"] for found in ranks],
        }
        os.makedirs(self.backup_dir, exist_ok=True)
        write_archive(self.path, {"backup": backup}, arrays)

    # -- reading ----------------------------------------------------------------------------

    def _restore(self, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        backup = config.get("backup")
        if not isinstance(backup, dict) or backup.get("kind") != KIND:
            raise ModelFileError(f"{self.path!r} is not a tinynn backup")
        model = self.model
        try:
            model.set_weights([arrays[f"weights/{i}"] for i in range(backup["weights"])])
            state = dict(backup["optimizer"])
            state["state"] = [
                {key: arrays[f"optimizer/{i}/{key}"] for key in keys}
                for i, keys in enumerate(backup["optimizer_slots"])
            ]
            model.optimizer.load_state_dict(state, _trained(model))
        except (KeyError, ValueError) as error:
            raise ModelFileError(
                f"the backup {self.path!r} does not fit this model and optimizer: {error}; "
                "delete it (or use another backup_dir) to start afresh"
            ) from None
        progress = dict(backup["progress"])
        if "tracker" in progress:
            tracker = dict(progress["tracker"])
            stores = self._progress().tracker.predictions
            tracker["predictions"] = [
                arrays.get(f"progress/predictions/{i}") for i in range(len(stores))
            ]
            progress["tracker"] = tracker
        self._progress().load_state_dict(progress)
        model.rng.bit_generator.state = backup["model_generator"]
        self._restore_rank_state(backup, arrays)

    def _restore_rank_state(self, backup: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """This process's generators and layer state; rank 0's, jumped, for a new rank."""
        distribution = self._distribution()
        rank = 0 if distribution is None else distribution.rank
        saved = backup["rank_generators"]
        source = rank if rank < len(saved) and len(saved) == _size(distribution) else 0
        for generator, state in zip(layer_generators(self.model), saved[source], strict=True):
            generator.bit_generator.state = state
            if source != rank:
                generator.bit_generator.state = generator.bit_generator.jumped(rank).state
        for i, array in enumerate(_layer_state(self.model)):
            array[...] = arrays[f"ranks/{source}/state/{i}"]

    # -- helpers ----------------------------------------------------------------------------

    def _progress(self) -> Any:
        progress = self.params.get("progress")
        if progress is None:
            raise RuntimeError("BackupAndRestore works inside fit, which gives it its progress")
        return progress

    def _distribution(self) -> Any:
        state = getattr(self.model, "train_state", None)
        return getattr(state, "distribution", None)


def _trained(model: Any) -> list[np.ndarray]:
    return [param for param, _ in model.parameters()]


def _layer_state(model: Any) -> list[np.ndarray]:
    return [array for layer in model.layers for array in layer.state.values()]


def _size(distribution: Any) -> int:
    return 1 if distribution is None else distribution.size
