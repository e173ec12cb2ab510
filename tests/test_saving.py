"""Saving and loading: round trips, resumed training, atomic writes, hostile files."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from tinynn import layers, saving
from tinynn.models import Sequential, load_model
from tinynn.runtime.archive import read_archive as read_model_file


def trained_model(seed=0, epochs=2):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(48, 5)).astype("float32")
    y = rng.integers(0, 3, size=48)
    model = Sequential(
        [
            layers.Input((5,)),
            layers.Dense(16, activation="relu", kernel_regularizer="l2"),
            layers.Dropout(0.2),
            layers.Dense(3, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)
    return model, x, y


def test_round_trip_gives_bit_identical_predictions_and_same_compile(tmp_path):
    model, x, y = trained_model()
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.iterations == model.optimizer.iterations
    assert loaded.loss.name == model.loss.name
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    assert [layer.get_config() for layer in loaded.layers] == [
        layer.get_config() for layer in model.layers
    ]


def test_resumed_training_matches_uninterrupted_training(tmp_path):
    straight, x, y = trained_model(epochs=2)
    continued = straight.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, verbose=0)

    first_half, _, _ = trained_model(epochs=2)
    first_half.save(tmp_path / "checkpoint.npz")
    resumed = load_model(tmp_path / "checkpoint.npz")
    after_load = resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, verbose=0)

    assert after_load.history["loss"] == continued.history["loss"]
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_save_is_atomic_when_interrupted(tmp_path, monkeypatch):
    model, _, _ = trained_model()
    path = tmp_path / "model.npz"
    model.save(path)
    before = path.read_bytes()

    def explode(stream, **arrays):
        stream.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(saving.np, "savez", explode)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]


def test_metadata_is_stored_beside_the_config(tmp_path):
    model, _, _ = trained_model()
    saving.save_model(model, tmp_path / "m.npz", metadata={"dataset": "digits", "seed": 3})
    config, _ = read_model_file(tmp_path / "m.npz")
    assert config["metadata"] == {"dataset": "digits", "seed": 3}


def rewrite(path, mutate_config=None, arrays_update=None, drop=None):
    """Write a modified copy of a model file (a crafted file)."""
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    config = json.loads(arrays["__config__"].tobytes())
    if mutate_config:
        mutate_config(config)
    arrays["__config__"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    arrays.update(arrays_update or {})
    for key in drop or []:
        arrays.pop(key)
    with open(path, "wb") as stream:
        np.savez(stream, **arrays)


@pytest.fixture
def saved(tmp_path):
    model, _, _ = trained_model()
    path = tmp_path / "model.npz"
    model.save(path)
    return path


def test_truncated_file_gives_a_clear_error(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_model(saved)


def test_garbage_file_gives_a_clear_error(saved):
    saved.write_bytes(b"definitely not a zip archive")
    with pytest.raises(ValueError, match="not a readable tinynn model"):
        load_model(saved)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.npz"):
        load_model(tmp_path / "nope.npz")


def test_unknown_layer_class_is_refused(saved):
    def rename(config):
        config["model"]["config"]["layers"][0]["class_name"] = "os.system"

    rewrite(saved, rename)
    with pytest.raises(ValueError, match=r"Unknown layer 'os\.system'"):
        load_model(saved)


def test_unknown_loss_and_optimizer_are_refused(saved):
    rewrite(saved, lambda c: c["compile"]["loss"].update(class_name="evil_loss"))
    with pytest.raises(ValueError, match="Unknown loss 'evil_loss'"):
        load_model(saved)


def test_missing_array_is_named(saved):
    rewrite(saved, drop=["weights/1"])
    with pytest.raises(ValueError, match=r"missing the array 'weights/1'"):
        load_model(saved)


def test_wrong_shape_is_named(saved):
    rewrite(saved, arrays_update={"weights/0": np.zeros((6, 16), np.float32)})
    with pytest.raises(ValueError, match=r"weights/0.*\(6, 16\)"):
        load_model(saved)


def test_shape_that_disagrees_with_the_layer_config_is_refused(saved):
    def widen(config):
        config["model"]["config"]["layers"][-1]["config"]["units"] = 4

    rewrite(saved, widen)
    with pytest.raises(ValueError, match="does not fit the model"):
        load_model(saved)


def test_pickled_object_array_is_refused_without_running_it(saved, tmp_path):
    marker = tmp_path / "ran"
    with np.load(saved) as archive:
        arrays = {key: archive[key] for key in archive.files}
    buffer = io.BytesIO()
    hostile = np.array([Exploit(str(marker))], dtype=object)
    np.save(buffer, hostile, allow_pickle=True)
    with zipfile.ZipFile(saved, "w") as archive:
        for key, value in arrays.items():
            if key == "weights/0":
                continue
            with archive.open(f"{key}.npy", "w") as member:
                np.save(member, value)
        with archive.open("weights/0.npy", "w") as member:
            member.write(buffer.getvalue())
    with pytest.raises(ValueError, match="pickled"):
        load_model(saved)
    assert not marker.exists()


class Exploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_file_without_config_is_not_a_tinynn_model(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ValueError, match="not written by tinynn"):
        load_model(path)


def test_newer_format_version_is_refused(saved):
    rewrite(saved, lambda c: c.update(format_version=99))
    with pytest.raises(ValueError, match="format version 99"):
        load_model(saved)


def test_absurd_declared_array_size_is_refused_before_allocating(saved):
    with np.load(saved) as archive:
        arrays = {key: archive[key] for key in archive.files}
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**12, 16)}
    with zipfile.ZipFile(saved, "w") as archive:
        for key, value in arrays.items():
            with archive.open(f"{key}.npy", "w") as member:
                if key == "weights/0":
                    np.lib.format.write_array_header_1_0(member, header)
                    member.write(np.zeros(16, np.float32).tobytes())
                else:
                    np.save(member, value)
    with pytest.raises(ValueError, match="declares shape"):
        load_model(saved)


def test_image_model_round_trip_keeps_batchnorm_statistics(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 3, size=24)
    model = Sequential(
        [
            layers.Input((6, 6, 1)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.Residual([layers.Conv2D(4, 3, padding="same")]),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    moving_mean = model.layers[1].state["moving_mean"]
    assert not np.allclose(moving_mean, 0.0)
    model.save(tmp_path / "cnn.npz")
    loaded = load_model(tmp_path / "cnn.npz")
    np.testing.assert_array_equal(loaded.layers[1].state["moving_mean"], moving_mean)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
