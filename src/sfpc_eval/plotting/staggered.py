"""Figures for staggered adoption: event studies, aggregations and the Bacon decomposition.

Every function takes an optional ``ax`` and returns the Axes it drew on, in the house style
(:mod:`sfpc_eval.plotting.style`): ``labels`` rewords any axis or series, ``title`` is the main
message and ``source`` the line under the chart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sfpc_eval.errors import MissingColumnError
from sfpc_eval.plotting.layout import finish
from sfpc_eval.plotting.style import (
    CATEGORICAL,
    CONTEXT,
    PALETTE,
    TEXT,
    TREATED,
    check_labels,
    context,
    new_axes,
    word,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_aggregate", "plot_bacon", "plot_event_study"]

X_NAMES = {"event_time": "event_time", "cohort": "cohort", "time": "calendar_time"}
"""The vocabulary entry that words each index column of an event-study table."""

TYPE_COLOURS = {
    "treated vs never treated": CATEGORICAL[0],
    "earlier vs later treated": CATEGORICAL[1],
    "later vs earlier treated": CATEGORICAL[2],
}


def plot_event_study(
    table: pd.DataFrame,
    *,
    reference: int | None = None,
    level: float = 0.95,
    title: str | None = None,
    x: str = "event_time",
    labels: Mapping[str, str] | None = None,
    source: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Event-time estimates, pointwise intervals (bars) and, if present, a sup-t band (shaded).

    Parameters
    ----------
    table : pandas.DataFrame
        Column ``x``, ``estimate``, ``conf_low``, ``conf_high`` and optionally ``band_low``,
        ``band_high`` (from ``result.bands()``).
    reference : int, optional
        Reference event time, drawn as a hollow point at 0.
    level : float
        Confidence level (for the legend).
    title : str, optional
        The main message; default says what is drawn.
    x : str
        The index column: ``"event_time"`` (before-adoption points drawn grey, adoption
        marked), ``"cohort"`` or ``"time"``.
    labels : mapping, optional
        Words for ``x`` and ``"estimate"`` (the axes).
    source : str, optional
        The source line.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"event_time": [-2, 0, 1], "estimate": [0.1, 1.0, 1.5],
    ...                       "conf_low": [-0.5, 0.4, 0.8], "conf_high": [0.7, 1.6, 2.2]})
    >>> plot_event_study(table, reference=-1).get_xlabel()
    'Years since adoption (0 = first year under the programme)'
    """
    missing = [c for c in (x, "estimate", "conf_low", "conf_high") if c not in table.columns]
    if missing:
        raise MissingColumnError("table", missing, list(table.columns))
    words = check_labels(labels, [x, "estimate"])
    ax = new_axes(ax)
    rows = table.sort_values(x)
    at = rows[x].to_numpy(dtype=float)
    if "band_low" in rows:
        ax.fill_between(
            at,
            rows["band_low"],
            rows["band_high"],
            color=PALETTE["light_blue"],
            alpha=0.35,
            linewidth=0,
            label=f"{level:.0%} simultaneous (sup-t) band",
        )
    est = rows["estimate"].to_numpy(dtype=float)
    low = est - rows["conf_low"].to_numpy(dtype=float)
    high = rows["conf_high"].to_numpy(dtype=float) - est
    before = at < 0 if x == "event_time" else np.zeros(len(at), dtype=bool)
    for mask, colour, name in (
        (before, PALETTE["dark_grey"], "Before adoption"),
        (~before, TREATED, "After adoption" if before.any() else "Estimate"),
    ):
        if mask.any():
            ax.errorbar(
                at[mask],
                est[mask],
                yerr=np.vstack([low[mask], high[mask]]),
                fmt="o",
                color=colour,
                capsize=3,
                markersize=5,
                label=f"{name}, {level:.0%} interval",
            )
    if reference is not None:
        ax.plot(
            [reference],
            [0.0],
            "o",
            mfc="white",
            color=TREATED,
            linestyle="none",
            label=word("reference_period"),
        )
    context(ax.axhline(0, color=TEXT, linewidth=0.8))
    if x == "event_time":
        context(ax.axvline(-0.5, color=CONTEXT, linestyle="--", linewidth=1))
    xlabel = words.get(x, word(X_NAMES.get(x, x)))
    ylabel = words.get("estimate", word("effect_estimate"))
    return finish(
        ax,
        title=title or f"Estimated effect by {xlabel.split(' (')[0].lower()}",
        xlabel=xlabel,
        ylabel=ylabel,
        source=source,
        kind="Event-study chart",
    )


def plot_bacon(
    table: pd.DataFrame,
    *,
    overall: float,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Goodman-Bacon scatter: each 2x2 estimate against its weight, coloured by type.

    Parameters
    ----------
    table : pandas.DataFrame
        ``estimate``, ``weight`` and ``type`` per comparison.
    overall : float
        The TWFE coefficient (drawn as a horizontal line).
    labels : mapping, optional
        Words for ``"weight"``, ``"estimate"`` or a comparison type.
    title, source : str, optional
        Main-message title and source line.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"estimate": [2.0, -1.0], "weight": [0.7, 0.3],
    ...                       "type": ["treated vs never treated", "later vs earlier treated"]})
    >>> plot_bacon(table, overall=1.1).get_ylabel()
    'Two-group, two-period estimate'
    """
    missing = [c for c in ("estimate", "weight", "type") if c not in table.columns]
    if missing:
        raise MissingColumnError("table", missing, list(table.columns))
    kinds = [str(k) for k in pd.unique(table["type"])]
    words = check_labels(labels, ["weight", "estimate", *kinds])
    ax = new_axes(ax)
    spare = iter(CATEGORICAL[3:])
    markers = iter("osD^v<>")
    for kind, rows in table.groupby("type", sort=False):
        name = str(kind)
        ax.scatter(
            rows["weight"],
            rows["estimate"],
            label=words.get(name, name[:1].upper() + name[1:]),
            color=TYPE_COLOURS.get(name) or next(spare, TEXT),
            marker=next(markers, "o"),
            alpha=0.85,
        )
    context(ax.axhline(0.0, color=TEXT, linewidth=0.8))
    ax.axhline(
        overall, color=PALETTE["orange"], linestyle="--", linewidth=1.5, label=f"TWFE {overall:.3g}"
    )
    ax.set_xlim(left=0)
    biggest = table.loc[table["weight"].idxmax()] if len(table) else None
    default = "Two-group, two-period comparisons behind the TWFE estimate"
    if biggest is not None:
        default = f"The largest weight ({biggest['weight']:.0%}) is on {biggest['type']}"
    return finish(
        ax,
        title=title or default,
        xlabel=words.get("weight", word("weight")),
        ylabel=words.get("estimate", word("two_by_two")),
        source=source,
        grid="both",
        kind="Scatter chart",
    )


def plot_aggregate(
    result: Any,
    ax: Axes | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Draw a Callaway & Sant'Anna aggregation: components with pointwise and uniform bands.

    Parameters
    ----------
    result : CallawayAggregate
        Any aggregation whose ``tidy()`` holds its index column (``result.index_name``:
        ``event_time``, ``cohort`` or ``time``), ``estimate``, ``conf_low``, ``conf_high`` and
        optionally ``conf_low_uniform`` / ``conf_high_uniform`` (multiplier bootstrap).
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    labels, title, source : optional
        As for :func:`plot_event_study`.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sfpc_eval.staggered.callaway import callaway_santanna
    >>> g = np.repeat([3.0, 3, 4, 4, np.nan, np.nan], 5)
    >>> t = np.tile(np.arange(1.0, 6), 6)
    >>> y = t + np.where(t >= g, 1.0, 0) + np.sin(np.arange(30))
    >>> df = pd.DataFrame({"u": np.repeat(np.arange(6), 5), "t": t, "y": y, "g": g})
    >>> callaway_santanna(df, "y", "u", "t", "g").plot().get_xlabel()
    'Years since adoption (0 = first year under the programme)'
    """
    frame = result.tidy()
    x = result.index_name
    if x not in frame.columns:  # "simple": one overall number, drawn as a row
        from sfpc_eval.plotting.forest import plot_terms

        return plot_terms(result, labels=labels, title=title, source=source, ax=ax)
    rows = frame[frame["term"] != "overall"].rename(
        columns={"conf_low_uniform": "band_low", "conf_high_uniform": "band_high"}
    )
    return plot_event_study(
        rows,
        level=result.conf_level,
        title=title or f"{result.title}: overall {result.overall:.3g}",
        x=x,
        labels=labels,
        source=source,
        ax=ax,
    )
