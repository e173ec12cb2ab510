"""The ``Layer`` base class: parameters beside their gradients, forward and backward.

A layer maps x of shape (batch, *input_shape) to y of shape (batch, *output_shape). Shapes
stored on the layer leave out the batch axis, as Keras's ``(None, …)`` does.

    layer.forward(x, training=False) -> y        caches what backward needs
    layer.backward(dL/dy) -> dL/dx               fills layer.grads[k] beside layer.params[k]

Gradients are *overwritten* by each backward, not accumulated, so no ``zero_grad`` is needed
between steps. ``parameters()`` yields ``(param, grad)`` pairs, which is all an optimizer sees.

Weights come from ``add_weight`` in ``build``; the array it returns is the array that trains
(see ``tinynn.parameters``), so a layer may keep it as ``self.W``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tinynn import initializers
from tinynn.kernels import numpy_ops
from tinynn.parameters import ParameterStore
from tinynn.seeding import new_generator
from tinynn.workspace import borrow

Shape = tuple[int, ...]

#: The dtypes a layer may compute in.
FLOAT_DTYPES = ("float32", "float64")


def check_dtype(dtype: Any) -> np.dtype:
    """np.dtype for "float32"/"float64" (or the numpy types), else ValueError."""
    resolved = np.dtype(dtype)
    if resolved.name not in FLOAT_DTYPES:
        raise ValueError(f"Unsupported dtype {resolved.name!r}; expected one of {FLOAT_DTYPES}")
    return resolved


class Layer:
    """Base class for every layer.

    Args:
        input_shape: shape of one sample, without the batch axis. Optional: a layer also builds
            itself on its first ``forward`` from the shape of x.
        name: a label for summaries; a model makes it unique within itself.
        dtype: "float32" (default) or "float64"; parameters and outputs use it.
        seed: seeds ``self.rng``, the generator for initial weights and any randomness.
        trainable: False freezes the layer (Keras's flag): ``fit`` leaves its weights alone.

    Attributes:
        params, grads: dicts with the same keys; ``grads[k]`` has ``params[k]``'s shape.
        state: arrays kept but not trained (BatchNormalization's moving statistics).
        store: the model's ``ParameterStore`` that ``add_weight`` allocates from (None on a
            layer of its own: then every weight is an ordinary array).
        ops: the kernel backend: NumPy (the maths in the classes) unless a model compiled
            with another one.
        compute_input_grad: whether backward returns dL/dx; a model turns it off where
            nobody needs it (below the first trainable layer).
        workspace: None, so every pass allocates fresh arrays and results a caller keeps stay
            valid. The training loop lends a dict for the length of ``fit``: outputs and
            gradients are then written into buffers reused at every step.
    """

    def __init__(
        self,
        *,
        input_shape: Shape | None = None,
        name: str | None = None,
        dtype: Any = None,
        seed: int | None = None,
        trainable: bool = True,
    ) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.weight_initializers: dict[str, Any] = {}  # what add_weight drew each param from
        self.input_shape: Shape | None = _as_shape(input_shape) if input_shape is not None else None
        self.output_shape: Shape | None = None
        self.built = False
        self.name = name or _snake_case(type(self).__name__)
        self.dtype = check_dtype(dtype) if dtype is not None else None
        self.seed = seed
        self.rng = new_generator(seed)
        self.store: ParameterStore | None = None
        self.ops = numpy_ops
        self.compute_input_grad = True
        self.workspace: dict[str, np.ndarray] | None = None
        # Set directly, not through the property: a container must not overwrite the flags
        # its children were created with (it passes on only later changes).
        self._trainable = bool(trainable)

    # -- building -------------------------------------------------------------------------

    def build(self, input_shape: Shape) -> None:
        """Create parameters for samples of ``input_shape`` and record the output shape."""
        self.input_shape = _as_shape(input_shape)
        if self.dtype is None:
            self.dtype = np.dtype("float32")
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """Output shape (without batch) for a given input shape. Identity by default."""
        return input_shape

    def add_weight(self, key: str, shape: Shape, initializer: Any = "zeros") -> np.ndarray:
        """Create ``params[key]`` from an initializer, with a zero ``grads[key]`` beside it.

        Returns the parameter array itself: training updates it in place, so keeping it
        (``self.W = self.add_weight("W", ...)``) is safe.
        """
        shape = tuple(int(d) for d in shape)
        dtype = self.dtype if self.dtype is not None else np.dtype("float32")
        if self.store is not None:
            param, grad = self.store.allocate(shape, dtype)
        else:
            param, grad = np.zeros(shape, dtype), np.zeros(shape, dtype)
        self.weight_initializers[key] = initializers.get(initializer)
        param[...] = self.weight_initializers[key](shape, dtype, self.rng)
        self.params[key], self.grads[key] = param, grad
        return param

    def reinitialize(self) -> None:
        """Draw every parameter again from its initializer with ``self.rng``, in place.

        A functional model given a seed does this to the layers it adopts: their weights
        were drawn when they were called on symbolic tensors, before the model existed.
        """
        for key, initializer in self.weight_initializers.items():
            param = self.params[key]
            param[...] = initializer(param.shape, param.dtype, self.rng)

    # -- the two passes -------------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def __call__(self, x: Any, training: bool = False) -> Any:
        """``layer(x)``: the forward pass on arrays; on symbolic tensors (the functional API,
        ``tinynn.layers.symbolic``) it records the call in a graph instead."""
        from tinynn.layers import symbolic

        if symbolic.is_symbolic(x):
            return symbolic.call_symbolic(self, x)
        return self.forward(x, training=training)

    def _prepare_input(self, x: np.ndarray) -> np.ndarray:
        """Build on first use, then check that x is (batch, *input_shape) in our dtype.

        A layer given ``input_shape=`` builds for that shape, so a batch of another shape is
        refused rather than silently changing the layer; otherwise x's shape decides.
        """
        x = np.asarray(x)
        if not self.built:
            if x.ndim < 2:
                raise ValueError(
                    f"{self.name}: expected a batch of shape (batch, ...), got shape {x.shape}"
                )
            self.build(self.input_shape if self.input_shape is not None else x.shape[1:])
        if x.shape[1:] != self.input_shape:
            expected = ", ".join(str(d) for d in self.input_shape)
            raise ValueError(
                f"{self.name}: expected input of shape (batch, {expected}), got {x.shape}"
            )
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        return x

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        """An uninitialised array for an output, a gradient or a cache (``tinynn.workspace``):
        new every call without a workspace, reused across steps with one."""
        return borrow(self.workspace, name, shape, self.dtype if dtype is None else dtype)

    def _param_grad(self, key: str) -> np.ndarray | None:
        """grads[key] to fill in backward, or None when the layer is frozen (nobody reads it)."""
        return self.grads.get(key) if self.trainable else None

    # -- parameters -----------------------------------------------------------------------

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)

    def parameters(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(param, grad) pairs in a fixed order: what an optimizer steps. None when frozen."""
        if self.trainable:
            for key in self.params:
                yield self.params[key], self.grads[key]

    @property
    def weights(self) -> list[np.ndarray]:
        """Every array of the layer (Keras's order): parameters, then ``state``."""
        return [*self.params.values(), *self.state.values()]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return [param for param, _ in self.parameters()]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        trained = {id(param) for param, _ in self.parameters()}
        return [array for array in self.weights if id(array) not in trained]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of ``weights`` (Dense: kernel (in, out), then bias)."""
        return [array.copy() for array in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Copy arrays into ``weights`` in place, checking count and shapes."""
        set_arrays(self.weights, weights, f"layer {self.name!r}")

    def count_params(self) -> int:
        return sum(p.size for p in self.params.values())

    def regularized_params(self) -> dict[str, Any]:
        """{param key: regularizer} for the parameters this layer penalizes. None by default."""
        return {}

    def regularization_loss(self) -> float:
        """Penalty this layer adds to the loss: Σ_k R_k(params[k]) over regularized_params()."""
        return sum(reg(self.params[key]) for key, reg in self.regularized_params().items())

    def _add_regularizer_grads(self) -> None:
        """grads[k] += dR_k/dparams[k]: called at the end of backward."""
        if not self.trainable:
            return
        for key, regularizer in self.regularized_params().items():
            self.grads[key] += regularizer.gradient(self.params[key])

    def flops(self) -> int:
        """Floating-point operations of one forward pass for one sample (0 if negligible)."""
        return 0

    # -- configuration --------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as JSON-able values: ``type(self).from_config(cfg)`` rebuilds."""
        config = {
            "name": self.name,
            "dtype": self.dtype.name if self.dtype is not None else None,
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "seed": self.seed,
        }
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} output_shape={self.output_shape}>"


def set_arrays(targets: Sequence[np.ndarray], values: Sequence[Any], what: str) -> None:
    """targets[i][...] = values[i] for every i, after checking count and every shape."""
    values = list(values)
    if len(values) != len(targets):
        raise ValueError(f"{what}: expected {len(targets)} weight arrays, got {len(values)}")
    arrays = [np.asarray(value) for value in values]
    for i, (target, value) in enumerate(zip(targets, arrays, strict=True)):
        if value.shape != target.shape:
            raise ValueError(f"{what}: weight {i} has shape {value.shape}; expected {target.shape}")
        if value.dtype.kind not in "fiub" or not np.all(np.isfinite(value)):
            raise ValueError(f"{what}: weight {i} must hold finite numbers")
    for target, value in zip(targets, arrays, strict=True):
        target[...] = value


def _as_shape(shape: Any) -> Shape:
    """(d1, d2, …) as a tuple of positive ints; a bare int n means (n,)."""
    if isinstance(shape, int | np.integer):
        shape = (shape,)
    if isinstance(shape, str):
        raise TypeError(f"a shape must be a tuple of ints, got {shape!r}")
    try:
        result = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"a shape must be a tuple of ints, got {shape!r}") from None
    if any(d <= 0 for d in result):
        raise ValueError(f"shape dimensions must be positive, got {result}")
    return result


def _snake_case(name: str) -> str:
    chars = []
    for i, char in enumerate(name):
        # Keras's names: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d.
        if char.isupper() and i > 0 and name[i - 1].islower():
            chars.append("_")
        chars.append(char.lower())
    return "".join(chars)


def product(shape: Shape) -> int:
    """Number of elements in one sample of this shape."""
    return math.prod(shape)
