"""A public finite-difference gradient checker for layers, losses, activations and models.

Backpropagation is only as trustworthy as its check. For every array θ that a backward pass
produces a gradient for, we compare it with central differences,

    ∂L/∂θ_i ≈ (L(θ + ε e_i) − L(θ − ε e_i)) / (2ε),

and report the relative error ‖g_analytic − g_numeric‖ / (‖g_analytic‖ + ‖g_numeric‖) per
array. In float64 with ε = 1e-6 a correct backward gives about 1e-9 or better; a wrong one
gives something near 1. Run checks in float64: float32 round-off alone is ~1e-4 here.

For a layer, L is the scalar Σ y ⊙ R + (the layer's regularization penalty) for a fixed
random R, so every output receives a different upstream gradient R = dL/dy. Layers with
randomness (Dropout) have their generator rewound before every forward, so each evaluation
sees the same mask.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class GradCheckResult:
    """Relative error per checked array, by name ("W", "b", "x", "dense/W", …)."""

    errors: dict[str, float] = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    def passed(self, tolerance: float = 1e-6) -> bool:
        return self.max_error < tolerance

    def __str__(self) -> str:
        lines = [f"{'array':<24}relative error"]
        lines += [f"{name:<24}{error:.3e}" for name, error in self.errors.items()]
        return "\n".join(lines)


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """‖a − n‖ / (‖a‖ + ‖n‖), and 0 when both are exactly zero."""
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if denominator == 0.0:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / denominator)


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f() with respect to every entry of ``array``.

    ``array`` is perturbed in place (so f must read it) and restored exactly afterwards.
    Indexing with ``np.ndindex`` rather than a flat view also works for non-contiguous arrays,
    where ``reshape(-1)`` would silently perturb a copy.
    """
    grad = np.zeros(array.shape, dtype=np.float64)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = f()
        array[index] = original - eps
        minus = f()
        array[index] = original
        grad[index] = (plus - minus) / (2.0 * eps)
    return grad


def _require_float64(array: np.ndarray, what: str) -> None:
    if array.dtype != np.float64:
        raise ValueError(
            f"gradcheck needs float64 {what}, got {array.dtype}; build with dtype='float64'"
        )


def check_layer(
    layer, x: np.ndarray, training: bool = False, eps: float = 1e-6, seed: int = 12345
) -> GradCheckResult:
    """Check ``layer.backward`` for its parameters and its input x (batch, *input_shape)."""
    x = np.array(x, dtype=np.float64)
    if layer.dtype is None:
        layer.dtype = np.dtype("float64")
    rng_state = layer.rng.bit_generator.state

    def forward() -> np.ndarray:
        layer.rng.bit_generator.state = rng_state
        return layer.forward(x, training=training)

    upstream = np.random.default_rng(seed).normal(size=forward().shape)
    for name, param in layer.params.items():
        _require_float64(param, f"parameter {name!r}")

    def loss() -> float:
        # backward adds each regularizer's gradient to grads, so the penalty belongs in L too.
        return float(np.sum(forward() * upstream)) + layer.regularization_loss()

    forward()
    grad_x = layer.backward(upstream.copy())
    analytic = {name: grad.copy() for name, grad in layer.grads.items()}
    result = GradCheckResult()
    for name, param in layer.params.items():
        result.errors[name] = relative_error(analytic[name], numerical_gradient(loss, param, eps))
    if grad_x is not None:
        result.errors["x"] = relative_error(grad_x, numerical_gradient(loss, x, eps))
    return result


def check_activation(
    activation, x: np.ndarray, eps: float = 1e-6, seed: int = 12345
) -> GradCheckResult:
    """Check ``activation.backward`` against differences of ``activation.forward``."""
    x = np.array(x, dtype=np.float64)
    upstream = np.random.default_rng(seed).normal(size=x.shape)

    def loss() -> float:
        return float(np.sum(activation.forward(x) * upstream))

    activation.forward(x)
    analytic = activation.backward(upstream)
    return GradCheckResult({"x": relative_error(analytic, numerical_gradient(loss, x, eps))})


def check_loss(loss, y_pred: np.ndarray, y_true: np.ndarray, eps: float = 1e-6) -> GradCheckResult:
    """Check ``loss.backward`` (dL/dy_pred) against differences of ``loss.forward``."""
    y_pred = np.array(y_pred, dtype=np.float64)
    loss.forward(y_pred, y_true)
    analytic = loss.backward().copy()
    numeric = numerical_gradient(lambda: loss.forward(y_pred, y_true), y_pred, eps)
    return GradCheckResult({"y_pred": relative_error(analytic, numeric)})


def check_regularizer(regularizer, w: np.ndarray, eps: float = 1e-6) -> GradCheckResult:
    """Check ``regularizer.gradient`` against differences of the penalty."""
    w = np.array(w, dtype=np.float64)
    numeric = numerical_gradient(lambda: regularizer(w), w, eps)
    return GradCheckResult({"w": relative_error(regularizer.gradient(w), numeric)})


def check_model(model, x: np.ndarray, y: np.ndarray, eps: float = 1e-6) -> GradCheckResult:
    """Check every parameter gradient of a compiled model on one batch.

    The loss is the one training uses (fused with the output activation when it applies),
    plus regularization; dropout masks are replayed identically for every evaluation.
    A float32 model is checked through a float64 copy with the same weights (float32 round-off
    alone would swamp the differences); the model itself is left untouched.
    """
    from tinynn import training
    from tinynn.batches import prepare_data

    if model.dtype != np.float64 or any(p.dtype != np.float64 for p, _ in model.parameters()):
        model = _float64_copy(model)
    state = model.require_compiled()
    data = prepare_data(model, x, y)
    x, y = data.inputs(slice(None)), data.y[0] if data.single_output else data.y
    states = [layer.rng.bit_generator.state for layer in model.layers]

    def rewind() -> None:
        for layer, rng_state in zip(model.layers, states, strict=True):
            layer.rng.bit_generator.state = rng_state

    def loss() -> float:
        rewind()
        return training.forward_loss(model, state, x, y)[0]

    rewind()
    training.compute_gradients(model, state, x, y)
    pairs = {
        f"{layer.name}/{key}": (layer.params[key], layer.grads[key].copy())
        for layer in model.layers
        if layer.trainable
        for key in layer.params
    }
    result = GradCheckResult()
    for name, (param, analytic) in pairs.items():
        result.errors[name] = relative_error(analytic, numerical_gradient(loss, param, eps))
    return result


def _float64_copy(model):
    """The same model in float64: rebuilt from its config, weights copied, compiled alike."""
    from tinynn.models import MODELS

    config = model.get_config()
    config["dtype"] = "float64"
    for spec in config.get("layers", []):
        spec["config"]["dtype"] = "float64"
    copy = MODELS.lookup(type(model).__name__).from_config(config)
    copy.require_built()
    copy.set_weights([w.astype(np.float64) for w in model.get_weights()])
    for original, layer in zip(model.layers, copy.layers, strict=True):
        layer.trainable = original.trainable
        layer.rng.bit_generator.state = original.rng.bit_generator.state
    arguments = model.require_compiled().compile_arguments()
    copy.compile(**{**arguments, "metrics": None, "distribution": None})  # a local check
    return copy
