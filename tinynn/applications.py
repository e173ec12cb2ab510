"""ResNet- and MobileNet-style models for small images, built with the functional API.

    model = applications.resnet((8, 8, 1), blocks=(1, 1), width=16, classes=10)
    body = applications.mobilenet((28, 28, 1), include_top=False)   # features for a new head

Both follow the published designs at a scale that trains on a CPU in seconds to minutes:

* ``resnet``: He et al. (2016). A 3×3 stem, then stages of *basic blocks*
  relu(BN(conv(relu(BN(conv(x))))) + shortcut(x)); each stage after the first halves the
  resolution and doubles the width, its first block's shortcut a strided 1×1 convolution.
* ``mobilenet``: Sandler et al. (2018), MobileNetV2. A strided 3×3 stem, then *inverted
  residual* blocks: a 1×1 convolution expanding the channels by ``t``, a 3×3 depthwise one,
  and a linear 1×1 projection back down, with ReLU6 and an identity shortcut when the block
  keeps its shape. ``alpha`` scales every width, as Keras's ``alpha`` does.

``include_top=False`` stops at the pooled features (or the last feature map with
``pooling=None``), the body to put a new head on for transfer learning; ``classes`` sizes the
softmax of the top. No pretrained weights are downloaded: train them, or convert yours
(``tinynn.convert``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tinynn import layers
from tinynn.layers.symbolic import Input, SymbolicTensor

#: Batch normalization's moving-average momentum: PyTorch's default (Keras's 0.99 suits long
#: trainings; after a few hundred steps its statistics still lag the weights).
BN_MOMENTUM = 0.9
#: MobileNetV2's blocks for small images: (expansion t, channels c, repeats n, first stride s).
SMALL_MOBILENET = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 2), (6, 64, 2, 1))


def resnet(
    input_shape: Sequence[int] = (28, 28, 1),
    blocks: Sequence[int] = (2, 2, 2),
    width: int = 16,
    include_top: bool = True,
    classes: int = 10,
    pooling: str | None = "avg",
    name: str = "resnet",
    seed: int | None = None,
) -> Any:
    """A ResNet with ``len(blocks)`` stages of ``blocks[i]`` basic blocks, ``width`` filters in
    the first stage (doubling per stage). Images (H, W, C), NHWC."""
    _check(blocks, width, classes, pooling)
    seeds = _seeds(seed)
    inputs = Input(tuple(input_shape), name="input")
    x = _conv_bn(inputs, width, 3, 1, next(seeds), activation="relu", name="stem")
    for stage, count in enumerate(blocks):
        filters = width * 2**stage
        for index in range(count):
            strides = 2 if stage > 0 and index == 0 else 1
            x = _basic_block(x, filters, strides, seeds, f"stage{stage + 1}_block{index + 1}")
    return _finish(inputs, x, include_top, classes, pooling, name, next(seeds))


def mobilenet(
    input_shape: Sequence[int] = (28, 28, 1),
    alpha: float = 1.0,
    stages: Sequence[tuple[int, int, int, int]] = SMALL_MOBILENET,
    include_top: bool = True,
    classes: int = 10,
    pooling: str | None = "avg",
    name: str = "mobilenet",
    seed: int | None = None,
) -> Any:
    """A MobileNetV2-style network: ``stages`` of inverted residual blocks, each (t, c, n, s)
    as in the paper's table; ``alpha`` multiplies every channel count."""
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    _check([n for _, _, n, _ in stages], 8, classes, pooling)
    seeds = _seeds(seed)
    inputs = Input(tuple(input_shape), name="input")
    x = _conv_bn(inputs, _scaled(32, alpha), 3, 2, next(seeds), activation="relu6", name="stem")
    for stage, (t, c, n, s) in enumerate(stages):
        for index in range(n):
            strides = s if index == 0 else 1
            label = f"block{stage + 1}_{index + 1}"
            x = _inverted_residual(x, t, _scaled(c, alpha), strides, seeds, label)
    x = _conv_bn(x, _scaled(128, alpha), 1, 1, next(seeds), activation="relu6", name="head")
    return _finish(inputs, x, include_top, classes, pooling, name, next(seeds))


# -- building blocks --------------------------------------------------------------------------


def _conv_bn(x, filters, kernel, strides, seed, activation=None, name="conv"):
    """Conv2D (no bias: BN's β replaces it) → BatchNormalization → activation."""
    x = layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        name=f"{name}_conv",
        seed=seed,
    )(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    if activation == "relu6":
        return layers.ReLU(max_value=6, name=f"{name}_relu6")(x)
    if activation == "relu":
        return layers.ReLU(name=f"{name}_relu")(x)
    return x


def _basic_block(x: SymbolicTensor, filters, strides, seeds, name) -> SymbolicTensor:
    h = _conv_bn(x, filters, 3, strides, next(seeds), activation="relu", name=f"{name}_a")
    h = _conv_bn(h, filters, 3, 1, next(seeds), name=f"{name}_b")
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(x, filters, 1, strides, next(seeds), name=f"{name}_projection")
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([h, shortcut]))


def _inverted_residual(x: SymbolicTensor, t, filters, strides, seeds, name) -> SymbolicTensor:
    channels = x.shape[-1]
    h = x
    if t != 1:
        h = _conv_bn(h, channels * t, 1, 1, next(seeds), activation="relu6", name=f"{name}_expand")
    h = layers.DepthwiseConv2D(
        3,
        strides=strides,
        padding="same",
        use_bias=False,
        depthwise_initializer="he_normal",
        name=f"{name}_depthwise",
        seed=next(seeds),
    )(h)
    h = layers.ReLU(max_value=6, name=f"{name}_depthwise_relu6")(
        layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_depthwise_bn")(h)
    )
    h = _conv_bn(h, filters, 1, 1, next(seeds), name=f"{name}_project")  # linear bottleneck
    if strides == 1 and channels == filters:
        h = layers.Add(name=f"{name}_add")([x, h])
    return h


def _finish(inputs, x, include_top, classes, pooling, name, seed):
    from tinynn.models import Model

    if include_top or pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="pool")(x)
    if include_top:
        x = layers.Dense(classes, activation="softmax", name="predictions", seed=seed)(x)
    return Model(inputs=inputs, outputs=x, name=name)


def _check(blocks, width, classes, pooling) -> None:
    if not blocks or any(not isinstance(b, int) or b < 1 for b in blocks):
        raise ValueError(f"every stage needs a positive number of blocks, got {list(blocks)}")
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive integer, got {width!r}")
    if not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes must be a positive integer, got {classes!r}")
    if pooling not in ("avg", None):
        raise ValueError(f"pooling must be 'avg' or None, got {pooling!r}")


def _scaled(channels: int, alpha: float) -> int:
    """Channels × alpha, rounded to a multiple of 8 as MobileNetV2 does (at least 8)."""
    return max(8, int(channels * alpha + 4) // 8 * 8)


def _seeds(seed: int | None):
    """Seeds for the layers in order (None: each draws its own)."""
    count = 0
    while True:
        yield None if seed is None else seed * 1000 + count
        count += 1
