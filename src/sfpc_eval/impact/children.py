"""From an effect to children (or days) a year, with delta-method and simulated intervals."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from sfpc_eval._validate import check_conf_level
from sfpc_eval.impact._simulate import (
    delta_term,
    disagreement,
    simulate,
    simulation_term,
    start_generator,
)
from sfpc_eval.impact.effects import Effect, as_effect
from sfpc_eval.impact.population import Population
from sfpc_eval.results import ResultMixin, Term

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "ASSUMPTION_COLUMNS",
    "ChildrenImpact",
    "effect_population_rows",
    "impact_in_children",
    "number_needed_to_treat",
    "simulation_row",
]

ASSUMPTION_COLUMNS = ("assumption", "value", "source", "price_year", "uncertainty")
"""Columns of every ``assumptions()`` table."""

SIGN_NOTE = "Negative = fewer children (or days) with the outcome each year than without it."


def effect_population_rows(
    effect: Effect, population: Population, conf_level: float
) -> list[tuple[str, str, str, str, str]]:
    """Rows of the assumptions table for the effect and the population."""
    low, high = effect.interval(conf_level)
    return [
        (
            "effect",
            effect.describe() + (f" ({effect.label})" if effect.label else ""),
            effect.source,
            "",
            f"{conf_level:.0%} CI [{low:.4g}, {high:.4g}]",
        ),
        (
            "population a year",
            f"{population.size:,.0f} ({population.description})",
            population.source,
            "",
            ""
            if population.low is None
            else f"range {population.low:,.0f} to {population.high:,.0f}",
        ),
    ]


def simulation_row(n_draws: int, seed: int | None, what: str) -> tuple[str, str, str, str, str]:
    """Row of the assumptions table for the simulation."""
    seed_text = f", seed {seed}" if seed is not None else ""
    return ("simulation", f"{n_draws:,} draws{seed_text}", "", "", what)


def number_needed_to_treat(effect: Effect, conf_level: float) -> Term | None:
    """Children who must receive the programme for one fewer (or more) with the outcome.

    Meaningful for a change in risk only (``risk_difference``, or ``risk_ratio`` with its
    baseline): ``1 / |risk difference|``. The interval inverts the risk difference's limits when
    they exclude zero (Altman 1998); when they include zero, the number needed to treat is
    unbounded and no interval is given.
    """
    if effect.scale not in ("risk_difference", "risk_ratio"):
        return None
    change = float(effect.per_person())
    if change == 0:
        return Term("number_needed_to_treat", math.inf, note="no change in risk: unbounded")
    low, high = (float(effect.per_person(v)) for v in effect.interval(conf_level))
    estimate = 1 / abs(change)
    if low * high > 0:
        return Term(
            "number_needed_to_treat",
            estimate,
            conf_low=1 / max(abs(low), abs(high)),
            conf_high=1 / min(abs(low), abs(high)),
            method="1 / |risk difference|, limits inverted",
        )
    return Term(
        "number_needed_to_treat",
        estimate,
        method="1 / |risk difference|",
        note="the risk difference's interval includes 0, so the number needed to treat has no "
        "finite interval",
    )


@dataclass(frozen=True)
class ChildrenImpact(ResultMixin):
    """Result of :func:`impact_in_children`.

    Attributes
    ----------
    effect : Effect
        The effect applied.
    population : Population
        What it was applied to.
    conf_level : float
        Confidence level.
    n_draws : int
        Draws of the simulation.
    seed : int or None
        Seed that reproduces the simulation.
    terms : tuple of Term
        ``effect`` (on its own scale), ``children_per_year`` (or ``days_per_year``) with the
        delta-method interval, the same with ``_simulated`` and the percentile interval of the
        simulation, and ``number_needed_to_treat`` for changes in risk.
    """

    effect: Effect
    population: Population
    conf_level: float
    n_draws: int
    seed: int | None
    terms: tuple[Term, ...] = field(repr=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Impact in {self.effect.unit} a year: {self.effect.label or self.effect.scale}"

    @property
    def unit(self) -> str:
        """``"children"`` or ``"days"``."""
        return self.effect.unit

    @property
    def change(self) -> Term:
        """The change in children (or days) a year, delta-method interval."""
        return self.term(f"{self.unit}_per_year")

    @property
    def simulated(self) -> Term:
        """The same change with the simulation's percentile interval."""
        return self.term(f"{self.unit}_per_year_simulated")

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        lines = [
            ("effect", self.effect.describe()),
            ("population", f"{self.population.size:,.0f}: {self.population.description}"),
        ]
        if self.population.source:
            lines.append(("population source", self.population.source))
        if self.effect.source:
            lines.append(("effect source", self.effect.source))
        return lines

    def notes(self) -> list[str]:
        """Lines below the summary table (and whether the two intervals disagree)."""
        gap = disagreement(self.change, self.simulated)
        return [SIGN_NOTE, *([gap] if gap else []), *super().notes()]

    def assumptions(self) -> pd.DataFrame:
        """Return the effect, population and simulation settings, with their sources."""
        rows = effect_population_rows(self.effect, self.population, self.conf_level)
        rows.append(
            simulation_row(self.n_draws, self.seed, "effect drawn from its sampling distribution")
        )
        return pd.DataFrame(rows, columns=list(ASSUMPTION_COLUMNS))

    def _refit(self, conf_level: float) -> ChildrenImpact:
        return impact_in_children(
            self.effect,
            self.population,
            conf_level=conf_level,
            n_draws=self.n_draws,
            rng=self.seed,
            progress=False,
        )

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the delta-method and simulated intervals (see ``plot_impact``)."""
        from sfpc_eval.plotting import plot_impact

        return plot_impact(self, ax=ax)


def _population(population: Population | float | int) -> Population:
    if isinstance(population, Population):
        return population
    return Population(population, "population (as given)")


def impact_in_children(
    effect: Effect | Any,
    population: Population | float,
    *,
    conf_level: float = 0.95,
    n_draws: int = 100_000,
    rng: Any = None,
    progress: bool | None = None,
    **effect_options: Any,
) -> ChildrenImpact:
    """How many children (or days) a year an effect changes in a population.

    The change is ``per_person(effect) * population``: a risk difference times the children at
    risk a year; a rate difference per ``per`` times the children (child-years); a ratio minus
    one times the baseline risk or rate; a difference in days times the children.

    Parameters
    ----------
    effect : Effect, result or Term
        The effect (see :func:`~sfpc_eval.impact.as_effect` for results and terms).
    population : Population or float
        How many children (child-years, families) a year it applies to.
    conf_level : float, default 0.95
        Confidence level of both intervals.
    n_draws : int, default 100,000
        Draws from the effect's sampling distribution (normal, t, or normal on the log scale for
        ratios).
    rng : int, Generator or None
        Seed. None draws fresh entropy and records it in ``seed``.
    progress : bool, optional
        Progress bar; by default shown from a million draws.
    **effect_options
        ``term``, ``scale``, ``per``, ``baseline``, ``label``: passed to ``as_effect``.

    Returns
    -------
    ChildrenImpact

    Raises
    ------
    EffectScaleError
        The effect's scale cannot be turned into children (the message says which can).
    InvalidValueError
        A negative population, a ratio without its baseline...

    Notes
    -----
    The delta-method interval is ``change +- z * |d change / d effect| * SE``. For differences
    the change is linear in the effect, so the simulated percentile interval estimates the same
    interval and differs only by Monte Carlo error; for ratios the change is ``baseline *
    (exp(log ratio) - 1)``, so the simulated interval is asymmetric and the two agree only to
    first order (closely when the log ratio's SE is small).

    Examples
    --------
    >>> from sfpc_eval.impact import Effect, Population, impact_in_children
    >>> fgc = Effect(-0.086, 0.019, "risk_difference", label="looked after at 12 months")
    >>> res = impact_in_children(fgc, Population(23_000, "children in pre-proceedings a year"),
    ...                          rng=1)
    >>> round(res.change.estimate), [round(x) for x in (res.change.conf_low, res.change.conf_high)]
    (-1978, [-2835, -1121])
    >>> round(res.term("number_needed_to_treat").estimate, 1)
    11.6
    """
    level = check_conf_level(conf_level)
    eff = as_effect(effect, **effect_options)
    pop = _population(population)
    generator, seed = start_generator(rng)
    z = eff.critical_value(level)
    n = pop.size
    unit = eff.unit
    change = float(eff.per_person()) * n
    se = eff.per_person_std_error() * n
    low, high = eff.interval(level)
    terms = [
        Term(
            "effect",
            eff.estimate,
            std_error=eff.std_error,
            conf_low=low,
            conf_high=high,
            method="as given" + (" (SE of the log ratio)" if eff.is_ratio else ""),
        ),
        delta_term(f"{unit}_per_year", change, se, z, eff.df),
    ]
    draws = simulate(
        lambda g, size: {"change": eff.per_person(eff.draws(g, size)) * n},
        n_draws,
        generator,
        progress,
    )
    terms.append(
        simulation_term(f"{unit}_per_year_simulated", change, draws["change"], level, seed)
    )
    nnt = number_needed_to_treat(eff, level)
    if nnt is not None:
        terms.append(nnt)
    return ChildrenImpact(
        effect=eff,
        population=pop,
        conf_level=level,
        n_draws=len(draws["change"]),
        seed=seed,
        terms=tuple(terms),
    )
