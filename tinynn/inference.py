"""The fast inference path behind ``model.predict`` for stacks of Dense layers.

``DenseStack.from_model(model)`` describes, once, the network a compiled model's Dense layers
form: where each W and b sits in the model's flat parameter buffer (``parameter_buffer``), the
activation codes and their alphas. ``forward(x)`` hands that to the backend's
``dense_stack_forward`` in one call (one compiled function with the Numba backend), skipping
each layer's input checks and caches. Training updates the same buffer, so the plan never goes
stale. Dropout layers are skipped: they are the identity at inference. Any other layer makes
the model ineligible, and ``predict`` uses the layers' own forward methods instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinynn.kernels.numpy_ops.network import STACK_ACTIVATIONS, StackLayer, stack_layers
from tinynn.layers import Dense, Dropout
from tinynn.workspace import borrow


def _offset(view: np.ndarray, base: np.ndarray) -> int:
    """Element offset of ``view`` inside the 1-D array ``base``."""
    start = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return start // base.itemsize


@dataclass
class DenseStack:
    flat_params: np.ndarray
    layout: np.ndarray
    alphas: np.ndarray
    layers: tuple[StackLayer, ...]  # views into flat_params, sliced once
    scratch_per_row: int
    ops: Any
    workspace: dict[str, np.ndarray]

    @classmethod
    def from_model(cls, model: Any) -> DenseStack | None:
        """The plan for a compiled ``model``, or None if it holds anything but Dense layers
        with built-in activations and Dropout, or its parameters are not packed."""
        dense = [layer for layer in model.layers if not isinstance(layer, Dropout)]
        if model._flat_parameters is None or not dense:
            return None
        if not all(type(layer) is Dense and layer.activation.kernel_name for layer in dense):
            return None
        flat = model._flat_parameters[0]
        rows = []
        for layer in dense:
            W = layer.params["W"]
            if not np.shares_memory(W, flat):
                return None
            bias = _offset(layer.params["b"], flat) if layer.use_bias else -1
            code = STACK_ACTIVATIONS.index(layer.activation.kernel_name)
            rows.append((_offset(W, flat), bias, W.shape[0], W.shape[1], code))
        layout = np.array(rows, dtype=np.int64)
        alphas = np.array([layer.activation.alpha for layer in dense], dtype=model.dtype)
        return cls(
            flat_params=flat,
            layout=layout,
            alphas=alphas,
            layers=stack_layers(flat, layout, alphas),
            scratch_per_row=sum(layer.units for layer in dense),
            ops=model._ops,
            workspace={},
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Network output for x (batch, n_in), in a reused buffer: copy it to keep it."""
        size = len(x) * self.scratch_per_row
        scratch = borrow(self.workspace, "scratch", (size,), self.flat_params.dtype)
        return self.ops.dense_stack_forward(
            x, self.flat_params, self.layout, self.alphas, scratch, self.layers
        )
