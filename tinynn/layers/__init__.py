"""Layers, one family per module, and name lookup for loading saved models.

from tinynn import layers
layers.Dense(64, activation="relu")
"""

from __future__ import annotations

from typing import Any

from tinynn.layers.activation import Activation
from tinynn.layers.augmentation import (
    GaussianNoise,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    augment,
)
from tinynn.layers.base import Layer
from tinynn.layers.conv import Conv2D
from tinynn.layers.dense import Dense
from tinynn.layers.depthwise import DepthwiseConv2D, SeparableConv2D
from tinynn.layers.dropout import Dropout
from tinynn.layers.normalization import BatchNormalization, LayerNormalization
from tinynn.layers.pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from tinynn.layers.reshape import Flatten, Input, Reshape
from tinynn.layers.residual import Residual, basic_block

InputLayer = Input
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D

#: Class name -> class, for rebuilding saved models. Loading looks names up here and nowhere
#: else, so a file can only ever instantiate these classes.
LAYERS: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Dense,
        Activation,
        Dropout,
        Flatten,
        Reshape,
        Input,
        Conv2D,
        DepthwiseConv2D,
        SeparableConv2D,
        MaxPooling2D,
        AveragePooling2D,
        GlobalAveragePooling2D,
        BatchNormalization,
        LayerNormalization,
        Residual,
        RandomFlip,
        RandomRotation,
        RandomZoom,
        RandomTranslation,
        RandomCrop,
        GaussianNoise,
    )
}


def serialize(layer: Layer) -> dict[str, Any]:
    if LAYERS.get(type(layer).__name__) is not type(layer):
        raise ValueError(
            f"Layer class {type(layer).__name__} is not registered in tinynn.layers.LAYERS, "
            "so it cannot be saved"
        )
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(spec: dict[str, Any]) -> Layer:
    """Rebuild a layer from ``{"class_name": ..., "config": ...}``; unknown names are refused."""
    name = spec.get("class_name") if isinstance(spec, dict) else None
    if name not in LAYERS:
        raise ValueError(f"Unknown layer class {name!r}; expected one of {sorted(LAYERS)}")
    config = spec.get("config")
    if not isinstance(config, dict):
        raise ValueError(f"layer {name!r} has no config dict")
    return LAYERS[name].from_config(dict(config))


def get(identifier: str | Layer) -> Layer:
    """A layer instance, or a parameter-free layer by class name ("Flatten")."""
    if isinstance(identifier, Layer):
        return identifier
    if identifier not in LAYERS:
        raise ValueError(f"Unknown layer {identifier!r}; expected one of {sorted(LAYERS)}")
    try:
        return LAYERS[identifier]()
    except TypeError:
        raise ValueError(
            f"layer {identifier!r} needs arguments; pass an instance such as {identifier}(...)"
        ) from None


__all__ = [
    "LAYERS",
    "Activation",
    "AveragePooling2D",
    "AvgPool2D",
    "BatchNormalization",
    "Conv2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "GaussianNoise",
    "GlobalAveragePooling2D",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "MaxPool2D",
    "MaxPooling2D",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Reshape",
    "Residual",
    "SeparableConv2D",
    "augment",
    "basic_block",
    "deserialize",
    "get",
    "serialize",
]
