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
import io
import json
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


#: The runtime package's modules, each after the ones it imports from.
RUNTIME_PARTS = ("activations", "model_file", "inference")


def standalone_source() -> str:
    """The ``tinynn.runtime`` package as the source of one module that needs only NumPy.

    Its parts are joined in dependency order under the package docstring. The imports between
    them are dropped, since the parts now share one namespace, and ``from __future__`` is
    stated once at the top, where Python requires it.
    """
    folder = Path(runtime.__file__).parent
    docstring = ast.get_docstring(ast.parse((folder / "__init__.py").read_text("utf-8")))
    pieces = [f'"""{docstring}\n"""\n\nfrom __future__ import annotations\n']
    for name in RUNTIME_PARTS:
        text = (folder / f"{name}.py").read_text("utf-8")
        lines = text.splitlines(keepends=True)
        for node in reversed(ast.parse(text).body):
            if isinstance(node, ast.ImportFrom) and (
                node.module == "__future__" or (node.module or "").startswith("tinynn.runtime.")
            ):
                del lines[node.lineno - 1 : node.end_lineno]
        pieces.append(f"\n\n# -- {name} " + "-" * (86 - len(name)) + "\n\n" + "".join(lines))
    return "".join(pieces)


def export_python(spec: runtime.ModelSpec, model_path: Path, output: Path) -> list[Path]:
    """Write the runtime module to ``output`` and the weights to ``<stem>_weights.npz``."""
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
    write_atomic(weights, slim_model_file(spec))
    write_atomic(output, text.encode("utf-8"))
    return [output, weights]


def slim_model_file(spec: runtime.ModelSpec) -> bytes:
    """The bytes of a model file holding only the config and weights of ``spec``."""
    arrays, manifest = {}, []
    for layer in spec.layers:
        for array in (layer.kernel, layer.bias):
            if array is not None:
                key = f"weights/{len(arrays)}"
                arrays[key] = array
                manifest.append({"key": key, "shape": list(array.shape), "dtype": array.dtype.name})
    config = {
        "format": runtime.FORMAT,
        "format_version": runtime.FORMAT_VERSION,
        "model": spec.config,
        "compile": None,
        "arrays": manifest,
        "metadata": spec.metadata,
    }
    arrays["__config__"] = np.frombuffer(json.dumps(config).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()
