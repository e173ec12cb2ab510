"""BatchNormalization and LayerNormalization: y = γ ⊙ (x − μ)/√(σ² + ε) + β.

Both reshape x to a matrix (M, D) whose D columns own one γ and one β each, and call the shared
kernels in ``numpy_ops/normalization.py``; they differ in where μ and σ² come from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn import initializers, regularizers
from tinynn.kernels.numpy_ops import normalize as numpy_norm
from tinynn.layers.layer import Layer, Shape, product


class _Normalization(Layer):
    """γ and β (both optional), their regularizers, and the shared backward pass."""

    def __init__(
        self,
        epsilon: float,
        center: bool,
        scale: bool,
        beta_initializer: Any,
        gamma_initializer: Any,
        beta_regularizer: Any,
        gamma_regularizer: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        epsilon = float(epsilon)
        if not epsilon > 0.0:
            raise ValueError(f"epsilon must be positive, got {epsilon}")
        self.epsilon = epsilon
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.regularizers = {
            "gamma": regularizers.get(gamma_regularizer) if self.scale else None,
            "beta": regularizers.get(beta_regularizer) if self.center else None,
        }
        self._xhat: np.ndarray | None = None
        self._x_fixed: np.ndarray | None = None
        self._inv_std: np.ndarray | None = None
        self._stats_axis: int | None = None

    def _add_affine_weights(self, shape: Shape) -> None:
        if self.scale:
            self.add_weight("gamma", shape, self.gamma_initializer)
        if self.center:
            self.add_weight("beta", shape, self.beta_initializer)

    def _normalize(self, x2d: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
        """y (M, D) from x (M, D) and statistics that broadcast against it; caches x̂."""
        gamma, beta = self.params.get("gamma"), self.params.get("beta")
        if gamma is not None:
            gamma = gamma.reshape(-1)
        if beta is not None:
            beta = beta.reshape(-1)
        self._xhat = self._buffer("xhat", x2d.shape)
        y = self._buffer("y", x2d.shape)
        kernel = self.ops.normalize_forward
        self._inv_std = kernel(x2d, mean, var, gamma, beta, self.epsilon, self._xhat, y)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """dL/dy -> dL/dx; fills grads["gamma"] and grads["beta"] (see normalize_backward)."""
        if self._xhat is None and self._stats_axis is None and self._x_fixed is not None:
            mean = self.state["moving_mean"]  # inference: x̂ was not needed until now
            self._xhat = (self._x_fixed - mean) * self._inv_std
        if self._xhat is None:
            raise RuntimeError(f"{self.name}.backward called before forward")
        grad = np.asarray(grad_output, dtype=self.dtype).reshape(self._xhat.shape)
        gamma = self.params.get("gamma")
        grad_gamma, grad_beta = self._param_grad("gamma"), self._param_grad("beta")
        grad_x = self._buffer("grad_x", self._xhat.shape) if self.compute_input_grad else None
        kernel = self.ops.normalize_backward
        kernel(
            self._xhat,
            self._inv_std,
            gamma.reshape(-1) if gamma is not None else None,
            grad,
            self._stats_axis,
            grad_gamma.reshape(-1) if grad_gamma is not None else None,
            grad_beta.reshape(-1) if grad_beta is not None else None,
            grad_x,
        )
        for key, regularizer in self.regularizers.items():
            if regularizer is not None and self.trainable:
                self.grads[key] += regularizer.gradient(self.params[key])
        return None if grad_x is None else grad_x.reshape(len(grad_output), *self.input_shape)

    def regularization_loss(self) -> float:
        return sum(reg(self.params[key]) for key, reg in self.regularizers.items() if reg)

    def flops(self) -> int:
        """About 4 per value: subtract μ, multiply by 1/σ, scale and shift."""
        return 4 * product(self.input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.regularizers["beta"]),
            "gamma_regularizer": regularizers.serialize(self.regularizers["gamma"]),
        }


class BatchNormalization(_Normalization):
    """Normalize each channel (the last axis) over the batch, then scale and shift.

    Shapes: x (batch, …, C), e.g. NHWC images or Dense outputs (batch, C); γ, β (C,).

    Training (``training=True``): μ and σ² are the mean and the *biased* variance of each
    channel over the batch and every spatial position (M = batch·H·W values), and

        moving_mean ← momentum · moving_mean + (1 − momentum) · μ
        moving_var  ← momentum · moving_var  + (1 − momentum) · σ²

    Inference (``training=False``, so in ``evaluate`` and ``predict``): the moving averages are
    used instead, so a sample's output does not depend on its batch. A frozen layer
    (``trainable=False``) always runs this way and leaves its statistics alone, as in Keras:
    fine-tuning a pretrained body then keeps the statistics it was trained with.

    These are Keras's semantics. PyTorch's ``momentum`` is our 1 − momentum, and PyTorch feeds
    the unbiased variance (·M/(M − 1)) into its running average; the outputs are the same.

    The moving averages are not trained, so they are not in ``params``: they live in
    ``self.state`` ({"moving_mean", "moving_variance"}, each (C,)), which saving must store.

    Backward (training): dL/dx = (ĝ − ⟨ĝ⟩ − x̂ ⊙ ⟨ĝ ⊙ x̂⟩)/√(σ² + ε) with ĝ = g ⊙ γ and ⟨·⟩ the
    mean over the M values of a channel, because μ and σ² depend on every x. Backward
    (inference): just ĝ/√(σ² + ε). Caches x̂ and 1/√(σ² + ε).
    """

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            **kwargs,
        )
        momentum = float(momentum)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.axis = int(axis)
        self.momentum = momentum
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.state: dict[str, np.ndarray] = {}

    def build(self, input_shape: Shape) -> None:
        """Create γ, β (C,) and the state moving_mean, moving_variance (C,)."""
        shape = tuple(input_shape)
        if self.axis not in (-1, len(shape)):
            raise ValueError(
                f"{self.name}: BatchNormalization normalizes the last (channel) axis only; "
                f"got axis={self.axis} for samples of shape {shape}; expected -1 or {len(shape)}"
            )
        super().build(shape)
        channels = (shape[-1],)
        self._add_affine_weights(channels)
        self.state = {
            "moving_mean": self.moving_mean_initializer(channels, self.dtype, self.rng),
            "moving_variance": self.moving_variance_initializer(channels, self.dtype, self.rng),
        }

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        x2d = x.reshape(-1, x.shape[-1])
        if training and self.trainable:
            mean, var = numpy_norm.moments(x2d, axis=0)
            self.state["moving_mean"] *= self.momentum
            self.state["moving_mean"] += (1.0 - self.momentum) * mean
            self.state["moving_variance"] *= self.momentum
            self.state["moving_variance"] += (1.0 - self.momentum) * var
            self._stats_axis = 0
        else:
            return self._normalize_fixed(x2d).reshape(x.shape)
        return self._normalize(x2d, mean, var).reshape(x.shape)

    def _normalize_fixed(self, x2d: np.ndarray) -> np.ndarray:
        """Inference: with fixed statistics the layer is the affine map y = x · s + t, with
        s = γ/√(σ² + ε) and t = β − μ·s: two passes over x. x̂, which only the gradient of γ
        needs, is computed in backward if it is asked for."""
        mean, var = self.state["moving_mean"], self.state["moving_variance"]
        gamma, beta = self.params.get("gamma"), self.params.get("beta")
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        scale = inv_std if gamma is None else gamma * inv_std
        shift = -mean * scale if beta is None else beta - mean * scale
        y = np.multiply(x2d, scale, out=self._buffer("y", x2d.shape))
        y += shift
        self._stats_axis, self._inv_std, self._xhat = None, inv_std, None
        self._x_fixed = x2d
        return y

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
        }


class LayerNormalization(_Normalization):
    """Normalize each sample over its trailing ``axis`` (axes), then scale and shift.

    Shapes: x (batch, …); with axis=-1 every vector x[n, …, :] is normalized over its D
    features and γ, β have shape (D,); with axis=(1, 2, 3) on images, each whole sample is
    normalized and γ, β have shape (H, W, C), as in Keras. Only trailing axes are supported.

    μ and σ² (biased) come from the sample itself, so training and inference behave the same
    and there is no state. Backward: dL/dx = (ĝ − ⟨ĝ⟩ − x̂ ⊙ ⟨ĝ ⊙ x̂⟩)/√(σ² + ε) with the mean
    ⟨·⟩ over the normalized features. Caches x̂ and 1/√(σ² + ε).
    """

    def __init__(
        self,
        axis: Any = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            **kwargs,
        )
        axes = [axis] if isinstance(axis, int | np.integer) else list(axis)
        try:
            self.axis = sorted(int(a) for a in axes)
        except (TypeError, ValueError):
            raise ValueError(f"axis must be an int or a list of ints, got {axis!r}") from None
        self._stats_axis = 1

    def _feature_axes(self, input_shape: Shape) -> list[int]:
        """The normalized axes of a sample (0-based, without batch), checked to be trailing."""
        rank = len(input_shape)
        axes = sorted(a - 1 if a > 0 else a + rank for a in self.axis)
        if not axes or axes != list(range(rank - len(axes), rank)) or axes[0] < 0:
            raise ValueError(
                f"{self.name}: LayerNormalization axis must name trailing axes of samples of "
                f"shape {tuple(input_shape)}, such as -1 or {list(range(1, rank + 1))}; "
                f"got {self.axis}"
            )
        return axes

    def build(self, input_shape: Shape) -> None:
        """Create γ and β with the shape of the normalized axes."""
        axes = self._feature_axes(tuple(input_shape))
        super().build(input_shape)
        self._add_affine_weights(tuple(self.input_shape[a] for a in axes))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        features = product(self.input_shape[a] for a in self._feature_axes(self.input_shape))
        x2d = x.reshape(-1, features)
        mean, var = numpy_norm.moments(x2d, axis=1)
        return self._normalize(x2d, mean, var).reshape(x.shape)

    def get_config(self) -> dict[str, Any]:
        axis = self.axis[0] if len(self.axis) == 1 else list(self.axis)
        return {**super().get_config(), "axis": axis}
