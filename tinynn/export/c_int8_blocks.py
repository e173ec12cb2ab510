"""The building blocks of an int8 C header: the integer arithmetic of
``tinynn.runtime.quantization``, then one loop nest per kind of layer.

Each block does exactly what the NumPy integer reference (``tinynn.runtime.int8_layers``)
does, so the header's int8 outputs are bit-exact against it. Accumulators are int32 (the
export checks that they cannot overflow); right shifts of negative numbers are arithmetic,
as on every compiler TFLite supports.
"""

from __future__ import annotations

INT8_BLOCKS = {
    "arithmetic": """\
/* gemmlowp's SaturatingRoundingDoublingHighMul: (2 a b) / 2^32, rounded half away from 0. */
static inline int32_t {P}_high_mul(int32_t a, int32_t b)
{{
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    const int64_t ab = (int64_t)a * b;
    const int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}}

/* gemmlowp's RoundingDivideByPOT: x / 2^exponent, rounded half away from zero. */
static inline int32_t {P}_divide_by_pot(int32_t x, int exponent)
{{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0);
    return (x >> exponent) + (remainder > threshold);
}}

/* x * m0 * 2^(shift - 31), rounded: TFLite's MultiplyByQuantizedMultiplier (a left shift
 * saturates to the int32 range). */
static inline int32_t {P}_multiply(int32_t x, int32_t m0, int shift)
{{
    int64_t shifted = (int64_t)x * ((int64_t)1 << (shift > 0 ? shift : 0));
    shifted = shifted > INT32_MAX ? INT32_MAX : shifted < INT32_MIN ? INT32_MIN : shifted;
    return {P}_divide_by_pot({P}_high_mul((int32_t)shifted, m0), shift > 0 ? 0 : -shift);
}}

/* An int32 accumulator on the output's int8 scale: zero_point + acc * M, clamped. */
static inline int8_t {P}_requantize(int32_t acc, int32_t m0, int shift, int zero_point,
    int low, int high)
{{
    const int32_t v = {P}_multiply(acc, m0, shift) + zero_point;
    return (int8_t)(v < low ? low : v > high ? high : v);
}}
""",
    "dense": """\
/* y[j] = requantize(b[j] + sum over i of (x[i] - zp_in) * W[j][i]). W is stored transposed
 * (n_out, n_in), so that each output is one dot product. x - zp_in is first widened to int16
 * in xs (n_in values), which compilers turn into multiply-add instructions on int16 pairs,
 * and four outputs are summed per pass: four independent sums, each xs[i] read once. */
static inline void {P}_dense(const int8_t *restrict x, const int8_t *restrict W,
    const int32_t *restrict b, const int32_t *restrict m0, const int8_t *restrict shift,
    int n_in, int n_out, int zp_in, int zp_out, int low, int high, int16_t *restrict xs,
    int8_t *restrict y)
{{
    for (int i = 0; i < n_in; ++i)
        xs[i] = (int16_t)(x[i] - zp_in);
    int j = 0;
    for (; j + 4 <= n_out; j += 4) {{
        const int8_t *w0 = W + (size_t)j * n_in, *w1 = w0 + n_in, *w2 = w1 + n_in;
        const int8_t *w3 = w2 + n_in;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (int i = 0; i < n_in; ++i) {{
            a0 += xs[i] * (int16_t)w0[i];
            a1 += xs[i] * (int16_t)w1[i];
            a2 += xs[i] * (int16_t)w2[i];
            a3 += xs[i] * (int16_t)w3[i];
        }}
        y[j] = {P}_requantize(a0 + b[j], m0[j], shift[j], zp_out, low, high);
        y[j + 1] = {P}_requantize(a1 + b[j + 1], m0[j + 1], shift[j + 1], zp_out, low, high);
        y[j + 2] = {P}_requantize(a2 + b[j + 2], m0[j + 2], shift[j + 2], zp_out, low, high);
        y[j + 3] = {P}_requantize(a3 + b[j + 3], m0[j + 3], shift[j + 3], zp_out, low, high);
    }}
    for (; j < n_out; ++j) {{
        const int8_t *w = W + (size_t)j * n_in;
        int32_t acc = 0;
        for (int i = 0; i < n_in; ++i)
            acc += xs[i] * (int16_t)w[i];
        y[j] = {P}_requantize(acc + b[j], m0[j], shift[j], zp_out, low, high);
    }}
}}
""",
    "conv2d": """\
/* For each output pixel: the patch of x - zp_in values the kernel covers, widened to int16
 * (kh * kw * c of them, 0 where the window leaves the image: the padding is a real 0), then
 * one dot product with each filter, requantized. W is stored (filters, kh, kw, c): filter f's
 * weights in the patch's order. */
static inline void {P}_conv2d(const int8_t *restrict x, const int8_t *restrict W,
    const int32_t *restrict b, const int32_t *restrict m0, const int8_t *restrict shift,
    const {P}_window *g, int filters, int zp_in, int zp_out, int low, int high,
    int16_t *restrict patch, int8_t *restrict y)
{{
    const int n = g->kh * g->kw * g->c;
    for (int i = 0; i < g->ho; ++i)
        for (int j = 0; j < g->wo; ++j) {{
            int16_t *p = patch;
            for (int a = 0; a < g->kh; ++a) {{
                const int row = i * g->sh + a * g->dh - g->top;
                for (int d = 0; d < g->kw; ++d, p += g->c) {{
                    const int col = j * g->sw + d * g->dw - g->left;
                    const int inside = row >= 0 && row < g->h && col >= 0 && col < g->w;
                    const int8_t *pixel = x + (row * g->w + col) * g->c;
                    for (int c = 0; c < g->c; ++c)
                        p[c] = inside ? (int16_t)(pixel[c] - zp_in) : 0;
                }}
            }}
            int8_t *out = y + (i * g->wo + j) * filters;
            for (int f = 0; f < filters; ++f) {{
                const int8_t *w = W + (size_t)f * n;
                int32_t acc = 0;
                for (int k = 0; k < n; ++k)
                    acc += patch[k] * (int16_t)w[k];
                out[f] = {P}_requantize(acc + b[f], m0[f], shift[f], zp_out, low, high);
            }}
        }}
}}
""",
    "depthwise": """\
/* Each channel c filtered on its own by m filters (output channel c*m + k), as conv2d. */
static inline void {P}_depthwise(const int8_t *restrict x, const int8_t *restrict W,
    const int32_t *restrict b, const int32_t *restrict m0, const int8_t *restrict shift,
    const {P}_window *g, int m, int zp_in, int zp_out, int low, int high, int8_t *restrict y)
{{
    int32_t acc[{P_}_ACC_SIZE];
    const int n = g->c * m;
    for (int i = 0; i < g->ho; ++i)
        for (int j = 0; j < g->wo; ++j) {{
            for (int o = 0; o < n; ++o)
                acc[o] = b[o];
            for (int a = 0; a < g->kh; ++a) {{
                const int row = i * g->sh + a * g->dh - g->top;
                if (row < 0 || row >= g->h)
                    continue;
                for (int d = 0; d < g->kw; ++d) {{
                    const int col = j * g->sw + d * g->dw - g->left;
                    if (col < 0 || col >= g->w)
                        continue;
                    const int8_t *pixel = x + (row * g->w + col) * g->c;
                    const int8_t *w = W + (a * g->kw + d) * n;
                    for (int o = 0; o < n; ++o)
                        acc[o] += (pixel[o / m] - zp_in) * w[o];
                }}
            }}
            int8_t *out = y + (i * g->wo + j) * n;
            for (int o = 0; o < n; ++o)
                out[o] = {P}_requantize(acc[o], m0[o], shift[o], zp_out, low, high);
        }}
}}
""",
    "scale_shift": """\
/* A per-channel scale and shift (batch normalization, Normalization, Rescaling) as a 1x1
 * depthwise convolution: y[i] = requantize((x[i] - zp_in) * w[k] + b[k]), k = i % channels.
 * y may be x. */
static inline void {P}_scale_shift(const int8_t *x, const int8_t *restrict w,
    const int32_t *restrict b, const int32_t *restrict m0, const int8_t *restrict shift,
    int n, int channels, int zp_in, int zp_out, int8_t *y)
{{
    for (int i = 0; i < n; ++i) {{
        const int k = i % channels;
        y[i] = {P}_requantize((x[i] - zp_in) * w[k] + b[k], m0[k], shift[k], zp_out, -128, 127);
    }}
}}
""",
    "max_pool": """\
/* The largest int8 value in each window (scale and zero point are the input's). */
static inline void {P}_max_pool(const int8_t *restrict x, const {P}_window *g,
    int8_t *restrict y)
{{
    for (int i = 0; i < g->ho; ++i)
        for (int j = 0; j < g->wo; ++j) {{
            int8_t *out = y + (i * g->wo + j) * g->c;
            for (int c = 0; c < g->c; ++c)
                out[c] = -128;
            for (int a = 0; a < g->kh; ++a) {{
                const int row = i * g->sh + a - g->top;
                for (int d = 0; d < g->kw; ++d) {{
                    const int col = j * g->sw + d - g->left;
                    if (row < 0 || row >= g->h || col < 0 || col >= g->w)
                        continue;
                    const int8_t *pixel = x + (row * g->w + col) * g->c;
                    for (int c = 0; c < g->c; ++c)
                        out[c] = pixel[c] > out[c] ? pixel[c] : out[c];
                }}
            }}
        }}
}}
""",
    "mean": """\
/* TFLite's int8 average of `count` values summing to `total`: halves away from zero. */
static inline int8_t {P}_mean(int32_t total, int count)
{{
    return (int8_t)(total > 0 ? (total + count / 2) / count : (total - count / 2) / count);
}}
""",
    "avg_pool": """\
/* The mean of the real pixels (not the padding) in each window, on the input's scale. */
static inline void {P}_avg_pool(const int8_t *restrict x, const {P}_window *g,
    int8_t *restrict y)
{{
    for (int i = 0; i < g->ho; ++i)
        for (int j = 0; j < g->wo; ++j)
            for (int c = 0; c < g->c; ++c) {{
                int32_t total = 0;
                int count = 0;
                for (int a = 0; a < g->kh; ++a) {{
                    const int row = i * g->sh + a - g->top;
                    for (int d = 0; d < g->kw; ++d) {{
                        const int col = j * g->sw + d - g->left;
                        if (row < 0 || row >= g->h || col < 0 || col >= g->w)
                            continue;
                        total += x[(row * g->w + col) * g->c + c];
                        ++count;
                    }}
                }}
                y[(i * g->wo + j) * g->c + c] = {P}_mean(total, count);
            }}
}}
""",
    "global_avg_pool": """\
/* y[c] = the mean over all `pixels` pixels of channel c, on the input's scale. */
static inline void {P}_global_avg_pool(const int8_t *restrict x, int pixels, int channels,
    int8_t *restrict y)
{{
    for (int c = 0; c < channels; ++c) {{
        int32_t total = 0;
        for (int p = 0; p < pixels; ++p)
            total += x[p * channels + c];
        y[c] = {P}_mean(total, pixels);
    }}
}}
""",
    "permute": """\
/* y = x with its axes reordered (Permute): y walks (n0, n1, n2) in order and reads x at
 * i0·s0 + i1·s1 + i2·s2, the strides of those axes in x. */
static inline void {P}_permute(const int8_t *restrict x, int n0, int n1, int n2, int s0, int s1,
    int s2, int8_t *restrict y)
{{
    for (int i0 = 0; i0 < n0; ++i0)
        for (int i1 = 0; i1 < n1; ++i1)
            for (int i2 = 0; i2 < n2; ++i2)
                *y++ = x[i0 * s0 + i1 * s1 + i2 * s2];
}}
""",
    "zero_pad": """\
/* The (h, w, c) image x with rows and columns of real zeros (the zero point) around it. */
static inline void {P}_zero_pad(const int8_t *restrict x, int h, int w, int c, int top,
    int bottom, int left, int right, int zero_point, int8_t *restrict y)
{{
    const int width = w + left + right;
    for (int i = 0; i < (h + top + bottom) * width * c; ++i)
        y[i] = (int8_t)zero_point;
    for (int i = 0; i < h; ++i)
        for (int j = 0; j < w * c; ++j)
            y[((i + top) * width + left) * c + j] = x[i * w * c + j];
}}
""",
    "lookup": """\
/* An element-wise activation as a table: y[i] = table[x[i] + 128]. y may be x. */
static inline void {P}_lookup(const int8_t *x, const int8_t *restrict table, int n, int8_t *y)
{{
    for (int i = 0; i < n; ++i)
        y[i] = table[x[i] + 128];
}}
""",
    "softmax": """\
/* Softmax over rows of `row` values: e = exp(-scale * d) times 2^20 from a table over the
 * distance d = max - x (0 past its `size` entries), then round(256 e / sum e) - 128 by
 * integer division (halves up): scale 1/256, zero point -128. y may be x. */
static inline void {P}_softmax(const int8_t *x, const int32_t *restrict table, int size,
    int n, int row, int8_t *y)
{{
    for (int start = 0; start < n; start += row) {{
        int max = x[start];
        int64_t total = 0;
        for (int i = 1; i < row; ++i)
            max = x[start + i] > max ? x[start + i] : max;
        for (int i = 0; i < row; ++i)
            total += max - x[start + i] < size ? table[max - x[start + i]] : 0;
        for (int i = 0; i < row; ++i) {{
            const int d = max - x[start + i];
            const int64_t e = d < size ? table[d] : 0;
            const int64_t q = (e * 512 + total) / (2 * total);
            y[start + i] = (int8_t)(q - 128 > 127 ? 127 : q - 128);
        }}
    }}
}}
""",
    "copy": """\
static inline void {P}_copy(const int8_t *restrict x, int n, int8_t *restrict y)
{{
    for (int i = 0; i < n; ++i)
        y[i] = x[i];
}}
""",
}
