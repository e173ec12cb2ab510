"""Run a saved tinynn model with NumPy alone: load, validate, predict.

    from tinynn import runtime
    model = runtime.load_model("digits.npz")   # checks the whole file first
    p = model.predict(x)                       # x: (batch, *input_shape) -> (batch, *output_shape)
    p0 = model.predict_one(x[0])               # one sample, the low-latency path

Dense, convolutional (Conv2D, DepthwiseConv2D, SeparableConv2D), pooling, padding,
normalization (BatchNormalization, Normalization, Rescaling), residual and functional models
(one input, one output; Add, Subtract, Multiply, Average, Concatenate) all run.

This package imports only NumPy, the standard library and numpy-only modules of tinynn, so
``tinynn export MODEL --format python`` ships it as one standalone module: its parts, in this
order, joined into one file (``tinynn.export.python.RUNTIME_PARTS``):

* ``tinynn.registry`` and ``tinynn.activations``: name lookup and the activation classes;
* the NumPy kernels the layers call (``conv_patches``, ``pool2d``, ``normalize``);
* ``archive``: the file format, written atomically and read safely;
* ``specs``, ``layer_parsers``, ``model_file``: validating a model file into a ``ModelSpec``;
* ``layer_steps``, ``inference``: ``InferenceModel``, which runs a ``ModelSpec``;
* ``lowering``: batch norm folded, activations fused (what the exporters compile);
* ``quantization``, ``int8_layers``, ``int8_model``: int8, TFLite's scheme, in integers;
* ``load``: ``load_model``.

Reading a file never executes code from it. Before any array is used, ``read_model``:
  * refuses files larger than ``max_bytes`` (default 1 GiB), checks every zip member's declared
    size against that budget before reading it, and limits the config to 16 MiB;
  * parses each ``.npy`` header itself and refuses object (pickled) dtypes, shapes that disagree
    with the member's byte count, and anything but float32/float64 weights (float16 in a file
    exported with ``--quantize float16``);
  * accepts only the layer classes in ``LAYER_CLASSES`` and the registered activations;
  * checks every declared size (at most ``MAX_SAMPLE_SIZE`` values per sample, summed over
    the layers; kernels, strides, dilations and paddings at most 4096), every weight and
    statistic against the shape the layer config implies, that weights are finite and
    variances not negative, and that a graph's calls refer to tensors that exist.
Problems raise ``ModelFileError`` (a ValueError) naming the file, the part and what was expected.

``model.predict`` runs the same ``InferenceModel`` on the model's live weights."""

from tinynn.activations import ACTIVATIONS
from tinynn.runtime.archive import (
    FORMAT,
    FORMAT_VERSION,
    MAX_CONFIG_BYTES,
    MAX_FILE_BYTES,
    MAX_MEMBERS,
    ArchiveReader,
    ModelFileError,
    read_archive,
    write_archive,
)
from tinynn.runtime.inference import InferenceModel
from tinynn.runtime.int8_model import QuantizedModel
from tinynn.runtime.layer_parsers import LAYER_CLASSES
from tinynn.runtime.load import load_model
from tinynn.runtime.model_file import parse_model, read_model
from tinynn.runtime.specs import DEFAULT_ALPHA, MAX_SAMPLE_SIZE, LayerSpec, ModelSpec

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
    "QuantizedModel",
    "load_model",
    "parse_model",
    "read_archive",
    "read_model",
    "write_archive",
]
