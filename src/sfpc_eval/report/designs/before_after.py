"""Before/after: one unit's count (and rate) in two years, compared with exact intervals.

Uses :func:`sfpc_eval.compare_counts` (rate ratio with R ``poisson.test``'s exact interval).
With ``claim``, the published claim's inputs are set beside the values in the data.

Examples
--------
>>> [k.name for k in KEYS][:4]
['unit', 'outcome', 'before', 'after']
"""

from __future__ import annotations

from typing import Any

from sfpc_eval.comparisons import compare_counts
from sfpc_eval.comparisons.counts import DFE_RATE_BASE
from sfpc_eval.errors import DesignError, SpecError
from sfpc_eval.labels import label as label_for
from sfpc_eval.report.blocks import Context, FigureBlock, Section, TableBlock
from sfpc_eval.report.designs._common import (
    check_complete,
    check_outcome,
    check_units,
    check_years,
    count_text,
    label_of,
    sentence,
    shade_note,
)
from sfpc_eval.report.designs._headlines import change_words
from sfpc_eval.report.designs._rates import plotted_rate
from sfpc_eval.report.figures import render_figure, shade_periods
from sfpc_eval.report.schema import Key
from sfpc_eval.tables import Cell, NumberFormat, Table
from sfpc_eval.tables.estimates import TermView, formats_for

NAME = "before_after"
NEEDS_DATA = True
DOC = "One unit's count (and rate per 10,000) in two years: rate ratio and percentage change."
KEYS = (
    Key("unit", "str", "The local authority (or unit) compared with itself", required=True),
    Key("outcome", "str", "DfE measure (e.g. 'cpp') or count column", required=True),
    Key("before", "int", "The year before", required=True),
    Key("after", "int", "The year after", required=True),
    Key("exposure", "str", "CSV/Parquet: population column for rates (DfE: population 0-17)"),
    Key("claim", "str", "Registry id of a published claim on the same figures"),
    Key("conf_level", "float", "Confidence level", default=0.95),
)


def _exposure(analysis: dict[str, Any], dataset) -> str | None:
    if dataset.kind == "dfe":
        return "population_0_17"
    return analysis["exposure"]


def check(analysis: dict[str, Any], dataset, where: str) -> None:
    """Raise if the unit, years, outcome or claim do not fit the data."""
    unit = check_units([analysis["unit"]], dataset, f"{where}.unit")[0]
    column = check_outcome(analysis["outcome"], dataset, f"{where}.outcome")
    if analysis["before"] >= analysis["after"]:
        raise SpecError(
            f"`{where}`: `before` ({analysis['before']}) must be earlier than `after` "
            f"({analysis['after']}).",
            key=f"{where}.before",
        )
    check_years([analysis["before"], analysis["after"]], dataset, where)
    exposure = _exposure(analysis, dataset)
    if exposure is not None and exposure not in dataset.frame.columns:
        raise SpecError(
            f"`{where}.exposure`: column {exposure!r} is not in the data.", key=f"{where}.exposure"
        )
    rows = _rows(analysis, dataset, unit)
    if len(rows) != 2:
        raise DesignError(
            f"`{where}`: expected one row for {unit!r} in each of {analysis['before']} and "
            f"{analysis['after']}; found {len(rows)}. Child-level data: aggregate it first, or "
            "use the did design."
        )
    check_complete(rows, [column, *([exposure] if exposure else [])], dataset, where)
    if analysis["claim"] is not None:
        from sfpc_eval.evidence import load_registry

        ids = load_registry().ids()
        if analysis["claim"] not in ids:
            from sfpc_eval.report.schema import closest

            raise SpecError(
                f"`{where}.claim`: no claim {analysis['claim']!r} in the registry."
                f"{closest(analysis['claim'], list(ids))} See `sfpc-eval claims` for the ids.",
                key=f"{where}.claim",
            )


def _rows(analysis: dict[str, Any], dataset, unit: Any):
    frame = dataset.frame
    mask = (frame[dataset.unit] == unit) & frame[dataset.time].isin(
        [analysis["before"], analysis["after"]]
    )
    return frame[mask].sort_values(dataset.time)


def _trend_figure(analysis, dataset, context: Context, unit, column, exposure) -> FigureBlock:
    frame = dataset.frame[dataset.frame[dataset.unit] == unit].sort_values(dataset.time)
    rate = plotted_rate(dataset, column, exposure)
    per = rate.is_rate
    y = rate.values(frame)
    hidden = 0
    if dataset.level == "child":  # small counts from child-level records are not plotted
        small = (frame[column] > 0) & (frame[column] < context.threshold)
        hidden = int(small.sum())
        y = y.where(~small)
    shades = context.axis_shades(dataset)
    span = (float(frame[dataset.time].min()), float(frame[dataset.time].max()))
    shown: list[str] = []

    def draw(ax):
        from sfpc_eval.plotting.layout import finish
        from sfpc_eval.plotting.style import PALETTE, context

        (line,) = ax.plot(
            frame[dataset.time], y, marker="o", color=PALETTE["dark_blue"], label=str(unit)
        )
        for year in (analysis["before"], analysis["after"]):
            context(ax.axvline(year, color=PALETTE["dark_grey"], linestyle=":", linewidth=1))
        shown.extend(shade_periods(ax, shades, span=span))
        xlabel = "year ending 31 March" if dataset.kind == "dfe" else label_for(dataset.time)
        ylabel = "per 10,000 children aged 0-17" if per else label_for(column)
        finish(
            ax,
            title=f"{unit}: {label_of(column)}, {analysis['before']} and {analysis['after']}",
            xlabel=sentence(xlabel),
            ylabel=sentence(ylabel),
            source=None,
            direct=[(line, str(unit))],
        )

    caption = (
        f"{sentence(label_of(column))} in {unit}{' per 10,000 children aged 0-17' if per else ''}, "
        f"{int(span[0])}-{int(span[1])}; dotted lines mark {analysis['before']} and "
        f"{analysis['after']}."
    )
    if per:
        caption += " " + rate.note(frame[y.notna()], unit=dataset.unit, time=dataset.time)
    if rate.basis is not None and (frame.loc[y.notna(), rate.basis] == "published").any():
        caption += (
            " The table divides the count by the population, so a published rate can differ "
            "from it in the last digit."
        )
    if hidden:
        caption += f" {hidden} point(s) below the disclosure threshold are not shown."
    figure = render_figure(f"{unit}: {label_of(column)} over time", draw, size=(7.5, 3.6))
    return figure.with_caption(caption + shade_note(shades, shown))


def _change_table(result, rates, level: float) -> TableBlock:
    """Tabulate counts (and rates) as rows; ratio, change and difference as columns."""
    models = [("Counts", result)] + ([("Rates per 10,000", rates)] if rates is not None else [])
    readings = (("rate_ratio", "ratio"), ("percent_change", "percent"), ("difference", "number"))
    views = {
        (row, term): TermView.of(res.term(term), scale, level)
        for row, res in models
        for term, scale in readings
        if term != "difference" or row == "Counts"
    }
    formats = {
        term: formats_for([v for (_, t), v in views.items() if t == term]) for term, _ in readings
    }
    body = []
    for row, res in models:
        line: list[object] = [row]
        for term, _ in readings:
            view = views.get((row, term))
            est, _, ci = formats[term]
            if view is None:
                line += ["", ""]
                continue
            line += [Cell(view.estimate, est), Cell((view.conf_low, view.conf_high), ci)]
        line.append(Cell(res.term("rate_ratio").p_value, NumberFormat("p_value")))
        body.append(line)
    ci = f"{level:.0%} CI"
    methods = {res.term(t).method for _, res in models for t, _ in readings if t != "difference"}
    table = Table(
        "Change between the two years",
        ["", "Rate ratio", ci, "Change (%)", ci, "Difference", ci, "p-value"],
        body,
        notes=(
            f"Rate ratio and change: {', '.join(sorted(methods))} intervals and p-value (as R's "
            f"poisson.test); difference: {result.term('difference').method} interval.",
        ),
        column_groups=[("", 1), ("After / before", 4), ("After - before", 2), ("", 1)],
    )
    return TableBlock.of(table, provenance="estimate")


def run(analysis: dict[str, Any], dataset, context: Context) -> Section:
    """Compare the two years; tables, a trend figure, findings and methods text."""
    unit = check_units([analysis["unit"]], dataset, "unit")[0]
    column = analysis["outcome"]
    exposure = _exposure(analysis, dataset)
    rows = _rows(analysis, dataset, unit)
    counts = [float(v) for v in rows[column]]
    years = (str(analysis["before"]), str(analysis["after"]))
    level = analysis["conf_level"]
    child = dataset.level == "child"
    small = child and any(0 < c < context.threshold for c in counts)
    label = label_of(column)
    title = analysis["title"] or f"Before/after: {label} in {unit}, {years[0]} to {years[1]}"
    shown = ["c" if small else count_text(c) for c in counts]
    data_rows: list[list[object]] = []
    rates = None
    if exposure is not None:
        pops = [float(v) for v in rows[exposure]]
        rates = compare_counts(
            *counts, exposure=tuple(pops), per=DFE_RATE_BASE, labels=years, conf_level=level
        )
        per_format = NumberFormat("number", 1)
        for year, count, pop, term in zip(years, counts, pops, ("before", "after"), strict=True):
            rate = rates.term(term).estimate
            data_rows.append(
                [
                    year,
                    Cell("c") if small else Cell(count, NumberFormat("count")),
                    Cell(pop, NumberFormat("count")),
                    Cell("c") if small else Cell(rate, per_format),
                ]
            )
        data_columns = ("Year ending 31 March", "Count", "Children aged 0-17", "Per 10,000")
    else:
        data_rows = [
            [y, Cell("c") if small else Cell(c, NumberFormat("count"))]
            for y, c in zip(years, counts, strict=True)
        ]
        data_columns = ("Year", "Count")
    roles = tuple(("",) + ("count",) + ("",) * (len(data_columns) - 2) for _ in data_rows)
    source = "published LA-level statistics" if not child else "child-level records"
    data_table = TableBlock.of(
        Table(
            f"{unit}: {label}",
            data_columns,
            data_rows,
            notes=(f"Source: {source} ({dataset.kind}).",),
        ),
        provenance="child" if child else "published",
        roles=roles,
    )
    findings: list[str] = []
    summary: list[str] = []
    limitations = [
        "A before/after comparison attributes every change between the two years to the "
        "programme; national trends, other local changes and regression to the mean are not "
        "separated out (the did design does that).",
    ]
    tables = [data_table]
    if small:
        tables.append(
            TableBlock(
                "Change between the two years",
                ("", "Change (%)"),
                (("Counts", "c"),),
                provenance="estimate",
                notes=(
                    f"Suppressed: a count below {context.threshold} from child-level records "
                    "would be revealed by the change.",
                ),
            )
        )
        findings.append(
            f"{sentence(label)} in {unit}: counts too small to show (below the threshold)."
        )
        methods = ()
    else:
        result = compare_counts(*counts, labels=years, conf_level=level)
        change = _change_table(result, rates, level)
        tables.append(change)
        quoted = change.engine.text_rows()  # the findings quote the table
        findings.append(
            f"{sentence(label)} in {unit}: {count_text(counts[0])} in {years[0]} and "
            f"{count_text(counts[1])} in {years[1]}, a change of {quoted[0][3]} "
            f"({level:.0%} CI {quoted[0][4]})."
        )
        summary.append(
            f"{sentence(label)} in {unit} {change_words(quoted[0][3])} between {years[0]} and "
            f"{years[1]}, from {count_text(counts[0])} to {count_text(counts[1])}."
        )
        if rates is not None:
            findings.append(
                f"Per 10,000 children: {rates.term('before').estimate:.1f} to "
                f"{rates.term('after').estimate:.1f}, {quoted[1][3]}."
            )
        method = result.term("rate_ratio").method
        methods = (
            f"{unit}'s {label} in {years[0]} and {years[1]} were compared as two Poisson "
            f"counts (sfpc_eval.compare_counts): the rate ratio and percentage change have "
            f"{level:.0%} intervals by the {method} method (as R's poisson.test), and the "
            f"difference a {result.term('difference').method} interval."
            + (
                " Rates per 10,000 use the ONS mid-year population aged 0-17 of the previous "
                "year (the DfE's denominator)."
                if rates is not None and dataset.kind == "dfe"
                else ""
            ),
        )
    if analysis["claim"] is not None:
        from sfpc_eval.evidence import load_registry, reproduce

        claim = load_registry()[analysis["claim"]]
        rep = reproduce(analysis["claim"])
        values = claim.inputs.values if claim.inputs is not None else {}
        published = [values.get("before"), values.get("after")]
        agree = published == [int(c) for c in counts] if not small else None
        tables.append(
            TableBlock(
                f"Published claim {claim.id}",
                ("", years[0], years[1], "Wording", "Registry status"),
                (
                    (
                        "Published",
                        *(count_text(v) if v is not None else "" for v in published),
                        claim.wording,
                        rep.status,
                    ),
                    ("These data", *shown, "", ""),
                ),
                provenance="child" if child else "published",
                notes=(claim.source.cite(),),
                roles=(("", "", "", "", ""), ("", "count", "count", "", "")),
            )
        )
        if agree is not None:
            findings.append(
                f"The published figures of claim {claim.id} ({claim.wording!r}) "
                + ("match these data exactly." if agree else "differ from these data.")
            )
            summary.append(
                f"The published claim ({claim.wording!r}) "
                + ("matches these figures." if agree else "does not match these figures.")
            )
    return Section(
        key=context.key,
        title=title,
        findings=tuple(findings),
        summary=tuple(summary),
        methods=methods,
        tables=tuple(tables),
        figures=(_trend_figure(analysis, dataset, context, unit, column, exposure),),
        limitations=tuple(limitations),
    )
