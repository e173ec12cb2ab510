"""The NumPy side of ``bench_kernels.py``: each Numba twin's name and signature, computed by the
maths the classes hold.

Since the core keeps an activation's and a loss's NumPy maths in its class, the NumPy backend has
no ``dense_forward`` or ``softmax_cross_entropy`` of its own: the reference for a twin is the
class method the layer runs on that backend, the same one ``tests/test_kernels_numba.py`` holds
the twin to. ``NumpyReference`` wraps those methods in the twins' signatures, so that one
benchmark case can call either side with the same arguments:

    dense_forward(x, W, b, activation, out)     tinynn.layers.dense.dense_step_forward
    dense_backward(x, W, y, grad_y, …)          tinynn.layers.dense.dense_step_backward
    softmax_cross_entropy(logits, targets, g)   CategoricalCrossentropy(from_logits=True).forward
    sparse_softmax_cross_entropy(…)             SparseCategoricalCrossentropy(from_logits=True)…
    gather_rows, optim.*_update                 the NumPy backend's own functions

The wrappers add one attribute or dictionary store per call (well under a microsecond) and no
pass over the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn import losses
from tinynn.kernels import numpy_ops
from tinynn.layers.dense import dense_step_backward, dense_step_forward


class NumpyReference:
    """The reference kernels, in the twins' signatures (see the module docstring)."""

    NAME = "numpy"
    optim = numpy_ops.optim
    gather_rows = staticmethod(numpy_ops.gather_rows)

    def __init__(self) -> None:
        # One loss object each, made once (as a compiled model keeps one): creating it per call
        # would be timed too. Its workspace is where its forward writes dL/dz.
        self._categorical = losses.CategoricalCrossentropy(from_logits=True)
        self._sparse = losses.SparseCategoricalCrossentropy(from_logits=True)
        self._categorical.workspace, self._sparse.workspace = {}, {}

    @staticmethod
    def dense_forward(
        x: np.ndarray, W: np.ndarray, b: np.ndarray | None, activation: Any, out: np.ndarray
    ) -> np.ndarray:
        return dense_step_forward(numpy_ops, activation, x, W, b, out)

    @staticmethod
    def dense_backward(x, W, y, grad_y, activation, grad_W, grad_b, grad_z, grad_x) -> None:
        if activation is not None:
            activation.y = y  # the output its forward cached, from which its backward works
        else:  # the reference passes dL/dy on as dL/dz; the twin writes it into grad_z
            grad_z[...] = grad_y
        dense_step_backward(numpy_ops, activation, x, W, y, grad_y, grad_W, grad_b, grad_z, grad_x)

    def softmax_cross_entropy(self, logits, targets, grad_out) -> float:
        return _forward_into(self._categorical, logits, targets, grad_out)

    def sparse_softmax_cross_entropy(self, logits, labels, grad_out) -> float:
        return _forward_into(self._sparse, logits, labels, grad_out)


def _forward_into(loss: losses.Loss, logits, targets, grad_out: np.ndarray) -> float:
    """The loss's forward, its dL/dz written into ``grad_out`` as the twin writes it: the
    training loop lends a loss its gradient buffer the same way."""
    loss.workspace["grad"] = grad_out
    return loss.forward(logits, targets)
