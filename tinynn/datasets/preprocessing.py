"""Preparing arrays for training: splitting, one-hot encoding and standardizing.

The functions follow the library a student will meet next: ``train_test_split`` and
``StandardScaler`` behave like scikit-learn's, ``to_categorical`` like Keras's.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike


def _check_finite(name: str, x: np.ndarray) -> None:
    """Raise ValueError naming the first NaN or infinity in ``x``, if there is one."""
    bad = ~np.isfinite(x)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains NaN or infinity ({x[where]} at index {where}); "
            "all values must be finite, so clean or impute the data first"
        )


def _as_float_array(name: str, x: ArrayLike) -> np.ndarray:
    """Return x as a finite floating array (integers become float64)."""
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    _check_finite(name, array)
    return array


# --------------------------------------------------------------------------- splitting


def _n_test_from(test_size: float | int, n_samples: int) -> int:
    """Turn test_size (a fraction in (0, 1) or a count) into a number of test samples."""
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise ValueError(f"test_size must be a float in (0, 1) or an int, got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
        if not 1 <= n_test <= n_samples - 1:
            raise ValueError(
                f"test_size={n_test} must be between 1 and {n_samples - 1} "
                f"(n_samples - 1) so that both sets are non-empty"
            )
        return n_test
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size={test_size} as a fraction must lie in (0, 1)")
    # Round the test set up and the training set down, as scikit-learn does.
    n_test = math.ceil(test_size * n_samples)
    if n_test >= n_samples:
        raise ValueError(
            f"test_size={test_size} with n_samples={n_samples} leaves no training samples"
        )
    return n_test


def _stratified_test_indices(
    labels: np.ndarray, n_test: int, rng: np.random.Generator
) -> np.ndarray:
    """Pick n_test indices so every class keeps (about) its share of the data.

    Class c with n_c samples gets n_test · n_c / n test samples, rounded by the
    largest-remainder method so the counts add up to exactly n_test.
    """
    classes, class_of, counts = np.unique(labels, return_inverse=True, return_counts=True)
    n_samples = len(labels)
    if counts.min() < 2:
        rare = classes[np.argmin(counts)].item()  # a plain int or str reads better
        raise ValueError(
            f"stratify: class {rare!r} has only {counts.min()} sample; "
            "every class needs at least 2 (one for train, one for test)"
        )
    if not len(classes) <= n_test <= n_samples - len(classes):
        raise ValueError(
            f"stratify: {len(classes)} classes need a test size between {len(classes)} "
            f"and {n_samples - len(classes)} samples, got {n_test}"
        )

    exact = counts * n_test / n_samples
    per_class = np.floor(exact).astype(int)
    leftover = n_test - per_class.sum()
    # Hand the remaining samples to the classes with the largest fractional parts.
    per_class[np.argsort(-(exact - per_class), kind="stable")[:leftover]] += 1

    chosen = []
    for k, n_k in enumerate(per_class):
        members = np.flatnonzero(class_of == k)
        chosen.append(rng.permutation(members)[:n_k])
    return np.concatenate(chosen)


def train_test_split(
    *arrays: ArrayLike,
    test_size: float | int = 0.25,
    shuffle: bool = True,
    stratify: ArrayLike | None = None,
    seed: int | None = 0,
) -> list[np.ndarray]:
    """Split arrays into random train and test subsets (scikit-learn semantics).

    Args:
        *arrays: one or more arrays with the same first dimension n_samples.
        test_size: fraction of samples in (0, 1) (rounded up), or an int count.
        shuffle: shuffle before splitting. If False the last n_test rows become
            the test set, and ``stratify`` must be None.
        stratify: labels (n_samples,); if given, each class keeps its proportion in
            both subsets.
        seed: seed for ``np.random.default_rng``; the same seed gives the same split.

    Returns:
        ``[a_train, a_test, b_train, b_test, ...]``: for an input of shape
        (n_samples, ...) the pair has shapes (n_train, ...) and (n_test, ...).

    Example:
        >>> x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2)
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    arrays_np = [np.asarray(a) for a in arrays]
    if any(a.ndim == 0 for a in arrays_np):
        raise ValueError("train_test_split cannot split a scalar; pass arrays of samples")
    lengths = [len(a) for a in arrays_np]
    if len(set(lengths)) != 1:
        raise ValueError(
            f"arrays have different numbers of samples: {lengths}; "
            "all arrays must have the same length along axis 0"
        )
    n_samples = lengths[0]
    if n_samples < 2:
        raise ValueError(f"need at least 2 samples to split, got {n_samples}")
    n_test = _n_test_from(test_size, n_samples)
    rng = np.random.default_rng(seed)

    if stratify is not None:
        if not shuffle:
            raise ValueError("stratify requires shuffle=True (stratified splits are random)")
        labels = np.asarray(stratify)
        if labels.shape != (n_samples,):
            raise ValueError(
                f"stratify has shape {labels.shape}, expected ({n_samples},) (one label per sample)"
            )
        test_idx = _stratified_test_indices(labels, n_test, rng)
        is_test = np.zeros(n_samples, dtype=bool)
        is_test[test_idx] = True
        # Shuffle within each subset so its rows are not grouped by class.
        train_idx = rng.permutation(np.flatnonzero(~is_test))
        test_idx = rng.permutation(test_idx)
    elif shuffle:
        order = rng.permutation(n_samples)
        test_idx, train_idx = order[:n_test], order[n_test:]
    else:
        train_idx = np.arange(n_samples - n_test)
        test_idx = np.arange(n_samples - n_test, n_samples)

    result = []
    for a in arrays_np:
        result.extend([a[train_idx], a[test_idx]])
    return result


# --------------------------------------------------------------------------- one-hot


def to_categorical(
    y: ArrayLike, num_classes: int | None = None, dtype: DTypeLike = "float32"
) -> np.ndarray:
    """Convert integer class labels to one-hot rows (Keras semantics).

    Args:
        y: integer labels of any shape; a trailing axis of size 1, as in (n, 1), is
            dropped first, like Keras does. Floats with integer values (2.0) are accepted.
        num_classes: number of classes C; defaults to max(y) + 1.
        dtype: dtype of the result.

    Returns:
        one_hot: shape y.shape + (C,), with ``one_hot[..., k] = 1`` where ``y == k``.

    Example:
        >>> to_categorical([0, 2, 1])
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if labels.dtype.kind not in "biuf":
        raise ValueError(f"y must hold integer class labels, got dtype {labels.dtype}")
    if labels.dtype.kind == "f":
        not_integer = ~np.isfinite(labels) | (labels != np.round(labels))
        if not_integer.any():
            bad = labels[not_integer][0]
            raise ValueError(f"label {bad} is not an integer; class labels must be 0, 1, 2, ...")
    labels = labels.astype(np.int64)

    if num_classes is None:
        if labels.size == 0:
            raise ValueError("cannot infer num_classes from an empty y; pass num_classes")
        num_classes = int(labels.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    num_classes = int(num_classes)
    if num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes}")

    out_of_range = (labels < 0) | (labels >= num_classes)
    if out_of_range.any():
        bad = int(labels[out_of_range][0])
        raise ValueError(
            f"label {bad} is out of range; valid labels are 0..{num_classes - 1} "
            f"(num_classes={num_classes})"
        )

    # Row k of the identity matrix is the one-hot vector of class k.
    return np.eye(num_classes, dtype=dtype)[labels]


# --------------------------------------------------------------------------- scaling


def _column_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and population std over axis 0, with constant features' std = 1.

    Dividing a constant feature by its std (0) would give NaN; dividing by 1 leaves
    it at 0 after centring, which is what scikit-learn does too. Constant columns are
    found by comparing values, because their computed std can be a tiny rounding
    error (~1e-17) instead of exactly 0.
    """
    # Accumulate in float64: float32 sums over many samples lose digits.
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=0)
    std = x64.std(axis=0)
    constant = np.all(x64 == x64[0], axis=0)
    std = np.where(constant | (std == 0.0), 1.0, std)
    return mean, std


def _check_stat(name: str, value: ArrayLike, feature_shape: Sequence[int]) -> np.ndarray:
    """Validate a user-supplied mean or std: finite, and one value per feature."""
    stat = _as_float_array(name, value).astype(np.float64)
    if stat.shape != tuple(feature_shape):
        raise ValueError(
            f"{name} has shape {stat.shape}, expected {tuple(feature_shape)} "
            "(one value per feature, i.e. x.shape[1:])"
        )
    return stat


def standardize(
    x: ArrayLike, mean: ArrayLike | None = None, std: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale features to zero mean and unit variance: x_std = (x − mean) / std.

    Compute mean and std on the training set, then pass them in for the test set so
    both get the same transformation::

        x_train_s, mean, std = standardize(x_train)
        x_test_s, _, _ = standardize(x_test, mean, std)

    Args:
        x: (n_samples, ...) data; statistics are taken over axis 0.
        mean: per-feature means of shape x.shape[1:]; computed from x if None.
        std: per-feature standard deviations (> 0) of shape x.shape[1:]; computed from
            x if None (population std, ddof=0; constant features get 1).

    Returns:
        x_std: same shape as x; float dtype of x (integers become float64).
        mean, std: float64, shape x.shape[1:].
    """
    x = _as_float_array("x", x)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x must have at least one sample along axis 0, got shape {x.shape}")
    if mean is not None:
        mean = _check_stat("mean", mean, x.shape[1:])
    if std is not None:
        std = _check_stat("std", std, x.shape[1:])
        if np.any(std <= 0):
            where = tuple(int(i) for i in np.argwhere(std <= 0)[0])
            raise ValueError(f"std must be > 0 for every feature, got {std[where]} at {where}")
    if mean is None or std is None:
        fitted_mean, fitted_std = _column_stats(x)
        mean = fitted_mean if mean is None else mean
        std = fitted_std if std is None else std
    x_std = ((x - mean) / std).astype(x.dtype)
    return x_std, mean, std


class StandardScaler:
    """Remember a training set's mean and std and apply them to any data.

    Matches scikit-learn's ``StandardScaler()`` with default arguments: population
    std (ddof=0), and constant features scaled by 1.

    Attributes:
        mean_: (n_features,) float64 per-feature mean, set by ``fit``.
        scale_: (n_features,) float64 per-feature std, set by ``fit``.
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, x: ArrayLike, y: Any = None) -> StandardScaler:
        """Compute mean_ and scale_ from x: (n_samples, n_features). ``y`` is ignored."""
        x = self._check_2d(x)
        self.mean_, self.scale_ = _column_stats(x)
        return self

    def transform(self, x: ArrayLike) -> np.ndarray:
        """Return (x − mean_) / scale_, shape (n_samples, n_features)."""
        x = self._check_fitted_input(x)
        return standardize(x, self.mean_, self.scale_)[0]

    def fit_transform(self, x: ArrayLike, y: Any = None) -> np.ndarray:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def inverse_transform(self, x: ArrayLike) -> np.ndarray:
        """Undo ``transform``: return x · scale_ + mean_, shape (n_samples, n_features)."""
        x = self._check_fitted_input(x)
        return (x * self.scale_ + self.mean_).astype(x.dtype)

    def _check_2d(self, x: ArrayLike) -> np.ndarray:
        x = _as_float_array("x", x)
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(
                f"x must be 2-D (n_samples, n_features) with n_samples >= 1, got shape {x.shape}"
            )
        return x

    def _check_fitted_input(self, x: ArrayLike) -> np.ndarray:
        if self.mean_ is None or self.scale_ is None:
            raise RuntimeError("this StandardScaler is not fitted yet; call fit(x) first")
        x = self._check_2d(x)
        if x.shape[1] != len(self.mean_):
            raise ValueError(
                f"x has {x.shape[1]} features, but the scaler was fitted on "
                f"{len(self.mean_)} features"
            )
        return x
