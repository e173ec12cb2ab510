"""The NumPy optimizer kernels on their own: in-place contracts, dtypes and clipping maths.

Full update rules are checked step by step (by hand and against PyTorch) in test_optimizers.py.
"""

import math

import numpy as np
import pytest

from tinynn.kernels.numpy_ops import update_rules as optim

EMPTY = np.empty(0)


def test_sgd_update_is_in_place_and_leaves_grad_alone():
    param = np.array([1.0, -2.0])
    grad = np.array([0.5, 1.0])
    buf = np.zeros(2)
    param_id = id(param)
    optim.sgd_update(param, grad, buf, 0.1, 0.9, 0.0, False, 0.1, True)
    # g = grad + 0.1·param = [0.6, 0.8]; buf = g (first step); param -= 0.1·g
    np.testing.assert_allclose(buf, [0.6, 0.8], rtol=1e-15)
    np.testing.assert_allclose(param, [0.94, -2.08], rtol=1e-15)
    assert id(param) == param_id
    np.testing.assert_array_equal(grad, [0.5, 1.0])  # weight decay did not touch grad


def test_sgd_update_without_momentum_ignores_the_empty_buffer():
    param = np.array([1.0])
    optim.sgd_update(param, np.array([2.0]), EMPTY, 0.25, 0.0, 0.0, False, 0.0, True)
    assert param[0] == 0.5
    assert EMPTY.size == 0


def test_rmsprop_update_plain():
    param, square_avg = np.array([1.0]), np.zeros(1)
    optim.rmsprop_update(
        param, np.array([2.0]), square_avg, EMPTY, EMPTY, 0.01, 0.9, 0.0, 0.0, 0.0, False
    )
    # v = 0.1·2² = 0.4; param = 1 − 0.01·2/√0.4
    assert square_avg[0] == pytest.approx(0.4, rel=1e-15)
    assert param[0] == pytest.approx(1 - 0.02 / math.sqrt(0.4), rel=1e-15)


def test_adam_update_first_step_moves_by_lr_times_sign():
    # After bias correction m̂ = g and v̂ = g² on step 1, so the step is lr·g/|g| (ε = 0).
    param = np.array([1.0, -2.0])
    m, v = np.zeros(2), np.zeros(2)
    optim.adam_update(
        param, np.array([0.5, -4.0]), m, v, EMPTY, 0.1, 0.9, 0.999, 0.0, 0.0, False, 1, False
    )
    np.testing.assert_allclose(param, [0.9, -1.9], rtol=1e-14)
    np.testing.assert_allclose(m, [0.05, -0.4], rtol=1e-14)
    np.testing.assert_allclose(v, [0.00025, 0.016], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_keep_the_parameter_dtype(dtype):
    rng = np.random.default_rng(0)
    grad = rng.standard_normal(5).astype(dtype)

    def zeros():
        return np.zeros(5, dtype=dtype)

    param = rng.standard_normal(5).astype(dtype)
    bufs = [zeros()]
    optim.sgd_update(param, grad, bufs[0], 0.1, 0.9, 0.1, False, 0.01, False)
    bufs += [zeros(), zeros(), zeros()]
    optim.rmsprop_update(param, grad, *bufs[1:], 0.01, 0.9, 1e-7, 0.01, 0.9, True)
    bufs += [zeros(), zeros(), zeros()]
    optim.adam_update(param, grad, *bufs[4:], 0.01, 0.9, 0.999, 1e-7, 0.01, True, 3, True)
    assert param.dtype == dtype
    assert all(b.dtype == dtype for b in bufs)


def test_float32_and_float64_kernels_agree():
    rng = np.random.default_rng(1)
    p64 = rng.standard_normal(50)
    p32 = p64.astype(np.float32)
    m64, v64, m32, v32 = (
        np.zeros(50),
        np.zeros(50),
        np.zeros(50, np.float32),
        np.zeros(50, np.float32),
    )
    for step in range(1, 6):
        g = rng.standard_normal(50)
        optim.adam_update(p64, g, m64, v64, EMPTY, 0.01, 0.9, 0.999, 1e-7, 0.0, False, step, False)
        optim.adam_update(
            p32, g.astype(np.float32), m32, v32, np.empty(0, np.float32),
            0.01, 0.9, 0.999, 1e-7, 0.0, False, step, False,
        )  # fmt: skip
    np.testing.assert_allclose(p32, p64, rtol=1e-5, atol=1e-6)


def test_clip_by_value_in_place():
    grad = np.array([-3.0, -0.5, 0.0, 0.7, 2.0])
    optim.clip_by_value(grad, 1.0)
    np.testing.assert_array_equal(grad, [-1.0, -0.5, 0.0, 0.7, 1.0])


def test_clip_by_norm_rescales_only_above_the_threshold():
    grad = np.array([3.0, 4.0])  # norm 5
    assert optim.clip_by_norm(grad, 10.0) == 5.0
    np.testing.assert_array_equal(grad, [3.0, 4.0])
    assert optim.clip_by_norm(grad, 1.0) == 5.0
    np.testing.assert_allclose(grad, [0.6, 0.8], rtol=1e-15)


def test_global_norm_and_clip_by_global_norm():
    a, b = np.array([3.0, 0.0]), np.array([[0.0], [4.0]])
    assert optim.global_norm([a, b]) == 5.0
    assert optim.global_norm([]) == 0.0
    assert optim.clip_by_global_norm([a, b], 2.5) == 5.0
    np.testing.assert_allclose(a, [1.5, 0.0], rtol=1e-15)  # one common factor 2.5/5
    np.testing.assert_allclose(b, [[0.0], [2.0]], rtol=1e-15)
    assert optim.clip_by_global_norm([a, b], 100.0) == pytest.approx(2.5)
    np.testing.assert_allclose(a, [1.5, 0.0], rtol=1e-15)


def test_zero_gradient_is_not_clipped_to_nan():
    grad = np.zeros(3)
    assert optim.clip_by_norm(grad, 1.0) == 0.0
    assert optim.clip_by_global_norm([grad], 1.0) == 0.0
    np.testing.assert_array_equal(grad, 0.0)
