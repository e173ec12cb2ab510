"""The bundled 8x8 handwritten-digits data set (UCI "optdigits", 1,797 images).

It is small enough to ship inside the package (57 KB), so the first examples in the
docs train a real classifier without any download. The file is a byte-for-byte copy
of scikit-learn's ``digits.csv.gz``; see ``data/DIGITS_LICENSE.txt`` for credits and
the CC BY 4.0 license.
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources

import numpy as np

N_SAMPLES = 1797
IMAGE_SIDE = 8
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE
N_CLASSES = 10
MAX_PIXEL = 16  # each pixel counts the "on" pixels of a 4x4 block of a 32x32 bitmap

_DATA_FILE = "digits.csv.gz"


@functools.lru_cache(maxsize=1)
def _read_table() -> np.ndarray:
    """Parse the bundled CSV once per process.

    Returns:
        table: (1797, 65) int64, read-only. Columns 0..63 are pixels, column 64 the label.

    The array is marked read-only because the cache shares it between calls; the
    public function always hands out fresh copies.
    """
    resource = resources.files("tinynn.datasets").joinpath("data").joinpath(_DATA_FILE)
    with resource.open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)

    expected_shape = (N_SAMPLES, N_PIXELS + 1)
    if table.shape != expected_shape:
        raise ValueError(
            f"bundled {_DATA_FILE} has shape {table.shape}, expected {expected_shape}; "
            "the tinynn installation looks damaged, reinstall it"
        )
    table.flags.writeable = False
    return table


def load_digits(normalize: bool = True, as_images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Load the 1,797 handwritten digits bundled with tinynn.

    Args:
        normalize: if True, divide pixels by 16 so they lie in [0, 1]; otherwise keep
            the raw counts 0..16 (still as float32).
        as_images: if True, return images shaped (N, 8, 8, 1) ("channels last", as
            Keras convolution layers expect); otherwise flat rows of 64 pixels.

    Returns:
        x: float32, (1797, 64), or (1797, 8, 8, 1) when ``as_images``.
        y: int64, (1797,), digit labels 0..9.

    Every call returns new arrays, so editing them never affects a later call.

    Example:
        >>> x, y = load_digits()
        >>> x.shape, y.shape
        ((1797, 64), (1797,))
    """
    table = _read_table()
    # astype copies, which is what keeps the cached table private.
    x = table[:, :N_PIXELS].astype(np.float32)
    y = table[:, N_PIXELS].astype(np.int64)

    if normalize:
        x /= MAX_PIXEL
    if as_images:
        x = x.reshape(N_SAMPLES, IMAGE_SIDE, IMAGE_SIDE, 1)
    return x, y
