"""Shared fixtures. Keep this file small: put helpers used by one test file in that file."""

from __future__ import annotations

import warnings

import numpy as np
import pytest


@pytest.fixture
def strict_numpy():
    """Make overflow, division by zero, invalid operations (NaN) and every warning an error.

    Underflow stays allowed: e^(−2e4) rounding to 0 is the correct float result, and stable
    kernels rely on it (that is what subtracting the row maximum in softmax is for).
    """
    with (
        np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error")
        yield


@pytest.fixture
def away_from_zero():
    """``make(shape, seed, margin=0.05)``: normal samples with |x| ≥ margin.

    ReLU, leaky ReLU and ELU have a kink at 0, where central differences straddle two slopes
    and disagree with any one-sided derivative; keeping inputs off the kink avoids that.
    """

    def make(shape, seed=0, margin=0.05):
        x = np.random.default_rng(seed).normal(size=shape)
        return np.where(np.abs(x) < margin, np.copysign(margin + np.abs(x), x), x)

    return make
