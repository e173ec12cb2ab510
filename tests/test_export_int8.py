"""int8 post-training quantization: the arithmetic against a scalar oracle, the quality
contract on the held-out digits, the C header bit-exact against the NumPy integer reference
on 1,000 samples, ONNX QDQ under onnxruntime, the NumPy-only module; and float16 storage."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinynn
from tinynn import layers, pretrained, runtime
from tinynn.cli.architectures import build_cnn
from tinynn.datasets import load_digits, train_test_split
from tinynn.export import export_model, quantize_model
from tinynn.runtime import quantization as q8

COMPILER = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
needs_compiler = pytest.mark.skipif(COMPILER is None, reason="no C compiler found")
STRICT = ["-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror"]
DRIVER = """\
#include <stdio.h>
#include "model.h"

/* each line: the int8 outputs of tinynn_predict_int8, then the floats of tinynn_predict */
int main(void)
{
    static float x[TINYNN_INPUT_SIZE], y[TINYNN_OUTPUT_SIZE];
    static int8_t q[TINYNN_INPUT_SIZE], out[TINYNN_OUTPUT_SIZE];
    for (;;) {
        for (int i = 0; i < TINYNN_INPUT_SIZE; ++i)
            if (scanf("%f", &x[i]) != 1)
                return 0;
        tinynn_quantize_input(x, q);
        tinynn_predict_int8(q, out);
        tinynn_predict(x, y);
        for (int j = 0; j < TINYNN_OUTPUT_SIZE; ++j)
            printf("%d ", out[j]);
        for (int j = 0; j < TINYNN_OUTPUT_SIZE; ++j)
            printf("%.9g%c", (double)y[j], j + 1 < TINYNN_OUTPUT_SIZE ? ' ' : '\\n');
    }
}
"""


@pytest.fixture(scope="module")
def digits():
    """The digits split as docs/shipping.md splits them: (train, test) pairs."""
    x, y = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, seed=0)
    return (x_train, y_train), (x_test, y_test)


@pytest.fixture(scope="module")
def digits_cnn(digits, tmp_path_factory):
    """``tinynn train --model cnn``'s network for digits, narrower (8 and 16 filters, a
    Dense of 32) so that it trains in a few seconds, saved to a file."""
    (x_train, y_train), _ = digits
    model = build_cnn((8, 8, 1), 10, (8, 16), (32,), "relu", 0.0, seed=0)
    model.compile(optimizer=tinynn.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x_train.reshape(-1, 8, 8, 1), y_train, epochs=8, verbose=0)
    path = tmp_path_factory.mktemp("cnn") / "digits_cnn.npz"
    model.save(str(path))
    return path


# -- the arithmetic ---------------------------------------------------------------------------


def oracle_multiply(x: int, m0: int, shift: int) -> int:
    """TFLite's MultiplyByQuantizedMultiplier on Python integers, C semantics spelled out."""
    left, right = max(shift, 0), max(-shift, 0)
    a = max(min(x * 2**left, 2**31 - 1), -(2**31))
    ab = a * m0
    nudge = 2**30 if ab >= 0 else 1 - 2**30
    high = abs(ab + nudge) // 2**31 * (1 if ab + nudge >= 0 else -1)  # C truncates
    mask = 2**right - 1
    remainder, threshold = high & mask, (mask >> 1) + (high < 0)
    return (high >> right) + (remainder > threshold)


def test_requantization_matches_a_scalar_oracle_and_the_real_product():
    rng = np.random.default_rng(0)
    for multiplier in [1e-6, 0.0003, 0.25, 0.5, 0.9999, 1.5, 37.0]:
        m0, shift = q8.quantize_multiplier(multiplier)
        assert 2**30 <= m0 < 2**31
        assert abs(m0 * 2.0 ** (shift - 31) / multiplier - 1) < 2**-30
        x = rng.integers(-(2**24), 2**24, 300)
        got = q8.multiply_by_quantized_multiplier(x, m0, shift)
        assert got.tolist() == [oracle_multiply(int(v), m0, shift) for v in x]
        assert np.abs(got - x * multiplier).max() <= 1  # two roundings: at most one off
    assert q8.quantize_multiplier(0.0) == (0, 0)


def test_scales_zero_points_and_weights_follow_the_tflite_scheme():
    scale, zero = q8.choose_qparams(-1.0, 3.0)
    assert scale == pytest.approx(4 / 255) and zero == -128 + 64
    assert q8.quantize(np.float32(0.0), scale, zero) == zero  # 0 is exact
    assert q8.choose_qparams(0.5, 2.0)[1] == -128  # the range always includes 0
    w = np.array([[0.5, -2.0, 0.0], [-0.25, 1.0, 0.0]])
    q, scales = q8.quantize_weights(w)
    np.testing.assert_allclose(scales, [0.5 / 127, 2 / 127, 1.0])
    assert q.dtype == np.int8 and np.abs(q).max() == 127 and (q[:, 2] == 0).all()
    halves = np.array([-2.5, -0.5, 0.5, 1.5, 2.4999998], np.float32)
    assert q8.round_half_away(halves).tolist() == [-3, -1, 1, 2, 2]


# -- the quality contract -----------------------------------------------------------------------


def contract(path, x_train, x_test, y_test) -> dict:
    float_net = runtime.load_model(path)
    shape = float_net.input_shape
    int8_net = quantize_model(path, x_train.reshape(-1, *shape))
    p_float = float_net.predict(x_test.reshape(-1, *shape))
    p_int8 = int8_net.predict(x_test.reshape(-1, *shape))
    return {
        "agreement": float((p_float.argmax(1) == p_int8.argmax(1)).mean()),
        "drop": float((p_float.argmax(1) == y_test).mean() - (p_int8.argmax(1) == y_test).mean()),
        "max_logit_diff": float(np.abs(p_float - p_int8).max()),  # reported, not gated
    }


@pytest.mark.parametrize("which", ["pretrained mlp", "digits cnn"])
def test_int8_keeps_the_float_models_answers_on_held_out_digits(digits, digits_cnn, which):
    (x_train, _), (x_test, y_test) = digits
    path = pretrained.digits_path() if which == "pretrained mlp" else digits_cnn
    found = contract(path, x_train, x_test, y_test)
    assert found["agreement"] >= 0.99, found
    assert found["drop"] <= 0.01, found


# -- the C header, bit-exact --------------------------------------------------------------------


def compile_and_run(header: Path, x: np.ndarray, flags: list[str]) -> tuple[np.ndarray, np.ndarray]:
    folder = header.parent
    (folder / "driver.c").write_text(DRIVER)
    binary = folder / "driver"
    subprocess.run(
        [COMPILER, *STRICT, *flags, "-o", str(binary), "driver.c", "-lm"],
        check=True,
        capture_output=True,
        cwd=folder,
    )
    text = "\n".join(" ".join(repr(float(v)) for v in row) for row in x.reshape(len(x), -1))
    out = subprocess.run([str(binary)], input=text, capture_output=True, text=True, check=True)
    rows = np.array([[float(v) for v in line.split()] for line in out.stdout.splitlines()])
    half = rows.shape[1] // 2
    return rows[:, :half].astype(np.int8), rows[:, half:].astype(np.float32)


def graph_net():
    inputs = tinynn.Input((6, 6, 2))
    h = layers.Conv2D(6, 3, padding="same", activation="relu")(inputs)
    skip = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=3)(inputs)
    h = layers.Add()([h, skip])
    g = layers.GlobalAveragePooling2D(keepdims=True)(h)
    h = layers.Multiply()([h, layers.Activation("sigmoid")(g)])
    h = layers.Concatenate()([h, layers.AveragePooling2D(3, 1, padding="same")(skip)])
    h = layers.ZeroPadding2D(1)(layers.BatchNormalization()(h))
    h = layers.Subtract()([layers.MaxPooling2D(2)(h), layers.AveragePooling2D(2)(h)])
    h = layers.Activation("tanh")(layers.Permute((2, 1, 3))(h))  # a transposition in C
    h = layers.Permute((3, 1, 2))(h)  # PyTorch's flatten order: folded into the Dense rows
    out = layers.Dense(4, activation="softmax")(layers.Flatten()(h))
    return tinynn.Model(inputs, out, seed=3)


@needs_compiler
@pytest.mark.parametrize("which", ["pretrained mlp", "digits cnn", "graph"])
def test_the_c_header_is_bit_exact_against_the_numpy_reference(digits, digits_cnn, which, tmp_path):
    (x_train, _), _ = digits
    x_all = load_digits()[0]
    if which == "graph":
        graph_net().save(str(tmp_path / "g.npz"))
        path, x = tmp_path / "g.npz", np.random.default_rng(0).normal(size=(1000, 6, 6, 2))
        calibration = x[:300]
    else:
        path = pretrained.digits_path() if which == "pretrained mlp" else digits_cnn
        x, calibration = x_all[:1000], x_train
    x = x.astype(np.float32)
    export_model(path, "c", tmp_path / "model.h", quantize="int8", calibration=calibration)
    model = quantize_model(path, calibration)
    expected_int8 = model.predict_int8(model.quantize_input(x.reshape(-1, *model.input_shape)))
    expected = model.predict(x.reshape(-1, *model.input_shape))
    flags = [["-O2"], ["-O3", "-march=native"]] if which == "digits cnn" else [["-O2"]]
    for flag in flags:
        got_int8, got = compile_and_run(tmp_path / "model.h", x, flag)
        np.testing.assert_array_equal(got_int8, expected_int8.reshape(len(x), -1))
        np.testing.assert_array_equal(got, expected.reshape(len(x), -1))


def test_int8_weights_are_a_quarter_of_float32_in_the_header(tmp_path):
    from tinynn.export import header_footprint

    model = tinynn.Sequential(
        [tinynn.Input((784,)), layers.Dense(256, activation="relu"), layers.Dense(10)], seed=0
    )
    model.save(str(tmp_path / "m.npz"))
    calibration = np.random.default_rng(0).random((50, 784))
    export_model(tmp_path / "m.npz", "c", tmp_path / "f.h")
    export_model(tmp_path / "m.npz", "c", tmp_path / "q.h", "int8", calibration)
    flash = [header_footprint(tmp_path / name)["flash_bytes"] for name in ("f.h", "q.h")]
    assert flash[0] == 4 * sum(w.size for w in model.get_weights())
    assert 0.25 < flash[1] / flash[0] <= 0.27  # int8 weights, int32 biases and multipliers


# -- ONNX and Python -----------------------------------------------------------------------------


def test_onnx_qdq_runs_in_onnxruntime_with_the_same_answers(digits, digits_cnn, tmp_path):
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    (x_train, _), (x_test, _) = digits
    x_train, x_test = x_train.reshape(-1, 8, 8, 1), x_test.reshape(-1, 8, 8, 1).astype(np.float32)
    export_model(digits_cnn, "onnx", tmp_path / "q.onnx", quantize="int8", calibration=x_train)
    proto = onnx.load(str(tmp_path / "q.onnx"))
    ops = {node.op_type for node in proto.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv", "Gemm"} <= ops
    assert any(t.data_type == onnx.TensorProto.INT8 for t in proto.graph.initializer)
    session = onnxruntime.InferenceSession(
        str(tmp_path / "q.onnx"), providers=["CPUExecutionProvider"]
    )
    (got,) = session.run(None, {"input": x_test})
    reference = quantize_model(digits_cnn, x_train).predict(x_test)
    assert (got.argmax(1) == reference.argmax(1)).mean() >= 0.99
    # onnxruntime rounds its intermediate results its own way: a few steps of 1/256 apart
    assert np.abs(got - reference).max() <= 16 / 256


def run_blocked(module: Path, x: np.ndarray) -> np.ndarray:
    """The exported module's predict(x), in a Python that cannot import tinynn."""
    folder = module.parent
    np.save(folder / "x.npy", x)
    script = (
        "import sys\n"
        "class Blocker:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'tinynn', 'numba', 'scipy', 'torch'}:\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Blocker())\n"
        f"sys.path.insert(0, {str(folder)!r})\n"
        f"import numpy as np, {module.stem} as exported\n"
        f"np.save('out.npy', exported.load().predict(np.load('x.npy')))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, cwd=folder)
    return np.load(folder / "out.npy")


def test_the_python_module_computes_the_int8_reference_exactly(digits, tmp_path):
    (x_train, _), (x_test, _) = digits
    path = pretrained.digits_path()
    module, weights = export_model(path, "python", tmp_path / "digits8.py", "int8", x_train)
    reference = quantize_model(path, x_train)
    np.testing.assert_array_equal(run_blocked(module, x_test), reference.predict(x_test))
    loaded = runtime.load_model(weights)
    assert isinstance(loaded, runtime.QuantizedModel)
    assert tinynn.load_model(str(weights)).predict(x_test[:3]).shape == (3, 10)  # still a model


def test_float16_stores_half_the_bytes_and_computes_in_float32(digits, tmp_path):
    (_, _), (x_test, _) = digits
    path = pretrained.digits_path()
    module, weights = export_model(path, "python", tmp_path / "half.py", quantize="float16")
    with np.load(weights) as archive:
        assert {archive[k].dtype for k in archive.files if k.startswith("weights/")} == {
            np.dtype(np.float16)
        }
    expected = runtime.load_model(path).predict(x_test)
    got = run_blocked(module, x_test)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=5e-3)
    with pytest.raises(ValueError, match="C99 has no half-precision type"):
        export_model(path, "c", tmp_path / "half.h", quantize="float16")
    if pytest.importorskip("onnxruntime") and pytest.importorskip("onnx"):
        import onnxruntime

        export_model(path, "onnx", tmp_path / "half.onnx", quantize="float16")
        session = onnxruntime.InferenceSession(
            str(tmp_path / "half.onnx"), providers=["CPUExecutionProvider"]
        )
        (out,) = session.run(None, {"input": x_test.astype(np.float32)})
        np.testing.assert_allclose(out, expected, atol=5e-3)


def test_bad_calibration_and_quantization_requests_are_refused(tmp_path):
    path = pretrained.digits_path()
    with pytest.raises(ValueError, match="needs calibration data"):
        export_model(path, "c", tmp_path / "q.h", quantize="int8")
    with pytest.raises(ValueError, match=r"shape \(samples, 64\)"):
        export_model(path, "c", tmp_path / "q.h", quantize="int8", calibration=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        export_model(path, "c", tmp_path / "q.h", "int8", np.full((5, 64), np.nan))
    with pytest.raises(ValueError, match="unknown quantization 'int4'"):
        export_model(path, "c", tmp_path / "q.h", quantize="int4")
    assert not (tmp_path / "q.h").exists()
