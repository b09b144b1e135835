"""Draw figures to deterministic SVG (same bytes on every build) and shade periods.

Examples
--------
>>> svg = render_svg(lambda ax: ax.plot([2010, 2011], [1, 2]))
>>> svg == render_svg(lambda ax: ax.plot([2010, 2011], [1, 2]))
True
>>> svg[:5]
b'<?xml'
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["RC", "render_svg", "shade_periods"]

RC = {
    "svg.hashsalt": "sfpc-eval-report",
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": ["DejaVu Sans", "sans-serif"],
    "axes.spines.top": False,
    "axes.spines.right": False,
}
"""Matplotlib settings for report figures: fixed hash salt (stable ids), text kept as text,
no mathtext (a ``$`` in an LA name is printed, not typeset)."""


def render_svg(draw: Callable[[Axes], object], *, size: tuple[float, float] = (7.0, 3.6)) -> bytes:
    """Call ``draw(ax)`` on a fresh figure and return the SVG bytes (no date in the metadata).

    The figure is not registered with pyplot, so nothing leaks between calls.
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with mpl.rc_context(RC):
        fig = Figure(figsize=size)
        FigureCanvasSVG(fig)
        ax = fig.subplots()
        draw(ax)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def shade_periods(
    ax: Axes, periods: Sequence[tuple[float, float, str]], *, span: tuple[float, float]
) -> list[str]:
    """Shade the periods that overlap ``span`` (the time axis); return the labels shaded.

    Periods wholly outside the axis are not drawn (the caller says so in the caption).
    """
    shown = []
    colours = ("#bdbdbd", "#9e9ac8", "#fdae6b", "#a1d99b")
    for i, (low, high, label) in enumerate(periods):
        if high < span[0] or low > span[1]:
            continue
        ax.axvspan(low, high, color=colours[i % len(colours)], alpha=0.45, label=label, lw=0)
        shown.append(label)
    return shown
