"""The NumPy backend: the reference kernels every other backend is tested against.

A backend is a module-like namespace of pure functions. The Numba backend
(``tinynn.kernels.numba_ops``) exposes the same names with the same signatures, so a layer
calls ``self.ops.dense_forward(...)`` without knowing which one it has. The optimizer kernels
are here too, and also as the submodule ``optim``, so either the whole backend or
``backend.optim`` can be given to an optimizer as its ``ops``.
"""

from tinynn.kernels.numpy_ops import optim
from tinynn.kernels.numpy_ops.activations import (
    ACTIVATION_KERNELS,
    activation_backward,
    activation_forward,
)
from tinynn.kernels.numpy_ops.conv import (
    col2im,
    depthwise_conv2d_backward,
    depthwise_conv2d_forward,
    im2col,
)
from tinynn.kernels.numpy_ops.data import dropout_backward, dropout_forward, gather_rows
from tinynn.kernels.numpy_ops.dense import dense_backward, dense_forward
from tinynn.kernels.numpy_ops.losses import (
    sigmoid_cross_entropy,
    softmax_cross_entropy,
    sparse_softmax_cross_entropy,
)
from tinynn.kernels.numpy_ops.network import dense_stack_forward
from tinynn.kernels.numpy_ops.optim import (
    adam_update,
    clip_by_global_norm,
    clip_by_norm,
    clip_by_value,
    global_norm,
    l2_norm,
    rmsprop_update,
    sgd_update,
)
from tinynn.kernels.numpy_ops.pooling import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)

NAME = "numpy"

__all__ = [
    "ACTIVATION_KERNELS",
    "NAME",
    "activation_backward",
    "activation_forward",
    "adam_update",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "clip_by_global_norm",
    "clip_by_norm",
    "clip_by_value",
    "col2im",
    "dense_backward",
    "dense_forward",
    "dense_stack_forward",
    "depthwise_conv2d_backward",
    "depthwise_conv2d_forward",
    "dropout_backward",
    "dropout_forward",
    "gather_rows",
    "global_norm",
    "im2col",
    "l2_norm",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "optim",
    "rmsprop_update",
    "sgd_update",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
]
