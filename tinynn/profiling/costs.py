"""What one pass of a layer costs: FLOPs and bytes moved, from the layer's shapes.

``layer_cost(layer, batch, "forward" | "backward")`` returns a ``Cost``. The rules, per layer
type, for a batch of B samples and s bytes per value (4 for float32):

**FLOPs.** The forward pass does ``B · layer.flops()`` (what ``model.summary()`` shows: a
multiply-add is two FLOPs, bias and activation one each per output). The backward pass, for
``Dense`` (n_in → n units) and ``Conv2D`` (a Dense on patches of P = kh·kw·C_in values, at
Ho·Wo positions, F filters; Dense is the case Ho·Wo = 1, P = n_in, F = n)::

    dz = g ⊙ f'(z)      B·Ho·Wo·F        (when an activation other than linear was applied)
    dW = colsᵀ dz        2·B·Ho·Wo·P·F    (trainable layers)      db = Σ dz   B·Ho·Wo·F
    dcols = dz Wᵀ        2·B·Ho·Wo·P·F    (when dL/dx is wanted)  col2im     B·Ho·Wo·P

Pooling, normalization, dropout, activations and merges have their counts in their rules
below; reshapes and inputs cost nothing.

**Bytes moved** count every array a pass must read or write once: the weights it reads and
the weight gradients it writes (``weight_bytes``), the activations and gradients it reads
(``read_bytes``) and those it writes (``write_bytes``). In-place element-wise passes over an
array already counted (the activation applied to z, the dropout mask scaled) are not counted
again: an intermediate that small stays in cache. The exception is Conv2D's patch matrix
``cols`` (kh·kw times the input), which the layer materializes: forward writes and then reads
it, and backward reads it (for dW) and writes and reads dL/dcols.

A layer type without a rule (a custom layer, augmentation) gets an estimate: forward as
above with its input, output and weights touched once, backward twice the forward FLOPs
(as for a matrix product) touching the gradient, the input, the weights and their
gradients. Its ``Cost.exact`` is False, and the profile marks it with "~".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PASSES = ("forward", "backward")


@dataclass(frozen=True)
class Cost:
    """FLOPs and bytes of one pass (see the module docstring for what is counted)."""

    flops: int = 0
    weight_bytes: int = 0
    read_bytes: int = 0
    write_bytes: int = 0
    exact: bool = True

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.read_bytes + self.write_bytes

    @property
    def intensity(self) -> float | None:
        """Arithmetic intensity, FLOP per byte (None when no byte moves)."""
        return self.flops / self.bytes if self.bytes else None

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.flops + other.flops,
            self.weight_bytes + other.weight_bytes,
            self.read_bytes + other.read_bytes,
            self.write_bytes + other.write_bytes,
            self.exact and other.exact,
        )


@dataclass(frozen=True)
class PassInfo:
    """How a layer ran, which changes what its passes cost.

    Attributes:
        batch: samples in the batch.
        input_grad: whether backward computed dL/dx (a model skips it below the first
            trainable layer).
        logits: whether the layer stopped before its activation (forward_logits, when the
            loss absorbs the output activation).
    """

    batch: int
    input_grad: bool = True
    logits: bool = False


def layer_cost(layer: Any, batch: int, pass_name: str, input_grad: bool = True, logits=False):
    """The ``Cost`` of ``layer``'s ``pass_name`` ("forward" or "backward") on ``batch``
    samples. ``input_grad`` and ``logits``: see ``PassInfo``."""
    if pass_name not in PASSES:
        raise ValueError(f"pass_name must be one of {PASSES}, got {pass_name!r}")
    if not layer.built:
        raise ValueError(f"layer {layer.name!r} is not built: its shapes are unknown")
    from tinynn.profiling import layer_rules  # the rules call back here for children

    info = PassInfo(int(batch), bool(input_grad), bool(logits))
    rule = layer_rules.rule_for(layer)
    if rule is None:
        return _estimate(layer, info, pass_name)
    forward, backward = rule
    return forward(layer, info) if pass_name == "forward" else backward(layer, info)


def _estimate(layer: Any, info: PassInfo, pass_name: str) -> Cost:
    """A layer without a rule: see the module docstring."""
    from tinynn.profiling.layer_rules import param_values, values_in, values_out

    s = layer.dtype.itemsize
    n_in, n_out = info.batch * values_in(layer), info.batch * values_out(layer)
    weights = param_values(layer)
    forward_flops = info.batch * layer.flops()
    if pass_name == "forward":
        return Cost(forward_flops, weights * s, n_in * s, n_out * s, exact=False)
    grads = weights if layer.trainable else 0
    written = n_in if info.input_grad else 0
    return Cost(2 * forward_flops, (weights + grads) * s, (n_out + n_in) * s, written * s, False)


# -- the rest of a training step: the batch, the loss, the optimizer ------------------------


def gather_cost(arrays: list[Any]) -> Cost:
    """Copying the batch's rows out of the data: each batch array is read and written once."""
    nbytes = sum(array.nbytes for array in arrays)
    return Cost(read_bytes=nbytes, write_bytes=nbytes)


#: FLOPs per output value of a loss's forward and backward together, counted from the
#: formulas in ``tinynn.losses``: cross-entropy from logits (max, subtract, exp, sum, divide,
#: subtract the one-hot), from probabilities (clip, log, sum, gradient), squared and absolute
#: error (difference, square or sign, sum, scale).
LOSS_FLOPS = {
    "sparse_categorical_crossentropy": 6,
    "categorical_crossentropy": 6,
    "binary_crossentropy": 6,
    "mean_squared_error": 4,
    "mean_absolute_error": 4,
}


def loss_cost(loss: Any, predictions: int, itemsize: int, target_bytes: int) -> Cost:
    """A loss's forward and backward on ``predictions`` output values: read them and the
    targets (``target_bytes``), write dL/dy.

    The FLOPs are counted per value (``LOSS_FLOPS``, 5 for a loss not in it) and are
    approximate: ``exact`` is False."""
    flops = LOSS_FLOPS.get(getattr(loss, "name", ""), 5) * predictions
    return Cost(
        flops=flops,
        read_bytes=predictions * itemsize + target_bytes,
        write_bytes=predictions * itemsize,
        exact=False,
    )


def optimizer_flops_per_value(optimizer: Any) -> int | None:
    """FLOPs per parameter value of one update, counted from the update rules in
    ``tinynn.kernels.numpy_ops.update_rules`` (None for an optimizer they do not cover)."""
    name = type(optimizer).__name__
    weight_decay = 2 if getattr(optimizer, "weight_decay", 0) else 0
    if name == "SGD":
        momentum = 3 if optimizer.momentum else 0
        nesterov = 2 if optimizer.momentum and optimizer.nesterov else 0
        return 2 + momentum + nesterov + weight_decay
    if name in ("Adam", "AdamW"):
        return 13 + (1 if optimizer.amsgrad else 0) + weight_decay
    if name == "RMSprop":
        centered = 5 if optimizer.centered else 0
        momentum = 2 if optimizer.momentum else 0
        return 9 + centered + momentum + weight_decay
    return None


def optimizer_cost(optimizer: Any, params: list[Any], state_bytes: int) -> Cost:
    """One optimizer step over ``params`` (the trainable arrays): read every parameter, its
    gradient and its state, write the parameter and the state. ``state_bytes``: the bytes of
    the optimizer's buffers (``MemoryFootprint.optimizer_state``)."""
    param_bytes = sum(param.nbytes for param in params)
    per_value = optimizer_flops_per_value(optimizer)
    values = sum(param.size for param in params)
    return Cost(
        flops=(per_value or 0) * values,
        weight_bytes=3 * param_bytes + 2 * state_bytes,
        exact=per_value is not None,
    )
