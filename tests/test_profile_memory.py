"""tinynn.profiling.memory: the training footprint equals what was actually allocated.

The check is tracemalloc's: NumPy reports every array allocation to it under its own domain,
so the bytes of the arrays alive after building, compiling and one training step (those the
test itself holds aside) are compared, to the byte, with the footprint's total. The only
other NumPy allocations a model makes are its random generators' seed pools (16 bytes each),
which the test adds explicitly. Then the split itself is checked against the formulas of a
small MLP.
"""

import gc
import tracemalloc

import numpy as np
import pytest

import tinynn
from tinynn import layers
from tinynn.batches import prepare_data
from tinynn.profiling import training_memory
from tinynn.profiling.memory import MemoryFootprint, format_bytes, model_runners, owner
from tinynn.training import train_step

NUMPY_DOMAIN = np.lib.tracemalloc_domain


def mlp(backend="numpy"):
    model = tinynn.Sequential(
        [
            tinynn.Input((20,)),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(3, activation="softmax"),
        ],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", backend=backend)
    return model


def small_graph(backend="numpy"):
    """Conv, batch norm, pooling, a layer shared by two calls, a merge."""
    inputs = tinynn.Input((8, 8, 1))
    h = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    h = layers.MaxPooling2D(2)(layers.BatchNormalization()(h))
    shared = layers.Dense(5, activation="relu")
    a = shared(layers.Flatten()(h))
    b = shared(layers.Dense(64)(a))
    outputs = layers.Dense(3, activation="softmax")(layers.Add()([a, b]))
    model = tinynn.Model(inputs, outputs, seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", backend=backend)
    return model


def one_step(build, x, y, batch=8):
    """Build and compile, then one training step as fit takes it; the footprint inside."""
    model = build()
    state = model.train_state
    data = prepare_data(model, x, y)
    buffers = {}
    with state.lend_buffers(model):
        x_b, y_b, w_b = data.gather(state.ops, buffers, np.arange(batch))
        train_step(model, state, x_b, y_b, w_b)
        footprint = training_memory(model, buffers.values())
    return model, buffers, footprint


def seed_pools(model):
    """Bytes of the seed pools of every random generator the model created."""
    generators = [model.rng, *(layer.rng for layer in getattr(model, "input_layers", []))]
    for _, layer in model_runners(model):
        generators.append(layer.rng)
    return sum(g.bit_generator.seed_seq.pool.nbytes for g in generators)


CASES = {
    "mlp": (mlp, (16, 20)),
    "graph": (small_graph, (16, 8, 8, 1)),
}


@pytest.mark.parametrize("name", CASES)
def test_footprint_equals_the_numpy_allocations_that_remain(name):
    build, shape = CASES[name]
    rng = np.random.default_rng(0)
    x, y = rng.random(shape, dtype=np.float32), rng.integers(0, 3, shape[0])
    one_step(build, x, y)  # once untraced: modules allocate their constants on first use
    gc.collect()
    tracemalloc.start()
    try:
        model, _buffers, footprint = one_step(build, x, y)  # the buffers stay alive
        gc.collect()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    traces = snapshot.filter_traces([tracemalloc.DomainFilter(True, NUMPY_DOMAIN)]).traces
    allocated = sum(trace.size for trace in traces)
    assert allocated == footprint.total + seed_pools(model)
    assert all(getattr(footprint, part) > 0 for part in ("parameters", "activations"))


def test_the_split_of_an_mlp_follows_its_shapes():
    batch, n_in, hidden, classes = 8, 20, 16, 3
    x = np.random.default_rng(0).random((16, n_in), dtype=np.float32)
    y = np.arange(16) % classes
    model, _, footprint = one_step(mlp, x, y, batch)
    s = 4
    weights = (n_in * hidden + hidden + hidden * classes + classes) * s
    assert footprint.parameters_in_use == weights
    assert footprint.parameters == model.store.reserved_bytes // 2 + 64 * len(model.store.blocks)
    assert footprint.gradients == footprint.parameters
    # Adam: two buffers per trainable value, one flat (64-byte aligned) array each
    assert footprint.optimizer_state == 2 * (weights + 64)
    kept = {
        "dense": batch * n_in * s + batch * hidden * s,  # its input (the batch) and y
        "dropout": batch * hidden * s,  # the scaled mask
        "dense_1": batch * hidden * s + batch * classes * s,  # its input (dropout's y), y
    }
    assert footprint.activations == sum(kept.values())
    assert {k: v["activations"] for k, v in footprint.per_layer.items() if "activations" in v} == (
        kept
    )
    work = {
        "dense": batch * hidden * s,  # dL/dz
        "dropout": 2 * batch * hidden * s,  # the uniforms, dL/dx
        "dense_1": batch * classes * s + batch * hidden * s,  # dL/dz, dL/dx
        "loss": batch * classes * s,  # dL/dy
        "batch": batch * 8,  # the labels
    }
    assert footprint.workspace == sum(work.values())
    assert footprint.total == sum(
        getattr(footprint, part)
        for part in ("parameters", "gradients", "optimizer_state", "activations", "workspace")
    )


def test_numba_backend_footprint_counts_the_same_arrays():
    pytest.importorskip("numba")
    x = np.random.default_rng(0).random((16, 20), dtype=np.float32)
    y = np.arange(16) % 3
    _, _, on_numpy = one_step(mlp, x, y)
    _, _, on_numba = one_step(lambda: mlp("numba"), x, y)
    assert on_numba.to_dict() == on_numpy.to_dict()


def test_before_training_only_parameters_and_gradients_exist():
    footprint = training_memory(mlp())
    assert footprint.parameters > 0 and footprint.gradients == footprint.parameters
    assert footprint.optimizer_state == footprint.activations == footprint.workspace == 0


def test_views_count_as_their_owner_once():
    base = np.zeros(100, np.float32)
    view = base[10:20].reshape(2, 5)
    assert owner(view) is base and owner(base) is base
    footprint = MemoryFootprint(parameters=2_500_000, workspace=500)
    text = footprint.format()
    assert "2.50 MB" in text and "500 B" in text and "total" in text
    assert format_bytes(1234) == "1.2 KB" and format_bytes(3e9) == "3.00 GB"
