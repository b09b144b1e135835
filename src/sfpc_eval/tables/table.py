"""The table every output is written from: :class:`Table`, its data plus every format.

A :class:`Table` is a :class:`~sfpc_eval.tables.cells.TableData` (title, headers, cells that
keep their numbers and formats, facts, notes) that also renders as HTML, Markdown and LaTeX and
saves to Excel, Word, CSV and the text formats. Text is left-aligned, numbers right-aligned and,
in HTML, LaTeX and plain text, aligned on the decimal point.

Examples
--------
>>> from sfpc_eval.tables.formats import NumberFormat
>>> t = Table("Demo", ["term", "estimate"], [["ratio", Cell(0.52875, NumberFormat(decimals=3))]])
>>> print(t.as_markdown())
**Demo**
<BLANKLINE>
| term | estimate |
|:---|---:|
| ratio | 0.529 |
>>> t.to_frame().iloc[0, 1]
0.52875
"""

from __future__ import annotations

import os
from pathlib import Path

from sfpc_eval.tables import export, render
from sfpc_eval.tables.cells import INVALID_MARK, Cell, TableData

__all__ = ["INVALID_MARK", "Cell", "Table"]


class Table(TableData):
    """A titled table with facts above it and notes below it, in every output format.

    Parameters
    ----------
    title : str
        Heading shown above everything else.
    columns : sequence of str
        Column headers.
    rows : sequence of sequence
        Body rows: :class:`Cell` objects, or plain values (text, or numbers, which get a
        format from their value).
    facts : sequence of (str, str)
        Key/value lines shown between the title and the table (inputs, methods).
    notes : sequence of str
        Lines shown under the table (sources, footnotes).
    column_groups : sequence of (str, int)
        Spanning headers over the columns: (label, number of columns), left to right.
    row_kinds : sequence of str
        Per body row: ``""``, ``"sub"`` (the standard error or interval under an estimate),
        ``"section"`` (a heading row), ``"rule"`` (a rule above the row) or ``"total"``.

    Examples
    --------
    >>> t = Table("Demo", ["term", "estimate"], [["ratio", "0.53"]])
    >>> print(t.as_markdown())
    **Demo**
    <BLANKLINE>
    | term | estimate |
    |:---|---:|
    | ratio | 0.53 |
    """

    def as_html(self) -> str:
        """Return the table as a self-contained HTML fragment; every string is escaped."""
        return render.html_table(self)

    def as_markdown(self) -> str:
        """Return the table as GitHub-flavoured Markdown (numbers right-aligned)."""
        return render.markdown_table(self)

    def as_latex(self) -> str:
        """Return the table as a LaTeX ``table`` (booktabs rules, decimal-aligned numbers)."""
        return render.latex_table(self)

    def to_excel(self, path: str | os.PathLike[str]) -> Path:
        """Write an ``.xlsx`` workbook (numbers stored as numbers with display formats)."""
        return export.save(self, path, format="xlsx")

    def to_word(self, path: str | os.PathLike[str]) -> Path:
        """Write a ``.docx`` document holding the table as a Word table with a table style."""
        return export.save(self, path, format="docx")

    def save(self, path: str | os.PathLike[str], format: str | None = None) -> Path:
        """Write the table to ``path``; the format comes from the suffix unless given.

        Formats: ``html``, ``md``, ``tex``, ``txt``, ``csv``, ``xlsx``, ``docx`` (see
        :func:`sfpc_eval.tables.export.save`).
        """
        return export.save(self, path, format=format)

    def _repr_html_(self) -> str:
        return self.as_html()
