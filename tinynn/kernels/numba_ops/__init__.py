"""The Numba backend: compiled twins of the NumPy kernels, with identical names and signatures.

Importing this package imports Numba (``tinynn.kernels.get_backend`` does it only on request);
the kernels themselves compile on their first call and are cached on disk (``config.py`` holds
every Numba setting and the measurements behind them). Matrix products still go to BLAS through
``np.matmul``; what is compiled is the element-wise and row-wise work around them, fused into
single passes. ``optim`` is the optimizer-kernel submodule, as in the NumPy backend.
"""

from tinynn.kernels.numba_ops import optim
from tinynn.kernels.numba_ops.activations import (
    ACTIVATION_KERNELS,
    activation_backward,
    activation_forward,
)
from tinynn.kernels.numba_ops.conv import (
    col2im,
    depthwise_conv2d_backward,
    depthwise_conv2d_forward,
    im2col,
)
from tinynn.kernels.numba_ops.data import dropout_backward, dropout_forward, gather_rows
from tinynn.kernels.numba_ops.dense import dense_backward, dense_forward
from tinynn.kernels.numba_ops.losses import (
    sigmoid_cross_entropy,
    softmax_cross_entropy,
    sparse_softmax_cross_entropy,
)
from tinynn.kernels.numba_ops.network import dense_stack_forward
from tinynn.kernels.numba_ops.optim import (
    adam_update,
    clip_by_global_norm,
    clip_by_norm,
    clip_by_value,
    global_norm,
    l2_norm,
    rmsprop_update,
    sgd_update,
)
from tinynn.kernels.numba_ops.pooling import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)

NAME = "numba"

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
