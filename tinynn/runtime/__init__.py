"""Run a saved tinynn model with NumPy alone: load, validate, predict.

    from tinynn import runtime
    model = runtime.load_model("digits.npz")   # checks the whole file first
    p = model.predict(x)                       # x: (batch, *input_shape) -> (batch, *output_shape)
    p0 = model.predict_one(x[0])               # one sample, the low-latency path

This package imports only NumPy and the standard library, never the rest of tinynn, so
``tinynn export MODEL --format python`` ships it as one standalone module: its three parts,
in this order, joined into one file (``tinynn.export.python.standalone_source``):

* ``activations``: the activation formulas, out[...] = f(x);
* ``model_file``: reading and validating a model file into a ``ModelSpec``;
* ``inference``: ``InferenceModel``, which runs a ``ModelSpec``, and ``load_model``.

Reading a file never executes code from it. Before any array is used, ``read_model``:
  * refuses files larger than ``max_bytes`` (default 1 GiB), checks every zip member's declared
    size against that budget before reading it, and limits the config to 16 MiB;
  * parses each ``.npy`` header itself and refuses object (pickled) dtypes, shapes that disagree
    with the member's byte count, and anything but float32/float64 weights;
  * accepts only the layer classes in ``LAYER_CLASSES`` and activations in ``ACTIVATIONS``;
  * checks every declared size (at most ``MAX_SAMPLE_SIZE`` values per sample, summed over
    the layers), every weight shape against the layer config (units, input shape), and that
    weights are finite.
Problems raise ``ModelFileError`` (a ValueError) naming the file, the part and what was expected.

Speed: everything is prepared at load. Dense kernels are stored transposed, (units, n_in) and
contiguous, so one sample is a single BLAS matrix-vector product written into a preallocated
buffer, followed by in-place bias and activation. A call checks only the input's shape.
"""

from tinynn.runtime.activations import ACTIVATIONS
from tinynn.runtime.inference import InferenceModel, aligned_empty, load_model
from tinynn.runtime.model_file import (
    DEFAULT_ALPHA,
    FORMAT,
    FORMAT_VERSION,
    LAYER_CLASSES,
    MAX_CONFIG_BYTES,
    MAX_FILE_BYTES,
    MAX_MEMBERS,
    MAX_SAMPLE_SIZE,
    ArchiveReader,
    LayerSpec,
    ModelFileError,
    ModelSpec,
    read_model,
)

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_ALPHA",
    "FORMAT",
    "FORMAT_VERSION",
    "LAYER_CLASSES",
    "MAX_CONFIG_BYTES",
    "MAX_FILE_BYTES",
    "MAX_MEMBERS",
    "MAX_SAMPLE_SIZE",
    "ArchiveReader",
    "InferenceModel",
    "LayerSpec",
    "ModelFileError",
    "ModelSpec",
    "aligned_empty",
    "load_model",
    "read_model",
]
