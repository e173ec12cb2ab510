"""The model families ``tinynn bench depth`` sweeps: what "depth" and "width" mean for each.

A family builds a compiled model from (depth, width), gives the synthetic data it trains on
for timing, and (for the built-in ones) builds the same architecture for the bundled digits,
whose test accuracy is the other side of the trade:

    mlp     depth hidden Dense layers of ``width`` ReLU units on 784 inputs, softmax over 10
            (digits: the same hidden layers on the 64 pixels)
    conv    depth blocks of Conv2D(width, 3×3, "same", ReLU) + MaxPooling2D(2, "same") on
            28×28×1 images, then Flatten and a softmax Dense over 10 (digits: on the 8×8×1
            images)
    custom  ``--model module:function``: ``function(depth, width)`` returns a model. It is
            compiled with its own loss and optimizer when it has them, else with the
            benchmark's optimizer and the loss its output activation suggests, and it trains on
            random data of its input shape (``tinynn.profiling.random_data``); no accuracy.

Only the MLP has a GEMM floor (``mlp.GemmFloor``); every family has the roofline prediction.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinynn.bench import mlp

N_CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)


@dataclass
class Family:
    """How to build, feed and score one family (see the module docstring).

    Attributes:
        build: (depth, width, optimizer, backend, seed) -> a compiled model.
        data: (model, samples, seed) -> (x, y) for timing.
        digits: (depth, width, backend, seed) -> a compiled model for the digits, or None.
        digits_shape: the sample shape the digits are given in.
        floor_sizes: (depth, width) -> the MLP's layer sizes for its GEMM floor, or None.
        depth_label, width_label: what the two numbers count, for plots.
        full, quick: the sweeps' defaults, full size and with --quick: "depths", "widths",
            "sweep_width" (the width held fixed while depth varies) and "samples".
    """

    name: str
    build: Callable[..., Any]
    data: Callable[..., tuple[Any, Any]]
    digits: Callable[..., Any] | None = None
    digits_shape: tuple[int, ...] = (64,)
    floor_sizes: Callable[[int, int], list[int]] | None = None
    depth_label: str = "depth"
    width_label: str = "width"
    full: dict[str, Any] = field(default_factory=dict)
    quick: dict[str, Any] = field(default_factory=dict)


# -- mlp ------------------------------------------------------------------------------------


def mlp_sizes(depth: int, width: int, n_inputs: int = 784) -> list[int]:
    return mlp.layer_sizes(n_inputs, [width] * depth, N_CLASSES)


def build_mlp(depth: int, width: int, optimizer: str, backend: str, seed: int):
    return mlp.build_model(mlp_sizes(depth, width), optimizer, backend, seed)


def mlp_data(model: Any, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return mlp.synthetic_data(samples, model.input_shape[0], N_CLASSES, seed)


def digits_mlp(depth: int, width: int, backend: str, seed: int):
    return mlp.build_model(mlp_sizes(depth, width, 64), "adam", backend, seed)


# -- conv -----------------------------------------------------------------------------------


def build_conv(
    depth: int,
    width: int,
    optimizer: str,
    backend: str,
    seed: int,
    input_shape: tuple[int, ...] = IMAGE_SHAPE,
):
    """``depth`` Conv2D(width, 3, "same", relu) + MaxPooling2D(2, "same") blocks, then a
    softmax Dense over the flattened features."""
    from tinynn import layers
    from tinynn.models import Sequential

    stack: list[Any] = [layers.Input(input_shape)]
    for _ in range(depth):
        stack.append(layers.Conv2D(width, 3, padding="same", activation="relu"))
        stack.append(layers.MaxPooling2D(2, padding="same"))
    stack += [layers.Flatten(), layers.Dense(N_CLASSES, activation="softmax")]
    model = Sequential(stack, seed=seed)
    model.compile(
        optimizer=make_optimizer(optimizer), loss="sparse_categorical_crossentropy", backend=backend
    )
    return model


def make_optimizer(name: str):
    """SGD or Adam at the benchmark's learning rates (``mlp.LEARNING_RATES``)."""
    from tinynn import optimizers

    factories = {"sgd": optimizers.SGD, "adam": optimizers.Adam}
    return factories[name](learning_rate=mlp.LEARNING_RATES[name])


def conv_data(model: Any, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((samples, *model.input_shape), dtype=np.float32)
    return x, rng.integers(0, N_CLASSES, size=samples)


def digits_conv(depth: int, width: int, backend: str, seed: int):
    return build_conv(depth, width, "adam", backend, seed, input_shape=(8, 8, 1))


# -- custom ---------------------------------------------------------------------------------


def load_function(spec: str) -> Callable[[int, int], Any]:
    """``"module:function"`` -> the function (the module is imported: it is the user's code,
    named on the command line)."""
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"--model takes module:function, such as mymodels:build; got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"--model {spec!r}: cannot import {module_name!r} ({error})") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ValueError(f"--model {spec!r}: {module_name!r} has no function {function_name!r}")
    return function


def custom_family(spec: str) -> Family:
    """The family of ``--model module:function``."""
    function = load_function(spec)

    def build(depth: int, width: int, optimizer: str, backend: str, seed: int):
        from tinynn.model_base import Model
        from tinynn.profiling.random_data import suitable_loss

        model = function(depth, width)
        if not isinstance(model, Model):
            raise TypeError(
                f"--model {spec!r} returned {type(model).__name__} for depth {depth}, width "
                f"{width}; expected a tinynn model"
            )
        state = model.train_state
        if state is None:
            loss = suitable_loss(model)
            model.compile(optimizer=make_optimizer(optimizer), loss=loss, backend=backend)
        else:  # keep the user's loss and optimizer; run them on this backend
            model.compile(**{**state.compile_arguments(), "backend": backend})
        return model

    def data(model: Any, samples: int, seed: int):
        from tinynn.profiling import random_data

        return random_data(model, samples, seed)

    return Family(
        "custom",
        build,
        data,
        full={"depths": [1, 2, 4], "widths": [32, 64, 128], "sweep_width": 64, "samples": 8192},
        quick={"depths": [1, 2], "widths": [16, 32], "sweep_width": 16, "samples": 256},
    )


MLP = Family(
    "mlp",
    build_mlp,
    mlp_data,
    digits=digits_mlp,
    floor_sizes=mlp_sizes,
    depth_label="hidden layers",
    width_label="units per layer",
    full={
        "depths": [1, 2, 3, 4, 8],
        "widths": [64, 128, 256, 512, 1024, 2048],
        "sweep_width": 256,
        "samples": 60_000,
    },
    quick={"depths": [1, 2], "widths": [64, 128], "sweep_width": 256, "samples": 512},
)
CONV = Family(
    "conv",
    build_conv,
    conv_data,
    digits=digits_conv,
    digits_shape=(8, 8, 1),
    depth_label="conv blocks",
    width_label="channels",
    full={"depths": [1, 2, 3], "widths": [8, 16, 32, 64], "sweep_width": 16, "samples": 8192},
    quick={"depths": [1], "widths": [4], "sweep_width": 4, "samples": 128},
)
#: The built-in families by name (``--families``).
BUILT_IN = {"mlp": MLP, "conv": CONV}
#: The depth held fixed while width varies, for every family.
SWEEP_DEPTH = 2
