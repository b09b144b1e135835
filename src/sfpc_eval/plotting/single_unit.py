"""Figures of single-council designs: interrupted time series, synthetic control, conformal."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sfpc_eval.plotting._axes import finish_over_time, new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "plot_conformal",
    "plot_its",
    "plot_leave_one_out",
    "plot_placebo_gaps",
    "plot_synthetic",
]


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
    ax = new_axes(ax)
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
    return finish_over_time(ax, result)


def plot_synthetic(result, ax: Axes | None = None) -> Axes:
    """Treated council and its synthetic version, with the leave-one-out refits behind them.

    When the result holds leave-one-out refits (``leave_one_out=True``, the default), each
    synthetic council refitted without one of the donors that had weight is drawn as a thin
    line: a conclusion that rests on one donor shows up as a fan of lines.

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
    ax = new_axes(ax)
    loo = getattr(result, "leave_one_out", None)
    if loo is not None:
        for i, (_, part) in enumerate(loo.groupby("dropped", sort=False)):
            ax.plot(
                part["time"],
                part["synthetic"],
                color="#92c5de",
                linewidth=0.9,
                label="leave one donor out" if i == 0 else None,
            )
    frame = result.gaps
    ax.plot(frame["time"], frame["treated"], "-o", color="#b2182b", label=str(result.treated_unit))
    ax.plot(frame["time"], frame["synthetic"], "--", color="#2166ac", label="synthetic")
    return finish_over_time(ax, result)


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
    return finish_over_time(ax, result, ylabel=f"gap in {result.outcome}")


def plot_leave_one_out(result, ax: Axes | None = None) -> Axes:
    """Synthetic councils refitted without each donor that had positive weight.

    The same figure as :func:`plot_synthetic`, which draws the refits whenever the result has
    them; this function insists on them.

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
    return plot_synthetic(result, ax=ax)


def plot_conformal(result, ax: Axes | None = None) -> Axes:
    """Effect per post period with its conformal interval, and the average's band.

    Parameters
    ----------
    result : ConformalResult
        From :func:`sfpc_eval.single_unit.conformal_inference`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import numpy as np

    ax = new_axes(ax)
    frame = result.periods
    estimate = frame["estimate"].to_numpy()
    # unbounded ends are drawn to the edge of the finite ones and said in the title
    finite = np.concatenate([frame["conf_low"], frame["conf_high"], estimate])
    finite = finite[np.isfinite(finite)]
    low = np.clip(frame["conf_low"].to_numpy(), finite.min(), None)
    high = np.clip(frame["conf_high"].to_numpy(), None, finite.max())
    ax.errorbar(
        frame["time"],
        estimate,
        yerr=[estimate - low, high - estimate],
        fmt="o",
        color="#b2182b",
        capsize=3,
        label=f"effect, {result.conf_level:.0%} conformal interval",
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
            color="#2166ac",
            alpha=0.12,
            label=f"average, {result.conf_level:.0%} interval",
        )
        ax.axhline(average.estimate, color="#2166ac", linewidth=1)
    ax.axhline(0, color="black", linewidth=0.8)
    unbounded = int((~np.isfinite(frame["conf_low"]) | ~np.isfinite(frame["conf_high"])).sum())
    ax.set_title(
        f"no effect in any period: p = {result.p_value:.3f}"
        + (f"; {unbounded} interval(s) unbounded" if unbounded else "")
    )
    ax.set_xlabel(result.time)
    ax.set_ylabel(f"effect on {result.outcome}")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax
