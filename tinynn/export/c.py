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

import numpy as np

from tinynn.activations import ACTIVATIONS
from tinynn.export.c_blocks import ELEMENTWISE, FLOAT_BLOCKS, WINDOW
from tinynn.export.c_writer import (
    MERGE_OPS,
    Writer,
    _literal,
    check_prefix,
    describe,
    permute_arguments,
    safe,
    size,
)
from tinynn.runtime import LayerSpec, ModelSpec
from tinynn.runtime.lowering import AFFINE, channel_affine, lower

#: Bytes of Dense outputs one sweep over the weights accumulates at most (``PREFIX_BLOCK``
#: outputs: 256 floats or 128 doubles), a stack array of the generated code.
MAX_BLOCK_BYTES = 1024


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
        self.scratch_bytes = block_width * spec.dtype.itemsize if units else 0  # dense's acc
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
        elif kind == "Permute":
            self.used.add("permute")
            call = f"    {P}_permute(x, {permute_arguments(layer)}, y);\n"
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
