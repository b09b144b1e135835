"""Figures of the impact layer: children a year with both intervals, and the tornado plot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sfpc_eval.plotting._axes import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_impact", "plot_tornado"]

LOW_COLOUR = "#2166ac"
HIGH_COLOUR = "#b2182b"
POINT_COLOUR = "#333333"


def _money(value: float) -> str:
    size = abs(value)
    if size >= 1e9:
        return f"£{value / 1e9:,.2f}bn"
    if size >= 1e6:
        return f"£{value / 1e6:,.1f}m"
    if size >= 1e3:
        return f"£{value / 1e3:,.0f}k"
    return f"£{value:,.0f}"


def plot_impact(result, ax: Axes | None = None) -> Axes:
    """Children (or days) a year with the delta-method and the simulated interval.

    Parameters
    ----------
    result : ChildrenImpact or SavingsResult
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from sfpc_eval.impact import Effect, impact_in_children
    >>> ax = impact_in_children(Effect(-0.086, 0.019, "risk_difference"), 23_000, rng=1).plot()
    >>> ax.get_xlabel()
    'change in children a year (negative = fewer)'
    """
    ax = new_axes(ax)
    unit = result.effect.unit
    change = result.term(f"{unit}_per_year")
    rows = [("delta method", change), ("simulation", result.term(f"{unit}_per_year_simulated"))]
    for y, (_label, term) in enumerate(rows):
        ax.plot([term.conf_low, term.conf_high], [y, y], color=LOW_COLOUR, linewidth=3)
        ax.plot([term.estimate], [y], marker="o", color=POINT_COLOUR)
        ax.annotate(
            f"{term.estimate:,.0f} [{term.conf_low:,.0f}, {term.conf_high:,.0f}]",
            (term.conf_high, y),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(len(rows)), [label for label, _ in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel(f"change in {unit} a year (negative = fewer)")
    ax.set_title(
        f"{abs(change.estimate):,.0f} {'fewer' if change.estimate < 0 else 'more'} "
        f"{unit} a year ({result.conf_level:.0%} intervals)",
        loc="left",
    )
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_tornado(result, ax: Axes | None = None) -> Axes:
    """Tornado plot: savings over the horizon as each input moves to its low and high value.

    Bars start at the central savings; the input with the widest swing is on top. Each bar end
    is labelled with the input value that produced it.

    Parameters
    ----------
    result : SavingsResult
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from sfpc_eval.impact import Effect, Population, UnitCost, estimate_savings
    >>> cost = UnitCost("care", 60_000, "per child per year", source="analyst",
    ...                 price_year=2023, low=50_000, high=70_000)
    >>> res = estimate_savings(Effect(-0.086, 0.019, "risk_difference"), 23_000, cost, rng=1)
    >>> [t.get_text() for t in res.plot().get_yticklabels()]
    ['unit cost: care', 'effect']
    """
    ax = new_axes(ax)
    table = result.sensitivity()
    base = float(result.term("savings_over_horizon").estimate)
    n = len(table)
    for i, row in enumerate(table.itertuples(index=False)):
        y = n - 1 - i
        for value, at, colour in (
            (row.low_input, row.at_low, LOW_COLOUR),
            (row.high_input, row.at_high, HIGH_COLOUR),
        ):
            ax.barh(y, at - base, left=base, color=colour, height=0.6)
            text = f"{value:.3g}" if abs(value) < 1 else f"{value:,.0f}"
            ax.annotate(
                text,
                (at, y),
                xytext=(4 if at >= base else -4, 0),
                textcoords="offset points",
                ha="left" if at >= base else "right",
                va="center",
                fontsize=8,
            )
    ax.set_yticks(range(n), list(table["input"])[::-1])
    ax.axvline(base, color="black", linewidth=1)
    ax.xaxis.set_major_formatter(lambda x, _pos: _money(x))
    years = f"over {result.horizon} years" if result.horizon > 1 else "a year"
    ax.set_xlabel(f"savings {years} (central {_money(base)}); blue = low input, red = high")
    if n:
        top = table.iloc[0]
        ax.set_title(f"The savings depend most on the {top['input']}", loc="left")
    ax.margins(x=0.15)
    ax.grid(axis="x", alpha=0.3)
    return ax
