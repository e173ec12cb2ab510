"""2-D convolution kernels in plain NumPy (NHWC): the reference implementation.

Layout, as in Keras: images x (batch, H, W, C), kernels (kh, kw, C, …). Every kernel takes the
*unpadded* input and ``pads = (top, bottom, left, right)``; zero padding is applied inside.

A convolution is a Dense layer applied to every patch. ``im2col`` copies each receptive field
into one row, so that

    y[n, i, j, f] = Σ_{a, b, c} x_pad[n, i·s + a·d, j·s + b·d, c] · W[a, b, c, f]

becomes one matrix product  cols (N·Ho·Wo, kh·kw·C) @ W.reshape(kh·kw·C, F), where s is the
stride and d the dilation. The backward pass is the same product transposed, and ``col2im``
adds each row's gradient back onto the pixels it was copied from.

The loops below run over the kh·kw kernel offsets only (9 for a 3×3 kernel); each iteration
moves a whole strided slice of the batch, so the Python overhead stays small.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]


def conv_geometry(
    input_hw: tuple[int, int],
    kernel_size: tuple[int, int],
    strides: tuple[int, int],
    dilation: tuple[int, int],
    padding: Any,
) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """Output (Ho, Wo) and pads (top, bottom, left, right), with Keras/TensorFlow conventions.

    A dilated kernel spans k_eff = d·(k − 1) + 1 pixels.
        "valid": no padding,  Ho = ⌊(H − k_eff) / s⌋ + 1
        "same":   Ho = ⌈H / s⌉; the total padding (Ho − 1)·s + k_eff − H is split with the
                  extra pixel at the bottom/right (PyTorch pads symmetrically and has no
                  "same" for strides > 1; the two agree whenever the total is even).
        explicit pads (top, bottom, left, right), as PyTorch's padding=:
                  Ho = ⌊(H + top + bottom − k_eff) / s⌋ + 1
    """
    out_hw, pads = [], []
    explicit = padding if not isinstance(padding, str) else None
    for axis, (size, k, s, d) in enumerate(
        zip(input_hw, kernel_size, strides, dilation, strict=True)
    ):
        span = d * (k - 1) + 1
        if explicit is not None:
            before, after = explicit[2 * axis], explicit[2 * axis + 1]
            out = (size + before + after - span) // s + 1
            pads += [before, after]
        elif padding == "same":
            out = math.ceil(size / s)
            total = max((out - 1) * s + span - size, 0)
            pads += [total // 2, total - total // 2]
        else:
            out = (size - span) // s + 1
            pads += [0, 0]
        if out <= 0:
            raise ValueError(
                f"input size {input_hw} is smaller than the kernel/pool window {kernel_size} "
                f"(dilation {dilation}) with padding={padding!r}; use padding='same' or a "
                "larger input"
            )
        out_hw.append(out)
    return (out_hw[0], out_hw[1]), (pads[0], pads[1], pads[2], pads[3])


def output_size(size: int, kernel: int, stride: int, dilation: int, pad_total: int) -> int:
    """Output length of one spatial axis: ⌊(size + pad_total − d·(k − 1) − 1) / s⌋ + 1."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def pad2d(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """x (N, H, W, C) with ``pads`` rows/columns of ``value`` added; x itself when pads are 0."""
    top, bottom, left, right = pads
    if not any(pads):
        return x
    n, h, w, c = x.shape
    out = np.full((n, h + top + bottom, w + left + right, c), value, dtype=x.dtype)
    out[:, top : top + h, left : left + w, :] = x
    return out


def padded_zeros(x: np.ndarray, pads: Pads) -> np.ndarray:
    """Zeros shaped like ``pad2d(x, pads)``: where a backward pass adds up its gradients."""
    top, bottom, left, right = pads
    n, h, w, c = x.shape
    return np.zeros((n, h + top + bottom, w + left + right, c), dtype=x.dtype)


def crop2d(xp: np.ndarray, pads: Pads, out: np.ndarray) -> np.ndarray:
    """out (N, H, W, C) = xp without its ``pads``: the adjoint of ``pad2d``.

    Gradients that landed on the padding are dropped; out is overwritten.
    """
    top, left = pads[0], pads[2]
    h, w = out.shape[1:3]
    out[...] = xp[:, top : top + h, left : left + w, :]
    return out


def offset_slices(
    i: int, j: int, out_hw: Pair, strides: Pair, dilation: Pair
) -> tuple[slice, slice]:
    """Rows and columns of the padded input that kernel offset (i, j) reads, one per output."""
    row0, col0 = i * dilation[0], j * dilation[1]
    rows = slice(row0, row0 + strides[0] * (out_hw[0] - 1) + 1, strides[0])
    cols = slice(col0, col0 + strides[1] * (out_hw[1] - 1) + 1, strides[1])
    return rows, cols


def im2col(
    x: np.ndarray,
    kernel_size: Pair,
    strides: Pair,
    dilation: Pair,
    pads: Pads,
    out: np.ndarray,
) -> np.ndarray:
    """Copy every receptive field of x (N, H, W, C) into a row of out (N, Ho, Wo, kh·kw·C).

    Row order within a patch is (kernel row, kernel column, channel): the order of
    ``W.reshape(kh·kw·C, F)`` for a kernel W (kh, kw, C, F).
    """
    kh, kw = kernel_size
    n, ho, wo, _ = out.shape
    channels = x.shape[3]
    xp = pad2d(x, pads)
    patches = out.reshape(n, ho, wo, kh, kw, channels)
    for i in range(kh):
        for j in range(kw):
            rows, cols = offset_slices(i, j, (ho, wo), strides, dilation)
            patches[:, :, :, i, j, :] = xp[:, rows, cols, :]
    return out


def col2im(
    cols: np.ndarray,
    kernel_size: Pair,
    strides: Pair,
    dilation: Pair,
    pads: Pads,
    out: np.ndarray,
) -> np.ndarray:
    """The adjoint of ``im2col``: add each row of cols (N, Ho, Wo, kh·kw·C) back onto out.

    out (N, H, W, C) is overwritten. A pixel that several patches overlap receives the sum of
    their gradients; gradients that land on the zero padding are dropped.
    """
    kh, kw = kernel_size
    n, ho, wo, _ = cols.shape
    grad_padded = padded_zeros(out, pads)
    patches = cols.reshape(n, ho, wo, kh, kw, out.shape[3])
    for i in range(kh):
        for j in range(kw):
            rows, cols_ = offset_slices(i, j, (ho, wo), strides, dilation)
            grad_padded[:, rows, cols_, :] += patches[:, :, :, i, j, :]
    return crop2d(grad_padded, pads, out)


def depthwise_conv2d_forward(
    x: np.ndarray,
    W: np.ndarray,
    strides: Pair,
    dilation: Pair,
    pads: Pads,
    out: np.ndarray,
) -> np.ndarray:
    """Each input channel convolved with its own M filters: no sum over channels.

        y[n, i, j, c·M + m] = Σ_{a, b} x_pad[n, i·s + a·d, j·s + b·d, c] · W[a, b, c, m]

    x (N, H, W, C), W (kh, kw, C, M), out (N, Ho, Wo, C·M), channel-major as in Keras.
    """
    kh, kw, channels, multiplier = W.shape
    n, ho, wo, _ = out.shape
    xp = pad2d(x, pads)
    acc = out.reshape(n, ho, wo, channels, multiplier)
    acc[...] = 0.0
    for i in range(kh):
        for j in range(kw):
            rows, cols = offset_slices(i, j, (ho, wo), strides, dilation)
            acc += xp[:, rows, cols, :, None] * W[i, j]
    return out


def depthwise_conv2d_backward(
    x: np.ndarray,
    W: np.ndarray,
    grad_y: np.ndarray,
    strides: Pair,
    dilation: Pair,
    pads: Pads,
    grad_W: np.ndarray,
    grad_x: np.ndarray | None,
) -> None:
    """Gradients of ``depthwise_conv2d_forward`` for the upstream grad_y (N, Ho, Wo, C·M).

    dL/dW[a, b, c, m] = Σ_{n, i, j} x_pad[n, i·s + a·d, j·s + b·d, c] · g[n, i, j, c, m]
    dL/dx_pad[n, i·s + a·d, j·s + b·d, c] += Σ_m g[n, i, j, c, m] · W[a, b, c, m]
    grad_x (N, H, W, C) is skipped when None.
    """
    kh, kw, channels, multiplier = W.shape
    n, ho, wo, _ = grad_y.shape
    xp = pad2d(x, pads)
    g = grad_y.reshape(n, ho, wo, channels, multiplier)
    grad_padded = np.zeros_like(xp) if grad_x is not None else None
    for i in range(kh):
        for j in range(kw):
            rows, cols = offset_slices(i, j, (ho, wo), strides, dilation)
            window = xp[:, rows, cols, :]
            grad_W[i, j] = np.einsum("nhwc,nhwcm->cm", window, g)
            if grad_padded is not None:
                grad_padded[:, rows, cols, :] += np.einsum("nhwcm,cm->nhwc", g, W[i, j])
    if grad_x is not None:
        crop2d(grad_padded, pads, grad_x)
