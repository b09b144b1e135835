"""Re-derive published extrapolations (children a year, savings) with the impact layer.

A claim with an ``[impact]`` table states a number of children or an amount of money reached by
applying an effect (another claim's published rates) to a population, and for savings a unit
cost over a horizon. When every input was published the figure is recomputed with
:func:`sfpc_eval.impact.impact_in_children` or :func:`sfpc_eval.impact.estimate_savings`; when
one was not, the claim stays stated only, names what is missing, and says what the missing input
would have to be for the published figure to hold.
"""

from __future__ import annotations

import math
from typing import Any

from sfpc_eval.evidence.registry import Claim, Registry
from sfpc_eval.evidence.wording import Admissible
from sfpc_eval.impact import Effect, Population, UnitCost, as_effect, estimate_savings
from sfpc_eval.impact import impact_in_children as children_a_year
from sfpc_eval.results import ResultMixin

__all__ = ["extrapolation_effect", "reproduce_extrapolation"]

_STATED_ONLY = "stated only"
_CONFLICT = "conflict"
_REPRODUCED = "reproduced"
_WORDING_FAILS = "wording does not hold"
_DRAWS = 1_000  # the registry reads the delta-method interval; the simulation is not used
_SEED = 0


def extrapolation_effect(claim: Claim, registry: Registry, result: ResultMixin) -> Effect:
    """Return the effect an extrapolation applies: the effect claim's inputs, through the estimator.

    ``result`` is the effect claim's inputs run through their estimator
    (:func:`~sfpc_eval.evidence.estimate_from_inputs`). Where they give no interval (shares
    published without group sizes), the effect is taken as known (standard error 0) and the
    label says so.
    """
    impact = claim.impact
    if impact is None:
        raise ValueError(f"claim {claim.id!r} has no [impact] table")
    source = registry[impact.effect_claim]
    term = {
        "risk_difference": "risk_difference",
        "risk_ratio": "risk_ratio",
        "days_difference": "difference",
        "rate_difference": "difference",
        "rate_ratio": "rate_ratio",
    }[impact.scale]
    chosen = result.term(term)
    label = f"{term.replace('_', ' ')} of claim {source.id}"
    if math.isnan(chosen.conf_low):
        return Effect(
            chosen.estimate,
            0.0,
            impact.scale,
            label=label + ", taken as known: its group sizes were not published",
            source=source.source.cite(),
        )
    effect = as_effect(result, term=term, scale=impact.scale, label=label)
    return Effect(
        effect.estimate,
        effect.std_error,
        effect.scale,
        per=effect.per,
        df=effect.df,
        label=label,
        source=source.source.cite(),
    )


def _implied(claim: Claim, effect: Effect, registry: Registry) -> str:
    """Say what the missing input would have to be for the published figure to hold."""
    values = claim.impact.values  # type: ignore[union-attr]
    per_child = abs(float(effect.per_person()))
    if claim.impact.output == "children" and per_child > 0:  # type: ignore[union-attr]
        need = claim.value / per_child
        return (
            f" With the effect {effect.estimate:+.4g} ({effect.label}), {claim.value:,.0f} "
            f"{effect.unit} a year needs a population of {need:,.0f} a year."
        )
    children_id = values.get("children_claim")
    if claim.impact.output == "savings" and children_id:  # type: ignore[union-attr]
        children = registry[children_id].value
        horizon = values.get("horizon", 1)
        a_year = claim.value / horizon
        per = a_year / children
        over = f"over {horizon} years is £{a_year:,.0f} a year; " if horizon > 1 else ""
        return (
            f" £{claim.value:,.0f} {over}spread over the {children:,.0f} children a year of "
            f"claim {children_id}, that is £{per:,.0f} per child kept out of care (before "
            "discounting and programme costs): the unit cost the claim implies."
        )
    return ""


def reproduce_extrapolation(
    claim: Claim,
    allowed: Admissible,
    conflicts: tuple[str, ...],
    conf_level: float,
    registry: Registry,
    effect_result: ResultMixin,
) -> dict[str, Any]:
    """Recompute an ``[impact]`` claim, or say which published input it lacks.

    Returns the fields of a :class:`~sfpc_eval.evidence.Reproduction` other than the claim, its
    admissible values and its conflicts.
    """
    impact = claim.impact
    if impact is None:
        raise ValueError(f"claim {claim.id!r} has no [impact] table")
    effect = extrapolation_effect(claim, registry, effect_result)
    nan = math.nan
    if not impact.complete:
        status = _CONFLICT if conflicts else _STATED_ONLY
        explanation = (
            "Stated only: the extrapolation cannot be recomputed because these inputs were not "
            f"published: {'; '.join(claim.missing_inputs)}." + _implied(claim, effect, registry)
        )
        if conflicts:
            explanation += f" Its wording cannot be reconciled with {', '.join(conflicts)}."
        return {
            "status": status,
            "value": nan,
            "conf_low": nan,
            "conf_high": nan,
            "holds": None,
            "result": None,
            "explanation": explanation,
        }
    values = impact.values
    population = Population(
        values["population"], claim.population, source=values.get("population_source", "")
    )
    if impact.output == "children":
        result = children_a_year(
            effect, population, conf_level=conf_level, n_draws=_DRAWS, rng=_SEED, progress=False
        )
        term = result.change
        # the claim counts children kept out (a positive number): flip the sign of the change
        value, low, high = -term.estimate, -term.conf_high, -term.conf_low
    else:
        cost = UnitCost(
            "unit cost",
            values["unit_cost"],
            values.get("unit_cost_unit", "per child"),
            source=values["unit_cost_source"],
            price_year=values["unit_cost_price_year"],
        )
        result = estimate_savings(
            effect,
            population,
            cost,
            horizon=values.get("horizon", 1),
            discount_rate=values.get("discount_rate", 0.0),
            conf_level=conf_level,
            n_draws=_DRAWS,
            rng=_SEED,
            progress=False,
        )
        term = result.term("savings_over_horizon")
        value, low, high = term.estimate, term.conf_low, term.conf_high
    holds = allowed.contains(value)
    status = _REPRODUCED if holds else _WORDING_FAILS
    if conflicts and not holds:
        status = _CONFLICT
    explanation = (
        f"Recomputed {claim.metric} = {value:,.4g} from {effect.label} applied to "
        f"{population.size:,.0f} a year; the wording {claim.wording!r} allows {allowed}."
    )
    return {
        "status": status,
        "value": value,
        "conf_low": low,
        "conf_high": high,
        "holds": holds,
        "result": result,
        "explanation": explanation,
    }
