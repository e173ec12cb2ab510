"""tinynn: a neural-network framework you can read.

Every layer, activation and loss is a class with an explicit ``forward`` and ``backward``;
the model API follows Keras, so ``import tinynn as keras`` runs Keras-style scripts.

    import tinynn as keras
    model = keras.Sequential([keras.Input(shape=(64,)),
                              keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
"""

from tinynn import (
    activations,
    applications,
    callbacks,
    datasets,
    gradcheck,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    pretrained,
    regularizers,
    runtime,
    utils,
)
from tinynn.layers import Input
from tinynn.models import Model, Sequential, clone_model, load_model
from tinynn.optimizers import schedules
from tinynn.profiling import profile

__version__ = "0.1.0"

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "activations",
    "applications",
    "callbacks",
    "clone_model",
    "datasets",
    "gradcheck",
    "initializers",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "pretrained",
    "profile",
    "regularizers",
    "runtime",
    "schedules",
    "utils",
]
