"""The figure of published claims: disagreements first, each claim named in words.

One row per claim, labelled by place, published wording, publisher and year
(:func:`sfpc_eval.evidence.claim_label`), in reading order
(:func:`sfpc_eval.evidence.reading_order`):
conflicts, then wordings that do not hold, then rounding differences, then reproduced
claims.
Claims are about different quantities (percentages, counts, pounds, ratios), so every row is
drawn relative to one reference: the published figure of the first claim shown on the same
measure. Two claims that conflict therefore share a scale, and the gap between their grey bars
(the values each wording allows) is the size of their disagreement. The vertical tick is the
published figure; the marker, coloured and shaped by status, is the value recomputed from the
published inputs with its interval, where the inputs were published.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from sfpc_eval.evidence import audit
>>> table = audit()
>>> ax = plot_claims(table)
>>> shown = set(table.loc[table["status"].isin(["conflict", "wording does not hold"]), "label"])
>>> shown <= {" ".join(t.get_text().split()) for t in ax.get_yticklabels()}
True
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.evidence import (
    CONFLICT,
    REPRODUCED,
    ROUNDING,
    STATED_ONLY,
    STATUS_ORDER,
    WORDING_FAILS,
    admissible,
    audit,
    load_registry,
    reading_order,
)
from sfpc_eval.plotting.layout import finish
from sfpc_eval.plotting.style import PALETTE, TEXT, check_labels, context, new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "DRAWN_STATUSES",
    "STATUS_COLOURS",
    "STATUS_MARKERS",
    "figure_size",
    "plot_claims",
]

STATUS_COLOURS = {
    CONFLICT: PALETTE["dark_pink"],
    WORDING_FAILS: PALETTE["orange"],
    ROUNDING: PALETTE["turquoise"],
    REPRODUCED: PALETTE["dark_blue"],
    STATED_ONLY: PALETTE["dark_grey"],
}
STATUS_MARKERS = {
    CONFLICT: "D",
    WORDING_FAILS: "X",
    ROUNDING: "s",
    REPRODUCED: "o",
    STATED_ONLY: ".",
}
DRAWN_STATUSES: tuple[str, ...] = (CONFLICT, WORDING_FAILS, ROUNDING, REPRODUCED)
"""Statuses drawn by default: every claim that could be checked against something."""

RANGE_COLOUR = PALETTE["grey"]
X_LABEL = "Difference from the first published figure on the same measure (%)"


def _relative(value: float, reference: float) -> float:
    if math.isnan(value):
        return math.nan
    if math.isinf(value):
        return value
    return 100.0 * (value / reference - 1.0) if reference else value


def figure_size(
    table: pd.DataFrame, statuses: Sequence[str] = DRAWN_STATUSES
) -> tuple[float, float]:
    """Return the size (inches) plot_claims gives a new figure for ``table``'s drawn rows.

    For callers that make the figure themselves (a report's ``render_svg``).

    Examples
    --------
    >>> from sfpc_eval.evidence import audit
    >>> width, height = figure_size(audit())
    >>> width, height > 10
    (9.0, True)
    """
    rows = int(table["status"].isin(list(statuses)).sum())
    return (9.0, 2.0 + 0.5 * rows)


def plot_claims(
    table: pd.DataFrame | None = None,
    ax: Axes | None = None,
    *,
    statuses: Sequence[str] = DRAWN_STATUSES,
    metrics: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Draw published claims against what their wording allows and their re-derived values.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        Output of :func:`sfpc_eval.evidence.audit`; computed if omitted.
    ax : matplotlib Axes, optional
        Where to draw; a new figure (sized to the rows) if omitted.
    statuses : sequence of str
        The statuses to draw; by default all but ``stated only``, so every conflict, every
        wording that does not hold and every rounding difference is drawn, first.
    metrics : sequence of str, optional
        Only claims on these metrics (``"percent_reduction"``...); all by default.
    labels : mapping, optional
        Words for claims, by registry id (default: place, wording, publisher and year).
    title, source : str, optional
        Main-message title and source line.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidValueError
        An unknown status, or nothing left to draw.
    LabelError
        ``labels`` names a claim not drawn.
    """
    unknown = [s for s in statuses if s not in STATUS_ORDER]
    if unknown:
        raise InvalidValueError(
            f"`statuses`: {unknown!r} are not statuses; they are {', '.join(STATUS_ORDER)}."
        )
    registry = load_registry()
    table = audit() if table is None else table
    rows = reading_order(table[table["status"].isin(list(statuses))])
    if metrics is not None:
        rows = rows[rows["metric"].isin(list(metrics))]
    if rows.empty:
        raise InvalidValueError(
            f"no claim has status {', '.join(statuses)}"
            + (f" on metrics {', '.join(metrics)}" if metrics is not None else "")
            + "; nothing to draw."
        )
    words = check_labels(labels, list(rows["id"]))
    if ax is None:
        ax = new_axes(None, size=figure_size(rows, statuses))
    else:
        new_axes(ax)
    references: dict[tuple[str, str], float] = {}
    drawn = []
    for row in rows.itertuples(index=False):
        claim = registry[row.id]
        key = (claim.measure, claim.metric)
        reference = references.setdefault(key, claim.value)
        allowed = admissible(claim.rule, claim.value, decimals=claim.decimals)
        drawn.append(
            {
                "claim": claim,
                "status": row.status,
                "label": words.get(row.id, getattr(row, "label", row.id)),
                "range": (_relative(allowed.low, reference), _relative(allowed.high, reference)),
                "bounded": claim.rule != "significant",
                "published": _relative(claim.value, reference),
                "value": _relative(row.recomputed, reference),
                "interval": (
                    _relative(row.conf_low, reference),
                    _relative(row.conf_high, reference),
                ),
            }
        )
    finite = [
        v
        for d in drawn
        for v in (*(d["range"] if d["bounded"] else ()), d["published"], d["value"])
        if math.isfinite(v)
    ]
    low_edge, high_edge = min([*finite, 0.0]), max([*finite, 0.0])
    pad = 0.06 * (high_edge - low_edge or 1.0)
    limits = (low_edge - pad, high_edge + pad)
    ax.set_xlim(*limits)
    ax.set_ylim(len(drawn) - 0.5, -0.5)
    context(ax.axvline(0.0, color=TEXT, linewidth=0.8))
    seen: set[str] = set()
    for y, d in enumerate(drawn):
        if d["bounded"]:
            a, b = (min(max(v, limits[0]), limits[1]) for v in d["range"])
            ax.barh(
                y,
                max(b - a, 0.004 * (limits[1] - limits[0])),
                left=a,
                height=0.55,
                color=RANGE_COLOUR,
                label="Range the published wording allows" if y == 0 else None,
            )
            if math.isinf(d["range"][1]):
                ax.plot([limits[1]], [y], ">", color=RANGE_COLOUR, markersize=7)
        ax.plot(
            [d["published"]],
            [y],
            "|",
            color=TEXT,
            markersize=14,
            markeredgewidth=2,
            label="Published figure" if "published" not in seen else None,
        )
        seen.add("published")
        status = d["status"]
        colour, marker = STATUS_COLOURS.get(status, TEXT), STATUS_MARKERS.get(status, "o")
        recomputed = math.isfinite(d["value"])
        name = f"{status.capitalize()}, recomputed" if recomputed else status.capitalize()
        if recomputed:
            low, high = (min(max(v, limits[0]), limits[1]) for v in d["interval"])
            if math.isfinite(low) and math.isfinite(high):
                ax.plot([low, high], [y, y], color=colour, linewidth=1.5)
        # not recomputed: a hollow status marker on the published figure
        ax.plot(
            [d["value"] if recomputed else d["published"]],
            [y],
            marker,
            color=colour,
            markersize=7,
            linestyle="none",
            markerfacecolor=colour if recomputed else "white",
            label=name if name not in seen else None,
        )
        seen.add(name)
    ax.set_yticks(range(len(drawn)), ["\n".join(textwrap.wrap(d["label"], 56)) for d in drawn])
    for tick, d in zip(ax.get_yticklabels(), drawn, strict=True):
        tick.set_color(STATUS_COLOURS.get(d["status"], TEXT) if d["status"] != REPRODUCED else TEXT)
        tick.set_fontsize(8.5)
    counts = pd.Series([d["status"] for d in drawn]).value_counts()
    disagreeing = int(counts.get(CONFLICT, 0) + counts.get(WORDING_FAILS, 0))
    default = (
        f"{disagreeing} of {len(drawn)} checked claims disagree with their inputs or with "
        f"another claim; {int(counts.get(ROUNDING, 0))} differ only by rounding"
    )
    alt = (
        f"Chart of {len(drawn)} published claims, disagreements first. "
        + " ".join(
            f"{d['label']}: {d['status']}"
            + (f", recomputed {d['value']:+.1f}%" if math.isfinite(d["value"]) else "")
            + f", published figure at {d['published']:+.1f}%."
            for d in drawn
        )
        + " Positions are relative to the first published figure on the same measure."
    )
    return finish(
        ax,
        title=title or default,
        xlabel=X_LABEL,
        ylabel="",
        source=source
        or "Published figures in the sfpc_eval claims registry; sfpc_eval calculations",
        alt=alt,
        grid="x",
        kind="Dot chart",
    )
