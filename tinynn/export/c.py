"""Write a model as one self-contained C99 header: weights, one function per layer, predict.

    tinynn export model.npz --format c --output model.h

    #include "model.h"                      /* in exactly one .c file, or in several: all static */
    float y[TINYNN_OUTPUT_SIZE];
    tinynn_predict(x, y);                   /* x: TINYNN_INPUT_SIZE floats, one sample */

The header needs nothing but ``<math.h>`` (link with ``-lm``): weights are ``static const``
arrays, and the two scratch buffers live on the stack of ``tinynn_predict`` (2 ×
``TINYNN_MAX_WIDTH`` values), so there is no malloc and the function is re-entrant.

Every activation is generated from the ``c_formula`` its class in ``tinynn.activations``
states beside its NumPy ``forward``, in float for float32 models (double for float64 ones).
Each output sums its products in input order, so results differ from BLAS only by float
rounding, well inside 1e-5 for networks of ordinary size.
"""

from __future__ import annotations

import re

import numpy as np

from tinynn.activations import ACTIVATIONS
from tinynn.runtime import LayerSpec, ModelSpec

#: Bytes of Dense outputs one sweep over the weights accumulates at most (``PREFIX_BLOCK``
#: outputs: 256 floats or 128 doubles), a stack array of the generated code.
MAX_BLOCK_BYTES = 1024

# The building blocks. ``{T}`` is float or double; ``{F}`` the suffix of libm's float functions
# ("f" for float, "" for double). Only the blocks a model uses are written out.
_BLOCKS = {
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
    "copy": """\
static inline void {P}_copy(const {T} *restrict x, int n, {T} *restrict y)
{{
    for (int i = 0; i < n; ++i)
        y[i] = x[i];
}}
""",
}


#: An element-wise activation, generated from its class's ``c_formula`` (tinynn.activations).
_ELEMENTWISE = """\
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


def activation_block(name: str) -> str:
    """The C function of activation ``name``, from the class that defines it (one table of
    formulas for training, the runtime and every exporter)."""
    cls = ACTIVATIONS[name]
    if cls.c_formula is None:
        return cls.c_function
    return _ELEMENTWISE.format(name=name, cls=cls.__name__, formula=cls.c_formula)


def export_c(spec: ModelSpec, prefix: str = "tinynn", source: str = "") -> str:
    """The text of a C99 header computing ``spec``; identifiers start with ``prefix``."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", prefix):
        raise ValueError(f"prefix {prefix!r} is not a C identifier; use letters, digits and _")
    ctype = "double" if spec.dtype == np.float64 else "float"
    writer = _Writer(spec, prefix, ctype)
    return writer.header(source)


def _safe(text: str) -> str:
    """Text fit for a C comment: names come from the file, and "*/" would end the comment."""
    return re.sub(r"[^A-Za-z0-9_.\- ]", "_", text)


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape))


def _literal(value: float, ctype: str) -> str:
    """A C constant that reads back exactly: 9 significant digits for float, 17 for double."""
    text = f"{value:.9g}" if ctype == "float" else f"{value:.17g}"
    if not any(c in text for c in ".e"):
        text += ".0"
    return text + ("f" if ctype == "float" else "")


class _Writer:
    def __init__(self, spec: ModelSpec, prefix: str, ctype: str) -> None:
        self.spec, self.P, self.T = spec, prefix, ctype
        self.F = "f" if ctype == "float" else ""
        self.used: set[str] = set()

    def header(self, source: str) -> str:
        P, spec = self.P, self.spec
        layers = list(enumerate(spec.layers))
        width = max([_size(spec.output_shape)] + [_size(ly.output_shape) for _, ly in layers])
        units = [layer.kernel.shape[1] for _, layer in layers if layer.kernel is not None]
        block_width = min(MAX_BLOCK_BYTES // spec.dtype.itemsize, max(units, default=1))
        weights = [self._weights(i, layer) for i, layer in layers if layer.kernel is not None]
        functions = [self._layer_function(i, layer) for i, layer in layers]
        predict = self._predict(layers)
        blocks = [_BLOCKS[name] for name in _BLOCKS if name in self.used]
        blocks += [activation_block(name) for name in sorted(self.used - set(_BLOCKS))]
        guard = f"{P.upper()}_MODEL_H"
        summary = "".join(f"\n *   {i}: {_describe(layer)}" for i, layer in layers)
        parts = [
            f"/* Generated by tinynn{' from ' + _safe(source) if source else ''}. Do not edit.\n"
            f" *\n * Model '{_safe(spec.name)}', one sample of shape {spec.input_shape} in:"
            f"{summary}\n *\n"
            f" * Usage: {self.T} y[{P.upper()}_OUTPUT_SIZE]; {P}_predict(x, y);\n"
            f" * where x holds one sample: {P.upper()}_INPUT_SIZE values in row-major order.\n"
            " * Self-contained C99: no malloc, only <math.h> (link with -lm). For speed compile\n"
            " * with -O3 (and -march=native when it runs on the machine that builds it). */",
            f"#ifndef {guard}\n#define {guard}\n\n#include <math.h>\n#include <stddef.h>",
            f"#define {P.upper()}_INPUT_SIZE {_size(spec.input_shape)}\n"
            f"#define {P.upper()}_OUTPUT_SIZE {_size(spec.output_shape)}\n"
            f"#define {P.upper()}_MAX_WIDTH {width}\n"
            "/* Outputs a Dense layer computes per sweep over its weights: the widest layer, at\n"
            f" * most {MAX_BLOCK_BYTES} bytes of them, on the stack. Measured on AVX-512 for\n"
            " * 784-256-256-10, 256 floats ran 10% faster than 64; on a small stack, or where\n"
            " * fewer registers make another width faster, define it before including this. */\n"
            f"#ifndef {P.upper()}_BLOCK\n#define {P.upper()}_BLOCK {block_width}\n#endif\n\n"
            "/* Weights start on a 64-byte boundary, so that a vector load of a row block never\n"
            " * straddles two cache lines (worth about 20% on AVX-512). Other compilers just get\n"
            " * the default alignment, which is still correct. */\n"
            "#if defined(__GNUC__) || defined(__clang__)\n"
            f"#define {P.upper()}_ALIGNED __attribute__((aligned(64)))\n"
            "#else\n"
            f"#define {P.upper()}_ALIGNED\n"
            "#endif",
            "/* ---- weights ---- */",
            *weights,
            "/* ---- building blocks ---- */",
            *(block.format(P=P, P_=P.upper(), T=self.T, F=self.F).rstrip() for block in blocks),
            "/* ---- one function per layer ---- */",
            *functions,
            predict,
            f"#endif /* {guard} */\n",
        ]
        return "\n\n".join(part for part in parts if part)

    def _weights(self, index: int, layer: LayerSpec) -> str:
        n_in, units = layer.kernel.shape
        A = f"{self.P.upper()}_ALIGNED"
        text = [
            f"/* layer {index} ({_safe(layer.name)}): kernel ({n_in}, {units}), row i = input i */",
            f"static const {self.T} {self.P}_layer{index}_W[{n_in}][{units}] {A} = {{",
        ]
        text += [f"    {{{self._numbers(row)}}}," for row in layer.kernel]
        text.append("};")
        if layer.bias is not None:
            text.append(f"static const {self.T} {self.P}_layer{index}_b[{units}] {A} = {{")
            text.append(f"    {self._numbers(layer.bias)}\n}};")
        return "\n".join(text)

    def _numbers(self, values: np.ndarray) -> str:
        items = [_literal(float(v), self.T) for v in values]
        lines = [", ".join(items[i : i + 8]) for i in range(0, len(items), 8)]
        return ",\n     ".join(lines)

    def _activation(self, layer: LayerSpec, target: str, n: int) -> str:
        """The in-place activation call on ``target`` (n values), or "" for linear."""
        name = layer.activation
        if name == "linear":
            return ""
        self.used.add(name)
        if name == "softmax":
            return f"    {self.P}_softmax({target}, {n}, {layer.output_shape[-1]});\n"
        return f"    {self.P}_{name}({target}, {n}, {_literal(layer.alpha, self.T)});\n"

    def _layer_function(self, index: int, layer: LayerSpec) -> str:
        P, T = self.P, self.T
        head = f"/* layer {index}: {_describe(layer)} */"
        if layer.class_name == "Dense":
            self.used.add("dense")
            n_in, units = layer.kernel.shape
            bias = f"{P}_layer{index}_b" if layer.bias is not None else "NULL"
            return (
                f"{head}\nstatic inline void {P}_layer{index}"
                f"(const {T} *restrict x, {T} *restrict y)\n"
                f"{{\n    {P}_dense(x, &{P}_layer{index}_W[0][0], {bias}, {n_in}, {units}, y);\n"
                f"{self._activation(layer, 'y', units)}}}"
            )
        if layer.class_name == "Activation":
            n = _size(layer.output_shape)
            body = self._activation(layer, "x", n) or "    (void)x;\n"
            return f"{head}\nstatic inline void {P}_layer{index}({T} *x)\n{{\n{body}}}"
        return f"/* layer {index}: {_describe(layer)}: nothing to do on flat memory */"

    def _predict(self, layers: list[tuple[int, LayerSpec]]) -> str:
        """{P}_predict: run the layers, ping-ponging between two stack buffers a and b.

        A Dense writes into the other buffer (the last Dense straight into y); an Activation
        works in place, after copying the input when it would otherwise write into x."""
        P, T = self.P, self.T
        dense = [i for i, layer in layers if layer.class_name == "Dense"]
        body, current, scratch = [], "x", []
        for i, layer in layers:
            if layer.class_name not in ("Dense", "Activation"):
                continue
            later_dense = bool(dense) and i < dense[-1]
            if layer.class_name == "Dense" or current == "x":
                target = "y" if not later_dense else ("b" if current == "a" else "a")
                if target != "y" and target not in scratch:
                    scratch.append(target)
                if layer.class_name == "Dense":
                    body.append(f"    {P}_layer{i}({current}, {target});")
                else:
                    self.used.add("copy")
                    body.append(f"    {P}_copy(x, {_size(layer.output_shape)}, {target});")
                current = target
            if layer.class_name == "Activation":
                body.append(f"    {P}_layer{i}({current});")
        if current != "y":
            self.used.add("copy")
            body.append(f"    {P}_copy({current}, {P.upper()}_OUTPUT_SIZE, y);")
        buffers = [f"    {T} {name}[{P.upper()}_MAX_WIDTH];" for name in sorted(scratch)]
        return (
            f"/* The model: x holds {P.upper()}_INPUT_SIZE values, y receives "
            f"{P.upper()}_OUTPUT_SIZE. */\n"
            f"static inline void {P}_predict(const {T} *x, {T} *y)\n{{\n"
            + "\n".join(buffers + body)
            + "\n}"
        )


def _describe(layer: LayerSpec) -> str:
    if layer.class_name == "Dense":
        return f"Dense({layer.kernel.shape[0]} -> {layer.kernel.shape[1]}, {layer.activation})"
    if layer.class_name == "Activation":
        return f"Activation({layer.activation})"
    if layer.class_name in ("Flatten", "Reshape"):
        return f"{layer.class_name}({layer.input_shape} -> {layer.output_shape})"
    return f"{layer.class_name} (identity at inference)"
