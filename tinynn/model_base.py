"""``Model``: what every tinynn model offers, whatever its structure.

A model subclass (``Sequential``, or a graph of layers built with the functional API) says how
its layers connect: ``build``, ``forward``, ``backward``, ``layers`` and the shapes. This base
class adds Keras's interface on top, always through those methods:

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=10)          # tinynn.training.fit: train_step over batches
    model.evaluate(x, y); model.predict(x); model.summary(); model.save("m.npz")

It also owns the model's ``ParameterStore`` (``tinynn.parameters``), which every layer's
``add_weight`` allocates from, and the ``TrainState`` that ``compile`` returns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tinynn import losses, optimizers, training
from tinynn.batches import prepare_data
from tinynn.kernels import get_backend
from tinynn.layers.layer import Layer, check_dtype, set_arrays
from tinynn.model_summary import format_summary
from tinynn.parameters import ParameterStore
from tinynn.runtime.archive import FORMAT
from tinynn.seeding import new_generator
from tinynn.train_state import TrainState
from tinynn.validation import check_array, check_positive_int


class Model:
    """Base class of every model. Args: ``name``, ``dtype`` (for layers that set none) and
    ``seed`` (weights, dropout masks and shuffling repeat exactly)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        # As in Keras, Model(inputs=..., outputs=...) makes a functional model.
        if cls is Model and (args or {"inputs", "outputs"} & set(kwargs)):
            from tinynn.functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, name: str = "model", dtype: Any = "float32", seed: int | None = None):
        self.name = name
        self.dtype = check_dtype(dtype)
        self.seed = seed
        self.store = ParameterStore()
        self.train_state: TrainState | None = None
        self.history = None
        self.stop_training = False
        self.rng = new_generator(child_seed(seed, 0))
        #: predict's InferenceModel: None until built, False if it cannot run this model.
        self._engine: Any = None

    # -- what a subclass provides ---------------------------------------------------------

    layers: list[Layer]
    built: bool
    #: False for a model taking (giving) a list of arrays: several inputs (outputs).
    single_input = True
    single_output = True

    @property
    def input_names(self) -> list[str]:
        """Names for the inputs, the keys of x given as a dict."""
        return ["input"]

    @property
    def output_names(self) -> list[str]:
        """Names of the output layers, the keys of y (and of losses) given as dicts."""
        return [self.output_layer.name]

    def build(self, input_shape: Sequence[int] | None = None) -> None:
        raise NotImplementedError

    def forward(self, x: np.ndarray, training: bool = False, logits: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray, input_gradient: bool = False) -> np.ndarray | None:
        raise NotImplementedError

    @property
    def output_layer(self) -> Layer:
        """The layer producing the output: a loss may fold its activation in."""
        raise NotImplementedError

    # -- layers and weights -----------------------------------------------------------------

    def adopt(self, layer: Layer, position: int) -> None:
        """Make ``layer`` part of this model: its dtype, a generator of its own, the model's
        store for its weights, and a name unique within the model."""
        if layer.dtype is None:
            layer.dtype = self.dtype
        if layer.seed is None and self.seed is not None:
            layer.rng = np.random.default_rng(child_seed(self.seed, 1 + position))
        if not layer.built:
            layer.store = self.store
        names = {existing.name for existing in self.layers[:position]}
        base, suffix = layer.name, 1
        while layer.name in names:
            layer.name, suffix = f"{base}_{suffix}", suffix + 1

    def parameters(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(param, grad) pairs of every trainable layer, in order: what the optimizer steps."""
        for layer in self.layers:
            yield from layer.parameters()

    @property
    def trainable(self) -> bool:
        return any(layer.trainable for layer in self.layers)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in self.layers:
            layer.trainable = value

    @property
    def weights(self) -> list[np.ndarray]:
        """Every array of every layer, in order (each layer's parameters, then its state)."""
        return [array for layer in self.layers for array in layer.weights]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return [param for param, _ in self.parameters()]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [array for layer in self.layers for array in layer.non_trainable_weights]

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of ``weights``, layer by layer (Dense: kernel (in, out), then bias)."""
        self.require_built()
        return [array.copy() for array in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Copy arrays into ``weights`` in place, in ``get_weights()`` order."""
        self.require_built()
        set_arrays(self.weights, weights, f"model {self.name!r}")

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by its name or its position in ``layers`` (Keras's ``get_layer``)."""
        if (name is None) == (index is None):
            raise ValueError("get_layer needs exactly one of name= or index=")
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"layer index {index} out of range for {len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        names = [layer.name for layer in self.layers]
        raise ValueError(f"no layer named {name!r}; the layers are {names}")

    def regularization_loss(self) -> float:
        return sum(layer.regularization_loss() for layer in self.layers)

    def summary(self, print_fn=print) -> str | None:
        """Print a table of layers, output shapes, parameter counts and FLOPs per sample,
        then the training memory allocated so far (``tinynn.profiling.training_memory``).

        As in Keras it returns None; with ``print_fn=None`` it returns the text instead.
        """
        self.require_built()
        text = format_summary(self)
        if print_fn is None:
            return text
        print_fn(text)
        return None

    # -- compile, train, predict ------------------------------------------------------------

    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Sequence[Any] | None = None,
        backend: str = "auto",
        loss_weights: Any = None,
        distribution: Any = None,
    ) -> None:
        """Choose the optimizer, loss and metrics (names or instances) and the kernel backend.

        A model with several outputs takes one loss for all, a list in output order, or a dict
        by output name; ``loss_weights`` (same forms) weighs them in the total. The metrics
        apply to every output. ``distribution`` spreads training over processes
        (``tinynn.distributed``). The result is a ``TrainState``, kept as
        ``model.train_state``: what ``fit`` and ``evaluate`` read. (As in Keras, ``compile``
        itself returns None.)
        """
        if loss is None:
            raise ValueError(f"compile needs a loss; expected one of {sorted(losses.LOSSES)}")
        ops = get_backend(backend)
        optimizer = optimizers.get(optimizer)
        optimizer.ops = ops.optim
        metric_specs = metrics if isinstance(metrics, dict) else list(metrics or [])
        self.train_state = TrainState(
            optimizer, ops, loss, metric_specs, loss_weights, distribution=distribution
        )
        if distribution is not None:
            distribution.attach(self)
        self.forget_engine()
        if self.built:
            self.train_state.bind(self)

    def require_compiled(self) -> TrainState:
        if self.train_state is None:
            raise RuntimeError(
                "the model must be compiled before training or evaluating; "
                "call model.compile(optimizer=..., loss=...) first"
            )
        return self.train_state

    def require_built(self) -> None:
        if not self.built:
            self.build()

    @property
    def optimizer(self) -> Any:
        return None if self.train_state is None else self.train_state.optimizer

    @property
    def loss(self) -> losses.Loss | None:
        return None if self.train_state is None else self.train_state.loss

    @property
    def backend(self) -> str:
        return "numpy" if self.train_state is None else self.train_state.ops.NAME

    @property
    def metrics(self) -> list[Any]:
        """The compiled metrics, resolved for this model's output (names become functions or
        metric objects; see ``tinynn.metrics.resolve``)."""
        return [] if self.train_state is None else list(self.train_state.metrics)

    @property
    def metrics_names(self) -> list[str]:
        if self.train_state is None:
            return []
        return ["loss", *self.train_state.metric_names]

    def fit(self, x: Any, y: Any, **kwargs: Any) -> Any:
        """Train for ``epochs`` passes over (x, y); returns a ``History``. Keras's arguments:
        batch_size=32, epochs=1, verbose="auto", callbacks, validation_split (the *last*
        fraction, held out before shuffling), validation_data, shuffle, initial_epoch,
        sample_weight (one weight per sample) and class_weight ({class: weight})."""
        return training.fit(self, x, y, **kwargs)

    def compute_gradients(self, x: Any, y: Any, sample_weight: Any = None) -> tuple[float, Any]:
        """Forward and backward on one batch, without an optimizer step: every trainable
        layer's ``grads`` is filled. Returns (loss, y_pred), y_pred as the last layer produced
        it (logits when the output activation is folded into the loss)."""
        state = self.require_compiled()
        data = prepare_data(self, x, y, sample_weight)
        return training.compute_gradients(self, state, data.inputs(slice(None)), *_targets(data))

    def train_on_batch(self, x: Any, y: Any, sample_weight: Any = None) -> float:
        """One optimizer step on one batch; returns the batch loss (Keras's name)."""
        state = self.require_compiled()
        data = prepare_data(self, x, y, sample_weight)
        loss, _ = training.train_step(self, state, data.inputs(slice(None)), *_targets(data))
        return loss

    def evaluate(
        self,
        x: Any,
        y: Any,
        batch_size: int = 32,
        verbose: Any = 0,
        return_dict: bool = False,
        sample_weight: Any = None,
    ) -> Any:
        """The loss, or ``[loss, *metrics]`` when metrics were compiled (a dict if asked)."""
        return training.evaluate(self, x, y, batch_size, return_dict, sample_weight)

    def predict(self, x: Any, batch_size: int = 32, verbose: Any = 0) -> Any:
        """Outputs for x in inference mode (dropout off), batch by batch, as a new array (a
        list of arrays for a model with several outputs).

        A model the inference engine can run (one input and one output, layers the runtime
        knows: Dense, convolutional, residual and functional models) goes through it, the same
        ``tinynn.runtime.InferenceModel`` that serves a saved file, on the model's live
        weights; any other model runs its layers' ``forward``. Both give the same numbers.
        """
        batch_size = check_positive_int(batch_size, "batch_size")
        self.require_built()
        if not (self.single_input and self.single_output):
            return self._predict_lists(x, batch_size)
        x = check_array(x, "x", self.dtype, self.input_shape)
        engine = self.inference_engine()
        if engine is not None and len(x) == 1 and x.flags.c_contiguous:
            return engine.run_one(x[0])[None]
        run = self.forward if engine is None else engine.run_batch
        distribution = None if self.train_state is None else self.train_state.distribution
        if distribution is not None:  # each process predicts its share (tinynn.distributed)
            return distribution.predict(run, x, batch_size, self.output_shape, self.dtype)
        if len(x) <= batch_size:
            return np.array(run(x), copy=engine is None)
        outputs = np.empty((len(x), *self.output_shape), dtype=self.dtype)
        for start in range(0, len(x), batch_size):
            outputs[start : start + batch_size] = run(x[start : start + batch_size])
        return outputs

    def inference_engine(self) -> Any:
        """The ``InferenceModel`` that ``predict`` runs, on this model's own arrays, or None if
        the engine cannot run this model. Built once, and again after anything that changes
        the structure or the backend (``build``, ``add``, ``pop``, ``compile``) has called
        ``forget_engine``: training updates the arrays it reads in place."""
        if self._engine is not None:  # first: predict asks at every call
            return self._engine or None
        from tinynn.runtime import InferenceModel, ModelFileError, parse_model

        ops = None if self.train_state is None else self.train_state.ops
        engine = None
        try:
            config = {"model": {"class_name": type(self).__name__, "config": self.get_config()}}
            params = [p for layer in self.layers for p in layer.params.values()]
            arrays = {f"weights/{i}": param for i, param in enumerate(params)}
            for index, layer in enumerate(self.layers):  # BatchNormalization's statistics
                arrays |= {f"state/{index}/{key}": v for key, v in layer.state.items()}
            kernels = ops if ops is not None and hasattr(ops, "DenseStack") else None
            spec = parse_model({"format": FORMAT, "format_version": 1, **config}, arrays, self.name)
            engine = InferenceModel(spec, kernels)
        except (ModelFileError, ValueError, TypeError):
            engine = None  # a layer the engine does not know: predict runs the layers
        self._engine = engine if engine is not None else False
        return engine

    def forget_engine(self) -> None:
        """Drop the inference engine; the next ``predict`` builds a new one."""
        self._engine = None

    def _predict_lists(self, x: Any, batch_size: int) -> Any:
        xs = self._checked_inputs(x)
        parts = []
        for start in range(0, len(xs[0]), batch_size):
            batch = [a[start : start + batch_size] for a in xs]
            out = self.forward(batch[0] if self.single_input else batch)
            parts.append([out] if self.single_output else out)
        joined = [np.concatenate([part[i] for part in parts]) for i in range(len(parts[0]))]
        return joined[0] if self.single_output else joined

    def _checked_inputs(self, x: Any) -> list[np.ndarray]:
        from tinynn.batches import _as_list

        shapes = [self.input_shape] if self.single_input else self.input_shape
        arrays = _as_list(x, self.input_names, "x")
        return [
            check_array(a, f"x[{n!r}]", self.dtype, s)
            for a, n, s in zip(arrays, self.input_names, shapes, strict=True)
        ]

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch (Keras's name): ``predict`` without batching."""
        return self.predict(x, batch_size=len(self._checked_inputs(x)[0]))

    def __call__(self, x: Any, training: bool = False) -> Any:
        """``model(x)``: the forward pass on arrays (Keras's call), as a new array; on
        symbolic tensors it calls the model as a layer would be called: not supported."""
        self.require_built()
        xs = self._checked_inputs(x)
        return self.forward(xs[0] if self.single_input else xs, training=training)

    def input_gradient(self, x: Any, y: Any) -> Any:
        """dL/dx of the compiled loss for a batch, shaped like x (saliency maps, adversarial
        examples). Runs in inference mode; ``fit`` never computes this, since no weight
        needs it."""
        state = self.require_compiled()
        data = prepare_data(self, x, y)
        logits = [output.fused_activation is not None for output in state.outputs]
        y_pred = self.forward(
            data.inputs(slice(None)),
            training=False,
            logits=logits[0] if self.single_output else logits,
        )
        predictions = [y_pred] if self.single_output else y_pred
        for output, prediction, target in zip(state.outputs, predictions, data.y, strict=True):
            output.train_loss.forward(prediction, target)
        return self.backward(training.output_gradients(state), input_gradient=True)

    # -- saving -----------------------------------------------------------------------------

    def save(self, path: str, metadata: dict | None = None) -> None:
        """Write config, weights and optimizer state to one ``.npz`` file, atomically."""
        from tinynn.saving import save_model

        save_model(self, path, metadata)

    def save_weights(self, path: str) -> None:
        """Write only the weights (a ``.weights.npz`` file), atomically."""
        from tinynn.saving import save_weights

        save_weights(self, path)

    def load_weights(self, path: str) -> None:
        """Read weights written by ``save_weights`` (or ``save``) into this model."""
        from tinynn.saving import load_weights

        load_weights(self, path)


def child_seed(seed: int | None, index: int) -> np.random.SeedSequence | None:
    """The index-th independent stream derived from a model seed (None stays unseeded)."""
    if seed is None:
        return None
    return np.random.SeedSequence(seed, spawn_key=(index,))


def _targets(data: Any) -> tuple[Any, Any]:
    """(y, sample weights) of checked data, y as the model's outputs take it."""
    return (data.y[0] if data.single_output else data.y), data.sample_weight
