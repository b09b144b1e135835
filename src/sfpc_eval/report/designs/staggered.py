"""Staggered adoption: councils start in different years; event-time effects by two estimators.

``estimators`` chooses among

- ``"event_study"``: :func:`sfpc_eval.diff_in_diff.event_study.event_study` (two-way fixed
  effects with one dummy per period relative to adoption, never-treated councils as controls),
  with its pre-trend test and simultaneous band;
- ``"callaway_santanna"``: :func:`sfpc_eval.callaway_santanna` (Callaway & Sant'Anna 2021
  group-time effects, each from a clean 2x2 comparison), aggregated by event time
  (``aggregate("dynamic")``) with analytic standard errors from the influence functions.

Examples
--------
>>> [k.name for k in KEYS][:3]
['cohorts', 'outcome', 'comparison']
>>> ESTIMATORS
('event_study', 'callaway_santanna')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sfpc_eval.diff_in_diff.event_study import event_study
from sfpc_eval.errors import DesignError, SpecError
from sfpc_eval.inference import ClusterRobust
from sfpc_eval.labels import label as vocabulary_label
from sfpc_eval.report.blocks import Context, Section, TableBlock
from sfpc_eval.report.designs._common import (
    check_complete,
    check_outcome,
    check_units,
    effect_table,
    label_of,
    plain,
    recording_warnings,
    sentence,
)
from sfpc_eval.report.designs._rates import plotted_rate
from sfpc_eval.report.figures import render_figure
from sfpc_eval.report.schema import Key
from sfpc_eval.results import Term
from sfpc_eval.staggered.callaway import (
    CONTROL_NAMES,
    ESTIMATION_NAMES,
    callaway_santanna,
)
from sfpc_eval.tables import NumberFormat

__all__ = ["DOC", "ESTIMATORS", "KEYS", "NAME", "check", "run"]

NAME = "staggered"
NEEDS_DATA = True
DOC = (
    "Councils adopting in different years: event study of leads and lags (TWFE) and "
    "Callaway & Sant'Anna event-time effects."
)
ESTIMATORS = ("event_study", "callaway_santanna")
BASE_PERIODS = {
    "varying": "pre-adoption cells compare consecutive periods, post-adoption cells the period "
    "before adoption",
    "universal": "every cell compares with the period before adoption",
}
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
        "Never-treated comparison units: all other units, or `comparison_units` (less `exclude` "
        "either way)",
        default="all",
        choices=("all", "listed"),
    ),
    Key("comparison_units", "list[str]", "The comparison units when comparison = 'listed'"),
    Key(
        "exclude",
        "list[str]",
        "Units left out of the comparison group (e.g. councils that ran the model before, or "
        "with missing years)",
        default=[],
    ),
    Key("years", "years", "First and last period (default: all)"),
    Key(
        "window",
        "list[int]",
        "First and last event time to report, e.g. [-4, 3] (the event study bins the end "
        "points; Callaway & Sant'Anna keeps event times within it)",
    ),
    Key("reference", "int", "Event study: omitted event time", default=-1),
    Key(
        "inference",
        "str",
        "Event study: cluster-robust variance (clustered by unit)",
        default="CR1",
        choices=("CR1", "CR2", "CR3"),
    ),
    Key("conf_level", "float", "Confidence level", default=0.95),
    Key(
        "estimators",
        "list[str]",
        "Estimators to report, each with its table and figure",
        default=list(ESTIMATORS),
        choices=ESTIMATORS,
    ),
    Key(
        "control_group",
        "str",
        "Callaway & Sant'Anna: comparison units of each 2x2, never treated or never and not "
        "yet treated",
        default="never",
        choices=tuple(CONTROL_NAMES),
    ),
    Key(
        "estimation",
        "str",
        "Callaway & Sant'Anna: 2x2 estimator, doubly robust, inverse probability weighting or "
        "outcome regression",
        default="dr",
        choices=tuple(ESTIMATION_NAMES),
    ),
    Key(
        "base_period",
        "str",
        "Callaway & Sant'Anna: base period of pre-adoption cells",
        default="varying",
        choices=tuple(BASE_PERIODS),
    ),
    Key(
        "anticipation",
        "int",
        "Callaway & Sant'Anna: periods before adoption in which units may already respond",
        default=0,
    ),
)


def _data(analysis: dict[str, Any], dataset, where: str):
    adopters = check_units(list(analysis["cohorts"]), dataset, f"{where}.cohorts")
    excluded = check_units(analysis["exclude"], dataset, f"{where}.exclude")
    both = sorted(set(map(str, adopters)) & set(map(str, excluded)))
    if both:
        raise SpecError(
            f"`{where}.exclude` names adopting unit(s) {', '.join(map(repr, both))}; remove "
            "them from `cohorts` or from `exclude`.",
            key=f"{where}.exclude",
        )
    if analysis["comparison"] == "listed":
        if not analysis["comparison_units"]:
            raise SpecError(
                f"`{where}`: comparison = 'listed' needs `comparison_units`.",
                key=f"{where}.comparison_units",
            )
        others = check_units(analysis["comparison_units"], dataset, f"{where}.comparison_units")
        others = [u for u in others if u not in excluded]
    else:
        others = [u for u in dataset.units if u not in adopters and u not in excluded]
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
    """Raise unless adopters, comparison units, window, estimators and outcome fit the data."""
    chosen = analysis["estimators"]
    if not chosen:
        raise SpecError(
            f"`{where}.estimators` is empty; choose one or both of "
            f"{', '.join(map(repr, ESTIMATORS))}.",
            key=f"{where}.estimators",
        )
    if len(set(chosen)) != len(chosen):
        raise SpecError(
            f"`{where}.estimators` names an estimator twice: {chosen!r}.",
            key=f"{where}.estimators",
        )
    if analysis["anticipation"] < 0:
        raise SpecError(
            f"`{where}.anticipation` must be 0 or more periods; got {analysis['anticipation']}.",
            key=f"{where}.anticipation",
        )
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


def _event_study(analysis, dataset, data, column, label, adoption, n_units):
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
    names = [t.term for t in result.terms[: len(result.event_times)]]
    facts = dict(result.facts())
    post = [result.term(n) for n, e in zip(names, result.event_times, strict=True) if e >= 0]
    mean_post = float(np.mean([t.estimate for t in post])) if post else math.nan
    findings = [
        f"{sentence(label)}, two-way fixed-effects event study: event-time effects after adoption "
        "average {es_mean} across "
        f"{len(post)} event times, relative to event time "
        f"{analysis['reference']}; {n_units[0]} adopting and {n_units[1]} never-treated units.",
    ]
    if any(e < 0 for e in result.event_times):
        findings.append(
            f"Pre-period check, {label} (two-way fixed-effects event study): "
            + result.pretrends().verdict().replace("{", "{{").replace("}", "}}")
        )

    def draw(ax):
        result.plot(ax=ax)
        ax.set_ylabel(f"effect on {label} per 10,000" if column.endswith("_rate") else label)

    methods = (
        f"Event study of {label} by two-way fixed effects "
        f"(sfpc_eval.diff_in_diff.event_study): one indicator per period relative to "
        f"adoption ({adoption}), never-treated units as controls; "
        + "; ".join(f"{k}: {plain(v, [dataset.unit])}" for k, v in facts.items() if k != "outcome")
        + "."
    )
    figure = render_figure(
        f"Event study: {label}",
        draw,
        f"Effects by period relative to adoption with {level:.0%} pointwise intervals "
        "and a simultaneous band; the reference period is drawn at 0.",
    )
    return findings, methods, (result, mean_post), figure, warned


def _callaway(analysis, dataset, data, column, label, adoption):
    level = analysis["conf_level"]
    window = analysis["window"]
    bounds = {"min_e": window[0], "max_e": window[1]} if window else {}

    def fit():
        result = callaway_santanna(
            data,
            column,
            dataset.unit,
            dataset.time,
            "_cohort",
            control=analysis["control_group"],
            estimation=analysis["estimation"],
            anticipation=analysis["anticipation"],
            base_period=analysis["base_period"],
            conf_level=level,
        )
        return result, result.aggregate("dynamic", **bounds)

    (result, agg), warned = recording_warnings(fit)
    post = [float(e) for e in agg.index if e >= 0]
    span = f"event times {post[0]:g} to {post[-1]:g}" if post else "no post-adoption event time"
    overall = agg.term("overall")
    if overall.valid:
        findings = [
            f"{sentence(label)}, Callaway & Sant'Anna: average effect over {span} "
            + "{cs_overall}, "
            + f"{level:.0%} CI "
            + "{cs_ci}, p = {cs_p}; "
            + f"{result.n_units} units, {result.n_never_treated} never treated.",
        ]
    else:
        findings = [
            f"{sentence(label)}, Callaway & Sant'Anna: average effect over {span} "
            + "{cs_overall}, with no valid interval ("
            + plain(overall.note).replace("{", "{{").replace("}", "}}")
            + f"); {result.n_units} units, {result.n_never_treated} never treated.",
        ]
    if any(e < 0 and t.std_error > 0 for e, t in zip(agg.index, agg.terms, strict=False)):
        pre = result.pretrends(conf_level=level, **({"min_e": window[0]} if window else {}))
        findings.append(
            f"Pre-period check, {label} (Callaway & Sant'Anna): "
            + pre.verdict().replace("{", "{{").replace("}", "}}")
        )
    sizes = ", ".join(f"{g:g}: {n}" for g, n in result.cohort_sizes.items())
    window_text = (
        f", event times {window[0]} to {window[1]} kept" if window else ", all event times"
    )
    anticipation = result.anticipation
    estimator = ESTIMATION_NAMES[result.estimation]
    base = result.base_period
    methods = (
        f"Callaway & Sant'Anna (2021) group-time effects ATT(g, t) of {label} "
        f"(sfpc_eval.callaway_santanna), one per cohort g (first period under the programme"
        f"{adoption}) and period t, each a 2x2 comparison ({estimator}) with "
        f"{CONTROL_NAMES[result.control]} units; base period '{base}' ({BASE_PERIODS[base]}); "
        f"{anticipation} anticipation period{'' if anticipation == 1 else 's'}; no "
        f"covariates; cohorts (units) {sizes}; {result.n_units} units, "
        f"{result.n_never_treated} never treated, {result.n_periods} periods. Aggregated by "
        f"event time (dynamic{window_text}), weighting cohorts by size; the overall effect is "
        "the mean over event times from 0. Standard errors: "
        f"{plain(result.inference.describe(), [dataset.unit])}, analytic; the uniform "
        "(simultaneous) band's critical value "
        + (
            f"{agg.crit_uniform:.3f} from 1,000 multiplier-bootstrap draws (as R did)"
            if agg.crit_uniform is not None
            else "is not available"
        )
        + (
            f"; joint test of the pre-adoption estimates: {agg.pretrend.method}"
            if agg.pretrend is not None
            else ""
        )
        + "."
    )

    def draw(ax):
        agg.plot(ax=ax)
        ax.set_ylabel(f"effect on {label} per 10,000" if column.endswith("_rate") else label)

    figure = render_figure(
        f"Callaway & Sant'Anna: {label}",
        draw,
        f"Event-time effects (dynamic aggregation of ATT(g, t)) with {level:.0%} pointwise "
        "intervals and the uniform (simultaneous) band.",
    )
    return findings, methods, agg, figure, warned, span


def _shown(table, es, es_mean: float, cs) -> dict[str, str]:
    """Write the numbers the findings quote as the table writes them."""
    out = {}
    groups = table.group_of_columns()
    if es is not None:
        j = groups.index("Event study (two-way fixed effects)")
        fmt = next(row[j].format for row in table.cells if row[j].format is not None)
        out["es_mean"] = NumberFormat("number", fmt.decimals, signed=True).text(es_mean)
    if cs is not None:
        j = groups.index("Callaway & Sant'Anna")
        row = table.text_rows()[table.row("overall")]
        out |= {"cs_overall": row[j], "cs_ci": row[j + 1], "cs_p": row[j + 2]}
    return out


def _event_table(analysis, label, es, cs, span: str) -> TableBlock:
    """Event times as rows; the event study and Callaway & Sant'Anna side by side."""
    level = analysis["conf_level"]
    es_name, cs_name = "Event study (two-way fixed effects)", "Callaway & Sant'Anna"
    by_time: dict[int, dict[str, Term]] = {}
    marks: dict[tuple[int, str], str] = {}
    binned = []
    if es is not None:
        for term, e in zip(es.terms, es.event_times, strict=False):
            by_time.setdefault(int(e), {})[es_name] = term
            if "<=" in term.term or ">=" in term.term:
                marks[(int(e), es_name)] = "\u2021"
                binned.append(vocabulary_label(term.term))
    if cs is not None:
        for term, e in zip(cs.terms, cs.index, strict=False):
            by_time.setdefault(int(e), {})[cs_name] = term
    times = sorted(by_time)
    texts = {}
    if es is not None and es_name not in by_time.get(int(es.reference), {}):
        times = sorted({*times, int(es.reference)})
        texts[(int(es.reference), es_name)] = "reference"
    rows = [(vocabulary_label(f"e={e}"), by_time.get(e, {})) for e in times]
    keys = [f"e={e}" for e in times]
    if cs is not None:
        rows.append((f"Average effect on the treated ({span})", {cs_name: cs.term("overall")}))
        keys.append("overall")
    groups = [g for g, r in ((es_name, es), (cs_name, cs)) if r is not None]
    index = {e: i for i, e in enumerate(times)}
    notes = []
    if binned:
        notes.append(
            "\u2021 The event study's end points pool every event time beyond them: "
            + " and ".join(b[:1].lower() + b[1:] for b in binned)
            + "."
        )
    if es is not None:
        notes.append(
            f"Event study: effects relative to {vocabulary_label(f'e={es.reference}', lower=True)} "
            "(the reference period, 0 by construction)."
        )
    if cs is not None:
        before = {
            "varying": "each compares consecutive periods",
            "universal": "each compares with the period before adoption",
        }[analysis["base_period"]]
        notes.append(
            "Callaway & Sant'Anna: each event time averages the cohorts' group-time effects, "
            f"weighted by cohort size; before adoption, {before}."
        )
    return effect_table(
        f"Staggered adoption: effect on {label} per 10,000 by years since adoption",
        rows,
        groups,
        scale="number",
        level=level,
        shared_estimate=False,
        row_header="Years since adoption",
        notes=notes,
        row_keys=keys,
        marks={(index[e], g): m for (e, g), m in marks.items()},
        texts={(index[e], g): t for (e, g), t in texts.items()},
    )


def run(analysis: dict[str, Any], dataset, context: Context) -> Section:
    """Fit the chosen estimators; a table and a figure for each, findings, methods text."""
    data, adopters, others = _data(analysis, dataset, "analysis")
    column = dataset.rate_column(analysis["outcome"])
    label = label_of(analysis["outcome"])
    adoption = ", ".join(f"{u} {g}" for u, g in sorted(analysis["cohorts"].items()))
    findings: list[str] = []
    methods: list[str] = []
    figures = []
    warned: list[str] = []
    es = cs = None
    es_mean = math.nan
    span = ""
    for name in analysis["estimators"]:
        if name == "event_study":
            out = _event_study(
                analysis, dataset, data, column, label, adoption, (len(adopters), len(others))
            )
            es, es_mean = out[2]
        else:
            # name the adoption years once: the event study's methods already list them
            shown = "" if "event_study" in analysis["estimators"] else f": {adoption}"
            out = _callaway(analysis, dataset, data, column, label, shown)
            cs, span = out[2], out[5]
        findings += out[0]
        methods.append(out[1])
        figures.append(out[3])
        warned += out[4]
    basis = plotted_rate(dataset, analysis["outcome"]).note(
        data, unit=dataset.unit, time=dataset.time
    )
    if basis:  # the effects are differences of these rates
        methods.append(basis)
    table = _event_table(analysis, label, es, cs, span)
    tables = [table]
    findings = [f.format(**_shown(table.engine, es, es_mean, cs)) for f in findings]
    limitations = []
    if "event_study" in analysis["estimators"]:
        limitations.append(
            "Two-way fixed-effects event-time coefficients can mix effects of other periods "
            "and cohorts when effects differ across cohorts (Sun and Abraham 2021); "
            + (
                "the Callaway & Sant'Anna estimates do not."
                if "callaway_santanna" in analysis["estimators"]
                else "compare with a heterogeneity-robust estimator."
            )
        )
    if "callaway_santanna" in analysis["estimators"]:
        limitations.append(
            "Callaway & Sant'Anna assume each cohort would have followed the trend of its "
            f"comparison units ({CONTROL_NAMES[analysis['control_group']]}) without the "
            "programme; the effects before adoption (e < 0) show how well that held earlier."
        )
    limitations += [
        f"Warning from the estimator: {plain(m, [dataset.unit])}" for m in dict.fromkeys(warned)
    ]
    return Section(
        key=context.key,
        title=analysis["title"] or f"Staggered adoption: {label}",
        findings=tuple(findings),
        methods=tuple(methods),
        tables=tuple(tables),
        figures=tuple(figures),
        limitations=tuple(limitations),
    )
