"""Figures of two-group comparisons and of treated and comparison trends.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import sfpc_eval as se
>>> ax = se.compare_counts(974, 515, labels=("2011", "2017")).plot()
>>> ax.get_title()
'2017 vs 2011: -47.1% [-52.6%, -41.1%]'
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from sfpc_eval.plotting._axes import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sfpc_eval.results import ResultMixin

__all__ = ["plot_comparison", "plot_trends"]


def plot_comparison(result: ResultMixin, ax: Axes | None = None) -> Axes:
    """Draw the two groups (or periods) of a comparison with their intervals.

    The title gives the percentage change and its interval. Proportions are drawn as
    percentages.

    Parameters
    ----------
    result : CountComparison, ProportionComparison, MeanComparison or PairedComparison
        A two-group result.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = new_axes(ax)
    names = [t.term for t in result.terms]
    first, second = ("before", "after") if "before" in names else ("treated", "control")
    labels = list(getattr(result, "labels", (first, second)))
    scale = 100.0 if "risk_difference" in names else 1.0
    terms = [result.term(first), result.term(second)]
    if first == "treated":  # draw the comparison group first, as "before"
        terms, labels = terms[::-1], labels[::-1]
    for x, term in enumerate(terms):
        y = term.estimate * scale
        if not math.isnan(term.conf_low):
            low, high = term.conf_low * scale, term.conf_high * scale
            ax.errorbar(x, y, yerr=[[y - low], [high - y]], fmt="o", color="#2166ac", capsize=6)
        else:
            ax.plot(x, y, "o", color="#2166ac")
    ax.plot([0, 1], [terms[0].estimate * scale, terms[1].estimate * scale], color="#92c5de")
    ax.set_xticks([0, 1], labels)
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylabel(_y_label(result, scale))
    pct = result.percent_change
    interval = "" if math.isnan(pct.conf_low) else f" [{pct.conf_low:.1f}%, {pct.conf_high:.1f}%]"
    ax.set_title(f"{labels[1]} vs {labels[0]}: {pct.estimate:.1f}%{interval}")
    ax.grid(axis="y", alpha=0.3)
    return ax


def _y_label(result: ResultMixin, scale: float) -> str:
    if scale == 100.0:
        return "percent"
    per = getattr(result, "per", 1.0)
    if getattr(result, "is_rate", False):
        return f"rate per {per:,g}"
    return "count" if hasattr(result, "per") else "mean"


def plot_trends(
    trends: pd.DataFrame,
    *,
    start: object | None = None,
    ylabel: str = "mean outcome",
    shade: tuple[tuple[float, float, str], ...] = (),
    ax: Axes | None = None,
) -> Axes:
    """Treated and comparison group means over time, with the start of treatment marked.

    Parameters
    ----------
    trends : pandas.DataFrame
        Columns ``time``, ``group`` and ``mean`` (e.g. ``DidResult.trends()``).
    start : optional
        First treated period; a dashed vertical line is drawn there.
    ylabel : str
        Label of the y axis.
    shade : tuple of (start, end, label)
        Periods to shade (e.g. COVID lockdowns).
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = new_axes(ax)
    colours = {"treated": "#b2182b", "comparison": "#2166ac"}
    for group, rows in trends.groupby("group", sort=False):
        rows = rows.sort_values("time")
        ax.plot(
            rows["time"], rows["mean"], marker="o", label=str(group), color=colours.get(str(group))
        )
    for low, high, label in shade:
        ax.axvspan(low, high, color="#bdbdbd", alpha=0.4, label=label)
    if start is not None:
        ax.axvline(start, color="black", linestyle="--", linewidth=1, label="treatment starts")
    ax.set_xlabel("period")
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax
