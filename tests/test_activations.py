"""tinynn.activations: gradients, values, stability at huge inputs, and name lookup."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import activations, gradcheck

NAMES = ["linear", "sigmoid", "tanh", "relu", "relu6", "leaky_relu", "elu", "softplus", "softmax"]


def test_registry_holds_exactly_the_documented_activations():
    assert sorted(activations.ACTIVATIONS) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_check(name, away_from_zero):
    x = away_from_zero((4, 5), seed=1) * 2.0
    result = gradcheck.check_activation(activations.get(name), x)
    assert result.max_error < 1e-6, str(result)


@pytest.mark.parametrize("alpha", [0.05, 0.2, 1.5])
@pytest.mark.parametrize("cls", [activations.LeakyReLU, activations.ELU])
def test_gradient_check_with_non_default_alpha(cls, alpha, away_from_zero):
    x = away_from_zero((3, 4), seed=2) * 2.0
    assert gradcheck.check_activation(cls(alpha=alpha), x).max_error < 1e-6


def test_values_on_a_known_input():
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(activations.ReLU()(x), [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(activations.LeakyReLU()(x), [[-0.4, 0.0, 3.0]])
    np.testing.assert_allclose(activations.ELU()(x), [[np.exp(-2.0) - 1.0, 0.0, 3.0]])
    np.testing.assert_allclose(activations.Sigmoid()(x), 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(activations.Tanh()(x), np.tanh(x), rtol=1e-14)
    np.testing.assert_allclose(activations.Softplus()(x), np.log1p(np.exp(x)), rtol=1e-14)
    np.testing.assert_allclose(activations.Linear()(x), x)
    softmax = activations.Softmax()(x)
    np.testing.assert_allclose(softmax, np.exp(x) / np.exp(x).sum(), rtol=1e-14)


def test_softmax_rows_sum_to_one_and_ignore_a_constant_shift():
    x = np.random.default_rng(3).normal(size=(6, 5))
    p = activations.Softmax().forward(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(activations.Softmax().forward(x + 500.0), p, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_huge_inputs_give_finite_values_and_gradients_without_warnings(name, strict_numpy):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    act = activations.get(name)
    y = act.forward(x)
    dx = act.backward(np.ones_like(x))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))


def test_saturated_values_are_the_limits(strict_numpy):
    x = np.array([[1e4, -1e4]])
    np.testing.assert_array_equal(activations.Sigmoid()(x), [[1.0, 0.0]])
    np.testing.assert_array_equal(activations.Tanh()(x), [[1.0, -1.0]])
    np.testing.assert_array_equal(activations.Softplus()(x), [[1e4, 0.0]])
    np.testing.assert_array_equal(activations.ELU()(x), [[1e4, -1.0]])
    np.testing.assert_array_equal(activations.Softmax()(x), [[1.0, 0.0]])
    softplus = activations.Softplus()
    softplus(x)
    np.testing.assert_array_equal(softplus.backward(np.ones_like(x)), [[1.0, 0.0]])


def test_float32_in_float32_out():
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    for name in NAMES:
        act = activations.get(name)
        assert act.forward(x).dtype == np.float32
        assert act.backward(np.ones_like(x)).dtype == np.float32


def test_integer_input_is_computed_in_floating_point():
    y = activations.Sigmoid().forward(np.array([[0, 1]]))
    np.testing.assert_allclose(y, [[0.5, 1 / (1 + np.exp(-1))]])


def test_relu_subgradient_at_zero_is_zero():
    relu = activations.ReLU()
    relu(np.array([[0.0, 1.0]]))
    np.testing.assert_array_equal(relu.backward(np.array([[5.0, 5.0]])), [[0.0, 5.0]])


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match=r"before forward"):
        activations.Tanh().backward(np.ones((1, 2)))


@pytest.mark.parametrize("cls", [activations.LeakyReLU, activations.ELU])
@pytest.mark.parametrize("alpha", [0.0, -0.1])
def test_alpha_must_be_positive(cls, alpha):
    with pytest.raises(ValueError, match=r"alpha must be > 0"):
        cls(alpha=alpha)


def test_base_class_says_what_to_implement():
    class Half(activations.ActivationFunction):
        name = "half"

    with pytest.raises(NotImplementedError, match=r"Half must implement forward\(x\)"):
        Half().forward(np.ones((1, 2)))
    with pytest.raises(NotImplementedError, match=r"must implement backward\(grad_y\)"):
        Half().backward(np.ones((1, 2)))


# -- lookup and configs ---------------------------------------------------------------------


def test_get_accepts_none_names_instances_and_dicts():
    assert isinstance(activations.get(None), activations.Linear)
    assert isinstance(activations.get("ReLU"), activations.ReLU)
    act = activations.ELU(alpha=0.5)
    assert activations.get(act) is act
    rebuilt = activations.get(activations.serialize(act))
    assert isinstance(rebuilt, activations.ELU) and rebuilt.alpha == 0.5


def test_get_by_name_returns_a_fresh_object_each_time():
    assert activations.get("tanh") is not activations.get("tanh")


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown activation 'swish'.*leaky_relu.*softmax"):
        activations.get("swish")


@pytest.mark.parametrize("name", NAMES)
def test_serialize_round_trip(name):
    act = activations.get(name)
    spec = activations.serialize(act)
    assert spec["class_name"] == name
    assert activations.get(spec).get_config() == act.get_config()


def test_custom_activation_cannot_be_serialized():
    class Square(activations.ActivationFunction):
        name = "square"

    with pytest.raises(ValueError, match=r"cannot be saved"):
        activations.serialize(Square())


# --- the maths in the classes against textbook formulas written independently ---------------

ALPHA = {"leaky_relu": 0.2, "elu": 1.0}


def reference_forward(name: str, x: np.ndarray) -> np.ndarray:
    """The textbook formulas, on float64 inputs of moderate size."""
    alpha = ALPHA.get(name, 0.0)
    if name == "linear":
        return x.copy()
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.where(x > 0, x, 0.0)
    if name == "relu6":
        return np.clip(x, 0.0, 6.0)
    if name == "leaky_relu":
        return np.where(x > 0, x, alpha * x)
    if name == "elu":
        return np.where(x > 0, x, alpha * (np.exp(x) - 1.0))
    if name == "softplus":
        return np.log(1.0 + np.exp(x))
    if name == "softmax":
        e = np.exp(x)
        return e / e.sum(axis=-1, keepdims=True)
    raise AssertionError(name)


def reference_derivative_times(name: str, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """g ⊙ f'(x) (softmax: the Jacobian-vector product), from the input x."""
    alpha = ALPHA.get(name, 0.0)
    s = 1.0 / (1.0 + np.exp(-x))
    if name == "linear":
        return g.copy()
    if name == "sigmoid":
        return g * s * (1.0 - s)
    if name == "tanh":
        return g * (1.0 - np.tanh(x) ** 2)
    if name == "relu":
        return g * (x > 0)
    if name == "relu6":
        return g * ((x > 0) & (x < 6))
    if name == "leaky_relu":
        return g * np.where(x > 0, 1.0, alpha)
    if name == "elu":
        return g * np.where(x > 0, 1.0, alpha * np.exp(x))
    if name == "softplus":
        return g * s
    if name == "softmax":
        p = reference_forward("softmax", x)
        jacobians = np.einsum("ni,ij->nij", p, np.eye(x.shape[1])) - np.einsum("ni,nj->nij", p, p)
        return np.einsum("nij,nj->ni", jacobians, g)
    raise AssertionError(name)


@pytest.fixture
def x_and_grad(away_from_zero):
    return away_from_zero((5, 4), seed=1) * 2.0, np.random.default_rng(2).normal(size=(5, 4))


@pytest.mark.parametrize("name", NAMES)
def test_forward_and_backward_match_the_textbook_formulas(name, x_and_grad):
    x, g = x_and_grad
    act = activations.get(name)
    y = act.forward(x)
    np.testing.assert_allclose(y, reference_forward(name, x), rtol=1e-12, atol=1e-14)
    dx = act.backward(g)
    np.testing.assert_allclose(dx, reference_derivative_times(name, x, g), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_forward_works_in_place(name, x_and_grad):
    x, _ = x_and_grad
    expected = activations.get(name).forward(x)
    buffer = x.copy()
    result = activations.get(name).forward(buffer, out=buffer)
    assert result is buffer
    np.testing.assert_array_equal(buffer, expected)


@pytest.mark.parametrize("name", NAMES)
def test_backward_works_in_place_on_the_gradient(name, x_and_grad):
    x, g = x_and_grad
    act = activations.get(name)
    act.forward(x)
    expected = act.backward(g)
    buffer = g.copy()
    assert act.backward(buffer, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, expected)


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32_and_accurate(name, x_and_grad):
    x, g = (a.astype(np.float32) for a in x_and_grad)
    act = activations.get(name)
    y = act.forward(x)
    dx = act.backward(g)
    assert y.dtype == dx.dtype == np.float32
    np.testing.assert_allclose(y, reference_forward(name, x.astype(np.float64)), rtol=2e-6)


def test_sigmoid_keeps_relative_precision_far_into_the_tails():
    x = np.array([-20.0, -30.0, -80.0], dtype=np.float32)
    y = activations.Sigmoid().forward(x)
    expected = np.exp(np.array([-20.0, -30.0, -80.0])) / (1.0 + np.exp([-20.0, -30.0, -80.0]))
    np.testing.assert_allclose(y, expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_one_vector_matches_the_batched_form_and_stays_finite(dtype):
    rows = np.array([[1.0, -2.0, 0.5, 3.0], [1e4, -1e4, 0.0, 1e4]], dtype=dtype)
    batched = activations.Softmax().forward(rows)
    for row, expected in zip(rows, batched, strict=True):
        one = activations.Softmax().forward(row)
        assert np.isfinite(one).all() and one.dtype == dtype
        np.testing.assert_allclose(one, expected, rtol=1e-6, atol=1e-30)
        assert one.sum() == pytest.approx(1.0, rel=1e-6)


# --- one table of formulas: every path computes the same numbers -----------------------------


def _parity_reference(name, x):
    """The class's own forward in float64: the values every path must reproduce."""
    return activations.get(name).forward(x.astype(np.float64))


def _assert_parity(got, expected, what):
    """1e-6 relative, or 1e-30 absolute where values underflow towards zero."""
    got = np.asarray(got, dtype=np.float64)
    error = np.abs(got - expected)
    bad = (error > 1e-6 * np.abs(expected)) & (error > 1e-30)
    assert not bad.any(), (
        f"{what}: {bad.sum()} values differ, e.g. {got[bad][:3]} against {expected[bad][:3]}"
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_every_path_computes_the_same_activation(name, dtype, tmp_path):
    """Training (both backends), predict (the inference engine, both backends), the NumPy-only
    runtime, the C export and ONNX, over x in [−50, 50]; softmax over rows of 10."""
    import importlib.util
    import shutil
    import subprocess

    import tinynn
    from tinynn.export import export_model
    from tinynn.kernels import numba_available

    x = np.linspace(-50, 50, 2010).reshape(201, 10).astype(dtype)
    expected = _parity_reference(name, x)
    model = tinynn.Sequential([tinynn.Input((10,)), tinynn.layers.Activation(name)], dtype=dtype)
    for backend in ["numpy", "numba"] if numba_available() else ["numpy"]:
        model.compile(optimizer="sgd", loss="mse", backend=backend)
        _assert_parity(model.forward(x, training=True), expected, f"training on {backend}")
        _assert_parity(model.predict(x), expected, f"predict on {backend}")
        _assert_parity(model.predict(x[:1]), expected[:1], f"one-sample predict on {backend}")
    path = tmp_path / "model.npz"
    model.save(str(path))
    runtime = tinynn.runtime.load_model(path)
    _assert_parity(runtime.predict(x), expected, "runtime")
    _assert_parity(runtime.predict_one(x[0])[None], expected[:1], "runtime, one sample")

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is not None:
        export_model(path, "c", tmp_path / "model.h")
        real = "double" if dtype == "float64" else "float"
        (tmp_path / "main.c").write_text(
            '#include <stdio.h>\n#include "model.h"\nint main(void)\n{\n'
            f"    {real} x[10], y[10];\n    double v;\n"
            "    for (;;) {\n        for (int i = 0; i < 10; ++i) {\n"
            '            if (scanf("%lf", &v) != 1) return 0;\n'
            f"            x[i] = ({real})v;\n        }}\n        tinynn_predict(x, y);\n"
            '        for (int j = 0; j < 10; ++j) printf("%.17g ", (double)y[j]);\n'
            '        printf("\\n");\n    }\n}\n'
        )
        flags = ["-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror"]
        binary = tmp_path / "main"
        subprocess.run(
            [compiler, *flags, "-o", str(binary), "main.c", "-lm"], check=True, cwd=tmp_path
        )
        text = "\n".join(" ".join(repr(float(v)) for v in row) for row in x)
        out = subprocess.run([str(binary)], input=text, capture_output=True, text=True, check=True)
        got = np.array([[float(v) for v in line.split()] for line in out.stdout.splitlines()])
        _assert_parity(got, expected, "C export")

    if importlib.util.find_spec("onnx") and importlib.util.find_spec("onnxruntime"):
        import onnxruntime

        export_model(path, "onnx", tmp_path / "model.onnx")
        session = onnxruntime.InferenceSession(
            str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        (got,) = session.run(None, {"input": x})
        _assert_parity(got, expected, "ONNX")
