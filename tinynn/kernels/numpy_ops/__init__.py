"""The NumPy backend: the reference kernels every other backend is tested against.

A backend is a module-like namespace of pure functions. The Numba backend exposes the same
names with the same signatures, so a layer calls ``self.ops.dense_forward(...)`` without
knowing which one it has.
"""

from tinynn.kernels.numpy_ops.activations import (
    ACTIVATION_KERNELS,
    activation_backward,
    activation_forward,
)
from tinynn.kernels.numpy_ops.data import dropout_backward, dropout_forward, gather_rows
from tinynn.kernels.numpy_ops.dense import dense_backward, dense_forward
from tinynn.kernels.numpy_ops.losses import (
    sigmoid_cross_entropy,
    softmax_cross_entropy,
    sparse_softmax_cross_entropy,
)

NAME = "numpy"

__all__ = [
    "ACTIVATION_KERNELS",
    "NAME",
    "activation_backward",
    "activation_forward",
    "dense_backward",
    "dense_forward",
    "dropout_backward",
    "dropout_forward",
    "gather_rows",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
]
