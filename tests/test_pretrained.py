"""Tests for tinynn.pretrained: the shipped digits classifier and the script that rebuilds it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

import tinynn
from tinynn import pretrained, runtime
from tinynn.datasets import load_digits, train_test_split

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_pretrained_digits.py"


def documented_split():
    x, y = load_digits()
    return train_test_split(x, y, test_size=0.2, stratify=y, seed=0)


def load_script():
    spec = importlib.util.spec_from_file_location("train_pretrained_digits", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_digits_is_a_small_file_in_the_package():
    path = pretrained.digits_path()
    assert path.is_file()
    assert path.parent == Path(pretrained.__file__).parent
    assert path.stat().st_size < 50_000


def test_test_accuracy_is_exactly_the_documented_value():
    _, x_test, _, y_test = documented_split()
    model = pretrained.digits()
    assert isinstance(model, tinynn.Sequential)
    accuracy = float(np.mean(model.predict(x_test).argmax(axis=1) == y_test))
    assert len(y_test) == 360
    assert round(accuracy * 360) == round(pretrained.DIGITS_TEST_ACCURACY * 360) == 351
    assert f"{pretrained.DIGITS_TEST_ACCURACY:.4f} (351 of 360)" in pretrained.__doc__


def test_the_numpy_runtime_agrees_with_tinynn():
    x, _ = load_digits()
    net = runtime.load_model(pretrained.digits_path())
    expected = pretrained.digits().predict(x)
    np.testing.assert_allclose(net.predict(x), expected, atol=1e-6)
    np.testing.assert_array_equal(net.predict(x).argmax(axis=1), expected.argmax(axis=1))


def test_the_script_reproduces_the_shipped_model(tmp_path):
    script = load_script()
    model = script.train()
    _, x_test, _, _ = documented_split()
    shipped = pretrained.digits().predict(x_test)
    np.testing.assert_array_equal(model.predict(x_test).argmax(axis=1), shipped.argmax(axis=1))
    np.testing.assert_allclose(model.predict(x_test), shipped, atol=1e-5)
    assert script.test_accuracy(model) == pretrained.DIGITS_TEST_ACCURACY
    script.save_reproducibly(model, tmp_path / "again.npz")  # fixed zip timestamps
    script.save_reproducibly(model, tmp_path / "twice.npz")
    assert (tmp_path / "again.npz").read_bytes() == (tmp_path / "twice.npz").read_bytes()
