"""Tests for tinynn.runtime: the NumPy-only loader and predictor, and its file validation."""

from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinynn
from tinynn import runtime
from tinynn.export.python import standalone_source
from tinynn.layers import Activation, Dense, Dropout, Flatten, Reshape
from tinynn.runtime import ModelFileError

ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "softmax"]


def every_layer_model(dtype="float32") -> tinynn.Sequential:
    """Every activation in a Dense (two with a non-default alpha), plus Dropout, Flatten,
    Reshape and Activation layers, and a Dense without bias."""
    activations = [
        *ACTIVATIONS[:-1],
        tinynn.activations.LeakyReLU(0.1),
        tinynn.activations.ELU(0.5),
    ]
    dense = [Dense(12, activation=activation) for activation in activations]
    return tinynn.Sequential(
        [
            tinynn.Input((3, 4)),
            Flatten(),
            *dense[:3],
            Dropout(0.3),
            *dense[3:],
            Reshape((3, 4)),
            Activation("softmax"),
            Flatten(),
            Dense(6, activation="softmax", use_bias=False),
        ],
        seed=0,
        dtype=dtype,
    )


def samples(shape, n=20, seed=1, dtype=np.float32) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((n, *shape)) * 2).astype(dtype)


@pytest.fixture
def saved(tmp_path):
    model = every_layer_model()
    path = tmp_path / "model.npz"
    model.save(str(path))
    return model, path


# -- predictions ---------------------------------------------------------------------------


def test_predict_matches_tinynn_for_every_layer_and_activation(saved):
    model, path = saved
    net = runtime.load_model(path)
    x = samples((3, 4))
    expected = model.predict(x)
    got = net.predict(x)
    assert got.shape == expected.shape == (20, 6)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_predict_one_matches_batch_and_returns_a_fresh_array(saved):
    model, path = saved
    net = runtime.load_model(path)
    x = samples((3, 4))
    first = net.predict_one(x[0])
    kept = first.copy()
    second = net.predict_one(x[1])
    np.testing.assert_array_equal(first, kept)  # the reused buffer did not leak out
    np.testing.assert_allclose(first, model.predict(x[:1])[0], atol=1e-6)
    np.testing.assert_allclose(second, net.predict(x[1:2])[0], atol=1e-6)


def test_predict_leaves_the_input_untouched(saved):
    _, path = saved
    net = runtime.load_model(path)
    x = samples((3, 4))
    before = x.copy()
    net.predict(x)
    net.predict_one(x[0])
    np.testing.assert_array_equal(x, before)


def test_batch_size_and_list_input_give_the_same_outputs(saved):
    _, path = saved
    net = runtime.load_model(path)
    x = samples((3, 4), n=11)
    np.testing.assert_allclose(net.predict(x, batch_size=4), net.predict(x), atol=1e-7)
    np.testing.assert_allclose(net.predict(x.tolist()), net.predict(x), atol=1e-7)


def test_wrong_input_shape_names_the_expected_shape(saved):
    _, path = saved
    net = runtime.load_model(path)
    with pytest.raises(ValueError, match=r"\(batch, 3, 4\)"):
        net.predict(np.zeros((2, 12), np.float32))
    with pytest.raises(ValueError, match=r"predict_one"):
        net.predict(np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        net.predict_one(np.zeros(12, np.float32))


def test_float64_models_and_a_float64_layer_in_a_float32_model(tmp_path):
    model = every_layer_model("float64")
    model.save(str(tmp_path / "f64.npz"))
    net = runtime.load_model(tmp_path / "f64.npz")
    x = samples((3, 4), dtype=np.float64)
    assert net.predict(x).dtype == np.float64
    np.testing.assert_allclose(net.predict(x), model.predict(x), atol=1e-12)

    mixed = tinynn.Sequential(
        [tinynn.Input((5,)), Dense(4, activation="tanh", dtype="float64"), Dense(3)], seed=0
    )
    mixed.save(str(tmp_path / "mixed.npz"))
    net = runtime.load_model(tmp_path / "mixed.npz")
    x = samples((5,))
    assert net.predict(x).dtype == net.predict_one(x[0]).dtype == np.float32
    np.testing.assert_allclose(net.predict(x), mixed.predict(x), atol=1e-6)


def test_reads_a_trained_model_with_optimizer_state(tmp_path):
    x = samples((4,), n=64)
    y = (x.sum(axis=1) > 0).astype(np.int64)
    model = tinynn.Sequential([tinynn.Input((4,)), Dense(2, activation="softmax")], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", backend="numpy")
    model.fit(x, y, epochs=2, verbose=0)
    model.save(str(tmp_path / "trained.npz"))
    net = runtime.load_model(tmp_path / "trained.npz")
    np.testing.assert_allclose(net.predict(x), model.predict(x), atol=1e-6)


def test_threads_sharing_one_model_get_correct_results(saved):
    model, path = saved
    net = runtime.load_model(path)
    x = samples((3, 4), n=8)
    expected = model.predict(x)
    errors = []
    barrier = threading.Barrier(4)

    def work(offset):
        barrier.wait()
        for step in range(200):
            i = (offset + step) % len(x)
            if not np.allclose(net.predict_one(x[i]), expected[i], atol=1e-6):
                errors.append(i)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# -- standalone ----------------------------------------------------------------------------


def test_runtime_module_imports_only_numpy_and_the_standard_library():
    tree = ast.parse(standalone_source())  # what `tinynn export --format python` ships
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported - {"numpy", "__future__"} <= set(sys.stdlib_module_names)
    assert "tinynn" not in imported


BLOCKER = """
import sys

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Blocker())
"""


def test_works_with_numba_scipy_and_matplotlib_blocked(saved, tmp_path):
    model, path = saved
    x = samples((3, 4))
    np.save(tmp_path / "x.npy", x)
    script = (
        "BLOCKED = {'numba', 'scipy', 'matplotlib'}\n" + BLOCKER + "import numpy as np\n"
        "from tinynn import runtime\n"
        f"net = runtime.load_model({str(path)!r})\n"
        f"out = net.predict(np.load({str(tmp_path / 'x.npy')!r}))\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, out)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in BLOCKED]\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=60)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), model.predict(x), atol=1e-6)


# -- validation: crafted and corrupt files -------------------------------------------------


def small_model_file(tmp_path) -> tuple[Path, dict, dict]:
    """A valid 4 -> 3 -> 2 model file, plus its config and arrays for tampering."""
    model = tinynn.Sequential(
        [tinynn.Input((4,)), Dense(3, activation="relu"), Dense(2, activation="softmax")],
        seed=0,
    )
    path = tmp_path / "small.npz"
    model.save(str(path))
    with np.load(path) as archive:
        arrays = {key: archive[key] for key in archive.files}
    config = json.loads(arrays.pop("__config__").tobytes())
    return path, config, arrays


def write(path: Path, config: dict, arrays: dict, **extra) -> Path:
    blob = np.frombuffer(json.dumps(config).encode(), np.uint8)
    np.savez(path, __config__=blob, **arrays, **extra)
    return path


def test_a_valid_handmade_file_loads(tmp_path):
    _, config, arrays = small_model_file(tmp_path)
    net = runtime.load_model(write(tmp_path / "again.npz", config, arrays))
    assert net.output_shape == (2,)


def test_wrong_weight_shape(tmp_path):
    _, config, arrays = small_model_file(tmp_path)
    arrays["weights/0"] = np.zeros((5, 3), np.float32)
    with pytest.raises(ModelFileError, match=r"'weights/0' has shape \(5, 3\).*declares \(4, 3\)"):
        runtime.load_model(write(tmp_path / "bad.npz", config, arrays))


def test_missing_array(tmp_path):
    _, config, arrays = small_model_file(tmp_path)
    del arrays["weights/3"]
    with pytest.raises(ModelFileError, match=r"missing the array 'weights/3'"):
        runtime.load_model(write(tmp_path / "bad.npz", config, arrays))


def test_pickled_object_array_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    _, config, arrays = small_model_file(tmp_path)
    arrays["weights/0"] = np.array([Payload()], dtype=object)
    path = write(tmp_path / "bad.npz", config, arrays)
    with pytest.raises(ModelFileError, match=r"dtype object.*float32 or float64"):
        runtime.load_model(path)
    assert not marker.exists()
    with np.load(path, allow_pickle=True) as archive:  # the payload is real: unpickling runs it
        archive["weights/0"]
    assert marker.exists()


def test_pickled_config_is_refused(tmp_path):
    _, config, arrays = small_model_file(tmp_path)
    path = tmp_path / "bad.npz"
    np.savez(path, __config__=np.array([config], dtype=object), **arrays)
    with pytest.raises(ModelFileError, match=r"config has dtype object; expected uint8"):
        runtime.load_model(path)


def test_truncated_and_corrupted_files(tmp_path):
    path, _, _ = small_model_file(tmp_path)
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="corrupt or truncated"):
        runtime.load_model(tmp_path / "cut.npz")
    flipped = bytearray(data)
    start = data.index(b"weights/0.npy") + 200  # inside the kernel's float data
    flipped[start : start + 8] = bytes(8)
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError, match="CRC"):
        runtime.load_model(tmp_path / "flipped.npz")
    (tmp_path / "noise.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ModelFileError):
        runtime.load_model(tmp_path / "noise.npz")
    with pytest.raises(FileNotFoundError):
        runtime.load_model(tmp_path / "absent.npz")


def test_absurd_size_declared_by_the_zip_directory(tmp_path):
    """A member claiming 2 GiB is refused before any byte of it is read."""
    _, config, arrays = small_model_file(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # small members: no zip64 extra fields
        for key, value in {
            "__config__": np.frombuffer(json.dumps(config).encode(), np.uint8),
            **arrays,
        }.items():
            stream = io.BytesIO()
            np.lib.format.write_array(stream, value)
            archive.writestr(key + ".npy", stream.getvalue())
    data = bytearray(buffer.getvalue())
    entry = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 1)  # 2nd central entry
    data[entry + 24 : entry + 28] = (2**31 - 16).to_bytes(4, "little")  # uncompressed size
    (tmp_path / "huge.npz").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"declares \d+ bytes of arrays; the limit"):
        runtime.load_model(tmp_path / "huge.npz")


def test_absurd_shape_declared_by_an_npy_header(tmp_path):
    _, config, arrays = small_model_file(tmp_path)
    stream = io.BytesIO()
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**12, 3)}
    np.lib.format.write_array_header_1_0(stream, header)
    stream.write(bytes(48))
    path = write(
        tmp_path / "bad.npz", config, {k: v for k, v in arrays.items() if k != "weights/0"}
    )
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("weights/0.npy", stream.getvalue())
    with pytest.raises(ModelFileError, match=r"declares shape \(1000000000000, 3\)"):
        runtime.load_model(path)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda c: c["model"]["config"]["layers"][0]["config"].update(units=10**12), "units"),
        (lambda c: c["model"]["config"].update(input_shape=[4096, 4096, 4096]), "input shape size"),
        (lambda c: c["model"]["config"]["layers"][0].update(class_name="Lambda"), "'Lambda'"),
        (
            lambda c: c["model"]["config"]["layers"][1]["config"].update(
                activation={"class_name": "__import__('os').system", "config": {}}
            ),
            "activation",
        ),
        (lambda c: c["model"]["config"]["layers"][0]["config"].update(dtype="int32"), "int32"),
        (lambda c: c["model"]["config"]["layers"][0]["config"].update(input_shape=[5]), "[5]"),
        (
            lambda c: c["model"]["config"]["layers"][1]["config"]["activation"].update(
                class_name="elu", config={"alpha": -1.0}
            ),
            "alpha",
        ),
        (lambda c: c["model"]["config"]["layers"][0]["config"].update(use_bias="no"), "use_bias"),
        (
            lambda c: c["model"]["config"].update(
                layers=[{"class_name": "Activation", "config": {"activation": "tanh"}}] * 2000,
                input_shape=[40_000],
            ),
            "add up to over",
        ),
        (lambda c: c.update(format_version=99), "format version 99"),
        (lambda c: c.update(format="pickle"), "not a tinynn model"),
        (lambda c: c["model"]["config"].update(layers=[]), "non-empty list"),
    ],
)
def test_configs_that_disagree_or_declare_absurd_things(tmp_path, tamper, message):
    _, config, arrays = small_model_file(tmp_path)
    tamper(config)
    with pytest.raises(ModelFileError, match=message.replace("[", r"\[").replace("(", r"\(")):
        runtime.load_model(write(tmp_path / "bad.npz", config, arrays))


def test_non_finite_integer_and_unused_weights(tmp_path):
    _, config, arrays = small_model_file(tmp_path)
    nan = dict(arrays, **{"weights/1": np.array([0, np.nan, 0], np.float32)})
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        runtime.load_model(write(tmp_path / "nan.npz", config, nan))
    ints = dict(arrays, **{"weights/1": np.zeros(3, np.int32)})
    with pytest.raises(ModelFileError, match="int32; expected float32 or float64"):
        runtime.load_model(write(tmp_path / "int.npz", config, ints))
    extra = dict(arrays, **{"weights/9": np.zeros(3, np.float32)})
    with pytest.raises(ModelFileError, match="weights/9"):
        runtime.load_model(write(tmp_path / "extra.npz", config, extra))


def test_deeply_nested_config_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / "deep.npz"
    np.savez(path, __config__=np.frombuffer(b"[" * 100_000 + b"]" * 100_000, np.uint8))
    with pytest.raises(ModelFileError, match="unreadable config"):
        runtime.load_model(path)


def test_max_bytes_limits_the_file(tmp_path):
    path, _, _ = small_model_file(tmp_path)
    with pytest.raises(ModelFileError, match="max_bytes=100"):
        runtime.load_model(path, max_bytes=100)


def test_single_sample_softmax_is_stable_for_short_and_long_outputs(tmp_path, strict_numpy):
    for units in (10, 300):
        model = tinynn.Sequential([tinynn.Input((4,)), Dense(units, activation="softmax")], seed=0)
        model.layers[0].params["W"] *= 1e4  # logits in the tens of thousands
        model.save(str(tmp_path / "big.npz"))
        net = runtime.load_model(tmp_path / "big.npz")
        x = samples((4,), n=3)
        one = net.predict_one(x[0])
        assert np.isfinite(one).all()
        np.testing.assert_allclose(one, model.predict(x[:1])[0], atol=1e-6)
        np.testing.assert_allclose(one.sum(), 1.0, atol=1e-5)


def test_predict_one_falls_back_to_fresh_arrays_when_the_buffers_are_busy(saved):
    model, path = saved
    net = runtime.load_model(path)
    x = samples((3, 4), n=1)
    with net._lock:  # as if another thread were inside predict_one
        busy = net.predict_one(x[0])
    np.testing.assert_allclose(busy, model.predict(x)[0], atol=1e-6)
