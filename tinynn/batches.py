"""Training data, checked once and served in batches: ``prepare_data`` and ``Data``.

A model takes one array per input and is scored against one array of targets per output; a
single-input, single-output model takes plain arrays. Several are given as a list in the
model's order, or as a dict keyed by the input (output) layers' names, as in Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from tinynn import losses
from tinynn.validation import check_array, check_finite, check_targets
from tinynn.workspace import borrow


@dataclass
class Data:
    """Checked arrays: ``x`` one per input, ``y`` one per output (all of one length), and
    the per-sample weights (sample_weight × class weight), or None."""

    x: list[np.ndarray]
    y: list[np.ndarray]
    sample_weight: np.ndarray | None
    single_input: bool = True
    single_output: bool = True

    def __len__(self) -> int:
        return len(self.x[0])

    def split(self, at: int) -> tuple[Data, Data]:
        """(the first ``at`` samples, the rest): Keras's validation_split takes the last part."""

        def part(rows: slice) -> Data:
            w = None if self.sample_weight is None else self.sample_weight[rows]
            return Data(
                [a[rows] for a in self.x],
                [a[rows] for a in self.y],
                w,
                self.single_input,
                self.single_output,
            )

        return part(slice(None, at)), part(slice(at, None))

    def inputs(self, rows: Any) -> Any:
        """The model's input for these rows: an array, or a list of arrays."""
        parts = [a[rows] for a in self.x]
        return parts[0] if self.single_input else parts

    def targets(self, order: np.ndarray) -> list[np.ndarray]:
        """Every output's targets in ``order`` (what an epoch's metrics compare against)."""
        return [a[order] for a in self.y]

    def gather(self, ops: ModuleType, buffers: dict[str, np.ndarray], rows: np.ndarray):
        """(x, y, weights) of the batch ``rows``, copied into buffers reused at every step."""
        xs = [_gather(ops, buffers, f"x{i}", a, rows) for i, a in enumerate(self.x)]
        ys = [_gather(ops, buffers, f"y{i}", a, rows) for i, a in enumerate(self.y)]
        w = None if self.sample_weight is None else self.sample_weight[rows]
        return (
            xs[0] if self.single_input else xs,
            ys[0] if self.single_output else ys,
            w,
        )


def _gather(ops: ModuleType, buffers: dict, name: str, source: np.ndarray, rows) -> np.ndarray:
    out = borrow(buffers, name, (len(rows), *source.shape[1:]), source.dtype)
    return ops.gather_rows(source, rows, out)


def prepare_data(
    model: Any, x: Any, y: Any, sample_weight: Any = None, class_weight: Any = None
) -> Data:
    """Check x, y and the weights once (shapes, dtypes, finiteness, label ranges, lengths),
    cast them to the model's dtype, and build the model from x if it has no input shape."""
    state = model.require_compiled()
    xs = _as_list(x, model.input_names, "x")
    if not model.built:
        model.build(check_array(xs[0], "x", model.dtype).shape[1:])
    shapes = model.input_shape if not model.single_input else [model.input_shape]
    names = ["x"] if model.single_input else [f"x[{n!r}]" for n in model.input_names]
    xs = [check_array(a, n, model.dtype, s) for a, n, s in zip(xs, names, shapes, strict=True)]
    n = len(xs[0])
    for name, array in zip(names, xs, strict=True):
        if len(array) != n:
            raise ValueError(f"{name} has {len(array)} samples but x has {n}; expected {n}")
    if not state.bound:
        state.bind(model)
    ys = _as_list(y, model.output_names, "y")
    out_shapes = model.output_shape if not model.single_output else [model.output_shape]
    targets = []
    for output, target, shape in zip(state.outputs, ys, out_shapes, strict=True):
        sparse = output.loss.name == "sparse_categorical_crossentropy"
        target = check_targets(target, n, shape, model.dtype, sparse)
        targets.append(losses.check_labels(target, shape[-1]) if sparse else target)
    weights = _sample_weights(sample_weight, class_weight, targets[0], n, model.dtype)
    return Data(xs, targets, weights, model.single_input, model.single_output)


def _as_list(value: Any, names: list[str], what: str) -> list[Any]:
    """One entry per input (output): a single array, a list in order, or a dict by name."""
    if isinstance(value, dict):
        missing = [name for name in names if name not in value]
        if missing or len(value) != len(names):
            raise ValueError(f"{what} is keyed by {sorted(value)}; the model's names are {names}")
        return [value[name] for name in names]
    if len(names) == 1:
        return [value]
    if not isinstance(value, list | tuple) or len(value) != len(names):
        got = len(value) if isinstance(value, list | tuple) else "one array"
        raise ValueError(f"the model takes {len(names)} arrays as {what} ({names}), got {got}")
    return list(value)


def _sample_weights(sample_weight, class_weight, y, n, dtype) -> np.ndarray | None:
    """sample_weight (n,) times each sample's class weight (from integer labels, one-hot rows
    or a single 0/1 unit), or None when neither is given."""
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=dtype)
        if weights.shape != (n,):
            raise ValueError(f"sample_weight has shape {weights.shape}; expected ({n},)")
        check_finite(weights, "sample_weight")
        if np.any(weights < 0):
            raise ValueError("sample_weight must not be negative")
    if class_weight is not None:
        if not isinstance(class_weight, dict) or not class_weight:
            raise ValueError(f"class_weight must be a dict {{class: weight}}, got {class_weight!r}")
        if y.ndim == 1:
            labels = y.astype(np.int64)
        elif y.shape[-1] == 1:
            labels = (y[:, 0] > 0.5).astype(np.int64)
        else:
            labels = y.argmax(axis=-1)
        unknown = sorted(set(np.unique(labels).tolist()) - set(class_weight))
        if unknown:
            raise ValueError(f"class_weight gives no weight for classes {unknown}")
        table = np.zeros(int(labels.max()) + 1, dtype)
        for label, weight in class_weight.items():
            if 0 <= int(label) < len(table):
                table[int(label)] = weight
        by_class = table[labels]
        weights = by_class if weights is None else weights * by_class
    return weights
