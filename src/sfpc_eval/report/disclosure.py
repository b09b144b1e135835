"""Disclosure control for counts derived from child-level records, and a checker for reports.

Rules (the default threshold is 10, set by ``[disclosure] threshold``):

1. **Primary suppression.** A count from child-level records that is at least 1 and below the
   threshold is shown as ``c``. Zeros are shown.
2. **Secondary suppression.** Where a row or column shows its total, a single suppressed cell
   could be recovered by subtraction; so the next-smallest non-zero cell in that line (or, if
   there is none, the total) is suppressed too. This repeats until no line has exactly one
   suppressed cell beside a shown total.
3. **Published statistics pass through.** LA-level figures the DfE has already published (and
   suppressed by its own rules) are shown as published; tables say which provenance they have.
4. Estimates computed from a suppressed count are suppressed with it.

:func:`check_disclosure` scans a built report (its HTML) and raises
:class:`~sfpc_eval.errors.DisclosureError` listing every cell that breaks rule 1 or 2.

Examples
--------
The 3 is hidden; so is 40 (else 43 - 40 gives it away), then 25 (column 28) and 31:

>>> grid = suppress_grid([[3, 40], [25, 31]], threshold=10)
>>> grid.cells
[['c', 'c'], ['c', 'c']]
>>> grid.row_totals, grid.column_totals, grid.grand_total
(['43', '56'], ['28', '71'], '99')
>>> suppress_grid([[3, 40, 50], [12, 31, 70], [100, 90, 80]]).cells
[['c', 'c', '50'], ['c', 'c', '70'], ['100', '90', '80']]
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from sfpc_eval.errors import DisclosureError, InvalidValueError

__all__ = ["SuppressedGrid", "check_disclosure", "find_disclosive_cells", "suppress_grid"]

SUPPRESSED = "c"


def _show(value: int) -> str:
    return f"{value:,}"


@dataclass(frozen=True)
class SuppressedGrid:
    """A table of counts after suppression, as text, with its totals."""

    cells: list[list[str]]
    row_totals: list[str]
    column_totals: list[str]
    grand_total: str
    n_primary: int
    n_secondary: int


def suppress_grid(counts: Sequence[Sequence[int]], *, threshold: int = 10) -> SuppressedGrid:
    """Apply primary and secondary suppression to a grid of counts with row and column totals.

    Parameters
    ----------
    counts : sequence of sequence of int
        Non-negative whole counts (rows x columns).
    threshold : int, default 10
        Counts from 1 to ``threshold - 1`` are suppressed.

    Returns
    -------
    SuppressedGrid
        Cell text (``"c"`` where suppressed), row totals, column totals and grand total.

    Raises
    ------
    InvalidValueError
        A negative or non-whole count, or a ragged grid.
    """
    grid = [list(row) for row in counts]
    if not grid or any(len(row) != len(grid[0]) for row in grid):
        raise InvalidValueError("`counts` must be a non-empty rectangular grid of counts.")
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0 and v == int(v)):
                raise InvalidValueError(
                    f"`counts` must be whole non-negative numbers; cell ({i}, {j}) is {v!r}."
                )
    grid = [[int(v) for v in row] for row in grid]
    n_rows, n_cols = len(grid), len(grid[0])
    # the full table including totals: rows x cols cells, column n_cols = row totals,
    # row n_rows = column totals, [n_rows][n_cols] = grand total
    full = [[*row, sum(row)] for row in grid]
    full.append([sum(grid[i][j] for i in range(n_rows)) for j in range(n_cols)])
    full[-1].append(sum(full[-1]))
    hidden = [[0 < v < threshold for v in row] for row in full]
    n_primary = sum(map(sum, hidden))
    lines = [[(i, j) for j in range(n_cols + 1)] for i in range(n_rows + 1)]
    lines += [[(i, j) for i in range(n_rows + 1)] for j in range(n_cols + 1)]
    n_secondary = 0
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(hidden[i][j] for i, j in line) != 1:
                continue
            total = line[-1]
            members = line[:-1]
            # the line shows a relation (members sum to total); one hidden cell is recoverable
            candidates = [
                (full[i][j], (i, j)) for i, j in members if not hidden[i][j] and full[i][j] > 0
            ]
            if candidates:
                _, (i, j) = min(candidates)
            elif not hidden[total[0]][total[1]]:
                i, j = total
            else:  # pragma: no cover - a line with one hidden cell always has another non-zero
                continue
            hidden[i][j] = True
            n_secondary += 1
            changed = True

    def text(i: int, j: int) -> str:
        return SUPPRESSED if hidden[i][j] else _show(full[i][j])

    return SuppressedGrid(
        cells=[[text(i, j) for j in range(n_cols)] for i in range(n_rows)],
        row_totals=[text(i, n_cols) for i in range(n_rows)],
        column_totals=[text(n_rows, j) for j in range(n_cols)],
        grand_total=text(n_rows, n_cols),
        n_primary=n_primary,
        n_secondary=n_secondary,
    )


class _TableScanner(HTMLParser):
    """Collect child-level tables: their title, threshold and cells (text, role, row role)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict[str, Any]] = []
        self._table: dict[str, Any] | None = None
        self._row: list[tuple[str, str]] | None = None
        self._row_role = ""
        self._cell: list[str] | None = None
        self._role = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "table" and a.get("data-provenance") == "child":
            self._table = {
                "title": a.get("data-title", ""),
                "threshold": int(a.get("data-threshold", "0") or 0),
                "rows": [],
            }
        elif self._table is not None and tag == "tr":
            self._row, self._row_role = [], a.get("data-role", "")
        elif self._row is not None and tag in ("td", "th"):
            self._cell, self._role = [], a.get("data-role", "")

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(("".join(self._cell).strip(), self._role))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self._table["rows"].append((self._row, self._row_role))
            self._row = None
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table = None


_LEADING_NUMBER = re.compile(r"^\s*[+-]?((\d{1,3}(,\d{3})+|\d+)(\.\d*)?|\.\d+)(?![\d,])")


def _as_count(text: str) -> float | None:
    """Read the count a cell shows: ``3``, ``3.0``, ``1,234`` or ``3 children`` (None if none)."""
    found = _LEADING_NUMBER.match(text)
    return float(found.group(0).replace(",", "")) if found else None


def find_disclosive_cells(page: str, *, threshold: int | None = None) -> list[str]:
    """List the disclosive cells in a report's HTML (empty if none).

    Scans every table marked ``data-provenance="child"``: a count cell showing 1 to
    ``threshold - 1`` is disclosive (primary); so is a line (row, or column with a totals row)
    whose total is shown while exactly one of its counts is ``c`` (recoverable by subtraction).

    Parameters
    ----------
    page : str
        The HTML.
    threshold : int, optional
        Override the threshold recorded on each table.

    Returns
    -------
    list of str
        ``"<table title>: row <r>, column <c>: <why>"`` for each cell.
    """
    scanner = _TableScanner()
    scanner.feed(page)
    found = []
    for table in scanner.tables:
        limit = threshold if threshold is not None else table["threshold"]
        title = table["title"]
        body = [(cells, role) for cells, role in table["rows"] if any(r for _, r in cells)]
        for r, (cells, _) in enumerate(body):
            for c, (text, role) in enumerate(cells):
                value = _as_count(text) if role in ("count", "total") else None
                if value is not None and 0 < value < limit:
                    found.append(
                        f"{title}: row {r + 1}, column {c + 1}: shows {text} (below {limit})"
                    )
        for r, (cells, _) in enumerate(body):
            counts = [t for t, role in cells if role == "count"]
            totals = [t for t, role in cells if role == "total"]
            if totals and totals[0] != SUPPRESSED and counts.count(SUPPRESSED) == 1:
                found.append(f"{title}: row {r + 1}: one 'c' beside a shown total (recoverable)")
        totals_rows = [cells for cells, role in body if role == "total"]
        count_rows = [cells for cells, role in body if role != "total"]
        if totals_rows and count_rows:
            last = totals_rows[0]
            for c, (text, role) in enumerate(last):
                if role not in ("count", "total") or text == SUPPRESSED:
                    continue
                column = [row[c][0] for row in count_rows if c < len(row)]
                if column.count(SUPPRESSED) == 1:
                    found.append(
                        f"{title}: column {c + 1}: one 'c' beside a shown total (recoverable)"
                    )
    return found


def check_disclosure(report: Any, *, threshold: int | None = None) -> int:
    """Fail if a built report shows a disclosive cell; return the number of tables scanned.

    Parameters
    ----------
    report : Report or str
        A built :class:`~sfpc_eval.report.Report`, or its HTML.
    threshold : int, optional
        Override the threshold recorded in the report.

    Returns
    -------
    int
        How many child-level tables were scanned (zero when the report has only published
        statistics and estimates).

    Raises
    ------
    DisclosureError
        Listing every disclosive cell.

    Examples
    --------
    >>> page = ('<table data-provenance="child" data-threshold="10" data-title="T">'
    ...         '<tr><td data-role="count">4</td><td data-role="total">50</td></tr></table>')
    >>> check_disclosure(page)
    Traceback (most recent call last):
    ...
    sfpc_eval.errors.DisclosureError: 1 disclosive cell(s) in the report: T: row 1, column 1: shows 4 (below 10). Rebuild it with disclosure control (a [disclosure] threshold) or remove the table.
    """  # noqa: E501
    page = report if isinstance(report, str) else report.html()
    cells = find_disclosive_cells(page, threshold=threshold)
    if cells:
        raise DisclosureError(
            f"{len(cells)} disclosive cell(s) in the report: {'; '.join(cells)}. Rebuild it "
            "with disclosure control (a [disclosure] threshold) or remove the table.",
            cells=cells,
        )
    scanner = _TableScanner()
    scanner.feed(page)
    return len(scanner.tables)


def escape(text: object) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape(str(text), quote=True)
