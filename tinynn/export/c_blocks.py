"""The building blocks of a float C header: one plain loop nest per kind of layer.

``{T}`` is float or double, ``{F}`` the suffix of libm's float functions ("f" for float, ""
for double), ``{P}`` the prefix of every name (``{P_}`` in capitals). A header holds only the
blocks its model uses. Images are (height, width, channels), row-major, as tinynn keeps them;
a convolution kernel is (kh, kw, C, F), as Keras keeps it. Each output sums its products in
a fixed order, so results differ from tinynn's (BLAS) only by float rounding.
"""

from __future__ import annotations

#: The geometry of a window over an image, shared by convolutions and pooling.
WINDOW = """\
/* A window sliding over an (h, w, c) image: kh x kw pixels, dilated by dh, dw, moved by sh, sw
 * pixels; `top` and `left` pixels of padding before the image; an (ho, wo) output. */
typedef struct {{
    int h, w, c, kh, kw, sh, sw, dh, dw, top, left, ho, wo;
}} {P}_window;
"""

FLOAT_BLOCKS = {
    "dense": """\
/* Outputs j0 .. j0+width-1 (width <= {P_}_BLOCK) of y = x W + b, for W stored (n_in, n_out)
 * row by row as tinynn's Dense keeps it. Each y[j] sums x[i] * W[i][j] over i in order, then
 * adds b[j]. Working on a block of outputs reads each row of W contiguously, and x once per
 * block; where the vector registers can hold `acc` (AVX-512: 256 floats), they do. */
static inline void {P}_dense_columns(const {T} *restrict x, const {T} *restrict W,
    const {T} *restrict b, int n_in, int n_out, int j0, int width, {T} *restrict y)
{{
    {T} acc[{P_}_BLOCK];
    for (int j = 0; j < width; ++j)
        acc[j] = 0;
    const {T} *w = W + j0;
    for (int i = 0; i < n_in; ++i, w += n_out)
        for (int j = 0; j < width; ++j)
            acc[j] += x[i] * w[j];
    for (int j = 0; j < width; ++j)
        y[j0 + j] = b ? acc[j] + b[j0 + j] : acc[j];
}}

/* y = x W + b: full blocks of {P_}_BLOCK outputs (a constant width the compiler unrolls),
 * then the rest. b may be NULL (a Dense without bias). */
static inline void {P}_dense(const {T} *restrict x, const {T} *restrict W,
    const {T} *restrict b, int n_in, int n_out, {T} *restrict y)
{{
    int j0 = 0;
    for (; j0 + {P_}_BLOCK <= n_out; j0 += {P_}_BLOCK)
        {P}_dense_columns(x, W, b, n_in, n_out, j0, {P_}_BLOCK, y);
    if (j0 < n_out)
        {P}_dense_columns(x, W, b, n_in, n_out, j0, n_out - j0, y);
}}
""",
    "conv2d": """\
/* y[i][j][f] = b[f] + sum over a, d, c of x[i*sh + a*dh - top][j*sw + d*dw - left][c] *
 * W[a][d][c][f]; pixels outside the image count as 0. W is (kh, kw, c, filters). */
static inline void {P}_conv2d(const {T} *restrict x, const {T} *restrict W,
    const {T} *restrict b, const {P}_window *g, int filters, {T} *restrict y)
{{
    for (int i = 0; i < g->ho; ++i)
        for (int j = 0; j < g->wo; ++j) {{
            {T} *out = y + (i * g->wo + j) * filters;
            for (int f = 0; f < filters; ++f)
                out[f] = b ? b[f] : 0;
            for (int a = 0; a < g->kh; ++a) {{
                const int row = i * g->sh + a * g->dh - g->top;
                if (row < 0 || row >= g->h)
                    continue;
                for (int d = 0; d < g->kw; ++d) {{
                    const int col = j * g->sw + d * g->dw - g->left;
                    if (col < 0 || col >= g->w)
                        continue;
                    const {T} *pixel = x + (row * g->w + col) * g->c;
                    const {T} *w = W + (a * g->kw + d) * g->c * filters;
                    for (int c = 0; c < g->c; ++c, w += filters)
                        for (int f = 0; f < filters; ++f)
                            out[f] += pixel[c] * w[f];
                }}
            }}
        }}
}}
""",
    "depthwise": """\
/* Each channel c filtered on its own by m filters: y[i][j][c*m + k] = b[c*m + k] + sum over
 * a, d of x[i*sh + a*dh - top][j*sw + d*dw - left][c] * W[a][d][c][k]. W is (kh, kw, c, m). */
static inline void {P}_depthwise(const {T} *restrict x, const {T} *restrict W,
    const {T} *restrict b, const {P}_window *g, int m, {T} *restrict y)
{{
    const int n = g->c * m;
    for (int i = 0; i < g->ho; ++i)
        for (int j = 0; j < g->wo; ++j) {{
            {T} *out = y + (i * g->wo + j) * n;
            for (int o = 0; o < n; ++o)
                out[o] = b ? b[o] : 0;
            for (int a = 0; a < g->kh; ++a) {{
                const int row = i * g->sh + a * g->dh - g->top;
                if (row < 0 || row >= g->h)
                    continue;
                for (int d = 0; d < g->kw; ++d) {{
                    const int col = j * g->sw + d * g->dw - g->left;
                    if (col < 0 || col >= g->w)
                        continue;
                    const {T} *pixel = x + (row * g->w + col) * g->c;
                    const {T} *w = W + (a * g->kw + d) * n;
                    for (int o = 0; o < n; ++o)
                        out[o] += pixel[o / m] * w[o];
                }}
            }}
        }}
}}
""",
    "max_pool": """\
/* y[i][j][c] = the largest x[..][..][c] in the window of output (i, j); padding never wins. */
static inline void {P}_max_pool(const {T} *restrict x, const {P}_window *g, {T} *restrict y)
{{
    for (int i = 0; i < g->ho; ++i)
        for (int j = 0; j < g->wo; ++j) {{
            {T} *out = y + (i * g->wo + j) * g->c;
            for (int c = 0; c < g->c; ++c)
                out[c] = -HUGE_VAL;
            for (int a = 0; a < g->kh; ++a) {{
                const int row = i * g->sh + a - g->top;
                for (int d = 0; d < g->kw; ++d) {{
                    const int col = j * g->sw + d - g->left;
                    if (row < 0 || row >= g->h || col < 0 || col >= g->w)
                        continue;
                    const {T} *pixel = x + (row * g->w + col) * g->c;
                    for (int c = 0; c < g->c; ++c)
                        out[c] = pixel[c] > out[c] ? pixel[c] : out[c];
                }}
            }}
        }}
}}
""",
    "avg_pool": """\
/* y[i][j][c] = the mean of the real pixels (not the padding) in the window of output (i, j). */
static inline void {P}_avg_pool(const {T} *restrict x, const {P}_window *g, {T} *restrict y)
{{
    for (int i = 0; i < g->ho; ++i)
        for (int j = 0; j < g->wo; ++j) {{
            {T} *out = y + (i * g->wo + j) * g->c;
            int count = 0;
            for (int c = 0; c < g->c; ++c)
                out[c] = 0;
            for (int a = 0; a < g->kh; ++a) {{
                const int row = i * g->sh + a - g->top;
                for (int d = 0; d < g->kw; ++d) {{
                    const int col = j * g->sw + d - g->left;
                    if (row < 0 || row >= g->h || col < 0 || col >= g->w)
                        continue;
                    const {T} *pixel = x + (row * g->w + col) * g->c;
                    for (int c = 0; c < g->c; ++c)
                        out[c] += pixel[c];
                    ++count;
                }}
            }}
            for (int c = 0; c < g->c; ++c)
                out[c] /= count;
        }}
}}
""",
    "global_avg_pool": """\
/* y[c] = the mean over all `pixels` pixels of channel c. */
static inline void {P}_global_avg_pool(const {T} *restrict x, int pixels, int channels,
    {T} *restrict y)
{{
    for (int c = 0; c < channels; ++c)
        y[c] = 0;
    for (int p = 0; p < pixels; ++p)
        for (int c = 0; c < channels; ++c)
            y[c] += x[p * channels + c];
    for (int c = 0; c < channels; ++c)
        y[c] /= pixels;
}}
""",
    "permute": """\
/* y = x with its axes reordered (Permute): y walks (n0, n1, n2) in order and reads x at
 * i0·s0 + i1·s1 + i2·s2, the strides of those axes in x. */
static inline void {P}_permute(const {T} *restrict x, int n0, int n1, int n2, int s0, int s1,
    int s2, {T} *restrict y)
{{
    for (int i0 = 0; i0 < n0; ++i0)
        for (int i1 = 0; i1 < n1; ++i1)
            for (int i2 = 0; i2 < n2; ++i2)
                *y++ = x[i0 * s0 + i1 * s1 + i2 * s2];
}}
""",
    "zero_pad": """\
/* y = the (h, w, c) image x with `top`, `bottom`, `left` and `right` rows/columns of zeros. */
static inline void {P}_zero_pad(const {T} *restrict x, int h, int w, int c, int top,
    int bottom, int left, int right, {T} *restrict y)
{{
    const int width = w + left + right;
    for (int i = 0; i < (h + top + bottom) * width * c; ++i)
        y[i] = 0;
    for (int i = 0; i < h; ++i)
        for (int j = 0; j < w * c; ++j)
            y[((i + top) * width + left) * c + j] = x[i * w * c + j];
}}
""",
    "scale_shift": """\
/* y = x * scale[k] + shift[k] for channel k (the last axis, of `channels`): batch
 * normalization with its statistics, Normalization and Rescaling. y may be x. */
static inline void {P}_scale_shift(const {T} *x, const {T} *restrict scale,
    const {T} *restrict shift, int n, int channels, {T} *y)
{{
    for (int i = 0; i < n; ++i)
        y[i] = x[i] * scale[i % channels] + shift[i % channels];
}}
""",
    "copy": """\
static inline void {P}_copy(const {T} *restrict x, int n, {T} *restrict y)
{{
    for (int i = 0; i < n; ++i)
        y[i] = x[i];
}}
""",
}

#: An element-wise activation, generated from its class's ``c_formula`` (tinynn.activations).
ELEMENTWISE = """\
/* {name}: the formula of tinynn.activations.{cls} */
static inline void {{P}}_{name}({{T}} *v, int n, {{T}} alpha)
{{{{
    (void)alpha;
    for (int i = 0; i < n; ++i) {{{{
        const {{T}} x = v[i];
        {{T}} y;
        {formula}
        v[i] = y;
    }}}}
}}}}
"""

#: The top of every header: what it is, its footprint, its macros. ``{extra}`` adds macros.
HEADER_TOP = """\
/* Generated by tinynn{source}. Do not edit.
 *
 * Model '{name}' ({kind}), one sample of shape {shape} in:{summary}
 *
 * Footprint: {flash} bytes of constant weights (flash), {ram} bytes of
 * activation buffers (RAM: the arena inside {P}_predict, and the largest scratch
 * array one layer keeps on the stack; x and y are the caller's).
 *
 * Usage: {usage}
 * Self-contained C99: no malloc (link with -lm). For speed compile with -O3
 * (and -march=native when it runs on the machine that builds it). */

#ifndef {P_}_MODEL_H
#define {P_}_MODEL_H

{includes}

#define {P_}_INPUT_SIZE {input_size}
#define {P_}_OUTPUT_SIZE {output_size}
#define {P_}_ARENA_SIZE {arena}
#define {P_}_FLASH_BYTES {flash}
#define {P_}_RAM_BYTES {ram}
/* The arena lives on the stack of {P}_predict: re-entrant, and on this header's test
 * machine 1.5x faster than a static array for small models. On a microcontroller with a
 * small stack, define {P_}_ARENA_STORAGE as static before including this header: the
 * arena then sits in .bss, where the linker counts it (one call at a time). */
#ifndef {P_}_ARENA_STORAGE
#define {P_}_ARENA_STORAGE
#endif{extra}

/* Weights and the arena start on a 64-byte boundary, so that a vector load never
 * straddles two cache lines (worth about 20% on AVX-512). Other compilers just get
 * the default alignment, which is still correct. */
#if defined(__GNUC__) || defined(__clang__)
#define {P_}_ALIGNED __attribute__((aligned(64)))
#else
#define {P_}_ALIGNED
#endif"""
