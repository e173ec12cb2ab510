"""Tests for tinynn.export.onnx: a checked ONNX graph that onnxruntime runs like tinynn.

Skipped when the optional extra (onnx + onnxruntime) is not installed, except the test of the
error message that says how to install it.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

import tinynn
from tinynn import activations, runtime
from tinynn.export import export_model
from tinynn.export.onnx import OPSET, build_onnx
from tinynn.layers import Activation, Dense, Dropout, Flatten, Reshape

ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "softmax"]


def run_onnx(path, x: np.ndarray) -> np.ndarray:
    onnxruntime = pytest.importorskip("onnxruntime")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {"input": x})
    return output


def export(model: tinynn.Sequential, folder) -> object:
    onnx = pytest.importorskip("onnx")
    model.save(str(folder / "model.npz"))
    (path,) = export_model(folder / "model.npz", "onnx", folder / "model.onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    return path


def samples(shape, n=64, seed=0, dtype=np.float32) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((n, *shape)) * 2).astype(dtype)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_stack_with_each_activation(tmp_path, activation):
    model = tinynn.Sequential(
        [
            tinynn.Input((10,)),
            Dense(16, activation=activation),
            Dense(8, activation=activation, use_bias=False),
        ],
        seed=0,
    )
    path = export(model, tmp_path)
    x = samples((10,))
    np.testing.assert_allclose(run_onnx(path, x), model.predict(x), atol=1e-5)


def test_reshape_flatten_dropout_activation_layers_and_custom_alphas(tmp_path):
    model = tinynn.Sequential(
        [
            tinynn.Input((3, 4)),
            Flatten(),
            Dense(12, activation=activations.LeakyReLU(0.05)),
            Dropout(0.4),
            Reshape((4, 3)),
            Activation("softmax"),  # over the last axis: four rows of three
            Flatten(),
            Dense(6, activation=activations.ELU(0.3)),
            Activation("softplus"),
            Dense(3, activation="softmax"),
        ],
        seed=1,
    )
    path = export(model, tmp_path)
    x = samples((3, 4))
    np.testing.assert_allclose(run_onnx(path, x), model.predict(x), atol=1e-5)
    np.testing.assert_allclose(run_onnx(path, x[:1]), model.predict(x[:1]), atol=1e-5)


def test_graph_structure(tmp_path):
    pytest.importorskip("onnx")
    model = tinynn.Sequential(
        [tinynn.Input((5,)), Dense(4, activation="relu"), Dropout(0.5), Dense(2)], seed=0
    )
    model.save(str(tmp_path / "m.npz"))
    proto = build_onnx(runtime.read_model(tmp_path / "m.npz"))
    assert [node.op_type for node in proto.graph.node] == ["Gemm", "Relu", "Gemm"]
    assert proto.opset_import[0].version == OPSET
    assert proto.graph.output[0].name == "output"
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "batch"


def test_float64_model_exports_a_double_graph(tmp_path):
    model = tinynn.Sequential(
        [tinynn.Input((5,)), Dense(4, activation="tanh"), Dense(3, activation="softmax")],
        seed=0,
        dtype="float64",
    )
    path = export(model, tmp_path)
    x = samples((5,), dtype=np.float64)
    out = run_onnx(path, x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, model.predict(x), atol=1e-12)


def test_missing_onnx_says_how_to_install_it(tmp_path, monkeypatch):
    model = tinynn.Sequential([tinynn.Input((3,)), Dense(2)], seed=0)
    model.save(str(tmp_path / "m.npz"))
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` raise ImportError
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'tinynn\[onnx\]'"):
        export_model(tmp_path / "m.npz", "onnx")
    assert not (tmp_path / "m.onnx").exists()
