"""dense_stack_forward: the NumPy reference's own paths, and the Numba twin against it."""

import itertools

import numpy as np
import pytest

from tinynn.kernels import numpy_ops
from tinynn.kernels.numpy_ops.network import STACK_ACTIVATIONS, stack_layers


def random_stack(dtype, sizes, activations, rng, bias=True):
    """flat params and layout for a stack with the given sizes."""
    pieces, rows, offset = [], [], 0
    for (n_in, n_out), name in zip(itertools.pairwise(sizes), activations, strict=True):
        W = rng.normal(size=n_in * n_out) / np.sqrt(n_in)
        b = rng.normal(size=n_out) if bias else np.zeros(0)
        rows.append(
            (offset, offset + W.size if bias else -1, n_in, n_out, STACK_ACTIVATIONS.index(name))
        )
        pieces += [W, b]
        offset += W.size + b.size
    flat = np.concatenate(pieces).astype(dtype)
    return flat, np.array(rows, dtype=np.int64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
def test_one_sample_path_matches_the_batched_rows(dtype, bias):
    """A single sample runs as vectors (np.dot, 1-D reductions); a batch as matrices."""
    rng = np.random.default_rng(3)
    sizes = [13, 21, 8, 8, 8, 8, 8, 8, 6]
    flat, layout = random_stack(dtype, sizes, STACK_ACTIVATIONS, rng, bias)
    alphas = np.full(len(layout), 0.3, dtype=dtype)
    layers = stack_layers(flat, layout, alphas)
    x = np.asfortranarray(rng.normal(size=(5, 13)).astype(dtype))  # rows are strided
    scratch = np.empty(len(x) * sum(sizes[1:]), dtype)
    batched = numpy_ops.dense_stack_forward(x, flat, layout, alphas, scratch).copy()
    tolerance = 1e-6 if dtype == "float32" else 1e-13
    for row, expected in zip(x, batched, strict=True):
        for given in (None, layers):
            one = numpy_ops.dense_stack_forward(row[None], flat, layout, alphas, scratch, given)
            assert one.shape == (1, 6)
            np.testing.assert_allclose(one[0], expected, rtol=tolerance, atol=tolerance)


def test_precomputed_layers_are_views_that_follow_the_buffer():
    rng = np.random.default_rng(4)
    flat, layout = random_stack("float64", [5, 4, 3], ["relu", "softmax"], rng)
    alphas = np.zeros(2)
    layers = stack_layers(flat, layout, alphas)
    assert all(np.shares_memory(W, flat) and np.shares_memory(b, flat) for W, b, *_ in layers)
    assert [(name, W.shape) for W, _, name, _ in layers] == [("relu", (5, 4)), ("softmax", (4, 3))]
    x = rng.normal(size=(2, 5))
    scratch = np.empty(2 * 7)
    flat *= 0.5  # an optimizer step updates the buffer in place
    given = numpy_ops.dense_stack_forward(x, flat, layout, alphas, scratch, layers).copy()
    fresh = numpy_ops.dense_stack_forward(x, flat, layout, alphas, scratch)
    np.testing.assert_array_equal(given, fresh)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch", [1, 2, 4, 9])
@pytest.mark.parametrize("bias", [True, False])
def test_numba_stack_matches_numpy(dtype, batch, bias):
    numba_ops = pytest.importorskip("tinynn.kernels.numba_ops")
    rng = np.random.default_rng(batch)
    sizes = [13, 21, 8, 8, 8, 8, 8, 8, 6]
    flat, layout = random_stack(dtype, sizes, STACK_ACTIVATIONS, rng, bias)
    alphas = np.full(len(layout), 0.3, dtype=dtype)
    x = rng.normal(size=(batch, 13)).astype(dtype)
    scratch_a = np.empty(batch * sum(sizes[1:]), dtype)
    scratch_b = np.empty_like(scratch_a)
    expected = numpy_ops.dense_stack_forward(x, flat, layout, alphas, scratch_a)
    got = numba_ops.dense_stack_forward(x, flat, layout, alphas, scratch_b)
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def test_activation_numbering_is_shared():
    pytest.importorskip("tinynn.kernels.numba_ops")
    from tinynn.kernels.numba_ops.activations import ACTIVATION_CODES

    assert [ACTIVATION_CODES[name] for name in STACK_ACTIVATIONS] == list(range(8))
