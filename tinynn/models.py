"""Sequential: a list of layers and a loop over them.

    model = Sequential([Input((64,)), Dense(32, activation="relu"),
                        Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, validation_split=0.1)

One training step is the data path of the whole library, in plain method calls:

    y_pred = model.forward(x, training=True)          # layer.forward, first to last
    loss = model.loss.forward(y_pred, y)
    model.backward(model.loss.backward())             # layer.backward, last to first
    model.optimizer.step(model.parameters())          # (param, grad) pairs

``train_on_batch`` runs exactly that, except that a softmax (or sigmoid) output followed by the
matching cross-entropy is folded into the loss: the last layer stops at its logits z and the
loss computes log-softmax stably with gradient (p − y) / N. ``predict`` still returns p.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tinynn import layers as layers_module
from tinynn import losses, metrics, optimizers, training
from tinynn.callbacks import History
from tinynn.inference import DenseStack
from tinynn.kernels import get_backend
from tinynn.layers.base import Layer, check_dtype
from tinynn.parameter_buffer import pack_parameters
from tinynn.summary import format_summary


class Sequential:
    """A linear stack of layers.

    Args:
        layers: layers in order; a first ``Input(shape)`` declares the sample shape.
        name: a label for ``summary()``.
        dtype: "float32" (default) or "float64", for every layer that does not set its own.
        seed: makes weights, dropout masks and shuffling repeatable. Each layer without its
            own seed gets a generator spawned from this one, so adding a layer never changes
            another layer's draws.
    """

    def __init__(
        self,
        layers: Sequence[Layer] | None = None,
        name: str = "sequential",
        dtype: Any = "float32",
        seed: int | None = None,
    ) -> None:
        self.name = name
        self.dtype = check_dtype(dtype)
        self.seed = seed
        self.layers: list[Layer] = []
        self.input_shape: tuple[int, ...] | None = None
        self.built = False
        self.optimizer: optimizers.Optimizer | None = None
        self.loss: losses.Loss | None = None
        self.metrics: list = []
        self.backend = "numpy"
        self.stop_training = False
        self.history: History | None = None
        self.rng = np.random.default_rng(_child_seed(seed, 0))
        self._train_loss: losses.Loss | None = None
        self._fused_activation: str | None = None
        self._ops = get_backend("numpy")
        self._flat_parameters: tuple[np.ndarray, np.ndarray] | None = None
        self._batch_workspace: dict[str, np.ndarray] = {}
        self._dense_stack: DenseStack | None = None
        self._first_trainable = 0
        self._metric_names: list[str] = []
        self._metric_specs: list = []
        for layer in layers or []:
            self.add(layer)

    # -- structure ------------------------------------------------------------------------

    def add(self, layer: Layer) -> None:
        """Append a layer. An ``Input`` only records the sample shape."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}")
        if isinstance(layer, layers_module.Input):
            if self.layers:
                raise ValueError("Input must come before every other layer")
            self.input_shape = layer.input_shape
            return
        if not self.layers and self.input_shape is None and layer.input_shape is not None:
            self.input_shape = layer.input_shape
        if layer.dtype is None:
            layer.dtype = self.dtype
        if layer.seed is None and self.seed is not None:
            layer.rng = np.random.default_rng(_child_seed(self.seed, 1 + len(self.layers)))
        names = {existing.name for existing in self.layers}
        base, suffix = layer.name, 1
        while layer.name in names:
            layer.name, suffix = f"{base}_{suffix}", suffix + 1
        self.layers.append(layer)
        self.built = False
        if self.input_shape is not None:
            self.build()  # as in Keras: with a known input shape, weights exist right away

    def build(self, input_shape: Sequence[int] | None = None) -> None:
        """Create every layer's weights for samples of ``input_shape`` (without batch)."""
        if input_shape is not None:
            self.input_shape = tuple(int(d) for d in input_shape)
        if self.input_shape is None:
            raise ValueError(
                "the model does not know its input shape yet; start it with Input(shape=...), "
                "pass input_shape= to the first layer, or call fit/build"
            )
        if not self.layers:
            raise ValueError("the model has no layers; add some before building")
        shape = self.input_shape
        for layer in self.layers:
            if layer.input_shape is not None and layer.input_shape != shape:
                raise ValueError(
                    f"layer {layer.name!r} declares input shape {layer.input_shape}, "
                    f"but the previous layer outputs {shape}"
                )
            if not layer.built:
                layer.build(shape)
            shape = layer.output_shape
        # No parameter sits before the first trainable layer, so backpropagation can stop
        # there: that layer skips dL/dx, and the parameter-free layers before it (input
        # augmentation, Flatten) are not visited at all.
        trainable = [i for i, layer in enumerate(self.layers) if layer.count_params()]
        self._first_trainable = trainable[0] if trainable else 0
        for layer in self.layers:
            layer.compute_input_grad = True
        self.layers[self._first_trainable].compute_input_grad = False
        self.built = True

    @property
    def output_shape(self) -> tuple[int, ...]:
        self._require_built()
        return self.layers[-1].output_shape

    def parameters(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(param, grad) pairs of every layer, in order: what an optimizer steps."""
        for layer in self.layers:
            yield from layer.parameters()

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print) -> str | None:
        """Print a table of layers, output shapes, parameter counts and FLOPs per sample.

        As in Keras it returns None; with ``print_fn=None`` it returns the text instead.
        """
        self._require_built()
        text = format_summary(self)
        if print_fn is None:
            return text
        print_fn(text)
        return None

    # -- the two passes -------------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False, logits: bool = False) -> np.ndarray:
        """Run every layer's forward. With ``logits=True`` the last one stops before its
        activation (it must have ``forward_logits``)."""
        for layer in self.layers[:-1]:
            x = layer.forward(x, training=training)
        last = self.layers[-1]
        if logits:
            return last.forward_logits(x, training=training)
        return last.forward(x, training=training)

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """Run the layers' backward, last to first, down to the first layer with parameters
        (the layers before it need no gradient). Returns None: dL/dx of the data is skipped."""
        for layer in reversed(self.layers[self._first_trainable :]):
            grad = layer.backward(grad)
        return grad

    def regularization_loss(self) -> float:
        return sum(layer.regularization_loss() for layer in self.layers)

    # -- compile and train ----------------------------------------------------------------

    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Sequence[Any] | None = None,
        backend: str = "auto",
    ) -> None:
        """Choose the optimizer, loss and metrics (names or instances), and the backend."""
        if loss is None:
            raise ValueError(f"compile needs a loss; expected one of {sorted(losses.LOSSES)}")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self._metric_names = training.metric_names(metrics or [])
        self._metric_specs = list(metrics or [])
        self._ops = get_backend(backend)
        self.backend = self._ops.NAME
        self.optimizer.ops = self._ops.optim
        self.metrics = []
        self._train_loss = None
        self._fused_activation = None
        if self.input_shape is not None:
            self._require_built()
            self._finish_compile()

    def _finish_compile(self) -> None:
        """The parts of compile that need the output shape: fusion and accuracy inference."""
        self._train_loss, self._fused_activation = losses.fuse_output_activation(
            self.loss, self.layers[-1]
        )
        # Training runs on the chosen backend, in buffers allocated once, and steps the
        # optimizer over one flat parameter array (see tinynn.parameter_buffer).
        for layer in self.layers:
            layer.ops = self._ops
            layer.workspace = {}
        self._train_loss.workspace = {}
        self._train_loss.ops = self._ops
        self._batch_workspace = {}
        self._flat_parameters = pack_parameters(self.layers)
        self._dense_stack = DenseStack.from_model(self)
        self.metrics = [
            metrics.resolve(s, self.loss.name, self.output_shape) for s in self._metric_specs
        ]

    @property
    def metrics_names(self) -> list[str]:
        return ["loss", *self._metric_names] if self.loss is not None else []

    def compute_gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Forward and backward on one batch: fills every grad, returns (loss, y_pred).

        y_pred is what the last layer produced: logits when the output activation is fused
        into the loss. x and y must already be validated arrays of the model's dtype.
        """
        fused = self._fused_activation is not None
        y_pred = self.forward(x, training=True, logits=fused)
        loss = self._train_loss.forward(y_pred, y) + self.regularization_loss()
        self.backward(self._train_loss.backward())
        return loss, y_pred

    def step_optimizer(self) -> None:
        """Apply the optimizer to the gradients of the last backward.

        A compiled model steps its one flat parameter buffer with one kernel call; with
        per-array ``clipnorm`` it steps the (param, grad) pairs one by one. Both give the same
        update (see ``tinynn.parameter_buffer``).
        """
        if self._flat_parameters is not None and self.optimizer.clipnorm is None:
            self.optimizer.step([self._flat_parameters])
        else:
            self.optimizer.step(self.parameters())

    def train_on_batch(self, x: Any, y: Any) -> float:
        """One optimizer step on one batch; returns the batch loss (Keras's name)."""
        x, y = self._prepare_xy(x, y)
        loss, _ = self.compute_gradients(x, y)
        self.step_optimizer()
        return loss

    def fit(
        self,
        x: Any,
        y: Any,
        batch_size: int = 32,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Sequence[Any] | None = None,
        validation_split: float = 0.0,
        validation_data: tuple | None = None,
        shuffle: bool = True,
        initial_epoch: int = 0,
    ) -> History:
        """Train for ``epochs`` passes over (x, y); returns a ``History``. Keras semantics:
        ``validation_split`` holds out the *last* fraction of the data, before shuffling."""
        return training.fit(
            self,
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_split=validation_split,
            validation_data=validation_data,
            shuffle=shuffle,
            initial_epoch=initial_epoch,
        )

    def evaluate(
        self, x: Any, y: Any, batch_size: int = 32, verbose: Any = 0, return_dict: bool = False
    ) -> Any:
        """The loss, or ``[loss, *metrics]`` when metrics were compiled (a dict if asked)."""
        return training.evaluate(self, x, y, batch_size=batch_size, return_dict=return_dict)

    def predict(self, x: Any, batch_size: int = 32, verbose: Any = 0) -> np.ndarray:
        """Outputs for x in inference mode (dropout off), batch by batch."""
        return training.predict(self, x, batch_size=batch_size)

    def _prepare_xy(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Validated (x, y) for training or evaluation; builds and finishes compiling."""
        self._require_compiled()
        return training.prepare_xy(self, x, y)

    # -- weights and saving ---------------------------------------------------------------

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter, layer by layer (Dense: kernel (in, out), then bias)."""
        return [param.copy() for param, _ in self.parameters()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Copy arrays into the parameters, in ``get_weights()`` order."""
        self._require_built()
        params = [param for param, _ in self.parameters()]
        if len(weights) != len(params):
            raise ValueError(f"expected {len(params)} weight arrays, got {len(weights)}")
        for i, (param, value) in enumerate(zip(params, weights, strict=True)):
            value = np.asarray(value)
            if value.shape != param.shape:
                raise ValueError(f"weight {i} has shape {value.shape}; expected {param.shape}")
            param[...] = value

    def save(self, path: str) -> None:
        """Write config, weights and optimizer state to one ``.npz`` file, atomically."""
        from tinynn.saving import save_model

        save_model(self, path)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype.name,
            "seed": self.seed,
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "layers": [layers_module.serialize(layer) for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        model = cls(
            name=config.get("name", "sequential"),
            dtype=config.get("dtype", "float32"),
            seed=config.get("seed"),
        )
        if config.get("input_shape"):
            model.input_shape = tuple(config["input_shape"])
        for spec in config.get("layers", []):
            model.add(layers_module.deserialize(spec))
        if model.input_shape is not None:
            model.build()
        return model

    # -- guards ---------------------------------------------------------------------------

    def _require_built(self) -> None:
        if not self.built:
            self.build()

    def _require_compiled(self) -> None:
        if self.optimizer is None or self.loss is None:
            raise RuntimeError(
                "the model must be compiled before training or evaluating; "
                "call model.compile(optimizer=..., loss=...) first"
            )


def _child_seed(seed: int | None, index: int) -> np.random.SeedSequence | None:
    """The index-th independent stream derived from a model seed (None stays unseeded)."""
    if seed is None:
        return None
    return np.random.SeedSequence(seed, spawn_key=(index,))


def load_model(path: str) -> Sequential:
    """Load a model saved with ``model.save(path)``. Never executes code from the file."""
    from tinynn.saving import load_model as _load

    return _load(path)
