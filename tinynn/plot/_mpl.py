"""Lazy access to matplotlib, shared by the plotting modules."""

from __future__ import annotations

from typing import Any

INSTALL_HINT = 'pip install "tinynn[plot]"'


def pyplot() -> Any:
    """matplotlib.pyplot, or an ImportError that names the extra to install."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            f"tinynn.plot needs matplotlib, which is not installed; install it with {INSTALL_HINT}"
        ) from error
    return plt


def figure_and_ax(ax: Any, figsize: tuple[float, float] | None) -> tuple[Any, Any]:
    """The figure of a given ax, or a new pyplot figure with one ax."""
    if ax is not None:
        return ax.figure, ax
    fig, ax = pyplot().subplots(figsize=figsize)
    return fig, ax
