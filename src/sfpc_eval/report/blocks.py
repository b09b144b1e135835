"""The pieces a design contributes to a report: paragraphs, tables, figures and a section.

Every string here is plain text; :mod:`sfpc_eval.report.html` escapes it when rendering. A
table is laid out by the package's table engine (:class:`sfpc_eval.tables.Table`), which keeps
its numbers, so the report can offer each table for download as CSV and Excel.

Examples
--------
>>> t = TableBlock("Counts", ("year", "children"), (("2011", "974"),))
>>> t.provenance
'published'
>>> t.engine.to_frame().iloc[0, 1]
974.0
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sfpc_eval.tables import Cell, NumberFormat, Table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Context", "FigureBlock", "Section", "TableBlock"]

_COUNT_TEXT = re.compile(r"^-?\d{1,3}(,\d{3})*$|^-?\d+$")

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
    table : Table, optional
        The engine table the rows were written from (numbers kept, formats, spanning
        headers); built from the text rows when not given (whole numbers become counts).
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    provenance: str = "published"
    notes: tuple[str, ...] = ()
    roles: tuple[tuple[str, ...], ...] | None = None
    total_row: bool = False
    table: Table | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        table: Table,
        *,
        provenance: str = "estimate",
        roles: tuple[tuple[str, ...], ...] | None = None,
        total_row: bool = False,
    ) -> TableBlock:
        """Wrap an engine table: its text becomes the rows, its notes the notes."""
        return cls(
            table.title,
            tuple(table.columns),
            tuple(tuple(r) for r in table.text_rows()),
            provenance=provenance,
            notes=tuple(table.notes),
            roles=roles,
            total_row=total_row,
            table=table,
        )

    @property
    def engine(self) -> Table:
        """The engine table behind the block (what is rendered and downloaded)."""
        if self.table is not None:
            return self.table
        rows = [[_text_cell(text) for text in row] for row in self.rows]
        kinds = [""] * len(rows)
        if self.total_row and rows:
            kinds[-1] = "total"
        return Table(self.title, self.columns, rows, notes=self.notes, row_kinds=kinds)


def _text_cell(text: str) -> Cell:
    """Read a whole number shown as text ("1,299") as a count; anything else stays text."""
    if _COUNT_TEXT.match(text):
        return Cell(float(text.replace(",", "")), NumberFormat("count"))
    return Cell(text)


@dataclass(frozen=True)
class FigureBlock:
    """A figure as SVG bytes (deterministic), with a caption.

    Attributes
    ----------
    title, caption : str
    svg : bytes
    data : pandas.DataFrame, optional
        The numbers the chart shows (:func:`sfpc_eval.report.chart_data.chart_data`); the
        report offers them for download beside the chart.
    alt : str
        Alt text for screen readers; the title when empty.
    """

    title: str
    svg: bytes = field(repr=False)
    caption: str = ""
    data: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    alt: str = ""

    def with_caption(self, caption: str) -> FigureBlock:
        """Return the figure with ``caption`` (for captions that say what the drawing showed)."""
        return FigureBlock(self.title, self.svg, caption, data=self.data, alt=self.alt)


@dataclass(frozen=True)
class Section:
    """What one ``[[analysis]]`` contributes.

    Attributes
    ----------
    key : str
        Anchor id (``analysis-1``...).
    title : str
    findings : tuple of str
        What the analysis found, in detail (listed with its results).
    summary : tuple of str
        The main messages in plain words, for the report's summary; the first finding when
        empty.
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
    summary: tuple[str, ...] = ()


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
