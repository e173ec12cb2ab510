"""Tests for tinynn.datasets.digits: the bundled 8x8 digits."""

import numpy as np
import pytest

from tinynn.datasets import load_digits

# np.bincount of the labels; the UCI optdigits test split is almost balanced.
EXPECTED_CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_shapes_and_dtypes():
    x, y = load_digits()
    assert x.shape == (1797, 64)
    assert x.dtype == np.float32
    assert y.shape == (1797,)
    assert y.dtype == np.int64


def test_normalized_pixels_lie_in_unit_interval_in_steps_of_one_sixteenth():
    x, _ = load_digits()
    assert x.min() == 0.0
    assert x.max() == 1.0
    np.testing.assert_array_equal(x * 16, np.round(x * 16))


def test_raw_pixels_are_integer_counts_0_to_16():
    x, _ = load_digits(normalize=False)
    assert x.dtype == np.float32
    assert x.min() == 0.0
    assert x.max() == 16.0
    np.testing.assert_array_equal(x, np.round(x))
    np.testing.assert_array_equal(x / 16, load_digits()[0])


def test_labels_cover_0_to_9_with_known_counts():
    _, y = load_digits()
    counts = np.bincount(y)
    assert counts.tolist() == EXPECTED_CLASS_COUNTS
    assert counts.sum() == 1797
    assert y.min() == 0 and y.max() == 9


def test_as_images_is_the_flat_data_reshaped_row_major():
    x_flat, y_flat = load_digits()
    x_img, y_img = load_digits(as_images=True)
    assert x_img.shape == (1797, 8, 8, 1)
    assert x_img.dtype == np.float32
    np.testing.assert_array_equal(x_img.reshape(1797, 64), x_flat)
    np.testing.assert_array_equal(y_img, y_flat)
    # Pixel (row 0, col 2) of image 0 is column 2 of the flat data.
    assert x_img[0, 0, 2, 0] == x_flat[0, 2]


def test_first_sample_matches_the_csv():
    x, y = load_digits(normalize=False)
    first_row = [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]
    assert x[0, :16].tolist() == first_row
    assert y[0] == 0


def test_each_call_returns_fresh_arrays():
    x1, y1 = load_digits()
    x1[:] = -1.0
    y1[:] = -1
    x2, y2 = load_digits()
    assert x2.min() == 0.0
    assert y2.min() == 0
    assert x2.flags.writeable and y2.flags.writeable


def test_matches_scikit_learn_exactly():
    sk_datasets = pytest.importorskip("sklearn.datasets")
    reference = sk_datasets.load_digits()
    x, y = load_digits(normalize=False)
    np.testing.assert_array_equal(x, reference.data)
    np.testing.assert_array_equal(y, reference.target)
    x_img, _ = load_digits(normalize=False, as_images=True)
    np.testing.assert_array_equal(x_img[..., 0], reference.images)
