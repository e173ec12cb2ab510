"""Small seeded 2-D data sets for teaching: spirals, moons, XOR and Gaussian blobs.

Each generator takes a ``seed`` and draws every random number from its own
``np.random.default_rng(seed)``, so the same arguments always give the same arrays
and no global random state is touched. All return ``(x, y)`` with
``x`` float32 of shape (n_samples, n_features) and ``y`` int64 of shape (n_samples,).

Unlike CS231n's notebook, spirals, moons and blobs are shuffled by default
(``shuffle=True``): rows grouped by class would make a "take the last 20 % as
validation data" split contain a single class.
"""

from __future__ import annotations

import numbers

import numpy as np


def _check_int(name: str, value: object, minimum: int) -> int:
    """Return ``value`` as an int, or raise ValueError if it is not an int ≥ minimum."""
    # bool is an int subclass, but make_xor(True) is surely a mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def _check_scale(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise ValueError unless it is finite and ≥ 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return float(value)


def _class_sizes(n_samples: int, n_classes: int) -> list[int]:
    """Split n_samples as evenly as possible: the first ``n % k`` classes get one extra."""
    base, extra = divmod(n_samples, n_classes)
    return [base + 1 if k < extra else base for k in range(n_classes)]


def _finish(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, shuffle: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Optionally shuffle rows of x and y together, then fix the public dtypes."""
    if shuffle:
        order = rng.permutation(len(y))
        x, y = x[order], y[order]
    return x.astype(np.float32), y.astype(np.int64)


def make_spirals(
    n_samples: int = 300,
    n_classes: int = 3,
    noise: float = 0.2,
    seed: int = 0,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (the CS231n "spiral" data set).

    Arm k has points at radius r ∈ [0, 1] (evenly spaced) and angle
    θ = 4k + 4r + ε with ε ~ N(0, noise²), i.e. ``(x1, x2) = (r sin θ, r cos θ)``.
    No straight line separates the arms, so a linear model tops out near 1 / n_classes
    accuracy while a small MLP reaches ~99 %.

    Args:
        n_samples: total number of points; classes differ in size by at most one.
        n_classes: number of arms (≥ 1, and ≤ n_samples).
        noise: standard deviation of the angular noise, in radians.
        seed: seed for ``np.random.default_rng``.
        shuffle: shuffle the rows; if False they are grouped by class.

    Returns:
        x: float32, (n_samples, 2).
        y: int64, (n_samples,), labels 0..n_classes-1.
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    n_classes = _check_int("n_classes", n_classes, 1)
    noise = _check_scale("noise", noise)
    if n_classes > n_samples:
        raise ValueError(
            f"n_classes={n_classes} is larger than n_samples={n_samples}; "
            "every class needs at least one point"
        )
    rng = np.random.default_rng(seed)

    xs, ys = [], []
    for k, size in enumerate(_class_sizes(n_samples, n_classes)):
        radius = np.linspace(0.0, 1.0, size)
        # 4 radians per arm, as in CS231n; the arms start 4 radians apart.
        theta = np.linspace(4.0 * k, 4.0 * (k + 1), size) + rng.normal(0.0, noise, size)
        xs.append(np.column_stack([radius * np.sin(theta), radius * np.cos(theta)]))
        ys.append(np.full(size, k))
    return _finish(np.concatenate(xs), np.concatenate(ys), rng, shuffle)


def make_moons(
    n_samples: int = 200, noise: float = 0.1, seed: int = 0, shuffle: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (same construction as scikit-learn's make_moons).

    Class 0 lies on the upper half circle (cos t, sin t), class 1 on the lower one
    (1 − cos t, 0.5 − sin t), for t evenly spaced in [0, π]; then Gaussian noise with
    standard deviation ``noise`` is added to both coordinates.

    Args:
        n_samples: total number of points (class 0 gets n // 2, class 1 the rest).
        noise: standard deviation of the Gaussian noise added to x.
        seed: seed for ``np.random.default_rng``.
        shuffle: shuffle the rows; if False class 0 comes first.

    Returns:
        x: float32, (n_samples, 2).
        y: int64, (n_samples,), labels 0 or 1.
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    noise = _check_scale("noise", noise)
    rng = np.random.default_rng(seed)

    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])

    x = np.concatenate([upper, lower]) + rng.normal(0.0, noise, (n_samples, 2))
    y = np.concatenate([np.zeros(n_upper), np.ones(n_lower)])
    return _finish(x, y, rng, shuffle)


_XOR_CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
_XOR_LABELS = np.array([0, 1, 1, 0])


def make_xor(
    n_samples: int = 4, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: label = x1 XOR x2 on the corners of the unit square.

    With the defaults this is exactly the classic truth table::

        x = [[0, 0], [0, 1], [1, 0], [1, 1]]    y = [0, 1, 1, 0]

    For larger ``n_samples`` the four corners repeat in that order (row i is corner
    i mod 4), each moved by Gaussian jitter with standard deviation ``noise``. The
    order is already mixed by class, so there is no ``shuffle`` option.

    Args:
        n_samples: number of points (≥ 1).
        noise: standard deviation of the jitter added to every coordinate.
        seed: seed for ``np.random.default_rng`` (irrelevant when noise == 0).

    Returns:
        x: float32, (n_samples, 2).
        y: int64, (n_samples,), labels 0 or 1.
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    noise = _check_scale("noise", noise)
    rng = np.random.default_rng(seed)

    corner = np.arange(n_samples) % 4
    x = _XOR_CORNERS[corner] + rng.normal(0.0, noise, (n_samples, 2))
    y = _XOR_LABELS[corner]
    return x.astype(np.float32), y.astype(np.int64)


def make_blobs(
    n_samples: int = 300,
    n_classes: int = 3,
    n_features: int = 2,
    cluster_std: float = 1.0,
    seed: int = 0,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian clusters, one per class.

    Centres are drawn uniformly from the box [−10, 10]^n_features (as scikit-learn's
    make_blobs does); each point is its class centre plus N(0, cluster_std² I) noise.

    Args:
        n_samples: total number of points; classes differ in size by at most one.
        n_classes: number of clusters (≥ 1, and ≤ n_samples).
        n_features: dimension of each point (≥ 1).
        cluster_std: standard deviation of every cluster along every axis.
        seed: seed for ``np.random.default_rng``.
        shuffle: shuffle the rows; if False they are grouped by class.

    Returns:
        x: float32, (n_samples, n_features).
        y: int64, (n_samples,), labels 0..n_classes-1.
    """
    n_samples = _check_int("n_samples", n_samples, 1)
    n_classes = _check_int("n_classes", n_classes, 1)
    n_features = _check_int("n_features", n_features, 1)
    cluster_std = _check_scale("cluster_std", cluster_std)
    if n_classes > n_samples:
        raise ValueError(
            f"n_classes={n_classes} is larger than n_samples={n_samples}; "
            "every class needs at least one point"
        )
    rng = np.random.default_rng(seed)

    centres = rng.uniform(-10.0, 10.0, (n_classes, n_features))
    y = np.repeat(np.arange(n_classes), _class_sizes(n_samples, n_classes))
    x = centres[y] + rng.normal(0.0, cluster_std, (n_samples, n_features))
    return _finish(x, y, rng, shuffle)
