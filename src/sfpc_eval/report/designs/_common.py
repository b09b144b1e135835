"""Helpers shared by the design modules: name checks, formatting, the trend figure.

Examples
--------
>>> label_of("cla"), label_of("cla_rate")
('children looked after', 'children looked after per 10,000 children')
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from sfpc_eval.errors import DesignError, SfpcEvalWarning, SpecError, show_values
from sfpc_eval.labels import MEASURES, has_label, label
from sfpc_eval.report.blocks import TableBlock
from sfpc_eval.report.disclosure import suppress_grid
from sfpc_eval.report.schema import closest
from sfpc_eval.results import Term
from sfpc_eval.tables import Cell, NumberFormat, Table, format_number
from sfpc_eval.tables.estimates import TermView, formats_for
from sfpc_eval.tables.table import INVALID_MARK

__all__ = [
    "check_units",
    "child_counts_table",
    "count_text",
    "effect_table",
    "label_of",
    "plain",
    "recording_warnings",
    "sentence",
    "shade_note",
]


def label_of(outcome: str) -> str:
    """Name of an outcome in the middle of a sentence (a DfE measure without "at 31 March").

    The words come from the label vocabulary (:func:`sfpc_eval.labels.label`).
    """
    return label(outcome, lower=True, short=True)


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


def plain(text: str, names: Sequence[str] = ()) -> str:
    """Word the code names in an estimator's message or method line with their labels.

    Column names in quotes (``'la_name'``) and any of ``names`` or the vocabulary's measures
    with an underscore (``cla_rate``) are replaced by their lower-case labels, so a report's
    text never shows a code name.

    Examples
    --------
    >>> plain("only one 'la_name' cluster (Leeds) is ever treated; outcome cla_rate")
    'only one council cluster (Leeds) is ever treated; outcome children looked after per 10,000 children'
    """  # noqa: E501
    known = {n for n in MEASURES if "_" in n} | set(names)

    def word(match: re.Match[str]) -> str:
        name = match.group(2)
        return label(name, lower=True) if name in known or has_label(name) else match.group(0)

    text = re.sub(r"(')([A-Za-z][A-Za-z0-9_]*)'", word, text)
    pattern = r"\b()(" + "|".join(sorted(map(re.escape, known), key=len, reverse=True)) + r")\b"
    return re.sub(pattern, word, text) if known else text


def _cell_or_blank(value: float, fmt: NumberFormat, mark: str = "") -> Cell:
    return Cell(value, fmt, mark=mark) if not math.isnan(value) else Cell("")


def effect_table(
    title: str,
    rows: Sequence[tuple[str, Mapping[str, Term | None]]],
    groups: Sequence[str],
    *,
    scale: str,
    level: float,
    estimate_header: str = "Estimate",
    shared_estimate: bool = True,
    row_header: str = "",
    notes: Sequence[str] = (),
    row_keys: Sequence[str] = (),
    marks: Mapping[tuple[int, str], str] | None = None,
    texts: Mapping[tuple[int, str], str] | None = None,
) -> TableBlock:
    """Lay out one kind of effect as a wide table: rows (outcomes, event times...) by groups.

    ``rows`` holds, per row, its label and its term in each group (inference methods, or
    estimators); every term is on ``scale`` (:data:`sfpc_eval.tables.estimates.SCALES`). With
    ``shared_estimate`` the point estimate is one column (the same under every inference) and
    each group has its interval, p-value and degrees of freedom; otherwise each group has its
    own estimate. One number of decimals serves every estimate and interval (two significant
    figures of the smallest standard error). A term whose inference is not valid for the design
    is marked with a dagger and footnoted. ``marks`` adds a footnote symbol to the estimate of
    (row index, group), and ``texts`` writes text where a group has no term (``"reference"``).
    """
    marks = dict(marks or {})
    texts = dict(texts or {})
    views = {
        (i, g): TermView.of(t, scale, level)
        for i, (_, terms) in enumerate(rows)
        for g, t in terms.items()
        if t is not None
    }
    est, _, ci = formats_for(list(views.values()) or [TermView.of(Term("x", 0.0), scale, level)])
    p_format = NumberFormat("p_value")
    df_format = NumberFormat("df")
    with_df = {
        g: any(v.df == v.df and not math.isinf(v.df) for (i, h), v in views.items() if h == g)
        for g in groups
    }
    columns = [row_header] + ([estimate_header] if shared_estimate else [])
    spans: list[tuple[str, int]] = [("", len(columns))]
    for g in groups:
        own = ([estimate_header] if not shared_estimate else []) + [f"{level:.0%} CI", "p-value"]
        own += ["df"] if with_df[g] else []
        columns += own
        spans.append((g, len(own)))
    body = []
    footnotes = []
    for i, (name, _) in enumerate(rows):
        line = [Cell(name)]
        if shared_estimate:
            first = next((views[(i, g)] for g in groups if (i, g) in views), None)
            line.append(_cell_or_blank(first.estimate, est) if first else Cell(""))
        for g in groups:
            v = views.get((i, g))
            width = (0 if shared_estimate else 1) + 2 + (1 if with_df[g] else 0)
            if v is None:
                line += [Cell(texts.get((i, g), ""))] + [Cell("")] * (width - 1)
                continue
            mark = ""
            if not v.valid:
                mark = INVALID_MARK
                footnotes.append(f"{INVALID_MARK} {name}, {g}: {plain(v.note)}")
            if not shared_estimate:
                line.append(_cell_or_blank(v.estimate, est, marks.get((i, g), "")))
            line.append(Cell((v.conf_low, v.conf_high), ci))
            line.append(
                Cell(v.p_value, p_format, mark=mark) if v.p_value == v.p_value else Cell(mark)
            )
            if with_df[g]:
                line.append(Cell(v.df, df_format) if v.df == v.df else Cell(""))
        body.append(line)
    table = Table(
        title,
        columns,
        body,
        notes=[*dict.fromkeys(footnotes), *notes],
        column_groups=spans,
        row_keys=row_keys,
    )
    return TableBlock.of(table, provenance="estimate")


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
    rows.append(("Total", *done.column_totals, done.grand_total))
    roles = [("", *(["count"] * len(columns)), "total")] * len(labels)
    roles.append(("", *(["total"] * len(columns)), "total"))
    return TableBlock(
        title,
        (sentence(label(row_name)), *columns, "Total"),
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
