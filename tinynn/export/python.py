"""Ship a model as one Python module that needs only NumPy, plus its weights file.

    tinynn export digits.npz --format python --output digits_model.py
    # writes digits_model.py and digits_model_weights.npz; copy both into your project

    import digits_model
    model = digits_model.load()         # reads digits_model_weights.npz beside the module
    model.predict(x)

The module is the ``tinynn.runtime`` package (which imports nothing else from tinynn) joined
into one file by ``standalone_source``, with a comment on top and a ``load()`` function at
the end. The weights file is a slim tinynn model file: the
model config and its weights, without optimizer state or random-generator states, so
``tinynn.load_model`` still opens it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

from tinynn import runtime
from tinynn.export import write_atomic

_HEADER = """\
# {module}.py: a tinynn model runtime that needs only NumPy (>= 1.24, Python >= 3.10).
# Written by `tinynn export {source} --format python`; the weights are in {weights}.
#
#     import {module}
#     model = {module}.load()
#     outputs = model.predict(x)        # x: (batch, {shape})
#
"""

_FOOTER = '''

# -- added by `tinynn export --format python` ------------------------------------------------

WEIGHTS_FILE = {weights!r}


def load() -> InferenceModel:
    """The exported model, read (and checked) from WEIGHTS_FILE beside this module."""
    return load_model(Path(__file__).with_name(WEIGHTS_FILE))
'''


#: The modules of the NumPy-only runtime, each after the ones it imports from.
RUNTIME_PARTS = (
    "tinynn.registry",
    "tinynn.activations",
    "tinynn.kernels.numpy_ops.conv_patches",
    "tinynn.kernels.numpy_ops.pool2d",
    "tinynn.runtime.archive",
    "tinynn.runtime.specs",
    "tinynn.runtime.image_parsers",
    "tinynn.runtime.layer_parsers",
    "tinynn.runtime.model_file",
    "tinynn.runtime.layer_steps",
    "tinynn.runtime.inference",
    "tinynn.runtime.lowering",
    "tinynn.runtime.quantization",
    "tinynn.runtime.int8_layers",
    "tinynn.runtime.int8_model",
    "tinynn.runtime.load",
)

#: The docstring of the exported module: how to use it, and what loading checks.
MODULE_DOC = """A tinynn model runtime in one module: it reads a tinynn model file and predicts with
NumPy alone (the parts of tinynn.runtime, joined by `tinynn export --format python`).

    model = load()                      # the weights file exported beside this module
    model = load_model("other.npz")     # or any tinynn model file
    p = model.predict(x)                # x: (batch, *input_shape) -> (batch, *output_shape)
    p0 = model.predict_one(x[0])        # one sample, the low-latency path

Reading a file never executes code from it: every array header, size, layer setting and
weight shape is checked first, and problems raise ModelFileError (a ValueError) naming the
file, the part and what was expected. A file exported with --quantize int8 gives a
QuantizedModel, which computes with int8 integers as the C header does; --quantize float16
stores the weights at half precision and computes in float32.
"""


def standalone_source() -> str:
    """The NumPy-only runtime as the source of one module.

    Its parts are joined in dependency order under ``MODULE_DOC``. The
    imports between them are dropped, since the parts now share one namespace, and
    ``from __future__`` is stated once at the top, where Python requires it.
    """
    root = Path(runtime.__file__).parent.parent
    pieces = [f'"""{MODULE_DOC}"""\n\nfrom __future__ import annotations\n']
    for name in RUNTIME_PARTS:
        text = (root.parent / (name.replace(".", "/") + ".py")).read_text("utf-8")
        lines = text.splitlines(keepends=True)
        for node in reversed(ast.parse(text).body):
            if isinstance(node, ast.ImportFrom) and (
                node.module == "__future__" or (node.module or "").startswith("tinynn.")
            ):
                del lines[node.lineno - 1 : node.end_lineno]
        short = name.rsplit(".", 1)[-1]
        pieces.append(f"\n\n# -- {short} " + "-" * (86 - len(short)) + "\n\n" + "".join(lines))
    return "".join(pieces)


def export_python(
    spec: runtime.ModelSpec,
    model_path: Path,
    output: Path,
    quantize: str | None = None,
    quantized: runtime.QuantizedModel | None = None,
) -> list[Path]:
    """Write the runtime module to ``output`` and the weights to ``<stem>_weights.npz``
    (float16: at half precision; int8: with the calibrated scales and zero points)."""
    if output.suffix != ".py" or not output.stem.isidentifier():
        raise ValueError(
            f"the output {str(output)!r} must be a .py file whose name is a Python identifier "
            "(letters, digits, _), so that it can be imported"
        )
    weights = output.with_name(f"{output.stem}_weights.npz")
    if weights.exists() and weights.resolve() == model_path.resolve():
        raise ValueError(f"exporting would overwrite the model file {str(model_path)!r}")
    shape = ", ".join(str(d) for d in spec.input_shape)
    # The file name goes into a comment: keep it to one line of plain characters.
    source_name = re.sub(r"[^A-Za-z0-9_.\- ]", "_", model_path.name)
    names = {"module": output.stem, "source": source_name, "weights": weights.name}
    source = standalone_source()
    text = _HEADER.format(shape=shape, **names) + source.rstrip() + "\n" + _FOOTER.format(**names)
    quantization = quantized.config() if quantized is not None else None
    if quantize == "float16":
        quantization = {"scheme": "float16"}
    slim_model_file(spec, weights, quantization)
    write_atomic(output, text.encode("utf-8"))
    return [output, weights]


def slim_model_file(spec: runtime.ModelSpec, path: Path, quantization: dict | None = None) -> None:
    """Write a model file holding only the config and weights of ``spec`` to ``path``: its
    arrays at half precision for ``{"scheme": "float16"}``, and ``quantization`` recorded."""
    arrays = {f"weights/{i}": array for i, array in enumerate(spec.weights)}
    arrays.update(spec.state)
    if quantization is not None and quantization["scheme"] == "float16":
        half = {key: np.asarray(value, np.float16) for key, value in arrays.items()}
        overflow = [key for key, value in half.items() if not np.isfinite(value).all()]
        if overflow:
            raise ValueError(f"{overflow[0]} holds values beyond float16's range (65504)")
        arrays = half
    config = {"model": spec.config, "compile": None, "metadata": spec.metadata}
    if quantization is not None:
        config["quantization"] = quantization
    runtime.write_archive(path, config, arrays)
