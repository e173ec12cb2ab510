"""Tests for tinynn.export.c: the generated C99 header compiles cleanly and agrees with tinynn.

Each model is compiled with the system C compiler into a small driver that reads samples from
standard input and prints the outputs; the tests skip when there is no compiler.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tinynn
from tinynn import activations, pretrained, runtime
from tinynn.export import export_model
from tinynn.export.c import export_c
from tinynn.layers import Activation, Dense, Dropout, Flatten, Reshape

COMPILER = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
needs_compiler = pytest.mark.skipif(COMPILER is None, reason="no C compiler found")
STRICT = ["-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror"]
ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "softmax"]

DRIVER = """\
#include <stdio.h>
#include "model.h"

int main(void)
{
    REAL x[TINYNN_INPUT_SIZE], y[TINYNN_OUTPUT_SIZE];
    for (;;) {
        for (int i = 0; i < TINYNN_INPUT_SIZE; ++i) {
            double value;
            if (scanf("%lf", &value) != 1)
                return 0;
            x[i] = (REAL)value;
        }
        tinynn_predict(x, y);
        for (int j = 0; j < TINYNN_OUTPUT_SIZE; ++j)
            printf("%.17g%c", (double)y[j], j + 1 < TINYNN_OUTPUT_SIZE ? ' ' : '\\n');
    }
}
"""


def compile_and_run(
    model: tinynn.Sequential, x: np.ndarray, folder: Path, flags: tuple[str, ...] = ()
) -> np.ndarray:
    """Save, export, compile with warnings as errors, run on x; the outputs, (n, outputs)."""
    model.save(str(folder / "model.npz"))
    export_model(folder / "model.npz", "c", folder / "model.h")
    real = "double" if model.dtype == np.float64 else "float"
    (folder / "driver.c").write_text(DRIVER.replace("REAL", real))
    binary = folder / "driver"
    subprocess.run(
        [COMPILER, *STRICT, *flags, "-o", str(binary), str(folder / "driver.c"), "-lm"],
        check=True,
        capture_output=True,
        cwd=folder,
    )
    text = "\n".join(" ".join(repr(float(v)) for v in sample.ravel()) for sample in x)
    result = subprocess.run([str(binary)], input=text, capture_output=True, text=True, check=True)
    rows = [[float(v) for v in line.split()] for line in result.stdout.splitlines()]
    return np.array(rows).reshape(len(x), *model.output_shape)


def samples(shape, n=100, seed=0, dtype=np.float32) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((n, *shape)) * 2).astype(dtype)


@needs_compiler
def test_every_activation_and_layer_kind_matches_tinynn(tmp_path):
    dense = [Dense(16, activation=name) for name in ACTIVATIONS[:-1]]
    model = tinynn.Sequential(
        [
            tinynn.Input((4, 5)),
            Flatten(),
            *dense[:4],
            Dropout(0.5),
            *dense[4:],
            Dense(12, activation=activations.LeakyReLU(0.05)),
            Dense(12, activation=activations.ELU(0.7)),
            Reshape((3, 4)),
            Activation("softmax"),  # row by row: three rows of four
            Activation("tanh"),
            Flatten(),
            Dense(300, activation="relu"),  # a full block of 256 outputs and a partial one
            Dense(5, activation="softmax"),
        ],
        seed=0,
    )
    x = samples((4, 5))
    np.testing.assert_allclose(compile_and_run(model, x, tmp_path), model.predict(x), atol=1e-5)


@needs_compiler
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_each_activation_alone_at_the_output(tmp_path, activation):
    model = tinynn.Sequential(
        [tinynn.Input((6,)), Dense(9, activation=activation, use_bias=False)], seed=1
    )
    x = samples((6,), n=100, seed=2) * 3
    np.testing.assert_allclose(compile_and_run(model, x, tmp_path), model.predict(x), atol=1e-5)


@needs_compiler
def test_activation_first_and_identity_only_models(tmp_path):
    first = tinynn.Sequential([tinynn.Input((7,)), Activation("sigmoid"), Dense(3)], seed=2)
    x = samples((7,))
    np.testing.assert_allclose(compile_and_run(first, x, tmp_path), first.predict(x), atol=1e-5)
    (tmp_path / "b").mkdir()
    only = tinynn.Sequential([tinynn.Input((2, 3)), Flatten(), Dropout(0.1)], seed=0)
    x = samples((2, 3), n=5)
    np.testing.assert_array_equal(compile_and_run(only, x, tmp_path / "b"), only.predict(x))


@needs_compiler
def test_float64_models_compute_in_double(tmp_path):
    model = tinynn.Sequential(
        [tinynn.Input((5,)), Dense(8, activation="elu"), Dense(3, activation="softmax")],
        seed=4,
        dtype="float64",
    )
    x = samples((5,), dtype=np.float64)
    got = compile_and_run(model, x, tmp_path)
    assert "static const double" in (tmp_path / "model.h").read_text()
    np.testing.assert_allclose(got, model.predict(x), atol=1e-12)


@needs_compiler
@pytest.mark.parametrize(
    ("dtype", "widest", "block"),
    [("float32", 1, 1), ("float64", 300, 128), ("float32", 300, 256)],
)
def test_block_width_follows_the_widest_layer_and_the_dtype(tmp_path, dtype, widest, block):
    model = tinynn.Sequential(
        [tinynn.Input((6,)), Dense(widest, activation="relu"), Dense(1)], seed=5, dtype=dtype
    )
    x = samples((6,), n=20, dtype=dtype)
    got = compile_and_run(model, x, tmp_path)
    assert f"#define TINYNN_BLOCK {block}\n" in (tmp_path / "model.h").read_text()
    np.testing.assert_allclose(got, model.predict(x), atol=1e-5 if dtype == "float32" else 1e-12)


@needs_compiler
def test_block_width_can_be_chosen_when_compiling(tmp_path):
    model = tinynn.Sequential([tinynn.Input((6,)), Dense(40, activation="tanh")], seed=6)
    x = samples((6,), n=20)
    got = compile_and_run(model, x, tmp_path, flags=("-DTINYNN_BLOCK=16",))
    np.testing.assert_allclose(got, model.predict(x), atol=1e-5)


def test_header_is_self_contained(tmp_path):
    model = tinynn.Sequential([tinynn.Input((3,)), Dense(2, activation="relu")], seed=0)
    model.save(str(tmp_path / "m.npz"))
    text = export_c(runtime.read_model(tmp_path / "m.npz"))
    assert re.findall(r"#include <(\w+\.h)>", text) == ["math.h", "stddef.h"]
    assert "malloc(" not in text and "free(" not in text
    assert "static const float tinynn_layer0_W[3][2] TINYNN_ALIGNED" in text
    assert "static inline void tinynn_layer0(" in text
    assert "static inline void tinynn_predict(const float *x, float *y)" in text


def test_prefix_must_be_an_identifier_and_names_cannot_end_a_comment(tmp_path):
    model = tinynn.Sequential([tinynn.Input((3,)), Dense(2, name="a */ int evil; /* b")], seed=0)
    model.save(str(tmp_path / "m.npz"))
    spec = runtime.read_model(tmp_path / "m.npz")
    assert "evil; /*" not in export_c(spec)
    assert "digits_predict(" in export_c(spec, prefix="digits")
    with pytest.raises(ValueError, match="not a C identifier"):
        export_c(spec, prefix="bad-prefix")


def test_float_literals_read_back_exactly():
    from tinynn.export.c import _literal

    values = np.array([1.0, -0.0, 1e-45, 3.4028235e38, 0.1, -2.5e-7], np.float32)
    for value in values:
        text = _literal(float(value), "float")
        assert text.endswith("f") and ("." in text or "e" in text)
        assert np.float32(float(text[:-1])) == value


def doc_program() -> str:
    """The C program printed in docs/shipping.md (its first ```c block)."""
    doc = Path(__file__).resolve().parents[1] / "docs" / "shipping.md"
    blocks = re.findall(r"```c\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert blocks, "docs/shipping.md has no ```c block"
    return blocks[0]


@needs_compiler
def test_the_program_in_the_shipping_doc_classifies_digits(tmp_path):
    export_model(pretrained.digits_path(), "c", tmp_path / "digits.h")
    (tmp_path / "classify.c").write_text(doc_program())
    binary = tmp_path / "classify"
    subprocess.run(
        [COMPILER, *STRICT, "classify.c", "-o", str(binary), "-lm"],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    x, _ = tinynn.datasets.load_digits()
    net = runtime.load_model(pretrained.digits_path())
    for sample in x[:: len(x) // 12][:12]:
        text = " ".join(repr(float(v)) for v in sample)
        out = subprocess.run([str(binary)], input=text, capture_output=True, text=True, check=True)
        digit, probability = out.stdout.split()
        expected = net.predict_one(sample)
        assert int(digit) == expected.argmax()
        assert float(probability) == pytest.approx(expected.max(), abs=1e-4)
