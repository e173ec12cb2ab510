"""Tests for tinynn.datasets.preprocessing: splitting, one-hot and scaling."""

import numpy as np
import pytest

from tinynn.datasets import StandardScaler, standardize, to_categorical, train_test_split

# --------------------------------------------------------------------------- train_test_split


def test_split_sizes_follow_scikit_learn_rounding():
    x = np.arange(10)
    train, test = train_test_split(x, test_size=0.25)
    assert (len(train), len(test)) == (7, 3)  # test size is rounded up
    train, test = train_test_split(x, test_size=4)
    assert (len(train), len(test)) == (6, 4)
    train, test = train_test_split(np.arange(100))
    assert (len(train), len(test)) == (75, 25)


@pytest.mark.parametrize(("n", "test_size"), [(10, 0.25), (7, 0.5), (101, 0.1), (50, 0.33), (9, 2)])
def test_split_sizes_match_scikit_learn(n, test_size):
    sk_model_selection = pytest.importorskip("sklearn.model_selection")
    expected = sk_model_selection.train_test_split(np.arange(n), test_size=test_size)
    got = train_test_split(np.arange(n), test_size=test_size)
    assert [len(a) for a in got] == [len(a) for a in expected]


def test_split_keeps_rows_of_all_arrays_aligned_and_partitions_samples():
    x = np.arange(40).reshape(20, 2)
    y = np.arange(20) * 10
    names = [f"s{i}" for i in range(20)]
    x_tr, x_te, y_tr, y_te, n_tr, n_te = train_test_split(x, y, names, test_size=0.3, seed=4)
    assert x_tr.shape == (14, 2) and x_te.shape == (6, 2)
    np.testing.assert_array_equal(x_tr[:, 0] // 2 * 10, y_tr)
    np.testing.assert_array_equal(x_te[:, 0] // 2 * 10, y_te)
    assert [f"s{v // 10}" for v in y_tr] == n_tr.tolist()
    assert [f"s{v // 10}" for v in y_te] == n_te.tolist()
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == y.tolist()


def test_split_is_deterministic_per_seed_and_shuffles():
    x = np.arange(50)
    a_train, a_test = train_test_split(x, seed=3)
    b_train, b_test = train_test_split(x, seed=3)
    c_train, _ = train_test_split(x, seed=4)
    np.testing.assert_array_equal(a_train, b_train)
    np.testing.assert_array_equal(a_test, b_test)
    assert not np.array_equal(a_train, c_train)
    assert not np.array_equal(a_train, np.sort(a_train))


def test_no_shuffle_takes_the_last_rows_as_test():
    train, test = train_test_split(np.arange(10), test_size=3, shuffle=False)
    assert train.tolist() == list(range(7))
    assert test.tolist() == [7, 8, 9]


def test_stratified_split_keeps_class_proportions_exactly():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    x = np.arange(100)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, seed=1)
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    assert np.bincount(y_tr).tolist() == [48, 24, 8]
    np.testing.assert_array_equal(y[x_te], y_te)
    assert len(np.intersect1d(x_tr, x_te)) == 0
    assert y_te.tolist() != sorted(y_te.tolist())  # test rows are shuffled, not grouped


def test_stratified_split_with_uneven_shares_and_string_labels():
    y = np.array(["cat"] * 7 + ["dog"] * 5 + ["eel"] * 4)
    _, y_te = train_test_split(y, test_size=5, stratify=y, seed=0)
    counts = {label: int((y_te == label).sum()) for label in ("cat", "dog", "eel")}
    assert sum(counts.values()) == 5
    # Exact shares are 2.19, 1.56 and 1.25; largest remainder rounds dog up.
    assert counts == {"cat": 2, "dog": 2, "eel": 1}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"test_size": 0.0}, r"test_size=0\.0 as a fraction must lie in \(0, 1\)"),
        ({"test_size": 1.0}, r"test_size=1\.0"),
        ({"test_size": 0}, r"test_size=0 must be between 1 and 9"),
        ({"test_size": 10}, r"test_size=10 must be between 1 and 9"),
        ({"test_size": True}, r"test_size must be a float .* got True"),
        ({"test_size": "0.2"}, r"got '0\.2'"),
        ({"stratify": np.arange(10) % 2, "shuffle": False}, r"stratify requires shuffle=True"),
        ({"stratify": np.arange(9)}, r"stratify has shape \(9,\), expected \(10,\)"),
        ({"stratify": [0] * 9 + [1]}, r"class 1 has only 1 sample"),
        ({"stratify": np.arange(10) % 5, "test_size": 3}, r"5 classes need a test size"),
    ],
)
def test_split_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_test_split(np.arange(10), **kwargs)


def test_split_rejects_mismatched_lengths_naming_them():
    with pytest.raises(ValueError, match=r"\[10, 9\]"):
        train_test_split(np.zeros((10, 3)), np.zeros(9))
    with pytest.raises(ValueError, match="at least one array"):
        train_test_split()
    with pytest.raises(ValueError, match="at least 2 samples"):
        train_test_split(np.zeros(1))


# --------------------------------------------------------------------------- to_categorical


def test_to_categorical_matches_hand_built_one_hot():
    y = np.array([2, 0, 1, 2, 3])
    expected = np.zeros((5, 4), dtype=np.float32)
    for row, label in enumerate(y):
        expected[row, label] = 1.0
    result = to_categorical(y)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, expected)


def test_to_categorical_keras_shape_rules():
    assert to_categorical(np.array([[1], [0]])).shape == (2, 2)  # trailing 1 dropped
    assert to_categorical(np.array([[1, 0, 2]])).shape == (1, 3, 3)
    assert to_categorical([0, 1], num_classes=5).shape == (2, 5)
    assert to_categorical(3, num_classes=4).tolist() == [0, 0, 0, 1]
    assert to_categorical([], num_classes=3).shape == (0, 3)


def test_to_categorical_dtype_and_integral_floats():
    result = to_categorical(np.array([1.0, 0.0]), dtype="int64")
    assert result.dtype == np.int64
    assert result.tolist() == [[0, 1], [1, 0]]


@pytest.mark.parametrize(
    ("y", "num_classes", "match"),
    [
        ([0, -1, 2], None, r"label -1 is out of range; valid labels are 0\.\.2"),
        ([0, 3, 1], 3, r"label 3 is out of range; valid labels are 0\.\.2 \(num_classes=3\)"),
        ([0, 1.5], None, r"label 1\.5 is not an integer"),
        ([0, np.nan], None, r"label nan is not an integer"),
        (["a", "b"], None, r"integer class labels, got dtype <U1"),
        ([0, 1], 0, r"num_classes must be a positive integer, got 0"),
        ([0, 1], 2.0, r"num_classes must be a positive integer, got 2\.0"),
        ([], None, r"cannot infer num_classes from an empty y"),
    ],
)
def test_to_categorical_rejects_bad_labels(y, num_classes, match):
    with pytest.raises(ValueError, match=match):
        to_categorical(y, num_classes=num_classes)


# --------------------------------------------------------------------------- standardize


def test_standardize_gives_zero_mean_unit_std_and_reuses_stats():
    rng = np.random.default_rng(0)
    x_train = rng.normal(5.0, 3.0, (200, 4)).astype(np.float32)
    x_std, mean, std = standardize(x_train)
    assert x_std.dtype == np.float32
    assert mean.shape == (4,) and std.shape == (4,)
    np.testing.assert_allclose(x_std.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(x_std.std(axis=0), 1.0, atol=1e-5)

    x_test = rng.normal(5.0, 3.0, (10, 4))
    test_std, mean2, std2 = standardize(x_test, mean, std)
    np.testing.assert_allclose(test_std, (x_test - mean) / std)
    np.testing.assert_array_equal(mean2, mean)
    np.testing.assert_array_equal(std2, std)


def test_standardize_constant_columns_divide_by_one():
    x = np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 3.0]])
    x_std, mean, std = standardize(x)
    assert std[0] == 1.0
    np.testing.assert_allclose(mean, [0.1, 2.0])
    assert np.all(np.isfinite(x_std))
    np.testing.assert_allclose(x_std[:, 0], 0.0, atol=1e-15)


def test_standardize_integers_become_float64():
    x_std, _, _ = standardize(np.array([[1, 2], [3, 4]]))
    assert x_std.dtype == np.float64
    np.testing.assert_array_equal(x_std, [[-1, -1], [1, 1]])


@pytest.mark.parametrize(
    ("x", "kwargs", "match"),
    [
        ([[1.0, np.nan]], {}, r"x contains NaN or infinity \(nan at index \(0, 1\)\)"),
        ([[1.0], [np.inf]], {}, r"x contains NaN or infinity \(inf at index \(1, 0\)\)"),
        ([[1.0, 2.0]], {"mean": [0.0, np.nan]}, r"mean contains NaN or infinity"),
        ([[1.0, 2.0]], {"std": [1.0, 1.0, 1.0]}, r"std has shape \(3,\), expected \(2,\)"),
        (
            [[1.0, 2.0]],
            {"std": [1.0, 0.0]},
            r"std must be > 0 for every feature, got 0\.0 at \(1,\)",
        ),
        (np.zeros((0, 3)), {}, r"at least one sample .* shape \(0, 3\)"),
    ],
)
def test_standardize_rejects_bad_input(x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        standardize(np.asarray(x), **kwargs)


# --------------------------------------------------------------------------- StandardScaler


def test_standard_scaler_matches_scikit_learn():
    sk_preprocessing = pytest.importorskip("sklearn.preprocessing")
    rng = np.random.default_rng(2)
    x = rng.normal([1.0, -5.0, 100.0], [0.5, 2.0, 30.0], (50, 3))
    x[:, 1] = 7.25  # a constant feature
    x_new = rng.normal(0.0, 10.0, (8, 3))

    ours = StandardScaler().fit(x)
    theirs = sk_preprocessing.StandardScaler().fit(x)
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-12)
    np.testing.assert_allclose(ours.scale_, theirs.scale_, rtol=1e-12)
    np.testing.assert_allclose(ours.transform(x_new), theirs.transform(x_new), rtol=1e-12)
    np.testing.assert_allclose(
        StandardScaler().fit_transform(x), theirs.transform(x), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        ours.inverse_transform(x_new), theirs.inverse_transform(x_new), rtol=1e-12
    )


def test_standard_scaler_round_trip_and_float32():
    x = np.random.default_rng(3).normal(10.0, 4.0, (30, 2)).astype(np.float32)
    scaler = StandardScaler()
    z = scaler.fit_transform(x)
    assert z.dtype == np.float32
    assert scaler.mean_.shape == (2,) and scaler.scale_.shape == (2,)
    np.testing.assert_allclose(scaler.inverse_transform(z), x, rtol=1e-5, atol=1e-5)


def test_standard_scaler_errors():
    scaler = StandardScaler()
    with pytest.raises(RuntimeError, match="not fitted yet"):
        scaler.transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"x must be 2-D .* got shape \(4,\)"):
        scaler.fit(np.zeros(4))
    with pytest.raises(ValueError, match="NaN or infinity"):
        scaler.fit(np.array([[1.0], [np.nan]]))
    scaler.fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="x has 3 features, but the scaler was fitted on 2"):
        scaler.transform(np.zeros((1, 3)))
