"""tinynn.layers.pooling: shapes, gradients, tie-breaking, PyTorch oracle, configs."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn import gradcheck
from tinynn.layers import Dense, Input
from tinynn.layers.pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from tinynn.models import Sequential
from tinynn.optimizers import Adam

# (pool_size, strides, padding); strides None means pool_size
CASES = [
    (2, None, "valid"),
    (3, 2, "valid"),  # overlapping windows: gradients add up
    (2, None, "same"),  # 7 is odd: a padded last row and column
    ((3, 2), (1, 2), "same"),
    (3, 1, "same"),
]


def distinct_values(shape, seed=0):
    """A random permutation of evenly spaced values: no ties, so max pooling is smooth."""
    values = np.random.default_rng(seed).permutation(int(np.prod(shape))) / 10.0
    return values.reshape(shape)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (MaxPooling2D(), (3, 3, 5)),
        (MaxPooling2D(3, strides=2, padding="same"), (4, 4, 5)),
        (AveragePooling2D((2, 3)), (3, 2, 5)),
        (GlobalAveragePooling2D(), (5,)),
        (GlobalAveragePooling2D(keepdims=True), (1, 1, 5)),
    ],
)
def test_output_shapes(layer, shape):
    layer.build((7, 7, 5))
    assert layer.output_shape == shape
    assert layer.forward(np.zeros((2, 7, 7, 5))).shape == (2, *shape)
    assert layer.count_params() == 0 and layer.flops() > 0


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
def test_gradient_check(cls, case):
    layer = cls(*case, dtype="float64")
    result = gradcheck.check_layer(layer, distinct_values((2, 7, 6, 3), seed=1))
    assert result.max_error < 1e-6, str(result)


def test_global_average_pooling_gradient_check():
    for keepdims in (False, True):
        layer = GlobalAveragePooling2D(keepdims=keepdims, dtype="float64")
        result = gradcheck.check_layer(layer, np.random.default_rng(2).normal(size=(2, 4, 3, 5)))
        assert result.max_error < 1e-6, str(result)


def test_max_pooling_sends_a_tied_gradient_to_the_first_maximum_only():
    layer = MaxPooling2D(2)
    x = np.zeros((1, 2, 2, 1), dtype=np.float32)  # four tied maxima, as after a ReLU
    layer.forward(x)
    grad = layer.backward(np.ones((1, 1, 1, 1), dtype=np.float32))
    np.testing.assert_array_equal(grad[0, :, :, 0], [[1, 0], [0, 0]])


def test_average_pooling_with_same_padding_does_not_count_the_padding():
    layer = AveragePooling2D(2, padding="same")
    y = layer.forward(np.ones((1, 3, 3, 1), dtype=np.float32))
    np.testing.assert_array_equal(y, np.ones((1, 2, 2, 1)))  # Keras gives 1 everywhere


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_forward_and_backward_match_pytorch(kind, case):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    cls = MaxPooling2D if kind == "max" else AveragePooling2D
    layer = cls(*case, dtype="float64")
    x = distinct_values((2, 7, 6, 3), seed=3)
    y = layer.forward(x)
    upstream = np.random.default_rng(4).normal(size=y.shape)
    grad_x = layer.backward(upstream)
    top, bottom, left, right = layer.pads
    x_t = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_()
    # PyTorch pads symmetrically, so pad explicitly: −∞ for max; for the average, pad with 0
    # and divide by the counts of real pixels, which is count_include_pad=False.
    fill = -np.inf if kind == "max" else 0.0
    padded = functional.pad(x_t, (left, right, top, bottom), value=fill)
    if kind == "max":
        y_t = functional.max_pool2d(padded, layer.pool_size, layer.strides)
    else:
        ones = functional.pad(torch.ones_like(x_t[:1, :1]), (left, right, top, bottom))
        counts = functional.avg_pool2d(ones, layer.pool_size, layer.strides)
        y_t = functional.avg_pool2d(padded, layer.pool_size, layer.strides) / counts
    y_t.backward(torch.from_numpy(upstream).permute(0, 3, 1, 2))
    np.testing.assert_allclose(y, y_t.detach().permute(0, 2, 3, 1).numpy(), atol=1e-10)
    np.testing.assert_allclose(grad_x, x_t.grad.permute(0, 2, 3, 1).numpy(), atol=1e-10)


def test_first_layer_skips_the_input_gradient():
    for layer in (MaxPooling2D(), AveragePooling2D(), GlobalAveragePooling2D()):
        layer.compute_input_grad = False
        y = layer.forward(np.ones((1, 4, 4, 2)))
        assert layer.backward(np.ones_like(y)) is None


def test_config_round_trip():
    for layer in (MaxPooling2D((3, 2), strides=1, padding="same"), AveragePooling2D(4)):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
    clone = GlobalAveragePooling2D.from_config(GlobalAveragePooling2D(keepdims=True).get_config())
    assert clone.keepdims is True


def test_invalid_arguments_and_inputs_are_refused():
    with pytest.raises(ValueError, match="pool_size"):
        MaxPooling2D(0)
    with pytest.raises(ValueError, match="padding"):
        AveragePooling2D(padding="causal")
    with pytest.raises(ValueError, match="NHWC"):
        MaxPooling2D().build((16,))
    with pytest.raises(ValueError, match="smaller than the kernel/pool window"):
        MaxPooling2D(4).build((3, 3, 1))


def test_global_pooling_classifier_trains_in_a_model():
    model = Sequential(
        [
            Input((6, 6, 2)),
            MaxPooling2D(2, padding="same"),
            GlobalAveragePooling2D(),
            Dense(2, activation="softmax"),
        ],
        seed=0,
    )
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64)
    x = rng.random((64, 6, 6, 2), dtype=np.float32)
    x[..., 0] += y[:, None, None]  # channel 0 carries the class
    model.compile(Adam(0.05), "sparse_categorical_crossentropy", ["accuracy"], backend="numpy")
    model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert model.evaluate(x, y)[1] > 0.9
