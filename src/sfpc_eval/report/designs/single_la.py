"""A single council on its own: interrupted time series of its rate around the start.

Uses :func:`sfpc_eval.its` (segmented regression, Newey-West standard errors).

Examples
--------
>>> [k.name for k in KEYS][:3]
['unit', 'outcome', 'start']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sfpc_eval.errors import DesignError
from sfpc_eval.labels import label as label_for
from sfpc_eval.report.blocks import Context, Section
from sfpc_eval.report.designs._common import (
    check_complete,
    check_outcome,
    check_units,
    effect_table,
    label_of,
    plain,
)
from sfpc_eval.report.designs._rates import plotted_rate
from sfpc_eval.report.figures import render_figure
from sfpc_eval.report.schema import Key
from sfpc_eval.single_unit import its

__all__ = ["DOC", "KEYS", "NAME", "check", "run"]

NAME = "single_la"
NEEDS_DATA = True
DOC = "One council's series before and after it started: interrupted time series."
KEYS = (
    Key("unit", "str", "The local authority (or unit)", required=True),
    Key("outcome", "str", "DfE measure (its rate per 10,000 is used) or column", required=True),
    Key("start", "int", "First period under the programme", required=True),
    Key("years", "years", "First and last period (default: all)"),
    Key("hac_lags", "int", "Newey-West lags (default: Newey and West's rule)"),
    Key(
        "count",
        "str",
        "Child-level data: the count column the outcome comes from (default: the outcome); "
        "periods with a count below the disclosure threshold are not plotted",
    ),
    Key("conf_level", "float", "Confidence level", default=0.95),
)


def _series(analysis, dataset):
    unit = check_units([analysis["unit"]], dataset, "unit")[0]
    frame = dataset.frame[dataset.frame[dataset.unit] == unit]
    if analysis["years"]:
        first, last = analysis["years"]
        frame = frame[(frame[dataset.time] >= first) & (frame[dataset.time] <= last)]
    return unit, frame.sort_values(dataset.time)


def check(analysis: dict[str, Any], dataset, where: str) -> None:
    """Raise unless the unit has at least 3 periods before and 3 from the start."""
    check_units([analysis["unit"]], dataset, f"{where}.unit")
    outcome = check_outcome(analysis["outcome"], dataset, f"{where}.outcome")
    if analysis.get("count"):
        check_outcome(analysis["count"], dataset, f"{where}.count")
    unit, frame = _series(analysis, dataset)
    if frame[dataset.time].duplicated().any():
        raise DesignError(
            f"`{where}`: {unit!r} has more than one row per period; the single_la design needs "
            "one value per period (aggregate child-level data first)."
        )
    before = int((frame[dataset.time] < analysis["start"]).sum())
    after = len(frame) - before
    if before < 3 or after < 3:
        raise DesignError(
            f"`{where}`: {unit!r} has {before} period(s) before {analysis['start']} and {after} "
            "from it; an interrupted time series needs at least 3 of each. Move `start` or "
            "widen `years`."
        )
    check_complete(frame, [dataset.rate_column(outcome)], dataset, where)


def _below_threshold(analysis, dataset, frame, column: str, threshold: int) -> np.ndarray:
    """Periods whose count from child-level records is from 1 to ``threshold - 1``."""
    if dataset.level != "child":
        return np.zeros(len(frame), dtype=bool)
    count = frame[analysis.get("count") or column].to_numpy(dtype=float)
    return (count > 0) & (count < threshold)


def run(analysis: dict[str, Any], dataset, context: Context) -> Section:
    """Fit the segmented regression; table, figure, findings, methods."""
    from sfpc_eval.plotting import plot_its

    unit, frame = _series(analysis, dataset)
    column = dataset.rate_column(analysis["outcome"])
    level = analysis["conf_level"]
    result = its(
        frame[[dataset.time, column]],
        outcome=column,
        time=dataset.time,
        start=analysis["start"],
        hac_lags=analysis["hac_lags"],
        conf_level=level,
    )
    label = label_of(analysis["outcome"])
    method = label_for(result.errors)
    table = effect_table(
        f"Interrupted time series: {unit}, {label}",
        [(label_for(t.term, time_unit="period"), {method: t}) for t in result.terms],
        [method],
        scale="number",
        level=level,
        row_header="",
        notes=[f"{method}: {plain(result.terms[0].method)}."],
        row_keys=[t.term for t in result.terms],
    )
    shades = context.axis_shades(dataset)
    span = (float(frame[dataset.time].min()), float(frame[dataset.time].max()))
    shown: list[str] = []

    small = _below_threshold(analysis, dataset, frame, column, context.threshold)

    def draw(ax):
        # small counts from child records are not drawn (nor put in the alt text); the observed
        # points are named "observed-points" in the SVG, so the test can count them
        plot_its(result, ax=ax, hide=small, shade=shades, title=f"{unit}: {label}")
        shown.extend(name for low, high, name in shades if high >= span[0] and low <= span[1])

    figure = render_figure(f"{unit}: {label}, observed and projected", draw)
    caption = f"{unit}: observed {label}, fitted segments and the projected trend."
    basis = plotted_rate(dataset, analysis["outcome"]).note(
        frame[~small], unit=dataset.unit, time=dataset.time
    )
    caption += f" {basis}" if basis else ""
    if small.any():
        caption += (
            f" {int(small.sum())} period(s) with fewer than {context.threshold} children are "
            "not shown (disclosure control)."
        )
    if shown:
        caption += f" Shaded: {', '.join(shown)}."
    shown = table.engine.text_rows()[table.engine.row("effect_at_end")]
    facts = dict(result.facts())
    return Section(
        key=context.key,
        title=analysis["title"] or f"Interrupted time series: {label} in {unit}",
        findings=(
            f"{unit}, {label}: at the end of the series the level is "
            f"{shown[1]} against the projected pre-programme trend ({level:.0%} CI "
            f"{shown[2]}).",
        ),
        methods=(
            f"Segmented regression of {unit}'s {label} on time, a step and a slope change "
            f"from {analysis['start']} (sfpc_eval.its); periods: {facts.get('periods', '')}; "
            f"variance: {facts.get('variance', '')}.",
        ),
        tables=(table,),
        figures=(figure.with_caption(caption),),
        limitations=(
            "An interrupted time series assumes the pre-programme trend would have continued; "
            "anything else that changed at the start (national policy, recording) is "
            "attributed to the programme.",
        ),
    )
