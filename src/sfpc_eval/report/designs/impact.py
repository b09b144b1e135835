"""From an effect to children and money: effect -> children a year -> savings, from a spec.

Uses :func:`sfpc_eval.impact.impact_in_children` and :func:`sfpc_eval.impact.estimate_savings`.
The effect is a registry claim's published inputs (``effect_claim``) or a number with its
standard error and scale; the population and every cost are written in the spec with their
source (a cost without a source or price year is refused). The section shows the chain, the
assumptions table and, with a unit cost, the sensitivity table and tornado plot.

Examples
--------
>>> NEEDS_DATA
False
>>> [k.name for k in KEYS][:3]
['effect_claim', 'effect', 'std_error']
"""

from __future__ import annotations

import math
from typing import Any

from sfpc_eval._tables import format_number
from sfpc_eval.errors import SfpcEvalError, SpecError, show_values
from sfpc_eval.impact import (
    DISTRIBUTIONS,
    SCALES,
    Effect,
    Population,
    UnitCost,
    estimate_savings,
    impact_in_children,
)
from sfpc_eval.report.blocks import Context, Section, TableBlock
from sfpc_eval.report.designs._common import check_outcome, check_units, label_of
from sfpc_eval.report.figures import render_figure
from sfpc_eval.report.schema import Key, closest

__all__ = ["DOC", "KEYS", "NAME", "check", "needs_data", "run"]

NAME = "impact"
NEEDS_DATA = False
DOC = "An effect turned into children a year and savings, with every assumption and a tornado."


def _cost_keys(prefix: str, what: str) -> tuple[Key, ...]:
    return (
        Key(prefix, "float", f"{what}: amount in pounds"),
        Key(f"{prefix}_name", "str", f"{what}: what is costed", default=what),
        Key(f"{prefix}_unit", "str", f"{what}: what it is per", default="per child"),
        Key(f"{prefix}_source", "str", f"{what}: where the figure comes from (required)"),
        Key(f"{prefix}_price_year", "int", f"{what}: the year its prices are in (required)"),
        Key(f"{prefix}_distribution", "str", f"{what}: uncertainty", choices=tuple(DISTRIBUTIONS)),
        Key(f"{prefix}_low", "float", f"{what}: low end of its range"),
        Key(f"{prefix}_high", "float", f"{what}: high end of its range"),
        Key(f"{prefix}_sd", "float", f"{what}: standard deviation"),
    )


KEYS = (
    Key("effect_claim", "str", "Registry claim whose published inputs give the effect"),
    Key("effect", "float", "The effect (instead of effect_claim), on its scale"),
    Key("std_error", "float", "Its standard error (of the log for ratios)"),
    Key("scale", "str", "The effect's scale", choices=tuple(SCALES)),
    Key("per", "float", "Rates are per this many children (rate scales)", default=1.0),
    Key("baseline", "float", "Baseline risk or rate without the programme (ratios)"),
    Key("effect_label", "str", "What the effect is"),
    Key("effect_source", "str", "Where the effect comes from"),
    Key("population", "float", "Children (child-years, families) a year"),
    Key(
        "population_column",
        "str",
        "Instead of `population`: a column of the data (a DfE measure such as 'cla_started') "
        "summed over `population_units` in `population_year`",
    ),
    Key("population_year", "int", "The year of `population_column` to sum"),
    Key("population_units", "list[str]", "Councils to sum over (default: all in the data)"),
    Key(
        "population_skip_missing",
        "bool",
        "Sum over the councils with a value, naming the others in the assumptions table "
        "(default: a missing value is an error)",
        default=False,
    ),
    Key("population_label", "str", "What the population counts", default="population"),
    Key("population_source", "str", "Where the population figure comes from"),
    Key("population_low", "float", "Low end of the population's range (sensitivity)"),
    Key("population_high", "float", "High end of the population's range (sensitivity)"),
    *_cost_keys("unit_cost", "unit cost"),
    *_cost_keys("programme_cost", "programme cost"),
    Key("horizon", "int", "Years the savings run for", default=1),
    Key("discount_rate", "float", "Annual discount rate in [0, 1)", default=0.0),
    Key("discount_rate_low", "float", "Low discount rate for the sensitivity table"),
    Key("discount_rate_high", "float", "High discount rate for the sensitivity table"),
    Key("n_draws", "int", "Draws of the simulation", default=100_000),
    Key("seed", "int", "Seed of the simulation", default=2024),
    Key("conf_level", "float", "Confidence level", default=0.95),
)


def needs_data(analysis: dict[str, Any]) -> bool:
    """Return whether the data are read: only when the population comes from a column."""
    return analysis.get("population_column") is not None


def _population_from_data(
    analysis: dict[str, Any], dataset, where: str, threshold: int | None
) -> tuple[float, str]:
    """Sum the population column over the units in the year; say which were left out.

    From child-level records, a sum from 1 to ``threshold - 1`` is a small count: it would be
    shown in the assumptions and recovered from the children-a-year figure, so it is refused.
    """
    column = check_outcome(analysis["population_column"], dataset, f"{where}.population_column")
    year = analysis["population_year"]
    if year is None:
        raise SpecError(
            f"`{where}.population_year` is missing: say which year of {column!r} to sum.",
            key=f"{where}.population_year",
        )
    if year not in dataset.years:
        raise SpecError(
            f"`{where}.population_year`: {year} is not in the data, which cover "
            f"{min(dataset.years)}-{max(dataset.years)}.",
            key=f"{where}.population_year",
        )
    frame = dataset.frame[dataset.frame[dataset.time] == year]
    units = analysis["population_units"]
    if units is not None:
        chosen = check_units(units, dataset, f"{where}.population_units")
        frame = frame[frame[dataset.unit].isin(chosen)]
    gaps = frame[frame[column].isna()]
    names = [str(u) for u in gaps[dataset.unit]]
    if names and not analysis["population_skip_missing"]:
        raise SpecError(
            f"`{where}.population_column`: {column!r} is missing in {year} for "
            f"{show_values(names)}. Leave them out with `population_units`, or set "
            "`population_skip_missing = true` to sum the others (they are then named).",
            key=f"{where}.population_column",
        )
    total = float(frame[column].sum())
    if dataset.level == "child" and threshold is not None and 0 < total < threshold:
        raise SpecError(
            f"`{where}.population_column`: the sum of {column!r} in {year} is a count from "
            f"child-level records below the disclosure threshold ({threshold}); the report would "
            "show it (and the change in children a year would give it away). Sum over more "
            "`population_units`, or give `population` with its source.",
            key=f"{where}.population_column",
        )
    files = ", ".join(f.name for f in dataset.files[:3]) + (
        f" and {len(dataset.files) - 3} more" if len(dataset.files) > 3 else ""
    )
    source = f"data: sum of {column} in {year} over {len(frame) - len(names)} units ({files})"
    if names:
        source += f"; not counted (missing): {show_values(names)}"
    return total, source


def _effect(analysis: dict[str, Any], where: str) -> Effect:
    if analysis["effect_claim"] is not None:
        given = [k for k in ("effect", "std_error", "scale") if analysis[k] is not None]
        if given:
            raise SpecError(
                f"`{where}`: give `effect_claim` or `effect` with `std_error` and `scale`, not "
                f"both (found {', '.join(given)}).",
                key=f"{where}.effect_claim",
            )
        return _claim_effect(analysis, where)
    missing = [k for k in ("effect", "std_error", "scale") if analysis[k] is None]
    if missing:
        raise SpecError(
            f"`{where}`: the effect needs `effect_claim` (a registry claim), or `effect`, "
            f"`std_error` and `scale`; missing {', '.join(missing)}.",
            key=f"{where}.{missing[0]}",
        )
    return Effect(
        analysis["effect"],
        analysis["std_error"],
        analysis["scale"],
        per=analysis["per"],
        baseline=analysis["baseline"],
        label=analysis["effect_label"] or "",
        source=analysis["effect_source"] or "",
    )


def _claim_effect(analysis: dict[str, Any], where: str) -> Effect:
    from sfpc_eval.evidence import estimate_from_inputs, load_registry
    from sfpc_eval.impact import as_effect

    registry = load_registry()
    claim_id = analysis["effect_claim"]
    if claim_id not in registry.ids():
        raise SpecError(
            f"`{where}.effect_claim`: no claim {claim_id!r}.{closest(claim_id, registry.ids())}",
            key=f"{where}.effect_claim",
        )
    claim = registry[claim_id]
    if claim.inputs is None or claim.inputs.kind != "proportions":
        raise SpecError(
            f"`{where}.effect_claim`: claim {claim_id!r} has no published proportions to give a "
            "risk difference; give `effect`, `std_error` and `scale` instead.",
            key=f"{where}.effect_claim",
        )
    result = estimate_from_inputs(claim.inputs, analysis["conf_level"])
    label = analysis["effect_label"] or f"risk difference of claim {claim_id} ({claim.measure})"
    source = claim.source.cite()
    term = result.term("risk_difference")
    if math.isnan(term.conf_low):
        return Effect(
            term.estimate,
            0.0,
            "risk_difference",
            label=label + "; taken as known: group sizes not published",
            source=source,
        )
    effect = as_effect(result)
    return Effect(effect.estimate, effect.std_error, effect.scale, label=label, source=source)


def _cost(analysis: dict[str, Any], prefix: str, where: str) -> UnitCost | None:
    fields = ("source", "price_year", "distribution", "low", "high", "sd")
    if analysis[prefix] is None:
        extra = [f"{prefix}_{f}" for f in fields if analysis[f"{prefix}_{f}"] is not None]
        if extra:
            raise SpecError(
                f"`{where}`: {', '.join(extra)} given without `{prefix}`.", key=f"{where}.{prefix}"
            )
        return None
    for required in ("source", "price_year"):
        if analysis[f"{prefix}_{required}"] is None:
            raise SpecError(
                f"`{where}.{prefix}_{required}` is missing: a cost needs its source and price "
                "year; the library never invents a unit cost.",
                key=f"{where}.{prefix}_{required}",
            )
    try:
        return UnitCost(
            analysis[f"{prefix}_name"],
            analysis[prefix],
            analysis[f"{prefix}_unit"],
            source=analysis[f"{prefix}_source"],
            price_year=analysis[f"{prefix}_price_year"],
            **{f: analysis[f"{prefix}_{f}"] for f in ("distribution", "low", "high", "sd")},
        )
    except SfpcEvalError as err:
        raise SpecError(f"`{where}.{prefix}`: {err}", key=f"{where}.{prefix}") from None


def _inputs(
    analysis: dict[str, Any], dataset, where: str, threshold: int | None = None
) -> dict[str, Any]:
    size, source = analysis["population"], analysis["population_source"] or ""
    label = analysis["population_label"]
    if (size is None) == (analysis["population_column"] is None):
        raise SpecError(
            f"`{where}`: give `population` (a number with its source) or `population_column` "
            "(summed from the data), exactly one.",
            key=f"{where}.population",
        )
    if size is None:
        size, found = _population_from_data(analysis, dataset, where, threshold)
        source = "; ".join(x for x in (source, found) if x)
        if label == "population":
            label = f"{label_of(analysis['population_column'])}, {analysis['population_year']}"
    try:
        population = Population(
            size,
            label,
            source=source,
            low=analysis["population_low"],
            high=analysis["population_high"],
        )
    except SfpcEvalError as err:
        raise SpecError(f"`{where}.population`: {err}", key=f"{where}.population") from None
    try:
        effect = _effect(analysis, where)
    except SpecError:
        raise
    except SfpcEvalError as err:
        raise SpecError(f"`{where}.effect`: {err}", key=f"{where}.effect") from None
    rates = (analysis["discount_rate_low"], analysis["discount_rate_high"])
    if (rates[0] is None) != (rates[1] is None):
        raise SpecError(
            f"`{where}`: give both discount_rate_low and discount_rate_high, or neither.",
            key=f"{where}.discount_rate_low",
        )
    unit_cost = _cost(analysis, "unit_cost", where)
    programme_cost = _cost(analysis, "programme_cost", where)
    if programme_cost is not None and unit_cost is None:
        raise SpecError(
            f"`{where}`: a programme cost needs a `unit_cost`.", key=f"{where}.unit_cost"
        )
    return {
        "effect": effect,
        "population": population,
        "unit_cost": unit_cost,
        "programme_cost": programme_cost,
        "discount_rates": None if rates[0] is None else rates,
    }


def _estimate(analysis: dict[str, Any], dataset, where: str, threshold: int | None = None):
    inputs = _inputs(analysis, dataset, where, threshold)
    common = {
        "conf_level": analysis["conf_level"],
        "n_draws": analysis["n_draws"],
        "rng": analysis["seed"],
        "progress": False,
    }
    try:
        if inputs["unit_cost"] is None:
            return impact_in_children(inputs["effect"], inputs["population"], **common)
        return estimate_savings(
            inputs["effect"],
            inputs["population"],
            inputs["unit_cost"],
            programme_cost=inputs["programme_cost"],
            horizon=analysis["horizon"],
            discount_rate=analysis["discount_rate"],
            discount_rates=inputs["discount_rates"],
            **common,
        )
    except SpecError:
        raise
    except SfpcEvalError as err:
        raise SpecError(f"`{where}`: {err}", key=where) from None


def check(analysis: dict[str, Any], dataset, where: str) -> None:
    """Raise for a missing effect, a cost without source or price year, bad rates or horizon."""
    inputs = _inputs(analysis, dataset, where)
    from sfpc_eval.impact import discount_factors

    checks = [
        ("horizon", 0.0, analysis["horizon"]),
        ("discount_rate", analysis["discount_rate"], 1),
    ]
    checks += [("discount_rate_low", rate, 1) for rate in (inputs["discount_rates"] or ())]
    for key, rate, horizon in checks:
        try:
            discount_factors(rate, horizon)
        except SfpcEvalError as err:
            raise SpecError(f"`{where}.{key}`: {err}", key=f"{where}.{key}") from None


def _money(value: float) -> str:
    return f"£{value:,.0f}"


def _ci(term, fmt) -> str:
    if math.isnan(term.conf_low):
        return "not available"
    return f"[{fmt(term.conf_low)}, {fmt(term.conf_high)}]"


def _chain_rows(result) -> list[tuple[str, ...]]:
    unit = result.effect.unit
    names = [
        ("effect", "effect on its own scale", format_number),
        (f"{unit}_per_year", f"change in {unit} a year", lambda v: f"{v:,.0f}"),
        ("number_needed_to_treat", "number needed to treat", lambda v: f"{v:.1f}"),
        ("savings_per_year", "savings a year", _money),
        ("savings_over_horizon", "savings over the horizon (discounted)", _money),
    ]
    present = {t.term for t in result.terms}
    rows = []
    for term_name, label, fmt in names:
        if term_name not in present:
            continue
        term = result.term(term_name)
        sim_name = f"{term_name}_simulated"
        sim = result.term(sim_name) if sim_name in present else None

        rows.append(
            (
                label,
                fmt(term.estimate),
                _ci(term, fmt),
                "" if sim is None else _ci(sim, fmt),
            )
        )
    return rows


def run(analysis: dict[str, Any], dataset, context: Context) -> Section:
    """Build the chain table, the assumptions, and (with a cost) sensitivity and tornado."""
    from sfpc_eval.plotting import plot_impact, plot_tornado

    result = _estimate(analysis, dataset, context.key, context.threshold)
    level = analysis["conf_level"]
    unit = result.effect.unit
    pct = f"{level:.0%}"
    tables = [
        TableBlock(
            "From effect to children to savings",
            ("quantity", "estimate", f"{pct} CI (delta method)", f"{pct} CI (simulation)"),
            tuple(_chain_rows(result)),
            provenance="estimate",
            notes=tuple(result.notes()),
        ),
        TableBlock(
            "Assumptions",
            ("assumption", "value", "source", "price year", "uncertainty"),
            tuple(
                tuple(str(v) for v in row) for row in result.assumptions().itertuples(index=False)
            ),
            provenance="estimate",
        ),
    ]
    change = result.term(f"{unit}_per_year")
    fewer = "fewer" if change.estimate < 0 else "more"
    findings = [
        f"{abs(change.estimate):,.0f} {fewer} {unit} a year with the outcome ({pct} CI "
        f"{_ci(change, lambda v: f'{v:,.0f}')}), applying "
        f"{result.effect.describe()} to {result.population.size:,.0f} "
        f"({result.population.description})."
    ]
    figures = [
        render_figure(
            f"Change in {unit} a year",
            lambda ax: plot_impact(result, ax=ax),
            f"Point estimate with the delta-method and simulated {pct} intervals.",
            size=(7.0, 2.6),
        )
    ]
    if hasattr(result, "sensitivity"):
        total = result.term("savings_over_horizon")
        sim = result.term("savings_over_horizon_simulated")
        findings.append(
            f"Savings over {result.horizon} year(s): {_money(total.estimate)} ({pct} interval "
            f"from the simulation {_money(sim.conf_low)} to {_money(sim.conf_high)})."
        )
        sens = result.sensitivity()
        tables.append(
            TableBlock(
                "Sensitivity: savings over the horizon as each input moves",
                ("input", "low input", "high input", "savings at low", "savings at high"),
                tuple(
                    (
                        row.input,
                        format_number(row.low_input),
                        format_number(row.high_input),
                        _money(row.at_low),
                        _money(row.at_high),
                    )
                    for row in sens.itertuples(index=False)
                ),
                provenance="estimate",
                notes=("Rows in order of swing, largest first.",),
            )
        )
        height = 0.5 * len(sens) + 1.6
        figures.append(
            render_figure(
                "Tornado plot of the savings",
                lambda ax: plot_tornado(result, ax=ax),
                "Bars from the central savings to the savings with one input at its low (blue) "
                "or high (red) value, the others central; labels give the input values.",
                size=(7.5, height),
            )
        )
    methods = (
        f"The effect ({result.effect.describe()}) was turned into a change in {unit} a year by "
        f"multiplying the change per child by the population ({result.population.size:,.0f}). "
        "The delta-method interval carries the effect's standard error through that product; "
        f"the simulated interval is the {pct} percentile range of {result.n_draws:,} draws from "
        f"the effect's sampling distribution (seed {result.seed}), and costs were drawn "
        "independently of the effect from their stated distributions. Savings a year are the "
        "change times the unit cost, less the programme cost; over the horizon each year is "
        "discounted by 1/(1+r)^t, the first year undiscounted.",
    )
    limitations = (
        "The effect is assumed to hold in the population it is applied to, and to stay the same "
        "each year of the horizon; the unit costs are the user's, with the sources shown.",
    )
    return Section(
        key=context.key,
        title=analysis["title"] or "From effect to children and savings",
        findings=tuple(findings),
        methods=methods,
        tables=tuple(tables),
        figures=tuple(figures),
        limitations=limitations,
    )
