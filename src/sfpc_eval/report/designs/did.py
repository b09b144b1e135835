"""Difference-in-differences: treated units against a comparison group, by two-way fixed effects.

Uses :func:`sfpc_eval.did` with the inference the spec asks for (CR0-CR3 with Satterthwaite
degrees of freedom, wild cluster bootstrap or randomization inference). On DfE data each
measure is analysed as a rate per 10,000 (linear) and, for the percentage change, as a count
with the population as exposure (Poisson).

Examples
--------
>>> sorted(INFERENCE)  # doctest: +NORMALIZE_WHITESPACE
['CR0', 'CR1', 'CR2', 'CR3', 'randomization', 'randomization_random_ties', 'wild',
 'wild_subcluster']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sfpc_eval.diff_in_diff import did
from sfpc_eval.errors import DesignError, SpecError, show_values
from sfpc_eval.inference import ClusterRobust, Randomization, WildClusterBootstrap
from sfpc_eval.inference.validity import design_inference
from sfpc_eval.labels import label
from sfpc_eval.report.blocks import Context, FigureBlock, Section, TableBlock
from sfpc_eval.report.designs._common import (
    check_complete,
    check_outcome,
    check_units,
    child_counts_table,
    effect_table,
    label_of,
    plain,
    recording_warnings,
    sentence,
    shade_note,
)
from sfpc_eval.report.designs._headlines import did_findings, did_summary
from sfpc_eval.report.designs._pretrends import pretrend_blocks
from sfpc_eval.report.designs._rates import group_rates, plotted_rate
from sfpc_eval.report.figures import render_figure, shade_periods
from sfpc_eval.report.schema import Key

__all__ = ["DOC", "INFERENCE", "KEYS", "NAME", "check", "run"]

NAME = "did"
NEEDS_DATA = True
DOC = "Treated units vs a comparison group over years: two-way fixed-effects DiD."
INFERENCE = {
    "CR0": "cluster-robust CR0",
    "CR1": "cluster-robust CR1",
    "CR2": "cluster-robust CR2 (Satterthwaite df)",
    "CR3": "cluster-robust CR3 (Satterthwaite df)",
    "wild": "wild cluster bootstrap",
    "wild_subcluster": "wild bootstrap, one weight per unit-period (few clusters)",
    "randomization": "randomization inference",
    "randomization_random_ties": "randomization inference, ties broken at random (few units)",
}
WILD = ("wild", "wild_subcluster")
KEYS = (
    Key("treated", "list[str]", "Units under the programme", required=True),
    Key("start", "int", "First period under the programme", required=True),
    Key(
        "outcomes",
        "list[str]",
        "DfE measures (e.g. ['cpp', 'cla']) or outcome columns",
        required=True,
    ),
    Key(
        "comparison",
        "str",
        "Comparison group: the DfE statistical neighbours of the (first) treated LA, all other "
        "units, or the units in `comparison_units`; default 'statistical_neighbours' on DfE "
        "data, else 'all'",
        choices=("statistical_neighbours", "all", "listed"),
    ),
    Key("comparison_units", "list[str]", "The comparison units when comparison = 'listed'"),
    Key("years", "years", "First and last period of the analysis (default: all)"),
    Key(
        "family",
        "str",
        "CSV/Parquet outcomes: 'gaussian' (rates, means), 'poisson' (counts), 'binomial' (0/1)",
        default="gaussian",
        choices=("gaussian", "poisson", "binomial"),
    ),
    Key("exposure", "str", "CSV/Parquet, family 'poisson': exposure (population) column"),
    Key(
        "inference",
        "list[str]",
        "Inference, first is the main one; each is reported, rows not valid for the design "
        "marked (on DfE data the Poisson count model uses the non-wild ones, CR2 if none). "
        "Default: chosen from the design (one treated unit: randomization; fewer than 10: the "
        "subcluster wild bootstrap, CR2 for counts; more: CR2)",
        choices=tuple(INFERENCE),
    ),
    Key(
        "pretrends",
        "bool",
        "Show the pre-period check (leads, their joint test, placebo) for the linear model",
        default=True,
    ),
    Key(
        "placebo_shift",
        "int",
        "Pre-period check: move adoption this many periods earlier for a placebo estimate "
        "(default 2, or fewer when the pre-period is short; 0 for none)",
    ),
    Key("n_resamples", "int", "Draws for wild bootstrap / randomization", default=9999),
    Key("seed", "int", "Random seed for resampling inference", default=20150101),
    Key("conf_level", "float", "Confidence level", default=0.95),
)


def _comparison(analysis: dict[str, Any], dataset, where: str) -> list[Any]:
    treated = check_units(analysis["treated"], dataset, f"{where}.treated")
    mode = analysis["comparison"] or ("statistical_neighbours" if dataset.kind == "dfe" else "all")
    if mode == "listed":
        if not analysis["comparison_units"]:
            raise SpecError(
                f"`{where}`: comparison = 'listed' needs `comparison_units` (a list of units).",
                key=f"{where}.comparison_units",
            )
        group = check_units(analysis["comparison_units"], dataset, f"{where}.comparison_units")
    elif mode == "all":
        group = [u for u in dataset.units if u not in treated]
    else:
        if dataset.neighbours is None:
            raise SpecError(
                f"`{where}`: comparison = 'statistical_neighbours' needs the DfE statistical "
                "neighbours file (`data.neighbours`), which was not found; use comparison = "
                "'listed' with `comparison_units`, or 'all'.",
                key=f"{where}.comparison",
            )
        n = dataset.neighbours
        names = n.loc[n["la_name"] == str(treated[0]), "neighbour_name"].tolist()
        if not names:
            raise DesignError(
                f"`{where}`: {treated[0]!r} has no statistical neighbours in "
                f"{dataset.neighbours_file}. Use comparison = 'listed'."
            )
        group = [u for u in dataset.units if str(u) in names and u not in treated]
        lost = sorted(set(names) - {str(u) for u in group})
        if lost:
            raise DesignError(
                f"`{where}`: statistical neighbours {show_values(lost)} of {treated[0]!r} are "
                "not units of the panel (boundary changes?). Use comparison = 'listed'."
            )
    overlap = sorted(set(map(str, group)) & set(map(str, treated)))
    if overlap:
        raise DesignError(
            f"`{where}`: {show_values(overlap)} are both treated and in the comparison group; "
            "remove them from `comparison_units`."
        )
    if not group:
        raise DesignError(f"`{where}`: the comparison group is empty; add comparison units.")
    return group


def _window(analysis: dict[str, Any], dataset) -> tuple[int, int]:
    years = dataset.years
    return tuple(analysis["years"]) if analysis["years"] else (years[0], years[-1])  # type: ignore[return-value]


def _subset(analysis, dataset, treated, group) -> pd.DataFrame:
    first, last = _window(analysis, dataset)
    frame = dataset.frame
    time = frame[dataset.time]
    keep = frame[dataset.unit].isin([*treated, *group]) & (time >= first) & (time <= last)
    data = frame[keep].copy()
    data["_treated"] = (
        data[dataset.unit].isin(treated) & (data[dataset.time] >= analysis["start"])
    ).astype(int)
    return data


def _models(analysis, dataset) -> list[tuple[str, str, str, str | None]]:
    """(label, column, family, exposure) for each model of each outcome."""
    models = []
    for outcome in analysis["outcomes"]:
        if dataset.kind == "dfe":
            models.append((outcome, f"{outcome}_rate", "gaussian", None))
            models.append((outcome, outcome, "poisson", "population_0_17"))
        else:
            models.append((outcome, outcome, analysis["family"], analysis["exposure"]))
    return models


def check(analysis: dict[str, Any], dataset, where: str) -> None:
    """Raise if the treated units, comparison group, years or outcomes do not fit the data."""
    treated = check_units(analysis["treated"], dataset, f"{where}.treated")
    group = _comparison(analysis, dataset, where)
    for outcome in analysis["outcomes"]:
        check_outcome(outcome, dataset, f"{where}.outcomes")
    first, last = _window(analysis, dataset)
    if not first < analysis["start"] <= last:
        raise DesignError(
            f"`{where}.start` = {analysis['start']} leaves no period before or none from the "
            f"start within {first}-{last}; DiD needs both. Move `start` or widen `years`."
        )
    shift = analysis["placebo_shift"]
    if shift is not None and not 0 <= shift < _pre_periods(analysis, dataset):
        raise SpecError(
            f"`{where}.placebo_shift` = {shift} moves adoption outside the pre-period: the "
            f"data have {_pre_periods(analysis, dataset)} period(s) before {analysis['start']}, "
            "and the placebo needs at least one before the moved date. Use a smaller shift "
            "(0 for no placebo).",
            key=f"{where}.placebo_shift",
        )
    exposure = analysis["exposure"]
    if dataset.kind != "dfe" and exposure and exposure not in dataset.frame.columns:
        raise SpecError(
            f"`{where}.exposure`: column {exposure!r} is not in the data.",
            key=f"{where}.exposure",
        )
    if (
        any(name in WILD for name in analysis["inference"] or ())
        and dataset.kind != "dfe"
        and analysis["family"] != "gaussian"
    ):
        raise SpecError(
            f"`{where}.inference`: the wild cluster bootstrap is for linear (gaussian) models; "
            "use 'randomization' or a CR variance.",
            key=f"{where}.inference",
        )
    data = _subset(analysis, dataset, treated, group)
    columns = [c for _, c, _, e in _models(analysis, dataset) for c in (c, e) if c]
    check_complete(data, list(dict.fromkeys(columns)), dataset, where)
    if data[dataset.unit].nunique() < 3:
        raise DesignError(
            f"`{where}`: only {data[dataset.unit].nunique()} units; DiD with cluster-robust "
            "inference needs at least 3."
        )


def _pre_periods(analysis: dict[str, Any], dataset) -> int:
    """Periods of the analysis window before adoption."""
    first, last = _window(analysis, dataset)
    years = [y for y in dataset.years if first <= y <= last]
    return sum(1 for y in years if y < analysis["start"])


def _placebo_shift(analysis: dict[str, Any], dataset) -> int | None:
    """Return the spec's placebo shift, or 2 (fewer when the pre-period is short); None for none."""
    shift = analysis["placebo_shift"]
    if shift is None:
        shift = min(2, _pre_periods(analysis, dataset) - 1)
    return shift if shift and shift > 0 else None


def _inference_names(analysis, family: str, n_treated: int) -> tuple[list[str], str]:
    """Return the inference names for one model and, when chosen from the design, why."""
    names = analysis["inference"]
    if names is None:
        chosen, why = design_inference(n_treated_clusters=n_treated, family=family)
        return [chosen], why
    if family != "gaussian":
        names = [n for n in names if n not in WILD] or ["CR2"]
    return list(names), ""


def _inference(name: str, analysis: dict[str, Any], unit: str, time: str):
    if name.startswith("CR"):
        return ClusterRobust(unit, kind=name)  # type: ignore[arg-type]
    draws = dict(n_resamples=analysis["n_resamples"], rng=analysis["seed"])
    if name in WILD:
        subclusters = (unit, time) if name == "wild_subcluster" else None
        return WildClusterBootstrap(bootcluster=subclusters, **draws)
    ties = "randomized" if name == "randomization_random_ties" else "conservative"
    return Randomization(ties=ties, **draws)


def _counts_table(data, dataset, column, family, threshold, treated) -> TableBlock:
    """Child-level data: children (and events) per period and group, with suppression."""
    data = data.assign(_group=np.where(data[dataset.unit].isin(treated), "treated", "comparison"))
    periods = sorted(data[dataset.time].unique())
    value = "_one" if family != "binomial" else column
    data = data.assign(_one=1)
    pivot = data.pivot_table(
        index=dataset.time, columns="_group", values=value, aggfunc="sum", fill_value=0
    ).reindex(index=periods, columns=["treated", "comparison"], fill_value=0)
    what = "children with the outcome" if family == "binomial" else "records (children)"
    return child_counts_table(
        f"{label_of(column)}: {what} by period and group",
        "period",
        periods,
        ("treated", "comparison"),
        pivot.to_numpy().astype(int).tolist(),
        threshold,
    )


def _figures(analysis, dataset, context, data, treated, outcome, column, exposure, result):
    shades = context.axis_shades(dataset)
    figures = []
    # the DfE's published rate where it prints one beside the count (the column the linear
    # model uses), computed only where it does not, and the caption says which
    rate = plotted_rate(dataset, outcome if dataset.kind == "dfe" else column, exposure)
    per = rate.is_rate
    full = dataset.frame[dataset.frame[dataset.unit].isin(data[dataset.unit].unique())]
    trend = group_rates(full, dataset, treated, rate)
    hidden = 0
    if dataset.level == "child":
        n = full.groupby([full[dataset.time], full[dataset.unit].isin(treated)]).size()
        small = n[(n > 0) & (n < context.threshold)]
        hidden = len(small)
        for (time, is_treated), _ in small.items():
            group = "treated" if is_treated else "comparison"
            trend.loc[(trend["time"] == time) & (trend["group"] == group), "mean"] = np.nan
    span = (float(trend["time"].min()), float(trend["time"].max()))
    ylabel = "per 10,000 children" if per else f"mean {label_of(column)}"
    names = ", ".join(map(str, treated))
    shown: list[str] = []

    def draw_trend(ax):
        from sfpc_eval.plotting.layout import finish
        from sfpc_eval.plotting.style import PALETTE, context

        lines = []
        for group, colour, legend in (
            ("treated", PALETTE["dark_blue"], names),
            (
                "comparison",
                PALETTE["orange"],
                f"comparison group ({data[dataset.unit].nunique() - len(treated)})",
            ),
        ):
            rows = trend[trend["group"] == group].sort_values("time")
            (line,) = ax.plot(rows["time"], rows["mean"], marker="o", color=colour, label=legend)
            lines.append((line, legend))
        context(
            ax.axvline(
                analysis["start"],
                color=PALETTE["dark_grey"],
                linestyle="--",
                linewidth=1,
                label=f"First year under the programme ({analysis['start']})",
            )
        )
        shown.extend(shade_periods(ax, shades, span=span))
        xlabel = "year ending 31 March" if dataset.kind == "dfe" else label(dataset.time)
        finish(
            ax,
            title=f"{label_of(outcome)}: {names} and comparison group",
            xlabel=sentence(xlabel),
            ylabel=sentence(ylabel),
            source=None,
            direct=lines,
        )

    caption = (
        f"{sentence(label_of(outcome))} {ylabel}, {int(span[0])}-{int(span[1])}: {names} and the "
        "comparison group"
        + (
            " (each council's own rate, averaged with each council counting once: what the DiD "
            "compares)"
        )
        + f"; dashed line: first period under the programme ({analysis['start']})."
    )
    trend_figure = render_figure(f"Trend: {label_of(outcome)}", draw_trend, size=(7.5, 3.8))
    basis = rate.note(full, unit=dataset.unit, time=dataset.time, named=treated)
    caption += (" " + basis if basis else "") + shade_note(shades, shown)
    if hidden:
        caption += f" {hidden} point(s) from fewer than {context.threshold} records not shown."
    figures.append(trend_figure.with_caption(caption))
    if dataset.level != "child":
        first, last = _window(analysis, dataset)

        def draw_did(ax):
            result.plot(ax=ax)
            ax.set_title(f"DiD window {first}-{last}: {label_of(outcome)}")
            ax.set_ylabel(ylabel if dataset.kind == "dfe" else label(column))

        figures.append(
            render_figure(
                f"DiD trends: {label_of(outcome)}",
                draw_did,
                "Treated and comparison means of the modelled outcome "
                f"({label_of(result.outcome)}) in the analysis window {first}-{last}; dashed "
                "line: first treated period.",
            )
        )
    return figures


READINGS = {
    # family -> (term, scale, heading of the estimate column, what the table shows)
    "gaussian": ("treated", "number", "Difference", "difference in the outcome (linear model)"),
    "poisson": (
        "percent_change",
        "percent",
        "Change (%)",
        "percentage change in the count (Poisson model)",
    ),
    "binomial": (
        "average_marginal_effect",
        "pp",
        "Risk difference",
        "difference in risk, percentage points (logistic model)",
    ),
}


def _effect_tables(analysis, dataset, fitted, names, first, last, group) -> list[TableBlock]:
    """One wide table per model family: outcomes as rows, inference methods as column groups."""
    level = analysis["conf_level"]
    tables = []
    for family in ("gaussian", "poisson", "binomial"):
        models = [m for m in fitted if m["family"] == family]
        if not models:
            continue
        term, scale, header, what = READINGS[family]
        if family == "gaussian" and dataset.kind == "dfe":
            header, what = "Difference per 10,000", "difference in the rate per 10,000 children"
        if family == "poisson" and dataset.kind == "dfe":
            what += " with the population aged 0-17 as exposure"
        groups = list(dict.fromkeys(name for m in models for name, _ in m["results"]))
        labelled = {name: label(name) for name in groups}
        rows = [
            (
                m["what"],
                {labelled[name]: res.term(term) for name, res in m["results"]},
            )
            for m in models
        ]
        notes = []
        seen_methods = {}
        for m in models:
            for name, res in m["results"]:
                t = res.term(term)
                seen_methods.setdefault(labelled[name], plain(t.method, [dataset.unit]))
                if t.note and t.valid:
                    notes.append(f"{m['what']}, {labelled[name]}: {plain(t.note)}.")
        notes += [f"{g}: {method}." for g, method in seen_methods.items()]
        notes.append(f"Comparison group ({len(group)}): {', '.join(map(str, group))}.")
        tables.append(
            effect_table(
                f"Difference-in-differences, {names} against the comparison group, "
                f"{first}-{last}: {what}",
                rows,
                [labelled[name] for name in groups],
                scale=scale,
                level=level,
                estimate_header=header,
                row_header="Outcome",
                notes=list(dict.fromkeys(notes)),
                row_keys=[f"{m['outcome']}:{family}" for m in models],
            )
        )
    return tables


def run(analysis: dict[str, Any], dataset, context: Context) -> Section:
    """Fit the models; tables, figures, findings, methods text and limitations."""
    treated = check_units(analysis["treated"], dataset, "treated")
    group = _comparison(analysis, dataset, "analysis")
    data = _subset(analysis, dataset, treated, group)
    level = analysis["conf_level"]
    first, last = _window(analysis, dataset)
    names = ", ".join(map(str, treated))
    findings: list[str] = []
    methods: list[str] = []
    limitations: list[str] = []
    figures: list[FigureBlock] = []
    tables: list[TableBlock] = []
    warned: list[str] = []
    fitted: list[dict[str, Any]] = []
    pre_tables: list[TableBlock] = []
    pre_findings: list[str] = []
    chosen_why: dict[str, str] = {}
    unit = dataset.unit
    shift = _placebo_shift(analysis, dataset)
    for outcome, column, family, exposure in _models(analysis, dataset):
        inference_names, why = _inference_names(analysis, family, len(treated))
        if why:
            chosen_why[f"{label(family, lower=True)}: {label(inference_names[0], lower=True)}"] = (
                why
            )
        results = []
        for name in inference_names:
            res, msgs = recording_warnings(
                lambda name=name, column=column, exposure=exposure, family=family: did(
                    data,
                    outcome=column,
                    unit=unit,
                    time=dataset.time,
                    treated="_treated",
                    exposure=exposure,
                    family=family,
                    inference=_inference(name, analysis, unit, dataset.time),
                    conf_level=level,
                )
            )
            warned += msgs
            results.append((name, res))
        main = results[0][1]
        what = f"{label_of(outcome)}" + (
            " per 10,000" if family == "gaussian" and dataset.kind == "dfe" else ""
        )
        fitted.append(
            {"outcome": outcome, "family": family, "what": sentence(what), "results": results}
        )
        facts = dict(main.facts())
        methods.append(
            f"{sentence(what)}: two-way fixed-effects difference-in-differences "
            f"({label(family, lower=True)}"
            + (", log population offset" if exposure else "")
            + f") of {label_of(column)} on a treatment indicator (1 for {names} from "
            f"{analysis['start']}), with fixed effects for {facts['fixed effects']}; "
            f"{facts['rows / cells']} rows / cells, {first}-{last}. Inference: "
            + "; ".join(plain(r.inference.describe(), [unit]) for _, r in results)
            + f". {main.n_clusters} clusters."
        )
        if dataset.level == "child":
            tables.append(_counts_table(data, dataset, column, family, context.threshold, treated))
        if family == "gaussian" or dataset.kind != "dfe":
            figures += _figures(
                analysis, dataset, context, data, treated, outcome, column, exposure, main
            )
        if analysis["pretrends"] and family == "gaussian" and dataset.level != "child":
            term_name = READINGS[family][0]
            valid = [(name, res) for name, res in results if res.term(term_name).valid]
            base_name, base = valid[0] if valid else results[0]
            pre, msgs = recording_warnings(lambda base=base: base.pretrends(shift))
            warned += msgs
            finding, method, table, figure, limitation = pretrend_blocks(
                pre,
                what=what,
                effect=base.term(term_name) if valid else None,
                start=analysis["start"],
                ylabel="per 10,000 children" if dataset.kind == "dfe" else label_of(column),
                inference=label(base_name),
            )
            pre_findings.append(finding)
            methods.append(method)
            pre_tables.append(table)
            figures.append(figure)
            if limitation:
                limitations.append(limitation)
    effects = _effect_tables(analysis, dataset, fitted, names, first, last, group)
    tables[0:0] = [*effects, *pre_tables]
    findings = [*did_findings(fitted, effects, names, level, READINGS), *pre_findings]
    for chosen, why in chosen_why.items():
        methods.append(f"Inference chosen from the design ({chosen}): {why}.")
    if dataset.kind == "dfe":
        methods.append(
            "Rates per 10,000 are those published by the DfE where printed beside the count, "
            "otherwise the count over the ONS mid-year population aged 0-17 of the previous "
            "year; the Poisson model's percentage change is exp(b) - 1."
        )
    if len(treated) == 1:
        limitations.append(
            f"Only one unit ({names}) is treated: cluster-robust standard errors rest on the "
            "comparison units' residuals and are not valid (rows marked with a dagger); "
            f"randomization inference (permuting which unit is treated, {len(group) + 1} "
            f"possible assignments, smallest attainable p-value 1/{len(group) + 1}) is the "
            "honest test."
        )
    limitations.append(
        "DiD assumes the treated and comparison groups would have followed parallel trends "
        "without the programme; the pre-period check and the trend figures show the years "
        "before the start to judge it."
    )
    limitations += [
        f"Warning from the estimator: {plain(m, [unit])}" for m in dict.fromkeys(warned)
    ]
    title = analysis["title"] or f"Difference-in-differences: {names} vs comparison group"
    return Section(
        key=context.key,
        title=title,
        findings=tuple(findings),
        summary=tuple(did_summary(fitted, effects, names, analysis["start"], READINGS, level)),
        methods=tuple(methods),
        tables=tuple(tables),
        figures=tuple(figures),
        limitations=tuple(limitations),
    )
