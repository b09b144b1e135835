"""Draw figures to deterministic SVG (same bytes on every build) and shade periods.

:func:`render_figure` draws a report figure once and keeps, beside the SVG, the data the chart
shows (read back from what was drawn, for download) and its alt text.

Examples
--------
>>> svg = render_svg(lambda ax: ax.plot([2010, 2011], [1, 2]))
>>> svg == render_svg(lambda ax: ax.plot([2010, 2011], [1, 2]))
True
>>> svg[:5]
b'<?xml'
>>> block = render_figure("Rates", lambda ax: ax.plot([2010, 2011], [1, 2], label="Leeds"))
>>> block.data.shape, block.alt
((2, 4), 'Line chart. Series: Leeds. Horizontal axis from 2010 to 2011; vertical axis from 1 to 2.')
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

from sfpc_eval.report.blocks import FigureBlock
from sfpc_eval.report.chart_data import chart_data

__all__ = [
    "RC",
    "alt_text_of",
    "describe_chart",
    "render_figure",
    "render_svg",
    "shade_periods",
]

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
    return _draw(draw, size)[0]


def render_figure(
    title: str,
    draw: Callable[[Axes], object],
    caption: str = "",
    *,
    size: tuple[float, float] = (7.0, 3.6),
) -> FigureBlock:
    """Draw a report figure: its SVG, the data it shows and its alt text, as a FigureBlock.

    The alt text is the one the chart function recorded (house-style charts record theirs),
    else a description of what was drawn (:func:`describe_chart`).
    """
    svg, data, alt = _draw(draw, size)
    return FigureBlock(title, svg, caption, data=data, alt=alt)


def _recorded_alt_text(figure) -> str:
    """Return the alt text a house-style chart function recorded for ``figure`` ("" if none)."""
    try:
        from sfpc_eval.plotting.style import alt_text
    except ImportError:  # a plotting package without the alt-text registry
        return ""
    return alt_text(figure)


def alt_text_of(figure, data=None) -> str:
    """Return alt text for a drawn figure: what its chart function recorded, else a description.

    ``data`` is the figure's :func:`~sfpc_eval.report.chart_data.chart_data` (computed when not
    given). The docs build uses this for the figures of the how-to pages.
    """
    recorded = _recorded_alt_text(figure)
    if recorded:
        return recorded
    return describe_chart(figure, chart_data(figure) if data is None else data)


def describe_chart(figure, data) -> str:
    """Alt text from what ``figure`` shows: chart kind, title, series and the axes' ranges."""
    elements = set(data["element"]) if len(data) else set()
    kind = (
        "Line chart"
        if "line point" in elements
        else "Bar chart"
        if "bar" in elements
        else "Grid"
        if "cell" in elements
        else "Dot chart"
        if elements & {"point", "interval"}
        else "Chart"
    )
    parts = [f"{kind}."]
    ax = figure.axes[0] if figure.axes else None
    if ax is not None:
        title = " ".join(ax.get_title().split())
        if title:
            parts.append(f"{title}.")
    series = [s for s in dict.fromkeys(data["series"]) if s] if len(data) else []
    if series:
        parts.append(f"Series: {', '.join(series)}.")
    if ax is not None and len(data):
        ranges = []
        for name, axis, columns in (
            ("horizontal axis", ax.xaxis, _columns(data, "x")),
            ("vertical axis", ax.yaxis, _columns(data, "y")),
        ):
            values = data[list(columns)].to_numpy(dtype=float).ravel()
            values = values[np.isfinite(values)]
            label = " ".join(axis.get_label().get_text().split())
            where = f"{name}{' (' + label + ')' if label else ''}"
            if len(values):
                ranges.append(f"{where} from {values.min():.6g} to {values.max():.6g}")
        if ranges:
            text = "; ".join(ranges)
            parts.append(text[0].upper() + text[1:] + ".")
    return " ".join(parts)


def _columns(data, axis: str) -> list[str]:
    """List the columns holding positions on ``axis`` ("x" or "y"), labelled or not."""
    return [c for c in data.columns if c.split(" (")[0] in (axis, f"{axis}_end")]


def _draw(draw: Callable[[Axes], object], size: tuple[float, float]):
    import matplotlib as mpl
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with mpl.rc_context(RC):
        fig = Figure(figsize=size)
        FigureCanvasSVG(fig)
        ax = fig.subplots()
        draw(ax)
        if not _recorded_alt_text(fig):  # a house-style chart is laid out already: keep it
            fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
        data = chart_data(fig)
        alt = alt_text_of(fig, data)
    return out.getvalue(), data, alt


def shade_periods(
    ax: Axes, periods: Sequence[tuple[float, float, str]], *, span: tuple[float, float]
) -> list[str]:
    """Shade the periods that overlap ``span`` (the time axis) in the house style.

    :func:`sfpc_eval.plotting.over_time.shade_periods` (one grey, clipped to the axis); returns
    the labels shaded, and periods wholly outside the axis are not drawn (the caller says so in
    the caption).
    """
    from sfpc_eval.plotting.over_time import shade_periods as house_shading

    return house_shading(ax, periods, span=span)
