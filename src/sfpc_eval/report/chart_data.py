"""The numbers a drawn chart shows, read back from its matplotlib artists, as a tidy table.

A report offers the data behind every chart for download. Reading them from what was drawn,
rather than asking every chart function to hand them over, means no chart can be missing its
data and the file holds exactly what the reader sees (points hidden by disclosure control are
not drawn, so they are not in the file either).

One row per drawn element: ``series`` (the element's legend label, blank if it has none),
``element`` (line point, point, interval, bar, band, shaded period, reference line, cell),
``x``/``y`` and, for elements with extent, ``x_end``/``y_end``; ``value`` for image cells;
``x_category``/``y_category`` where an axis shows names rather than numbers. The column
headers carry the axis labels.

Examples
--------
>>> from matplotlib.figure import Figure
>>> ax = Figure().subplots()
>>> _ = ax.plot([2010, 2011], [1.5, 2.0], label="Leeds")
>>> _ = ax.axvline(2015)
>>> _ = ax.set_xlabel("Year ending 31 March")
>>> frame = chart_data(ax.figure)
>>> frame.columns.tolist()
['series', 'element', 'x (Year ending 31 March)', 'y']
>>> print(csv_of(frame))
series,element,x (Year ending 31 March),y
Leeds,line point,2010,1.5
Leeds,line point,2011,2
,reference line,2015,
<BLANKLINE>
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["chart_data", "csv_of"]

COLUMNS = ("series", "element", "x", "y", "x_end", "y_end", "value", "x_category", "y_category")


_UNNAMED = re.compile(r"^_(child\d+|nolegend_|line\d+|collection\d+|container\d+)$")


def _name(artist) -> str:
    """Return the series name: the legend label, or the direct label of a line at its end.

    House-style charts that label a line at its end keep it out of the legend by prefixing its
    label with "_" (matplotlib's convention); the name is still the series'. matplotlib's own
    placeholders ("_child3", "_nolegend_") name nothing.
    """
    label = str(artist.get_label() or "")
    if _UNNAMED.match(label):
        return ""
    return label[1:] if label.startswith("_") else label


def _row(series, element, x, y=np.nan, x_end=np.nan, y_end=np.nan, value=np.nan) -> dict:
    return {
        "series": series,
        "element": element,
        "x": float(x),
        "y": float(y),
        "x_end": float(x_end),
        "y_end": float(y_end),
        "value": float(value),
    }


def _lines(ax: Axes) -> list[dict]:
    rows = []
    for line in ax.get_lines():
        transform = line.get_transform()
        xy = np.asarray(line.get_xydata(), dtype=float)
        if transform is ax.get_xaxis_transform():  # axvline: x in data, y in axes fraction
            rows += [_row(_name(line), "reference line", x) for x in np.unique(xy[:, 0])]
        elif transform is ax.get_yaxis_transform():  # axhline
            rows += [_row(_name(line), "reference line", np.nan, y) for y in np.unique(xy[:, 1])]
        elif transform.contains_branch(ax.transData):
            kind = "line point" if line.get_linestyle() not in ("None", "") else "point"
            rows += [
                _row(_name(line), kind, x, y) for x, y in xy if np.isfinite(x) and np.isfinite(y)
            ]
    return rows


def _collections(ax: Axes) -> list[dict]:
    from matplotlib.collections import LineCollection, PathCollection, PolyCollection, QuadMesh

    rows = []
    for coll in ax.collections:
        name = _name(coll)
        if isinstance(coll, LineCollection):
            for seg in coll.get_segments():
                if len(seg) >= 2 and np.isfinite(seg).all():
                    rows.append(_row(name, "interval", *seg[0], *seg[-1]))
        elif isinstance(coll, PathCollection):
            for x, y in np.asarray(coll.get_offsets(), dtype=float):
                if np.isfinite(x) and np.isfinite(y):
                    rows.append(_row(name, "point", x, y))
        elif isinstance(coll, QuadMesh):
            coords = coll.get_coordinates()
            values = np.asarray(coll.get_array()).reshape(coords.shape[0] - 1, -1)
            for i, j in np.ndindex(values.shape):
                centre = coords[i : i + 2, j : j + 2].reshape(-1, 2).mean(axis=0)
                rows.append(_row(name, "cell", *centre, value=values[i, j]))
        elif isinstance(coll, PolyCollection):  # fill_between: the band's bounds at each x
            for path in coll.get_paths():
                xy = path.vertices[np.isfinite(path.vertices).all(axis=1)]
                for x in np.unique(xy[:, 0]):
                    ys = xy[xy[:, 0] == x, 1]
                    rows.append(_row(name, "band", x, ys.min(), np.nan, ys.max()))
    return rows


def _patches(ax: Axes) -> list[dict]:
    from matplotlib.patches import Polygon, Rectangle

    rows = []
    for patch in ax.patches:
        transform = patch.get_transform()
        if transform.contains_branch(ax.get_xaxis_transform()) and not transform.contains_branch(
            ax.transData
        ):
            x = patch.get_path().transformed(patch.get_patch_transform()).vertices[:, 0]
            rows.append(_row(_name(patch), "shaded period", x.min(), np.nan, x.max()))
        elif isinstance(patch, Rectangle):
            x0, y0 = patch.get_xy()
            rows.append(
                _row(_name(patch), "bar", x0, y0, x0 + patch.get_width(), y0 + patch.get_height())
            )
        elif isinstance(patch, Polygon) and transform.contains_branch(ax.transData):
            xy = patch.get_xy()
            rows.append(_row(_name(patch), "band", xy[:, 0].min(), xy[:, 1].min(), *xy.max(0)))
    return rows


def _images(ax: Axes) -> list[dict]:
    rows = []
    for image in ax.images:
        values = np.asarray(image.get_array(), dtype=float)
        if values.ndim != 2:
            continue
        left, right, bottom, top = image.get_extent()
        nrow, ncol = values.shape
        xs = left + (np.arange(ncol) + 0.5) * (right - left) / ncol
        ys = top + (np.arange(nrow) + 0.5) * (bottom - top) / nrow  # row 0 at the top
        rows += [
            _row(_name(image), "cell", xs[j], ys[i], value=values[i, j])
            for i, j in np.ndindex(values.shape)
        ]
    return rows


def _categories(axis) -> dict[float, str]:
    """Tick position -> tick text where the axis names categories (text that is not a number)."""
    out = {}
    for loc, tick in zip(axis.get_majorticklocs(), axis.get_majorticklabels(), strict=False):
        text = tick.get_text().strip()
        if text and not _is_number(text):
            out[round(float(loc), 9)] = text
    return out


def _is_number(text: str) -> bool:
    cleaned = text.replace(",", "").replace("\u2212", "-").replace("%", "").replace("£", "")
    try:
        float(cleaned)
    except ValueError:
        return False
    return True


def _axes_frame(ax: Axes) -> pd.DataFrame:
    rows = _lines(ax) + _collections(ax) + _patches(ax) + _images(ax)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    for column, axis in (("x_category", ax.xaxis), ("y_category", ax.yaxis)):
        names = _categories(axis)
        position = frame[column[0]]
        frame[column] = [names.get(round(v, 9), "") if np.isfinite(v) else "" for v in position]
    return frame


def chart_data(figure: Figure) -> pd.DataFrame:
    """Tabulate the elements drawn on every axes of ``figure``, one row each (module notes).

    Columns that no element uses are left out; ``x``/``y`` headers carry the axis labels of the
    (first) axes, and a ``panel`` column (the axes title) is added when there are several axes.
    """
    axes = [ax for ax in figure.axes if ax.get_visible()]
    frames = []
    for ax in axes:
        frame = _axes_frame(ax)
        if len(axes) > 1:
            frame.insert(0, "panel", " ".join(ax.get_title().split()))
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    keep = [
        c
        for c in frame.columns
        if c in ("series", "element", "x", "y")
        or (pd.api.types.is_numeric_dtype(frame[c]) and frame[c].notna().any())
        or (not pd.api.types.is_numeric_dtype(frame[c]) and (frame[c] != "").any())
    ]
    frame = frame[keep]
    if axes:
        names = {}
        for column, axis in (("x", axes[0].xaxis), ("y", axes[0].yaxis)):
            text = " ".join(axis.get_label().get_text().split())
            if text:
                for suffix in ("", "_end"):
                    names[column + suffix] = f"{column}{suffix} ({text})"
        frame = frame.rename(columns=names)
    return frame.reset_index(drop=True)


def csv_of(frame: pd.DataFrame) -> str:
    """Write the chart's data as CSV text (10 significant figures; same text every build)."""
    return frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")
