"""Where words go on a chart: direct labels at line ends, else a legend that covers no data.

GSS guidance prefers labelling lines directly to a legend (the reader need not look back and
forth). :func:`direct_labels` writes each series' name just right of its last point, in its
colour, nudging names apart when lines end close together; if the names would have to move far
from their lines, or would cover data, it gives up and :func:`place_legend` is used instead.
:func:`place_legend` tries the corners and edges of the plot and keeps the first position where
the legend's box touches no plotted data; if there is none, the legend goes above the plot,
between the title and the data.

"Data" is every line, marker, band, bar and cell drawn, except artists marked as context with
:func:`sfpc_eval.plotting.style.context` (reference lines, shaded periods).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from sfpc_eval.plotting.style import new_axes
>>> ax = new_axes()
>>> a = ax.plot([0, 1, 2], [0, 1, 2], label="rising")
>>> b = ax.plot([0, 1, 2], [2, 1, 0], label="falling")
>>> finish(ax, title="Two lines", xlabel="x", ylabel="y", source="test", direct=True)
<Axes: ...>
>>> sorted(t.get_text() for t in ax.texts if t.get_gid() == "sfpc-direct-label")
['falling', 'rising']
"""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sfpc_eval.plotting.style import (
    CONTEXT_GID,
    FONT_SIZE,
    SOURCE_GID,
    rewrap_source,
    rewrap_title,
    set_alt_text,
    set_source,
    set_title,
    style_axes,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.legend import Legend
    from matplotlib.transforms import Bbox

__all__ = [
    "DIRECT_LABEL_GID",
    "data_artists",
    "describe",
    "direct_labels",
    "finish",
    "hits_data",
    "place_legend",
]

DIRECT_LABEL_GID = "sfpc-direct-label"
LEGEND_LOCATIONS = (
    "upper left",
    "upper right",
    "lower left",
    "lower right",
    "upper center",
    "lower center",
    "center left",
    "center right",
)
CLEARANCE = 3.0
"""Pixels of clear space kept between a legend and the nearest data."""
MAX_NUDGE_LINES = 2.5
"""How far (in label heights) a direct label may move from its line end before a legend is
used instead."""


def _renderer(ax: Axes):
    return ax.figure._get_renderer()


def data_artists(ax: Axes) -> list[Any]:
    """Return the visible artists of ``ax`` that show data (not context, not text)."""
    out = []
    for artist in [*ax.lines, *ax.collections, *ax.patches]:
        if not artist.get_visible() or artist.get_gid() == CONTEXT_GID:
            continue
        out.append(artist)
    return out


def _segments_hit(xy: np.ndarray, box: Bbox, step: float = 1.5) -> bool:
    """Whether a polyline (display coordinates, NaN = gap) passes through ``box``."""
    if len(xy) == 0:
        return False
    finite = np.isfinite(xy).all(axis=1)
    x0, y0, x1, y1 = box.x0, box.y0, box.x1, box.y1
    pts = xy[finite]
    if len(pts) and np.any(
        (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)
    ):
        return True
    for a, b, ok_a, ok_b in zip(xy[:-1], xy[1:], finite[:-1], finite[1:], strict=True):
        if not (ok_a and ok_b):
            continue
        if (
            max(a[0], b[0]) < x0
            or min(a[0], b[0]) > x1
            or max(a[1], b[1]) < y0
            or min(a[1], b[1]) > y1
        ):
            continue
        n = int(np.hypot(*(b - a)) / step) + 2
        t = np.linspace(0.0, 1.0, n)[:, None]
        p = a + t * (b - a)
        if np.any((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)):
            return True
    return False


def _points_hit(xy: np.ndarray, box: Bbox, radius: float) -> bool:
    if len(xy) == 0:
        return False
    xy = xy[np.isfinite(xy).all(axis=1)]
    grown = box.expanded(1.0, 1.0)
    return bool(
        np.any(
            (xy[:, 0] >= grown.x0 - radius)
            & (xy[:, 0] <= grown.x1 + radius)
            & (xy[:, 1] >= grown.y0 - radius)
            & (xy[:, 1] <= grown.y1 + radius)
        )
    )


def hits_data(ax: Axes, box: Bbox, *, skip: Sequence[Any] = ()) -> bool:
    """Whether the display-space box ``box`` covers any data drawn on ``ax``."""
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    for artist in data_artists(ax):
        if artist in skip:
            continue
        if isinstance(artist, Line2D):
            xy = artist.get_transform().transform(artist.get_xydata())
            style = artist.get_linestyle()
            if style not in ("None", "none", "", " ") and _segments_hit(xy, box):
                return True
            marker = artist.get_marker()
            if marker not in (None, "None", "none", "", " ") and _points_hit(
                xy, box, artist.get_markersize() / 2 * artist.figure.dpi / 72
            ):
                return True
        elif isinstance(artist, PathCollection):
            offsets = artist.get_offset_transform().transform(artist.get_offsets())
            sizes = artist.get_sizes()
            radius = float(np.sqrt(sizes.max()) / 2 * artist.figure.dpi / 72) if len(sizes) else 3
            if _points_hit(np.asarray(offsets), box, radius):
                return True
        elif isinstance(artist, LineCollection):
            transform = artist.get_transform()
            for path in artist.get_paths():
                if _segments_hit(transform.transform(path.vertices), box):
                    return True
        elif isinstance(artist, Patch):
            if artist.get_window_extent().overlaps(box):
                return True
        else:  # filled collections: bands (fill_between), bars drawn as collections
            transform = artist.get_transform()
            for path in artist.get_paths():
                shown = transform.transform_path(path)
                if shown.intersects_bbox(box, filled=True):
                    return True
    return False


def _line_series(ax: Axes) -> list[tuple[Any, str]]:
    """Labelled data lines and collections (what a legend would list), in drawing order."""
    handles, names = ax.get_legend_handles_labels()
    return list(zip(handles, names, strict=True))


def direct_labels(ax: Axes, series: Sequence[tuple[Any, str]]) -> bool:
    """Write each line's name right of its last point; return False (and undo) if they don't fit.

    The names are nudged apart vertically when lines end close together; if a name would move
    more than :data:`MAX_NUDGE_LINES` label heights from its line, or would cover data, no name
    is written and the caller falls back to a legend.
    """
    from matplotlib.lines import Line2D

    made = []
    for artist, name in series:
        if not isinstance(artist, Line2D):
            _remove(made)
            return False
        xy = artist.get_xydata()
        finite = np.isfinite(xy).all(axis=1)
        if not finite.any():
            continue
        x, y = xy[finite][np.argmax(xy[finite][:, 0])]
        made.append(
            ax.annotate(
                name,
                xy=(x, y),
                xycoords="data",
                xytext=(6.0, 0.0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=FONT_SIZE,
                color=artist.get_color(),
                fontweight="bold",
                annotation_clip=False,
                gid=DIRECT_LABEL_GID,
            )
        )
    if not made:
        return True
    figure = ax.figure
    _layout(ax)
    renderer = _renderer(ax)
    boxes = [t.get_window_extent(renderer) for t in made]
    heights = [b.height for b in boxes]
    centres = np.array([(b.y0 + b.y1) / 2 for b in boxes])
    order = np.argsort(centres)
    placed = centres.copy()
    gap = 2.0
    for _ in range(50):  # push overlapping names apart, symmetric about their centre
        moved = False
        for i, j in itertools.pairwise(order):
            need = (heights[i] + heights[j]) / 2 + gap
            if placed[j] - placed[i] < need:
                shift = (need - (placed[j] - placed[i])) / 2
                placed[i] -= shift
                placed[j] += shift
                moved = True
        if not moved:
            break
    to_points = 72.0 / figure.dpi
    limit = MAX_NUDGE_LINES * max(heights)
    if np.any(np.abs(placed - centres) > limit):
        _remove(made)
        return False
    for text, shift in zip(made, placed - centres, strict=True):
        text.set_position((6.0, float(shift) * to_points))
    _layout(ax)
    renderer = _renderer(ax)
    width = figure.bbox.width
    for text in made:
        box = text.get_window_extent(renderer)
        if hits_data(ax, box) or box.width > 0.45 * width:
            _remove(made)
            return False
    return True


def _remove(texts: Sequence[Any]) -> None:
    for text in texts:
        text.remove()


def _layout(ax: Axes) -> None:
    """Lay out a figure sfpc_eval owns (one Axes, no layout engine) to make room for text.

    ``tight_layout`` fits the title, tick labels, axis labels, direct labels, a legend above the
    plot and the source line (wrapped again to the width the plot leaves it, so that it never
    narrows the plot); a figure laid out again by the caller with ``tight_layout`` keeps all of
    them in view.
    """
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    figure = ax.figure
    sources = [t for t in ax.texts if t.get_gid() == SOURCE_GID]
    if len(figure.axes) != 1 or isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine):
        figure.draw_without_rendering()
        return
    pad = 0.6 * FONT_SIZE * figure.dpi / 72
    figure.tight_layout(pad=0.6)
    rewrap_source(ax)
    figure.tight_layout(pad=0.6)  # the title's place depends on the Axes' size: settle it
    for _ in range(3):
        figure.draw_without_rendering()  # puts the axis labels (and the source) in place
        renderer = _renderer(ax)
        low = min((t.get_window_extent(renderer).y0 for t in sources), default=pad)
        if low >= pad - 0.5:
            break
        box = ax.get_position()
        lift = (pad - low) / figure.bbox.height
        ax.set_position([box.x0, box.y0 + lift, box.width, box.height - lift])


def place_legend(ax: Axes, handles=None, names=None, **options: Any) -> Legend | None:
    """Add a legend where it covers no data, else above the plot; return it (None if empty).

    Each of :data:`LEGEND_LOCATIONS` is tried in turn; the first whose box touches no data is
    kept. If every one does, the legend is laid out in a row above the plot and the title is
    moved up to make room for it.
    """
    if handles is None:
        handles, names = ax.get_legend_handles_labels()
    if not handles:
        return None
    _layout(ax)
    renderer = _renderer(ax)
    style = dict(frameon=False, fontsize=FONT_SIZE, handlelength=1.8, **options)
    for loc in LEGEND_LOCATIONS:
        legend = ax.legend(handles, names, loc=loc, **style)
        if not hits_data(ax, legend.get_window_extent(renderer).padded(CLEARANCE)):
            return legend
    for ncol in range(len(handles), 0, -1):  # as many columns as fit the plot's width
        legend = ax.legend(
            handles,
            names,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=ncol,
            borderaxespad=0.2,
            **style,
        )
        if legend.get_window_extent(renderer).width <= ax.bbox.width * 1.05:
            break
    legend.set_in_layout(True)
    _layout(ax)
    renderer = _renderer(ax)
    height = legend.get_window_extent(renderer).height * 72.0 / ax.figure.dpi
    set_title(ax, ax.get_title(loc="left"), pad=10 + height, wrap=False)
    _layout(ax)
    return legend


def describe(ax: Axes, kind: str = "Chart") -> str:
    """Alt text made from what ``ax`` shows: title, axes with their ranges, and each series."""
    parts = [f"{kind}."]
    title = " ".join(ax.get_title(loc="left").split())
    if title:
        parts.append(f"{title}.")
    for name, axis, lim in (
        ("Horizontal axis", ax.xaxis, ax.get_xlim()),
        ("Vertical axis", ax.yaxis, ax.get_ylim()),
    ):
        text = axis.label.get_text()
        if text:
            parts.append(f"{name}: {' '.join(text.split())}, {lim[0]:.4g} to {lim[1]:.4g}.")
    for artist, series_name in _line_series(ax) + _directly_labelled(ax):
        xy = getattr(artist, "get_xydata", lambda: np.empty((0, 2)))()
        finite = xy[np.isfinite(xy).all(axis=1)] if len(xy) else xy
        if len(finite) >= 2:
            first, last = finite[np.argmin(finite[:, 0])], finite[np.argmax(finite[:, 0])]
            parts.append(
                f"{series_name}: {first[1]:.4g} at {first[0]:.4g}, {last[1]:.4g} at {last[0]:.4g}."
            )
        else:
            parts.append(f"{series_name}.")
    sources = [t.get_text() for t in ax.texts if t.get_gid() == SOURCE_GID]
    parts += [" ".join(s.split()) for s in sources]
    return " ".join(parts)


def _directly_labelled(ax: Axes) -> list[tuple[Any, str]]:
    out = []
    for text in ax.texts:
        if text.get_gid() != DIRECT_LABEL_GID:
            continue
        x, y = text.xy
        for line in ax.lines:
            xy = line.get_xydata()
            if (
                len(xy)
                and np.any((xy[:, 0] == x) & (xy[:, 1] == y))
                and line.get_color() == text.get_color()
            ):
                out.append((line, text.get_text()))
                break
    return out


def finish(
    ax: Axes,
    *,
    title: str | None,
    xlabel: str,
    ylabel: str,
    source: str | None,
    alt: str | None = None,
    direct: Sequence[tuple[Any, str]] | bool = False,
    legend: bool = True,
    kind: str = "Chart",
    grid: str | None = "y",
) -> Axes:
    """Finish a figure in the house style and return ``ax``.

    Sets the title, axis labels and source line, labels the series (``direct``: (line, name)
    pairs to label at their ends, or True for every labelled line, falling back to a legend if
    the names do not fit; the other labelled artists go in a legend placed clear of the data)
    and records the alt text (``alt``, or one made by :func:`describe`). ``grid`` is the axis
    of the grid lines (``"y"``, ``"x"``, ``"both"`` or None).
    """
    style_axes(ax, grid=grid)
    set_title(ax, title or "")
    ax.set_xlabel(xlabel)
    height = ax.figure.get_figheight() * ax.get_position().height * 72.0
    ax.set_ylabel("\n".join(textwrap.wrap(ylabel, max(20, int(height / (0.55 * FONT_SIZE))))))
    set_source(ax, source)
    labelled = False
    if direct is True:
        from matplotlib.lines import Line2D

        direct = [(a, n) for a, n in _line_series(ax) if isinstance(a, Line2D)]
    if direct:
        labelled = direct_labels(ax, direct)
        if labelled:
            for artist, _ in direct:
                artist.set_label(f"_{artist.get_label()}")
    if legend and (not labelled or ax.get_legend_handles_labels()[0]):
        place_legend(ax)
    else:
        _layout(ax)
    if rewrap_title(ax):  # the layout moved the plot (long tick labels): fit the title again
        _layout(ax)
        placed = ax.get_legend()
        if placed is not None and hits_data(
            ax, placed.get_window_extent(_renderer(ax)).padded(CLEARANCE)
        ):
            place_legend(ax)
    set_alt_text(ax, alt if alt is not None else describe(ax, kind))
    return ax
