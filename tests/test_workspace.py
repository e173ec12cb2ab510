"""Reusable buffers: a compiled model's training steps allocate no array memory."""

import tracemalloc

import numpy as np
import pytest

from tinynn import layers, training
from tinynn.models import Sequential
from tinynn.workspace import borrow


def test_borrow_without_a_workspace_allocates_fresh_arrays():
    a = borrow(None, "y", (4, 3), np.float32)
    b = borrow(None, "y", (4, 3), np.float32)
    assert a.shape == (4, 3) and a.dtype == np.float32 and not np.shares_memory(a, b)


def test_borrow_reuses_and_serves_smaller_batches_as_views():
    workspace = {}
    full = borrow(workspace, "y", (8, 3), np.float64)
    partial = borrow(workspace, "y", (5, 3), np.float64)
    assert np.shares_memory(full, partial) and partial.shape == (5, 3)
    assert partial.flags["C_CONTIGUOUS"]
    bigger = borrow(workspace, "y", (9, 3), np.float64)
    assert bigger.shape == (9, 3) and not np.shares_memory(bigger, full)
    other_dtype = borrow(workspace, "y", (9, 3), np.float32)
    assert other_dtype.dtype == np.float32


def test_standalone_layers_keep_results_valid_between_calls():
    dense = layers.Dense(3, seed=0)
    first = dense.forward(np.ones((2, 4)))
    kept = first.copy()
    dense.forward(np.zeros((2, 4)))
    np.testing.assert_array_equal(first, kept)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_steps_allocate_no_array_memory_in_steady_state(optimizer):
    pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 64)).astype("float32")
    y = rng.integers(0, 10, size=300)
    model = Sequential(
        [
            layers.Input((64,)),
            layers.Dense(512, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(10, activation="softmax"),
        ],
        seed=0,
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", backend="numba")
    model.fit(x, y, epochs=1, batch_size=128, verbose=0)  # warm up: buffers and compilation
    # One hidden activation of the last, partial batch, in bytes: wide enough that the small
    # Python objects of a step (views, floats, tuples: a few KB) stay far below it.
    smallest_buffer = 44 * 512 * 4

    state = model.train_state
    with state.lend_buffers(model):  # what fit does around its steps
        tracemalloc.start()
        tracemalloc.reset_peak()
        for rows in (slice(0, 128), slice(128, 256), slice(256, 300)) * 5:
            training.train_step(model, state, x[rows], y[rows])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    # Only small Python objects (array views, floats) may appear: never an array's worth.
    assert peak < smallest_buffer / 2, f"steady-state steps allocated up to {peak} bytes"
