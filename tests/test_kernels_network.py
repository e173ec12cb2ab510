"""dense_stack_forward: the Numba twin against the NumPy reference."""

import itertools

import numpy as np
import pytest

from tinynn.kernels import numpy_ops
from tinynn.kernels.numpy_ops.network import STACK_ACTIVATIONS

numba_ops = pytest.importorskip("tinynn.kernels.numba_ops")


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
@pytest.mark.parametrize("batch", [1, 2, 4, 9])
@pytest.mark.parametrize("bias", [True, False])
def test_numba_stack_matches_numpy(dtype, batch, bias):
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
    from tinynn.kernels.numba_ops.activations import ACTIVATION_CODES

    assert [ACTIVATION_CODES[name] for name in STACK_ACTIVATIONS] == list(range(8))
