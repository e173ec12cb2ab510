"""Pretrained models that ship inside the package.

    from tinynn import pretrained
    model = pretrained.digits()                     # a tinynn Sequential, ready to predict
    model.predict(x)                                # x: (batch, 64) pixels in [0, 1]

``digits()`` classifies the bundled 8×8 digits (``tinynn.datasets.load_digits()``, pixels
scaled to [0, 1]): 64 -> Dense(64, relu) -> Dense(10, softmax), 4,810 parameters, 22 KB.
Its test accuracy is 0.9750 (351 of 360) on the split
``train_test_split(x, y, test_size=0.2, stratify=y, seed=0)``; it never saw those samples.

``scripts/train_pretrained_digits.py`` reproduces the file from scratch: training is seeded and
uses the NumPy backend, and on the same machine a rerun gives the same bytes
(``--check`` verifies it). The model is saved uncompiled, without optimizer state; compile it
before ``evaluate`` or further training.

``digits_path()`` gives the file itself, for ``tinynn.runtime.load_model`` or ``tinynn export``.
"""

from __future__ import annotations

from pathlib import Path

from tinynn.models import Sequential, load_model

#: Accuracy of ``digits()`` on the documented test split (351 / 360); a test asserts it.
DIGITS_TEST_ACCURACY = 0.975


def digits_path() -> Path:
    """Path of the shipped digits model file (a tinynn ``.npz``)."""
    return Path(__file__).with_name("digits.npz")


def digits() -> Sequential:
    """The pretrained digits classifier: (batch, 64) pixels in [0, 1] -> (batch, 10) class
    probabilities."""
    return load_model(str(digits_path()))


__all__ = ["DIGITS_TEST_ACCURACY", "digits", "digits_path"]
