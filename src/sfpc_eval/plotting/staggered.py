"""Figures for staggered adoption: event studies, aggregations and the Bacon decomposition.

Every function takes an optional ``ax`` and returns the Axes it drew on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sfpc_eval.plotting._axes import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_aggregate", "plot_bacon", "plot_event_study"]

X_LABELS = {
    "event_time": "periods since adoption",
    "cohort": "cohort (first treated period)",
    "time": "period",
}

TYPE_COLOURS = {
    "treated vs never treated": "#1b7837",
    "earlier vs later treated": "#2166ac",
    "later vs earlier treated": "#b2182b",
}


def plot_event_study(
    table: pd.DataFrame,
    *,
    reference: int | None = None,
    level: float = 0.95,
    title: str = "",
    x: str = "event_time",
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
    title : str
        Axes title.
    x : str
        The index column: ``"event_time"`` (before-adoption points drawn grey, adoption
        marked), ``"cohort"`` or ``"time"``.
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
    'periods since adoption'
    """
    ax = new_axes(ax)
    rows = table.sort_values(x)
    at = rows[x].to_numpy(dtype=float)
    if "band_low" in rows:
        ax.fill_between(
            at,
            rows["band_low"],
            rows["band_high"],
            color="#92c5de",
            alpha=0.5,
            step=None,
            label=f"{level:.0%} simultaneous (sup-t)",
        )
    est = rows["estimate"].to_numpy(dtype=float)
    low = est - rows["conf_low"].to_numpy(dtype=float)
    high = rows["conf_high"].to_numpy(dtype=float) - est
    before = at < 0 if x == "event_time" else np.zeros(len(at), dtype=bool)
    for mask, colour, name in ((before, "#878787", "before adoption"), (~before, "#08306b", "")):
        if mask.any():
            ax.errorbar(
                at[mask],
                est[mask],
                yerr=np.vstack([low[mask], high[mask]]),
                fmt="o",
                color=colour,
                capsize=3,
                label=f"{name + ': ' if name else ''}estimate, {level:.0%} pointwise",
            )
    if reference is not None:
        ax.plot([reference], [0.0], "o", mfc="white", color="#08306b", label="reference")
    ax.axhline(0, color="black", linewidth=0.8)
    if x == "event_time":
        ax.axvline(-0.5, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel(X_LABELS[x])
    ax.set_ylabel("effect")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_bacon(table: pd.DataFrame, *, overall: float, ax: Axes | None = None) -> Axes:
    """Goodman-Bacon scatter: each 2x2 estimate against its weight, coloured by type.

    Parameters
    ----------
    table : pandas.DataFrame
        ``estimate``, ``weight`` and ``type`` per comparison.
    overall : float
        The TWFE coefficient (drawn as a horizontal line).
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
    '2x2 DiD estimate'
    """
    ax = new_axes(ax)
    for kind, rows in table.groupby("type", sort=False):
        ax.scatter(
            rows["weight"],
            rows["estimate"],
            label=str(kind),
            color=TYPE_COLOURS.get(str(kind)),
            alpha=0.8,
        )
    ax.axhline(overall, color="black", linestyle="--", linewidth=1, label=f"TWFE {overall:.3g}")
    ax.set_xlabel("weight")
    ax.set_ylabel("2x2 DiD estimate")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_aggregate(result: Any, ax: Axes | None = None) -> Axes:
    """Draw a Callaway & Sant'Anna aggregation: components with pointwise and uniform bands.

    Parameters
    ----------
    result : CallawayAggregate
        Any aggregation whose ``tidy()`` holds its index column (``result.index_name``:
        ``event_time``, ``cohort`` or ``time``), ``estimate``, ``conf_low``, ``conf_high`` and
        optionally ``conf_low_uniform`` / ``conf_high_uniform`` (multiplier bootstrap).
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

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
    'periods since adoption'
    """
    frame = result.tidy()
    x = result.index_name
    if x not in frame.columns:  # "simple": one overall number
        frame = frame.assign(time=0.0)
        x = "time"
    rows = frame[frame["term"] != "overall"].rename(
        columns={"conf_low_uniform": "band_low", "conf_high_uniform": "band_high"}
    )
    return plot_event_study(
        rows,
        level=result.conf_level,
        title=f"{result.title} (overall {result.overall:.3g})",
        x=x,
        ax=ax,
    )
