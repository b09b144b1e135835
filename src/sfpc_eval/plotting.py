"""Matplotlib figures. Every function takes an optional ``ax`` and returns the Axes it drew on.

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

from sfpc_eval.evidence import admissible, audit, load_registry

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sfpc_eval.results import ResultMixin

__all__ = [
    "plot_claims",
    "plot_comparison",
    "plot_its",
    "plot_leave_one_out",
    "plot_placebo_gaps",
    "plot_synthetic",
    "plot_trends",
]

STATUS_COLOURS = {
    "reproduced": "#1b7837",
    "wording does not hold": "#b2182b",
    "conflict": "#e08214",
    "stated only": "#878787",
}
PERCENT_METRICS = ("percent_reduction", "percent_change", "difference_pp")


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=(6, 3.5))
    return new


def _finish_over_time(ax: Axes, result, ylabel: str | None = None) -> Axes:
    """Mark ``result.start``, label the axes from the result's columns, add legend and grid."""
    ax.axvline(result.start, color="black", linestyle=":", linewidth=1)
    ax.set_xlabel(result.time)
    ax.set_ylabel(result.outcome if ylabel is None else ylabel)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax


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
    ax = _axes(ax)
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


def plot_claims(
    table: pd.DataFrame | None = None,
    ax: Axes | None = None,
    *,
    metrics: tuple[str, ...] = PERCENT_METRICS,
) -> Axes:
    """Compare re-derived values with what each published wording allows.

    One row per claim that could be recomputed: the shaded bar is the range the wording allows,
    the dot and line the recomputed value and its interval, coloured by status.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        Output of :func:`sfpc_eval.evidence.audit`; computed if omitted.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    metrics : tuple of str
        Claim metrics to draw (they must share a scale); percentages by default.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if table is None:
        table = audit()
    registry = load_registry()
    rows = table[table["metric"].isin(metrics) & table["recomputed"].notna()]
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.2))
    finite_values = [
        v
        for v in rows[["recomputed", "conf_low", "conf_high"]].to_numpy().ravel()
        if math.isfinite(v)
    ]
    span = (min([*finite_values, 0.0]), max([*finite_values, 0.0]))
    for y, row in enumerate(rows.itertuples(index=False)):
        claim = registry[row.id]
        allowed = admissible(claim.rule, claim.value, decimals=claim.decimals)
        low = max(allowed.low, span[0] - 10)
        high = min(allowed.high, span[1] + 10)
        if claim.rule != "significant":
            ax.barh(y, high - low, left=low, height=0.6, color="#d9d9d9", zorder=1)
        colour = STATUS_COLOURS.get(row.status, "black")
        if math.isfinite(row.conf_low):
            ax.hlines(y, row.conf_low, row.conf_high, color=colour, zorder=2)
        ax.plot(row.recomputed, y, "o", color=colour, zorder=3)
    ax.margins(x=0.05)
    ax.set_yticks(range(len(rows)), list(rows["id"]))
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_xlabel("recomputed value (%, or pp); grey: range the published wording allows")
    ax.set_title("Published claims against their re-derived values")
    return ax


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
    ax = _axes(ax)
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


def plot_its(result, ax: Axes | None = None) -> Axes:
    """Observed series, fitted segments, and the counterfactual with the effect's band.

    Parameters
    ----------
    result : ItsResult
        From :func:`sfpc_eval.its`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    frame = result.projection
    post = frame["effect"].notna().to_numpy()
    ax.plot(frame["time"], frame["observed"], "o", color="#404040", label="observed")
    ax.plot(frame["time"][~post], frame["fitted"][~post], color="#2166ac", label="fitted")
    ax.plot(frame["time"][post], frame["fitted"][post], color="#2166ac")
    ax.plot(
        frame["time"][post],
        frame["counterfactual"][post],
        "--",
        color="#b2182b",
        label="counterfactual (trend before)",
    )
    ax.fill_between(
        frame["time"][post],
        (frame["fitted"] - frame["effect_high"])[post],
        (frame["fitted"] - frame["effect_low"])[post],
        color="#b2182b",
        alpha=0.15,
        label=f"{result.conf_level:.0%} interval",
    )
    return _finish_over_time(ax, result)


def plot_synthetic(result, ax: Axes | None = None) -> Axes:
    """Treated council and its synthetic version, with the start of the programme marked.

    Parameters
    ----------
    result : SyntheticControlResult
        From :func:`sfpc_eval.synthetic_control`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    frame = result.gaps
    ax.plot(frame["time"], frame["treated"], "-o", color="#b2182b", label=str(result.treated_unit))
    ax.plot(frame["time"], frame["synthetic"], "--", color="#2166ac", label="synthetic")
    return _finish_over_time(ax, result)


def plot_placebo_gaps(
    result, ax: Axes | None = None, *, exclude_pre_rmspe_above: float | None = None
) -> Axes:
    """Gap (treated minus synthetic) of the treated council against every placebo council.

    Parameters
    ----------
    result : SyntheticControlResult
        From :func:`sfpc_eval.synthetic_control` with ``placebo=True``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    exclude_pre_rmspe_above : float, optional
        Leave out placebos whose pre-period RMSPE is more than this multiple of the treated
        council's (Abadie, Diamond and Hainmueller drop pre-period MSPE above 5 times, i.e.
        RMSPE above ``sqrt(5)`` times, the treated council's).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from sfpc_eval.errors import DesignError

    if result.placebo_gaps is None:
        raise DesignError("no placebo gaps: call synthetic_control with `placebo=True`.")
    ax = _axes(ax)
    table = result.placebo.set_index("unit")
    limit = math.inf
    if exclude_pre_rmspe_above is not None:
        limit = exclude_pre_rmspe_above * result.pre_rmspe
    kept = [u for u in table.index[1:] if table.loc[u, "pre_rmspe"] <= limit]
    gaps = result.placebo_gaps
    for i, name in enumerate(kept):
        part = gaps[gaps["unit"] == name]
        ax.plot(
            part["time"],
            part["gap"],
            color="#bababa",
            linewidth=0.8,
            label="placebo councils" if i == 0 else None,
        )
    own = gaps[gaps["unit"] == result.treated_unit]
    ax.plot(own["time"], own["gap"], color="#b2182b", linewidth=2, label=str(result.treated_unit))
    ax.axhline(0, color="black", linewidth=0.8)
    dropped = len(table) - 1 - len(kept)
    title = f"placebo p = {result.p_value:.3f}"
    if dropped:
        title += f" ({dropped} poorly fitting placebos not shown)"
    ax.set_title(title)
    return _finish_over_time(ax, result, ylabel=f"gap in {result.outcome}")


def plot_leave_one_out(result, ax: Axes | None = None) -> Axes:
    """Synthetic councils refitted without each donor that had positive weight.

    Parameters
    ----------
    result : SyntheticControlResult
        From :func:`sfpc_eval.synthetic_control` with ``leave_one_out=True``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from sfpc_eval.errors import DesignError

    if result.leave_one_out is None:
        raise DesignError("no leave-one-out refits: call with `leave_one_out=True`.")
    ax = _axes(ax)
    for i, (_, part) in enumerate(result.leave_one_out.groupby("dropped", sort=False)):
        ax.plot(
            part["time"],
            part["synthetic"],
            color="#92c5de",
            linewidth=0.9,
            label="leave one donor out" if i == 0 else None,
        )
    plot_synthetic(result, ax=ax)
    return ax
