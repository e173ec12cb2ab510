"""Entry checks on user data: each failure names the problem and the expected value."""

import numpy as np
import pytest

from tinynn.validation import (
    check_array,
    check_finite,
    check_non_negative_int,
    check_positive_int,
    check_same_length,
    check_targets,
)

F32 = np.dtype("float32")


def test_check_array_casts_and_keeps_good_data():
    out = check_array([[1, 2], [3, 4]], "x", F32, (2,))
    assert out.dtype == F32 and out.shape == (2, 2)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (np.array(["a"]), TypeError, "numeric"),
        (np.array([{"a": 1}], dtype=object), TypeError, "numeric"),
        (np.float64(3.0), ValueError, "batch axis"),
        (np.zeros((0, 2)), ValueError, "empty"),
        (np.zeros((2, 3)), ValueError, r"samples of shape \(3,\); the model expects \(2,\)"),
        (np.array([[1.0, np.nan]]), ValueError, r"nan at index \(0, 1\)"),
        (np.array([[-np.inf, 1.0]]), ValueError, "-inf"),
    ],
)
def test_check_array_rejects(value, error, message):
    with pytest.raises(error, match=message):
        check_array(value, "x", F32, (2,))


def test_ragged_lists_are_a_type_error():
    with pytest.raises((TypeError, ValueError)):
        check_array([[1, 2], [3]], "x", F32)


def test_check_same_length_names_both_lengths():
    with pytest.raises(ValueError, match="3 and 2"):
        check_same_length(np.zeros(3), np.zeros(2))


def test_check_targets_reshapes_flat_binary_targets():
    y = check_targets(np.array([0, 1, 1]), 3, (1,), F32, sparse=False)
    assert y.shape == (3, 1) and y.dtype == F32


def test_check_targets_keeps_sparse_labels_as_given():
    y = check_targets(np.array([0, 2, 1]), 3, (3,), F32, sparse=True)
    assert y.dtype.kind == "i"


def test_check_targets_names_shape_mismatch():
    with pytest.raises(ValueError, match=r"targets of shape \(2,\); the model's output is \(3,\)"):
        check_targets(np.zeros((4, 2)), 4, (3,), F32, sparse=False)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True, None])
def test_check_positive_int(bad):
    with pytest.raises(ValueError, match="positive integer"):
        check_positive_int(bad, "batch_size")


def test_check_non_negative_int_accepts_zero():
    assert check_non_negative_int(0, "epochs") == 0
    with pytest.raises(ValueError, match="epochs must be an integer >= 0, got -2"):
        check_non_negative_int(-2, "epochs")


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 4), (150, 200)])  # small and large float32 differ
def test_check_finite_accepts_huge_values_silently_and_finds_bad_ones(dtype, shape, recwarn):
    huge = np.full(shape, np.finfo(dtype).max, dtype=dtype)  # a naive sum overflows
    check_finite(huge, "x")
    check_finite(huge.T, "x")  # not contiguous
    assert not recwarn.list
    for bad in (np.nan, np.inf, -np.inf):
        data = huge.copy()
        data[1, 2] = bad
        for array, where in ((data, r"\(1, 2\)"), (data.T, r"\(2, 1\)")):
            message = rf"x contains .* at index {where}; expected finite"
            with pytest.raises(ValueError, match=message):
                check_finite(array, "x")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [4, 40_000])
def test_check_finite_with_both_infinities_raises_only_the_value_error(dtype, size, recwarn):
    data = np.zeros(size, dtype=dtype)
    data[1], data[2] = np.inf, -np.inf  # their sum is NaN: an "invalid" warning, if unguarded
    with pytest.raises(ValueError, match=r"x contains inf at index \(1,\)"):
        check_finite(data, "x")
    assert not recwarn.list
