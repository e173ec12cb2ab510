"""tinynn.profiling.costs: FLOPs and bytes of each pass equal the analytical formulas.

Each test writes the formula out from the layer's shapes (B samples, s bytes per value) and
compares it with ``layer_cost``. The rules themselves are documented in ``costs`` and
``layer_rules``.
"""

import numpy as np
import pytest

from tinynn import layers, optimizers
from tinynn.layers.layer import Layer
from tinynn.profiling import costs
from tinynn.profiling.costs import Cost, layer_cost

B = 8


def built(layer, shape, dtype="float32"):
    layer.dtype = np.dtype(dtype)
    layer.build(shape)
    return layer


def test_dense_forward_and_backward():
    n_in, n = 12, 5
    s = 4
    dense = built(layers.Dense(n, activation="relu"), (n_in,))
    forward = layer_cost(dense, B, "forward")
    assert forward == Cost(
        flops=B * (2 * n_in * n + 2 * n),
        weight_bytes=s * (n_in * n + n),
        read_bytes=s * B * n_in,
        write_bytes=s * B * n,
    )
    backward = layer_cost(dense, B, "backward")
    # dz = g·f' (B·n), dW (2·B·n_in·n), db (B·n), dx (2·B·n_in·n)
    assert backward.flops == B * n + 2 * B * n_in * n + B * n + 2 * B * n_in * n
    assert backward.weight_bytes == s * (n_in * n + n + n_in * n)  # dW, db written; W read
    assert backward.read_bytes == s * (B * n + B * n + B * n_in)  # g, y, x
    assert backward.write_bytes == s * B * n_in  # dx
    first = layer_cost(dense, B, "backward", input_grad=False)
    assert first.flops == B * n + 2 * B * n_in * n + B * n
    assert first.write_bytes == 0 and first.weight_bytes == s * (n_in * n + n)


def test_dense_with_the_loss_absorbing_its_activation_has_no_derivative_pass():
    n_in, n, s = 6, 3, 8
    dense = built(layers.Dense(n, activation="softmax", use_bias=False), (n_in,), "float64")
    cost = layer_cost(dense, B, "backward", logits=True)
    assert cost.flops == 2 * B * n_in * n + 2 * B * n_in * n  # dW, dx; no bias, no f'
    assert cost.read_bytes == s * (B * n + B * n_in)  # g, x
    assert cost.weight_bytes == s * 2 * n_in * n


def test_frozen_dense_computes_only_the_input_gradient():
    dense = built(layers.Dense(4, trainable=False), (3,))
    cost = layer_cost(dense, B, "backward")
    assert cost.flops == 2 * B * 3 * 4  # linear: no f'; frozen: no dW, db
    assert cost.weight_bytes == 4 * 3 * 4  # W read, nothing written
    assert cost.read_bytes == 4 * B * 4  # g only


def test_one_sample_dense_is_memory_bound_and_a_batch_compute_bound():
    dense = built(layers.Dense(256, activation="relu"), (784,))
    one = layer_cost(dense, 1, "forward").intensity
    batch = layer_cost(dense, 128, "forward").intensity
    assert one == pytest.approx(0.497, abs=1e-3)  # ≈ 2 FLOPs per 4-byte weight
    assert batch > 30


def test_conv2d_counts_its_patch_matrix():
    h, w, c, f, k = 6, 5, 3, 4, 3
    conv = built(layers.Conv2D(f, k, activation="relu"), (h, w, c))
    ho, wo = h - k + 1, w - k + 1
    patch, rows, s = k * k * c, B * ho * wo, 4
    forward = layer_cost(conv, B, "forward")
    assert forward.flops == B * ho * wo * f * (2 * patch + 2)
    assert forward.weight_bytes == s * (patch * f + f)
    assert forward.read_bytes == s * (B * h * w * c + rows * patch)  # x, then cols
    assert forward.write_bytes == s * (rows * patch + rows * f)  # cols, y
    backward = layer_cost(conv, B, "backward")
    assert backward.flops == (
        rows * f  # f'
        + 2 * rows * patch * f  # dW
        + rows * f  # db
        + 2 * rows * patch * f  # dcols
        + rows * patch  # col2im
    )
    assert backward.weight_bytes == s * (patch * f + f + patch * f)
    assert backward.read_bytes == s * (rows * f + rows * f + rows * patch + rows * patch)
    assert backward.write_bytes == s * (rows * patch + B * h * w * c)


def test_pointwise_conv2d_has_no_patch_matrix():
    conv = built(layers.Conv2D(4, 1), (5, 5, 3))
    rows, s = B * 25, 4
    forward = layer_cost(conv, B, "forward")
    assert forward.read_bytes == s * rows * 3 and forward.write_bytes == s * rows * 4
    backward = layer_cost(conv, B, "backward")
    assert backward.flops == 2 * rows * 3 * 4 + rows * 4 + 2 * rows * 3 * 4
    assert backward.write_bytes == s * rows * 3


def test_max_pooling_caches_int8_offsets():
    pool = built(layers.MaxPooling2D(2), (6, 4, 3))
    out, values, s = 3 * 2 * 3, 6 * 4 * 3, 4
    forward = layer_cost(pool, B, "forward")
    assert forward == Cost(flops=B * out * 4, read_bytes=s * B * values,
                           write_bytes=B * out * (s + 1))  # fmt: skip
    backward = layer_cost(pool, B, "backward")
    assert backward == Cost(flops=B * out, read_bytes=B * out * (s + 1),
                            write_bytes=s * B * values)  # fmt: skip
    assert layer_cost(pool, B, "backward", input_grad=False) == Cost()


def test_average_and_global_pooling():
    s = 4
    pool = built(layers.AveragePooling2D(2), (4, 4, 2))
    assert layer_cost(pool, B, "forward") == Cost(B * 8 * 4, 0, s * B * 32, s * B * 8)
    assert layer_cost(pool, B, "backward") == Cost(B * 8 * 4, 0, s * B * 8, s * B * 32)
    gap = built(layers.GlobalAveragePooling2D(), (4, 4, 2))
    assert layer_cost(gap, B, "forward") == Cost(B * (32 + 2), 0, s * B * 32, s * B * 2)
    assert layer_cost(gap, B, "backward") == Cost(B * 2, 0, s * B * 2, s * B * 32)


def test_batch_normalization():
    channels, values, s = 3, B * 4 * 4 * 3, 4
    norm = built(layers.BatchNormalization(), (4, 4, channels))
    forward = layer_cost(norm, B, "forward")
    # read x; write x̂ and y; read γ, β; read and write both moving statistics
    assert forward == Cost(4 * values, s * (2 * channels + 4 * channels), s * values,
                           2 * s * values)  # fmt: skip
    backward = layer_cost(norm, B, "backward")
    assert backward.flops == 2 * values + values + 8 * values  # dγ, dβ, dx
    assert backward.weight_bytes == s * (2 * channels + channels)  # dγ, dβ written; γ read
    assert backward.read_bytes == 2 * s * values and backward.write_bytes == s * values
    norm.trainable = False  # moving statistics: dx = ĝ / σ, no parameter gradients
    frozen = layer_cost(norm, B, "backward")
    assert frozen.flops == 2 * values and frozen.weight_bytes == s * channels
    assert layer_cost(norm, B, "forward").weight_bytes == s * 2 * channels


def test_layer_normalization():
    features, values, s = 6, B * 6, 8
    norm = built(layers.LayerNormalization(), (features,), "float64")
    assert layer_cost(norm, B, "forward") == Cost(4 * values, s * 2 * features, s * values,
                                                  2 * s * values)  # fmt: skip
    backward = layer_cost(norm, B, "backward", input_grad=False)
    assert backward == Cost(3 * values, s * 2 * features, 2 * s * values, 0)


def test_dropout_activation_and_reshapes():
    values, s = B * 10, 4
    drop = built(layers.Dropout(0.5), (10,))
    assert layer_cost(drop, B, "forward") == Cost(3 * values, 0, s * values, 3 * s * values)
    assert layer_cost(drop, B, "backward") == Cost(values, 0, 2 * s * values, s * values)
    assert layer_cost(built(layers.Dropout(0.0), (10,)), B, "forward") == Cost()
    act = built(layers.Activation("tanh"), (10,))
    assert layer_cost(act, B, "forward") == Cost(values, 0, s * values, s * values)
    assert layer_cost(act, B, "backward") == Cost(values, 0, 2 * s * values, s * values)
    assert layer_cost(act, B, "forward", logits=True) == Cost()
    relu = built(layers.ReLU(), (10,))  # a subclass uses the Activation rule
    assert layer_cost(relu, B, "forward") == Cost(values, 0, s * values, s * values)
    for layer in (layers.Flatten(), layers.Reshape((2, 5)), layers.Identity()):
        assert layer_cost(built(layer, (10,)), B, "backward") == Cost()


def test_a_layer_without_a_rule_gets_a_marked_estimate():
    class Scale(Layer):
        def build(self, input_shape):
            super().build(input_shape)
            self.add_weight("a", (1,), "ones")

        def flops(self):
            return 7

    layer = built(Scale(), (5,))
    forward = layer_cost(layer, B, "forward")
    assert forward == Cost(B * 7, 4, 4 * B * 5, 4 * B * 5, exact=False)
    backward = layer_cost(layer, B, "backward")
    assert backward == Cost(2 * B * 7, 8, 8 * B * 5, 4 * B * 5, exact=False)


def test_residual_adds_its_children():
    block = [layers.Dense(4, activation="relu"), layers.Dense(4)]
    residual = built(layers.Residual(block, activation="relu"), (4,))
    children = sum((layer_cost(child, B, "forward") for child in block), Cost())
    own = Cost(2 * B * 4, 0, 2 * 4 * B * 4, 4 * B * 4)
    assert layer_cost(residual, B, "forward") == children + own


def test_step_costs_of_the_batch_loss_and_optimizer():
    x, y = np.zeros((B, 3), np.float32), np.zeros(B, np.int64)
    assert costs.gather_cost([x, y]) == Cost(read_bytes=x.nbytes + y.nbytes,
                                             write_bytes=x.nbytes + y.nbytes)  # fmt: skip
    loss = costs.loss_cost(type("L", (), {"name": "mean_squared_error"})(), 30, 4, 120)
    assert loss == Cost(4 * 30, 0, 120 + 120, 120, exact=False)
    params = [np.zeros((3, 2), np.float32), np.zeros(2, np.float32)]
    adam = costs.optimizer_cost(optimizers.Adam(), params, state_bytes=64)
    assert adam == Cost(flops=13 * 8, weight_bytes=3 * 32 + 2 * 64)
    sgd = costs.optimizer_cost(optimizers.SGD(momentum=0.9, nesterov=True), params, 32)
    assert sgd.flops == (2 + 3 + 2) * 8
    assert costs.optimizer_flops_per_value(optimizers.RMSprop(centered=True)) == 9 + 5


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="pass_name"):
        layer_cost(built(layers.Dense(2), (3,)), B, "sideways")
    with pytest.raises(ValueError, match="not built"):
        layer_cost(layers.Dense(2), B, "forward")
