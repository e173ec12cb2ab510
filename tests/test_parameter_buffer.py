"""One flat buffer for all parameters: views, identical updates, one optimizer call."""

import numpy as np
import pytest

from tinynn import layers, optimizers
from tinynn.models import Sequential
from tinynn.parameter_buffer import is_packed, pack_parameters


def model(seed=0):
    return Sequential(
        [layers.Input((5,)), layers.Dense(7, activation="tanh"), layers.Dense(3)],
        seed=seed,
        dtype="float64",
    )


def test_packing_keeps_values_and_makes_views():
    net = model()
    before = net.get_weights()
    flat_params, flat_grads = pack_parameters(net.layers)
    assert flat_params.size == net.count_params() == flat_grads.size
    for a, b in zip(before, net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert is_packed(net.layers, flat_params)
    net.layers[0].params["W"][0, 0] = 123.0
    assert 123.0 in flat_params
    net.layers[1].grads["b"][...] = 7.0
    np.testing.assert_array_equal(flat_grads[-3:], 7.0)


def test_compiled_model_parameters_live_in_one_buffer():
    net = model()
    net.compile(optimizer="sgd", loss="mse")
    flat_params, _ = net._flat_parameters
    assert is_packed(net.layers, flat_params)


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda: optimizers.Adam(learning_rate=0.01, global_clipnorm=0.5),
        lambda: optimizers.AdamW(learning_rate=0.01, clipvalue=0.1),
        lambda: optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
        lambda: optimizers.SGD(learning_rate=0.1, clipnorm=0.2),
    ],
)
def test_one_flat_step_equals_stepping_each_pair(make_optimizer):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 5)), rng.normal(size=(16, 3))
    flat, pairs = model(), model()
    flat.compile(optimizer=make_optimizer(), loss="mse", backend="numpy")
    pairs.compile(optimizer=make_optimizer(), loss="mse", backend="numpy")
    pairs._flat_parameters = None  # step the (param, grad) pairs one by one
    for _ in range(5):
        flat.train_on_batch(x, y)
        pairs.train_on_batch(x, y)
    for a, b in zip(flat.get_weights(), pairs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_mixed_dtypes_cannot_be_packed():
    a = layers.Dense(2, dtype="float32", input_shape=(3,))
    b = layers.Dense(2, dtype="float64", input_shape=(2,))
    a.build((3,))
    b.build((2,))
    with pytest.raises(ValueError, match="one dtype"):
        pack_parameters([a, b])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flat_buffers_start_on_a_cache_line(dtype):
    net = Sequential([layers.Input((5,)), layers.Dense(7), layers.Dense(3)], seed=0, dtype=dtype)
    for flat in pack_parameters(net.layers):
        assert flat.ctypes.data % 64 == 0
        assert flat.dtype == dtype and flat.flags.c_contiguous and flat.ndim == 1
