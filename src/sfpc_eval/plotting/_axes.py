"""Shared pieces of the figures: a new Axes when none is given, the ending of over-time plots."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["finish_over_time", "new_axes"]


def new_axes(ax: Axes | None) -> Axes:
    """Return ``ax``, or the Axes of a new 6 x 3.5 inch figure."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=(6, 3.5))
    return new


def finish_over_time(ax: Axes, result, ylabel: str | None = None) -> Axes:
    """Mark ``result.start``, label the axes from the result's columns, add legend and grid."""
    ax.axvline(result.start, color="black", linestyle=":", linewidth=1)
    ax.set_xlabel(result.time)
    ax.set_ylabel(result.outcome if ylabel is None else ylabel)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax
