"""The Numba backend against its references: every kernel, both dtypes, odd shapes.

As numbagg's ``conftest.py`` maps each kernel to its reference implementations, the ``twin``
fixture maps each public kernel name to ``(reference_fn, numba_fn)``. The reference is the
maths in the classes where there is a class (``REFERENCES``: an activation's ``forward`` and
``backward``, Dense's step, a loss's ``forward``), and the NumPy backend's function of the same
name otherwise. ``CASES[name]`` builds the
arguments of one or more calls (an optimizer case is several steps sharing its state); both
backends run on copies of the same arguments, and then every return value and every array
argument (the in-place outputs) must agree to a normwise relative error of 1e-5 in float32 and
1e-12 in float64: max|numba − numpy| <= rtol · max|numpy|.

The kernels compile on first use and are cached on disk, so only the first run is slow.
"""

from __future__ import annotations

import copy
import math
import zlib

import numpy as np
import pytest

pytest.importorskip("numba")

from tinynn import activations, losses
from tinynn.kernels import get_backend, numpy_ops
from tinynn.kernels.numba_ops import activation_jit as numba_activations
from tinynn.layers.conv import conv_geometry
from tinynn.layers.dense import dense_step_backward, dense_step_forward

numba_ops = get_backend("numba")

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]
ACTIVATIONS = sorted(numba_activations.ACTIVATION_CODES)  # those with a compiled twin


def _act(name):
    return activations.get(name)


# --- the references with a class of their own, in the twins' signatures ---------------------


def _reference_activation_forward(activation, x, out):
    return activation.forward(x, out=out)


def _reference_activation_backward(activation, y, grad, out):
    activation.y = y  # the output its forward would have cached
    return activation.backward(grad, out=out)


def _reference_dense_forward(x, W, b, activation, out):
    return dense_step_forward(numpy_ops, activation, x, W, b, out)


def _reference_dense_backward(x, W, y, grad_y, activation, grad_W, grad_b, grad_z, grad_x):
    if activation is not None:
        activation.y = y
    else:  # the reference uses dL/dy itself as dL/dz; the twin writes it into grad_z
        grad_z[...] = grad_y
    dense_step_backward(numpy_ops, activation, x, W, y, grad_y, grad_W, grad_b, grad_z, grad_x)


def _loss_reference(loss_class):
    def reference(logits, targets, grad_out):
        loss = loss_class(from_logits=True)
        value = loss.forward(logits, targets)
        grad_out[...] = loss.backward()
        return value

    return reference


REFERENCES = {
    "activation_forward": _reference_activation_forward,
    "activation_backward": _reference_activation_backward,
    "dense_forward": _reference_dense_forward,
    "dense_backward": _reference_dense_backward,
    "softmax_cross_entropy": _loss_reference(losses.CategoricalCrossentropy),
    "sparse_softmax_cross_entropy": _loss_reference(losses.SparseCategoricalCrossentropy),
    "sigmoid_cross_entropy": _loss_reference(losses.BinaryCrossentropy),
}
# Odd shapes: one sample, one unit, a batch that is not a power of two, a 3-D array, and one
# big enough (> 4096 elements) to take the NumPy-ufunc route for tanh/elu/softmax.
ACTIVATION_SHAPES = [(1, 1), (33, 7), (5, 1), (2, 3, 4), (70, 64)]
DENSE_SHAPES = [(1, 3, 4), (33, 5, 7), (8, 6, 1), (40, 9, 130)]  # (batch, n_in, units)


def _unset(shape, dtype):
    """An output buffer full of NaN, so that an element a kernel forgets to write shows."""
    return np.full(shape, np.nan, dtype)


def _unset_like(a):
    return _unset(a.shape, a.dtype)


def _normal(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


# --- argument builders: (rng, dtype) -> list of argument tuples, one tuple per call ---------


def _activation_forward_cases(rng, dtype):
    cases = []
    for name in ACTIVATIONS:
        for shape in ACTIVATION_SHAPES:
            x = _normal(rng, shape, dtype, 3.0)
            cases.append((_act(name), x, _unset_like(x)))
        extreme = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 3.0]], dtype=dtype)
        cases.append((_act(name), extreme, _unset_like(extreme)))
        in_place = _normal(rng, (6, 5), dtype)
        cases.append((_act(name), in_place, in_place))  # out is x
    return [[case] for case in cases]


def _activation_backward_cases(rng, dtype):
    cases = []
    for name in ACTIVATIONS:
        for shape in ACTIVATION_SHAPES:
            x = _normal(rng, shape, dtype, 3.0)
            y = _act(name).forward(x)
            grad = _normal(rng, shape, dtype)
            cases.append((_act(name), y, grad, _unset_like(x)))
        cases.append((_act(name), y, grad, grad))  # out is grad
    return [[case] for case in cases]


def _dense_arrays(rng, dtype, batch, n_in, units):
    x = _normal(rng, (batch, n_in), dtype)
    W = _normal(rng, (n_in, units), dtype, 1.0 / math.sqrt(n_in))
    b = _normal(rng, (units,), dtype, 0.5)
    return x, W, b


def _dense_forward_cases(rng, dtype):
    cases = []
    for name in [*ACTIVATIONS, None]:  # None: the logits a fused loss takes
        for batch, n_in, units in DENSE_SHAPES:
            x, W, b = _dense_arrays(rng, dtype, batch, n_in, units)
            out = _unset((batch, units), dtype)
            activation = None if name is None else _act(name)
            cases.append([(x, W, b, activation, out)])
            cases.append([(x, W, None, copy.deepcopy(activation), out.copy())])
    return cases


def _dense_backward_cases(rng, dtype):
    cases = []
    for name in [*ACTIVATIONS, None]:
        for batch, n_in, units in DENSE_SHAPES:
            x, W, b = _dense_arrays(rng, dtype, batch, n_in, units)
            activation = None if name is None else _act(name)
            y = _reference_dense_forward(x, W, b, activation, _unset((batch, units), dtype))
            grad_y = _normal(rng, y.shape, dtype)
            options = [(True, True, True), (False, False, True), (True, False, True)]
            options.append((True, True, False))  # a frozen layer: no dL/dW
            for with_bias, with_grad_x, with_grad_W in options:
                grad_b = _unset_like(b) if with_bias else None
                grad_x = _unset_like(x) if with_grad_x else None
                grad_W = _unset_like(W) if with_grad_W else None
                call = (x, W, y, grad_y, copy.deepcopy(activation), grad_W, grad_b)
                cases.append([(*call, _unset_like(y), grad_x)])
    return cases


def _logit_batches(rng, dtype):
    """(batch, classes) logits: ordinary, one class, one sample, and extreme but finite."""
    batches = [_normal(rng, shape, dtype, 3.0) for shape in [(33, 10), (4, 1), (1, 5)]]
    batches.append(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 1.0, -1e4]], dtype))
    return batches


def _softmax_cross_entropy_cases(rng, dtype):
    cases = []
    for logits in _logit_batches(rng, dtype):
        n, classes = logits.shape
        one_hot = np.eye(classes, dtype=dtype)[rng.integers(0, classes, n)]
        soft = rng.random(logits.shape).astype(dtype)
        soft /= soft.sum(axis=1, keepdims=True)
        for targets in (one_hot, soft):
            cases.append([(logits, targets, _unset_like(logits))])
    return cases


def _sparse_softmax_cross_entropy_cases(rng, dtype):
    cases = []
    for logits in _logit_batches(rng, dtype):
        for label_dtype in (np.int64, np.int32, np.uint8):
            labels = rng.integers(0, logits.shape[1], logits.shape[0]).astype(label_dtype)
            cases.append([(logits, labels, _unset_like(logits))])
    return cases


def _sigmoid_cross_entropy_cases(rng, dtype):
    cases = []
    for shape in [(1, 1), (33, 1), (4, 5), (2, 3, 4)]:
        logits = _normal(rng, shape, dtype, 4.0)
        targets = rng.random(shape).astype(dtype)
        cases.append([(logits, targets, _unset_like(logits))])
    extreme = np.array([[1e4], [-1e4], [0.0], [1e4]], dtype)
    cases.append([(extreme, np.array([[1.0], [0.0], [1.0], [0.0]], dtype), extreme.copy())])
    return cases


def _gather_rows_cases(rng, dtype):
    cases = []
    for sample_shape in [(), (6,), (3, 2, 2)]:
        source = _normal(rng, (50, *sample_shape), dtype)
        for indices in (rng.permutation(50)[:33], np.array([49, -1, 0, -50]), np.array([7])):
            out = _unset((len(indices), *sample_shape), dtype)
            cases.append([(source, indices.astype(np.int64), out)])
    return cases


def _state(shape, dtype, used):
    return np.zeros(shape, dtype) if used else np.empty(0, dtype)


def _steps(rng, dtype, shape, n_steps, make_args):
    """n_steps calls of one optimizer on one parameter: the state arrays are shared."""
    param = _normal(rng, shape, dtype)
    return [make_args(param, _normal(rng, shape, dtype), step) for step in range(1, n_steps + 1)]


def _sgd_update_cases(rng, dtype):
    cases = []
    options = [
        (0.0, 0.0, False, 0.0),
        (0.9, 0.0, False, 0.0),
        (0.9, 0.1, False, 0.01),
        (0.9, 0.0, True, 0.0),
        (0.5, 0.0, True, 0.01),
        (0.0, 0.0, False, 0.01),
    ]
    for momentum, dampening, nesterov, weight_decay in options:
        for shape in [(3, 4), (1,), (2, 3, 2)]:
            buf = _state(shape, dtype, momentum != 0)

            def args(
                param, grad, step, buf=buf, m=momentum, d=dampening, n=nesterov, wd=weight_decay
            ):
                return (param, grad, buf, 0.1, m, d, n, wd, step == 1)

            cases.append(_steps(rng, dtype, shape, 4, args))
    return cases


def _rmsprop_update_cases(rng, dtype):
    cases = []
    for centered in (False, True):
        for momentum in (0.0, 0.9):
            for weight_decay in (0.0, 0.01):
                shape = (5, 3)
                square_avg = np.zeros(shape, dtype)
                grad_avg = _state(shape, dtype, centered)
                buf = _state(shape, dtype, momentum > 0)

                def args(
                    param,
                    grad,
                    step,
                    s=square_avg,
                    a=grad_avg,
                    b=buf,
                    m=momentum,
                    wd=weight_decay,
                    c=centered,
                ):
                    return (param, grad, s, a, b, 0.01, 0.9, 1e-7, wd, m, c)

                cases.append(_steps(rng, dtype, shape, 4, args))
    return cases


def _adam_update_cases(rng, dtype):
    cases = []
    for amsgrad in (False, True):
        for weight_decay, decoupled in [(0.0, False), (0.01, False), (0.01, True)]:
            for shape in [(4, 3), (1,)]:
                m, v = np.zeros(shape, dtype), np.zeros(shape, dtype)
                v_max = _state(shape, dtype, amsgrad)

                def args(
                    param,
                    grad,
                    step,
                    m=m,
                    v=v,
                    v_max=v_max,
                    a=amsgrad,
                    wd=weight_decay,
                    dec=decoupled,
                ):
                    return (param, grad, m, v, v_max, 1e-2, 0.9, 0.999, 1e-7, wd, a, step, dec)

                cases.append(_steps(rng, dtype, shape, 4, args))
    return cases


def _gradients(rng, dtype, scale=1.0):
    return [_normal(rng, shape, dtype, scale) for shape in [(3, 4), (7,), (1, 1)]]


def _clip_by_value_cases(rng, dtype):
    return [[(grad, 0.5)] for grad in _gradients(rng, dtype)]


def _clip_by_norm_cases(rng, dtype):
    # A huge limit leaves the gradient alone; a small one rescales it.
    return [[(grad, limit)] for grad in _gradients(rng, dtype) for limit in (0.1, 1e6)]


def _l2_norm_cases(rng, dtype):
    return [[(grad,)] for grad in _gradients(rng, dtype, 10.0)]


def _global_norm_cases(rng, dtype):
    return [[(_gradients(rng, dtype),)]]


def _clip_by_global_norm_cases(rng, dtype):
    return [[(_gradients(rng, dtype), limit)] for limit in (0.5, 1e6)]


#: kernel name -> argument builder. Every public kernel of the backend must be here.
# --- image kernels (conv, depthwise, pooling): shapes from the layers' own geometry ----------


# (channels, kernel, strides, dilation, padding) on 7×6 images; one channel takes the NumPy
# path inside the Numba im2col/col2im.
_CONV_GEOMETRIES = [
    (3, (3, 3), (1, 1), (1, 1), "valid"),
    (4, (3, 2), (2, 1), (1, 2), "same"),
    (1, (3, 3), (1, 1), (1, 1), "same"),
]
# (channels, window, strides, padding)
_POOL_GEOMETRIES = [
    (3, (2, 2), (2, 2), "valid"),
    (2, (3, 2), (1, 2), "same"),
    (1, (3, 3), (2, 2), "same"),
]


def _conv_geometries(rng, dtype):
    for channels, kernel, strides, dilation, padding in _CONV_GEOMETRIES:
        out_hw, pads = conv_geometry((7, 6), kernel, strides, dilation, padding)
        yield _normal(rng, (2, 7, 6, channels), dtype), kernel, strides, dilation, pads, out_hw


def _pool_geometries(rng, dtype):
    for channels, window, strides, padding in _POOL_GEOMETRIES:
        out_hw, pads = conv_geometry((7, 6), window, strides, (1, 1), padding)
        yield _normal(rng, (2, 7, 6, channels), dtype), window, strides, pads, out_hw


def _im2col_cases(rng, dtype):
    return [
        [(x, k, s, d, p, _unset((2, *hw, k[0] * k[1] * x.shape[3]), dtype))]
        for x, k, s, d, p, hw in _conv_geometries(rng, dtype)
    ]


def _col2im_cases(rng, dtype):
    return [
        [(_normal(rng, (2, *hw, k[0] * k[1] * x.shape[3]), dtype), k, s, d, p, _unset_like(x))]
        for x, k, s, d, p, hw in _conv_geometries(rng, dtype)
    ]


def _depthwise_conv2d_forward_cases(rng, dtype):
    return [
        [
            (
                x,
                _normal(rng, (*k, x.shape[3], m), dtype),
                s,
                d,
                p,
                _unset((2, *hw, x.shape[3] * m), dtype),
            )
        ]
        for x, k, s, d, p, hw in _conv_geometries(rng, dtype)
        for m in (1, 2)
    ]


def _depthwise_conv2d_backward_cases(rng, dtype):
    cases = []
    for x, k, s, d, p, hw in _conv_geometries(rng, dtype):
        W = _normal(rng, (*k, x.shape[3], 2), dtype)
        g = _normal(rng, (2, *hw, x.shape[3] * 2), dtype)
        cases.append([(x, W, g, s, d, p, _unset_like(W), _unset_like(x))])
        cases.append([(x, W, g, s, d, p, _unset_like(W), None)])  # first layer: no dL/dx
    return cases


def _max_pool2d_forward_cases(rng, dtype):
    return [
        [
            (
                x,
                w,
                s,
                p,
                _unset((2, *hw, x.shape[3]), dtype),
                np.full((2, *hw, x.shape[3]), -1, np.int8),
            )
        ]
        for x, w, s, p, hw in _pool_geometries(rng, dtype)
    ]


def _max_pool2d_backward_cases(rng, dtype):
    cases = []
    for x, w, s, p, hw in _pool_geometries(rng, dtype):
        y, argmax = np.empty((2, *hw, x.shape[3]), dtype), np.empty((2, *hw, x.shape[3]), np.int8)
        numpy_ops.max_pool2d_forward(x, w, s, p, y, argmax)  # a valid argmax to route by
        cases.append([(_normal(rng, y.shape, dtype), argmax, w, s, p, _unset_like(x))])
    return cases


def _avg_pool2d_forward_cases(rng, dtype):
    return [
        [(x, w, s, p, _unset((2, *hw, x.shape[3]), dtype))]
        for x, w, s, p, hw in _pool_geometries(rng, dtype)
    ]


def _avg_pool2d_backward_cases(rng, dtype):
    return [
        [(_normal(rng, (2, *hw, x.shape[3]), dtype), w, s, p, _unset_like(x))]
        for x, w, s, p, hw in _pool_geometries(rng, dtype)
    ]


IMAGE_CASES = {
    "im2col": _im2col_cases,
    "col2im": _col2im_cases,
    "depthwise_conv2d_forward": _depthwise_conv2d_forward_cases,
    "depthwise_conv2d_backward": _depthwise_conv2d_backward_cases,
    "max_pool2d_forward": _max_pool2d_forward_cases,
    "max_pool2d_backward": _max_pool2d_backward_cases,
    "avg_pool2d_forward": _avg_pool2d_forward_cases,
    "avg_pool2d_backward": _avg_pool2d_backward_cases,
}


CASES = {
    "activation_forward": _activation_forward_cases,
    "activation_backward": _activation_backward_cases,
    "dense_forward": _dense_forward_cases,
    "dense_backward": _dense_backward_cases,
    "softmax_cross_entropy": _softmax_cross_entropy_cases,
    "sparse_softmax_cross_entropy": _sparse_softmax_cross_entropy_cases,
    "sigmoid_cross_entropy": _sigmoid_cross_entropy_cases,
    "gather_rows": _gather_rows_cases,
    "sgd_update": _sgd_update_cases,
    "rmsprop_update": _rmsprop_update_cases,
    "adam_update": _adam_update_cases,
    "clip_by_value": _clip_by_value_cases,
    "clip_by_norm": _clip_by_norm_cases,
    "l2_norm": _l2_norm_cases,
    "global_norm": _global_norm_cases,
    "clip_by_global_norm": _clip_by_global_norm_cases,
    **IMAGE_CASES,
}


@pytest.fixture(params=sorted(CASES))
def twin(request):
    """(name, reference_fn, numba_fn) for each public kernel."""
    name = request.param
    reference = REFERENCES.get(name) or getattr(numpy_ops, name)
    return name, reference, getattr(numba_ops, name)


# --- comparing -----------------------------------------------------------------------------


def _arrays_and_numbers(value):
    """Every array and float in a (nested) argument list or return value, in order."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (list, tuple)):
        return [item for part in value for item in _arrays_and_numbers(part)]
    if isinstance(value, float):
        return [np.array(value)]
    return []


def assert_numbers_agree(actual, expected, dtype, what=""):
    """Compare the Python floats among the returned values (returned arrays are ``out``
    arguments, which are compared as arrays)."""
    numbers = [
        [value for value in values if isinstance(value, float)] for values in (actual, expected)
    ]
    for a, e in zip(*numbers, strict=True):
        assert abs(float(a) - float(e)) <= RTOL[dtype] * abs(float(e)), f"{what}: {a} vs {e}"


def assert_twins_agree(actual, expected, dtype, what=""):
    for a, e in zip(_arrays_and_numbers(actual), _arrays_and_numbers(expected), strict=True):
        assert a.shape == e.shape, what
        if not np.issubdtype(e.dtype, np.floating):
            np.testing.assert_array_equal(a, e, err_msg=what)
            continue
        assert a.dtype == e.dtype, what
        scale = float(np.max(np.abs(e))) if e.size else 0.0
        error = float(np.max(np.abs(a.astype(np.float64) - e))) if e.size else 0.0
        assert error <= RTOL[dtype] * scale, f"{what}: error {error:.3g} vs scale {scale:.3g}"


def run_twins(numpy_fn, numba_fn, calls):
    """Run both backends on deep copies of ``calls`` (shared state stays shared); return
    (numpy results and arguments, numba results and arguments)."""
    runs = []
    for fn in (numpy_fn, numba_fn):
        calls_copy = copy.deepcopy(calls)
        results = [fn(*args) for args in calls_copy]
        runs.append((results, calls_copy))
    return runs


def _to_float64(value):
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return value.astype(np.float64)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_float64(item) for item in value)
    return value


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_numba_kernel_agrees_with_its_numpy_twin(twin, dtype):
    """Arrays are compared with the NumPy twin in the same dtype. Returned numbers (losses,
    norms) are compared with the twin run in float64 on the same values: the Numba kernels sum
    in float64 and never subtract two large numbers, so in float32 they are *more* accurate
    than the NumPy twin, whose loss at logits of ±1e4 is off by ~1e-4 (cancellation)."""
    name, numpy_fn, numba_fn = twin
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    for index, calls in enumerate(CASES[name](rng, dtype)):
        (_, np_args), (nb_results, nb_args) = run_twins(numpy_fn, numba_fn, calls)
        reference_results = [numpy_fn(*args) for args in _to_float64(copy.deepcopy(calls))]
        what = f"{name} case {index}"
        assert_twins_agree(nb_args, np_args, dtype, what + " (arrays written)")
        assert_numbers_agree(nb_results, reference_results, dtype, what + " (returned)")


def test_every_public_kernel_is_compared():
    functions = {
        name
        for name in numba_ops.__all__
        if callable(getattr(numba_ops, name)) and not isinstance(getattr(numba_ops, name), type)
    }
    # normalization has no twin: the backend hands out the NumPy functions themselves
    assert numba_ops.normalize_forward is numpy_ops.normalize_forward
    assert functions - {"fuses", "normalize_forward", "normalize_backward"} == set(CASES)


# --- the compiled loops themselves, including those the wrappers hand to NumPy -------------


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_compiled_bias_activation_pass_matches_the_class(name, dtype):
    """tanh, elu and softmax usually run through NumPy in the Numba backend (config.py);
    their compiled single pass must still be right."""
    rng = np.random.default_rng(1)
    code = numba_activations.activation_code(name)
    alpha = _act(name).alpha
    z, bias = _normal(rng, (70, 64), dtype, 3.0), _normal(rng, (64,), dtype)
    out = _unset_like(z)
    numba_activations.bias_activation_forward(z, bias, code, dtype(alpha), out)
    reference = _act(name)
    expected = reference.forward(z + bias)
    assert_twins_agree(out, expected, dtype, name)

    grad, grad_bias = _normal(rng, z.shape, dtype), _unset_like(bias)
    numba_activations.activation_backward_bias(expected, grad, code, dtype(alpha), out, grad_bias)
    expected_grad = reference.backward(grad)
    assert_twins_agree([out, grad_bias], [expected_grad, expected_grad.sum(axis=0)], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("batch", [1, 3, 33])
def test_dense_stack_matches_the_layers_one_by_one(batch, dtype):
    """Three layers (the last without bias), for a batch of one, a small batch (compiled
    products) and a large one (BLAS), against Dense's reference step layer by layer."""
    rng = np.random.default_rng(batch)
    sizes = [(9, 12, "tanh", True), (12, 7, "leaky_relu", True), (7, 5, "softmax", False)]
    layers = []
    for n_in, n_out, name, use_bias in sizes:
        W = _normal(rng, (n_in, n_out), dtype, 1.0 / math.sqrt(n_in))
        b = _normal(rng, (n_out,), dtype, 0.5) if use_bias else None
        layers.append((W, b, _act(name)))
    x = _normal(rng, (batch, 9), dtype)
    stack = numba_ops.DenseStack(layers)
    got = stack.forward(x, _unset(batch * stack.width, dtype))
    expected = x
    for W, b, activation in layers:
        expected = _reference_dense_forward(expected, W, b, activation, None)
    assert_twins_agree(got, expected, dtype, f"batch {batch}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_optimizer_steps_agree_to_the_bit(dtype):
    """Same float operations in the same order: no rounding difference at all."""
    rng = np.random.default_rng(2)
    for name in ("sgd_update", "rmsprop_update", "adam_update"):
        for calls in CASES[name](rng, dtype):
            runs = run_twins(getattr(numpy_ops, name), getattr(numba_ops, name), calls)
            (_, np_args), (_, nb_args) = runs
            for a, e in zip(
                _arrays_and_numbers(nb_args), _arrays_and_numbers(np_args), strict=True
            ):
                np.testing.assert_array_equal(a, e, err_msg=name)


# --- outputs that are not contiguous -------------------------------------------------------


def test_outputs_that_are_strided_views_are_written_in_place():
    rng = np.random.default_rng(3)
    x = _normal(rng, (6, 5), np.float64)
    out = np.zeros((6, 10))[:, ::2]  # a view that cannot be reshaped without a copy
    numba_ops.activation_forward(_act("relu"), x, out)
    np.testing.assert_array_equal(out, np.maximum(x, 0.0))

    source = _normal(rng, (20, 8), np.float64)[:, ::2]  # gathered by NumPy: no 2-D view
    indices = np.array([3, 0, -1])
    np.testing.assert_array_equal(
        numba_ops.gather_rows(source, indices, np.empty((3, 4))), source[indices]
    )

    grad = np.zeros((4, 6)).T  # Fortran-ordered: a flat view would be a copy
    grad[...] = _normal(rng, grad.shape, np.float64, 3.0)
    expected = np.clip(grad, -0.5, 0.5)
    numba_ops.clip_by_value(grad, 0.5)
    np.testing.assert_array_equal(grad, expected)


def test_optimizer_updates_parameters_that_are_views_of_one_flat_buffer():
    rng = np.random.default_rng(4)
    flat_param, flat_grad = _normal(rng, 17, np.float32), _normal(rng, 17, np.float32)
    flat_m, flat_v = np.zeros(17, np.float32), np.zeros(17, np.float32)
    expected = flat_param.copy()
    numpy_ops.adam_update(
        expected,
        flat_grad,
        flat_m.copy(),
        flat_v.copy(),
        np.empty(0),
        1e-2,
        0.9,
        0.999,
        1e-7,
        0.0,
        False,
        1,
        False,
    )
    # W (3, 4) and b (5,) are views into the flat buffers, as a model's parameters will be.
    for start, shape in [(0, (3, 4)), (12, (5,))]:
        stop = start + math.prod(shape)
        views = [a[start:stop].reshape(shape) for a in (flat_param, flat_grad, flat_m, flat_v)]
        numba_ops.adam_update(
            *views, np.empty(0, np.float32), 1e-2, 0.9, 0.999, 1e-7, 0.0, False, 1, False
        )
    np.testing.assert_array_equal(flat_param, expected)


# --- errors instead of reads past the end of an array --------------------------------------


def test_shape_mismatches_are_value_errors():
    x, W = np.ones((4, 3)), np.ones((3, 2))
    with pytest.raises(ValueError, match=r"b has shape \(3,\); expected \(2,\)"):
        numba_ops.dense_forward(x, W, np.ones(3), _act("relu"), np.empty((4, 2)))
    with pytest.raises(ValueError, match="out has shape"):
        numba_ops.activation_forward(_act("relu"), x, np.empty((4, 2)))
    with pytest.raises(ValueError, match="grad_out has shape"):
        numba_ops.softmax_cross_entropy(x, x, np.empty((3, 3)))
    with pytest.raises(ValueError, match="exp_avg_sq has 2 elements; expected 3"):
        p = np.ones(3)
        numba_ops.adam_update(
            p, p, np.zeros(3), np.zeros(2), np.empty(0), 0.1, 0.9, 0.999, 1e-7, 0.0, False, 1, False
        )
    with pytest.raises(ValueError, match="momentum_buffer has 0 elements"):
        numba_ops.sgd_update(np.ones(3), np.ones(3), np.empty(0), 0.1, 0.9, 0.0, False, 0.0, True)


def test_only_built_in_activations_and_from_logits_losses_are_fused():
    class Swish(activations.ActivationFunction):
        pass

    class MyReLU(activations.ReLU):  # a subclass may override the maths: run its own code
        pass

    assert numba_ops.fuses(activations.ReLU()) and numba_ops.fuses(activations.Softmax())
    assert not numba_ops.fuses(Swish()) and not numba_ops.fuses(MyReLU())
    assert numba_ops.fuses(losses.CategoricalCrossentropy(from_logits=True))
    assert not numba_ops.fuses(losses.CategoricalCrossentropy())
    assert not numba_ops.fuses(losses.MeanSquaredError())
    assert not numpy_ops.fuses(activations.ReLU())
    with pytest.raises(ValueError, match=r"expected one of.*leaky_relu"):
        numba_ops.activation_forward(Swish(), np.zeros((2, 2)), np.zeros((2, 2)))


def test_out_of_range_labels_and_indices_are_index_errors():
    logits = np.zeros((3, 4))
    with pytest.raises(IndexError, match=r"labels must be in \[0, 4\); got \[4\]"):
        numba_ops.sparse_softmax_cross_entropy(logits, np.array([0, 4, 1]), np.empty((3, 4)))
    with pytest.raises(IndexError, match=r"got \[-1\]"):
        numba_ops.sparse_softmax_cross_entropy(logits, np.array([0, -1, 1]), np.empty((3, 4)))
    with pytest.raises(IndexError, match=r"indices must be in \[-3, 3\); got \[3\]"):
        numba_ops.gather_rows(logits, np.array([3]), np.empty((1, 4)))


# --- settings ------------------------------------------------------------------------------


def test_settings_default_to_cached_serial_exact_kernels():
    from tinynn.kernels.numba_ops.config import read_settings

    settings = read_settings({})
    assert (settings.cache, settings.fastmath, settings.parallel) == (True, False, False)
    assert settings.jit_options()["error_model"] == "numpy"
    assert read_settings({"TINYNN_NUMBA_CACHE": "0"}).cache is False
    assert read_settings({"TINYNN_NUMBA_CACHE": " Off "}).cache is False
    assert read_settings({"TINYNN_NUMBA_CACHE": "1"}).cache is True
