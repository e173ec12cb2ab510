"""The training workloads of ``tinynn bench depth``: synthetic data, a tinynn MLP and one epoch
of it, and the GEMM-only floor it is measured against. (The scripts in the source checkout's
``benchmarks/`` folder time the same epoch and the same floor against other libraries.)

The floor is the yardstick. It is one epoch of what a perfect framework could not avoid:
gather each shuffled batch with ``np.take`` into a preallocated buffer, then the step's matrix
products through NumPy's BLAS, written into preallocated ``out=`` buffers::

    forward     h_1 = x W_1,  h_2 = h_1 W_2,  …                      (one GEMM per layer)
    backward    dW_i = h_{i-1}ᵀ dz_i,  dh_{i-1} = dz_i W_iᵀ           (two per layer, no dx
                                                                      for the first layer)

No bias, activation, loss or optimizer: those are the framework's overhead, and the ratio
``tinynn time / floor time`` is how much of it we have.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

#: Learning rates of the benchmark optimizers: the Keras defaults.
LEARNING_RATES = {"sgd": 0.01, "adam": 0.001}


def synthetic_data(
    n_samples: int, n_features: int = 784, n_classes: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded uniform [0, 1) float32 features (n_samples, n_features) and random int64 labels.

    Random labels are fine: an epoch does the same work whatever the labels are.
    """
    rng = np.random.default_rng(seed)
    x = rng.random((n_samples, n_features), dtype=np.float32)
    y = rng.integers(0, n_classes, size=n_samples)
    return x, y


def layer_sizes(n_inputs: int, hidden: Sequence[int], n_outputs: int) -> list[int]:
    """[n_in, h_1, …, h_k, n_out]: the widths a Dense stack goes through."""
    return [int(n_inputs), *(int(units) for units in hidden), int(n_outputs)]


def build_model(sizes: Sequence[int], optimizer: str, backend: str, seed: int):
    """A tinynn ReLU MLP with a softmax output, compiled with sparse cross-entropy."""
    from tinynn import layers, optimizers
    from tinynn.models import Sequential

    stack = [layers.Input((sizes[0],))]
    stack += [layers.Dense(units, activation="relu") for units in sizes[1:-1]]
    stack.append(layers.Dense(sizes[-1], activation="softmax"))
    model = Sequential(stack, seed=seed)
    factories = {"sgd": optimizers.SGD, "adam": optimizers.Adam}
    model.compile(
        optimizer=factories[optimizer](learning_rate=LEARNING_RATES[optimizer]),
        loss="sparse_categorical_crossentropy",
        backend=backend,
    )
    return model


class ModelEpoch:
    """``model.fit(x, y, batch_size, epochs=1)``: one epoch of a compiled model, as a user
    runs it. Calling it again continues training the same model (its optimizer state stays
    warm)."""

    def __init__(self, model, x: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        self.x, self.y, self.batch_size = x, y, batch_size
        self.model = model
        self.last_loss: float | None = None

    def __call__(self) -> None:
        history = self.model.fit(self.x, self.y, batch_size=self.batch_size, epochs=1, verbose=0)
        self.last_loss = float(history.history["loss"][-1])


class TinynnEpoch(ModelEpoch):
    """``ModelEpoch`` of the MLP ``build_model(sizes, optimizer, backend, seed)``."""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        sizes: Sequence[int],
        batch_size: int,
        optimizer: str,
        backend: str,
        seed: int,
    ) -> None:
        super().__init__(build_model(sizes, optimizer, backend, seed), x, y, batch_size)


class GemmFloor:
    """One epoch of only the unavoidable work (see the module docstring), for ``sizes``."""

    def __init__(self, x: np.ndarray, sizes: Sequence[int], batch_size: int, seed: int) -> None:
        if x.shape[1] != sizes[0]:
            raise ValueError(f"x has {x.shape[1]} features; expected sizes[0] = {sizes[0]}")
        self.x, self.batch_size = x, batch_size
        self.rng = np.random.default_rng(seed)
        dtype = x.dtype
        pairs = list(itertools.pairwise(sizes))
        # Scaled weights and a small fixed output gradient keep every value far from
        # overflow and from denormals, whose slow paths would distort the timing.
        self.weights = [
            (self.rng.standard_normal((a, b)) / math.sqrt(a)).astype(dtype) for a, b in pairs
        ]
        self.grad_weights = [np.empty((a, b), dtype) for a, b in pairs]
        self.batch = np.empty((batch_size, sizes[0]), dtype)
        self.outputs = [np.empty((batch_size, b), dtype) for _, b in pairs]
        self.grad_outputs = [np.empty((batch_size, b), dtype) for _, b in pairs]
        self.grad_outputs[-1][...] = 1e-3 * self.rng.standard_normal((batch_size, sizes[-1]))

    def __call__(self) -> None:
        n = len(self.x)
        order = self.rng.permutation(n)
        for start in range(0, n, self.batch_size):
            indices = order[start : start + self.batch_size]
            self.step(indices)

    def step(self, indices: np.ndarray) -> None:
        """Gather one batch, then its forward and backward GEMMs."""
        m = len(indices)
        batch = self.batch[:m]
        np.take(self.x, indices, axis=0, out=batch)
        inputs = [batch]
        for weight, output in zip(self.weights, self.outputs, strict=True):
            np.matmul(inputs[-1], weight, out=output[:m])
            inputs.append(output[:m])
        for i in reversed(range(len(self.weights))):
            grad_z = self.grad_outputs[i][:m]
            np.matmul(inputs[i].T, grad_z, out=self.grad_weights[i])
            if i > 0:  # nobody needs dL/dx of the data
                np.matmul(grad_z, self.weights[i].T, out=self.grad_outputs[i - 1][:m])
