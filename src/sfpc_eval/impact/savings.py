"""From an effect to money: savings a year and over a horizon, with their uncertainty.

Savings a year are ``-(change in children) * unit cost - programme cost per child * population``:
fewer children in care times what a child in care costs, less what the programme costs. Over a
horizon of ``H`` years each year's savings are discounted by ``1 / (1 + r) ** t``
(``t = 0 .. H - 1``). The interval combines the effect's and the costs' uncertainty, by the delta
method and by a seeded simulation; :meth:`SavingsResult.sensitivity` varies one input at a time
and :meth:`SavingsResult.plot` draws the tornado.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sfpc_eval._validate import check_conf_level, check_number
from sfpc_eval.errors import InvalidValueError, UnitCostError
from sfpc_eval.impact._simulate import (
    delta_term,
    disagreement,
    simulate,
    simulation_term,
    start_generator,
)
from sfpc_eval.impact.children import (
    ASSUMPTION_COLUMNS,
    SIGN_NOTE,
    _population,
    effect_population_rows,
    number_needed_to_treat,
    simulation_row,
)
from sfpc_eval.impact.costs import UnitCost, discount_factors
from sfpc_eval.impact.effects import Effect, as_effect
from sfpc_eval.impact.population import Population
from sfpc_eval.results import ResultMixin, Term

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ASSUMPTION_COLUMNS", "SENSITIVITY_COLUMNS", "SavingsResult", "estimate_savings"]

SENSITIVITY_COLUMNS = ("input", "low_input", "high_input", "at_low", "at_high", "swing", "base")


@dataclass(frozen=True)
class SavingsResult(ResultMixin):
    """Result of :func:`estimate_savings`.

    Attributes
    ----------
    effect, population, unit_cost, programme_cost, horizon, discount_rate
        The inputs (``programme_cost`` may be None).
    discount_rates : tuple of float or None
        The discount rates the sensitivity table tries.
    conf_level, n_draws, seed
        As for :class:`~sfpc_eval.impact.ChildrenImpact`.
    terms : tuple of Term
        ``children_per_year`` (or ``days_per_year``), ``savings_per_year`` and
        ``savings_over_horizon`` (discounted), each with a delta-method interval and again with
        ``_simulated`` and the simulation's percentile interval; ``number_needed_to_treat``
        for changes in risk.
    """

    effect: Effect
    population: Population
    unit_cost: UnitCost
    programme_cost: UnitCost | None
    horizon: int
    discount_rate: float
    discount_rates: tuple[float, float] | None
    conf_level: float
    n_draws: int
    seed: int | None
    terms: tuple[Term, ...] = field(repr=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Savings: {self.effect.label or self.effect.scale}"

    @property
    def annuity(self) -> float:
        """Sum of the discount factors over the horizon."""
        return float(discount_factors(self.discount_rate, self.horizon).sum())

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        cost = self.unit_cost
        lines = [
            ("effect", self.effect.describe()),
            ("population", f"{self.population.size:,.0f}: {self.population.description}"),
            (
                "unit cost",
                f"£{cost.amount:,.0f} {cost.unit} ({cost.price_year} prices; {cost.source})",
            ),
        ]
        if self.programme_cost is not None:
            prog = self.programme_cost
            lines.append(
                ("programme cost", f"£{prog.amount:,.0f} {prog.unit} ({prog.price_year} prices)")
            )
        lines.append(
            ("horizon", f"{self.horizon} year(s), discounted at {self.discount_rate:.1%} a year")
        )
        return lines

    def notes(self) -> list[str]:
        """Lines below the summary table."""
        extra = []
        for cost in (self.unit_cost, self.programme_cost):
            if cost is not None and not math.isclose(cost.mean, cost.amount, rel_tol=1e-9):
                extra.append(
                    f"{cost.name}: the simulation draws around the distribution's mean "
                    f"£{cost.mean:,.0f}, not the amount £{cost.amount:,.0f}."
                )
        for name in (f"{self.effect.unit}_per_year", "savings_over_horizon"):
            gap = disagreement(self.term(name), self.term(f"{name}_simulated"))
            if gap:
                extra.append(gap)
        return [
            SIGN_NOTE,
            "Savings are positive when the programme saves money.",
            *extra,
            *super().notes(),
        ]

    def _refit(self, conf_level: float) -> SavingsResult:
        return estimate_savings(
            self.effect,
            self.population,
            self.unit_cost,
            programme_cost=self.programme_cost,
            horizon=self.horizon,
            discount_rate=self.discount_rate,
            discount_rates=self.discount_rates,
            conf_level=conf_level,
            n_draws=self.n_draws,
            rng=self.seed,
            progress=False,
        )

    def assumptions(self) -> pd.DataFrame:
        """Every input, with its source, price year and uncertainty (:data:`ASSUMPTION_COLUMNS`)."""
        rows = effect_population_rows(self.effect, self.population, self.conf_level)
        for label, cost in (("unit cost", self.unit_cost), ("programme cost", self.programme_cost)):
            if cost is None:
                continue
            source = cost.source + (f" ({cost.note})" if cost.note else "")
            rows.append(
                (
                    f"{label}: {cost.name}",
                    f"£{cost.amount:,.0f} {cost.unit}",
                    source,
                    str(cost.price_year),
                    cost.uncertainty(),
                )
            )
        rows += [
            ("horizon", f"{self.horizon} year(s)", "", "", ""),
            (
                "discount rate",
                f"{self.discount_rate:.1%} a year (first year undiscounted)",
                "",
                "",
                ""
                if self.discount_rates is None
                else f"sensitivity {self.discount_rates[0]:.1%} to {self.discount_rates[1]:.1%}",
            ),
            simulation_row(self.n_draws, self.seed, "effect and costs drawn independently"),
        ]
        return pd.DataFrame(rows, columns=list(ASSUMPTION_COLUMNS))

    def _total(self, **changes: Any) -> float:
        eff = changes.get("effect", self.effect)
        theta = changes.get("theta", eff.estimate)
        n = changes.get("population", self.population.size)
        cost = changes.get("unit_cost", self.unit_cost.amount)
        prog = changes.get(
            "programme_cost", 0.0 if self.programme_cost is None else self.programme_cost.amount
        )
        rate = changes.get("discount_rate", self.discount_rate)
        annuity = float(discount_factors(rate, self.horizon).sum())
        change = float(eff.per_person(theta)) * n
        return (-change * cost - prog * n) * annuity

    def sensitivity(self) -> pd.DataFrame:
        """One-way sensitivity of the savings over the horizon (:data:`SENSITIVITY_COLUMNS`).

        Each input is set to the low and high end of its uncertainty with the others at their
        central values: the effect at its confidence limits, the population at its range (where
        given), each cost at its range or its distribution's central ``conf_level`` interval,
        the discount rate at ``discount_rates`` (where given). Rows are sorted by swing, largest
        first: the order of the tornado plot.
        """
        base = self._total()
        rows = []
        low, high = self.effect.interval(self.conf_level)
        rows.append(("effect", low, high, self._total(theta=low), self._total(theta=high)))
        pop = self.population
        if pop.low is not None:
            rows.append(
                (
                    "population",
                    pop.low,
                    pop.high,
                    self._total(population=pop.low),
                    self._total(population=pop.high),
                )
            )
        for key, cost in (("unit_cost", self.unit_cost), ("programme_cost", self.programme_cost)):
            if cost is None or cost.distribution == "fixed":
                continue
            c_low, c_high = cost.quantiles(self.conf_level)
            rows.append(
                (
                    f"{key.replace('_', ' ')}: {cost.name}",
                    c_low,
                    c_high,
                    self._total(**{key: c_low}),
                    self._total(**{key: c_high}),
                )
            )
        if self.discount_rates is not None and self.horizon > 1:
            r_low, r_high = self.discount_rates
            rows.append(
                (
                    "discount rate",
                    r_low,
                    r_high,
                    self._total(discount_rate=r_low),
                    self._total(discount_rate=r_high),
                )
            )
        frame = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS[:5]))
        frame["swing"] = (frame["at_high"] - frame["at_low"]).abs()
        frame["base"] = base
        return frame.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Tornado plot of :meth:`sensitivity` (see ``plot_tornado``)."""
        from sfpc_eval.plotting import plot_tornado

        return plot_tornado(self, ax=ax)


def _check_cost(cost: object, name: str) -> UnitCost:
    if not isinstance(cost, UnitCost):
        raise UnitCostError(
            f"`{name}` must be a UnitCost (an amount with its unit, source and price year); got "
            f"{type(cost).__name__}. The library never invents a unit cost."
        )
    return cost


def _check_rates(rates: object) -> tuple[float, float] | None:
    if rates is None:
        return None
    values = tuple(rates)  # type: ignore[call-overload]
    if len(values) != 2:
        raise InvalidValueError(f"`discount_rates` must be (low, high); got {rates!r}.")
    for value in values:
        discount_factors(value, 1)
    return float(values[0]), float(values[1])


def estimate_savings(
    effect: Effect | Any,
    population: Population | float,
    unit_cost: UnitCost,
    *,
    programme_cost: UnitCost | None = None,
    horizon: int = 1,
    discount_rate: float = 0.0,
    discount_rates: tuple[float, float] | None = None,
    conf_level: float = 0.95,
    n_draws: int = 100_000,
    rng: Any = None,
    progress: bool | None = None,
    **effect_options: Any,
) -> SavingsResult:
    """Estimate savings a year and over a horizon from an effect, a population and a unit cost.

    Parameters
    ----------
    effect : Effect, result or Term
        The effect (see :func:`~sfpc_eval.impact.as_effect`).
    population : Population or float
        Children (child-years, families) a year it applies to.
    unit_cost : UnitCost
        Cost of one child with the outcome (a year in care, a day in care...), with its source,
        price year and uncertainty. Inflate it first (:func:`~sfpc_eval.impact.inflate`) so all
        costs are in one price year.
    programme_cost : UnitCost, optional
        Cost of the programme per child (or family) of the population; subtracted.
    horizon : int, default 1
        Years the savings run for (each year the same, discounted).
    discount_rate : float, default 0
        Annual discount rate in [0, 1); 0.035 is the HM Treasury Green Book rate.
    discount_rates : (float, float), optional
        Low and high discount rates for the sensitivity table.
    conf_level, n_draws, rng, progress, **effect_options
        As for :func:`~sfpc_eval.impact.impact_in_children`.

    Returns
    -------
    SavingsResult

    Raises
    ------
    UnitCostError
        A cost that is not a :class:`UnitCost` (so has no source or price year), or costs in
        different price years.
    InvalidValueError
        A discount rate outside [0, 1), a horizon below one year, a negative population.

    Notes
    -----
    The delta-method variance of the savings a year is
    ``(N c SE_g)^2 + (N g sd_c)^2 + (N sd_k)^2``, with ``g`` the change per child, ``c`` the
    unit cost and ``k`` the programme cost per child (independent inputs, first order). With a
    fixed cost and a normal effect the savings are exactly normal and this interval is exact.

    Examples
    --------
    >>> from sfpc_eval.impact import Effect, Population, UnitCost, estimate_savings
    >>> cost = UnitCost("child in care for a year", 60_000, "per child per year",
    ...                 source="illustrative figure supplied by the analyst", price_year=2023)
    >>> res = estimate_savings(Effect(-0.086, 0.019, "risk_difference"),
    ...                        Population(23_000, "children in pre-proceedings a year"),
    ...                        cost, horizon=2, discount_rate=0.035, rng=1)
    >>> round(res.term("savings_per_year").estimate / 1e6, 1)
    118.7
    >>> round(res.term("savings_over_horizon").estimate / 1e6, 1)
    233.3
    """
    level = check_conf_level(conf_level)
    eff = as_effect(effect, **effect_options)
    pop = _population(population)
    cost = _check_cost(unit_cost, "unit_cost")
    prog = None if programme_cost is None else _check_cost(programme_cost, "programme_cost")
    if prog is not None and prog.price_year != cost.price_year:
        raise UnitCostError(
            f"`unit_cost` is in {cost.price_year} prices and `programme_cost` in "
            f"{prog.price_year} prices; inflate one with `inflate()` so both are in one year."
        )
    factors = discount_factors(check_number(discount_rate, "discount_rate"), horizon)
    rates = _check_rates(discount_rates)
    annuity = float(factors.sum())
    generator, seed = start_generator(rng)
    z = eff.critical_value(level)
    n = pop.size
    g, se_g = float(eff.per_person()), eff.per_person_std_error()
    c, sd_c = cost.amount, cost.std_dev
    k, sd_k = (0.0, 0.0) if prog is None else (prog.amount, prog.std_dev)
    change = g * n
    per_year = -change * c - k * n
    se_year = n * math.sqrt((c * se_g) ** 2 + (g * sd_c) ** 2 + sd_k**2)
    unit = eff.unit

    def draw(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        children = eff.per_person(eff.draws(rng, size)) * n
        year = -children * cost.draws(rng, size)
        if prog is not None:
            year = year - prog.draws(rng, size) * n
        return {"children": children, "year": year}

    draws = simulate(draw, n_draws, generator, progress)
    terms = (
        delta_term(f"{unit}_per_year", change, abs(se_g) * n, z, eff.df),
        simulation_term(f"{unit}_per_year_simulated", change, draws["children"], level, seed),
        delta_term("savings_per_year", per_year, se_year, z, eff.df),
        simulation_term("savings_per_year_simulated", per_year, draws["year"], level, seed),
        delta_term("savings_over_horizon", per_year * annuity, se_year * annuity, z, eff.df),
        simulation_term(
            "savings_over_horizon_simulated",
            per_year * annuity,
            draws["year"] * annuity,
            level,
            seed,
        ),
    )
    nnt = number_needed_to_treat(eff, level)
    if nnt is not None:
        terms = (*terms[:2], nnt, *terms[2:])
    return SavingsResult(
        effect=eff,
        population=pop,
        unit_cost=cost,
        programme_cost=prog,
        horizon=int(horizon),
        discount_rate=float(discount_rate),
        discount_rates=rates,
        conf_level=level,
        n_draws=len(draws["year"]),
        seed=seed,
        terms=terms,
    )
