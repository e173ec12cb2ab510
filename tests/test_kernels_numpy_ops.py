"""The NumPy backend: the functions with no class of their own (batch gathering here;
convolutions, pooling and normalization in their own test files; optimizer updates in
``test_kernels_numpy_optim.py``)."""

from __future__ import annotations

import numpy as np

from tinynn import activations, losses
from tinynn.kernels import get_backend, numpy_ops


def test_gather_rows_copies_into_the_buffer():
    source = np.arange(12.0).reshape(4, 3)
    out = np.empty((3, 3))
    result = numpy_ops.gather_rows(source, np.array([2, 0, 2]), out)
    assert result is out
    np.testing.assert_array_equal(out, source[[2, 0, 2]])


def test_numpy_backend_is_the_reference_module_and_fuses_nothing():
    assert get_backend("numpy") is numpy_ops
    assert numpy_ops.NAME == "numpy"
    assert not numpy_ops.fuses(activations.ReLU())
    assert not numpy_ops.fuses(losses.CategoricalCrossentropy(from_logits=True))
