"""``tinynn evaluate``: which rows it scores, for the recorded data and for a file given with
``--data``."""

import csv

import numpy as np
import pytest

from tinynn import cli


def write_table(path, n, seed):
    """``n`` rows of two separable classes, "no" and "yes", labels in the last column."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["a", "b", "label"])
        for i in range(n):
            k = i % 2
            a, b = rng.normal(3 * k, 0.5), rng.normal(-3 * k, 0.5)
            writer.writerow([f"{a:.4f}", f"{b:.4f}", ["no", "yes"][k]])


@pytest.fixture(scope="module")
def table_model(tmp_path_factory):
    """A model trained by ``tinynn train`` on a 100-row CSV file (80 train / 20 test rows)."""
    folder = tmp_path_factory.mktemp("evaluate")
    source, model = folder / "train.csv", folder / "model.npz"
    write_table(source, 100, seed=0)
    argv = ["train", "--dataset", "csv", "--data", str(source), "--epochs", "5"]
    assert cli.main([*argv, "--verbose", "0", "--output", str(model)]) == 0
    return folder, model


def test_without_data_the_recorded_test_split_is_scored(table_model, capsys):
    capsys.readouterr()
    assert cli.main(["evaluate", str(table_model[1])]) == 0
    assert "csv, test split (20 samples)" in capsys.readouterr().out


def test_a_file_given_with_data_is_scored_whole(table_model, capsys):
    folder, model = table_model
    write_table(folder / "new.csv", 60, seed=1)
    capsys.readouterr()
    assert cli.main(["evaluate", str(model), "--data", str(folder / "new.csv")]) == 0
    assert "new.csv, all rows (60 samples)" in capsys.readouterr().out


def test_a_file_too_small_to_split_is_scored_without_splitting(table_model, capsys):
    folder, model = table_model
    write_table(folder / "three.csv", 3, seed=2)  # one "yes" row: no stratified split exists
    for extra in ([], ["--split", "all"]):
        capsys.readouterr()
        assert cli.main(["evaluate", str(model), "--data", str(folder / "three.csv"), *extra]) == 0
        assert "(3 samples)" in capsys.readouterr().out


def test_an_explicit_split_still_re_splits_a_given_file(table_model, capsys):
    folder, model = table_model
    write_table(folder / "new.csv", 60, seed=1)
    capsys.readouterr()
    assert (
        cli.main(["evaluate", str(model), "--data", str(folder / "new.csv"), "--split", "test"])
        == 0
    )
    assert "new.csv, test split (12 samples)" in capsys.readouterr().out
