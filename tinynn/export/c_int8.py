"""Write an int8 model (``runtime.QuantizedModel``) as one C99 header, bit-exact against the
NumPy integer reference.

    tinynn export model.npz --format c --quantize int8 --calibration x.npy --output model.h

    float y[TINYNN_OUTPUT_SIZE];
    tinynn_predict(x, y);                  /* floats in and out: quantize, int8, dequantize */
    int8_t q[TINYNN_INPUT_SIZE], out[TINYNN_OUTPUT_SIZE];
    tinynn_quantize_input(x, q);           /* or fill q yourself: TINYNN_INPUT_SCALE, _ZERO_POINT */
    tinynn_predict_int8(q, out);           /* integers only, as on a microcontroller */

Weights are int8 (a Dense layer's stored transposed), biases int32, requantization
multipliers int32 with an int8 shift per output channel; activations are int8 in the arena.
Besides ``<math.h>`` (``roundf`` to quantize the input) the header needs ``<stdint.h>``.
"""

from __future__ import annotations

import numpy as np

from tinynn.export.c_blocks import WINDOW
from tinynn.export.c_int8_blocks import INT8_BLOCKS
from tinynn.export.c_writer import (
    Writer,
    _broadcast_index,
    check_prefix,
    describe,
    permute_arguments,
    safe,
    size,
)
from tinynn.runtime.int8_layers import ADD_SHIFT, QuantizedLayer
from tinynn.runtime.int8_model import QuantizedModel


def export_c_int8(model: QuantizedModel, prefix: str = "tinynn", source: str = "") -> str:
    """The text of an int8 C99 header computing ``model``."""
    check_prefix(prefix)
    return Int8Writer(model, prefix).header(source)


def _call(function: str, *args: object) -> str:
    """A call of a building block on the layer's x and y: ``f(x, args…, y);``."""
    return f"{function}(x, {', '.join(str(a) for a in args)}, y);"


def _float(value: float) -> str:
    return f"{float(np.float32(value)):.9g}f"


class Int8Writer(Writer):
    element_bytes = 1

    def __init__(self, model: QuantizedModel, prefix: str) -> None:
        super().__init__(model.spec, prefix, "int8_t")
        self.model = model
        self.scratch: list[int] = []  # bytes of int16 scratch, per layer that keeps one
        p = prefix
        self.usage = (
            f"float y[{p.upper()}_OUTPUT_SIZE]; {p}_predict(x, y);\n"
            f" *    or, integers only: {p}_predict_int8(q, out) on int8 arrays."
        )

    def header(self, source: str) -> str:
        P, model = self.P, self.model
        layers = list(enumerate(model.layers))
        weights = [self.weights(i, q) for i, q in layers]
        functions = [self.layer_function(i, q) for i, q in layers]
        predict = self.predict("int8_t", "int8_t", "predict_int8")
        depthwise = [
            q.weights.shape[2] * q.weights.shape[3]
            for _, q in layers
            if q.kind == "DepthwiseConv2D"
        ]
        acc_size = max(depthwise, default=1)
        self.scratch_bytes = max([4 * acc_size if depthwise else 0, *self.scratch])
        (s_in, z_in), (s_out, z_out) = model.input_q, model.output_q
        macros = (
            f"\n#define {P.upper()}_INPUT_SCALE {_float(s_in)}\n"
            f"#define {P.upper()}_INPUT_ZERO_POINT {z_in}\n"
            f"#define {P.upper()}_OUTPUT_SCALE {_float(s_out)}\n"
            f"#define {P.upper()}_OUTPUT_ZERO_POINT {z_out}\n"
            "/* int32 sums a depthwise convolution keeps on the stack: its most channels */\n"
            f"#define {P.upper()}_ACC_SIZE {acc_size}"
        )
        used = [
            "arithmetic",
            *[name for name in INT8_BLOCKS if name in self.used and name != "arithmetic"],
        ]
        if "avg_pool" in self.used or "global_avg_pool" in self.used:
            used.insert(1, "mean")
        blocks = [INT8_BLOCKS[name] for name in INT8_BLOCKS if name in used]
        parts = [
            "/* ---- weights ---- */",
            WINDOW.format(P=P).rstrip() if "window" in self.used else "",
            *[w for w in weights if w],
            "/* ---- building blocks ---- */",
            *(block.format(P=P, P_=P.upper()).rstrip() for block in blocks),
            "/* ---- one function per layer ---- */",
            *functions,
            predict,
            self.float_interface(),
        ]
        return self.frame(source, "int8", parts, macros)

    def float_interface(self) -> str:
        P, p_ = self.P, self.P.upper()
        return f"""\
/* x (floats) -> q (int8): roundf(x / scale) + zero_point, clamped to -128..127. */
static inline void {P}_quantize_input(const float *x, int8_t *q)
{{
    for (int i = 0; i < {p_}_INPUT_SIZE; ++i) {{
        const float v = roundf(x[i] / {p_}_INPUT_SCALE) + {p_}_INPUT_ZERO_POINT;
        q[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
    }}
}}

/* q (int8) -> y (floats): (q - zero_point) * scale. */
static inline void {P}_dequantize_output(const int8_t *q, float *y)
{{
    for (int i = 0; i < {p_}_OUTPUT_SIZE; ++i)
        y[i] = (float)(q[i] - {p_}_OUTPUT_ZERO_POINT) * {p_}_OUTPUT_SCALE;
}}

/* The model on floats: quantize x, run the int8 layers, dequantize into y. */
static inline void {P}_predict(const float *x, float *y)
{{
    {p_}_ARENA_STORAGE int8_t q[{p_}_INPUT_SIZE], out[{p_}_OUTPUT_SIZE];
    {P}_quantize_input(x, q);
    {P}_predict_int8(q, out);
    {P}_dequantize_output(out, y);
}}"""

    def weights(self, index: int, q: QuantizedLayer) -> str:
        layer, name, found = q.layer, f"layer{index}", []
        what = f"layer {index} ({safe(layer.name)})"
        if q.kind == "Dense":
            note = f"{what}: int8 kernel, transposed: row j = output j"
            found.append(self.array(f"{name}_W", q.weights.T, "int8_t", note))
            found.append(self.array(f"{name}_b", q.bias, "int32_t", f"{what}: int32 bias"))
        elif q.kind == "Conv2D":  # (kh, kw, c, filters) -> (filters, kh, kw, c)
            note = f"{what}: int8 kernel {q.weights.shape}, stored (filters, kh, kw, c)"
            kernel = q.weights.transpose(3, 0, 1, 2)
            found.append(self.array(f"{name}_W", kernel, "int8_t", note))
            found.append(self.array(f"{name}_b", q.bias, "int32_t", f"{what}: int32 bias"))
        elif q.weights is not None:
            note = f"{what}: int8 kernel {q.weights.shape}, row-major"
            found.append(self.array(f"{name}_W", q.weights, "int8_t", note))
            found.append(self.array(f"{name}_b", q.bias, "int32_t", f"{what}: int32 bias"))
        if q.m0 is not None:
            found.append(
                self.array(f"{name}_m0", q.m0, "int32_t", f"{what}: requantization multipliers")
            )
            found.append(
                self.array(f"{name}_shift", q.shift, "int8_t", f"{what}: and their shifts")
            )
        if q.table is not None:
            ctype = "int32_t" if q.table.dtype == np.int32 else "int8_t"
            found.append(
                self.array(f"{name}_table", q.table, ctype, f"{what}: {layer.activation} table")
            )
        if q.kind in ("Conv2D", "DepthwiseConv2D"):
            found.append(self.window(index, layer, q.weights.shape[:2]))
        if q.kind in ("MaxPooling2D", "AveragePooling2D"):
            found.append(self.window(index, layer, layer.pool_size))
        return "\n".join(found)

    def layer_function(self, index: int, q: QuantizedLayer) -> str:
        P, kind, layer = self.P, q.kind, q.layer
        name = f"{P}_layer{index}"
        head = f"/* layer {index}: {safe(describe(layer))} */\n"
        signature = f"static inline void {name}(const int8_t *restrict x, int8_t *restrict y)\n{{\n"
        n = size(layer.output_shape)
        (_, zp_in), (_, zp_out) = q.in_q[0], q.out_q
        clamp = f"{zp_out}, {q.low}, {q.high}"
        requant = f"{name}_m0, {name}_shift"
        if kind in ("Flatten", "Reshape"):
            return f"/* layer {index}: {safe(describe(layer))}: nothing to do on flat memory */"
        if kind in ("Add", "Subtract", "Average", "Multiply", "Concatenate"):
            return head + self.merge_int8(index, q)
        if kind == "Dense":
            self.used.add("dense")
            n_in, units = q.weights.shape
            weights = f"&{name}_W[0][0], {name}_b"
            call = _call(f"{P}_dense", weights, requant, n_in, units, zp_in, clamp, "xs")
            signature += f"    int16_t xs[{n_in}]; /* x - zero_point, widened */\n"
            self.scratch.append(2 * n_in)
        elif kind in ("Conv2D", "DepthwiseConv2D"):
            block = "conv2d" if kind == "Conv2D" else "depthwise"
            self.used.add(block)
            width = q.weights.shape[3]
            args = [f"{name}_W", f"{name}_b", requant, f"&{name}_window", width, zp_in, clamp]
            if kind == "Conv2D":
                patch = int(np.prod(q.weights.shape[:3]))
                signature += f"    int16_t patch[{patch}]; /* x - zero_point under the kernel */\n"
                self.scratch.append(2 * patch)
                args.append("patch")
            call = _call(f"{P}_{block}", *args)
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            block = "max_pool" if kind == "MaxPooling2D" else "avg_pool"
            self.used.add(block)
            call = _call(f"{P}_{block}", f"&{name}_window")
        elif kind == "GlobalAveragePooling2D":
            self.used.add("global_avg_pool")
            h, w, c = layer.input_shape
            call = _call(f"{P}_global_avg_pool", h * w, c)
        elif kind == "ZeroPadding2D":
            self.used.add("zero_pad")
            h, w, c = layer.input_shape
            pads = ", ".join(str(p) for p in layer.pads)
            call = _call(f"{P}_zero_pad", h, w, c, pads, zp_in)
        elif kind == "Permute":
            self.used.add("permute")
            call = _call(f"{P}_permute", permute_arguments(layer))
        elif kind in ("Affine", "Activation"):
            if kind == "Affine":
                self.used.add("scale_shift")
                c = layer.output_shape[-1]
                weights = f"{name}_W, {name}_b"
                call = _call(f"{P}_scale_shift", weights, requant, n, c, zp_in, zp_out)
            elif layer.activation == "softmax":
                self.used.add("softmax")
                table = f"{name}_table, {len(q.table)}"
                call = _call(f"{P}_softmax", table, n, layer.output_shape[-1])
            else:
                self.used.add("lookup")
                call = _call(f"{P}_lookup", f"{name}_table", n)
            if index in self.plan.in_place:
                body = call.replace(", y);", ", x);")
                return head + f"static inline void {name}(int8_t *x)\n{{\n    {body}\n}}"
            signature = f"static inline void {name}(const int8_t *x, int8_t *y)\n{{\n"
        else:
            raise ValueError(f"layer {layer.name!r} ({layer.class_name}) has no int8 C form")
        return head + signature + f"    {call}\n}}"

    def merge_int8(self, index: int, q: QuantizedLayer) -> str:
        """Add, Subtract, Average (TFLite's Add), Multiply or Concatenate on int8 inputs."""
        P, layer, kind = self.P, q.layer, q.kind
        args = ", ".join(f"const int8_t *x{i}" for i in range(len(layer.inputs)))
        head = f"static inline void {P}_layer{index}({args}, int8_t *y)\n{{\n"
        out, zp_out = layer.output_shape, q.out_q[1]
        if kind == "Concatenate":
            axis = layer.options["axis"]
            outer, total = size(out[:axis]), size(out[axis:])
            lines, offset = [f"    for (int o = 0; o < {outer}; ++o) {{"], 0
            for i, shape in enumerate(layer.input_shapes):
                inner = size(shape[axis:])
                value = f"x{i}[o * {inner} + k]"
                if q.in_q[i] != q.out_q:
                    m0, shift = int(q.m0[i]), int(q.shift[i])
                    args = f"{value} - {q.in_q[i][1]}, {m0}, {shift}, {zp_out}, -128, 127"
                    value = f"{P}_requantize({args})"
                lines.append(
                    f"        for (int k = 0; k < {inner}; ++k)\n"
                    f"            y[o * {total} + {offset} + k] = {value};"
                )
                offset += inner
            return head + "\n".join(lines) + "\n    }\n}"
        terms = [
            f"(x{i}[{_broadcast_index(shape, out)}] - {q.in_q[i][1]})"
            for i, shape in enumerate(layer.input_shapes)
        ]
        if kind == "Multiply":
            value = f"{terms[0]} * {terms[1]}"
            m0, shift = int(q.m0[0]), int(q.shift[0])
        else:
            scaled = [
                f"{P}_multiply({term} * (1 << {ADD_SHIFT}), {int(m)}, {int(s)})"
                for term, m, s in zip(terms, q.m0, q.shift, strict=True)
            ]
            value = ("\n            - " if kind == "Subtract" else "\n            + ").join(scaled)
            m0, shift = q.out_m0, q.out_shift
        return (
            head
            + f"    for (int i = 0; i < {size(out)}; ++i) {{\n"
            + f"        const int32_t raw = {value};\n"
            + f"        y[i] = {P}_requantize(raw, {m0}, {shift}, {zp_out}, {q.low}, {q.high});\n"
            + "    }\n}"
        )
