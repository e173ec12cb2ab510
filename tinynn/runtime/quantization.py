"""int8 post-training quantization: the number format and its integer arithmetic, once.

This module is the definition. The NumPy integer reference (``tinynn.runtime.int8_layers``)
calls these functions, and the C header of ``tinynn export --quantize int8`` does the same
integer operations in the same order, so its outputs are bit-exact against NumPy's (a test
checks 1,000 samples). The scheme is TensorFlow Lite's int8 specification
(https://www.tensorflow.org/lite/performance/quantization_spec):

* **A real number is** ``r = scale · (q − zero_point)`` with q an int8.
* **Activations** (every tensor between layers): one ``scale`` and ``zero_point`` per tensor,
  from the smallest and largest value the calibration data produced there
  (``choose_qparams``): the range is widened to include 0, so that 0 (padding, ReLU) is exact,
  and spread over the 256 values −128..127.
* **Weights**: int8 in −127..127, symmetric (zero point 0), one scale per output channel:
  ``s_w[c] = max |W[…, c]| / 127`` (``quantize_weights``).
* **Biases**: int32, scale ``s_x · s_w[c]``, zero point 0, so they add straight onto the
  accumulator.
* **Accumulators**: int32, ``acc[c] = bias[c] + Σ (x_q − zp_x) · w_q``.
* **Requantization** to the output's scale: the real multiplier ``M = s_x · s_w[c] / s_y`` is
  stored as a 32-bit fixed-point number and a power of two, ``M = M0 · 2^(shift − 31)`` with
  ``M0`` in [2^30, 2^31) (``quantize_multiplier``), and
  ``y_q = zp_y + multiply_by_quantized_multiplier(acc, M0, shift)``: the acc·M0 product is
  rounded to its high 32 bits (``saturating_rounding_doubling_high_mul``), then divided by
  2^−shift rounding half away from zero (``rounding_divide_by_pot``): gemmlowp's functions,
  which TFLite's reference kernels call.
* **Saturation**: the result is clamped to −128..127, or to the range of a fused ReLU
  (zp_y..127) or ReLU6 (zp_y..zp_y + round(6 / s_y)).

Where this deviates from TFLite, for simplicity, it says so: an element-wise activation that is
not a ReLU is a 256-entry lookup table computed in float64 (TFLite has fixed-point
approximations for some); softmax rounds exp(−s·d) times 2^20 from a table over the distance d
to the row maximum and divides with integers (TFLite uses fixed-point exp); a left shift
(M ≥ 1) saturates to int32 rather than overflowing. Right shifts of negative numbers are
arithmetic, as on every compiler TFLite supports.
"""

from __future__ import annotations

import math

import numpy as np

QMIN, QMAX = -128, 127
WEIGHT_MAX = 127
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
#: Softmax outputs are probabilities: TFLite fixes their scale to 1/256, zero point −128.
SOFTMAX_QPARAMS = (1 / 256, -128)
#: Fixed output ranges TFLite uses where the function bounds them: sigmoid (0, 1), tanh (−1, 1).
FIXED_QPARAMS = {"softmax": SOFTMAX_QPARAMS, "sigmoid": (1 / 256, -128), "tanh": (1 / 128, 0)}
EXP_BITS = 20  # softmax: exp(−s·d) as an integer times 2^20


def round_half_away(v: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, halves away from zero (C's ``roundf``), exactly: v − trunc(v)
    is exact in floating point, so no sum of v and 0.5 can round the wrong way."""
    v = np.asarray(v)
    whole = np.trunc(v)
    return whole + np.where(np.abs(v - whole) >= 0.5, np.sign(v), 0).astype(v.dtype)


def choose_qparams(low: float, high: float) -> tuple[float, int]:
    """(scale, zero point) spreading [min(low, 0), max(high, 0)] over −128..127.

    The scale is a float32 value (what the C header stores). A range of one value (all zeros)
    gets scale 1. The zero point is round(−128 − low / scale), clamped to −128..127.
    """
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    scale = float(np.float32((high - low) / (QMAX - QMIN)))
    if not scale > 0 or not math.isfinite(scale):
        return 1.0, 0
    zero_point = int(round_half_away(np.float64(QMIN - low / scale)))
    return scale, min(max(zero_point, QMIN), QMAX)


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """q = clamp(round(x / scale) + zero_point) as int8, in float32 as the C header does it:
    ``roundf(x / scale) + zero_point``, then clamped."""
    v = np.asarray(x, np.float32) / np.float32(scale)
    q = round_half_away(v) + np.float32(zero_point)
    return np.clip(q, QMIN, QMAX).astype(np.int8)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """r = scale · (q − zero_point), in float32: ``(float)(q - zero_point) * scale``."""
    return (np.asarray(q, np.int32) - zero_point).astype(np.float32) * np.float32(scale)


def quantize_weights(kernel: np.ndarray, channel_axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(int8 weights, float64 scale per output channel): symmetric, in −127..127.

    A channel of zeros gets scale 1 (its weights stay 0).
    """
    w = np.asarray(kernel, np.float64)
    axes = tuple(a for a in range(w.ndim) if a != channel_axis % w.ndim)
    largest = np.abs(w).max(axis=axes) if axes else np.abs(w)
    scales = np.where(largest > 0, largest / WEIGHT_MAX, 1.0)
    shape = [1] * w.ndim
    shape[channel_axis] = -1
    q = round_half_away(w / scales.reshape(shape))
    return np.clip(q, -WEIGHT_MAX, WEIGHT_MAX).astype(np.int8), scales


def quantize_bias(bias: np.ndarray | None, scales: np.ndarray) -> np.ndarray:
    """int32 bias of scale ``scales`` (input scale × weight scale per channel), 0 if None,
    saturated to the int32 range."""
    if bias is None:
        return np.zeros(len(scales), np.int32)
    q = round_half_away(np.asarray(bias, np.float64) / scales)
    return np.clip(q, INT32_MIN, INT32_MAX).astype(np.int32)


def quantize_multiplier(multiplier: float) -> tuple[int, int]:
    """(M0, shift) with multiplier = M0 · 2^(shift − 31) and M0 in [2^30, 2^31); (0, 0) for 0.

    ``math.frexp`` gives multiplier = f · 2^e with f in [0.5, 1); M0 = round(f · 2^31). A
    multiplier below 2^−31 becomes 0, as in TFLite.
    """
    if not multiplier > 0:
        return 0, 0
    fraction, exponent = math.frexp(multiplier)
    m0 = int(round_half_away(np.float64(fraction * 2**31)))
    if m0 == 2**31:
        m0, exponent = m0 // 2, exponent + 1
    if exponent < -31:
        return 0, 0
    return m0, min(exponent, 30)


def quantize_multipliers(multipliers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``quantize_multiplier`` per channel: (M0 as int32, shift as int32) arrays."""
    pairs = [quantize_multiplier(float(m)) for m in np.ravel(multipliers)]
    m0 = np.array([p[0] for p in pairs], np.int64).astype(np.int32)
    return m0, np.array([p[1] for p in pairs], np.int32)


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul for int32 a, b: (2·a·b) / 2^32, rounded
    half away from zero; the one overflowing case (a = b = −2^31) saturates to 2^31 − 1."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    total = ab + nudge
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))  # C's division truncates
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, high)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: x / 2^exponent, rounded half away from zero."""
    x, exponent = np.asarray(x, np.int64), np.asarray(exponent, np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(
    x: np.ndarray, m0: np.ndarray, shift: np.ndarray
) -> np.ndarray:
    """round(x · M0 · 2^(shift − 31)) for int32 x, as TFLite's MultiplyByQuantizedMultiplier:
    a left shift by max(shift, 0) (saturating), the high multiply, then a rounding right
    shift by max(−shift, 0). Returns int64 values in the int32 range."""
    shift = np.asarray(shift, np.int64)
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    shifted = np.clip(np.asarray(x, np.int64) << left, INT32_MIN, INT32_MAX)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m0), right)


def requantize(acc: np.ndarray, m0, shift, zero_point: int, low: int = QMIN, high: int = QMAX):
    """int8 output of an int32 accumulator: zp + acc·M, clamped to [low, high]."""
    out = multiply_by_quantized_multiplier(acc, m0, shift) + zero_point
    return np.clip(out, low, high).astype(np.int8)


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """The int8 range a fused activation clamps to: ReLU cuts at 0, ReLU6 at 0 and 6."""
    low, high = QMIN, QMAX
    if activation in ("relu", "relu6"):
        low = max(low, zero_point)
    if activation == "relu6":
        high = min(high, zero_point + int(round_half_away(np.float64(6.0 / scale))))
    return low, high


def activation_table(function, in_q: tuple[float, int], out_q: tuple[float, int]) -> np.ndarray:
    """int8[256]: entry q + 128 is the output for input q, f computed in float64."""
    q = np.arange(QMIN, QMAX + 1)
    real = (in_q[0] * (q - in_q[1])).astype(np.float64)
    y = function(real)
    out = round_half_away(y / out_q[0]) + out_q[1]
    return np.clip(out, QMIN, QMAX).astype(np.int8)


def softmax_table(in_scale: float) -> np.ndarray:
    """int32[n]: entry d is round(exp(−scale · d) · 2^20), for d the distance (in steps of
    the input's scale) below the row maximum; the entries that round to 0 are left out
    (n ≤ 256), so a wide input range stores a short table."""
    d = np.arange(256, dtype=np.float64)
    table = round_half_away(np.exp(-in_scale * d) * 2**EXP_BITS).astype(np.int32)
    return table[: max(int(np.count_nonzero(table)), 1)]


def softmax_rows(q: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Integer softmax over the last axis: e = table[max − q] (0 past the table's end),
    p = e / Σe, and the output round(256 · p) − 128 (scale 1/256, zero point −128) by
    integer division, halves up."""
    q = np.asarray(q, np.int64)
    d = q.max(axis=-1, keepdims=True) - q
    e = np.where(d < len(table), table[np.minimum(d, len(table) - 1)], 0).astype(np.int64)
    total = e.sum(axis=-1, keepdims=True)
    out = (e * 512 + total) // (2 * total) + QMIN
    return np.clip(out, QMIN, QMAX).astype(np.int8)
