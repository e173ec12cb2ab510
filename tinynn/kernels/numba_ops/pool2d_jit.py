"""2-D pooling kernels for the Numba backend: the twin of ``numpy_ops.pooling``.

Same names, signatures and NHWC shapes. The compiled loops read the input in place; the
padding is skipped by bounds checks, which has the effect of the NumPy version's −∞ (max) or
uncounted (average) padding. Measured on 128×26×26×32 float32 with 2×2 windows (NumPy ->
Numba): max pooling forward 1.3 -> 0.6 ms, backward 2.1 -> 0.5 ms.
"""

from __future__ import annotations

import numpy as np

from tinynn.kernels.numba_ops.config import jit, prange
from tinynn.kernels.numba_ops.conv_patches_jit import check_geometry, check_shape
from tinynn.kernels.numpy_ops.conv_patches import Pads, Pair


def _check_pooling(
    images: np.ndarray, pooled: np.ndarray, pool_size: Pair, strides: Pair, pads: Pads
) -> None:
    """ValueError unless images (N, H, W, C) pool to pooled (N, Ho, Wo, C) with this window.

    Going forward images is x and pooled is out; going back, out and grad_y.
    """
    check_geometry(images.shape, pooled.shape[1:3], pool_size, strides, (1, 1), pads)
    if pooled.shape[::3] != images.shape[::3]:
        raise ValueError(
            f"batch and channels must match: images {images.shape}, pooled {pooled.shape}"
        )


@jit
def _max_forward(x, ph, pw, sh, sw, top, left, out, argmax):
    n, h, w, channels = x.shape
    ho, wo = out.shape[1], out.shape[2]
    for b in prange(n):
        for i in range(ho):
            for j in range(wo):
                for c in range(channels):
                    out[b, i, j, c] = -np.inf
                    argmax[b, i, j, c] = 0
                for a in range(ph):
                    r = i * sh + a - top
                    for q in range(pw):
                        s = j * sw + q - left
                        if 0 <= r < h and 0 <= s < w:
                            for c in range(channels):
                                # strictly greater: an earlier offset keeps a tie, as in NumPy
                                if x[b, r, s, c] > out[b, i, j, c]:
                                    out[b, i, j, c] = x[b, r, s, c]
                                    argmax[b, i, j, c] = a * pw + q


def max_pool2d_forward(
    x: np.ndarray,
    pool_size: Pair,
    strides: Pair,
    pads: Pads,
    out: np.ndarray,
    argmax_out: np.ndarray,
) -> np.ndarray:
    """y = the maximum of each window; argmax_out records which offset i·pw + j won."""
    _check_pooling(x, out, pool_size, strides, pads)
    check_shape("argmax_out", argmax_out, out.shape)
    _max_forward(x, *pool_size, *strides, pads[0], pads[2], out, argmax_out)
    return out


@jit
def _max_backward(g, argmax, ph, pw, sh, sw, top, left, out):
    n, h, w, channels = out.shape
    ho, wo = g.shape[1], g.shape[2]
    for b in prange(n):
        out[b] = 0.0
        # One pass per window offset, comparing with the stored argmax: this vectorizes,
        # where decoding each argmax into (row, column) with // and % did not.
        for a in range(ph):
            for q in range(pw):
                k = a * pw + q
                for i in range(ho):
                    r = i * sh + a - top
                    if 0 <= r < h:
                        g_row = g[b, i]
                        arg_row = argmax[b, i]
                        out_row = out[b, r]
                        for j in range(wo):
                            s = j * sw + q - left
                            if 0 <= s < w:
                                for c in range(channels):
                                    if arg_row[j, c] == k:
                                        out_row[s, c] += g_row[j, c]


def max_pool2d_backward(
    grad_y: np.ndarray,
    argmax: np.ndarray,
    pool_size: Pair,
    strides: Pair,
    pads: Pads,
    out: np.ndarray,
) -> np.ndarray:
    """dL/dx: each output's gradient goes to the one input that was its maximum."""
    _check_pooling(out, grad_y, pool_size, strides, pads)
    check_shape("argmax", argmax, grad_y.shape)
    _max_backward(grad_y, argmax, *pool_size, *strides, pads[0], pads[2], out)
    return out


@jit
def _avg_forward(x, ph, pw, sh, sw, top, left, out):
    n, h, w, channels = x.shape
    ho, wo = out.shape[1], out.shape[2]
    for b in prange(n):
        for i in range(ho):
            for j in range(wo):
                out[b, i, j, :] = 0.0
                count = 0
                for a in range(ph):
                    r = i * sh + a - top
                    for q in range(pw):
                        s = j * sw + q - left
                        if 0 <= r < h and 0 <= s < w:
                            count += 1
                            for c in range(channels):
                                out[b, i, j, c] += x[b, r, s, c]
                for c in range(channels):
                    out[b, i, j, c] /= count


def avg_pool2d_forward(
    x: np.ndarray, pool_size: Pair, strides: Pair, pads: Pads, out: np.ndarray
) -> np.ndarray:
    """y = the mean of the real pixels in each window (padding is not counted)."""
    _check_pooling(x, out, pool_size, strides, pads)
    _avg_forward(x, *pool_size, *strides, pads[0], pads[2], out)
    return out


@jit
def _avg_backward(g, ph, pw, sh, sw, top, left, out):
    n, h, w, channels = out.shape
    ho, wo = g.shape[1], g.shape[2]
    for b in prange(n):
        out[b] = 0.0
        for i in range(ho):
            for j in range(wo):
                count = 0
                for a in range(ph):
                    for q in range(pw):
                        if 0 <= i * sh + a - top < h and 0 <= j * sw + q - left < w:
                            count += 1
                for a in range(ph):
                    r = i * sh + a - top
                    for q in range(pw):
                        s = j * sw + q - left
                        if 0 <= r < h and 0 <= s < w:
                            for c in range(channels):
                                out[b, r, s, c] += g[b, i, j, c] / count


def avg_pool2d_backward(
    grad_y: np.ndarray, pool_size: Pair, strides: Pair, pads: Pads, out: np.ndarray
) -> np.ndarray:
    """dL/dx: each output's gradient, divided by its window's count, spread over the window."""
    _check_pooling(out, grad_y, pool_size, strides, pads)
    _avg_backward(grad_y, *pool_size, *strides, pads[0], pads[2], out)
    return out


__all__ = [
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "max_pool2d_backward",
    "max_pool2d_forward",
]
