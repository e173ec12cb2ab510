"""The text table printed by ``model.summary()``: layers, then the training memory (the
``tinynn summary`` command prints it for a saved model)."""

from __future__ import annotations

from typing import Any

from tinynn.profiling.memory import training_memory


def _shape_text(shape: tuple[int, ...] | None) -> str:
    return "(None, " + ", ".join(str(d) for d in shape) + ")" if shape else "?"


def format_summary(model: Any) -> str:
    """Layers with their output shapes, parameter counts and forward FLOPs per sample, then
    the memory training uses, as allocated now (``tinynn.profiling.training_memory``).

    FLOPs count a multiply-add as two operations, as most papers do. The optimizer state, the
    activations and the workspace appear with the first training step; ``tinynn.profile``
    reports them for a step of any batch size.
    """
    header = ("Layer (type)", "Output Shape", "Param #", "FLOPs/sample")
    rows = [
        (
            f"{layer.name} ({type(layer).__name__})",
            _shape_text(layer.output_shape),
            f"{layer.count_params():,}",
            f"{layer.flops():,}",
        )
        for layer in model.layers
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) + 2 for i in range(4)]
    rule = "─" * sum(widths)

    def line(cells: tuple[str, ...]) -> str:
        return "".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    total_params = model.count_params()
    trainable = sum(param.size for param, _ in model.parameters())
    total_flops = sum(layer.flops() for layer in model.layers)
    param_bytes = sum(param.nbytes for layer in model.layers for param in layer.params.values())
    parts = [
        f'Model: "{model.name}"',
        rule,
        line(header),
        rule.replace("─", "═"),
        *(line(row) for row in rows),
        rule,
        f"Total params: {total_params:,} ({param_bytes / 1024:.2f} KB, {model.dtype.name})",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total_params - trainable:,}",
        f"Forward FLOPs per sample: {total_flops:,}",
        rule,
        "Training memory, as allocated now (the optimizer state, activations and workspace",
        "appear with the first training step; tinynn.profile measures a step's):",
        training_memory(model).format(),
    ]
    return "\n".join(parts)
