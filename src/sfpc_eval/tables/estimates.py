"""Terms as a reader sees them: scaled, labelled, and written with shared decimals.

A result's terms are read through three small hooks every result has (``terms``,
``conf_level``, and optionally ``term_labels()`` and ``term_scales()``), so this module needs
nothing from :mod:`sfpc_eval.results` and sits below it. :func:`estimates_table` is what every
``summary()`` shows; :func:`term_formats` chooses the decimals that
:func:`~sfpc_eval.tables.side_by_side.side_by_side` and the reports share.

Scales (see :func:`sfpc_eval.labels.scale_of`): ``number`` and ``ratio`` are shown as they
are; ``percent`` values (already in percent) get ``%`` and a sign; ``pp`` values (differences
of proportions) are multiplied by 100 and get `` pp`` and a sign; ``proportion`` values are
multiplied by 100 and get ``%``; ``count`` values are whole numbers with thousands separators.

Examples
--------
>>> from sfpc_eval.results import Term
>>> t = Term("risk_difference", 0.1214, std_error=0.0595, conf_low=0.0015, conf_high=0.2326)
>>> view = TermView.of(t, "pp", 0.95)
>>> view.estimate, view.conf_low
(12.14, 0.15)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from scipy import stats

from sfpc_eval import labels as vocabulary
from sfpc_eval.tables.formats import NumberFormat, decimals_for
from sfpc_eval.tables.table import INVALID_MARK, Cell, Table

__all__ = [
    "SCALES",
    "TermView",
    "estimates_table",
    "scales_of",
    "term_formats",
    "term_labels_of",
]

SCALES = ("number", "ratio", "percent", "pp", "proportion", "count")
_FACTOR = {"pp": 100.0, "proportion": 100.0}
_UNIT = {"percent": "%", "pp": "pp", "proportion": "%"}
_SIGNED = ("percent", "pp")


@dataclass(frozen=True)
class TermView:
    """One term on the scale it is shown on, with its precision.

    Attributes
    ----------
    name : str
    scale : str
        One of :data:`SCALES`.
    estimate, std_error, conf_low, conf_high, p_value, df : float
        Multiplied by 100 for ``pp`` and ``proportion``; the standard error only where it is
        on the scale of the estimate (not for ratios, whose SE is on the log scale).
    precision : float
        The standard error on the shown scale, or the interval's half-width over the critical
        value when there is none (NaN when neither is known).
    valid : bool
    note : str
    """

    name: str
    scale: str
    estimate: float
    std_error: float
    conf_low: float
    conf_high: float
    p_value: float
    df: float
    precision: float
    valid: bool
    note: str

    @classmethod
    def of(cls, term, scale: str, level: float) -> TermView:
        """Read ``term`` (a :class:`~sfpc_eval.results.Term`) on ``scale``."""
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}; got {scale!r}")
        factor = _FACTOR.get(scale, 1.0)
        low, high = term.conf_low * factor, term.conf_high * factor
        se = term.std_error * factor if scale != "ratio" else math.nan
        if math.isfinite(se) and se > 0:
            precision = se
        elif math.isfinite(low) and math.isfinite(high) and high > low:
            precision = (high - low) / (2 * float(stats.norm.ppf(0.5 + level / 2)))
        else:
            precision = math.nan
        return cls(
            name=term.term,
            scale=scale,
            estimate=round(term.estimate * factor, 12),
            std_error=se,
            conf_low=round(low, 12) if math.isfinite(low) else low,
            conf_high=round(high, 12) if math.isfinite(high) else high,
            p_value=term.p_value,
            df=term.df,
            precision=precision,
            valid=bool(getattr(term, "valid", True)),
            note=getattr(term, "note", ""),
        )


def scales_of(result) -> dict[str, str]:
    """Each term's scale: the result's own ``term_scales()`` over the vocabulary's default."""
    own = getattr(result, "term_scales", None)
    mine = own() if callable(own) else {}
    return {t.term: mine.get(t.term, vocabulary.scale_of(t.term)) for t in result.terms}


def term_labels_of(result) -> dict[str, str]:
    """Return the result's own labels for its terms (a comparison's group names, say)."""
    own = getattr(result, "term_labels", None)
    return dict(own()) if callable(own) else {}


def time_unit_of(result) -> str:
    """``"year"`` when the result's time column is called ``year``, else ``"period"``."""
    time = getattr(result, "time", None) or getattr(result, "period", None)
    return "year" if time in ("year", None) else "period"


def formats_for(views: Sequence[TermView]) -> tuple[NumberFormat, NumberFormat, NumberFormat]:
    """Estimate, standard-error and interval formats shared by ``views`` (one scale)."""
    scale = views[0].scale if views else "number"
    if scale == "count":
        decimals = 0
    else:
        decimals = decimals_for([v.precision for v in views], [v.estimate for v in views])
    unit = _UNIT.get(scale, "")
    signed = scale in _SIGNED
    kind = "count" if scale == "count" else "number"
    return (
        NumberFormat(kind, decimals, unit, signed),
        NumberFormat("se", decimals, "", False),
        NumberFormat("interval", decimals),
    )


def term_formats(
    views: Iterable[TermView],
) -> dict[str, tuple[NumberFormat, NumberFormat, NumberFormat]]:
    """Return formats per scale: every term of one scale shares its decimals.

    Returns a mapping scale -> (estimate, standard error, interval) formats.
    """
    by_scale: dict[str, list[TermView]] = {}
    for v in views:
        by_scale.setdefault(v.scale, []).append(v)
    return {scale: formats_for(group) for scale, group in by_scale.items()}


P_FORMAT = NumberFormat("p_value")


def estimates_table(
    result,
    *,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Table:
    """One result's terms as a table: label, estimate, standard error, interval, p-value, method.

    Terms of one scale share their decimals (two significant figures of the smallest standard
    error among them); percentages and percentage points are marked; a term whose inference
    is not valid for the design is marked with a dagger and its reason is a note.

    Parameters
    ----------
    result : a result object
        Anything with ``terms``, ``conf_level``, ``title``, ``facts()`` and ``notes()``.
    labels : mapping of str to str, optional
        Labels that win over the vocabulary and the result's own, for this call.
    title : str, optional
        Replaces the result's title.

    Examples
    --------
    >>> import sfpc_eval as se
    >>> print(estimates_table(se.compare_counts(974, 515)).as_markdown().splitlines()[-2])
    | Rate ratio | 0.529 |  | [0.474, 0.589] | <0.001 | exact conditional (binomial) |
    """
    level = result.conf_level
    scales = scales_of(result)
    views = [TermView.of(t, scales[t.term], level) for t in result.terms]
    formats = term_formats(views)
    own = term_labels_of(result)
    unit = time_unit_of(result)
    rows = []
    for term, view in zip(result.terms, views, strict=True):
        est, se_fmt, ci = formats[view.scale]
        name = vocabulary.label(term.term, {**own, **(labels or {})}, time_unit=unit)
        rows.append(
            [
                Cell(name, mark="" if view.valid else INVALID_MARK),
                Cell(view.estimate, est),
                Cell(view.std_error, NumberFormat("number", se_fmt.decimals)),
                Cell((view.conf_low, view.conf_high), ci),
                Cell(term.p_value, P_FORMAT),
                Cell(term.method),
            ]
        )
    columns = ["Term", "Estimate", "Std. error", f"{level:.0%} CI", "p-value", "Method"]
    return Table(
        title if title is not None else result.title,
        columns,
        rows,
        facts=result.facts(),
        notes=result.notes(),
        row_keys=[t.term for t in result.terms],
    )
