"""Activation functions as small classes with an explicit forward and backward.

    act = ReLU()
    y = act.forward(x)          # caches y
    dx = act.backward(dy)       # dL/dx = dL/dy ⊙ f'(x), computed from the cached y

Every derivative is written in terms of the output y, so the cache is one array. The maths
lives in ``tinynn.kernels.numpy_ops.activations``; each class states it in its docstring.
Use them by name in ``Dense(activation="relu")`` or as a layer, ``layers.Activation("tanh")``.

To write your own, subclass ``ActivationFunction`` and implement ``forward`` and ``backward``;
leave ``kernel_name`` as None and layers will call your methods instead of a fused kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.kernels import numpy_ops


class ActivationFunction:
    """Base class. Built-in subclasses set ``kernel_name`` to the kernel they map to."""

    name: str = "activation"
    kernel_name: str | None = None

    def __init__(self) -> None:
        self.alpha = 0.0
        self.output: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = f(x), any shape (softmax: over the last axis). Caches y for backward."""
        self._require_kernel()
        x = np.asarray(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        self.output = numpy_ops.activation_forward(
            self.kernel_name, x, self.alpha, np.empty_like(x)
        )
        return self.output

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """dL/dx = dL/dy ⊙ f'(x), from the y cached by the last forward; y's shape."""
        self._require_kernel()
        if self.output is None:
            raise RuntimeError(f"{self.name}.backward called before forward")
        grad_output = np.asarray(grad_output, dtype=self.output.dtype)
        out = np.empty_like(self.output)
        return numpy_ops.activation_backward(
            self.kernel_name, self.output, grad_output, self.alpha, out
        )

    def _require_kernel(self) -> None:
        if self.kernel_name is None:
            raise NotImplementedError(
                f"{type(self).__name__} has no built-in kernel; override forward and backward"
            )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ActivationFunction:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Linear(ActivationFunction):
    """f(x) = x; f'(x) = 1."""

    name = kernel_name = "linear"


class Sigmoid(ActivationFunction):
    """f(x) = 1 / (1 + e^−x); f'(x) = y (1 − y). Saturates: f' ≤ 1/4, and → 0 for large |x|."""

    name = kernel_name = "sigmoid"


class Tanh(ActivationFunction):
    """f(x) = tanh(x); f'(x) = 1 − y². Zero-centred, but saturates like the sigmoid."""

    name = kernel_name = "tanh"


class ReLU(ActivationFunction):
    """f(x) = max(x, 0); f'(x) = 1 if y > 0 else 0 (0 at x = 0, as in PyTorch)."""

    name = kernel_name = "relu"


class LeakyReLU(ActivationFunction):
    """f(x) = x if x > 0 else alpha·x; f'(x) = 1 or alpha. Keras's default alpha = 0.2."""

    name = kernel_name = "leaky_relu"

    def __init__(self, alpha: float = 0.2) -> None:
        super().__init__()
        if not alpha > 0:
            raise ValueError(f"leaky_relu alpha must be > 0, got {alpha}")
        self.alpha = float(alpha)

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


class ELU(ActivationFunction):
    """f(x) = x if x > 0 else alpha·(e^x − 1); f'(x) = 1 or y + alpha. Default alpha = 1."""

    name = kernel_name = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        if not alpha > 0:
            raise ValueError(f"elu alpha must be > 0, got {alpha}")
        self.alpha = float(alpha)

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


class Softplus(ActivationFunction):
    """f(x) = log(1 + e^x); f'(x) = sigmoid(x) = 1 − e^−y."""

    name = kernel_name = "softplus"


class Softmax(ActivationFunction):
    """f(x)_i = e^x_i / Σ_j e^x_j over the last axis; dx = y ⊙ (dy − Σ_j dy_j y_j).

    Followed by categorical cross-entropy, a model folds it into the loss instead (see
    ``tinynn.losses``): the combined gradient is simply (p − y) / N.
    """

    name = kernel_name = "softmax"


# -- what layers call: the backend's kernel for a built-in activation, else the class's own ---
# ``ops`` is a layer's kernel backend (``layer.ops``), so the NumPy or Numba kernel runs.


def fused_forward(
    ops: Any,
    activation: ActivationFunction,
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    out: np.ndarray,
    apply_activation: bool = True,
) -> tuple[np.ndarray, str]:
    """y = f(x W + b) written into ``out``, and the name ``unfuse_backward`` needs later.

    Shapes: x (M, n_in), W (n_in, n_out), b (n_out,) or None; ``out`` (…, n_out) holds M rows,
    e.g. (batch, Ho, Wo, filters) for a convolution, and y has its shape. A built-in activation
    runs fused in ``ops.dense_forward``; one without a kernel gets z = x W + b from the kernel
    and then runs its own forward. With ``apply_activation=False`` y is z itself.

    Returns (y, applied): applied is the kernel name used, or "custom".
    Dense, Conv2D and SeparableConv2D share this step.
    """
    kernel = activation.kernel_name if apply_activation else "linear"
    rows = out.reshape(-1, out.shape[-1])
    ops.dense_forward(x, W, b, kernel or "linear", activation.alpha, rows)
    if kernel is None:
        return activation.forward(out), "custom"
    return out, kernel


def unfuse_backward(
    activation: ActivationFunction, applied: str, grad_output: np.ndarray
) -> tuple[np.ndarray, str]:
    """The (gradient, activation kernel name) a layer's fused backward kernel should receive.

    ``applied`` is the kernel name the layer's last forward used, or "custom" for an activation
    without a kernel: that one runs its own backward here, and the kernel then sees "linear".
    Dense, Conv2D and SeparableConv2D share this step.
    """
    if applied == "custom":
        return activation.backward(grad_output), "linear"
    return grad_output, applied


def forward_in_place(ops: Any, activation: ActivationFunction, z: np.ndarray) -> np.ndarray:
    """y = f(z), any shape: written over z by the backend's kernel for a built-in activation;
    an activation without a kernel runs its own forward and returns its own array.

    DepthwiseConv2D and Residual share this step, after their bias add or sum.
    """
    if activation.kernel_name is None:
        return activation.forward(z)
    ops.activation_forward(activation.kernel_name, z, activation.alpha, z)
    return z


def backward_into(
    ops: Any, activation: ActivationFunction, y: np.ndarray, grad: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """dL/dz = dL/dy ⊙ f'(z) from the cached y = f(z), all of y's shape, written into ``out``
    by the backend's kernel; an activation without a kernel runs its own backward (from the y
    it cached itself) and leaves ``out`` unused.

    The backward half of ``forward_in_place``.
    """
    if activation.kernel_name is None:
        return activation.backward(grad)
    return ops.activation_backward(activation.kernel_name, y, grad, activation.alpha, out)


ACTIVATIONS: dict[str, type[ActivationFunction]] = {
    cls.name: cls for cls in (Linear, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, Softplus, Softmax)
}


def serialize(activation: ActivationFunction) -> dict[str, Any]:
    if ACTIVATIONS.get(activation.name) is not type(activation):
        raise ValueError(
            f"Custom activation {type(activation).__name__} cannot be saved; "
            f"built-in ones are {sorted(ACTIVATIONS)}"
        )
    return {"class_name": activation.name, "config": activation.get_config()}


def get(identifier: str | dict | ActivationFunction | None) -> ActivationFunction:
    """An activation from None (linear), a name, a serialized dict, or an instance.

    Instances are returned as they are. Names give a fresh object, so two layers never share
    one cache.
    """
    if identifier is None:
        return Linear()
    if isinstance(identifier, ActivationFunction):
        return identifier
    if isinstance(identifier, dict):
        return _lookup(identifier.get("class_name")).from_config(dict(identifier.get("config", {})))
    return _lookup(identifier)()


def _lookup(name: object) -> type[ActivationFunction]:
    key = name.lower() if isinstance(name, str) else name
    if key not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[key]
