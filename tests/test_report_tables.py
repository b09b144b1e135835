"""The example reports' tables, as a reader sees them: plain words, fixed decimals, downloads.

For the built Leeds, stepped-wedge and staggered example reports:

- the visible text (everything but styles, scripts and attribute values) contains none of the
  code names in :data:`FORBIDDEN`;
- every numeric column of every table has one number of decimals (intervals and p-values
  included), and every column whose cells are all plain numbers is typeset as numeric;
- every table can be downloaded from the page as CSV and Excel, and the downloaded files hold
  the cells the page shows (numbers stored as numbers in the workbook).
"""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sfpc_eval.report import build

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
RAW = ROOT.parent / "shared" / "data" / "raw"
FORBIDDEN = ("cla_rate", "cpp_rate", "rate_ratio", "la_name", "gaussian", "e<=")
NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.(\d+))?")
PLAIN_NUMBER = re.compile(r"^[+-]?\d[\d,]*(\.\d+)?( ?%| pp)?$")


class _Page(HTMLParser):
    """Visible text, and every table's cells with their class and the download links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.text: list[str] = []
        self.tables: list[dict] = []
        self._table: dict | None = None
        self._row: list | None = None
        self._cell: list[str] | None = None
        self._class = ""
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("style", "script", "head"):
            self.hidden += 1
        elif tag == "table":
            self._table = {"title": a.get("data-title", ""), "rows": []}
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell, self._class = [], a.get("class", "")
            self._span = int(a.get("colspan", 1))
        elif tag == "a" and a.get("download") and "-figure-" not in a["download"]:
            self.links.append((a["download"], a.get("href", "")))  # charts' data: elsewhere

    def handle_endtag(self, tag):
        if tag in ("style", "script", "head"):
            self.hidden -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(("".join(self._cell), self._class, tag, self._span))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table["rows"].append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table = None

    def handle_data(self, data):
        if not self.hidden:
            self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _example(name: str, needs_data: bool) -> str:
    if needs_data and not RAW.is_dir():
        pytest.skip(f"the DfE files are not at {RAW}")
    return build(EXAMPLES / name, data=RAW if needs_data else None).html()


@pytest.fixture(scope="module", params=["leeds", "stepped_wedge", "staggered"])
def page(request) -> _Page:
    specs = {
        "leeds": ("leeds_report.toml", True),
        "stepped_wedge": ("stepped_wedge_trial.toml", False),
        "staggered": ("staggered_report.toml", True),
    }
    parsed = _Page()
    parsed.feed(_example(*specs[request.param]))
    return parsed


def _grid(table: dict) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """The header classes of the last header row, and the body cells (text, class)."""
    header = [r for r in table["rows"] if r and all(c[2] == "th" for c in r)][-1]
    body = [r for r in table["rows"] if r and r[0][2] == "td"]
    return [c[1] for c in header], [[(c[0], c[1]) for c in r] for r in body]


def test_no_code_name_is_visible(page):
    text = " ".join(page.text)
    for name in FORBIDDEN:
        assert name not in text, name


def test_every_numeric_column_has_one_number_of_decimals(page):
    checked = 0
    for table in page.tables:
        classes, body = _grid(table)
        for j, cls in enumerate(classes):
            cells = [row[j][0].strip() for row in body if j < len(row) and row[j][0].strip()]
            if cls == "num":
                decimals = {
                    len(m.group(1) or "")
                    for cell in cells
                    for m in NUMBER.finditer(cell.replace("<0.001", "0.001"))
                }
                assert len(decimals) <= 1, (table["title"], j, sorted(decimals), cells[:6])
                checked += 1
            elif cells and j > 0:  # a column of plain numbers (not row labels) is numeric
                assert not all(PLAIN_NUMBER.match(c) for c in cells), (table["title"], j)
    assert checked >= 3


def test_every_table_downloads_as_csv_and_excel_with_the_shown_cells(page):
    assert len(page.links) == 2 * len(page.tables)
    links = dict(page.links)
    for n, table in enumerate(page.tables):
        csv_name, xlsx_name = page.links[2 * n][0], page.links[2 * n + 1][0]
        assert csv_name.endswith(".csv") and xlsx_name.endswith(".xlsx")
        _, body = _grid(table)
        csv = base64.b64decode(links[csv_name].split("base64,", 1)[1]).decode("utf-8")
        frame = pd.read_csv(io.StringIO(csv), dtype=str, keep_default_na=False)
        assert frame.shape == (len(body), len(body[0])), table["title"]
        book = openpyxl.load_workbook(
            io.BytesIO(base64.b64decode(links[xlsx_name].split("base64,", 1)[1]))
        )
        sheet = book.active
        assert sheet.cell(1, 1).value == table["title"]
        first = 1 + next(
            r
            for r in range(2, 6)
            if (sheet.cell(r, 1).value or "") == _header(table) and sheet.cell(r, 1).font.bold
        )
        for i, row in enumerate(body):
            for j, (text, _) in enumerate(row):
                value = sheet.cell(first + i, 1 + j).value
                shown = text.strip()
                if isinstance(value, int | float):  # a number: the page shows it rounded
                    digits = NUMBER.search(shown.replace("<0.001", "0"))
                    assert digits is not None, (table["title"], shown, value)
                    if shown.startswith("<"):
                        assert value < 0.001
                    else:
                        decimals = len(digits.group(1) or "")
                        assert abs(float(digits.group(0).replace(",", "")) - value) <= (
                            0.5 * 10**-decimals + 1e-9
                        ), (table["title"], shown, value)
                else:
                    assert (value or "") == shown, (table["title"], shown, value)


def _header(table: dict) -> str:
    header = [r for r in table["rows"] if r and all(c[2] == "th" for c in r)][-1]
    return header[0][0]
