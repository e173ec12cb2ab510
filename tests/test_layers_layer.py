"""tinynn.layers.layer.Layer: building, input checks, parameters and configs."""

from __future__ import annotations

import numpy as np
import pytest

from tinynn.layers import layer as base


class Scale(base.Layer):
    """y = x ⊙ s with one parameter s of the sample's shape: the smallest layer with weights."""

    def build(self, input_shape):
        super().build(input_shape)
        self.add_weight("s", self.input_shape, "ones")

    def forward(self, x, training=False):
        self._x = self._prepare_input(x)
        return self._x * self.params["s"]

    def backward(self, grad_output):
        self.grads["s"][...] = np.sum(grad_output * self._x, axis=0)
        return grad_output * self.params["s"]


def test_build_records_shapes_and_default_dtype():
    layer = Scale()
    assert not layer.built and layer.output_shape is None
    layer.build((3, 2))
    assert layer.built
    assert layer.input_shape == layer.output_shape == (3, 2)
    assert layer.dtype == np.float32
    assert layer.params["s"].dtype == np.float32


def test_lazy_build_on_first_forward():
    layer = Scale(dtype="float64")
    y = layer.forward(np.ones((5, 4)))
    assert layer.built and layer.input_shape == (4,)
    assert y.dtype == np.float64


def test_declared_input_shape_is_honoured_by_the_lazy_build():
    layer = Scale(input_shape=(3,))
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, 3\), got \(2, 5\)"):
        layer.forward(np.ones((2, 5)))
    assert layer.input_shape == (3,)


def test_wrong_input_shape_after_build_names_the_expected_shape():
    layer = Scale()
    layer.forward(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"scale: expected input of shape \(batch, 3, 4\)"):
        layer.forward(np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match=r"got \(3, 4\)"):
        layer.forward(np.ones((3, 4)))  # one sample without its batch axis


def test_a_batch_axis_is_required_to_build():
    with pytest.raises(ValueError, match=r"expected a batch of shape \(batch, ...\)"):
        Scale().forward(np.ones(3))


def test_input_is_cast_to_the_layer_dtype():
    layer = Scale(dtype="float32")
    assert layer.forward(np.ones((2, 2), dtype=np.float64)).dtype == np.float32
    assert layer.forward(np.ones((2, 2), dtype=np.int64)).dtype == np.float32


@pytest.mark.parametrize("dtype", ["float16", "int32", np.complex128])
def test_unsupported_dtypes_are_refused(dtype):
    with pytest.raises(ValueError, match=r"expected one of \('float32', 'float64'\)"):
        Scale(dtype=dtype)


def test_check_dtype_accepts_names_and_numpy_types():
    assert base.check_dtype("float64") == np.float64
    assert base.check_dtype(np.float32) == np.float32


@pytest.mark.parametrize(
    ("shape", "error", "message"),
    [
        ((3, 0), ValueError, "must be positive"),
        (0, ValueError, "must be positive"),
        ((-1,), ValueError, "must be positive"),
        ("abc", TypeError, "tuple of ints"),
        ((2, "x"), TypeError, "tuple of ints"),
        (object(), TypeError, "tuple of ints"),
    ],
)
def test_bad_input_shapes(shape, error, message):
    with pytest.raises(error, match=message):
        Scale(input_shape=shape)


def test_int_input_shape_means_one_dimension():
    assert Scale(input_shape=4).input_shape == (4,)


def test_parameters_yield_params_beside_same_shaped_grads():
    layer = Scale()
    layer.build((2, 3))
    pairs = list(layer.parameters())
    assert len(pairs) == 1
    param, grad = pairs[0]
    assert param is layer.params["s"] and grad is layer.grads["s"]
    assert grad.shape == param.shape and not grad.any()
    assert layer.count_params() == 6


def test_gradients_are_overwritten_not_accumulated():
    layer = Scale(dtype="float64")
    x = np.arange(6.0).reshape(2, 3)
    layer.forward(x)
    layer.backward(np.ones((2, 3)))
    first = layer.grads["s"].copy()
    layer.forward(x)
    layer.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(layer.grads["s"], first)


def test_defaults_of_the_base_class():
    layer = base.Layer()
    assert layer.compute_output_shape((4, 5)) == (4, 5)
    assert layer.regularization_loss() == 0.0
    assert layer.flops() == 0
    assert layer.compute_input_grad is True
    with pytest.raises(NotImplementedError):
        layer.forward(np.ones((1, 1)))
    with pytest.raises(NotImplementedError):
        layer.backward(np.ones((1, 1)))


def test_default_names_are_snake_case_class_names():
    class MyFancyLayer(base.Layer):
        pass

    assert MyFancyLayer().name == "my_fancy_layer"
    assert Scale(name="custom").name == "custom"


def test_seeded_layers_draw_the_same_numbers():
    assert Scale(seed=4).rng.random() == Scale(seed=4).rng.random()


def test_config_round_trip():
    layer = Scale(input_shape=(2, 3), name="s1", dtype="float64", seed=7)
    config = layer.get_config()
    assert config == {"name": "s1", "dtype": "float64", "input_shape": [2, 3], "seed": 7}
    clone = Scale.from_config(config)
    assert (clone.name, clone.dtype, clone.input_shape, clone.seed) == ("s1", np.float64, (2, 3), 7)


def test_call_is_forward_and_repr_names_the_layer():
    layer = Scale(name="sc")
    np.testing.assert_array_equal(layer(np.full((1, 2), 3.0)), [[3.0, 3.0]])
    assert "Scale" in repr(layer) and "'sc'" in repr(layer)


def test_product():
    assert base.product((2, 3, 4)) == 24
    assert base.product(()) == 1


# -- the registry in tinynn.layers (it has no module of its own to test) ----------------------


def test_registry_round_trips_every_layer_through_json():
    import json

    from tinynn import layers

    for layer in [
        layers.Dense(3, activation="elu", kernel_regularizer="l2", input_shape=(4,)),
        layers.Activation("tanh"),
        layers.Dropout(0.2, seed=1),
        layers.Flatten(),
        layers.Reshape((2, -1)),
        layers.InputLayer((3,)),
    ]:
        spec = json.loads(json.dumps(layers.serialize(layer)))
        assert layers.deserialize(spec).get_config() == layer.get_config()


def test_registry_refuses_unknown_and_unregistered_classes():
    from tinynn import layers

    with pytest.raises(ValueError, match=r"Unknown layer 'Conv9D'; expected one of"):
        layers.deserialize({"class_name": "Conv9D", "config": {}})
    with pytest.raises(ValueError, match=r"not registered"):
        layers.serialize(Scale())
    with pytest.raises(ValueError, match=r"Unknown layer 'Dens'"):
        layers.get("Dens")
    with pytest.raises(ValueError, match=r"needs arguments; pass an instance such as Dense"):
        layers.get("Dense")
    assert isinstance(layers.get("Flatten"), layers.Flatten)
