"""Staggered adoption: councils start in different years; an event study of leads and lags.

Uses :func:`sfpc_eval.estimators.event_study.event_study` (two-way fixed effects with one
dummy per period relative to adoption, never-treated councils as controls), with its
pre-trend test and simultaneous band.

Examples
--------
>>> [k.name for k in KEYS][:3]
['cohorts', 'outcome', 'comparison']
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sfpc_eval.errors import DesignError, SpecError
from sfpc_eval.estimators.event_study import event_study
from sfpc_eval.inference import ClusterRobust
from sfpc_eval.report.blocks import Context, FigureBlock, Section
from sfpc_eval.report.designs._common import (
    check_complete,
    check_outcome,
    check_units,
    estimate_rows,
    estimate_table,
    label_of,
    recording_warnings,
    sentence,
)
from sfpc_eval.report.figures import render_svg
from sfpc_eval.report.schema import Key

__all__ = ["DOC", "KEYS", "NAME", "check", "run"]

NAME = "staggered"
NEEDS_DATA = True
DOC = "Councils adopting in different years: event study of leads and lags (TWFE)."
KEYS = (
    Key(
        "cohorts",
        "table[int]",
        "First period under the programme of each adopting unit, e.g. { Leeds = 2015 }",
        required=True,
    ),
    Key("outcome", "str", "DfE measure (its rate per 10,000 is used) or column", required=True),
    Key(
        "comparison",
        "str",
        "Never-treated comparison units: all other units, or `comparison_units`",
        default="all",
        choices=("all", "listed"),
    ),
    Key("comparison_units", "list[str]", "The comparison units when comparison = 'listed'"),
    Key("years", "years", "First and last period (default: all)"),
    Key("window", "list[int]", "First and last event time to report, e.g. [-4, 3]"),
    Key("reference", "int", "Omitted event time", default=-1),
    Key(
        "inference",
        "str",
        "Cluster-robust variance (clustered by unit)",
        default="CR1",
        choices=("CR1", "CR2", "CR3"),
    ),
    Key("conf_level", "float", "Confidence level", default=0.95),
)


def _data(analysis: dict[str, Any], dataset, where: str):
    adopters = check_units(list(analysis["cohorts"]), dataset, f"{where}.cohorts")
    if analysis["comparison"] == "listed":
        if not analysis["comparison_units"]:
            raise SpecError(
                f"`{where}`: comparison = 'listed' needs `comparison_units`.",
                key=f"{where}.comparison_units",
            )
        others = check_units(analysis["comparison_units"], dataset, f"{where}.comparison_units")
    else:
        others = [u for u in dataset.units if u not in adopters]
    frame = dataset.frame
    keep = frame[dataset.unit].isin([*adopters, *others])
    if analysis["years"]:
        first, last = analysis["years"]
        keep &= frame[dataset.time].between(first, last)
    data = frame[keep].copy()
    cohorts = {str(k): v for k, v in analysis["cohorts"].items()}
    data["_cohort"] = data[dataset.unit].astype(str).map(cohorts).astype(float)
    return data, adopters, others


def check(analysis: dict[str, Any], dataset, where: str) -> None:
    """Raise unless adopters, comparison units, window and outcome fit the data."""
    outcome = check_outcome(analysis["outcome"], dataset, f"{where}.outcome")
    data, _, others = _data(analysis, dataset, where)
    if not others:
        raise DesignError(f"`{where}`: no never-treated comparison units; add some.")
    years = sorted(data[dataset.time].unique())
    late = {str(u): g for u, g in analysis["cohorts"].items() if not years[0] < g <= years[-1]}
    if late:
        raise DesignError(
            f"`{where}.cohorts`: adoption year(s) {late} leave no period before or none from "
            f"adoption within {years[0]}-{years[-1]}. Widen `years` or drop those units."
        )
    window = analysis["window"]
    if window is not None and (len(window) != 2 or window[0] >= window[1]):
        raise SpecError(
            f"`{where}.window` must be [first, last] event times with first < last; got "
            f"{window!r}.",
            key=f"{where}.window",
        )
    check_complete(data, [dataset.rate_column(outcome)], dataset, where)


def run(analysis: dict[str, Any], dataset, context: Context) -> Section:
    """Fit the event study; table of event-time effects, the event-study figure, findings."""
    data, adopters, others = _data(analysis, dataset, "analysis")
    column = dataset.rate_column(analysis["outcome"])
    level = analysis["conf_level"]
    window = tuple(analysis["window"]) if analysis["window"] else None
    result, warned = recording_warnings(
        lambda: event_study(
            data,
            column,
            dataset.unit,
            dataset.time,
            "_cohort",
            window=window,
            reference=analysis["reference"],
            inference=ClusterRobust(dataset.unit, kind=analysis["inference"]),
            conf_level=level,
        )
    )
    label = label_of(analysis["outcome"])
    names = [t.term for t in result.terms if t.term.startswith("e")]
    rows = estimate_rows(result, names, column)
    facts = dict(result.facts())
    post = [result.term(n) for n in names if not n.startswith(("e<=-", "e=-"))]
    mean_post = float(np.mean([t.estimate for t in post])) if post else math.nan
    findings = [
        f"{sentence(label)} ({column}): event-time effects after adoption average "
        f"{mean_post:+.4g} across {len(post)} event times, relative to event time "
        f"{analysis['reference']}; {len(adopters)} adopting and {len(others)} never-treated "
        "units.",
    ]
    if result.pretrend is not None:
        findings.append(
            f"Pre-trend test ({len(result.pretrend.terms)} leads = 0): p = "
            f"{result.pretrend.p_value:.3g}."
        )
    adoption = ", ".join(f"{u} {g}" for u, g in sorted(analysis["cohorts"].items()))

    def draw(ax):
        result.plot(ax=ax)
        ax.set_ylabel(f"effect on {column}")

    return Section(
        key=context.key,
        title=analysis["title"] or f"Staggered adoption: {label}",
        findings=tuple(findings),
        methods=(
            f"Event study of {column} by two-way fixed effects "
            f"(sfpc_eval.estimators.event_study): one indicator per period relative to "
            f"adoption ({adoption}), never-treated units as controls; "
            + "; ".join(f"{k}: {v}" for k, v in facts.items() if k != "outcome")
            + ".",
        ),
        tables=(estimate_table(f"Event study: {column}", rows, level),),
        figures=(
            FigureBlock(
                f"Event study: {label}",
                render_svg(draw),
                f"Effects by period relative to adoption with {level:.0%} pointwise intervals "
                "and a simultaneous band; the reference period is drawn at 0.",
            ),
        ),
        limitations=(
            "Two-way fixed-effects event-time coefficients can mix effects of other periods "
            "and cohorts when effects differ across cohorts (Sun and Abraham 2021); compare "
            "with a heterogeneity-robust estimator.",
            *[f"Warning from the estimator: {m}" for m in warned],
        ),
    )
