"""tinynn.profile: one row per layer and pass, rows that add up, a model left as it was.

No timing is asserted: the machines are shared. The roofline is given (``FIXED``) instead of
measured, except in the one test of ``measure_roofline``, which checks only what it records.
"""

import numpy as np
import pytest

import tinynn
from tinynn import layers
from tinynn.profiling import Profile, Roofline, measure_roofline, profile, random_data
from tinynn.profiling.costs import layer_cost
from tinynn.profiling.results import UNATTRIBUTED, middle_steps
from tinynn.profiling.timing import StepTimer, timing_hooks

FIXED = Roofline(peak_gflops=100.0, bandwidth_gbs=10.0, cpu_model="test CPU")


def mlp(backend="numpy", optimizer="adam"):
    model = tinynn.Sequential(
        [
            tinynn.Input((12,)),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.25),
            layers.Dense(4, activation="softmax"),
        ],
        seed=0,
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", backend=backend)
    return model


def graph():
    """Two branches, a shared layer called twice, a merge."""
    inputs = tinynn.Input((6, 6, 2))
    h = layers.Conv2D(3, 3, padding="same", activation="relu")(inputs)
    h = layers.Flatten()(layers.AveragePooling2D(2)(h))
    shared = layers.Dense(8, activation="tanh")
    a = shared(h)
    b = shared(layers.Dense(27)(a))
    outputs = layers.Dense(3, activation="softmax")(layers.Concatenate()([a, b]))
    model = tinynn.Model(inputs, outputs, seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def rows_by_key(result: Profile) -> dict:
    return {(row.layer, row.pass_name): row for row in result.rows}


def test_sequential_profile_has_a_row_per_layer_and_pass():
    model = mlp()
    x, y = random_data(model, 64)
    result = profile(model, x, y, batch_size=16, steps=4, warmup=1, roofline=FIXED)
    keys = [(row.layer, row.pass_name) for row in result.rows]
    assert keys == [
        ("batch", "gather"),
        ("dense", "forward"),
        ("dropout", "forward"),
        ("dense_1", "forward"),
        ("loss", "forward+backward"),
        ("dense_1", "backward"),
        ("dropout", "backward"),
        ("dense", "backward"),
        ("optimizer", "step"),
        (UNATTRIBUTED, ""),
    ]
    # The rows add up to the step, by construction, and their shares to 1.
    assert sum(row.ms for row in result.rows) == pytest.approx(result.step_ms, rel=1e-12)
    assert sum(row.share for row in result.rows) == pytest.approx(1.0)
    assert result.batch_size == 16 and result.steps == 4 and result.backend == "numpy"
    # Costs are the layers' own: the last Dense stops before its softmax (fused into the loss),
    # and the first computes no dL/dx.
    found = rows_by_key(result)
    dense, last = model.layers[0], model.layers[2]
    assert found[("dense_1", "backward")].cost == layer_cost(last, 16, "backward", logits=True)
    assert found[("dense", "backward")].cost == layer_cost(dense, 16, "backward", False)
    assert found[("dense", "forward")].kind == "Dense"
    assert found[(UNATTRIBUTED, "")].cost is None


def test_roofline_columns_follow_the_costs():
    model = mlp()
    x, y = random_data(model, 64)
    result = profile(model, x, y, batch_size=32, steps=3, warmup=1, roofline=FIXED)
    row = rows_by_key(result)[("dense", "forward")]
    flops, nbytes = row.cost.flops, row.cost.bytes
    assert row.bound_gflops == min(100.0, flops / nbytes * 10.0)
    assert row.roofline_ms == pytest.approx(1e3 * max(flops / 100e9, nbytes / 10e9))
    assert row.percent_of_bound == pytest.approx(100 * row.roofline_ms / row.ms)
    assert row.attained_gflops == pytest.approx(flops / (row.ms / 1e3) / 1e9)
    gather = rows_by_key(result)[("batch", "gather")]
    assert gather.cost.flops == 0 and gather.attained_gflops is None
    assert gather.roofline_ms == pytest.approx(1e3 * gather.cost.bytes / 10e9)
    assert result.roofline_ms == pytest.approx(sum(r.roofline_ms or 0 for r in result.rows))


def test_profile_leaves_the_model_as_it_was_and_unhooked():
    model = mlp()
    x, y = random_data(model, 64)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # some optimizer state to keep
    weights = model.get_weights()
    params = [param for param, _ in model.parameters()]
    before = model.optimizer.state_dict(params)
    objects = [*model.layers, model.optimizer, model.train_state.outputs[0].train_loss]
    attributes = [set(vars(obj)) for obj in objects]
    profile(model, x, y, batch_size=16, steps=3, warmup=1, roofline=FIXED)
    for old, new in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    after = model.optimizer.state_dict(params)
    assert after["iterations"] == before["iterations"] and after["steps"] == before["steps"]
    for old, new in zip(before["state"], after["state"], strict=True):
        for key in old:
            np.testing.assert_array_equal(old[key], new[key])
    assert [set(vars(obj)) for obj in objects] == attributes  # no timer left behind
    assert all(layer.workspace is None for layer in model.layers)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # and it still trains


def test_functional_model_with_a_shared_layer_gets_a_row_per_call():
    model = graph()
    x, y = random_data(model, 32)
    result = profile(model, x, y, batch_size=8, steps=3, warmup=1, roofline=FIXED)
    found = rows_by_key(result)
    assert ("dense", "forward") in found and ("dense@2", "forward") in found
    assert ("dense@2", "backward") in found and ("concatenate", "backward") in found
    assert found[("conv2d", "forward")].cost.flops == 8 * model.layers[0].flops()
    assert sum(row.ms for row in result.rows) == pytest.approx(result.step_ms, rel=1e-12)
    assert result.memory.gradients > result.memory.parameters_in_use  # the twin's own grads


def test_numba_backend_profile():
    pytest.importorskip("numba")
    model = mlp("numba", optimizer="sgd")
    x, y = random_data(model, 64)
    result = profile(model, x, y, batch_size=16, steps=3, warmup=1, roofline=FIXED)
    assert result.backend == "numba"
    assert ("optimizer", "step") in rows_by_key(result)
    assert result.memory.total > 0 and result.memory.optimizer_state == 0  # plain SGD


def test_printed_profile_shows_the_table_the_step_the_roofline_and_the_memory():
    model = mlp()
    x, y = random_data(model, 64)
    result = profile(model, x, y, batch_size=16, steps=3, warmup=0, roofline=FIXED)
    text = str(result)
    for expected in ("dense_1", "backward", "optimizer", "% bound", "GFLOP/s", "test CPU",
                     "not attributed", "activations kept for backward", "~"):  # fmt: skip
        assert expected in text, expected
    markdown = result.table(markdown=True)
    assert markdown.startswith("| layer | pass | ms |")
    data = result.to_dict()
    assert data["rows"][1]["flops"] == rows_by_key(result)[("dense", "forward")].cost.flops
    assert data["memory"]["total"] == result.memory.total
    assert repr(result).startswith("<Profile 'sequential' batch 16")


def test_small_data_gives_a_smaller_batch_and_bad_arguments_are_refused():
    model = mlp()
    x, y = random_data(model, 10)
    assert profile(model, x, y, batch_size=32, steps=2, roofline=FIXED).batch_size == 10
    with pytest.raises(ValueError, match="batch_size"):
        profile(model, x, y, batch_size=0, roofline=FIXED)
    with pytest.raises(ValueError, match="steps"):
        profile(model, x, y, steps=0, roofline=FIXED)
    uncompiled = tinynn.Sequential([tinynn.Input((12,)), layers.Dense(2)])
    with pytest.raises(RuntimeError, match="compile"):
        profile(uncompiled, x, y, roofline=FIXED)
    with pytest.raises(ValueError, match="shape"):
        profile(model, np.zeros((10, 5), np.float32), y, roofline=FIXED)


def test_profile_is_a_top_level_name():
    assert tinynn.profile is profile


def test_exclusive_timing_never_counts_a_nested_call_twice():
    timer = StepTimer()

    class Thing:
        def outer(self):
            return self.inner() + 1

        def inner(self):
            return 1

    thing = Thing()
    with timing_hooks(timer, [(thing, "outer", ("a", "x")), (thing, "inner", ("b", "y"))]):
        assert thing.outer() == 2
        assert "outer" in vars(thing)
    assert "outer" not in vars(thing) and "inner" not in vars(thing)
    seconds, calls = timer.take()
    assert calls == {("a", "x"): 1, ("b", "y"): 1}
    assert all(value >= 0 for value in seconds.values())
    assert timer.take() == ({}, {})


def test_middle_steps_keep_the_interquartile_steps():
    assert middle_steps([1.0, 2.0]) == [0, 1]
    assert middle_steps([5.0, 1.0, 2.0, 3.0, 100.0]) == [0, 2, 3]


def test_random_data_fits_each_loss():
    inputs = tinynn.Input((3,))
    hidden = layers.Dense(4)(inputs)
    outputs = [
        layers.Dense(5, activation="softmax", name="c")(hidden),
        layers.Dense(1, activation="sigmoid", name="b")(hidden),
        layers.Dense(2, name="r")(hidden),
    ]
    model = tinynn.Model(inputs, outputs)
    model.compile(
        optimizer="sgd",
        loss=["categorical_crossentropy", "binary_crossentropy", "mse"],
    )
    x, (one_hot, binary, real) = random_data(model, 7, seed=1)
    assert x.shape == (7, 3) and x.dtype == np.float32
    assert one_hot.shape == (7, 5) and np.all(one_hot.sum(axis=1) == 1)
    assert set(np.unique(binary)) <= {0.0, 1.0} and real.shape == (7, 2)
    model.fit(x, [one_hot, binary, real], epochs=1, verbose=0)


def test_roofline_bounds_and_measurement():
    assert FIXED.ridge_point == 10.0
    assert FIXED.bound_gflops(0.5) == 5.0 and FIXED.bound_gflops(50) == 100.0
    assert FIXED.seconds(1e9, 1e8) == pytest.approx(0.01)
    assert Roofline.from_dict(FIXED.to_dict()) == FIXED
    best = Roofline.best([FIXED, Roofline(peak_gflops=80.0, bandwidth_gbs=12.0)])
    assert (best.peak_gflops, best.bandwidth_gbs, best.method["measurements"]) == (100, 12, 2)
    assert "the best of 2 measurements" in best.describe()
    with pytest.raises(ValueError, match="peak_gflops"):
        Roofline(peak_gflops=0, bandwidth_gbs=1)
    measured = measure_roofline(gemm_n=64, copy_mib=1, repeats=1)
    assert measured.peak_gflops > 0 and measured.bandwidth_gbs > 0
    assert measured.method["gemm_n"] == 64 and measured.cpu_model
    assert "GFLOP/s" in measured.describe() and "vector flags" in measured.describe()
