"""What a checked model file turns into: ``LayerSpec``s wired into a ``ModelSpec`` graph, and
the small checks every layer parser shares (each raises ``ModelFileError`` naming the value).

The graph is a list of layers in an order where every layer comes after the layers it reads.
Tensors are numbered: tensor 0 is the model input, tensor k + 1 the output of layer k. A
Sequential model is the chain in which layer k reads tensor k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinynn.activations import ACTIVATIONS
from tinynn.runtime.archive import ModelFileError

MAX_SAMPLE_SIZE = 1 << 26  # values per sample over all layer outputs: 256 MiB of float32
# (MobileNetV2 at 224 × 224 has about 20 million; the limit refuses absurd declarations only)
#: The alpha an activation gets when its config names none (LeakyReLU 0.2, ELU 1).
DEFAULT_ALPHA = {
    name: ACTIVATIONS[name]().alpha for name in ACTIVATIONS if ACTIVATIONS[name]().alpha
}
NO_PADS = (0, 0, 0, 0)


@dataclass(frozen=True)
class LayerSpec:
    """One layer (or one step of a container layer) as the file declares it, checked.

    Exporters (C, ONNX, int8) read these too. ``class_name`` is the layer's class in the file,
    except that a SeparableConv2D becomes a DepthwiseConv2D followed by a 1×1 Conv2D, a
    Residual its branches plus an Add (and an Activation), and the ReLU and Softmax layers an
    Activation. Layers that are the identity at inference (Dropout, Identity, Input, the
    augmentation layers) leave no spec.

    ``kernel`` is Dense's (n_in, units) or a convolution's (kh, kw, C_in, F) — Keras's layouts
    — and ``bias`` (units,) or None. ``inputs`` are the tensor numbers read (several for a
    merge), with ``input_shapes`` theirs. ``pads`` are (top, bottom, left, right). ``arrays``
    holds BatchNormalization's "gamma", "beta", "moving_mean", "moving_variance" and
    Normalization's "mean", "variance"; ``options`` the remaining settings ("epsilon",
    "scale"/"offset" of Rescaling, "axis" of Concatenate, "dims" of Permute).
    """

    class_name: str
    name: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    dtype: np.dtype
    activation: str = "linear"
    alpha: float = 0.0
    kernel: np.ndarray | None = None
    bias: np.ndarray | None = None
    inputs: tuple[int, ...] = (0,)
    input_shapes: tuple[tuple[int, ...], ...] = ()
    strides: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pool_size: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = NO_PADS
    arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    """A checked model: sample shapes (no batch axis), dtype, and the layer graph.

    ``output`` is the tensor the model returns (0, the input, when every layer is the
    identity). ``config`` is the file's model entry as read, ``weights`` its arrays
    ``weights/<i>`` in order and ``state`` its ``state/<layer>/<key>`` arrays, so that a copy
    can be re-saved. ``quantization`` is what an exported file records about its number
    format (``{"scheme": "float16"}``, or "int8" with the calibrated ranges), else None.
    """

    name: str
    dtype: np.dtype
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    layers: tuple[LayerSpec, ...]
    metadata: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict, repr=False)  # {"class_name", "config"}
    output: int = -1
    weights: tuple[np.ndarray, ...] = field(default=(), repr=False)
    state: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    quantization: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.output == -1:  # a chain, built by hand: its last layer's output
            object.__setattr__(self, "output", len(self.layers))

    def is_chain(self) -> bool:
        """True when layer k reads tensor k only (a Sequential model, lowered)."""
        return all(layer.inputs == (k,) for k, layer in enumerate(self.layers)) and (
            self.output == len(self.layers)
        )

    def tensor_shape(self, tensor: int) -> tuple[int, ...]:
        return self.input_shape if tensor == 0 else self.layers[tensor - 1].output_shape

    def consumers(self) -> dict[int, list[int]]:
        """tensor -> the layers that read it (the model's output counts as a reader, -1)."""
        readers: dict[int, list[int]] = {t: [] for t in range(len(self.layers) + 1)}
        for k, layer in enumerate(self.layers):
            for tensor in layer.inputs:
                readers[tensor].append(k)
        readers[self.output].append(-1)
        return readers


class Checks:
    """The shared checks, each raising ``ModelFileError`` prefixed with the file's name."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, message: str) -> ModelFileError:
        return ModelFileError(f"{self.path!r}: {message}")

    def dict(self, value: Any, what: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(f"{what} must be a JSON object, got {type(value).__name__}")
        return value

    def dtype(self, value: Any, what: str) -> np.dtype:
        if value not in ("float32", "float64"):
            raise self.fail(f"{what} has dtype {value!r}; expected 'float32' or 'float64'")
        return np.dtype(value)

    def size(self, value: Any, what: str, limit: int = MAX_SAMPLE_SIZE) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
            raise self.fail(f"{what} is {value!r}; expected an integer in 1..{limit}")
        return value

    def flag(self, value: Any, what: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"{what} is {value!r}; expected true or false")
        return value

    def number(self, value: Any, what: str, positive: bool = False) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(f"{what} is {value!r}; expected a finite number")
        if positive and value <= 0:
            raise self.fail(f"{what} is {value!r}; expected a number > 0")
        return float(value)

    def shape(self, value: Any, what: str) -> tuple[int, ...]:
        if not isinstance(value, list | tuple) or not 0 < len(value) <= 8:
            raise self.fail(f"{what} is {value!r}; expected a list of 1 to 8 positive integers")
        shape = tuple(self.size(d, what) for d in value)
        self.size(math.prod(shape), f"{what} size")
        return shape

    def pair(self, value: Any, what: str, limit: int) -> tuple[int, int]:
        """A pair of integers in 1..limit (an int n means (n, n), as in Keras)."""
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value, value]
        if not isinstance(value, list) or len(value) != 2:
            raise self.fail(f"{what} is {value!r}; expected two integers")
        return (self.size(value[0], what, limit), self.size(value[1], what, limit))

    def image(self, shape: tuple[int, ...], what: str) -> tuple[int, int, int]:
        if len(shape) != 3:
            raise self.fail(f"{what} needs images (height, width, channels) but gets {shape}")
        return shape[0], shape[1], shape[2]

    def activation(self, spec: Any, what: str) -> tuple[str, float]:
        """(registered name, alpha) of an activation config: a name or {"class_name", …}."""
        config: Any = {}
        if spec is None:
            name = "linear"
        elif isinstance(spec, str):
            name = spec
        else:
            spec = self.dict(spec, f"{what} activation")
            name, config = spec.get("class_name"), spec.get("config")
        try:
            name = ACTIVATIONS.name_of_class(ACTIVATIONS.lookup(name))
        except (ValueError, TypeError, AttributeError):
            raise self.fail(
                f"{what} has activation {name!r}; expected one of {sorted(ACTIVATIONS)}"
            ) from None
        alpha = self.dict(config or {}, f"{what} activation config").get(
            "alpha", DEFAULT_ALPHA.get(name, 0.0)
        )
        alpha = self.number(alpha, f"{what} activation alpha")
        if name in DEFAULT_ALPHA and alpha <= 0:
            raise self.fail(f"{what} {name} alpha is {alpha}; it must be > 0")
        return name, alpha

    def array(
        self,
        arrays: dict,
        key: str,
        shape: tuple,
        dtype: np.dtype,
        stored: tuple[np.dtype, ...] = (),
    ) -> np.ndarray:
        """``arrays[key]``, checked for shape, dtype (``dtype``, or one of ``stored``, which
        is converted to ``dtype``) and finite values."""
        array = arrays.get(key)
        if array is None:
            raise self.fail(f"is missing the array {key!r}")
        if array.shape != shape or (array.dtype != dtype and array.dtype not in stored):
            raise self.fail(
                f"array {key!r} has shape {array.shape} and dtype {array.dtype}; the layer "
                f"config needs {shape} and {dtype}"
            )
        if not np.isfinite(array).all():
            raise self.fail(f"array {key!r} holds NaN or infinite values")
        return array if array.dtype == dtype else array.astype(dtype)
