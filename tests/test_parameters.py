"""The parameter store: arrays allocated once, side by side, never moved."""

import numpy as np
import pytest

from tinynn import layers
from tinynn.models import Sequential
from tinynn.parameters import ALIGNMENT, MIN_BLOCK, ParameterStore, contiguous_runs


def test_allocations_are_zeroed_views_side_by_side_in_one_block():
    store = ParameterStore()
    W, grad_W = store.allocate((3, 4), np.float32)
    b, _ = store.allocate((4,), np.float32)
    assert W.shape == grad_W.shape == (3, 4) and b.shape == (4,)
    assert not W.any() and not grad_W.any()
    assert len(store.blocks) == 1
    assert b.__array_interface__["data"][0] == W.__array_interface__["data"][0] + W.nbytes
    assert store.blocks[0].params.__array_interface__["data"][0] % ALIGNMENT == 0
    assert store.used_bytes == 16 * 4


def test_a_request_that_does_not_fit_opens_a_new_block_and_moves_nothing():
    store = ParameterStore()
    first, _ = store.allocate((MIN_BLOCK - 1,), np.float64)
    first[...] = 7.0
    second, _ = store.allocate((10,), np.float64)
    assert len(store.blocks) == 2 and np.all(first == 7.0)
    assert not np.shares_memory(first, second)
    assert store.reserved_bytes >= 2 * (MIN_BLOCK + 10) * 8


def test_dtypes_get_blocks_of_their_own():
    store = ParameterStore()
    a, _ = store.allocate((3,), np.float32)
    b, _ = store.allocate((3,), np.float64)
    assert a.dtype == np.float32 and b.dtype == np.float64 and len(store.blocks) == 2


def test_a_model_hands_its_store_to_its_layers():
    model = Sequential([layers.Input((5,)), layers.Dense(4), layers.Dense(3)], seed=0)
    params = [param for param, _ in model.parameters()]
    assert all(
        any(np.shares_memory(p, block.params) for block in model.store.blocks) for p in params
    )
    assert len(contiguous_runs(list(model.parameters()))) == 1


def test_contiguous_runs_follow_memory_not_order_of_creation():
    store = ParameterStore()
    pairs = [store.allocate(shape, np.float32) for shape in [(2, 3), (3,), (4,)]]
    loose = (np.zeros(2, np.float32), np.zeros(2, np.float32))
    runs = contiguous_runs([pairs[0], pairs[1], loose, pairs[2]])
    assert [indices for _, _, indices in runs] == [[0, 1], [2], [3]]
    flat_params, _, _ = runs[0]
    assert flat_params.shape == (9,) and np.shares_memory(flat_params, pairs[0][0])
    flat_params[...] = 1.0
    assert np.all(pairs[1][0] == 1.0)
    # a gap (a parameter left out, e.g. frozen) splits a run
    assert len(contiguous_runs([pairs[0], pairs[2]])) == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_block_starts_on_a_cache_line(dtype):
    store = ParameterStore()
    for size in (5, MIN_BLOCK, 3):
        store.allocate((size,), dtype)
    for block in store.blocks:
        assert block.params.ctypes.data % ALIGNMENT == 0
        assert block.grads.ctypes.data % ALIGNMENT == 0
