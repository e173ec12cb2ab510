"""Write a model as one self-contained C99 header: weights, one function per layer, predict.

    tinynn export model.npz --format c --output model.h

    #include "model.h"                      /* in exactly one .c file, or in several: all static */
    float y[TINYNN_OUTPUT_SIZE];
    tinynn_predict(x, y);                   /* x: TINYNN_INPUT_SIZE floats, one sample */

The header needs nothing but ``<math.h>`` (link with ``-lm``). Weights are ``static const``
arrays (flash on a microcontroller); every intermediate result lives in one arena whose size
the export computes (``tinynn.export.memory``), a ``static`` array inside ``tinynn_predict``
by default: no malloc, and the RAM shows at link time. ``TINYNN_FLASH_BYTES`` and
``TINYNN_RAM_BYTES`` state both. The model is first lowered (``tinynn.runtime.lowering``):
batch normalization folds into the convolution or Dense before it where it can.

Every activation is generated from the ``c_formula`` its class in ``tinynn.activations``
states beside its NumPy ``forward``, in float for float32 models (double for float64 ones).
Each output sums its products in a fixed order, so results differ from BLAS only by float
rounding, well inside 1e-5 for networks of ordinary size. ``--quantize int8`` writes the
integer header of ``tinynn.export.c_int8`` instead.
"""

from __future__ import annotations

import math
import re

import numpy as np

from tinynn.activations import ACTIVATIONS
from tinynn.export.c_blocks import ELEMENTWISE, FLOAT_BLOCKS, HEADER_TOP, WINDOW
from tinynn.export.memory import Plan, buffer, flash_bytes, plan_buffers
from tinynn.runtime import LayerSpec, ModelSpec
from tinynn.runtime.lowering import AFFINE, channel_affine, lower

#: Bytes of Dense outputs one sweep over the weights accumulates at most (``PREFIX_BLOCK``
#: outputs: 256 floats or 128 doubles), a stack array of the generated code.
MAX_BLOCK_BYTES = 1024
MERGE_OPS = {"Add": "+", "Subtract": "-", "Multiply": "*", "Average": "+"}


def activation_block(name: str) -> str:
    """The C function of activation ``name``, from the class that defines it (one table of
    formulas for training, the runtime and every exporter)."""
    cls = ACTIVATIONS[name]
    if cls.c_formula is None:
        return cls.c_function
    return ELEMENTWISE.format(name=name, cls=cls.__name__, formula=cls.c_formula)


def export_c(spec: ModelSpec, prefix: str = "tinynn", source: str = "") -> str:
    """The text of a C99 header computing ``spec``; identifiers start with ``prefix``."""
    check_prefix(prefix)
    ctype = "double" if spec.dtype == np.float64 else "float"
    return FloatWriter(lower(spec), prefix, ctype).header(source)


def check_prefix(prefix: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", prefix):
        raise ValueError(f"prefix {prefix!r} is not a C identifier; use letters, digits and _")


def safe(text: str) -> str:
    """Text fit for a C comment: names come from the file, and "*/" would end the comment."""
    return re.sub(r"[^A-Za-z0-9_.,:()<>+/\- ]", "_", text)


def size(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape))


def _literal(value: float, ctype: str) -> str:
    """A C constant that reads back exactly: 9 significant digits for float, 17 for double."""
    text = f"{value:.9g}" if ctype == "float" else f"{value:.17g}"
    if not any(c in text for c in ".e"):
        text += ".0"
    return text + ("f" if ctype == "float" else "")


def numbers(values: np.ndarray, ctype: str) -> str:
    """The values of a C initializer, eight to a line."""
    if ctype in ("float", "double"):
        items = [_literal(float(v), ctype) for v in np.ravel(values)]
    else:
        items = [str(int(v)) for v in np.ravel(values)]
    lines = [", ".join(items[i : i + 8]) for i in range(0, len(items), 8)]
    return ",\n    ".join(lines)


def describe(layer: LayerSpec) -> str:
    """One line about a layer, for the header's comments."""
    kind = layer.class_name
    shapes = f"{layer.input_shape} -> {layer.output_shape}"
    if kind == "Dense":
        return f"Dense({layer.kernel.shape[0]} -> {layer.kernel.shape[1]}, {layer.activation})"
    if kind in ("Conv2D", "DepthwiseConv2D"):
        kh, kw = layer.kernel.shape[:2]
        return f"{kind}({kh}x{kw}, strides {layer.strides}, {shapes}, {layer.activation})"
    if kind == "Activation":
        return f"Activation({layer.activation})"
    return f"{kind}({shapes})"


class Writer:
    """What the float and int8 headers share: the frame, the arena and ``predict``."""

    def __init__(self, spec: ModelSpec, prefix: str, ctype: str) -> None:
        self.spec, self.P, self.T = spec, prefix, ctype
        self.F = "f" if ctype == "float" else ""
        self.used: set[str] = set()
        self.constants: list[np.ndarray] = []  # what the header stores, for flash_bytes
        self.plan: Plan = plan_buffers(spec)

    def array(self, name: str, values: np.ndarray, ctype: str, note: str) -> str:
        """A static const array of the header (counted in its flash bytes)."""
        stored = np.ascontiguousarray(values)
        self.constants.append(stored)
        if stored.ndim == 2:  # Dense's kernel: one brace per input row
            dims = f"{stored.shape[0]}][{stored.shape[1]}"
            rows = ",\n    ".join(
                "{" + numbers(row, ctype).replace("\n", "\n ") + "}" for row in stored
            )
        else:
            dims, rows = str(stored.size), numbers(stored, ctype)
        return (
            f"/* {note} */\nstatic const {ctype} {self.P}_{name}[{dims}] "
            f"{self.P.upper()}_ALIGNED = {{\n    {rows}\n}};"
        )

    def window(self, index: int, layer: LayerSpec, size_hw: tuple[int, int]) -> str:
        self.used.add("window")
        h, w, c = layer.input_shape
        ho, wo = layer.output_shape[:2]
        (sh, sw), (dh, dw), pads = layer.strides, layer.dilation, layer.pads
        return (
            f"static const {self.P}_window {self.P}_layer{index}_window = {{\n"
            f"    .h = {h}, .w = {w}, .c = {c}, .kh = {size_hw[0]}, .kw = {size_hw[1]}, "
            f".sh = {sh}, .sw = {sw},\n    .dh = {dh}, .dw = {dw}, .top = {pads[0]}, "
            f".left = {pads[2]}, .ho = {ho}, .wo = {wo}}};"
        )

    def call(self, index: int, layer: LayerSpec) -> str:
        """The line of ``predict`` running layer ``index``."""
        out = buffer(self.plan, index + 1)
        if index in self.plan.in_place:
            return f"    {self.P}_layer{index}({out});"
        ins = ", ".join(buffer(self.plan, t) for t in layer.inputs)
        return f"    {self.P}_layer{index}({ins}, {out});"

    def predict(self, ctype_in: str, ctype_out: str, name: str = "predict") -> str:
        P, spec = self.P, self.spec
        body = []
        if self.plan.arena:
            body.append(
                f"    {P.upper()}_ARENA_STORAGE {self.T} arena[{P.upper()}_ARENA_SIZE] "
                f"{P.upper()}_ALIGNED;"
            )
        for index, layer in enumerate(spec.layers):
            if layer.class_name not in ("Flatten", "Reshape"):
                body.append(self.call(index, layer))
        if self.plan.where[spec.output] != ("y", 0):
            self.used.add("copy")
            body.append(
                f"    {P}_copy({buffer(self.plan, spec.output)}, {P.upper()}_OUTPUT_SIZE, y);"
            )
        return (
            f"/* The model: x holds {P.upper()}_INPUT_SIZE values, y receives "
            f"{P.upper()}_OUTPUT_SIZE. */\n"
            f"static inline void {P}_{name}(const {ctype_in} *x, {ctype_out} *y)\n{{\n"
            + "\n".join(body)
            + "\n}"
        )

    def merge(self, index: int, layer: LayerSpec) -> str:
        """Add, Subtract, Multiply, Average (with broadcasting) or Concatenate, written out."""
        P, T = self.P, self.T
        args = ", ".join(f"const {T} *x{i}" for i in range(len(layer.inputs)))
        head = f"static inline void {P}_layer{index}({args}, {T} *y)\n{{\n"
        out = layer.output_shape
        if layer.class_name == "Concatenate":
            axis = layer.options["axis"]
            outer, total = size(out[:axis]), size(out[axis:])
            lines, offset = [f"    for (int o = 0; o < {outer}; ++o) {{"], 0
            for i, shape in enumerate(layer.input_shapes):
                inner = size(shape[axis:])
                lines.append(
                    f"        for (int k = 0; k < {inner}; ++k)\n"
                    f"            y[o * {total} + {offset} + k] = x{i}[o * {inner} + k];"
                )
                offset += inner
            return head + "\n".join(lines) + "\n    }\n}"
        terms = [
            f"x{i}[{_broadcast_index(shape, out)}]" for i, shape in enumerate(layer.input_shapes)
        ]
        value = f" {MERGE_OPS[layer.class_name]} ".join(terms)
        if layer.class_name == "Average":
            value = f"({value}) / {len(terms)}"
        return head + f"    for (int i = 0; i < {size(out)}; ++i)\n        y[i] = {value};\n}}"

    def frame(self, source: str, kind: str, parts: list[str], extra_macros: str = "") -> str:
        """The whole header around ``parts`` (weights, blocks, layer functions, predict)."""
        P, spec = self.P, self.spec
        summary = "".join(
            f"\n *   {i}: {safe(describe(layer))}" for i, layer in enumerate(spec.layers)
        )
        flash = flash_bytes(self.constants)
        ram = self.plan.arena * self.element_bytes
        includes = ["math.h", "stddef.h"] + (["stdint.h"] if kind == "int8" else [])
        top = HEADER_TOP.format(
            source=f" from {safe(source)}" if source else "",
            name=safe(spec.name),
            kind=kind,
            shape=spec.input_shape,
            summary=summary,
            flash=flash,
            ram=ram,
            usage=self.usage,
            includes="\n".join(f"#include <{name}>" for name in includes),
            input_size=size(spec.input_shape),
            output_size=size(spec.output_shape),
            arena=max(self.plan.arena, 1),
            extra=extra_macros,
            P=P,
            P_=P.upper(),
        )
        return "\n\n".join(
            [top, *(part for part in parts if part), f"#endif /* {P.upper()}_MODEL_H */\n"]
        )


def _broadcast_index(shape: tuple[int, ...], out: tuple[int, ...]) -> str:
    """The index into an input of ``shape`` (same rank as ``out``, sizes 1 or out's) of flat
    output position i."""
    if shape == out:
        return "i"
    terms, stride_out, stride_in = [], 1, 1
    for d_in, d_out in zip(reversed(shape), reversed(out), strict=True):
        if d_in != 1:
            terms.append(f"(i / {stride_out} % {d_out}) * {stride_in}")
        stride_out *= d_out
        stride_in *= d_in
    return " + ".join(terms) or "0"


class FloatWriter(Writer):
    element_bytes = 4

    def __init__(self, spec: ModelSpec, prefix: str, ctype: str) -> None:
        super().__init__(spec, prefix, ctype)
        self.element_bytes = np.dtype(spec.dtype).itemsize
        self.usage = f"{ctype} y[{prefix.upper()}_OUTPUT_SIZE]; {prefix}_predict(x, y);"

    def header(self, source: str) -> str:
        P, spec = self.P, self.spec
        layers = list(enumerate(spec.layers))
        weights = [self.weights(i, layer) for i, layer in layers]
        functions = [self.layer_function(i, layer) for i, layer in layers]
        predict = self.predict(self.T, self.T)
        blocks = [FLOAT_BLOCKS[name] for name in FLOAT_BLOCKS if name in self.used]
        names = self.used - set(FLOAT_BLOCKS) - {"window"}
        blocks += [activation_block(name) for name in sorted(names)]
        units = [layer.kernel.shape[1] for _, layer in layers if layer.class_name == "Dense"]
        block_width = min(MAX_BLOCK_BYTES // spec.dtype.itemsize, max(units, default=1))
        block_macro = (
            "\n/* Outputs a Dense layer computes per sweep over its weights: the widest layer, at\n"
            f" * most {MAX_BLOCK_BYTES} bytes of them, on the stack. Measured on AVX-512 for\n"
            " * 784-256-256-10, 256 floats ran 10% faster than 64; on a small stack, or where\n"
            " * fewer registers make another width faster, define it before including this. */\n"
            f"#ifndef {P.upper()}_BLOCK\n#define {P.upper()}_BLOCK {block_width}\n#endif"
        )
        parts = [
            "/* ---- weights ---- */",
            WINDOW.format(P=P).rstrip() if "window" in self.used else "",
            *[w for w in weights if w],
            "/* ---- building blocks ---- */",
            *(block.format(P=P, P_=P.upper(), T=self.T, F=self.F).rstrip() for block in blocks),
            "/* ---- one function per layer ---- */",
            *functions,
            predict,
        ]
        return self.frame(source, spec.dtype.name, parts, block_macro)

    def weights(self, index: int, layer: LayerSpec) -> str:
        T, name = self.T, f"layer{index}"
        found = []
        if layer.kernel is not None:
            shape = layer.kernel.shape
            note = f"layer {index} ({safe(layer.name)}): kernel {shape}"
            note += ", row i = input i" if layer.class_name == "Dense" else ", row-major"
            found.append(self.array(f"{name}_W", layer.kernel, T, note))
        if layer.bias is not None:
            found.append(self.array(f"{name}_b", layer.bias, T, f"layer {index}: bias"))
        if layer.class_name in AFFINE:
            scale, shift = (a.astype(layer.dtype) for a in channel_affine(layer))
            note = f"layer {index} ({safe(layer.name)}): y = x * scale + shift per channel"
            found.append(self.array(f"{name}_scale", scale, T, note))
            found.append(self.array(f"{name}_shift", shift, T, f"layer {index}: shift"))
        if layer.class_name in ("Conv2D", "DepthwiseConv2D"):
            found.append(self.window(index, layer, layer.kernel.shape[:2]))
        if layer.class_name in ("MaxPooling2D", "AveragePooling2D"):
            found.append(self.window(index, layer, layer.pool_size))
        return "\n".join(found)

    def activation(self, layer: LayerSpec, target: str, n: int) -> str:
        """The in-place activation call on ``target`` (n values), or "" for linear."""
        name = layer.activation
        if name == "linear":
            return ""
        self.used.add(name)
        if name == "softmax":
            return f"    {self.P}_softmax({target}, {n}, {layer.output_shape[-1]});\n"
        return f"    {self.P}_{name}({target}, {n}, {_literal(layer.alpha, self.T)});\n"

    def layer_function(self, index: int, layer: LayerSpec) -> str:
        P, T, kind = self.P, self.T, layer.class_name
        head = f"/* layer {index}: {safe(describe(layer))} */\n"
        n = size(layer.output_shape)
        name = f"{P}_layer{index}"
        signature = f"static inline void {name}(const {T} *restrict x, {T} *restrict y)\n{{\n"
        bias = f"{name}_b" if layer.bias is not None else "NULL"
        if kind in ("Flatten", "Reshape"):
            return f"/* layer {index}: {safe(describe(layer))}: nothing to do on flat memory */"
        if kind in MERGE_OPS or kind == "Concatenate":
            return head + self.merge(index, layer)
        if kind == "Dense":
            self.used.add("dense")
            n_in, units = layer.kernel.shape
            call = f"    {P}_dense(x, &{name}_W[0][0], {bias}, {n_in}, {units}, y);\n"
        elif kind in ("Conv2D", "DepthwiseConv2D"):
            block = "conv2d" if kind == "Conv2D" else "depthwise"
            self.used.add(block)
            width = layer.kernel.shape[3]
            call = f"    {P}_{block}(x, {name}_W, {bias}, &{name}_window, {width}, y);\n"
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            block = "max_pool" if kind == "MaxPooling2D" else "avg_pool"
            self.used.add(block)
            call = f"    {P}_{block}(x, &{name}_window, y);\n"
        elif kind == "GlobalAveragePooling2D":
            self.used.add("global_avg_pool")
            h, w, c = layer.input_shape
            call = f"    {P}_global_avg_pool(x, {h * w}, {c}, y);\n"
        elif kind == "ZeroPadding2D":
            self.used.add("zero_pad")
            h, w, c = layer.input_shape
            pads = ", ".join(str(p) for p in layer.pads)
            call = f"    {P}_zero_pad(x, {h}, {w}, {c}, {pads}, y);\n"
        elif kind in AFFINE:
            self.used.add("scale_shift")
            c = layer.output_shape[-1]
            call = f"    {P}_scale_shift(x, {name}_scale, {name}_shift, {n}, {c}, y);\n"
            if index in self.plan.in_place:
                return (
                    head
                    + f"static inline void {name}({T} *x)\n{{\n"
                    + call.replace(", y);", ", x);")
                    + "}"
                )
            signature = f"static inline void {name}(const {T} *x, {T} *y)\n{{\n"
        elif kind == "Activation":
            if index in self.plan.in_place:
                body = self.activation(layer, "x", n)
                return head + f"static inline void {name}({T} *x)\n{{\n{body}}}"
            self.used.add("copy")
            call = f"    {P}_copy(x, {n}, y);\n"
            return head + signature + call + self.activation(layer, "y", n) + "}"
        else:
            raise ValueError(f"layer {layer.name!r} ({kind}) has no C form")
        return head + signature + call + self.activation(layer, "y", n) + "}"
