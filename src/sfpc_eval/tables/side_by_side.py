"""Several models side by side: terms as rows, models as columns, model facts beneath.

:func:`side_by_side` takes any mix of results (difference-in-differences under different
inference, event studies, Callaway & Sant'Anna aggregations, synthetic designs, stepped-wedge
GLMM/GEE/GLM, before/after comparisons, pooled results) and lays each out as a column: every
term's estimate with its interval (or standard error) beneath, then a block of model facts read
from each result's ``glance()``: outcome, model family, estimator, observations, councils,
treated councils, clusters, periods, fixed effects, inference with its degrees of freedom, and
fit statistics where defined.

A term's row uses one number of decimals across the models (two significant figures of the
smallest standard error among them). Stars are off unless asked for. A model whose estimate is
not valid for its design is marked with a dagger and a note says why.

Examples
--------
>>> import sfpc_eval as se
>>> counts = se.compare_counts(974, 515, labels=("2011", "2017"))
>>> rates = se.compare_counts(974, 515, exposure=(152239, 164634), per=10_000)
>>> table = side_by_side([counts, rates], names=["Counts", "Rates"], keep=["rate_ratio"])
>>> print(table.as_markdown().splitlines()[4])
| Rate ratio | 0.529 | 0.489 |
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from sfpc_eval import labels as vocabulary
from sfpc_eval.errors import TableError, show_values
from sfpc_eval.tables.estimates import (
    TermView,
    formats_for,
    scales_of,
    term_labels_of,
    time_unit_of,
)
from sfpc_eval.tables.formats import NumberFormat, decimals_for
from sfpc_eval.tables.table import INVALID_MARK, Cell, Table

__all__ = ["FACT_ROWS", "side_by_side"]

FACT_ROWS = (
    "outcome",
    "family",
    "estimator",
    "n_obs",
    "n_units",
    "n_treated",
    "n_clusters",
    "n_periods",
    "fixed_effects",
    "inference",
    "inference_df",
    "log_likelihood",
    "r_squared",
    "pre_rmspe",
)
"""Model facts shown under the terms (``glance()`` columns), in order; rows every model lacks
are left out."""

_COUNT_FACTS = ("n_obs", "n_units", "n_treated", "n_clusters", "n_periods")
_CODED_FACTS = ("family", "estimator", "inference", "outcome")
_STAR_LEVELS = (0.1, 0.05, 0.01)


def _names(results: Sequence, names: Sequence[str] | None) -> list[str]:
    if names is None:
        return [f"({i})" for i in range(1, len(results) + 1)]
    names = [str(n) for n in names]
    if len(names) != len(results):
        raise TableError(
            f"`names` has {len(names)} names for {len(results)} results; give one per result."
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise TableError(
            f"`names` uses {show_values(repeated)} more than once; every model needs its own "
            "name (e.g. 'DiD, CR2' and 'DiD, wild bootstrap')."
        )
    return names


def _levels(results: list, names: list[str], conf_level: float | None) -> list:
    levels = {float(r.conf_level) for r in results}
    if conf_level is not None:
        out = []
        for r, name in zip(results, names, strict=True):
            if math.isclose(r.conf_level, conf_level):
                out.append(r)
                continue
            try:
                out.append(r._refit(conf_level))
            except NotImplementedError as err:
                raise TableError(
                    f"model {name!r} cannot recompute its intervals at {conf_level:.0%}; "
                    f"refit it with conf_level={conf_level}."
                ) from err
        return out
    if len(levels) > 1:
        shown = ", ".join(f"{n} {r.conf_level:.0%}" for n, r in zip(names, results, strict=True))
        raise TableError(
            f"the results have different confidence levels ({shown}), so their intervals "
            "cannot share one column heading. Pass conf_level=0.95 (or another level) to "
            "recompute every interval at that level, or refit them at one level."
        )
    return results


def _renamed(result, name: str, rename: Mapping[str, str]) -> dict[str, object]:
    """Return the model's terms keyed by their (renamed) row name."""
    out: dict[str, object] = {}
    for term in result.terms:
        target = rename.get(term.term, term.term)
        if target in out:
            sources = [t.term for t in result.terms if rename.get(t.term, t.term) == target]
            raise TableError(
                f"`rename` gives two terms of model {name!r} the same name {target!r} "
                f"({show_values(sources)}); a term cannot be renamed to a name that already "
                "exists in its model. Drop one of them first (`drop`), or choose another name."
            )
        out[target] = term
    return out


def _row_order(
    per_model: list[dict[str, object]],
    keep: Sequence[str] | None,
    drop: Sequence[str] | None,
    order: Sequence[str] | None,
) -> list[str]:
    seen: list[str] = []
    for terms in per_model:
        seen += [t for t in terms if t not in seen]
    if keep is not None:
        missing = [k for k in keep if k not in seen]
        if missing:
            raise TableError(
                f"`keep` names terms no model has: {show_values(missing)}. The terms are "
                f"{', '.join(seen)}."
            )
        rows = list(dict.fromkeys(keep))
    else:
        rows = seen
    if drop is not None:
        rows = [r for r in rows if r not in set(drop)]
    if order is not None:
        unknown = [o for o in order if o not in rows]
        if unknown:
            raise TableError(
                f"`order` names terms not in the table: {show_values(unknown)}. The rows are "
                f"{', '.join(rows)}."
            )
        rows = list(dict.fromkeys(order)) + [r for r in rows if r not in order]
    if not rows:
        raise TableError("no terms left to show: `keep`/`drop` removed every term.")
    return rows


def _row_label(
    row: str, results: list, per_model: list[dict], rename: Mapping[str, str], labels
) -> str:
    if labels and row in labels:
        return str(labels[row])
    own = set()
    for result, terms in zip(results, per_model, strict=True):
        term = terms.get(row)
        if term is None:
            continue
        mine = term_labels_of(result)
        unit = time_unit_of(result)
        own.add(vocabulary.label(term.term, mine, time_unit=unit))
    if len(own) == 1:
        return own.pop()
    return vocabulary.label(row)


def _stars(p: float, levels: Sequence[float]) -> str:
    if math.isnan(p):
        return ""
    return "*" * sum(p < a for a in levels)


def side_by_side(
    results: Sequence | Mapping[str, object],
    *,
    names: Sequence[str] | None = None,
    keep: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    rename: Mapping[str, str] | None = None,
    order: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    uncertainty: Literal["ci", "se", "none"] = "ci",
    stars: bool | Sequence[float] = False,
    facts: bool | Sequence[str] = True,
    conf_level: float | None = None,
    title: str = "Estimates side by side",
    notes: Sequence[str] = (),
) -> Table:
    """Lay several results out as columns of one table.

    Parameters
    ----------
    results : sequence of results, or mapping of name to result
        Any results of this package (anything with ``terms``, ``conf_level`` and
        ``glance()``). A mapping gives the model names.
    names : sequence of str, optional
        Column headers, one per result (default ``(1)``, ``(2)``...). Must be distinct.
    keep : sequence of str, optional
        Term names to show, in this order (after ``rename``); default every term.
    drop : sequence of str, optional
        Term names to leave out.
    rename : mapping of str to str, optional
        Term name -> row name, to put different terms of different models on one row (e.g.
        ``{"overall": "att"}``). Renaming a term onto a name its model already has is an
        error.
    order : sequence of str, optional
        Rows to put first, in this order.
    labels : mapping of str to str, optional
        Row and fact labels that win over the vocabulary (``{"treated": "Family Valued"}``).
    uncertainty : {"ci", "se", "none"}, default "ci"
        What goes under each estimate: the confidence interval, the standard error (in
        brackets), or nothing.
    stars : bool or sequence of float, default False
        Significance stars after estimates: ``True`` for ``*`` p < 0.1, ``**`` p < 0.05 and
        ``***`` p < 0.01, or your own thresholds. Off by default.
    facts : bool or sequence of str, default True
        The model facts to show (see :data:`FACT_ROWS`); ``False`` for none.
    conf_level : float, optional
        Recompute every interval at this level. Without it, results at different levels
        are refused.
    title : str
    notes : sequence of str
        Extra lines under the table.

    Returns
    -------
    Table
        Print it, or call ``as_html()``, ``as_latex()``, ``save("models.xlsx")``...

    Raises
    ------
    TableError
        Names that repeat; a term renamed onto a name its model already has, or two rows
        given one label; results at different confidence levels (without ``conf_level``);
        ``keep`` or ``order`` naming terms no model has.

    Examples
    --------
    >>> import sfpc_eval as se
    >>> a = se.compare_proportions((52, 140), (25, 100))
    >>> b = se.compare_proportions((52, 140), (25, 100), conf_level=0.9)
    >>> side_by_side([a, b])
    Traceback (most recent call last):
    ...
    sfpc_eval.errors.TableError: the results have different confidence levels ((1) 95%, ...
    """
    if isinstance(results, Mapping):
        if names is not None:
            raise TableError("give model names either as the mapping's keys or as `names`.")
        names = [str(k) for k in results]
        results = list(results.values())
    results = list(results)
    if not results:
        raise TableError("`results` is empty; pass one or more results.")
    if uncertainty not in ("ci", "se", "none"):
        raise TableError(f"`uncertainty` must be 'ci', 'se' or 'none'; got {uncertainty!r}.")
    for i, r in enumerate(results):
        if not hasattr(r, "terms") or not hasattr(r, "conf_level"):
            raise TableError(
                f"result {i + 1} ({type(r).__name__}) is not a result of this package: it has "
                "no terms and confidence level to show."
            )
    model_names = _names(results, names)
    results = _levels(results, model_names, conf_level)
    level = float(results[0].conf_level)
    rename = dict(rename or {})
    per_model = [_renamed(r, n, rename) for r, n in zip(results, model_names, strict=True)]
    rows = _row_order(per_model, keep, drop, order)
    row_labels = {row: _row_label(row, results, per_model, rename, labels) for row in rows}
    clash = {}
    for row, text in row_labels.items():
        clash.setdefault(text, []).append(row)
    double = {text: rows_ for text, rows_ in clash.items() if len(rows_) > 1}
    if double:
        text, rows_ = next(iter(double.items()))
        raise TableError(
            f"rows {show_values(rows_)} would all be labelled {text!r}; a term cannot be "
            "renamed or labelled to a name that already exists. Use `rename` to put them on one "
            "row, or `labels` to tell them apart."
        )
    star_levels = _STAR_LEVELS if stars is True else tuple(stars) if stars else ()
    body: list[list[Cell]] = []
    kinds: list[str] = []
    keys: list[str] = []
    footnotes: list[str] = []
    scales = [scales_of(r) for r in results]
    for row in rows:
        views: list[TermView | None] = []
        for terms, scale in zip(per_model, scales, strict=True):
            term = terms.get(row)
            views.append(None if term is None else TermView.of(term, scale[term.term], level))
        present = [v for v in views if v is not None]
        by_scale: dict[str, tuple] = {}
        for v in present:
            if v.scale not in by_scale:
                by_scale[v.scale] = formats_for([w for w in present if w.scale == v.scale])
        line = [Cell(row_labels[row])]
        under = [Cell("")]
        for view, name in zip(views, model_names, strict=True):
            if view is None:
                line.append(Cell(""))
                under.append(Cell(""))
                continue
            est, se_fmt, ci = by_scale[view.scale]
            mark = _stars(view.p_value, star_levels) if star_levels else ""
            if not view.valid:
                mark = (mark + " " + INVALID_MARK).strip()
                footnotes.append(f"{INVALID_MARK} {name}, {row_labels[row]}: {view.note}")
            line.append(Cell(view.estimate, est, mark=mark))
            if uncertainty == "ci":
                under.append(Cell((view.conf_low, view.conf_high), ci))
            elif uncertainty == "se":
                under.append(Cell(view.std_error, se_fmt))
        body.append(line)
        kinds.append("")
        keys.append(row)
        if uncertainty != "none":
            body.append(under)
            kinds.append("sub")
            keys.append(f"{row}:{uncertainty}")
    shown_facts = FACT_ROWS if facts is True else tuple(facts) if facts else ()
    unknown = [f for f in shown_facts if f not in FACT_ROWS]
    if unknown:
        raise TableError(
            f"`facts` names {show_values(unknown)}, which are not model facts; choose from "
            f"{', '.join(FACT_ROWS)}."
        )
    glances = [r.glance().iloc[0] for r in results]
    first_fact = True
    for fact in shown_facts:
        values = [g.get(fact) for g in glances]
        if all(_missing(v) for v in values):
            continue
        line = [Cell(vocabulary.label(fact, labels))]
        line += [_fact_cell(fact, v, values, labels) for v in values]
        body.append(line)
        kinds.append("rule" if first_fact else "")
        keys.append(f"fact:{fact}")
        first_fact = False
    under_note = {
        "ci": f"{level:.0%} confidence intervals in brackets.",
        "se": "Standard errors in brackets.",
        "none": "",
    }[uncertainty]
    star_note = (
        " ".join(f"{'*' * (i + 1)} p < {a:g}" for i, a in enumerate(star_levels)) + "."
        if star_levels
        else ""
    )
    all_notes = [n for n in (under_note, star_note) if n]
    all_notes += list(dict.fromkeys(footnotes)) + [str(n) for n in notes]
    return Table(
        title,
        ["", *model_names],
        body,
        notes=all_notes,
        row_kinds=kinds,
        row_keys=keys,
    )


def _missing(value: object) -> bool:
    if value is None or isinstance(value, str):
        return not value
    try:
        return bool(value != value)  # NaN
    except TypeError:  # pandas NA
        return True


def _fact_cell(fact: str, value: object, values: list, labels) -> Cell:
    if _missing(value):
        return Cell("")
    if fact in _COUNT_FACTS:
        return Cell(float(value), NumberFormat("count"))  # type: ignore[arg-type]
    if fact == "inference_df":
        x = float(value)  # type: ignore[arg-type]
        return Cell(x, NumberFormat("df")) if math.isfinite(x) else Cell("\u221e")
    if fact in _CODED_FACTS:
        return Cell(vocabulary.label(str(value), labels))
    if fact == "fixed_effects":
        words = [vocabulary.label(v.strip(), labels, lower=True) for v in str(value).split(",")]
        text = ", ".join(words)
        return Cell(text[:1].upper() + text[1:])
    numbers = [float(v) for v in values if not _missing(v)]
    decimals = 3 if fact == "r_squared" else decimals_for([], numbers)
    if fact == "log_likelihood":
        decimals = 1
    return Cell(float(value), NumberFormat("number", decimals))  # type: ignore[arg-type]
