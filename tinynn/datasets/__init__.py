"""Data for tinynn: a bundled digits set, synthetic 2-D sets, MNIST loaders, preprocessing."""

from tinynn.datasets.digits import load_digits
from tinynn.datasets.idx import load_fashion_mnist, load_mnist, read_idx
from tinynn.datasets.preprocessing import (
    StandardScaler,
    standardize,
    to_categorical,
    train_test_split,
)
from tinynn.datasets.synthetic import make_blobs, make_moons, make_spirals, make_xor

__all__ = [
    "StandardScaler",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "make_blobs",
    "make_moons",
    "make_spirals",
    "make_xor",
    "read_idx",
    "standardize",
    "to_categorical",
    "train_test_split",
]
