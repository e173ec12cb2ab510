"""``tinynn profile MODEL``: the table for a saved model, and clear errors.

The roofline measurement is replaced by fixed numbers (``FIXED``) so the tests run fast;
nothing about timing is asserted.
"""

import json

import numpy as np
import pytest

import tinynn
from tinynn import cli, layers
from tinynn.cli import profile as profile_command
from tinynn.profiling import Roofline

FIXED = Roofline(peak_gflops=50.0, bandwidth_gbs=5.0, cpu_model="fixed CPU")


@pytest.fixture(autouse=True)
def fixed_roofline(monkeypatch):
    monkeypatch.setattr(profile_command, "measure_roofline", lambda dtype: FIXED)


def save_mlp(path, compiled=True):
    model = tinynn.Sequential(
        [
            tinynn.Input((6,)),
            layers.Dense(5, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ],
        seed=0,
    )
    if compiled:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", backend="numpy")
    model.save(path)
    return path


def test_prints_the_table_of_a_saved_model(tmp_path, capsys):
    path = save_mlp(tmp_path / "mlp.npz")
    argv = ["profile", str(path), "--batch-size", "8", "--steps", "2", "--warmup", "1"]
    assert cli.main([*argv, "--json", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "tinynn.profile: sequential, batch 8, numpy backend" in out
    for expected in ("dense_1", "forward+backward", "optimizer", "fixed CPU", "total"):
        assert expected in out
    saved = json.loads((tmp_path / "p.json").read_text())
    assert saved["batch_size"] == 8 and saved["rows"][0]["layer"] == "batch"
    assert "Adam" in {row["kind"] for row in saved["rows"]}


def test_an_uncompiled_model_gets_a_loss_from_its_output(tmp_path, capsys):
    path = save_mlp(tmp_path / "plain.npz", compiled=False)
    argv = ["profile", str(path), "--batch-size", "4", "--steps", "1", "--backend", "numpy"]
    assert cli.main([*argv, "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| layer | pass |" in out and "SparseCategoricalCrossentropy" not in out
    assert "SGD" not in out  # kinds are in the JSON; the table shows layers


def test_profiles_the_data_it_is_given(tmp_path, capsys):
    path = save_mlp(tmp_path / "mlp.npz")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", x=rng.random((20, 6), dtype=np.float32), y=np.arange(20) % 3)
    np.save(tmp_path / "x.npy", rng.random((20, 6), dtype=np.float32))
    for data in ("data.npz", "x.npy"):
        argv = ["profile", str(path), "--data", str(tmp_path / data), "--batch-size", "5"]
        assert cli.main([*argv, "--steps", "1"]) == 0
        assert "batch 5" in capsys.readouterr().out


def test_a_bad_path_or_shape_is_one_clear_error(tmp_path, capsys):
    assert cli.main(["profile", str(tmp_path / "missing.npz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tinynn: error: ") and "missing.npz" in err
    path = save_mlp(tmp_path / "mlp.npz")
    np.save(tmp_path / "wrong.npy", np.zeros((10, 28, 28), np.float32))
    assert cli.main(["profile", str(path), "--data", str(tmp_path / "wrong.npy")]) == 1
    err = capsys.readouterr().err
    assert "x has shape (10, 28, 28)" in err and "(samples, 6)" in err
    assert len(err.strip().splitlines()) == 1
    np.savez(tmp_path / "nox.npz", a=np.zeros(3))
    assert cli.main(["profile", str(path), "--data", str(tmp_path / "nox.npz")]) == 1
    assert "expected an array named x" in capsys.readouterr().err
    assert cli.main(["profile", str(path), "--batch-size", "0"]) == 2  # a usage error
    assert cli.main(["profile", str(path), "--warmup", "-1"]) == 1


def test_profile_is_listed_in_the_help(capsys):
    assert cli.main(["--help"]) == 0
    assert "profile" in capsys.readouterr().out
