"""The NumPy reference kernels: activations, dense, fused losses and data movement.

Each kernel is compared with a plain formula written independently here, and the ``out``
parameter is checked when it aliases an input (the layers and the training loop rely on that).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinynn.kernels import get_backend, numpy_ops
from tinynn.kernels.numpy_ops import activations as act_kernels

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


NAMES = sorted(act_kernels.ACTIVATION_KERNELS)


def test_every_activation_has_a_kernel_pair():
    expected = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "softmax"]
    assert sorted(expected) == NAMES


@pytest.fixture
def x_and_grad(away_from_zero):
    return away_from_zero((5, 4), seed=1) * 2.0, np.random.default_rng(2).normal(size=(5, 4))


@pytest.mark.parametrize("name", NAMES)
def test_activation_kernels_match_reference_formulas(name, x_and_grad):
    x, g = x_and_grad
    alpha = ALPHA.get(name, 0.0)
    y = numpy_ops.activation_forward(name, x, alpha, np.empty_like(x))
    np.testing.assert_allclose(y, reference_forward(name, x), rtol=1e-12, atol=1e-14)
    dx = numpy_ops.activation_backward(name, y, g, alpha, np.empty_like(x))
    np.testing.assert_allclose(dx, reference_derivative_times(name, x, g), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_activation_forward_works_in_place(name, x_and_grad):
    x, _ = x_and_grad
    alpha = ALPHA.get(name, 0.0)
    expected = numpy_ops.activation_forward(name, x, alpha, np.empty_like(x))
    buffer = x.copy()
    result = numpy_ops.activation_forward(name, buffer, alpha, buffer)
    assert result is buffer
    np.testing.assert_array_equal(buffer, expected)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("alias", ["grad", "y"])
def test_activation_backward_works_in_place(name, alias, x_and_grad):
    x, g = x_and_grad
    alpha = ALPHA.get(name, 0.0)
    y = numpy_ops.activation_forward(name, x, alpha, np.empty_like(x))
    expected = numpy_ops.activation_backward(name, y, g, alpha, np.empty_like(x))
    y_buf, g_buf = y.copy(), g.copy()
    out = g_buf if alias == "grad" else y_buf
    result = numpy_ops.activation_backward(name, y_buf, g_buf, alpha, out)
    assert result is out
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("name", NAMES)
def test_activation_kernels_keep_float32(name, x_and_grad):
    x, g = (a.astype(np.float32) for a in x_and_grad)
    alpha = ALPHA.get(name, 0.0)
    y = numpy_ops.activation_forward(name, x, alpha, np.empty_like(x))
    dx = numpy_ops.activation_backward(name, y, g, alpha, np.empty_like(x))
    assert y.dtype == dx.dtype == np.float32
    np.testing.assert_allclose(y, reference_forward(name, x.astype(np.float64)), rtol=2e-6)


def test_sigmoid_keeps_relative_precision_far_into_the_tails():
    x = np.array([-20.0, -30.0, -80.0], dtype=np.float32)
    y = numpy_ops.activation_forward("sigmoid", x, 0.0, np.empty_like(x))
    expected = np.exp(np.array([-20.0, -30.0, -80.0])) / (1.0 + np.exp([-20.0, -30.0, -80.0]))
    np.testing.assert_allclose(y, expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_one_vector_matches_the_batched_form_and_stays_finite(dtype):
    rows = np.array([[1.0, -2.0, 0.5, 3.0], [1e4, -1e4, 0.0, 1e4]], dtype=dtype)
    batched = numpy_ops.activation_forward("softmax", rows, 0.0, np.empty_like(rows))
    for row, expected in zip(rows, batched, strict=True):
        one = numpy_ops.activation_forward("softmax", row, 0.0, np.empty_like(row))
        assert np.isfinite(one).all() and one.dtype == dtype
        np.testing.assert_allclose(one, expected, rtol=1e-6, atol=1e-30)
        assert one.sum() == pytest.approx(1.0, rel=1e-6)
        in_place = row.copy()
        assert numpy_ops.activation_forward("softmax", in_place, 0.0, in_place) is in_place
        np.testing.assert_allclose(in_place, expected, rtol=1e-6, atol=1e-30)


def test_unknown_activation_kernel_lists_the_valid_names():
    x = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"swish.*leaky_relu"):
        numpy_ops.activation_forward("swish", x, 0.0, x)
    with pytest.raises(ValueError, match=r"expected one of"):
        numpy_ops.activation_backward("swish", x, x, 0.0, x)


# -- dense ----------------------------------------------------------------------------------


@pytest.fixture
def dense_arrays():
    rng = np.random.default_rng(3)
    return rng.normal(size=(6, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)


@pytest.mark.parametrize("name", ["linear", "relu", "tanh", "softmax"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_forward_is_activation_of_x_w_plus_b(name, use_bias, dense_arrays):
    x, W, b = dense_arrays
    bias = b if use_bias else None
    out = np.empty((6, 3))
    result = numpy_ops.dense_forward(x, W, bias, name, ALPHA.get(name, 0.0), out)
    assert result is out
    z = x @ W + (b if use_bias else 0.0)
    np.testing.assert_allclose(out, reference_forward(name, z), rtol=1e-12)


@pytest.mark.parametrize("name", ["linear", "sigmoid", "elu", "softmax"])
def test_dense_backward_matches_the_chain_rule(name, dense_arrays):
    x, W, b = dense_arrays
    alpha = ALPHA.get(name, 0.0)
    z = x @ W + b
    y = reference_forward(name, z)
    grad_y = np.random.default_rng(4).normal(size=y.shape)
    grad_W, grad_b = np.full_like(W, np.nan), np.full_like(b, np.nan)
    grad_z, grad_x = np.empty_like(y), np.empty_like(x)
    numpy_ops.dense_backward(x, W, y, grad_y, name, alpha, grad_W, grad_b, grad_z, grad_x)
    dz = reference_derivative_times(name, z, grad_y)
    np.testing.assert_allclose(grad_z, dz, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad_W, x.T @ dz, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad_b, dz.sum(axis=0), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad_x, dz @ W.T, rtol=1e-10, atol=1e-14)


def test_dense_backward_skips_what_it_is_not_given(dense_arrays):
    x, W, _ = dense_arrays
    y = x @ W
    grad_y = np.ones_like(y)
    grad_W = np.empty_like(W)
    numpy_ops.dense_backward(x, W, y, grad_y, "linear", 0.0, grad_W, None, np.empty_like(y), None)
    np.testing.assert_allclose(grad_W, x.T @ grad_y)


# -- fused losses ---------------------------------------------------------------------------


def log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def test_softmax_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(4, 3))
    y = rng.dirichlet(np.ones(3), size=4)
    grad = np.empty_like(z)
    loss = numpy_ops.softmax_cross_entropy(z, y, grad)
    assert loss == pytest.approx(-np.sum(y * log_softmax(z)) / 4, rel=1e-12)
    np.testing.assert_allclose(grad, (np.exp(log_softmax(z)) - y) / 4, rtol=1e-12, atol=1e-15)


def test_sparse_softmax_cross_entropy_equals_the_one_hot_form():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    grad_sparse, grad_dense = np.empty_like(z), np.empty_like(z)
    sparse = numpy_ops.sparse_softmax_cross_entropy(z, labels, grad_sparse)
    dense = numpy_ops.softmax_cross_entropy(z, np.eye(4)[labels], grad_dense)
    assert sparse == pytest.approx(dense, rel=1e-12)
    np.testing.assert_allclose(grad_sparse, grad_dense, rtol=1e-12, atol=1e-16)


def test_sigmoid_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(4, 2)) * 3
    y = rng.uniform(size=(4, 2))
    p = 1.0 / (1.0 + np.exp(-z))
    grad = np.empty_like(z)
    loss = numpy_ops.sigmoid_cross_entropy(z, y, grad)
    assert loss == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rel=1e-12)
    np.testing.assert_allclose(grad, (p - y) / z.size, rtol=1e-12)


# -- data -----------------------------------------------------------------------------------


def test_dropout_kernels_scale_kept_units_and_zero_the_rest():
    x = np.arange(1.0, 9.0).reshape(2, 4)
    uniform = np.array([[0.1, 0.6, 0.25, 0.9], [0.3, 0.0, 0.5, 0.24]])
    mask, out = np.empty_like(x), np.empty_like(x)
    numpy_ops.dropout_forward(x, uniform, 0.25, mask, out)
    expected_mask = np.where(uniform >= 0.25, 1 / 0.75, 0.0)
    np.testing.assert_allclose(mask, expected_mask)
    np.testing.assert_allclose(out, x * expected_mask)
    grad = np.ones_like(x) * 3.0
    np.testing.assert_allclose(
        numpy_ops.dropout_backward(grad, mask, np.empty_like(x)), 3.0 * expected_mask
    )


def test_gather_rows_copies_into_the_buffer():
    source = np.arange(12.0).reshape(4, 3)
    out = np.empty((3, 3))
    result = numpy_ops.gather_rows(source, np.array([2, 0, 2]), out)
    assert result is out
    np.testing.assert_array_equal(out, source[[2, 0, 2]])


def test_numpy_backend_is_the_reference_module():
    assert get_backend("numpy") is numpy_ops
    assert numpy_ops.NAME == "numpy"
