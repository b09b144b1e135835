"""Forest plot: one effect under several models or inference methods, one row each.

Used to show how much an answer depends on the choices behind it: the GLMM, GEE and GLM of a
stepped-wedge trial, or CR2, the wild cluster bootstrap and randomization inference for one DiD.
Each row is the estimate with its interval, and the numbers are written beside it; a row whose
inference is not valid for the design (``Term.valid`` is False) is drawn hollow and marked with
a dagger; an unbounded interval runs to the edge of the plot with an arrow.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import sfpc_eval as se
>>> a = se.compare_counts(974, 515, labels=("2011", "2017"))
>>> b = se.compare_counts(1020, 930, exposure=(160_000, 161_500))
>>> ax = plot_forest({"Leeds": a, "Elsewhere": b}, term="percent_change")
>>> [t.get_text() for t in ax.get_yticklabels()]
['Leeds', 'Elsewhere']
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.labels import scale_of
from sfpc_eval.plotting.layout import finish
from sfpc_eval.plotting.style import (
    FONT_SIZE,
    TEXT,
    TREATED,
    check_labels,
    context,
    new_axes,
    source_text,
    word,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_forest", "plot_terms"]

DAGGER = "\u2020"
_UNITS = {"percent": " (%)", "pp": " (percentage points)", "ratio": "", "number": ""}


def _pick_term(results: Sequence[tuple[str, Any]], term: str | None) -> str:
    if term is None:
        term = results[0][1].headline.term
    lacking = [name for name, res in results if term not in {t.term for t in res.terms}]
    if lacking:
        raise InvalidValueError(
            f"`term` {term!r} is not a term of {', '.join(map(repr, lacking))}; their terms are "
            f"{', '.join(t.term for t in dict(results)[lacking[0]].terms)}."
        )
    return term


def plot_forest(
    results: Mapping[str, Any] | Sequence[tuple[str, Any]],
    *,
    term: str | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw one effect from several results as rows of estimates with intervals.

    Parameters
    ----------
    results : mapping of str to result, or sequence of (name, result)
        The results, in the order to draw them (top first). Names are worded by the label
        vocabulary (``"CR2"``, ``"glmm"``, ``"randomization"``...) unless ``labels`` says
        otherwise.
    term : str, optional
        The term to draw (default: the first result's headline term, e.g. ``treated`` for a
        linear DiD, ``odds_ratio`` for a trial). Every result must have it.
    labels : mapping, optional
        Words for the result names and for the term (the x axis).
    title, source : str, optional
        Main-message title and source line.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidValueError
        No results, or a result without ``term``.
    LabelError
        ``labels`` names something not drawn.
    """
    rows = list(results.items()) if isinstance(results, Mapping) else list(results)
    if not rows:
        raise InvalidValueError("`results` is empty; pass at least one result to draw.")
    term = _pick_term(rows, term)
    words = check_labels(labels, [name for name, _ in rows] + [term])
    first = rows[0][1]
    scale = first.term_scales().get(term, scale_of(term))
    names = [words.get(name, word(name)) for name, _ in rows]
    xlabel = words.get(term, word(term) + _UNITS.get(scale, ""))
    n = len(rows)
    default = f"{word(term)} under {n} {'models or methods' if n > 1 else 'model'}"
    return _draw_rows(
        ax,
        names,
        [res.term(term) for _, res in rows],
        scale=scale,
        conf_level=first.conf_level,
        xlabel=xlabel,
        title=title or default,
        source=source,
    )


def plot_terms(
    result: Any,
    *,
    terms: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw the terms of one result as rows of estimates with intervals.

    The figure of results that are neither two-group comparisons nor over time (a synthetic
    DiD, a difference-in-differences of published means, pooled imputations).

    Parameters
    ----------
    result : result
        Any result with ``terms``.
    terms : sequence of str, optional
        The terms to draw, top first; default: the terms on the headline term's scale (a
        ratio's siblings, or the differences), so that all rows share one axis.
    labels : mapping, optional
        Words for the terms (the rows) or ``"estimate"`` (the x axis).
    title, source : str, optional
        Main-message title and source line.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidValueError
        A named term is not a term of the result, or terms on different scales.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import sfpc_eval as se
    >>> res = se.did_from_counts(((974, 152239), (515, 164634)), ((900, 150000), (880, 151000)))
    >>> [t.get_text() for t in plot_terms(res).get_yticklabels()][-1]
    'Ratio of rate ratios'
    """
    scales = result.term_scales()
    known = [t.term for t in result.terms]
    if terms is None:
        headline = result.headline.term
        wanted = scales.get(headline, scale_of(headline))
        terms = [t for t in known if scales.get(t, scale_of(t)) == wanted]
    missing = [t for t in terms if t not in known]
    if missing or not terms:
        raise InvalidValueError(
            f"`terms`: {missing!r} are not terms of the result; its terms are {', '.join(known)}."
        )
    used = {scales.get(t, scale_of(t)) for t in terms}
    if len(used) > 1:
        raise InvalidValueError(
            f"`terms` mixes scales ({', '.join(sorted(used))}); draw one scale at a time."
        )
    scale = used.pop()
    words = check_labels(labels, [*terms, "estimate"])
    names = [words.get(t, word(t)) for t in terms]
    xlabel = words.get("estimate", "Estimate" + _UNITS.get(scale, ""))
    headline = result.term(terms[0])
    factor = 100.0 if scale == "pp" else 1.0
    numbers = _row_text(
        headline.estimate * factor,
        headline.conf_low * factor,
        headline.conf_high * factor,
        headline.p_value,
        scale,
    )
    default = f"{names[0]}: {numbers}"
    return _draw_rows(
        ax,
        names,
        [result.term(t) for t in terms],
        scale=scale,
        conf_level=result.conf_level,
        xlabel=xlabel,
        title=title or default,
        source=source,
    )


def _draw_rows(
    ax: Axes | None,
    names: list[str],
    terms: list[Any],
    *,
    scale: str,
    conf_level: float,
    xlabel: str,
    title: str,
    source: str | None,
) -> Axes:
    """Draw one row per term: estimate, interval, the numbers in words; finish the figure."""
    factor = 100.0 if scale == "pp" else 1.0
    shown = [
        (t.estimate * factor, t.conf_low * factor, t.conf_high * factor, t.valid, t.p_value)
        for t in terms
    ]
    finite = [v for e, lo, hi, _, _ in shown for v in (e, lo, hi) if math.isfinite(v)]
    if scale == "ratio":
        finite = [v for v in finite if v > 0]
    reference = 1.0 if scale == "ratio" else 0.0
    lo_edge = min([*finite, reference])
    hi_edge = max([*finite, reference])
    ax = new_axes(ax, size=(7.0, 1.8 + 0.7 * len(terms)))
    if scale == "ratio":
        ax.set_xscale("log")
        pad = (hi_edge / lo_edge) ** 0.08
        limits = (lo_edge / pad, hi_edge * pad)
    else:
        pad = 0.08 * (hi_edge - lo_edge or 1.0)
        limits = (lo_edge - pad, hi_edge + pad)
    ax.set_xlim(*limits)
    context(ax.axvline(reference, color=TEXT, linewidth=0.8))
    marked = []
    notes = []
    invalid_drawn = False
    for y, (name, (est, low, high, valid, p)) in enumerate(zip(names, shown, strict=True)):
        marked.append(name if valid else f"{name} {DAGGER}")
        face = TREATED if valid else "white"
        invalid_drawn |= not valid
        if math.isfinite(low) and math.isfinite(high):
            ax.plot([low, high], [y, y], color=TREATED, linewidth=2, solid_capstyle="butt")
        elif not (math.isnan(low) and math.isnan(high)):
            a = limits[0] if not math.isfinite(low) else low
            b = limits[1] if not math.isfinite(high) else high
            ax.plot([a, b], [y, y], color=TREATED, linewidth=2)
            for end, open_end, marker in (
                (a, not math.isfinite(low), "<"),
                (b, not math.isfinite(high), ">"),
            ):
                if open_end:
                    ax.plot(
                        [end], [y], marker=marker, color=TREATED, markersize=7, linestyle="none"
                    )
        ax.plot(
            [est],
            [y],
            marker="o",
            markersize=8,
            color=TREATED,
            markerfacecolor=face,
            markeredgewidth=1.8,
            linestyle="none",
        )
        notes.append(_row_text(est, low, high, p, scale))
    ax.set_yticks(range(len(terms)), ["\n".join(textwrap.wrap(n, 24)) for n in marked])
    ax.set_ylim(len(terms) - 0.5, -0.5)
    for y, text in enumerate(notes):
        ax.annotate(
            text,
            xy=(0.01, y),
            xycoords=("axes fraction", "data"),
            xytext=(0, 7),
            textcoords="offset points",
            va="bottom",
            ha="left",
            fontsize=FONT_SIZE - 1,
            color=TEXT,
            annotation_clip=False,
        )
    level = f"{conf_level:.0%}"
    if invalid_drawn:  # a footnote under the chart, with the source
        source = f"{source_text(source)}. {DAGGER} Hollow: not valid for this design."
    alt = (
        f"Forest plot of {xlabel.lower()} with {level} confidence intervals: "
        + "; ".join(f"{n}: {t}" for n, t in zip(marked, notes, strict=True))
        + f". Reference line at {reference:g}."
    )
    return finish(
        ax,
        title=title,
        xlabel=xlabel,
        ylabel="",
        source=source,
        alt=alt,
        grid="x",
        kind="Forest plot",
    )


def _row_text(est: float, low: float, high: float, p: float, scale: str) -> str:
    digits = 3 if scale == "ratio" else (1 if abs(est) >= 10 or scale in ("percent", "pp") else 2)
    fmt = f"{{:.{digits}f}}"
    unit = "%" if scale == "percent" else ""
    if math.isnan(low) and math.isnan(high):
        interval = "no interval"
    elif not (math.isfinite(low) and math.isfinite(high)):
        interval = "interval unbounded"
    else:
        interval = f"{fmt.format(low)}{unit} to {fmt.format(high)}{unit}"
    p_text = "" if np.isnan(p) else (f", p = {p:.3f}" if p >= 0.001 else ", p < 0.001")
    return f"{fmt.format(est)}{unit} ({interval}){p_text}"
