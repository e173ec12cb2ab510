"""Tests for tinynn.export.python: one standalone module plus weights, needing only NumPy."""

from __future__ import annotations

import ast
import subprocess
import sys

import numpy as np
import pytest

import tinynn
from tinynn import runtime
from tinynn.export import export_model
from tinynn.layers import Activation, Dense, Dropout, Flatten, Reshape


def small_model() -> tinynn.Sequential:
    return tinynn.Sequential(
        [
            tinynn.Input((2, 5)),
            Flatten(),
            Dense(8, activation="elu"),
            Dropout(0.5),
            Dense(6, activation="leaky_relu"),
            Reshape((2, 3)),
            Activation("softmax"),
            Flatten(),
            Dense(4, activation="sigmoid"),
        ],
        seed=3,
    )


@pytest.fixture
def exported(tmp_path):
    model = small_model()
    model.compile("adam", "mse", backend="numpy")  # optimizer state the export must drop
    x = np.random.default_rng(0).standard_normal((30, 2, 5)).astype(np.float32)
    model.fit(x, np.zeros((30, 4), np.float32), epochs=1, verbose=0)
    model.save(str(tmp_path / "model.npz"))
    out = tmp_path / "shipped" / "digits_model.py"
    out.parent.mkdir()
    return model, x, export_model(tmp_path / "model.npz", "python", out)


def test_writes_a_module_and_a_slim_weights_file(exported):
    _, _, paths = exported
    module, weights = paths
    assert module.name == "digits_model.py"
    assert weights.name == "digits_model_weights.npz"
    with np.load(weights) as archive:
        assert sorted(archive.files) == ["__config__", *(f"weights/{i}" for i in range(6))]


def test_the_module_runs_with_only_numpy_importable(exported, tmp_path):
    model, x, (module, _) = exported
    np.save(tmp_path / "x.npy", x)
    script = f"""
import sys

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {{"tinynn", "numba", "scipy", "matplotlib", "tqdm", "torch"}}:
            raise ImportError(name + " is blocked in this test")
        return None

sys.meta_path.insert(0, Blocker())
sys.path.insert(0, {str(module.parent)!r})
import numpy as np
import digits_model
net = digits_model.load()
x = np.load({str(tmp_path / "x.npy")!r})
np.save({str(tmp_path / "out.npy")!r}, net.predict(x))
np.save({str(tmp_path / "one.npy")!r}, net.predict_one(x[0]))
"""
    subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, timeout=60, cwd=tmp_path
    )
    expected = model.predict(x)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-6)
    np.testing.assert_allclose(np.load(tmp_path / "one.npy"), expected[0], atol=1e-6)


def test_the_weights_file_is_still_a_tinynn_model_file(exported):
    model, x, (_, weights) = exported
    reloaded = tinynn.load_model(str(weights))
    np.testing.assert_array_equal(reloaded.predict(x), model.predict(x))
    np.testing.assert_allclose(runtime.load_model(weights).predict(x), model.predict(x), atol=1e-6)


def test_the_module_is_the_runtime_plus_a_load_function(exported):
    _, _, (module, _) = exported
    text = module.read_text(encoding="utf-8")
    assert text.startswith("# digits_model.py: a tinynn model runtime that needs only NumPy")
    assert "def load() -> InferenceModel:" in text
    assert "WEIGHTS_FILE = 'digits_model_weights.npz'" in text
    compile(text, str(module), "exec")


def test_default_output_name_and_bad_names(tmp_path):
    small_model().save(str(tmp_path / "net.npz"))
    paths = export_model(tmp_path / "net.npz", "python")
    assert [p.name for p in paths] == ["net.py", "net_weights.npz"]
    with pytest.raises(ValueError, match="Python identifier"):
        export_model(tmp_path / "net.npz", "python", tmp_path / "my-model.py")
    with pytest.raises(ValueError, match=r"\.py file"):
        export_model(tmp_path / "net.npz", "python", tmp_path / "net.txt")


def test_refuses_to_overwrite_the_model_it_reads(tmp_path):
    small_model().save(str(tmp_path / "net_weights.npz"))
    with pytest.raises(ValueError, match="overwrite the model file"):
        export_model(tmp_path / "net_weights.npz", "python", tmp_path / "net.py")


def test_a_file_name_cannot_inject_code_into_the_module(tmp_path):
    evil = tmp_path / "x\nimport os; os.remove('nothing')\n.npz"
    small_model().save(str(evil))
    module, _ = export_model(evil, "python", tmp_path / "safe.py")
    header = module.read_text(encoding="utf-8").splitlines()[:3]
    assert all(line.startswith("#") for line in header)
    assert "import os; os.remove" not in module.read_text(encoding="utf-8")


def test_the_default_name_of_any_model_file_is_importable(tmp_path):
    small_model().save(str(tmp_path / "tinynn-model.npz"))  # what `tinynn train` writes
    module, weights = export_model(tmp_path / "tinynn-model.npz", "python")
    assert (module.name, weights.name) == ("tinynn_model.py", "tinynn_model_weights.npz")
    small_model().save(str(tmp_path / "2024 run.npz"))
    assert export_model(tmp_path / "2024 run.npz", "python")[0].name == "model_2024_run.py"


def test_the_module_docstring_speaks_to_its_user(exported):
    _, _, (module, _) = exported
    doc = ast.get_docstring(ast.parse(module.read_text(encoding="utf-8")))
    assert "from tinynn" not in doc and "import tinynn" not in doc
    assert "model = load()" in doc
