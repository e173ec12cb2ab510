"""Read a Keras 3 ``.keras`` file into a tinynn model, without Keras.

A ``.keras`` file is a zip of ``config.json`` (the model: each layer's class name, its config
and, in a functional model, the tensors each call takes, as ``keras_history`` [layer, call,
tensor]) and ``model.weights.h5`` (HDF5, read with h5py), where layer number k of a class
keeps its variables under ``layers/<class in snake_case>_k/vars/0, 1, …`` in the order of
``layer.weights``. Keras and tinynn share the NHWC layout and every weight layout used here
(kernels (kh, kw, in, out), depthwise (kh, kw, in, multiplier), Dense (in, out), and
BatchNormalization's gamma, beta, moving mean, moving variance), so weights copy as they are.

Nothing in the file is executed: the config is JSON mapped onto tinynn's own classes, and the
weights are numeric HDF5 datasets. A layer class tinynn lacks is refused by name.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from typing import Any

import numpy as np

from tinynn import activations, layers
from tinynn.convert.torch_modules import UnsupportedError
from tinynn.layers.symbolic import Input, call_symbolic

#: Keras config keys tinynn layers take as they are, per class; anything else is dropped
#: after the checks in ``_make_layer`` (initializers, regularizers and constraints do not
#: matter for a model whose weights are then loaded).
_KEEP = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "dilation_rate", "use_bias"),
    "DepthwiseConv2D": (
        "kernel_size",
        "strides",
        "padding",
        "depth_multiplier",
        "dilation_rate",
        "use_bias",
    ),
    "SeparableConv2D": (
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "depth_multiplier",
        "dilation_rate",
        "use_bias",
    ),
    "Dense": ("units", "use_bias"),
    "BatchNormalization": ("momentum", "epsilon", "center", "scale"),
    "LayerNormalization": ("epsilon", "center", "scale"),
    "ReLU": ("max_value", "negative_slope", "threshold"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "ZeroPadding2D": ("padding",),
    "Dropout": ("rate",),
    "Flatten": (),
    "Reshape": ("target_shape",),
    "Permute": ("dims",),
    "Rescaling": ("scale", "offset"),
    "Add": (),
    "Subtract": (),
    "Multiply": (),
    "Average": (),
    "Concatenate": ("axis",),
    "GlobalAveragePooling2D": (),
    "Activation": (),
    "Softmax": ("axis",),
}


def from_keras(path: str | os.PathLike) -> Any:
    """A tinynn model equal to the Keras 3 model saved at ``path`` (a ``.keras`` file).

    Supports Sequential and functional models made of the layers in ``_KEEP`` (those
    MobileNetV2 and ResNet-style models use). Raises ``UnsupportedError`` naming a layer or
    setting tinynn cannot reproduce, ``FileNotFoundError`` or ``ValueError`` for a file that
    is not a ``.keras`` archive.
    """
    try:
        import h5py
    except ImportError:
        raise ModuleNotFoundError(
            "reading .keras files needs h5py: pip install h5py", name="h5py"
        ) from None
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no .keras file at {path!r}")
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            weights = archive.read("model.weights.h5")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as error:
        raise ValueError(f"{path!r} is not a Keras 3 .keras file: {error}") from None
    kind = config.get("class_name")
    if kind not in ("Functional", "Sequential", "Model"):
        raise UnsupportedError(f"a Keras model of class {kind!r} (Functional or Sequential)")
    entries = config["config"]["layers"]
    built = _build(entries, kind == "Sequential", config["config"])
    with h5py.File(io.BytesIO(weights), "r") as h5:
        for group, layer in _weight_groups(entries, built, kind == "Sequential"):
            arrays = [h5[f"{group}/vars/{i}"][()] for i in range(len(h5[f"{group}/vars"]))]
            if arrays:
                layer.set_weights([np.asarray(a, dtype=layer.dtype) for a in arrays])
    return built["__model__"]


def _build(entries: list[dict], sequential: bool, model_config: dict) -> dict[str, Any]:
    """Every layer by name, and the model under "__model__"."""
    from tinynn.models import Model, Sequential

    built: dict[str, Any] = {}
    if sequential:
        model = Sequential(name=model_config.get("name", "sequential"))
        for entry in entries:
            if entry["class_name"] == "InputLayer":
                model.add(Input(_sample_shape(entry["config"])))
                continue
            layer = _make_layer(entry)
            built[layer.name] = layer
            model.add(layer)
        built["__model__"] = model
        return built
    made: dict[str, list[Any]] = {}
    waiting = []
    for entry in entries:
        name = entry.get("name") or entry["config"]["name"]
        if entry["class_name"] == "InputLayer":
            tensor = Input(_sample_shape(entry["config"]), name=name)
            made[name], built[name] = [tensor], tensor.layer
            continue
        built[name] = _make_layer(entry)
        waiting += [(built[name], node) for node in entry.get("inbound_nodes", [])]
    while waiting:  # a layer's call may need the output of a layer listed after it
        for item in waiting:
            histories = _histories(item[1])
            if all(len(made.get(src, [])) > call for src, call, _ in histories):
                break
        else:
            raise ValueError("the model config's layer calls refer to tensors never made")
        waiting.remove(item)
        layer = item[0]
        args = [made[src][call] for src, call, _ in histories]
        many = getattr(layer, "takes_list", False)
        made.setdefault(layer.name, []).append(call_symbolic(layer, args if many else args[0]))

    def tensors(refs: Any) -> Any:
        if refs and isinstance(refs[0], str):  # one tensor: [name, call, index]
            return made[refs[0]][refs[1]]
        return [made[name][call] for name, call, _ in refs]

    built["__model__"] = Model(
        inputs=tensors(model_config["input_layers"]),
        outputs=tensors(model_config["output_layers"]),
        name=model_config.get("name", "model"),
    )
    return built


def _histories(node: dict) -> list[list[Any]]:
    """The [layer, call, tensor] of every tensor a recorded call takes."""
    found: list[list[Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            found.append(value["config"]["keras_history"])
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(node.get("args", []))
    return found


def _sample_shape(config: dict) -> tuple[int, ...]:
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if shape is None or any(d is None for d in shape[1:]):
        raise UnsupportedError(f"an input without a fixed sample shape: {shape}")
    return tuple(int(d) for d in shape[1:])


def _make_layer(entry: dict) -> Any:
    kind, config = entry["class_name"], dict(entry["config"])
    name = entry.get("name") or config.get("name")
    if kind not in _KEEP:
        raise UnsupportedError(
            f"cannot convert layer {name!r} of type {kind}; supported: {sorted(_KEEP)}"
        )
    if config.get("data_format", "channels_last") != "channels_last":
        raise UnsupportedError(f"{name}: data_format {config['data_format']!r}")
    if config.get("groups", 1) != 1:
        raise UnsupportedError(f"{name}: grouped convolution (groups={config['groups']})")
    if kind in ("BatchNormalization",) and config.get("axis", -1) not in (-1, 3, [-1], [3]):
        raise UnsupportedError(f"{name}: BatchNormalization over axis {config['axis']}")
    if kind == "GlobalAveragePooling2D" and config.get("keepdims"):
        raise UnsupportedError(f"{name}: GlobalAveragePooling2D with keepdims=True")
    arguments = {key: config[key] for key in _KEEP[kind] if key in config}
    if "activation" in config or kind == "Activation":
        activation = _activation(config.get("activation"), name)
        if kind == "Activation" or activation is not None:
            arguments["activation"] = activation
    if kind == "Dense" and "units" not in arguments:
        raise UnsupportedError(f"{name}: Dense without units")
    return getattr(layers, kind)(name=name, **arguments)


def _activation(spec: Any, name: str) -> Any:
    """Keras's activation entry (a name, or a serialized function) as a tinynn name."""
    if isinstance(spec, dict):
        spec = spec.get("config") if isinstance(spec.get("config"), str) else spec.get("class_name")
    if spec is None or spec == "linear":
        return None
    try:
        activations.ACTIVATIONS.lookup(spec)
    except ValueError:
        raise UnsupportedError(f"{name}: activation {spec!r}") from None
    return spec


def _weight_groups(entries: list[dict], built: dict, sequential: bool):
    """(HDF5 group, tinynn layer) for every layer with weights, counting classes in order."""
    counts: dict[str, int] = {}
    for entry in entries:
        kind = entry["class_name"]
        if sequential and kind == "InputLayer":
            continue
        key = _snake(kind)
        count = counts.get(key, 0)
        counts[key] = count + 1
        name = entry.get("name") or entry["config"]["name"]
        layer = built.get(name)
        if layer is not None and layer.weights:
            yield f"layers/{key}" + (f"_{count}" if count else ""), layer


def _snake(name: str) -> str:
    """Keras's ``to_snake_case``: "DepthwiseConv2D" -> "depthwise_conv2d", "ReLU" -> "re_lu"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
