"""The two networks ``tinynn train`` can build: an MLP for any rows, a small CNN for images.

    mlp   Input(n) -> [Dense(h, f) -> Dropout?]* -> Dense(k, softmax)
    cnn   Input(h, w, c) -> [Conv2D(n, 3, "same", f) -> BatchNormalization -> MaxPooling2D(2)]*
          -> Flatten -> [Dense(h, f) -> Dropout?]* -> Dense(k, softmax)

Each convolution block halves the image, so 8x8 digits allow at most three blocks and 28x28
MNIST four.
"""

from __future__ import annotations

from typing import Any

from tinynn import activations
from tinynn.layers import (
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    MaxPooling2D,
)
from tinynn.models import Sequential

MODELS = ("mlp", "cnn")
# Softmax normalizes a whole layer into one probability distribution: right for the output,
# which always has it, but it makes hidden units compete for a total of 1.
HIDDEN_ACTIVATIONS = tuple(sorted(name for name in activations.ACTIVATIONS if name != "softmax"))

# Keras's default momentum, 0.99, is too slow for the few hundred steps a digits run takes
# (45 per epoch): after 225 steps the moving averages still hold 0.99**225 ≈ 10 % of their
# initial 0 and 1, so evaluation uses statistics the network never saw in training (0.24-0.44
# test accuracy after 5 epochs, seeds 0..4). 0.9 (PyTorch's default, which it writes as 0.1)
# forgets the start within about 50 steps: 0.98-1.0 after the same 5 epochs.
BATCHNORM_MOMENTUM = 0.9


def max_conv_blocks(image_shape: tuple[int, ...]) -> int:
    """How many 2x2 poolings an (h, w, c) image survives: ⌊log2(min(h, w))⌋."""
    side, blocks = min(image_shape[0], image_shape[1]), 0
    while side >= 2:
        side //= 2
        blocks += 1
    return blocks


def _dense_head(
    hidden: tuple[int, ...], activation: str, dropout: float, n_classes: int
) -> list[Any]:
    layers: list[Any] = []
    for width in hidden:
        layers.append(Dense(width, activation=activation))
        if dropout > 0:
            layers.append(Dropout(dropout))
    layers.append(Dense(n_classes, activation="softmax"))
    return layers


def build_mlp(
    n_features: int,
    n_classes: int,
    hidden: tuple[int, ...],
    activation: str,
    dropout: float,
    seed: int,
) -> Sequential:
    """Input -> [Dense(h, activation) -> Dropout?]* -> Dense(n_classes, softmax)."""
    layers = [Input((n_features,)), *_dense_head(hidden, activation, dropout, n_classes)]
    return Sequential(layers, seed=seed)


def build_cnn(
    image_shape: tuple[int, int, int],
    n_classes: int,
    filters: tuple[int, ...],
    hidden: tuple[int, ...],
    activation: str,
    dropout: float,
    seed: int,
) -> Sequential:
    """Input(h, w, c) -> [Conv2D 3x3 "same" -> BatchNormalization -> MaxPooling2D(2)]* ->
    Flatten -> [Dense(h, activation) -> Dropout?]* -> Dense(n_classes, softmax)."""
    limit = max_conv_blocks(image_shape)
    if not filters:
        raise ValueError("--model cnn needs at least one convolution block; e.g. --filters 32,64")
    if len(filters) > limit:
        h, w, c = image_shape
        raise ValueError(
            f"--filters asks for {len(filters)} convolution blocks, but {h}x{w}x{c} images "
            f"allow at most {limit} (each block halves the image)"
        )
    layers: list[Any] = [Input(tuple(image_shape))]
    for count in filters:
        layers += [
            Conv2D(count, 3, padding="same", activation=activation),
            BatchNormalization(momentum=BATCHNORM_MOMENTUM),
            MaxPooling2D(2),
        ]
    layers.append(Flatten())
    layers += _dense_head(hidden, activation, dropout, n_classes)
    return Sequential(layers, seed=seed)


def build(
    model_kind: str,
    input_shape: tuple[int, ...],
    n_classes: int,
    filters: tuple[int, ...] | None,
    hidden: tuple[int, ...],
    activation: str,
    dropout: float,
    seed: int,
) -> Sequential:
    """The network ``model_kind`` ("mlp" or "cnn") names, for samples of ``input_shape``."""
    if model_kind == "cnn":
        return build_cnn(input_shape, n_classes, filters or (), hidden, activation, dropout, seed)
    if model_kind == "mlp":
        return build_mlp(input_shape[0], n_classes, hidden, activation, dropout, seed)
    raise ValueError(f"unknown model {model_kind!r}; expected one of {list(MODELS)}")


def describe(model_kind: str, input_shape: tuple[int, ...], filters, hidden, n_classes) -> str:
    """``"64-128-64-10 MLP"`` or ``"CNN (8x8x1 -> conv 32, 64 -> dense 64 -> 10)"``."""
    if model_kind == "mlp":
        return "-".join(str(w) for w in (*input_shape, *hidden, n_classes)) + " MLP"
    parts = ["x".join(str(d) for d in input_shape)]
    parts.append("conv " + ", ".join(str(f) for f in filters) if filters else "no conv")
    if hidden:
        parts.append("dense " + ", ".join(str(h) for h in hidden))
    parts.append(str(n_classes))
    return "CNN (" + " -> ".join(parts) + ")"
