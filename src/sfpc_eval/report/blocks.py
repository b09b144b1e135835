"""The pieces a design contributes to a report: paragraphs, tables, figures and a section.

Every string here is plain text; :mod:`sfpc_eval.report.html` escapes it when rendering.

Examples
--------
>>> t = TableBlock("Counts", ("year", "children"), (("2011", "974"),))
>>> t.provenance
'published'
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Context", "FigureBlock", "Section", "TableBlock"]

PROVENANCES = ("published", "child", "estimate", "about")


@dataclass(frozen=True)
class TableBlock:
    """A results table.

    Parameters
    ----------
    title : str
    columns : tuple of str
    rows : tuple of tuple of str
        Cell text, already formatted (suppressed cells are ``"c"``).
    provenance : {"published", "child", "estimate"}
        ``published``: LA-level official statistics, shown as published; ``child``: counts
        derived from child-level records (disclosure control applied; the checker scans these);
        ``estimate``: model estimates.
    notes : tuple of str
        Lines under the table.
    roles : tuple of tuple of str, optional
        Per cell: ``"count"``, ``"total"`` or ``""`` (child-level tables mark which cells are
        counts and totals, so the disclosure checker can scan them).
    total_row : bool
        The last row holds column totals.
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    provenance: str = "published"
    notes: tuple[str, ...] = ()
    roles: tuple[tuple[str, ...], ...] | None = None
    total_row: bool = False


@dataclass(frozen=True)
class FigureBlock:
    """A figure as SVG bytes (deterministic), with a caption."""

    title: str
    svg: bytes = field(repr=False)
    caption: str = ""


@dataclass(frozen=True)
class Section:
    """What one ``[[analysis]]`` contributes.

    Attributes
    ----------
    key : str
        Anchor id (``analysis-1``...).
    title : str
    findings : tuple of str
        Sentences for the summary of findings.
    methods : tuple of str
        Paragraphs generated from the estimator and inference settings actually used.
    tables, figures : tuple
    limitations : tuple of str
    """

    key: str
    title: str
    findings: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    tables: tuple[TableBlock, ...] = ()
    figures: tuple[FigureBlock, ...] = ()
    limitations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    """What every design's ``run`` receives besides its analysis table and the data.

    Attributes
    ----------
    key : str
        Anchor id of the section.
    threshold : int
        Disclosure threshold.
    shades : tuple of (datetime.date, datetime.date, str)
        Periods to shade, as dates with a label.
    """

    key: str
    threshold: int = 10
    shades: tuple = ()

    def axis_shades(self, dataset) -> tuple[tuple[float, float, str], ...]:
        """Place the shaded periods on ``dataset``'s time axis."""
        if dataset is None:
            return ()
        return tuple(
            (dataset.to_axis(start), dataset.to_axis(end), label)
            for start, end, label in self.shades
        )
