"""2-D pooling kernels in plain NumPy (NHWC): the reference implementation.

x (N, H, W, C) -> y (N, Ho, Wo, C); each output looks at a (ph, pw) window that starts every
(sh, sw) pixels. ``pads = (top, bottom, left, right)`` as in the conv kernels. Like the conv
kernels, the loops run over the ph·pw window offsets and move whole strided slices.
"""

from __future__ import annotations

import numpy as np

from tinynn.kernels.numpy_ops.conv_patches import (
    Pads,
    Pair,
    crop2d,
    offset_slices,
    output_size,
    pad2d,
    padded_zeros,
)

# A pooling window is a conv kernel without dilation, so it reads the same strided slices.
_NO_DILATION = (1, 1)


def max_pool2d_forward(
    x: np.ndarray,
    pool_size: Pair,
    strides: Pair,
    pads: Pads,
    out: np.ndarray,
    argmax_out: np.ndarray,
) -> np.ndarray:
    """y = the maximum of each window; argmax_out records which offset i·pw + j won.

    Padding is −∞, so it never wins. Ties go to the first offset in row-major order (as in
    PyTorch), so exactly one input receives each output's gradient.
    """
    ph, pw = pool_size
    ho, wo = out.shape[1:3]
    xp = pad2d(x, pads, value=-np.inf)
    is_better = np.empty(out.shape, dtype=bool)
    for i in range(ph):
        for j in range(pw):
            rows, cols = offset_slices(i, j, (ho, wo), strides, _NO_DILATION)
            window = xp[:, rows, cols, :]
            if i == 0 and j == 0:
                out[...] = window
                argmax_out[...] = 0
                continue
            # Branch-free updates: masked copies (np.copyto(where=), np.where) run ~20x slower
            # on the random masks that pooling produces. Offsets grow, so the larger of the
            # stored offset and k·[window > out] is the offset of the first maximum so far.
            np.greater(window, out, out=is_better)  # strictly: an earlier offset keeps a tie
            np.maximum(argmax_out, is_better * argmax_out.dtype.type(i * pw + j), out=argmax_out)
            np.maximum(out, window, out=out)
    return out


def max_pool2d_backward(
    grad_y: np.ndarray,
    argmax: np.ndarray,
    pool_size: Pair,
    strides: Pair,
    pads: Pads,
    out: np.ndarray,
) -> np.ndarray:
    """dL/dx: each output's gradient goes to the one input that was its maximum.

    Overlapping windows (strides < pool_size) may send several gradients to one pixel; they
    add up. out (N, H, W, C) is overwritten.
    """
    ph, pw = pool_size
    ho, wo = grad_y.shape[1:3]
    grad_padded = padded_zeros(out, pads)
    for i in range(ph):
        for j in range(pw):
            rows, cols = offset_slices(i, j, (ho, wo), strides, _NO_DILATION)
            grad_padded[:, rows, cols, :] += grad_y * (argmax == i * pw + j)
    return crop2d(grad_padded, pads, out)


def window_counts(input_hw: Pair, pool_size: Pair, strides: Pair, pads: Pads) -> np.ndarray:
    """(Ho, Wo, 1): how many real (not padding) pixels each window covers.

    Keras divides a "same"-padded average by this count (PyTorch's count_include_pad=False).
    """
    (h, w), (top, bottom, left, right) = input_hw, pads
    ho = output_size(h, pool_size[0], strides[0], 1, top + bottom)
    wo = output_size(w, pool_size[1], strides[1], 1, left + right)
    ones = pad2d(np.ones((1, h, w, 1)), pads)
    counts = np.zeros((1, ho, wo, 1))
    for i in range(pool_size[0]):
        for j in range(pool_size[1]):
            rows, cols = offset_slices(i, j, (ho, wo), strides, _NO_DILATION)
            counts += ones[:, rows, cols, :]
    return counts[0]


def avg_pool2d_forward(
    x: np.ndarray, pool_size: Pair, strides: Pair, pads: Pads, out: np.ndarray
) -> np.ndarray:
    """y = the mean of the real pixels in each window (padding is not counted)."""
    ph, pw = pool_size
    ho, wo = out.shape[1:3]
    xp = pad2d(x, pads)
    out[...] = 0.0
    for i in range(ph):
        for j in range(pw):
            rows, cols = offset_slices(i, j, (ho, wo), strides, _NO_DILATION)
            out += xp[:, rows, cols, :]
    out /= window_counts(x.shape[1:3], pool_size, strides, pads).astype(out.dtype)
    return out


def avg_pool2d_backward(
    grad_y: np.ndarray, pool_size: Pair, strides: Pair, pads: Pads, out: np.ndarray
) -> np.ndarray:
    """dL/dx: each output's gradient, divided by its window's count, spread over the window."""
    ph, pw = pool_size
    ho, wo = grad_y.shape[1:3]
    counts = window_counts(out.shape[1:3], pool_size, strides, pads).astype(out.dtype)
    share = grad_y / counts
    grad_padded = padded_zeros(out, pads)
    for i in range(ph):
        for j in range(pw):
            rows, cols = offset_slices(i, j, (ho, wo), strides, _NO_DILATION)
            grad_padded[:, rows, cols, :] += share
    return crop2d(grad_padded, pads, out)
