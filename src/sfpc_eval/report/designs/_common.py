"""Helpers shared by the design modules: name checks, formatting, the trend figure.

Examples
--------
>>> interval(-52.61, -41.07, "%")
'[-52.6%, -41.1%]'
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

from sfpc_eval._tables import format_number, format_p_value
from sfpc_eval.errors import DesignError, SfpcEvalWarning, SpecError, show_values
from sfpc_eval.report.blocks import TableBlock
from sfpc_eval.report.disclosure import suppress_grid
from sfpc_eval.report.schema import closest
from sfpc_eval.results import INVALID_MARK, marked_term

__all__ = [
    "MEASURE_LABELS",
    "check_units",
    "child_counts_table",
    "count_text",
    "estimate_rows",
    "interval",
    "label_of",
    "recording_warnings",
    "sentence",
    "shade_note",
]

MEASURE_LABELS = {
    "cla": "children looked after",
    "cpp": "children on child protection plans",
    "cin": "children in need",
    "referrals": "referrals to children's social care",
    "cla_started": "children starting to be looked after",
    "cla_ceased": "children ceasing to be looked after",
}


def label_of(outcome: str) -> str:
    """Readable name of an outcome (DfE measure names get their label)."""
    return MEASURE_LABELS.get(outcome, outcome)


def interval(low: float, high: float, unit: str = "") -> str:
    """``[low, high]`` with one decimal for percentages, else four significant figures."""
    if math.isnan(low) and math.isnan(high):
        return "not available"
    if math.isinf(low) or math.isinf(high):
        return "unbounded (too few possible assignments)"
    if unit == "%":
        return f"[{low:.1f}%, {high:.1f}%]"
    return f"[{format_number(low)}, {format_number(high)}]"


def count_text(value: float) -> str:
    """Show a count: whole numbers without decimals, with thousands separators."""
    return f"{int(value):,}" if float(value).is_integer() else format_number(value)


def sentence(text: str) -> str:
    """Capitalise the first letter (LA and measure names may start a finding)."""
    return text[:1].upper() + text[1:]


def check_units(
    names: Iterable[Any], dataset, where: str, *, what: str = "local authority"
) -> list[Any]:
    """Every name must be a unit of the data; otherwise raise naming the closest."""
    known = {str(u): u for u in dataset.units}
    out = []
    for name in names:
        if str(name) not in known:
            raise DesignError(
                f"`{where}`: {what} {name!r} is not in the data (column "
                f"{dataset.unit!r}).{closest(str(name), list(known))} The data have "
                f"{len(known)} units: {show_values(list(known))}."
            )
        out.append(known[str(name)])
    return out


def check_outcome(outcome: str, dataset, where: str) -> str:
    """Return the column holding ``outcome`` (DfE: the count), or raise naming the choices."""
    frame = dataset.frame
    if dataset.kind == "dfe":
        measures = [c[: -len("_rate")] for c in frame.columns if c.endswith("_rate")]
        if outcome not in measures:
            raise SpecError(
                f"`{where}`: outcome {outcome!r} is not in the DfE panel; read measures are "
                f"{', '.join(measures)}.{closest(outcome, measures)} Add it to `data.measures` "
                "if it is a DfE measure.",
                key=where,
            )
        return outcome
    if outcome not in frame.columns:
        raise SpecError(
            f"`{where}`: outcome column {outcome!r} is not in {dataset.path.name}; its columns "
            f"are {', '.join(map(str, frame.columns))}.{closest(outcome, list(frame.columns))}",
            key=where,
        )
    return outcome


def check_years(years: Sequence[int], dataset, where: str) -> None:
    """Every year must be a period of the data."""
    have = set(dataset.years)
    missing = [y for y in years if y not in have]
    if missing:
        raise DesignError(
            f"`{where}`: year(s) {show_values(missing)} are not in the data, which cover "
            f"{min(have)}-{max(have)}. Choose years in that range (or widen `data.years`)."
        )


def check_complete(frame: pd.DataFrame, columns: Sequence[str], dataset, where: str) -> None:
    """No missing values in ``columns`` for the rows an analysis uses."""
    for column in columns:
        gaps = frame[frame[column].isna()]
        if len(gaps):
            cells = [
                f"{u} {t}" for u, t in zip(gaps[dataset.unit], gaps[dataset.time], strict=True)
            ]
            status = ""
            if f"{column}_status" in frame.columns:
                status = f" (status: {show_values(sorted(set(gaps[f'{column}_status'])))})"
            raise DesignError(
                f"`{where}`: {column!r} is missing for {show_values(cells)}{status}. Narrow "
                "`years`, or leave those units out of the comparison group."
            )


def recording_warnings(call: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run ``call``; return its value and the messages of sfpc_eval warnings it issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SfpcEvalWarning)
        value = call()
    messages = []
    for w in caught:
        if issubclass(w.category, SfpcEvalWarning):
            messages.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return value, list(dict.fromkeys(messages))


def estimate_rows(
    result, names: Sequence[str], label: str, notes: list[str] | None = None
) -> list[tuple[str, ...]]:
    """Rows (label, term, estimate, interval, p-value, df, method) for the named terms.

    A term whose inference is not valid for the design is shown with a dagger; with ``notes``
    (a list) its reason is appended there as a footnote, for :func:`estimate_table`.
    """
    rows = []
    for name in names:
        t = result.term(name)
        if not t.valid and notes is not None:
            notes.append(f"{INVALID_MARK} {label}, {name}: {t.note}")
        unit = "%" if name == "percent_change" else ""
        est = f"{t.estimate:+.1f}%" if unit else format_number(t.estimate)
        df = "" if math.isnan(t.df) else ("inf" if math.isinf(t.df) else f"{t.df:.1f}")
        rows.append(
            (
                label,
                marked_term(t),
                est,
                interval(t.conf_low, t.conf_high, unit),
                format_p_value(t.p_value),
                df,
                t.method,
            )
        )
    return rows


ESTIMATE_COLUMNS = ("analysis", "term", "estimate", "CI", "p-value", "df", "method")


def estimate_table(
    title: str, rows: list[tuple[str, ...]], conf_level: float, notes=()
) -> TableBlock:
    """Make a table of estimates (provenance ``estimate``).

    Every row marked with the dagger (:data:`~sfpc_eval.results.INVALID_MARK`) gets a
    footnote: the reasons passed in ``notes``, or a general one when none was given.
    """
    columns = tuple(c if c != "CI" else f"{conf_level:.0%} CI" for c in ESTIMATE_COLUMNS)
    notes = list(dict.fromkeys(notes))
    marked = any(str(row[1]).endswith(INVALID_MARK) for row in rows)
    if marked and not any(n.startswith(INVALID_MARK) for n in notes):
        notes.append(
            f"{INVALID_MARK} The interval or p-value of this row is not valid for this design "
            "(see Methods and Limitations); no finding is built from it."
        )
    return TableBlock(title, columns, tuple(rows), provenance="estimate", notes=tuple(notes))


def child_counts_table(
    title: str,
    row_name: str,
    labels: Sequence[Any],
    columns: Sequence[str],
    counts: list[list[int]],
    threshold: int,
) -> TableBlock:
    """Tabulate child-level counts (rows ``labels``) with suppression and row/column totals."""
    done = suppress_grid(counts, threshold=threshold)
    rows = [
        (str(label), *cells, total)
        for label, cells, total in zip(labels, done.cells, done.row_totals, strict=True)
    ]
    rows.append(("total", *done.column_totals, done.grand_total))
    roles = [("", *(["count"] * len(columns)), "total")] * len(labels)
    roles.append(("", *(["total"] * len(columns)), "total"))
    return TableBlock(
        title,
        (row_name, *columns, "total"),
        tuple(rows),
        provenance="child",
        notes=(
            f"Counts from child-level records; 1-{threshold - 1} shown as 'c' "
            f"({done.n_primary} primary, {done.n_secondary} secondary suppressions).",
        ),
        roles=tuple(roles),
        total_row=True,
    )


def shade_note(shades: Sequence[tuple[float, float, str]], shown: Sequence[str]) -> str:
    """Caption text naming the shaded periods, and those outside the time axis (or "")."""
    note = ""
    if shown:
        note += f" Shaded: {', '.join(shown)}."
    skipped = [s[2] for s in shades if s[2] not in shown]
    if skipped:
        note += f" Not reached by this time axis: {', '.join(skipped)}."
    return note


def group_rates(
    frame: pd.DataFrame, dataset, outcome: str, treated: Sequence[Any], exposure: str | None
) -> pd.DataFrame:
    """Per period: the treated and comparison groups' rate per 10,000 (or mean).

    With an exposure column, a group's rate is its summed count over summed exposure x 10,000
    (population-weighted); otherwise the plain mean of the outcome.
    """
    in_treated = frame[dataset.unit].isin(list(treated))
    parts = []
    for group, mask in (("treated", in_treated), ("comparison", ~in_treated)):
        rows = frame[mask]
        if rows.empty:
            continue
        if exposure is not None:
            sums = rows.groupby(dataset.time)[[outcome, exposure]].sum(min_count=1)
            value = sums[outcome] / sums[exposure] * 10_000
        else:
            value = rows.groupby(dataset.time)[outcome].mean()
        parts.append(pd.DataFrame({"time": value.index, "group": group, "mean": value.to_numpy()}))
    return pd.concat(parts, ignore_index=True)
