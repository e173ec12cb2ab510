"""What the float and int8 C headers share: the frame around them, the arena and ``predict``,
the constant arrays and their literals, and the merge layers (with broadcasting).

``tinynn.export.c`` (float32/float64) and ``tinynn.export.c_int8`` subclass ``Writer``.
"""

from __future__ import annotations

import math
import re

import numpy as np

from tinynn.export.c_blocks import HEADER_TOP
from tinynn.export.memory import Plan, buffer, flash_bytes, plan_buffers
from tinynn.runtime import LayerSpec, ModelSpec

MERGE_OPS = {"Add": "+", "Subtract": "-", "Multiply": "*", "Average": "+"}


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
        self.scratch_bytes = 0  # the largest stack scratch one layer function uses

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
        ram = self.plan.arena * self.element_bytes + self.scratch_bytes
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


def permute_arguments(layer: LayerSpec) -> str:
    """The sizes and strides ``{P}_permute`` walks for a Permute layer: the output's axes
    (padded to three) and the input strides of the axes they come from."""
    shape, dims = layer.input_shape, layer.options["dims"]
    if len(shape) > 3:
        raise ValueError(f"layer {layer.name!r}: C permutes samples of rank 3 at most")
    strides = [int(np.prod(shape[axis + 1 :])) for axis in range(len(shape))]
    sizes = [shape[d - 1] for d in dims]
    steps = [strides[d - 1] for d in dims]
    sizes, steps = [1] * (3 - len(sizes)) + sizes, [0] * (3 - len(steps)) + steps
    return ", ".join(str(v) for v in (*sizes, *steps))
