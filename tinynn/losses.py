"""Loss functions: each class holds its maths in an explicit forward and backward.

    loss = CategoricalCrossentropy()
    value = loss.forward(y_pred, y_true)    # a float: the mean over the batch
    grad = loss.backward()                  # dL/dy_pred, the shape of y_pred

Shapes: y_pred (batch, ...) and y_true of the same shape, except the sparse cross-entropy, whose
y_true is integer labels (batch,). Reductions follow Keras: the mean over every element for the
regression losses and binary cross-entropy, the mean over samples of the per-sample sum for the
categorical ones. ``loss(y_true, y_pred)`` also works, in Keras's argument order.

**Fused softmax + cross-entropy.** With ``from_logits=True`` the cross-entropies take the
layer's pre-activation z and compute log-softmax as (z − m) − log Σ e^(z − m), m = max z, so no
exponent is positive and no probability is rounded to 0 before its log. The gradient collapses
to dL/dz = (softmax(z) − y) / N: the 1/p of the log and the softmax Jacobian p(δ − p) cancel. A
model whose last layer ends in softmax (or sigmoid) and whose loss is the matching
cross-entropy uses this path automatically; see ``fuse_output_activation``.

The forward methods here are the reference. A model compiled with the Numba backend gives the
loss that backend as ``ops``, and the from-logits paths then run its fused twins (one pass per
row), which the tests hold to these lines.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynn.activations import Sigmoid, is_builtin
from tinynn.kernels import numpy_ops
from tinynn.registry import Registry
from tinynn.workspace import borrow

#: Probabilities are clipped to [EPSILON, 1 − EPSILON] before a log, as Keras does.
EPSILON = 1e-7


class Loss:
    """Base class. ``forward`` computes the loss and keeps dL/dy_pred for ``backward``."""

    name = "loss"
    #: The output activation this loss can absorb into a stable from-logits path.
    fused_activation: str | None = None

    def __init__(self) -> None:
        self._grad: np.ndarray | None = None
        #: None allocates a fresh gradient per forward; the training loop lends a dict so
        #: that the from-logits paths write into one reused buffer.
        self.workspace: dict[str, np.ndarray] | None = None
        #: The kernel backend: NumPy runs the lines below, a compiled one its fused twins.
        self.ops = numpy_ops

    def _gradient_buffer(self, y_pred: np.ndarray) -> np.ndarray:
        return borrow(self.workspace, "grad", y_pred.shape, y_pred.dtype)

    def forward(
        self, y_pred: np.ndarray, y_true: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        """The loss, a float: the mean over the batch of each sample's loss, each multiplied
        by its ``sample_weight`` when one is given (Keras's "sum over batch size")."""
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

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _as_float_array(y_pred: Any) -> np.ndarray:
    """y_pred as a floating array (lists and integer arrays become float64)."""
    y_pred = np.asarray(y_pred)
    return y_pred if y_pred.dtype.kind == "f" else y_pred.astype(np.float64)


def _weights(sample_weight: Any, y_pred: np.ndarray) -> Any:
    """Sample weights (batch,) shaped to broadcast over y_pred's rows, or 1.0 for none."""
    if sample_weight is None:
        return 1.0
    w = np.asarray(sample_weight, dtype=y_pred.dtype)
    if w.shape != y_pred.shape[:1]:
        raise ValueError(
            f"sample_weight has shape {w.shape}; expected one weight per sample, "
            f"({y_pred.shape[0]},)"
        )
    return w.reshape((-1,) + (1,) * (y_pred.ndim - 1))


def _targets_like(y_true: Any, y_pred: np.ndarray) -> np.ndarray:
    y_true = np.asarray(y_true, dtype=y_pred.dtype)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
            "expected the same shape (use sparse_categorical_crossentropy for integer labels)"
        )
    return y_true


class MeanSquaredError(Loss):
    """L = mean((p − y)²);  dL/dp = 2 (p − y) / size."""

    name = "mean_squared_error"

    def forward(self, y_pred, y_true, sample_weight=None):
        y_pred = _as_float_array(y_pred)
        diff = y_pred - _targets_like(y_true, y_pred)
        w = _weights(sample_weight, y_pred)
        self._grad = diff * (2.0 / diff.size) * w
        return float(np.mean(diff * diff * w))


class MeanAbsoluteError(Loss):
    """L = mean(|p − y|);  dL/dp = sign(p − y) / size (0 where p = y)."""

    name = "mean_absolute_error"

    def forward(self, y_pred, y_true, sample_weight=None):
        y_pred = _as_float_array(y_pred)
        diff = y_pred - _targets_like(y_true, y_pred)
        w = _weights(sample_weight, y_pred)
        self._grad = np.sign(diff) / diff.size * w
        return float(np.mean(np.abs(diff) * w))


class BinaryCrossentropy(Loss):
    """L = −mean(y log p + (1 − y) log(1 − p)), for y in [0, 1].

    From probabilities, p is clipped to [ε, 1 − ε] and dL/dp = ((1 − y)/(1 − p) − y/p) / size,
    zero where the clip is active. From logits z (p = σ(z)), per element
    −[y log σ(z) + (1 − y) log(1 − σ(z))] = max(z, 0) − z·y + log(1 + e^−|z|), which never
    exponentiates a positive number, and dL/dz = (σ(z) − y) / size.
    """

    name = "binary_crossentropy"
    fused_activation = "sigmoid"

    def __init__(self, from_logits: bool = False) -> None:
        super().__init__()
        self.from_logits = bool(from_logits)

    def forward(self, y_pred, y_true, sample_weight=None):
        y_pred = _as_float_array(y_pred)
        y_true = np.asarray(y_true)
        if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
            y_true = y_true.reshape(y_pred.shape)
        y = _targets_like(y_true, y_pred)
        w = _weights(sample_weight, y_pred)
        if self.from_logits:
            z, self._grad = y_pred, self._gradient_buffer(y_pred)
            if sample_weight is None and self.ops.fuses(self):
                return self.ops.sigmoid_cross_entropy(z, y, self._grad)
            per_element = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
            Sigmoid().forward(z, out=self._grad)  # σ(z)
            self._grad -= y
            self._grad *= w / z.size  # (σ(z) − y) / size, per sample weighted
            return float(np.sum(per_element * w) / z.size)
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        inside = (y_pred > EPSILON) & (y_pred < 1.0 - EPSILON)
        self._grad = ((1.0 - y) / (1.0 - p) - y / p) * inside / p.size * w
        return float(-np.mean((y * np.log(p) + (1.0 - y) * np.log1p(-p)) * w))

    def with_logits(self) -> Loss:
        return BinaryCrossentropy(from_logits=True)

    def get_config(self):
        return {"from_logits": self.from_logits}


def _log_softmax_parts(z: np.ndarray, probs_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Write softmax(z) into probs_out; return (z − m, log Σ e^(z − m)), m = the row maximum.

    log softmax(z) = (z − m) − log Σ e^(z − m). Subtracting m first means a logit of 1e4 never
    meets another 1e4 in a float32 subtraction that cancels, and no exponent is positive.
    """
    shifted = z - z.max(axis=-1, keepdims=True)
    np.exp(shifted, out=probs_out)
    row_sum = probs_out.sum(axis=-1, keepdims=True)
    probs_out /= row_sum
    return shifted, np.log(row_sum)


class CategoricalCrossentropy(Loss):
    """L = −(1/N) Σ_n Σ_k y_nk log p_nk, for one-hot (or soft) targets y of shape (N, K).

    From probabilities, p is clipped to [ε, 1 − ε] and dL/dp = −y / (N p) (not renormalised:
    pass a softmax output). From logits z (p = softmax(z)), with s_n = Σ_k y_nk (1 for one-hot
    rows): L = (1/N) Σ_n [s_n log Σ e^(z − m) − Σ_k y_nk (z_nk − m)] and
    dL/dz = (s_n p_n − y_n) / N, the familiar (p − y) / N.
    """

    name = "categorical_crossentropy"
    fused_activation = "softmax"

    def __init__(self, from_logits: bool = False) -> None:
        super().__init__()
        self.from_logits = bool(from_logits)

    def forward(self, y_pred, y_true, sample_weight=None):
        y_pred = _as_float_array(y_pred)
        y = _targets_like(y_true, y_pred)
        n = y_pred.shape[0]
        w = _weights(sample_weight, y_pred)
        if self.from_logits:
            z, self._grad = y_pred, self._gradient_buffer(y_pred)
            if sample_weight is None and self.ops.fuses(self):
                return self.ops.softmax_cross_entropy(z, y, self._grad)
            shifted, log_sum = _log_softmax_parts(z, self._grad)  # grad holds p for now
            mass = y.sum(axis=-1, keepdims=True)
            loss = np.sum((mass * log_sum - np.sum(y * shifted, axis=-1, keepdims=True)) * w)
            self._grad *= mass
            self._grad -= y
            self._grad *= w / n  # (s p − y) / N, per sample weighted
            return float(loss / n)
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        inside = (y_pred > EPSILON) & (y_pred < 1.0 - EPSILON)
        self._grad = -y / p * inside / n * w
        return float(-np.sum(y * np.log(p) * w) / n)

    def with_logits(self) -> Loss:
        return CategoricalCrossentropy(from_logits=True)

    def get_config(self):
        return {"from_logits": self.from_logits}


def check_labels(labels: Any, num_classes: int, check_range: bool = True) -> np.ndarray:
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

    From probabilities, dL/dp is −1 / (N p) at each row's label and 0 elsewhere. From logits,
    L = (1/N) Σ_n [log Σ e^(z_n − m) − (z_{n, y_n} − m)] and dL/dz = (p − onehot(y)) / N.
    """

    name = "sparse_categorical_crossentropy"
    fused_activation = "softmax"

    def __init__(self, from_logits: bool = False) -> None:
        super().__init__()
        self.from_logits = bool(from_logits)

    def forward(self, y_pred, y_true, sample_weight=None):
        y_pred = _as_float_array(y_pred)
        if y_pred.ndim != 2:
            raise ValueError(f"y_pred must have shape (batch, classes), got {y_pred.shape}")
        n, classes = y_pred.shape
        w = _weights(sample_weight, y_pred)
        # The compiled twin checks the labels' range as it reads each one (an IndexError),
        # which spares a training step two reductions.
        fused = self.from_logits and sample_weight is None and self.ops.fuses(self)
        labels = check_labels(y_true, classes, check_range=not fused)
        if labels.shape[0] != n:
            raise ValueError(f"got {labels.shape[0]} labels for {n} predictions; expected {n}")
        rows = np.arange(n)
        if self.from_logits:
            z, self._grad = y_pred, self._gradient_buffer(y_pred)
            if fused:
                try:
                    return self.ops.sparse_softmax_cross_entropy(z, labels, self._grad)
                except IndexError:
                    if labels.size and (labels.min() < 0 or labels.max() >= classes):
                        raise _out_of_range(labels, classes) from None
                    raise  # some other indexing error: keep its own message and traceback
            shifted, log_sum = _log_softmax_parts(z, self._grad)  # grad holds p for now
            per_sample = log_sum[:, 0] - shifted[rows, labels]
            self._grad[rows, labels] -= 1
            if sample_weight is None:
                self._grad /= n  # (p − onehot(y)) / N
                return float(per_sample.sum() / n)
            self._grad *= w / n
            return float(np.sum(per_sample * w[:, 0]) / n)
        picked = y_pred[rows, labels]
        p = np.clip(picked, EPSILON, 1.0 - EPSILON)
        inside = (picked > EPSILON) & (picked < 1.0 - EPSILON)
        w = np.ones(n, y_pred.dtype) if sample_weight is None else w[:, 0]
        self._grad = np.zeros_like(y_pred)
        self._grad[rows, labels] = np.where(inside, -w / (n * p), 0.0)
        return float(-np.sum(np.log(p) * w) / n)

    def with_logits(self) -> Loss:
        return SparseCategoricalCrossentropy(from_logits=True)

    def get_config(self):
        return {"from_logits": self.from_logits}


def fuse_output_activation(loss: Loss, last_layer: Any) -> tuple[Loss, str | None]:
    """The loss training should minimise, and the output activation folded into it (or None).

    When the last layer ends in the built-in activation a cross-entropy can absorb (softmax
    for the categorical ones, sigmoid for the binary one) and the loss expects probabilities,
    training stops the layer at its logits (``forward_logits``) and uses the loss's
    from-logits twin: the same value, computed stably, with gradient (p − y) / N.
    """
    activation = getattr(last_layer, "activation", None)
    if (
        activation is not None
        and is_builtin(activation)
        and not getattr(loss, "from_logits", True)
        and loss.fused_activation == activation.name
        and hasattr(last_layer, "forward_logits")
    ):
        return loss.with_logits(), activation.name
    return loss, None


LOSSES = Registry(
    "loss",
    {
        cls.name: cls
        for cls in (
            MeanSquaredError,
            MeanAbsoluteError,
            BinaryCrossentropy,
            CategoricalCrossentropy,
            SparseCategoricalCrossentropy,
        )
    },
    aliases={"mse": "mean_squared_error", "mae": "mean_absolute_error"},
    base=Loss,
)

register = LOSSES.register
serialize = LOSSES.serialize


def get(identifier: Any) -> Loss:
    """A loss from a name ("mse", "categorical_crossentropy", …), a dict, or an instance."""
    return LOSSES.resolve(identifier)
