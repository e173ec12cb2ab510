"""Loss functions as classes with an explicit forward and backward.

    loss = CategoricalCrossentropy()
    value = loss.forward(y_pred, y_true)    # a float: the mean over the batch
    grad = loss.backward()                  # dL/dy_pred, the shape of y_pred

Shapes: y_pred (batch, ...) and y_true of the same shape, except the sparse cross-entropy, whose
y_true is integer labels (batch,). Reductions follow Keras: the mean over every element for the
regression losses and binary cross-entropy, the mean over samples of the per-sample sum for the
categorical ones. ``loss(y_true, y_pred)`` also works, in Keras's argument order.

**Fused softmax + cross-entropy.** With ``from_logits=True`` the cross-entropies take the
layer's pre-activation z and compute log-softmax as z − logsumexp(z). The gradient collapses to
dL/dz = (softmax(z) − y) / N: the 1/p of the log and the softmax Jacobian p(δ − p) cancel. A
model whose last layer ends in softmax (or sigmoid) and whose loss is the matching
cross-entropy uses this path automatically; see ``fused_activation`` and ``with_logits``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.kernels import numpy_ops
from tinynn.workspace import borrow

#: Probabilities are clipped to [EPSILON, 1 − EPSILON] before a log, as Keras does.
EPSILON = 1e-7


class Loss:
    """Base class. ``forward`` caches what ``backward`` needs."""

    name = "loss"
    #: The output activation this loss can absorb into a stable from-logits path.
    fused_activation: str | None = None

    def __init__(self) -> None:
        self._grad: np.ndarray | None = None
        #: As on layers: None allocates a fresh gradient per forward; a model sets a dict so
        #: the fused kernels write into one reused buffer.
        self.workspace: dict[str, np.ndarray] | None = None
        #: The kernel backend for the fused from-logits paths; a model gives it its own.
        self.ops = numpy_ops

    def _gradient_buffer(self, y_pred: np.ndarray) -> np.ndarray:
        """Where a fused kernel writes dL/dy_pred: new, or reused from the workspace."""
        return borrow(self.workspace, "grad", y_pred.shape, y_pred.dtype)

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """dL/dy_pred for the last forward, shaped like y_pred."""
        if self._grad is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._grad

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """Keras's argument order: loss(y_true, y_pred)."""
        return self.forward(y_pred, y_true)

    def with_logits(self) -> Loss:
        """The same loss taking the pre-activation of ``fused_activation``."""
        raise ValueError(f"{type(self).__name__} has no from-logits form")

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)


def _as_float_array(y_pred: np.ndarray) -> np.ndarray:
    """y_pred as a floating array (lists and integer arrays become float64)."""
    y_pred = np.asarray(y_pred)
    return y_pred if y_pred.dtype.kind == "f" else y_pred.astype(np.float64)


def _check_same_shape(y_pred: np.ndarray, y_true: np.ndarray) -> None:
    if y_pred.shape != y_true.shape:
        raise ValueError(
            f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
            "expected the same shape (use sparse_categorical_crossentropy for integer labels)"
        )


class MeanSquaredError(Loss):
    """L = mean((p − y)²); dL/dp = 2 (p − y) / size."""

    name = "mean_squared_error"

    def forward(self, y_pred, y_true):
        y_pred = _as_float_array(y_pred)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        _check_same_shape(y_pred, y_true)
        diff = y_pred - y_true
        self._grad = diff * (2.0 / diff.size)
        return float(np.mean(diff * diff))


class MeanAbsoluteError(Loss):
    """L = mean(|p − y|); dL/dp = sign(p − y) / size (0 where p = y)."""

    name = "mean_absolute_error"

    def forward(self, y_pred, y_true):
        y_pred = _as_float_array(y_pred)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        _check_same_shape(y_pred, y_true)
        diff = y_pred - y_true
        self._grad = np.sign(diff) / diff.size
        return float(np.mean(np.abs(diff)))


class BinaryCrossentropy(Loss):
    """L = −mean(y log p + (1 − y) log(1 − p)), for y in [0, 1].

    From probabilities, p is clipped to [ε, 1 − ε] and dL/dp = ((1 − y)/(1 − p) − y/p) / size,
    zero where the clip is active. With ``from_logits=True``, dL/dz = (sigmoid(z) − y) / size.
    """

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def __init__(self, from_logits: bool = False) -> None:
        super().__init__()
        self.from_logits = bool(from_logits)

    def forward(self, y_pred, y_true):
        y_pred = _as_float_array(y_pred)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
            y_true = y_true.reshape(y_pred.shape)
        _check_same_shape(y_pred, y_true)
        if self.from_logits:
            self._grad = self._gradient_buffer(y_pred)
            return self.ops.sigmoid_cross_entropy(y_pred, y_true, self._grad)
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        inside = (y_pred > EPSILON) & (y_pred < 1.0 - EPSILON)
        self._grad = ((1.0 - y_true) / (1.0 - p) - y_true / p) * inside / p.size
        return float(-np.mean(y_true * np.log(p) + (1.0 - y_true) * np.log1p(-p)))

    def with_logits(self) -> Loss:
        return BinaryCrossentropy(from_logits=True)

    def get_config(self):
        return {"from_logits": self.from_logits}


class CategoricalCrossentropy(Loss):
    """L = −(1/N) Σ_n Σ_k y_nk log p_nk, for one-hot (or soft) targets y of shape (N, K).

    From probabilities, p is clipped to [ε, 1 − ε] and dL/dp = −y / (N p) (not renormalised:
    pass a softmax output). With ``from_logits=True``, dL/dz = (softmax(z) − y) / N.
    """

    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def __init__(self, from_logits: bool = False) -> None:
        super().__init__()
        self.from_logits = bool(from_logits)

    def forward(self, y_pred, y_true):
        y_pred = _as_float_array(y_pred)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        _check_same_shape(y_pred, y_true)
        n = y_pred.shape[0]
        if self.from_logits:
            self._grad = self._gradient_buffer(y_pred)
            return self.ops.softmax_cross_entropy(y_pred, y_true, self._grad)
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        inside = (y_pred > EPSILON) & (y_pred < 1.0 - EPSILON)
        self._grad = -y_true / p * inside / n
        return float(-np.sum(y_true * np.log(p)) / n)

    def with_logits(self) -> Loss:
        return CategoricalCrossentropy(from_logits=True)

    def get_config(self):
        return {"from_logits": self.from_logits}


def check_labels(labels: np.ndarray, num_classes: int, check_range: bool = True) -> np.ndarray:
    """Integer class labels (N,) in [0, num_classes), or ValueError naming the bad one.

    ``check_range=False`` leaves the range to a caller whose kernel checks it anyway."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"sparse labels must have shape (batch,) or (batch, 1), got {labels.shape}; "
            "for one-hot targets use categorical_crossentropy"
        )
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind != "f" or not np.all(labels == np.floor(labels)):
            raise ValueError(f"sparse labels must be whole numbers, got dtype {labels.dtype}")
        labels = labels.astype(np.int64)
    if check_range and labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise _out_of_range(labels, num_classes)
    return labels


def _out_of_range(labels: np.ndarray, num_classes: int) -> ValueError:
    bad = labels[(labels < 0) | (labels >= num_classes)][0]
    return ValueError(f"label {bad} is out of range; expected labels in [0, {num_classes - 1}]")


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer labels y (N,): L = −(1/N) Σ_n log p_{n, y_n}.

    From probabilities, dL/dp is −1 / (N p) at each row's label and 0 elsewhere. With
    ``from_logits=True``, dL/dz = (softmax(z) − onehot(y)) / N.
    """

    name = "sparse_categorical_crossentropy"
    fused_activation = "softmax"

    def __init__(self, from_logits: bool = False) -> None:
        super().__init__()
        self.from_logits = bool(from_logits)

    def forward(self, y_pred, y_true):
        y_pred = _as_float_array(y_pred)
        if y_pred.ndim != 2:
            raise ValueError(f"y_pred must have shape (batch, classes), got {y_pred.shape}")
        # The fused kernels check the labels' range themselves (an IndexError); the compiled
        # one does it as it reads each label, which spares a training step two reductions.
        labels = check_labels(y_true, y_pred.shape[1], check_range=not self.from_logits)
        n = y_pred.shape[0]
        if labels.shape[0] != n:
            raise ValueError(f"got {labels.shape[0]} labels for {n} predictions; expected {n}")
        if self.from_logits:
            self._grad = self._gradient_buffer(y_pred)
            try:
                return self.ops.sparse_softmax_cross_entropy(y_pred, labels, self._grad)
            except IndexError:
                if labels.size and (labels.min() < 0 or labels.max() >= y_pred.shape[1]):
                    raise _out_of_range(labels, y_pred.shape[1]) from None
                raise  # some other indexing error: keep its own message and traceback
        rows = np.arange(n)
        picked = y_pred[rows, labels]
        p = np.clip(picked, EPSILON, 1.0 - EPSILON)
        inside = (picked > EPSILON) & (picked < 1.0 - EPSILON)
        self._grad = np.zeros_like(y_pred)
        self._grad[rows, labels] = np.where(inside, -1.0 / (n * p), 0.0)
        return float(-np.sum(np.log(p)) / n)

    def with_logits(self) -> Loss:
        return SparseCategoricalCrossentropy(from_logits=True)

    def get_config(self):
        return {"from_logits": self.from_logits}


def fuse_output_activation(loss: Loss, last_layer: Any) -> tuple[Loss, str | None]:
    """The loss training should minimise, and the output activation folded into it (or None).

    When the last layer ends in the activation a cross-entropy can absorb (softmax for the
    categorical ones, sigmoid for the binary one) and the loss expects probabilities, training
    stops the layer at its logits (``forward_logits``) and uses the loss's from-logits twin:
    the same value, computed stably, with gradient (p − y) / N.
    """
    activation = getattr(getattr(last_layer, "activation", None), "kernel_name", None)
    if (
        not getattr(loss, "from_logits", True)
        and loss.fused_activation is not None
        and activation == loss.fused_activation
        and hasattr(last_layer, "forward_logits")
    ):
        return loss.with_logits(), activation
    return loss, None


LOSSES: dict[str, type[Loss]] = {
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def serialize(loss: Loss) -> dict[str, Any]:
    if LOSSES.get(loss.name) is not type(loss):
        raise ValueError(f"Custom loss {type(loss).__name__} cannot be saved")
    return {"class_name": loss.name, "config": loss.get_config()}


def get(identifier: str | dict | Loss) -> Loss:
    """A loss from a name ("mse", "categorical_crossentropy", …), a dict, or an instance."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        cls = _lookup(identifier.get("class_name"))
        return cls.from_config(dict(identifier.get("config", {})))
    return _lookup(identifier)()


def _lookup(name: object) -> type[Loss]:
    key = name.lower() if isinstance(name, str) else name
    if key not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}; expected one of {sorted(LOSSES)}")
    return LOSSES[key]
