"""2-D pooling kernels in plain NumPy (NHWC): the reference implementation.

x (N, H, W, C) -> y (N, Ho, Wo, C); each output looks at a (ph, pw) window that starts every
(sh, sw) pixels. ``pads = (top, bottom, left, right)`` as in the conv kernels. Like the conv
kernels, the loops run over the ph·pw window offsets and move whole strided slices.
"""

from __future__ import annotations

import numpy as np

from tinynn.kernels.numpy_ops.conv import Pads, Pair, pad2d


def _window_slices(i: int, j: int, out_hw: Pair, strides: Pair) -> tuple[slice, slice]:
    """Rows and columns of the padded input at window offset (i, j), one per output pixel."""
    rows = slice(i, i + strides[0] * (out_hw[0] - 1) + 1, strides[0])
    cols = slice(j, j + strides[1] * (out_hw[1] - 1) + 1, strides[1])
    return rows, cols


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
            rows, cols = _window_slices(i, j, (ho, wo), strides)
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
    n, ho, wo, channels = grad_y.shape
    h, w = out.shape[1:3]
    top, bottom, left, right = pads
    grad_padded = np.zeros((n, h + top + bottom, w + left + right, channels), dtype=out.dtype)
    for i in range(ph):
        for j in range(pw):
            rows, cols = _window_slices(i, j, (ho, wo), strides)
            grad_padded[:, rows, cols, :] += grad_y * (argmax == i * pw + j)
    out[...] = grad_padded[:, top : top + h, left : left + w, :]
    return out


def window_counts(input_hw: Pair, pool_size: Pair, strides: Pair, pads: Pads) -> np.ndarray:
    """(Ho, Wo, 1): how many real (not padding) pixels each window covers.

    Keras divides a "same"-padded average by this count (PyTorch's count_include_pad=False).
    """
    (h, w), (top, bottom, left, right) = input_hw, pads
    ho = (h + top + bottom - pool_size[0]) // strides[0] + 1
    wo = (w + left + right - pool_size[1]) // strides[1] + 1
    ones = pad2d(np.ones((1, h, w, 1)), pads)
    counts = np.zeros((1, ho, wo, 1))
    for i in range(pool_size[0]):
        for j in range(pool_size[1]):
            rows, cols = _window_slices(i, j, (ho, wo), strides)
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
            rows, cols = _window_slices(i, j, (ho, wo), strides)
            out += xp[:, rows, cols, :]
    out /= window_counts(x.shape[1:3], pool_size, strides, pads).astype(out.dtype)
    return out


def avg_pool2d_backward(
    grad_y: np.ndarray, pool_size: Pair, strides: Pair, pads: Pads, out: np.ndarray
) -> np.ndarray:
    """dL/dx: each output's gradient, divided by its window's count, spread over the window."""
    ph, pw = pool_size
    n, ho, wo, channels = grad_y.shape
    h, w = out.shape[1:3]
    top, bottom, left, right = pads
    counts = window_counts((h, w), pool_size, strides, pads).astype(out.dtype)
    share = grad_y / counts
    grad_padded = np.zeros((n, h + top + bottom, w + left + right, channels), dtype=out.dtype)
    for i in range(ph):
        for j in range(pw):
            rows, cols = _window_slices(i, j, (ho, wo), strides)
            grad_padded[:, rows, cols, :] += share
    out[...] = grad_padded[:, top : top + h, left : left + w, :]
    return out
