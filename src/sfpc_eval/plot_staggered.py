"""Plots of staggered-adoption results: effects by event time, cohort or period with bands.

Every function takes an optional ``ax`` and returns the Axes it drew on.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np, pandas as pd
>>> from sfpc_eval.estimators.callaway import callaway_santanna
>>> g = np.repeat([3.0, 3, 4, 4, np.nan, np.nan], 5)
>>> t = np.tile(np.arange(1.0, 6), 6)
>>> y = t + np.where(t >= g, 1.0, 0) + np.sin(np.arange(30))
>>> df = pd.DataFrame({"u": np.repeat(np.arange(6), 5), "t": t, "y": y, "g": g})
>>> ax = callaway_santanna(df, "y", "u", "t", "g").plot()
>>> ax.get_xlabel()
'Periods since adoption (event time)'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_aggregate"]

X_LABELS = {
    "event_time": "Periods since adoption (event time)",
    "cohort": "Cohort (first treated period)",
    "time": "Period",
}


def plot_aggregate(result: Any, ax: Axes | None = None) -> Axes:
    """Draw component effects with pointwise intervals and, if available, a uniform band.

    Parameters
    ----------
    result : CallawayAggregate
        Any aggregation with a ``tidy()`` holding an index column (``event_time``, ``cohort``
        or ``time``), ``estimate``, ``conf_low``, ``conf_high`` and optionally
        ``conf_low_uniform`` / ``conf_high_uniform`` (bootstrap).
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6.5, 3.8))
    frame = result.tidy()
    column = result.index_name
    if column not in frame.columns:  # "simple": one overall number
        frame = frame.assign(component=0.0)
        column = "component"
    rows = frame[frame["term"] != "overall"]
    x = rows[column].to_numpy(dtype=float)
    est = rows["estimate"].to_numpy(dtype=float)
    pct = f"{result.conf_level:.0%}"
    pre = x < 0 if column == "event_time" else np.zeros(len(x), dtype=bool)
    if "conf_low_uniform" in rows.columns:
        ax.fill_between(
            x,
            rows["conf_low_uniform"].to_numpy(dtype=float),
            rows["conf_high_uniform"].to_numpy(dtype=float),
            color="#9ecae1",
            alpha=0.5,
            step=None,
            label=f"{pct} uniform band (sup-t)",
        )
    low = est - rows["conf_low"].to_numpy(dtype=float)
    high = rows["conf_high"].to_numpy(dtype=float) - est
    for mask, colour, name in ((pre, "#878787", "before adoption"), (~pre, "#08519c", "after")):
        if mask.any():
            ax.errorbar(
                x[mask],
                est[mask],
                yerr=np.vstack([low[mask], high[mask]]),
                fmt="o",
                color=colour,
                capsize=3,
                label=f"{name}: estimate, {pct} pointwise CI",
            )
    ax.axhline(0, color="black", linewidth=0.8)
    if column == "event_time":
        ax.axvline(-0.5, color="grey", linestyle=":", linewidth=0.8)
    ax.set_xlabel(X_LABELS.get(column, ""))
    ax.set_ylabel("Average effect on the treated")
    ax.set_title(f"{result.title} (overall {result.overall:.3g})")
    ax.legend(fontsize="small", frameon=False)
    return ax
