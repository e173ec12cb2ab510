"""The Numba backend trains the same model to the same losses as the NumPy reference."""

import numpy as np
import pytest

from tinynn import layers, optimizers
from tinynn.datasets import load_digits
from tinynn.models import Sequential

pytest.importorskip("numba")


def loss_curve(backend, dtype, optimizer, activation):
    x, y = load_digits()
    x, y = x[:400], y[:400]
    model = Sequential(
        [
            layers.Input((64,)),
            layers.Dense(32, activation=activation),
            layers.Dropout(0.1),
            layers.Dense(16, activation="tanh"),
            layers.Dense(10, activation="softmax"),
        ],
        seed=0,
        dtype=dtype,
    )
    model.compile(
        optimizer=optimizer(),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        backend=backend,
    )
    history = model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    return np.array(history.history["loss"]), model.predict(x[:50])


OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
    "adam": lambda: optimizers.Adam(learning_rate=0.01),
    "rmsprop": lambda: optimizers.RMSprop(learning_rate=0.005, centered=True),
    "adamw": lambda: optimizers.AdamW(learning_rate=0.01, global_clipnorm=1.0),
}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize(("dtype", "tolerance"), [("float32", 1e-4), ("float64", 1e-10)])
def test_numba_and_numpy_give_the_same_loss_curve(optimizer, dtype, tolerance):
    numpy_losses, numpy_out = loss_curve("numpy", dtype, OPTIMIZERS[optimizer], "relu")
    numba_losses, numba_out = loss_curve("numba", dtype, OPTIMIZERS[optimizer], "relu")
    np.testing.assert_allclose(numba_losses, numpy_losses, rtol=tolerance)
    np.testing.assert_allclose(numba_out, numpy_out, rtol=tolerance * 10, atol=tolerance)
    assert numpy_losses[-1] < numpy_losses[0]


@pytest.mark.parametrize("activation", ["sigmoid", "elu", "leaky_relu", "softplus"])
def test_every_activation_trains_alike_on_both_backends(activation):
    sgd = OPTIMIZERS["sgd"]
    numpy_losses, _ = loss_curve("numpy", "float64", sgd, activation)
    numba_losses, _ = loss_curve("numba", "float64", sgd, activation)
    np.testing.assert_allclose(numba_losses, numpy_losses, rtol=1e-10)
