"""Tests for tinynn.datasets.synthetic: seeded spirals, moons, XOR and blobs."""

import numpy as np
import pytest

from tinynn.datasets import make_blobs, make_moons, make_spirals, make_xor

NOISY_GENERATORS = [
    pytest.param(lambda seed: make_spirals(seed=seed), id="spirals"),
    pytest.param(lambda seed: make_moons(seed=seed), id="moons"),
    pytest.param(lambda seed: make_xor(n_samples=40, noise=0.1, seed=seed), id="xor"),
    pytest.param(lambda seed: make_blobs(seed=seed), id="blobs"),
]


@pytest.mark.parametrize(
    ("generator", "n_samples"),
    [(make_spirals, 300), (make_moons, 200), (make_xor, 4), (make_blobs, 300)],
)
def test_default_shapes_and_dtypes(generator, n_samples):
    x, y = generator()
    assert x.shape == (n_samples, 2)
    assert x.dtype == np.float32
    assert y.shape == (n_samples,)
    assert y.dtype == np.int64


@pytest.mark.parametrize("make", NOISY_GENERATORS)
def test_same_seed_gives_identical_arrays(make):
    x1, y1 = make(7)
    x2, y2 = make(7)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("make", NOISY_GENERATORS)
def test_different_seeds_give_different_points(make):
    x1, _ = make(0)
    x2, _ = make(1)
    assert not np.array_equal(x1, x2)


def test_generators_leave_numpy_global_random_state_alone():
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    make_spirals()
    make_moons()
    make_blobs()
    make_xor(n_samples=8, noise=0.5)
    assert np.random.random() == expected


def test_spirals_are_class_balanced():
    _, y = make_spirals(n_samples=300, n_classes=3)
    assert np.bincount(y).tolist() == [100, 100, 100]
    _, y = make_spirals(n_samples=302, n_classes=4)
    assert np.bincount(y).tolist() == [76, 76, 75, 75]


def test_noiseless_spiral_arm_follows_r_sin_theta_r_cos_theta():
    x, y = make_spirals(n_samples=30, n_classes=3, noise=0.0, shuffle=False)
    arm = x[y == 1].astype(np.float64)
    radius = np.linspace(0.0, 1.0, 10)
    theta = np.linspace(4.0, 8.0, 10)
    expected = np.column_stack([radius * np.sin(theta), radius * np.cos(theta)])
    np.testing.assert_allclose(arm, expected, atol=1e-6)


def test_shuffle_false_groups_rows_by_class():
    _, y = make_spirals(n_samples=9, n_classes=3, shuffle=False)
    assert y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    _, y = make_spirals(n_samples=9, n_classes=3)
    assert y.tolist() != sorted(y.tolist())
    assert np.bincount(y).tolist() == [3, 3, 3]


def test_noiseless_moons_lie_on_their_half_circles():
    x, y = make_moons(n_samples=101, noise=0.0)
    upper, lower = x[y == 0].astype(np.float64), x[y == 1].astype(np.float64)
    assert len(upper) == 50 and len(lower) == 51
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert upper[:, 1].min() >= -1e-6  # upper half circle
    assert lower[:, 1].max() <= 0.5 + 1e-6  # lower half circle


def test_xor_default_is_the_truth_table():
    x, y = make_xor()
    np.testing.assert_array_equal(x, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])


def test_xor_larger_n_repeats_corners_and_jitter_keeps_labels():
    x, y = make_xor(n_samples=10)
    np.testing.assert_array_equal(x[4:8], x[:4])
    np.testing.assert_array_equal(y, [0, 1, 1, 0, 0, 1, 1, 0, 0, 1])

    x, y = make_xor(n_samples=400, noise=0.1, seed=3)
    corners = np.round(x).clip(0, 1).astype(int)
    np.testing.assert_array_equal(y, corners[:, 0] ^ corners[:, 1])
    assert 0.05 < np.std(x - corners) < 0.15


def test_blobs_have_requested_features_and_tight_clusters():
    x, y = make_blobs(n_samples=31, n_classes=4, n_features=5, cluster_std=0.0, seed=2)
    assert x.shape == (31, 5)
    assert np.bincount(y).tolist() == [8, 8, 8, 7]
    for k in range(4):
        members = x[y == k]
        np.testing.assert_array_equal(members, np.broadcast_to(members[0], members.shape))
        assert np.all(np.abs(members[0]) <= 10.0)


def test_blob_spread_matches_cluster_std():
    x, y = make_blobs(n_samples=3000, n_classes=3, cluster_std=2.0, seed=1)
    centred = np.concatenate([x[y == k] - x[y == k].mean(axis=0) for k in range(3)])
    assert 1.9 < centred.std() < 2.1


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: make_spirals(n_samples=0), r"n_samples must be an integer >= 1, got 0"),
        (lambda: make_moons(n_samples=-5), r"n_samples .* got -5"),
        (lambda: make_xor(n_samples=2.5), r"n_samples .* got 2\.5"),
        (lambda: make_xor(n_samples=True), r"n_samples .* got True"),
        (lambda: make_blobs(n_classes=0), r"n_classes must be an integer >= 1, got 0"),
        (lambda: make_blobs(n_features=0), r"n_features .* got 0"),
        (lambda: make_spirals(n_samples=2, n_classes=3), r"n_classes=3 .* n_samples=2"),
        (lambda: make_blobs(n_samples=2, n_classes=3), r"n_classes=3 .* n_samples=2"),
        (lambda: make_spirals(noise=-0.1), r"noise must be a finite number >= 0, got -0\.1"),
        (lambda: make_moons(noise=float("nan")), r"noise .* got nan"),
        (lambda: make_xor(noise="0.1"), r"noise .* got '0\.1'"),
        (lambda: make_blobs(cluster_std=-1.0), r"cluster_std .* got -1\.0"),
    ],
)
def test_invalid_arguments_raise_with_value_and_expectation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_numpy_integers_are_accepted():
    x, _ = make_spirals(n_samples=np.int64(30), n_classes=np.int32(3))
    assert x.shape == (30, 2)
