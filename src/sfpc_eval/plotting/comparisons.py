"""The figure of a two-group comparison: both values with their intervals, the change in words.

:func:`plot_trends` (treated and comparison lines over time) lives in
:mod:`sfpc_eval.plotting.over_time` and is imported here for code written against this module.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import sfpc_eval as se
>>> ax = se.compare_counts(974, 515, labels=("2011", "2017")).plot()
>>> ax.get_title(loc="left")
'2017 compared with 2011: down 47.1% (95% CI 41.1% to 52.6%)'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sfpc_eval.plotting.layout import finish
from sfpc_eval.plotting.over_time import plot_trends
from sfpc_eval.plotting.style import COMPARISON, TREATED, check_labels, new_axes, percent_axis

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sfpc_eval.results import ResultMixin

__all__ = ["plot_comparison", "plot_trends"]


GROUP_WORDS = {
    "before": "Before",
    "after": "After",
    "treated": "Treated group",
    "control": "Comparison group",
}
"""Words for a comparison's groups when the caller gave them no names."""


def plot_comparison(
    result: ResultMixin,
    ax: Axes | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Draw the two groups (or periods) of a comparison with their intervals.

    The default title says the change and its interval in words. Proportions are drawn as
    percentages.

    Parameters
    ----------
    result : CountComparison, ProportionComparison, MeanComparison or PairedComparison
        A two-group result.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    labels : mapping, optional
        Words for the two groups (by their code names, ``"before"``/``"after"`` or
        ``"treated"``/``"control"``, or by the labels the result was given) and for the value
        axis (``"value"``).
    title : str, optional
        The chart's main message.
    source : str, optional
        The source line.

    Returns
    -------
    matplotlib.axes.Axes
    """
    names = [t.term for t in result.terms]
    first, second = ("before", "after") if "before" in names else ("treated", "control")
    shown = [str(x) for x in getattr(result, "labels", (first, second))]
    words = check_labels(labels, [first, second, *shown, "value"])
    groups = [
        words.get(code, words.get(name, GROUP_WORDS.get(name, name)))
        for code, name in zip((first, second), shown, strict=True)
    ]
    scale = 100.0 if "risk_difference" in names else 1.0
    terms = [result.term(first), result.term(second)]
    if first == "treated":  # draw the comparison group first, as "before"
        terms, groups = terms[::-1], groups[::-1]
    ax = new_axes(ax)
    colours = (COMPARISON, TREATED) if first == "treated" else (TREATED, TREATED)
    values = []
    for x, (term, colour) in enumerate(zip(terms, colours, strict=True)):
        y = term.estimate * scale
        values.append(y)
        if not math.isnan(term.conf_low):
            low, high = term.conf_low * scale, term.conf_high * scale
            ax.errorbar(
                x,
                y,
                yerr=[[y - low], [high - y]],
                fmt="o",
                color=colour,
                capsize=6,
                markersize=7,
                linewidth=2,
            )
        else:
            ax.plot(x, y, "o", color=colour, markersize=7)
    ax.plot([0, 1], values, color=TREATED, linewidth=1, linestyle=":")
    ax.set_xticks([0, 1], groups)
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(bottom=0)
    ylabel = words.get("value", _y_label(result, scale))
    if scale == 100.0:
        percent_axis(ax, decimals=0)
    pct = result.percent_change
    level = f"{result.conf_level:.0%}"
    change = "up" if pct.estimate > 0 else "down"
    interval = ""
    if not math.isnan(pct.conf_low):
        ends = (
            sorted(abs(v) for v in (pct.conf_low, pct.conf_high))
            if pct.conf_low * pct.conf_high > 0
            else None
        )
        interval = (
            f" ({level} CI {ends[0]:.1f}% to {ends[1]:.1f}%)"
            if ends is not None
            else f" ({level} CI {pct.conf_low:+.1f}% to {pct.conf_high:+.1f}%)"
        )
    message = f"{groups[1]} compared with {groups[0]}: {change} {abs(pct.estimate):.1f}%{interval}"
    alt = (
        f"Two points with {level} confidence intervals: {groups[0]} {values[0]:,.4g}, "
        f"{groups[1]} {values[1]:,.4g} ({ylabel.lower()}); {message}."
    )
    return finish(
        ax,
        title=title or message,
        xlabel="",
        ylabel=ylabel,
        source=source,
        alt=alt,
        legend=False,
        kind="Dot chart",
    )


def _y_label(result: ResultMixin, scale: float) -> str:
    if scale == 100.0:
        return "Percentage (%)"
    per = getattr(result, "per", 1.0)
    if getattr(result, "is_rate", False):
        return f"Rate per {per:,g}"
    return "Count" if hasattr(result, "per") else "Mean"
