"""Charts over time: councils' rates per 10,000, and treated against comparison.

:func:`plot_rates` is the chart evaluation reports draw by hand: chosen councils' rates per
10,000 children by year, COVID-19 lockdowns shaded, each council's own start marked on its
line, and optionally the comparison line. :func:`plot_trends` draws treated and comparison
lines from a table (``DidResult.trends()``). Both draw the comparison line by the one definition
of :mod:`sfpc_eval._trends`: the average of the comparison councils' own values, each council
counting once.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import sfpc_eval as se
>>> panel = se.datasets.council_panel()
>>> ax = plot_rates(panel, ["Leeds", "Bradford"], "cpp_rate", starts={"Leeds": 2015})
Traceback (most recent call last):
...
sfpc_eval.errors.UnknownAreaError: `councils`: 'Bradford' is not a council in column 'la'. ...
>>> ax = plot_rates(panel, ["Leeds", "Sheffield"], "cpp_rate", starts="treated")
>>> " ".join(ax.get_ylabel().split())
'Children on child protection plans per 10,000 children'
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sfpc_eval._trends import DEFINITION, group_lines
from sfpc_eval.errors import InvalidValueError, MissingColumnError, UnknownAreaError, show_values
from sfpc_eval.plotting.layout import finish
from sfpc_eval.plotting.style import (
    CATEGORICAL,
    COMPARISON,
    PAIR,
    SHADE,
    TEXT,
    check_labels,
    context,
    new_axes,
    percent_axis,
    word,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "LOCKDOWNS",
    "axis_position",
    "mark_starts",
    "plot_rates",
    "plot_trends",
    "shade_periods",
]

LOCKDOWNS: tuple[tuple[str, str, str], ...] = (
    ("2020-03-23", "2020-07-04", "COVID-19 lockdowns in England"),
    ("2020-11-05", "2020-12-02", "COVID-19 lockdowns in England"),
    ("2021-01-06", "2021-03-29", "COVID-19 lockdowns in England"),
)
"""England's three national lockdowns (stay-at-home rules): from the announcement of 23 March
2020 to the reopening of 4 July 2020; 5 November to 2 December 2020; 6 January to 29 March
2021. Dates as ``(start, end, label)``."""

COUNCIL_COLOURS = tuple(c for c in CATEGORICAL if c != COMPARISON)
"""Councils' colours: the categorical palette without orange, which is the comparison's."""

START_MARKER = dict(marker="D", markersize=8, markerfacecolor="white", markeredgewidth=1.8)


def axis_position(value: object, *, year_ends: str = "03-31") -> float:
    """Place a period bound on a yearly axis; numbers are returned as they are.

    A date goes where it falls in the year ending on ``year_ends`` ("MM-DD"): year Y sits at
    the end of year Y (31 March Y for DfE statistics, which count children at 31 March), so
    23 March 2020 is just before 2020.

    Examples
    --------
    >>> round(axis_position("2020-03-23"), 3), axis_position(2015)
    (2019.978, 2015.0)
    """
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return float(value)
    try:
        day = pd.Timestamp(value).date()
    except (TypeError, ValueError) as err:
        raise InvalidValueError(
            f"a shaded period's bound must be a date ('2020-03-23') or a number on the time "
            f"axis; got {value!r}."
        ) from err
    month, dom = (int(p) for p in year_ends.split("-"))
    end = dt.date(day.year, month, dom)
    return day.year + (day - end).days / 365.25


def shade_periods(
    ax: Axes,
    periods: Sequence[tuple[Any, Any, str]],
    *,
    span: tuple[float, float],
    year_ends: str = "03-31",
) -> list[str]:
    """Shade each period (dates or axis numbers), clipped to ``span``; return those shaded.

    A period partly outside the data is drawn clipped to the data's range; one wholly outside
    is not drawn (it is not an error: the caller can say so). Periods with the same label share
    one legend entry.
    """
    shown: list[str] = []
    low_edge, high_edge = span
    for low, high, name in periods:
        a, b = axis_position(low, year_ends=year_ends), axis_position(high, year_ends=year_ends)
        if b < a:
            raise InvalidValueError(
                f"shaded period {name!r} ends ({high}) before it starts ({low}); swap them."
            )
        if b < low_edge or a > high_edge:
            continue
        a, b = max(a, low_edge), min(b, high_edge)
        first = str(name) not in shown
        patch = ax.axvspan(a, b, color=SHADE, lw=0, zorder=0, label=str(name) if first else None)
        context(patch)
        if first:
            shown.append(str(name))
    return shown


def _source(data: pd.DataFrame, source: str | None) -> str | None:
    if source is not None:
        return source
    attrs = getattr(data, "attrs", {}) or {}
    if attrs.get("source"):
        return str(attrs["source"])
    licence = str(attrs.get("licence", ""))
    if ": " in licence:
        return licence.split(": ", 1)[1]
    return None


def _check_units(data: pd.DataFrame, unit: str, councils: Sequence[Any]) -> list[Any]:
    known = {str(u): u for u in pd.unique(data[unit].dropna())}
    out = []
    for name in councils:
        if str(name) in known:
            out.append(known[str(name)])
            continue
        close = difflib.get_close_matches(str(name), list(known), n=3, cutoff=0.5)
        hint = f" Closest: {', '.join(map(repr, close))}." if close else ""
        raise UnknownAreaError(
            f"`councils`: {name!r} is not a council in column {unit!r}.{hint} The data have "
            f"{len(known)} councils: {show_values(sorted(known))}.",
            value=name,
            suggestions=close,
        )
    return out


def _starts(
    data: pd.DataFrame, unit: str, time: str, councils: Sequence[Any], starts: Any
) -> dict[Any, float]:
    """Each council's first period under the programme (a mapping, or read from a column)."""
    if starts is None:
        return {}
    if isinstance(starts, Mapping):
        unknown = [k for k in starts if k not in councils]
        if unknown:
            raise InvalidValueError(
                f"`starts` names {show_values(unknown)}, not among the councils drawn "
                f"({', '.join(map(str, councils))})."
            )
        return {k: axis_position(v) for k, v in starts.items()}
    if not isinstance(starts, str) or starts not in data.columns:
        raise MissingColumnError("starts", [str(starts)], list(data.columns))
    out = {}
    for council in councils:
        rows = data[data[unit] == council]
        values = pd.to_numeric(rows[starts], errors="coerce")
        if set(values.dropna().unique()) <= {0, 1}:  # a treatment indicator: first 1
            first = rows.loc[values == 1, time]
            if len(first):
                out[council] = float(first.min())
        elif values.notna().any():  # a cohort column: the first period under the programme
            out[council] = float(values.dropna().iloc[0])
    return out


def mark_starts(ax: Axes, lines: Mapping[Any, Any], starts: Mapping[Any, float]) -> None:
    """Mark each line's own start: an open diamond on the line, in its colour."""
    for i, (name, start) in enumerate(starts.items()):
        line = lines.get(name)
        if line is None:
            continue
        xy = line.get_xydata()
        at = xy[np.isclose(xy[:, 0], start)]
        if len(at) == 0:
            finite = xy[np.isfinite(xy).all(axis=1)]
            y = float(np.interp(start, finite[:, 0], finite[:, 1])) if len(finite) else np.nan
        else:
            y = float(at[0, 1])
        ax.plot(
            [start],
            [y],
            linestyle="none",
            color=line.get_color(),
            markeredgecolor=line.get_color(),
            label="First year under the programme" if i == 0 else None,
            zorder=4,
            **START_MARKER,
        )


def plot_rates(
    data: pd.DataFrame,
    councils: Sequence[Any],
    outcome: str,
    *,
    unit: str = "la",
    time: str = "year",
    starts: Mapping[Any, Any] | str | None = None,
    comparison: Sequence[Any] | None = None,
    shade: Sequence[tuple[Any, Any, str]] = LOCKDOWNS,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Chosen councils' rates over time, lockdowns shaded and each council's start marked.

    Parameters
    ----------
    data : pandas.DataFrame
        A council x period panel (e.g. :func:`sfpc_eval.datasets.council_panel`).
    councils : sequence
        The councils to draw (at most five: the categorical palette without orange, the
        comparison line's colour).
    outcome : str
        The column to draw, e.g. ``"cla_rate"`` (children looked after per 10,000).
    unit, time : str
        The council and period columns.
    starts : mapping or str, optional
        Each council's first period under the programme: a mapping ``{council: period}``, or a
        column (a 0/1 treatment indicator, whose first 1 is the start, or a cohort column).
        Each start is marked on the council's own line.
    comparison : sequence, optional
        Councils averaged into a comparison line (orange, dashed): the average of their own
        values, each council counting once (:mod:`sfpc_eval._trends`).
    shade : sequence of (start, end, label)
        Periods to shade, as dates (placed on the year-ending-31-March axis) or axis numbers;
        :data:`LOCKDOWNS` by default, ``()`` for none. A period beyond the data's years is
        clipped to them (or left out if wholly outside), never refused.
    labels : mapping, optional
        Words for the outcome, the time column, councils or ``"comparison"``.
    title : str, optional
        The chart's main message; default says what is drawn.
    source : str, optional
        The source line; default the data's ``attrs`` (the packaged datasets carry theirs).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    UnknownAreaError
        A council is not in the data (the message gives the closest names).
    MissingColumnError
        ``outcome``, ``unit``, ``time`` or a ``starts`` column is not in the data.
    LabelError
        ``labels`` names something the chart does not show.
    """
    missing = [c for c in (unit, time, outcome) if c not in data.columns]
    if missing:
        raise MissingColumnError("outcome" if outcome in missing else "unit", missing, data.columns)
    names = _check_units(data, unit, list(councils))
    others = _check_units(data, unit, list(comparison)) if comparison is not None else []
    if not names:
        raise InvalidValueError("`councils` is empty; name at least one council to draw.")
    if len(names) > len(COUNCIL_COLOURS):
        raise InvalidValueError(
            f"`councils`: {len(names)} councils cannot be told apart by colour (at most "
            f"{len(COUNCIL_COLOURS)}); draw the others as a `comparison` line."
        )
    known = [outcome, time, *map(str, names)] + (["comparison"] if others else [])
    words = check_labels(labels, known)
    ax = new_axes(ax)
    rows = data[data[unit].isin(names + others)]
    times = pd.to_numeric(rows[time], errors="coerce")
    span = (float(times.min()), float(times.max()))
    shown = shade_periods(ax, shade, span=span)
    lines: dict[Any, Any] = {}
    direct = []
    for i, name in enumerate(names):
        part = data[data[unit] == name].sort_values(time)
        (line,) = ax.plot(
            part[time].astype(float),
            part[outcome].astype(float),
            color=COUNCIL_COLOURS[i],
            marker="o",
            markersize=4,
            linewidth=2,
            label=words.get(str(name), str(name)),
        )
        lines[name] = line
        direct.append((line, words.get(str(name), str(name))))
    if others:
        grouped = rows[rows[unit].isin(others)].assign(_group="comparison")
        line_data = group_lines(grouped, unit=unit, time=time, group="_group", numerator=outcome)
        comparison_name = words.get("comparison", "Comparison average")
        (line,) = ax.plot(
            line_data["time"].astype(float),
            line_data["mean"],
            color=COMPARISON,
            linestyle="--",
            linewidth=2,
            label=comparison_name,
        )
        direct.append((line, comparison_name))
    mark_starts(ax, lines, _starts(data, unit, time, names, starts))
    outcome_word = word(outcome, words)
    time_word = word(time, words)
    default = f"{outcome_word}, {int(span[0])} to {int(span[1])}"
    alt = (
        f"Line chart of {outcome_word.lower()} by {time_word.lower()}, {int(span[0])} to "
        f"{int(span[1])}, for {', '.join(map(str, names))}"
        + (f" and the average of {len(others)} comparison councils" if others else "")
        + "."
    )
    for name, line in lines.items():
        xy = line.get_xydata()
        xy = xy[np.isfinite(xy).all(axis=1)]
        if len(xy):
            alt += f" {name}: {xy[0, 1]:.4g} in {xy[0, 0]:.0f}, {xy[-1, 1]:.4g} in {xy[-1, 0]:.0f}."
    if shown:
        alt += f" Shaded: {', '.join(shown)}."
    _integer_years(ax, times)
    finish(
        ax,
        title=title or default,
        xlabel=time_word,
        ylabel=outcome_word,
        source=_source(data, source),
        alt=alt + (f" Comparison line: {DEFINITION}." if others else ""),
        direct=direct,
        kind="Line chart",
    )
    return ax


def _integer_years(ax: Axes, times: pd.Series) -> None:
    """Whole-number ticks when the periods are whole numbers (years)."""
    from matplotlib.ticker import MaxNLocator

    values = times.dropna().to_numpy(dtype=float)
    if len(values) and np.all(values == np.round(values)):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_trends(
    trends: pd.DataFrame,
    *,
    outcome: str | None = None,
    time: str | None = None,
    start: Any = None,
    shade: Sequence[tuple[Any, Any, str]] = (),
    percent: bool = False,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
    ylabel: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Treated and comparison lines over time, the start of the programme marked.

    Parameters
    ----------
    trends : pandas.DataFrame
        Columns ``time``, ``group`` and ``mean``, e.g. ``DidResult.trends()`` (whose lines
        follow the one definition of :mod:`sfpc_eval._trends`).
    outcome, time : str, optional
        Names of the outcome and period, worded by the label vocabulary for the axes.
    start : optional
        First period under the programme (a dashed line), or a mapping of group to start.
    shade : sequence of (start, end, label)
        Periods to shade (dates or axis numbers), clipped to the data's range.
    percent : bool, default False
        The values are shares (0-1): draw them as percentages.
    labels : mapping, optional
        Words for the groups (``"treated"``, ``"comparison"``...), ``outcome`` or ``time``.
    title, source : str, optional
        Main-message title and source line.
    ylabel : str, optional
        The y axis's words, with units (default: the vocabulary's label of ``outcome``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    required = ["time", "group", "mean"]
    missing = [c for c in required if c not in trends.columns]
    if missing:
        raise MissingColumnError("trends", missing, list(trends.columns))
    groups = list(dict.fromkeys(trends["group"].astype(str)))
    known = [*groups, *(n for n in (outcome, time) if n)]
    words = check_labels(labels, known)
    defaults = {"treated": "Treated", "comparison": "Comparison group"}
    ax = new_axes(ax)
    times = pd.to_numeric(trends["time"], errors="coerce")
    span = (float(times.min()), float(times.max()))
    shown = shade_periods(ax, shade, span=span)
    order = [g for g in ("treated", "comparison") if g in groups] + [
        g for g in groups if g not in ("treated", "comparison")
    ]
    colours = dict(zip(order, PAIR + CATEGORICAL[1:3] + CATEGORICAL[4:], strict=False))
    markers = dict(zip(order, "osD^v", strict=False))
    styles = {"comparison": "--"}
    scale = 100.0 if percent else 1.0
    direct = []
    lines = {}
    for group in order:
        rows = trends[trends["group"].astype(str) == group].sort_values("time")
        name = words.get(group, defaults.get(group, group))
        (line,) = ax.plot(
            pd.to_numeric(rows["time"]),
            rows["mean"].astype(float) * scale,
            marker=markers[group],
            markersize=5,
            linewidth=2,
            linestyle=styles.get(group, "-"),
            color=colours[group],
            label=name,
        )
        direct.append((line, name))
        lines[group] = line
    if isinstance(start, Mapping):
        mark_starts(ax, lines, {k: axis_position(v) for k, v in start.items()})
    elif start is not None:
        at = axis_position(start)
        ax.axvline(at, color=TEXT, linestyle="--", linewidth=1, label=f"Programme starts ({start})")
    ylabel = ylabel or (word(outcome, words) if outcome else "Mean")
    if percent:
        percent_axis(ax)
        ylabel = f"{ylabel} (%)" if "%" not in ylabel else ylabel
    xlabel = word(time, words) if time else "Period"
    alt = f"Line chart of {ylabel.lower()} by {xlabel.lower()}"
    for group, line in lines.items():
        xy = line.get_xydata()
        xy = xy[np.isfinite(xy).all(axis=1)]
        if len(xy):
            alt += (
                f"; {words.get(group, defaults.get(group, group))}: {xy[0, 1]:.4g} at "
                f"{xy[0, 0]:.4g}, {xy[-1, 1]:.4g} at {xy[-1, 0]:.4g}"
            )
    alt += "."
    if start is not None and not isinstance(start, Mapping):
        alt += f" Dashed line: the programme starts ({start})."
    if shown:
        alt += f" Shaded: {', '.join(shown)}."
    if "comparison" in lines:
        alt += f" The comparison line: {DEFINITION}."
    _integer_years(ax, times)
    finish(
        ax,
        title=title or f"{ylabel}: {' and '.join(n for _, n in direct)}",
        xlabel=xlabel,
        ylabel=ylabel,
        source=source,
        alt=alt,
        direct=direct,
        kind="Line chart",
    )
    return ax
