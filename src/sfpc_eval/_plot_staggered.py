"""Figures for event studies and the Bacon decomposition (take and return an Axes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_bacon", "plot_event_study"]

TYPE_COLOURS = {
    "treated vs never treated": "#1b7837",
    "earlier vs later treated": "#2166ac",
    "later vs earlier treated": "#b2182b",
}


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=(6, 3.5))
    return new


def plot_event_study(
    table: pd.DataFrame,
    *,
    reference: int | None = None,
    level: float = 0.95,
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Event-time estimates, pointwise intervals (bars) and, if present, a sup-t band (shaded).

    Parameters
    ----------
    table : pandas.DataFrame
        ``event_time``, ``estimate``, ``conf_low``, ``conf_high`` and optionally ``band_low``,
        ``band_high`` (from ``result.bands()``).
    reference : int, optional
        Reference event time, drawn as a hollow point at 0.
    level : float
        Confidence level (for the legend).
    title : str
        Axes title.
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
    ax = _axes(ax)
    rows = table.sort_values("event_time")
    x = rows["event_time"].to_numpy(dtype=float)
    if "band_low" in rows:
        ax.fill_between(
            x,
            rows["band_low"],
            rows["band_high"],
            color="#92c5de",
            alpha=0.5,
            step=None,
            label=f"{level:.0%} simultaneous (sup-t)",
        )
    est = rows["estimate"].to_numpy()
    ax.errorbar(
        x,
        est,
        yerr=[est - rows["conf_low"].to_numpy(), rows["conf_high"].to_numpy() - est],
        fmt="o",
        color="#08306b",
        capsize=3,
        label=f"estimate, {level:.0%} pointwise",
    )
    if reference is not None:
        ax.plot([reference], [0.0], "o", mfc="white", color="#08306b", label="reference")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axvline(-0.5, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("periods since adoption")
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
    ax = _axes(ax)
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
