"""Tests for tinynn.utils, the keras.utils-style helper namespace."""

import numpy as np

import tinynn.utils
from tinynn.datasets import preprocessing


def test_exports_what_keras_utils_scripts_use():
    assert tinynn.utils.__all__ == ["set_random_seed", "to_categorical"]


def test_set_random_seed_makes_unseeded_layers_and_models_repeat():
    import tinynn
    from tinynn import layers

    def weights_after_setting(seed):
        tinynn.utils.set_random_seed(seed)
        x = tinynn.Input(shape=(3,))
        model = tinynn.Model(x, layers.Dense(2)(layers.Dropout(0.5)(x)))
        return model.get_weights()[0], model.rng.random()

    try:
        first, second, other = (
            weights_after_setting(7),
            weights_after_setting(7),
            weights_after_setting(8),
        )
        np.testing.assert_array_equal(first[0], second[0])
        assert first[1] == second[1] and not np.array_equal(first[0], other[0])
    finally:
        from tinynn import seeding

        seeding._state["sequence"] = None  # back to fresh entropy for the other tests


def test_to_categorical_is_the_preprocessing_function():
    assert tinynn.utils.to_categorical is preprocessing.to_categorical


def test_keras_style_usage():
    from tinynn.utils import to_categorical

    one_hot = to_categorical(np.array([[1], [0], [2]]), num_classes=3)
    np.testing.assert_array_equal(one_hot, np.eye(3, dtype=np.float32)[[1, 0, 2]])
