"""Tests for tinynn.utils, the keras.utils-style helper namespace."""

import numpy as np

import tinynn.utils
from tinynn.datasets import preprocessing


def test_exports_only_to_categorical():
    assert tinynn.utils.__all__ == ["to_categorical"]


def test_to_categorical_is_the_preprocessing_function():
    assert tinynn.utils.to_categorical is preprocessing.to_categorical


def test_keras_style_usage():
    from tinynn.utils import to_categorical

    one_hot = to_categorical(np.array([[1], [0], [2]]), num_classes=3)
    np.testing.assert_array_equal(one_hot, np.eye(3, dtype=np.float32)[[1, 0, 2]])
