"""The house style every figure uses, after the Government Statistical Service (GSS) guidance.

The colours are the Analysis Function's accessible palettes ("Data visualisation: colours",
https://analysisfunction.civilservice.gov.uk/policy-store/data-visualisation-colours-in-charts/):
the categorical palette in its stated order (two series: dark blue and orange, the pair with the
best contrast), the sequential blues, and the focus pair (dark blue for what the chart is about,
grey for its context). Colour is never the only cue: lines are labelled directly where the
labels fit, markers and line styles differ, and every figure carries alt text.

Every figure has

- a **main-message title** (what the chart shows, not what it is), given by the caller or the
  report; the functions' own defaults say what is drawn;
- **axis labels with units**, worded by the label vocabulary (:func:`sfpc_eval.labels.label`),
  never column names; ``labels`` overrides any of them and names outside the figure are a
  :class:`~sfpc_eval.errors.LabelError`;
- a **source line** under the chart;
- **direct labels** at the ends of lines where they fit, else a legend placed where it covers
  no data (:mod:`sfpc_eval.plotting.layout`);
- **alt text** (:func:`alt_text`), which reports put on the ``<img>``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> ax = new_axes()
>>> line = ax.plot([2010, 2011], [1.0, 2.0], color=CATEGORICAL[0])
>>> set_source(ax, "Department for Education").get_text()
'Source: Department for Education'
>>> set_alt_text(ax, "A line rising from 1 to 2.")
>>> alt_text(ax.figure)
'A line rising from 1 to 2.'
"""

from __future__ import annotations

import difflib
import textwrap
import weakref
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sfpc_eval.errors import LabelError, show_values
from sfpc_eval.labels import has_label, label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

__all__ = [
    "CATEGORICAL",
    "COMPARISON",
    "CONTEXT",
    "CONTEXT_GID",
    "FOCUS",
    "HOUSE_COLOURS",
    "PAIR",
    "PALETTE",
    "SEQUENTIAL",
    "SHADE",
    "SOURCE_GID",
    "TEXT",
    "TREATED",
    "alt_text",
    "check_labels",
    "context",
    "new_axes",
    "percent_axis",
    "rewrap_source",
    "rewrap_title",
    "set_alt_text",
    "set_source",
    "set_title",
    "source_text",
    "style_axes",
    "word",
]

PALETTE: Mapping[str, str] = MappingProxyType(
    {
        "dark_blue": "#12436D",
        "turquoise": "#28A197",
        "dark_pink": "#801650",
        "orange": "#F46A25",
        "dark_grey": "#3D3D3D",
        "light_purple": "#A285D1",
        "mid_blue": "#2073BC",
        "light_blue": "#6BACE6",
        "grey": "#BFBFBF",
    }
)
"""The Analysis Function's chart colours by name (hex)."""

CATEGORICAL: tuple[str, ...] = tuple(
    PALETTE[n]
    for n in ("dark_blue", "turquoise", "dark_pink", "orange", "dark_grey", "light_purple")
)
"""Categorical palette, in the order the guidance gives (use the first n for n series)."""

PAIR: tuple[str, str] = (PALETTE["dark_blue"], PALETTE["orange"])
"""Two series: dark blue and orange (the guidance's choice when only two colours are needed)."""

SEQUENTIAL: tuple[str, ...] = (PALETTE["dark_blue"], PALETTE["mid_blue"], PALETTE["light_blue"])
"""Sequential palette (ordered categories), darkest first."""

TREATED: str = PALETTE["dark_blue"]
"""The treated council(s) or group, in every chart."""

COMPARISON: str = PALETTE["orange"]
"""The comparison line (dashed), in every chart: dark blue and orange are the guidance's pair."""

FOCUS: str = PALETTE["dark_blue"]
"""Focus palette: the element the chart is about."""

CONTEXT: str = PALETTE["grey"]
"""Focus palette: everything else (placebo councils, comparison series, stated-only claims)."""

TEXT = "#0B0C0C"
"""Text, axes and reference lines (the GOV.UK text colour)."""

SHADE = "#E5E5E5"
"""Fill of shaded periods (COVID-19 lockdowns): context, not data."""

GRID = "#D9D9D9"

HOUSE_COLOURS: frozenset[str] = frozenset(
    {c.lower() for c in PALETTE.values()} | {TEXT.lower(), SHADE.lower(), "#ffffff"}
)
"""Every colour a figure may draw data or context in (lower-case hex, alpha ignored)."""

CONTEXT_GID = "sfpc-context"
"""Group id of artists that are context, not data: reference lines, shaded periods."""

SOURCE_GID = "sfpc-source"
"""Group id of the source line under the chart."""

DEFAULT_SOURCE = "sfpc_eval calculations"

FONT_SIZE = 10.0
TITLE_SIZE = 12.0
SOURCE_SIZE = 8.5

_ALT_TEXT: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def new_axes(ax: Axes | None = None, *, size: tuple[float, float] = (7.0, 4.2)) -> Axes:
    """Return ``ax`` in the house style, or the Axes of a new figure of ``size`` inches.

    A new figure is made with pyplot, so it shows in a notebook. 7 inches is the text width of
    an A4 page with 15 mm margins, so a report prints it at its own size and its 10-point text
    stays 10 points on paper.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=size)
    style_axes(ax)
    return ax


def style_axes(ax: Axes, *, grid: str | None = "y") -> Axes:
    """Apply the house style to ``ax``: no top or right spine, light grid, 10-point text.

    Sizes and colours are set on the Axes itself rather than through ``rcParams``, so the
    figure looks the same wherever it is saved.
    """
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(TEXT)
        ax.spines[side].set_linewidth(0.8)
    ax.tick_params(labelsize=FONT_SIZE, colors=TEXT, width=0.8)
    ax.xaxis.label.set_size(FONT_SIZE)
    ax.yaxis.label.set_size(FONT_SIZE)
    ax.xaxis.label.set_color(TEXT)
    ax.yaxis.label.set_color(TEXT)
    ax.grid(False)
    if grid:
        ax.grid(axis=grid, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    return ax


def _chars_per_line(ax: Axes, size: float) -> int:
    """Characters of ``size`` points that fit from the Axes' left edge to the figure's right."""
    box = ax.get_position()
    width = ax.figure.get_figwidth() * (1.0 - box.x0 - 0.02) * 72.0
    return max(30, int(width / (0.6 * size)))


def rewrap_title(ax: Axes) -> bool:
    """Wrap the title again to the Axes' place after layout; return True if it changed."""
    title = getattr(ax, "_left_title", None)
    if title is None or not title.get_text():
        return False
    text = "\n".join(
        textwrap.wrap(" ".join(title.get_text().split()), _chars_per_line(ax, TITLE_SIZE))
    )
    if text == title.get_text():
        return False
    title.set_text(text)
    return True


def set_title(ax: Axes, text: str, *, pad: float = 10.0, wrap: bool = True) -> Text:
    """Write the main-message title, left-aligned and bold, wrapped to the Axes' width."""
    if wrap and text:
        text = "\n".join(
            textwrap.wrap(" ".join(str(text).split()), _chars_per_line(ax, TITLE_SIZE))
        )
    return ax.set_title(
        text or "", loc="left", fontsize=TITLE_SIZE, fontweight="bold", color=TEXT, pad=pad
    )


def source_text(source: str | None) -> str:
    """Return the source line for ``source`` ("Source: ..." added unless it already starts so).

    Examples
    --------
    >>> source_text(None)
    'Source: sfpc_eval calculations'
    >>> source_text("Source: DfE")
    'Source: DfE'
    """
    text = DEFAULT_SOURCE if source is None or not str(source).strip() else str(source).strip()
    return text if text.lower().startswith("source") else f"Source: {text}"


def _wrap_source(ax: Axes, text: str) -> str:
    """Wrap the source line to the width from the Axes' left edge to the figure's right."""
    left = ax.get_position().x0 if ax.get_position().x0 > 0.02 else 0.14
    usable = ax.figure.get_figwidth() * (1.0 - left - 0.02) * 72.0
    width = max(40, int(usable / (0.62 * SOURCE_SIZE)))
    return "\n".join(textwrap.wrap(" ".join(text.split()), width))


def rewrap_source(ax: Axes) -> bool:
    """Wrap the source line again to the Axes' place after layout; return True if it changed."""
    changed = False
    for note in [t for t in ax.texts if t.get_gid() == SOURCE_GID]:
        text = _wrap_source(ax, note.get_text())
        if text != note.get_text():
            note.set_text(text)
            changed = True
    return changed


def set_source(ax: Axes, source: str | None) -> Text:
    """Write the source line under the chart (below the x-axis label), replacing any other.

    The line is anchored to the x-axis label, so it moves with the tick labels and never
    covers them; it takes part in layout (``tight_layout`` or ``bbox_inches="tight"`` make room
    for it) and is wrapped to the width right of the Axes' left edge, so it never narrows the
    plot.
    """
    for old in [t for t in ax.texts if t.get_gid() == SOURCE_GID]:
        old.remove()
    text = _wrap_source(ax, source_text(source))
    note = ax.annotate(
        text,
        xy=(0.0, 0.0),
        xycoords=("axes fraction", ax.xaxis.label),
        xytext=(0.0, -6.0),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=SOURCE_SIZE,
        color=TEXT,
        annotation_clip=False,
    )
    note.set_gid(SOURCE_GID)
    return note


def context(artist: Any) -> Any:
    """Mark an artist (or the artists in a list) as context, not data; return it."""
    items = artist if isinstance(artist, list | tuple) else [artist]
    for item in items:
        item.set_gid(CONTEXT_GID)
    return artist


def set_alt_text(ax_or_figure: Axes | Figure, text: str) -> None:
    """Record the alt text of the figure ``ax_or_figure`` belongs to."""
    figure = getattr(ax_or_figure, "figure", None) or ax_or_figure
    figure = getattr(figure, "get_figure", lambda: figure)() or figure
    _ALT_TEXT[figure] = " ".join(str(text).split())


def alt_text(ax_or_figure: Axes | Figure) -> str:
    """Return the alt text of a figure drawn by sfpc_eval ("" if it has none).

    Reports put it on the figure's ``<img>``; in a notebook,
    ``print(alt_text(ax.figure))`` shows what a screen reader would read.
    """
    figure = getattr(ax_or_figure, "figure", None) or ax_or_figure
    figure = getattr(figure, "get_figure", lambda: figure)() or figure
    return _ALT_TEXT.get(figure, "")


def percent_axis(ax: Axes, axis: str = "y", *, scale: float = 100.0, decimals: int | None = None):
    """Show an axis's ticks as percentages (``scale`` 100: values are already in percent)."""
    from matplotlib.ticker import PercentFormatter

    formatter = PercentFormatter(xmax=scale, decimals=decimals)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def check_labels(
    labels: Mapping[str, str] | None, known: Iterable[object], *, argument: str = "labels"
) -> dict[str, str]:
    """Return ``labels`` as a dict, or raise if it names anything the figure does not show.

    Parameters
    ----------
    labels : mapping of str to str, optional
        Overrides of the words a figure uses, keyed by the names in the data (a column, a
        council, a group such as ``"treated"``, a term).
    known : iterable
        The names this figure words.
    argument : str
        The argument's name, for the message.

    Raises
    ------
    LabelError
        A key names nothing in the figure (the message lists the names it can relabel and the
        closest one), or ``labels`` is not a mapping of names to text.

    Examples
    --------
    >>> check_labels({"cla_rate": "Rate"}, ["cla_rate", "year"])
    {'cla_rate': 'Rate'}
    >>> check_labels({"cla_rte": "Rate"}, ["cla_rate", "year"])
    Traceback (most recent call last):
    ...
    sfpc_eval.errors.LabelError: `labels` names 'cla_rte', which this figure does not show. ...
    """
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise LabelError(
            f"`{argument}` must map names to labels, e.g. {{'cla_rate': 'Looked after per "
            f"10,000'}}; got {type(labels).__name__}.",
        )
    names = [str(k) for k in known]
    unknown = [str(k) for k in labels if str(k) not in names]
    if unknown:
        close = difflib.get_close_matches(unknown[0], names, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise LabelError(
            f"`{argument}` names {', '.join(map(repr, unknown))}, which this figure does not "
            f"show.{hint} It can relabel: {', '.join(map(repr, names))}.",
            unknown=unknown,
            known=names,
        )
    bad = [k for k, v in labels.items() if not isinstance(v, str)]
    if bad:
        raise LabelError(
            f"`{argument}` must give text for each name; {show_values(bad)} map to non-text.",
            unknown=[],
            known=names,
        )
    return {str(k): v for k, v in labels.items()}


def word(name: object, labels: Mapping[str, str] | None = None, **options: Any) -> str:
    """Return the label of ``name``: the caller's override, else the vocabulary's.

    A name the vocabulary does not know (a user's own column) is written as words, never as
    code: underscores become spaces and the first letter is a capital. Pass ``labels`` to give
    it proper words and units.

    Examples
    --------
    >>> word("cla_rate"), word("month"), word("days_in_care")
    ('Children looked after per 10,000 children', 'Month', 'Days in care')
    >>> word("days_in_care", {"days_in_care": "Days in care a year"})
    'Days in care a year'
    """
    key = str(name)
    if (labels and key in labels) or has_label(key):
        return label(name, labels, **options)
    text = " ".join(key.replace("_", " ").split())
    if options.get("lower"):
        return text[:1].lower() + text[1:]
    return text[:1].upper() + text[1:]
