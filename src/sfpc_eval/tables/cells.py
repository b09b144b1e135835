"""The data of a table: cells that keep their numbers and their formats, and its plain text.

A :class:`TableData` (the base of :class:`~sfpc_eval.tables.table.Table`) has a title, column
headers (optionally grouped under spanning headers), body rows of :class:`Cell` (a number with
its :class:`~sfpc_eval.tables.formats.NumberFormat`, or
text), key/value facts shown above it and notes below it. It renders as plain text, HTML,
Markdown and LaTeX (booktabs), and exports to Excel, Word and CSV
(:mod:`sfpc_eval.tables.export`), always from the same cells: :meth:`TableData.to_frame` is
the DataFrame behind every output (numbers as numbers), :meth:`TableData.to_text_frame` the text
every output shows.

Text is left-aligned, numbers right-aligned and, in HTML, LaTeX and plain text, aligned on the
decimal point.

Examples
--------
>>> from sfpc_eval.tables.formats import NumberFormat
>>> three = NumberFormat("number", 3)
>>> t = TableData("Demo", ["term", "estimate"], [["ratio", Cell(0.52875, three)]])
>>> print(t.as_text())
Demo
===============
term   estimate
---------------
ratio     0.529
===============
>>> t.to_frame().iloc[0, 1]
0.52875
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from sfpc_eval.tables.formats import NumberFormat, decimals_for

__all__ = ["INVALID_MARK", "Cell", "TableData", "split_decimal"]

INVALID_MARK = "\u2020"
"""Dagger after a row whose interval or p-value is not valid for the design; a note says why."""

_NUMERIC_TEXT = re.compile(r"^[+\-]?[\d,]*\.?\d+(%| pp)?$|^<0\.\d+$|^\([+\-]?[\d,]*\.?\d+\)$")


@dataclass(frozen=True)
class Cell:
    """One cell: a value and how to write it.

    Parameters
    ----------
    value : float, int, str, (float, float) or None
        A number (written with ``format``), a (low, high) interval, text, or nothing.
    format : NumberFormat, optional
        How to write a number; ``None`` for text.
    mark : str
        A footnote symbol written after the cell's text (e.g. the dagger of an invalid row).

    Examples
    --------
    >>> Cell(-47.125, NumberFormat(decimals=1, unit="%", signed=True)).text()
    '-47.1%'
    >>> Cell("Linear").is_number
    False
    """

    value: object = None
    format: NumberFormat | None = None
    mark: str = ""

    @property
    def is_number(self) -> bool:
        """Whether the cell holds a number (stored as a number in spreadsheets)."""
        return (
            self.format is not None
            and self.format.kind != "interval"
            and isinstance(self.value, numbers.Real)
            and math.isfinite(float(self.value))  # type: ignore[arg-type]
        )

    @property
    def aligns_on_point(self) -> bool:
        """Whether the cell lines up on its decimal point (a number; not an interval or text)."""
        if self.format is not None:
            return self.format.kind != "interval" and bool(self.text())
        return self.is_numeric and bool(self.text())

    @property
    def is_numeric(self) -> bool:
        """Whether the cell reads as a number (aligned right, on the decimal point)."""
        if self.format is not None:
            return True
        return isinstance(self.value, str) and bool(_NUMERIC_TEXT.match(self.value.strip()))

    def text(self) -> str:
        """Return the cell as shown."""
        if self.format is not None:
            body = self.format.text(self.value)
        elif self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            body = ""
        else:
            body = str(self.value)
        return f"{body} {self.mark}" if self.mark and body else (body or self.mark)

    def frame_value(self) -> object:
        """Return the value in :meth:`TableData.to_frame`: the number, or else the text."""
        if self.is_number:
            return float(self.value)  # type: ignore[arg-type]
        return self.text()


def _cell(value: object) -> Cell:
    if isinstance(value, Cell):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return Cell("" if value is None else str(value))
    if isinstance(value, numbers.Integral):
        return Cell(int(value), NumberFormat("count"))
    if isinstance(value, numbers.Real):
        x = float(value)
        if math.isfinite(x) and x.is_integer():
            return Cell(x, NumberFormat("count"))
        return Cell(x, NumberFormat(decimals=decimals_for([], [x])))
    return Cell(str(value))


def split_decimal(text: str) -> tuple[str, str]:
    """Split a number's text at its decimal point: ``("-25", ".56%")``; text is all "head".

    Examples
    --------
    >>> split_decimal("-25.56%"), split_decimal("1,299"), split_decimal("<0.001")
    (('-25', '.56%'), ('1,299', ''), ('<0', '.001'))
    """
    if not text:
        return "", ""
    index = text.find(".")
    if index < 0:
        # a whole number: any unit or bracket after the digits goes to the right part
        match = re.match(r"^(.*\d)(\D*)$", text)
        return (match.group(1), match.group(2)) if match else (text, "")
    return text[:index], text[index:]


@dataclass(frozen=True)
class TableData:
    """A titled table with facts above it and notes below it (see :class:`Table`).

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
        Spanning headers over the columns, left to right: (label, number of columns); an empty
        label leaves those columns without one. Must cover every column when given.
    row_kinds : sequence of str
        Per body row: ``""`` (ordinary), ``"sub"`` (the standard error or interval under an
        estimate), ``"section"`` (a heading row: first cell only), ``"rule"`` (a rule above the
        row), ``"total"``.
    row_keys : sequence of str
        Per body row, a name for finding it (``"rate_ratio"``, ``"fact:n_obs"``); not shown.
    """

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    facts: Sequence[tuple[str, str]] = field(default_factory=tuple)
    notes: Sequence[str] = field(default_factory=tuple)
    column_groups: Sequence[tuple[str, int]] = field(default_factory=tuple)
    row_kinds: Sequence[str] = field(default_factory=tuple)
    row_keys: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        columns = tuple(str(c) for c in self.columns)
        rows = tuple(tuple(_cell(v) for v in row) for row in self.rows)
        for i, row in enumerate(rows):
            if len(row) != len(columns):
                raise ValueError(
                    f"row {i} of table {self.title!r} has {len(row)} cells for "
                    f"{len(columns)} columns"
                )
        kinds = tuple(self.row_kinds) or ("",) * len(rows)
        if len(kinds) != len(rows):
            raise ValueError(f"row_kinds has {len(kinds)} entries for {len(rows)} rows")
        keys = tuple(str(k) for k in self.row_keys) or ("",) * len(rows)
        if len(keys) != len(rows):
            raise ValueError(f"row_keys has {len(keys)} entries for {len(rows)} rows")
        groups = tuple((str(a), int(n)) for a, n in self.column_groups)
        if groups and sum(n for _, n in groups) != len(columns):
            raise ValueError(
                f"column_groups cover {sum(n for _, n in groups)} columns of {len(columns)}"
            )
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "row_kinds", kinds)
        object.__setattr__(self, "row_keys", keys)
        object.__setattr__(self, "column_groups", groups)
        object.__setattr__(self, "facts", tuple((str(k), str(v)) for k, v in self.facts))
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))

    # ------------------------------------------------------------------ readings
    @property
    def cells(self) -> tuple[tuple[Cell, ...], ...]:
        """The body as :class:`Cell` objects (the same as ``rows``)."""
        return self.rows  # type: ignore[return-value]

    def row(self, key: str) -> int:
        """Return the index of the body row called ``key`` (see ``row_keys``)."""
        if key not in self.row_keys:
            raise KeyError(f"no row {key!r}; rows are {', '.join(k for k in self.row_keys if k)}")
        return self.row_keys.index(key)

    def numeric_columns(self) -> tuple[bool, ...]:
        """Per column: whether it holds numbers (then aligned right); the first never does.

        A column is numeric when a cell holds a formatted number, or, in a table of text only,
        when every cell reads as a number ("1,299", "47.1%"); a column of words that sometimes
        look like numbers ("11.5%", "£6m per year") stays text.
        """
        out = []
        for j in range(len(self.columns)):
            formatted = any(row[j].format is not None for row in self.cells)
            cells = [row[j] for row in self.cells if row[j].text()]
            out.append(j > 0 and (formatted or (bool(cells) and all(c.is_numeric for c in cells))))
        return tuple(out)

    def text_rows(self) -> list[list[str]]:
        """Every body cell as shown."""
        return [[c.text() for c in row] for row in self.cells]

    def to_frame(self) -> pd.DataFrame:
        """Return the DataFrame behind the table: numbers as numbers (unrounded), else text.

        Columns are the headers (made unique with the spanning header where two repeat).
        """
        return pd.DataFrame(
            [[c.frame_value() for c in row] for row in self.cells],
            columns=self.unique_columns(),
            dtype=object,
        )

    def to_text_frame(self) -> pd.DataFrame:
        """Return the table as shown: every cell as its text."""
        return pd.DataFrame(self.text_rows(), columns=self.unique_columns(), dtype=object)

    def unique_columns(self) -> list[str]:
        """Headers, prefixed by their spanning header where a header repeats."""
        spans = self.group_of_columns()
        names = list(self.columns)
        seen = {n for n in names if names.count(n) > 1}
        out = [f"{g}: {n}" if n in seen and g else n for n, g in zip(names, spans, strict=True)]
        counts: dict[str, int] = {}
        unique = []
        for name in out:
            counts[name] = counts.get(name, 0) + 1
            unique.append(name if counts[name] == 1 else f"{name} ({counts[name]})")
        return unique

    def group_of_columns(self) -> list[str]:
        """Return the spanning header over each column ("" where none)."""
        if not self.column_groups:
            return [""] * len(self.columns)
        out: list[str] = []
        for name, n in self.column_groups:
            out += [name] * n
        return out

    # ------------------------------------------------------------------ plain text
    def _aligned(self) -> list[list[str]]:
        """Body text with numeric columns padded so decimal points line up."""
        rows = self.text_rows()
        numeric = self.numeric_columns()
        for j, is_num in enumerate(numeric):
            if not is_num:
                continue
            parts = [
                split_decimal(rows[i][j]) if self.cells[i][j].aligns_on_point else None
                for i in range(len(rows))
            ]
            head = max((len(p[0]) for p in parts if p), default=0)
            tail = max((len(p[1]) for p in parts if p), default=0)
            for i, p in enumerate(parts):
                if p is not None:
                    rows[i][j] = p[0].rjust(head) + p[1].ljust(tail)
        return rows

    def as_text(self) -> str:
        """Return the table as fixed-width plain text (numbers on their decimal points)."""
        body = self._aligned()
        numeric = self.numeric_columns()
        widths = [len(c) for c in self.columns]
        for row in body:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

        def line(cells: Sequence[str]) -> str:
            out = [
                c.rjust(w) if is_num else c.ljust(w)
                for c, w, is_num in zip(cells, widths, numeric, strict=True)
            ]
            return "  ".join(out).rstrip()

        header = line(self.columns)
        rule = "=" * max(len(header), len(self.title), *(len(line(r)) for r in body), 1)
        out = [self.title, rule]
        if self.facts:
            key_width = max(len(k) for k, _ in self.facts)
            out += [f"{k.ljust(key_width)}  {v}" for k, v in self.facts]
            out.append("-" * len(rule))
        if self.column_groups and any(g for g, _ in self.column_groups):
            spans, j = [], 0
            for name, n in self.column_groups:
                width = sum(widths[j : j + n]) + 2 * (n - 1)
                spans.append(name.center(width) if name else " " * width)
                j += n
            out.append("  ".join(spans).rstrip())
        out.append(header)
        out.append("-" * len(rule))
        for row, kind in zip(body, self.row_kinds, strict=True):
            if kind == "rule":
                out.append("-" * len(rule))
            out.append(line(row))
        out.append(rule)
        out += list(self.notes)
        return "\n".join(out)

    def __str__(self) -> str:
        return self.as_text()
