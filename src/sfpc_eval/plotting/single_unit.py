"""Figures of single-council designs: interrupted time series, synthetic control, conformal.

Every function takes ``labels`` (words for the outcome, the time column, the council or a
series: ``"observed"``, ``"fitted"``, ``"counterfactual"``, ``"synthetic"``, ``"placebo"``,
``"leave_one_out"``, ``"gap"``), ``title`` (the main message) and ``source`` (the line
under the chart).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.plotting.layout import finish
from sfpc_eval.plotting.over_time import shade_periods
from sfpc_eval.plotting.style import (
    COMPARISON,
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

__all__ = [
    "plot_conformal",
    "plot_its",
    "plot_leave_one_out",
    "plot_placebo_gaps",
    "plot_synthetic",
]

OBSERVED_GID = "observed-points"
"""Group id of the observed points of an interrupted time series (named in SVG output)."""

SERIES = ("observed", "fitted", "counterfactual", "synthetic", "placebo", "leave_one_out", "gap")


def _words(result: Any, labels: Mapping[str, str] | None) -> dict[str, str]:
    names = [result.outcome, result.time, *SERIES]
    unit = getattr(result, "treated_unit", None)
    if unit is not None:
        names.append(str(unit))
    return check_labels(labels, names)


def _finish(
    ax: Axes,
    result: Any,
    words: Mapping[str, str],
    *,
    title: str | None,
    default: str,
    source: str | None,
    ylabel: str | None = None,
) -> Axes:
    """Mark the start, word the axes and finish in the house style."""
    context(
        ax.axvline(result.start, color=TEXT, linestyle="--", linewidth=1, label=None),
    )
    ax.annotate(
        f"Programme starts ({result.start})",
        xy=(result.start, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(3, -2),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=8.5,
        color=TEXT,
    )
    return finish(
        ax,
        title=title or default,
        xlabel=words.get(result.time, word(result.time)),
        ylabel=ylabel or words.get(result.outcome, word(result.outcome)),
        source=source,
        direct=False,
        kind="Line chart",
    )


def plot_its(
    result,
    ax: Axes | None = None,
    *,
    hide: Sequence[bool] | None = None,
    shade: Sequence[tuple[Any, Any, str]] = (),
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Observed series, fitted segments, and the counterfactual with the effect's band.

    Parameters
    ----------
    result : ItsResult
        From :func:`sfpc_eval.its`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    hide : sequence of bool, optional
        Periods whose observed value is not shown (statistical disclosure control: counts
        from fewer children than a threshold), one per row of ``result.projection``. They are
        left out of the drawing and of the alt text.
    shade : sequence of (start, end, label)
        Periods to shade (dates or axis numbers), clipped to the data's range, as in
        :func:`~sfpc_eval.plotting.plot_rates`.
    labels, title, source : optional
        See the module.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidValueError
        ``hide`` does not have one entry per period.
    """
    words = _words(result, labels)
    frame = result.projection
    observed = frame["observed"].to_numpy(dtype=float)
    if hide is not None:
        mask = np.asarray(hide, dtype=bool)
        if mask.shape != observed.shape:
            raise InvalidValueError(
                f"`hide` needs one entry per period ({len(observed)}); got {mask.size}."
            )
        observed = np.where(mask, np.nan, observed)
    ax = new_axes(ax)
    times = frame["time"].to_numpy(dtype=float)
    shade_periods(ax, shade, span=(float(times.min()), float(times.max())))
    post = frame["effect"].notna().to_numpy()
    (points,) = ax.plot(
        frame["time"],
        observed,
        "o",
        color=PALETTE["dark_grey"],
        markersize=5,
        label=words.get("observed", word("observed")),
    )
    points.set_gid(OBSERVED_GID)
    fitted = words.get("fitted", word("fitted"))
    ax.plot(frame["time"][~post], frame["fitted"][~post], color=TREATED, lw=2, label=fitted)
    ax.plot(frame["time"][post], frame["fitted"][post], color=TREATED, lw=2)
    ax.plot(
        frame["time"][post],
        frame["counterfactual"][post],
        "--",
        color=COMPARISON,
        lw=2,
        label=words.get("counterfactual", word("counterfactual")),
    )
    ax.fill_between(
        frame["time"][post],
        (frame["fitted"] - frame["effect_high"])[post],
        (frame["fitted"] - frame["effect_low"])[post],
        color=COMPARISON,
        alpha=0.15,
        linewidth=0,
        label=f"{result.conf_level:.0%} interval of the continued trend",
    )
    return _finish(
        ax,
        result,
        words,
        title=title,
        default=f"{word(result.outcome, words)} against the trend before the programme",
        source=source,
    )


def plot_synthetic(
    result,
    ax: Axes | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Treated council and its synthetic version, with the leave-one-out refits behind them.

    When the result holds leave-one-out refits (``leave_one_out=True``, the default), each
    synthetic council refitted without one of the donors that had weight is drawn as a thin
    line: a conclusion that rests on one donor shows up as a fan of lines. The start of the
    programme is marked.

    Parameters
    ----------
    result : SyntheticControlResult
        From :func:`sfpc_eval.synthetic_control`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    labels, title, source : optional
        See the module.

    Returns
    -------
    matplotlib.axes.Axes
    """
    words = _words(result, labels)
    ax = new_axes(ax)
    _draw_leave_one_out(ax, result, words)
    _draw_synthetic(ax, result, words)
    name = words.get(str(result.treated_unit), str(result.treated_unit))
    return _finish(
        ax,
        result,
        words,
        title=title,
        default=f"{name} and its synthetic council: {word(result.outcome, words, lower=True)}",
        source=source,
    )


def _draw_leave_one_out(ax: Axes, result: Any, words: Mapping[str, str]) -> None:
    loo = getattr(result, "leave_one_out", None)
    if loo is None:
        return
    for i, (_, part) in enumerate(loo.groupby("dropped", sort=False)):
        ax.plot(
            part["time"],
            part["synthetic"],
            color=PALETTE["light_blue"],
            linewidth=1,
            label=words.get("leave_one_out", word("leave_one_out")) if i == 0 else None,
        )


def _draw_synthetic(ax: Axes, result: Any, words: Mapping[str, str]) -> None:
    frame = result.gaps
    name = words.get(str(result.treated_unit), str(result.treated_unit))
    ax.plot(frame["time"], frame["treated"], "-o", color=TREATED, lw=2, ms=4, label=name)
    ax.plot(
        frame["time"],
        frame["synthetic"],
        "--",
        color=COMPARISON,
        lw=2,
        label=words.get("synthetic", word("synthetic")),
    )


def plot_placebo_gaps(
    result,
    ax: Axes | None = None,
    *,
    exclude_pre_rmspe_above: float | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
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
    labels, title, source : optional
        See the module.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from sfpc_eval.errors import DesignError

    if result.placebo_gaps is None:
        raise DesignError("no placebo gaps: call synthetic_control with `placebo=True`.")
    words = _words(result, labels)
    ax = new_axes(ax)
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
            color=CONTEXT,
            linewidth=0.9,
            label=words.get("placebo", word("placebo")) if i == 0 else None,
        )
    own = gaps[gaps["unit"] == result.treated_unit]
    name = words.get(str(result.treated_unit), str(result.treated_unit))
    ax.plot(own["time"], own["gap"], color=TREATED, linewidth=2.2, label=name)
    context(ax.axhline(0, color=TEXT, linewidth=0.8))
    dropped = len(table) - 1 - len(kept)
    default = f"{name}'s gap against {len(kept)} placebo councils: p = {result.p_value:.3f}"
    if dropped:
        default += f" ({dropped} poorly fitting placebos not shown)"
    return _finish(
        ax,
        result,
        words,
        title=title,
        default=default,
        source=source,
        ylabel=words.get("gap", word("gap")),
    )


def plot_leave_one_out(
    result,
    ax: Axes | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Synthetic councils refitted without each donor that had positive weight.

    The same figure as :func:`plot_synthetic`, which draws the refits whenever the result has
    them; this function insists on them.

    Parameters
    ----------
    result : SyntheticControlResult
        From :func:`sfpc_eval.synthetic_control` with ``leave_one_out=True``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    labels, title, source : optional
        See the module.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from sfpc_eval.errors import DesignError

    if result.leave_one_out is None:
        raise DesignError("no leave-one-out refits: call with `leave_one_out=True`.")
    return plot_synthetic(
        result,
        ax=ax,
        labels=labels,
        title=title or "The synthetic council without each of its donors in turn",
        source=source,
    )


def plot_conformal(
    result,
    ax: Axes | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Effect per post period with its conformal interval, and the average's band.

    Parameters
    ----------
    result : ConformalResult
        From :func:`sfpc_eval.single_unit.conformal_inference`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    labels, title, source : optional
        See the module (``labels`` may word the outcome and the time column).

    Returns
    -------
    matplotlib.axes.Axes
    """
    words = check_labels(labels, [result.outcome, result.time])
    ax = new_axes(ax)
    frame = result.periods
    estimate = frame["estimate"].to_numpy(dtype=float)
    # unbounded ends are drawn to the edge of the finite ones and said in the title
    finite = np.concatenate([frame["conf_low"], frame["conf_high"], estimate])
    finite = finite[np.isfinite(finite)]
    low = np.clip(frame["conf_low"].to_numpy(dtype=float), finite.min(), None)
    high = np.clip(frame["conf_high"].to_numpy(dtype=float), None, finite.max())
    ax.errorbar(
        frame["time"],
        estimate,
        yerr=[estimate - low, high - estimate],
        fmt="o",
        color=TREATED,
        capsize=3,
        label=f"Effect, {result.conf_level:.0%} conformal interval",
    )
    terms = {t.term: t for t in result.terms}
    if (
        "average" in terms
        and np.isfinite([terms["average"].conf_low, terms["average"].conf_high]).all()
    ):
        average = terms["average"]
        ax.axhspan(
            average.conf_low,
            average.conf_high,
            color=COMPARISON,
            alpha=0.15,
            linewidth=0,
            label=f"Average effect, {result.conf_level:.0%} interval",
        )
        ax.axhline(average.estimate, color=COMPARISON, linewidth=1.2)
    context(ax.axhline(0, color=TEXT, linewidth=0.8))
    unbounded = int((~np.isfinite(frame["conf_low"]) | ~np.isfinite(frame["conf_high"])).sum())
    default = f"No effect in any period: p = {result.p_value:.3f}" + (
        f"; {unbounded} interval(s) unbounded" if unbounded else ""
    )
    outcome = words.get(result.outcome, word(result.outcome, lower=True))
    return finish(
        ax,
        title=title or default,
        xlabel=words.get(result.time, word(result.time)),
        ylabel=f"Effect on {outcome}",
        source=source,
        kind="Interval chart",
    )
