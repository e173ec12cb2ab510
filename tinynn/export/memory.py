"""Where each tensor of a model lives in generated code: one arena, planned at export time.

The C header has no malloc: every intermediate tensor gets an offset in one static array, the
arena, whose size is known when the header is written (the RAM a TensorFlow Lite Micro user
calls the tensor arena). The plan walks the layers in order, as TFLite Micro's greedy planner
does:

* Flatten and Reshape give their input's buffer a new shape: no copy, no code.
* An element-wise layer (an Activation, a per-channel scale and shift) whose input nobody
  else reads works in place.
* Every other layer writes a new buffer at the lowest offset that overlaps no buffer still
  to be read; a buffer is free after the last layer that reads it.
* The layer computing the model's output writes straight into the caller's ``y``.

``flash_bytes`` adds up the constant arrays a header declares; ``Plan.arena`` times the
element size is the RAM the activations need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinynn.runtime import ModelSpec

ALIASES = ("Flatten", "Reshape")
ELEMENTWISE = ("Activation", "BatchNormalization", "Normalization", "Rescaling")


@dataclass
class Plan:
    """``where[t]``: ("x", 0), ("y", 0) or ("arena", offset) for every tensor t; ``in_place``
    the layers that overwrite their input; ``arena`` its size in elements."""

    where: dict[int, tuple[str, int]] = field(default_factory=dict)
    in_place: set[int] = field(default_factory=set)
    arena: int = 0


def plan_buffers(spec: ModelSpec, align: int = 16) -> Plan:
    """Buffers for every tensor of ``spec``; offsets are multiples of ``align`` elements."""
    readers = spec.consumers()
    size = {t: int(np.prod(spec.tensor_shape(t))) for t in readers}
    root = {0: 0}  # tensor -> the tensor whose buffer it shares
    plan = Plan()
    for k, layer in enumerate(spec.layers):
        t, source = k + 1, layer.inputs[0]
        if layer.class_name in ALIASES:
            root[t] = root[source]
        elif layer.class_name in ELEMENTWISE and source != 0 and readers[source] == [k]:
            root[t] = root[source]
            plan.in_place.add(k)
        else:
            root[t] = t
    end = len(spec.layers)
    last = {t: -1 for t in readers}  # per root: the last layer reading any tensor sharing it
    for t, who in readers.items():
        used = max((end if r == -1 else r) for r in who) if who else t - 1
        last[root[t]] = max(last[root[t]], used)
    output_root = root[spec.output]
    live: list[tuple[int, int, int]] = []  # (offset, size, last use)
    for t in range(1, end + 1):
        if root[t] != t:
            continue
        if t == output_root:
            plan.where[t] = ("y", 0)
            continue
        live = [region for region in live if region[2] >= t - 1]
        offset = 0
        for start, length, _ in sorted(live):
            if offset + size[t] <= start:
                break
            offset = max(offset, -(-(start + length) // align) * align)
        live.append((offset, size[t], last[t]))
        plan.where[t] = ("arena", offset)
        plan.arena = max(plan.arena, offset + size[t])
    plan.where[0] = ("x", 0)
    for t in readers:
        plan.where[t] = plan.where[root[t]]
    return plan


def buffer(plan: Plan, tensor: int) -> str:
    """The C expression of a tensor's buffer: x, y or arena + offset."""
    kind, offset = plan.where[tensor]
    return kind if kind != "arena" else f"arena + {offset}"


def flash_bytes(arrays: list[np.ndarray]) -> int:
    """Bytes of constant data: the sum of the arrays' sizes."""
    return sum(int(array.nbytes) for array in arrays)
