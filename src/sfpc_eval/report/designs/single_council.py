"""One pioneering council, four designs: before/after, ITS, synthetic control, synthetic DiD.

Uses :func:`sfpc_eval.single_council_summary` on the council's rate (DfE data) or outcome
column, against a donor pool (the DfE statistical neighbours by default on DfE data, else every
other unit) from which the councils that ran similar programmes are left out (the packaged
list, :func:`sfpc_eval.single_unit.excluded_donors`). The section shows the designs side by
side with each one's pre-period fit, the synthetic control against the council (leave-one-out
refits drawn behind it), conformal intervals per year where the pre-period allows them,
placebo starts in time when asked for, and the donors left out with the reason. Findings are
built only from the designs whose interval is valid for one council (never the before/after
change).

Examples
--------
>>> [k.name for k in KEYS][:3]
['unit', 'outcome', 'start']
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from sfpc_eval.errors import (
    DesignError,
    DonorExclusionWarning,
    SfpcEvalWarning,
    TooFewPeriodsError,
)
from sfpc_eval.labels import label
from sfpc_eval.report.blocks import Context, Section, TableBlock
from sfpc_eval.report.designs import did as did_design
from sfpc_eval.report.designs._common import (
    check_complete,
    check_outcome,
    check_units,
    label_of,
    recording_warnings,
    sentence,
)
from sfpc_eval.report.designs._rates import plotted_rate
from sfpc_eval.report.figures import render_figure, shade_periods
from sfpc_eval.report.schema import Key
from sfpc_eval.single_unit import conformal_inference, placebo_in_time, single_council_summary
from sfpc_eval.single_unit._conformal_core import minimum_pre_periods

__all__ = ["DOC", "KEYS", "NAME", "check", "run"]

NAME = "single_council"
NEEDS_DATA = True
DOC = "One council against donors: before/after, ITS, synthetic control and synthetic DiD."
CONFORMAL_LEVELS = (0.95, 0.9, 0.8)
KEYS = (
    Key("unit", "str", "The pioneering council (or unit)", required=True),
    Key("outcome", "str", "DfE measure (its rate per 10,000 is used) or column", required=True),
    Key("start", "int", "First period under the programme", required=True),
    Key("years", "years", "First and last period (default: all)"),
    Key(
        "comparison",
        "str",
        "Donor pool: the DfE statistical neighbours of the council, all other units, or the "
        "units in `comparison_units`; default 'statistical_neighbours' on DfE data, else 'all'",
        choices=("statistical_neighbours", "all", "listed"),
    ),
    Key("comparison_units", "list[str]", "The donors when comparison = 'listed'"),
    Key(
        "exclude_programme_councils",
        "bool",
        "Leave out of the donor pool the councils that ran the same or similar programmes "
        "(DfE Innovation Programme, SFPC, SFIP; the packaged list with sources)",
        default=True,
    ),
    Key(
        "placebo_starts",
        "list[int]",
        "Placebo starts in the pre-period for the synthetic control (none by default)",
    ),
    Key("replications", "int", "Synthetic DiD placebo replications", default=200),
    Key("seed", "int", "Random seed of the synthetic DiD placebos", default=20150101),
    Key("conf_level", "float", "Confidence level", default=0.95),
)


def _donors(analysis: dict[str, Any], dataset, where: str) -> list[Any]:
    return did_design._comparison(
        {
            "treated": [analysis["unit"]],
            "comparison": analysis["comparison"],
            "comparison_units": analysis["comparison_units"],
        },
        dataset,
        where,
    )


def _frame(analysis: dict[str, Any], dataset, unit, donors) -> pd.DataFrame:
    frame = dataset.frame
    keep = frame[dataset.unit].isin([unit, *donors])
    if analysis["years"]:
        first, last = analysis["years"]
        keep &= (frame[dataset.time] >= first) & (frame[dataset.time] <= last)
    column = dataset.rate_column(analysis["outcome"])
    return frame.loc[keep, [dataset.unit, dataset.time, column]].reset_index(drop=True)


def check(analysis: dict[str, Any], dataset, where: str) -> None:
    """Raise unless the council has 3 periods before the start and 1 from it, with donors."""
    unit = check_units([analysis["unit"]], dataset, f"{where}.unit")[0]
    outcome = check_outcome(analysis["outcome"], dataset, f"{where}.outcome")
    donors = _donors(analysis, dataset, where)
    frame = _frame(analysis, dataset, unit, donors)
    own = frame[frame[dataset.unit] == unit]
    before = int((own[dataset.time] < analysis["start"]).sum())
    after = len(own) - before
    if before < 3 or after < 1:
        raise DesignError(
            f"`{where}`: {unit!r} has {before} period(s) before {analysis['start']} and "
            f"{after} from it; the single-council designs need at least 3 before and 1 from "
            "the start. Move `start` or widen `years`."
        )
    check_complete(frame, [dataset.rate_column(outcome)], dataset, where)


def _conformal(data, design: dict, n_pre: int, n_post: int, level: float):
    """Per-period conformal intervals at the highest level the pre-period allows, or None."""
    levels = [lv for lv in (level, *CONFORMAL_LEVELS) if lv <= level]
    for lv in dict.fromkeys(levels):
        if n_pre >= minimum_pre_periods(1 - lv, n_post)[0]:
            try:
                return conformal_inference(
                    data, **design, exclude_donors=None, conf_level=lv, average=False
                )
            except TooFewPeriodsError:  # pragma: no cover - the minimum was checked
                continue
    return None


def _excluded_table(excluded: pd.DataFrame) -> TableBlock:
    rows = tuple(
        (str(r.unit), str(r.programme), str(r.reason), str(r.source)) for r in excluded.itertuples()
    )
    return TableBlock(
        "Councils left out of the donor pool",
        ("Council", "Programme", "Why", "Source"),
        rows,
        provenance="about",
    )


def run(analysis: dict[str, Any], dataset, context: Context) -> Section:
    """Run the four designs; side-by-side table, figures, findings, methods, limitations."""
    from sfpc_eval.plotting import plot_conformal, plot_synthetic

    where = context.key
    unit = check_units([analysis["unit"]], dataset, "unit")[0]
    donors = _donors(analysis, dataset, where)
    data = _frame(analysis, dataset, unit, donors)
    column = dataset.rate_column(analysis["outcome"])
    start, level = analysis["start"], analysis["conf_level"]
    design = {
        "outcome": column,
        "unit": dataset.unit,
        "time": dataset.time,
        "treated_unit": unit,
        "start": start,
    }
    exclude = "default" if analysis["exclude_programme_councils"] else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SfpcEvalWarning)
        summary = single_council_summary(
            data,
            **design,
            donors=donors,
            exclude_donors=exclude,
            conf_level=level,
            replications=analysis["replications"],
            rng=analysis["seed"],
        )
    # the methods and the table of excluded donors say which donors were left out and why
    warned = list(
        dict.fromkeys(
            str(w.message)
            for w in caught
            if issubclass(w.category, SfpcEvalWarning)
            and not issubclass(w.category, DonorExclusionWarning)
        )
    )
    name = label_of(analysis["outcome"])
    # councils and periods are in the methods: a column keeps one number of decimals
    engine = summary.summary(facts=("inference", "pre_rmspe"))
    tables = [TableBlock.of(engine)]
    sc = summary.results["synthetic_control"]
    pool = list(sc.weights.index)
    periods = sorted(data[dataset.time].unique())
    n_pre = sum(p < start for p in periods)
    conformal = _conformal(data, {**design, "donors": pool}, n_pre, len(periods) - n_pre, level)
    if conformal is not None:
        tables.append(TableBlock.of(conformal.summary()))
    placebo = None
    if analysis["placebo_starts"]:
        placebo, more = recording_warnings(
            lambda: placebo_in_time(
                data,
                **design,
                donors=pool,
                exclude_donors=None,
                placebo_start=analysis["placebo_starts"],
                conf_level=level,
            )
        )
        warned += more
        tables.append(TableBlock.of(placebo.summary()))
    if len(summary.excluded_donors):
        tables.append(_excluded_table(summary.excluded_donors))

    shades = context.axis_shades(dataset)
    span = (float(periods[0]), float(periods[-1]))
    shown: list[str] = []

    # the rates drawn: the council's and its weighted donors' (published where the DfE prints one)
    drawn = dataset.frame[
        dataset.frame[dataset.unit].isin([unit, *pool])
        & dataset.frame[dataset.time].between(periods[0], periods[-1])
    ]
    basis = plotted_rate(dataset, analysis["outcome"]).note(
        drawn, unit=dataset.unit, time=dataset.time, named=[unit]
    )

    def draw_sc(ax):
        plot_synthetic(sc, ax=ax)
        shown.extend(shade_periods(ax, shades, span=span))
        ax.set_title(f"{unit} and its synthetic control: {name}")
        ax.legend(frameon=False, fontsize=8)

    figures = [
        render_figure(
            f"{unit} and its synthetic control",
            draw_sc,
            f"{unit}: observed {name} and the synthetic control (weighted donors); thin lines: "
            "the synthetic control refitted without each donor that had weight."
            + (f" {basis}" if basis else "")
            + (f" Shaded: {', '.join(shown)}." if shown else ""),
        )
    ]
    if conformal is not None:
        figures.append(
            render_figure(
                f"{unit}: effect per year with conformal intervals",
                lambda ax: plot_conformal(conformal, ax=ax),
                f"Gap between {unit} and its synthetic control from {start}, with "
                f"{conformal.conf_level:.0%} conformal intervals (Chernozhukov, Wuthrich and Zhu "
                "2021).",
            )
        )

    text = engine.text_rows()
    row = engine.row("average_effect")
    headers = list(engine.columns)
    cells = dict(zip(headers, text[row], strict=True))
    intervals = dict(zip(headers, text[row + 1], strict=True))
    sdid, synth = label("synthetic_did"), label("synthetic_control")
    findings = [
        f"{unit}, {name}: synthetic DiD estimates an average change of {cells[sdid]} from "
        f"{start} against its weighted donors ({level:.0%} CI {intervals[sdid]}); the "
        f"synthetic control's average gap is {cells[synth]} (placebo-in-space p = "
        f"{sc.p_value:.2g} over {len(pool) + 1} councils)."
    ]
    fits = summary.table.set_index("design")["pre_rmspe"]
    findings.append(
        f"Before {start} the synthetic control tracked {unit} to a root mean squared error of "
        f"{fits['synthetic_control']:.3g} and the synthetic DiD (after its level difference) "
        f"to {fits['synthetic_did']:.3g}, against {fits['before_after']:.3g} for a flat "
        "pre-period mean."
    )
    if placebo is not None:
        fake = placebo.table[placebo.table["kind"] == "placebo"]
        findings.append(
            f"Moved back to {', '.join(map(str, fake['start']))} (before anything happened), "
            "the synthetic control finds average gaps of "
            f"{', '.join(f'{v:.3g}' for v in fake['estimate'])}."
        )
    methods = [
        f"{unit}'s {name} from {periods[0]} to {periods[-1]}, with the programme from {start}, "
        "by four designs (sfpc_eval.single_council_summary): the change in means before and "
        "after (no comparison); an interrupted time series (segmented regression, Newey-West "
        "errors); a synthetic control (donor weights on the simplex that best reproduce the "
        "council's pre-period outcome, solved exactly; inference by placebo in space); and "
        f"synthetic difference-in-differences (placebo variance, {analysis['replications']} "
        f"replications, seed {analysis['seed']}).",
        f"Donor pool: {len(pool)} councils ({', '.join(map(str, pool))})."
        + (
            f" {len(summary.excluded_donors)} councils that ran the same or similar programmes "
            "were left out (table above, with sources)."
            if len(summary.excluded_donors)
            else ""
        ),
    ]
    if conformal is not None:
        methods.append(
            f"Conformal intervals per year at {conformal.conf_level:.0%} (the highest level "
            f"{n_pre} pre-periods allow): test inversion with the synthetic control refitted "
            "on the pre-period and that year under each null (Chernozhukov, Wuthrich and Zhu "
            "2021)."
        )
    methods += [sentence(w) for w in warned]
    return Section(
        key=context.key,
        title=analysis["title"] or f"One council, four designs: {name} in {unit}",
        findings=tuple(findings),
        methods=tuple(methods),
        tables=tuple(tables),
        figures=tuple(figures),
        limitations=(
            "With one council, every interval rests on assumptions about time (that the years "
            "before the start are like the years after, for conformal intervals) or about "
            "councils (that the donors are exchangeable, for placebo in space), not on a "
            "randomised comparison.",
            "The before/after change has no comparison: it includes every trend and national "
            "change, so no finding is built from it.",
        ),
    )
