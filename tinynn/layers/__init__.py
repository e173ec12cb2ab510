"""Layers, one family per module, and name lookup for loading saved models.

from tinynn import layers
layers.Dense(64, activation="relu")
"""

from __future__ import annotations

from tinynn.layers.activation import Activation, ReLU, Softmax
from tinynn.layers.augmentation import (
    GaussianNoise,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    augment,
)
from tinynn.layers.conv import Conv2D
from tinynn.layers.dense import Dense
from tinynn.layers.depthwise import DepthwiseConv2D, SeparableConv2D
from tinynn.layers.dropout import Dropout
from tinynn.layers.input_scaling import Normalization, Rescaling
from tinynn.layers.layer import Layer
from tinynn.layers.merging import Add, Average, Concatenate, Merge, Multiply, Subtract
from tinynn.layers.normalization import BatchNormalization, LayerNormalization
from tinynn.layers.padding import ZeroPadding2D
from tinynn.layers.pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from tinynn.layers.reshape import Flatten, Identity, Permute, Reshape
from tinynn.layers.residual import Residual, basic_block
from tinynn.layers.symbolic import Input, InputLayer, SymbolicTensor
from tinynn.registry import Registry

MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D

#: Class name -> class, for rebuilding saved models. Loading looks names up here and nowhere
#: else, so a file can only ever instantiate these classes (and any you ``register``).
LAYERS = Registry(
    "layer",
    {
        cls.__name__: cls
        for cls in (
            Dense,
            Activation,
            ReLU,
            Softmax,
            Dropout,
            Flatten,
            Reshape,
            Permute,
            Identity,
            Conv2D,
            DepthwiseConv2D,
            SeparableConv2D,
            MaxPooling2D,
            AveragePooling2D,
            GlobalAveragePooling2D,
            ZeroPadding2D,
            BatchNormalization,
            LayerNormalization,
            Rescaling,
            Normalization,
            Add,
            Subtract,
            Multiply,
            Average,
            Concatenate,
            Residual,
            RandomFlip,
            RandomRotation,
            RandomZoom,
            RandomTranslation,
            RandomCrop,
            GaussianNoise,
        )
    }
    | {"Input": InputLayer},
    aliases={"MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D"},
    base=Layer,
)

register = LAYERS.register
serialize = LAYERS.serialize
deserialize = LAYERS.deserialize


def get(identifier: str | Layer) -> Layer:
    """A layer instance, or a parameter-free layer by class name ("Flatten")."""
    return LAYERS.resolve(identifier)


__all__ = [
    "LAYERS",
    "Activation",
    "Add",
    "Average",
    "AveragePooling2D",
    "AvgPool2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "GaussianNoise",
    "GlobalAveragePooling2D",
    "Identity",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "MaxPool2D",
    "MaxPooling2D",
    "Merge",
    "Multiply",
    "Normalization",
    "Permute",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "ReLU",
    "Rescaling",
    "Reshape",
    "Residual",
    "SeparableConv2D",
    "Softmax",
    "Subtract",
    "SymbolicTensor",
    "ZeroPadding2D",
    "augment",
    "basic_block",
    "deserialize",
    "get",
    "register",
    "serialize",
]
