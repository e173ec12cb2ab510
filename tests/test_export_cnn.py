"""Exporting convolutional, residual and functional models: the C header (compiled with
warnings as errors), ONNX and the NumPy-only module all agree with tinynn; batch norm folds;
the header states its footprint; files get the user's umask."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from batch_norm_state import randomize_state

import tinynn
from tinynn import layers, runtime
from tinynn.cli.architectures import build_cnn
from tinynn.export import export_model, header_footprint
from tinynn.export.c import export_c
from tinynn.runtime.lowering import lower

COMPILER = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
needs_compiler = pytest.mark.skipif(COMPILER is None, reason="no C compiler found")
STRICT = ["-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror"]
DRIVER = """\
#include <stdio.h>
#include "model.h"

int main(void)
{
    static float x[TINYNN_INPUT_SIZE], y[TINYNN_OUTPUT_SIZE];
    for (;;) {
        for (int i = 0; i < TINYNN_INPUT_SIZE; ++i)
            if (scanf("%f", &x[i]) != 1)
                return 0;
        tinynn_predict(x, y);
        for (int j = 0; j < TINYNN_OUTPUT_SIZE; ++j)
            printf("%.9g%c", (double)y[j], j + 1 < TINYNN_OUTPUT_SIZE ? ' ' : '\\n');
    }
}
"""


def digits_cnn():
    """The network ``tinynn train --model cnn`` builds for the 8x8 digits (default sizes)."""
    return randomize_state(build_cnn((8, 8, 1), 10, (32, 64), (64,), "relu", 0.0, seed=0))


def separable_net():
    """MobileNet's pieces: strided conv, BN, ReLU6, depthwise, separable, pooling, padding."""
    return randomize_state(
        tinynn.Sequential(
            [
                tinynn.Input((12, 12, 3)),
                layers.Rescaling(1 / 2, offset=-0.25),
                layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False),
                layers.BatchNormalization(),
                layers.ReLU(max_value=6),
                layers.DepthwiseConv2D(3, padding=((1, 1), (1, 1)), depth_multiplier=2),
                layers.BatchNormalization(),
                layers.ReLU(),
                layers.SeparableConv2D(12, 3, padding="same", dilation_rate=2, activation="elu"),
                layers.ZeroPadding2D(((1, 0), (0, 1))),
                layers.AveragePooling2D(3, strides=2, padding="same"),
                layers.MaxPooling2D(2, strides=1, padding=((0, 1), (1, 0))),
                layers.GlobalAveragePooling2D(),
                layers.Dense(10, activation="softmax"),
            ],
            seed=1,
        ),
        seed=1,
    )


def graph_net():
    """A functional model: skip connections, squeeze-and-excitation, concatenation, a
    residual basic block."""
    inputs = tinynn.Input((8, 8, 2))
    h = layers.Conv2D(6, 3, padding="same", activation="relu")(inputs)
    skip = layers.Conv2D(6, (2, 3), padding=((1, 0), (1, 1)))(inputs)  # as PyTorch pads
    h = layers.Add()([h, skip])
    g = layers.GlobalAveragePooling2D(keepdims=True)(h)
    g = layers.Reshape((1, 1, 6))(layers.Dense(6, activation="sigmoid")(layers.Flatten()(g)))
    c = layers.Concatenate()([layers.Multiply()([h, g]), skip])
    r = layers.basic_block(12, strides=2, projection=True)(c)
    r = layers.Average()([r, layers.Subtract()([r, layers.Identity()(r)])])
    r = layers.Permute((3, 1, 2))(layers.Permute((2, 1, 3))(r))  # the second folds into Dense
    out = layers.Dense(5, activation="softmax")(layers.Flatten()(r))
    return randomize_state(tinynn.Model(inputs, out, seed=2), seed=2)


MODELS = {"digits_cnn": digits_cnn, "separable": separable_net, "graph": graph_net}


def samples(model, n=100, seed=0):
    return np.random.default_rng(seed).normal(size=(n, *model.input_shape)).astype(np.float32)


def compile_and_run(model, x, folder: Path) -> np.ndarray:
    model.save(str(folder / "model.npz"))
    export_model(folder / "model.npz", "c", folder / "model.h")
    (folder / "driver.c").write_text(DRIVER)
    binary = folder / "driver"
    subprocess.run(
        [COMPILER, *STRICT, "-o", str(binary), "driver.c", "-lm"],
        check=True,
        capture_output=True,
        cwd=folder,
    )
    text = "\n".join(" ".join(repr(float(v)) for v in sample.ravel()) for sample in x)
    out = subprocess.run([str(binary)], input=text, capture_output=True, text=True, check=True)
    return np.array([[float(v) for v in line.split()] for line in out.stdout.splitlines()])


@needs_compiler
@pytest.mark.parametrize("name", MODELS)
def test_the_c_header_agrees_with_tinynn_on_100_samples(tmp_path, name):
    model = MODELS[name]()
    x = samples(model)
    got = compile_and_run(model, x, tmp_path)
    np.testing.assert_allclose(got, model.predict(x).reshape(len(x), -1), rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_onnx_agrees_with_tinynn(tmp_path, name):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = MODELS[name]()
    model.save(str(tmp_path / "m.npz"))
    export_model(tmp_path / "m.npz", "onnx", tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(
        str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]
    )
    x = samples(model)
    (got,) = session.run(None, {"input": x})
    np.testing.assert_allclose(got, model.predict(x), rtol=0, atol=1e-5)


def test_the_python_module_runs_a_graph_with_only_numpy(tmp_path):
    model = graph_net()
    model.save(str(tmp_path / "g.npz"))
    export_model(tmp_path / "g.npz", "python", tmp_path / "graph_model.py")
    x = samples(model, n=10)
    np.save(tmp_path / "x.npy", x)
    script = (
        "import sys\n"
        "class Blocker:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'tinynn', 'numba', 'scipy', 'torch'}:\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Blocker())\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import numpy as np, graph_model\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, graph_model.load().predict(x))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=60)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), model.predict(x), atol=1e-6)


def test_batch_norm_folds_into_the_convolution_before_it(tmp_path):
    model = separable_net()
    model.save(str(tmp_path / "m.npz"))
    spec = runtime.read_model(tmp_path / "m.npz")
    kinds = [layer.class_name for layer in spec.layers]
    lowered = [(layer.class_name, layer.activation) for layer in lower(spec).layers]
    assert kinds.count("BatchNormalization") == 2
    assert ("BatchNormalization", "linear") not in lowered  # both followed a linear conv
    assert lowered[:3] == [
        ("Rescaling", "linear"),
        ("Conv2D", "relu6"),
        ("DepthwiseConv2D", "relu"),
    ]
    x = samples(model, n=16)
    np.testing.assert_allclose(
        runtime.InferenceModel(lower(spec)).predict(x), model.predict(x), atol=1e-6
    )
    text = export_c(spec)
    assert text.count("_scale[") == 1  # the Rescaling's: both batch norms folded away
    cnn = digits_cnn()  # BN after the ReLU: a per-channel scale and shift
    cnn.save(str(tmp_path / "cnn.npz"))
    assert "tinynn_layer1_scale[32]" in export_c(runtime.read_model(tmp_path / "cnn.npz"))


def test_the_header_states_its_footprint_and_the_cli_prints_it(tmp_path, capsys):
    from tinynn import cli

    model = digits_cnn()
    model.save(str(tmp_path / "cnn.npz"))
    assert cli.main(["export", str(tmp_path / "cnn.npz"), "--format", "c"]) == 0
    text = (tmp_path / "cnn.h").read_text()
    weights = sum(w.size for w in model.get_weights()) - 2 * (32 + 64)  # BN: 2 of 4 remain
    flash = int(re.search(r"#define TINYNN_FLASH_BYTES (\d+)", text).group(1))
    ram = int(re.search(r"#define TINYNN_RAM_BYTES (\d+)", text).group(1))
    assert flash == 4 * weights
    # the largest pair of live buffers: conv 1's output beside its normalized copy, in place
    assert 4 * (8 * 8 * 32) <= ram <= 4 * (8 * 8 * 32 + 8 * 8 * 32)
    assert header_footprint(tmp_path / "cnn.h") == {"flash_bytes": flash, "ram_bytes": ram}
    assert (
        f"Footprint: {flash:,} bytes of weights (flash), {ram:,} bytes" in capsys.readouterr().out
    )


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("fmt", ["python", "c", "onnx"])
def test_exported_files_get_the_mode_the_umask_gives_like_saved_models(tmp_path, fmt):
    if fmt == "onnx":
        pytest.importorskip("onnx")
    old = os.umask(0o027)
    try:
        model = tinynn.Sequential([tinynn.Input((3,)), layers.Dense(2)], seed=0)
        model.save(str(tmp_path / "m.npz"))
        paths = export_model(tmp_path / "m.npz", fmt)
    finally:
        os.umask(old)
    modes = {stat.S_IMODE(path.stat().st_mode) for path in [tmp_path / "m.npz", *paths]}
    assert modes == {0o640}


def test_a_permute_before_flatten_and_dense_folds_into_the_dense_rows(tmp_path):
    model = graph_net()  # ... Permute((2, 1, 3)), Permute((3, 1, 2)), Flatten, Dense
    model.save(str(tmp_path / "m.npz"))
    spec = runtime.read_model(tmp_path / "m.npz")
    kinds = [layer.class_name for layer in spec.layers]
    lowered = [layer.class_name for layer in lower(spec).layers]
    assert kinds.count("Permute") == 2 and lowered.count("Permute") == 1  # the C-order one
    assert lowered[-2:] == ["Flatten", "Dense"]
    x = samples(model, n=16)
    np.testing.assert_allclose(
        runtime.InferenceModel(lower(spec)).predict(x), model.predict(x), atol=1e-6
    )


def test_layers_the_exports_cannot_run_are_refused_by_name(tmp_path):
    model = tinynn.Sequential(
        [tinynn.Input((4, 4, 1)), layers.RandomCrop(2, 2), layers.Flatten()], seed=0
    )
    model.save(str(tmp_path / "m.npz"))
    with pytest.raises(runtime.ModelFileError, match=r"'random_crop' has class 'RandomCrop'"):
        export_model(tmp_path / "m.npz", "c")
    assert not (tmp_path / "m.h").exists()
