"""No small count from child-level data reaches the reader, in any design (issue 19).

Each report design is built from child-level data in which a few cells hold counts below the
disclosure threshold. The threshold is set to 100 and every other count is at least 150, so a
planted count (37, 58, 73, 91) is a two-digit number nothing else in the data produces. The
test then looks everywhere a reader can:

- every text node and attribute of the HTML (tables, findings, methods, captions, appendix);
- the text of every SVG figure, and every value handed to matplotlib to draw (points, lines,
  bars, bands), which is what the figure's geometry encodes;
- the CSV and Excel files embedded in the page as downloads;
- every child-level table, for a hidden cell recoverable from a shown total (the checker).

A planted count is looked for as itself, and as the rate per 10,000 derived from it; a count
recoverable by subtraction is looked for through :func:`find_disclosive_cells`.
"""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.figure
import matplotlib.patches
import numpy as np
import pandas as pd
import pytest

from sfpc_eval.errors import SpecError
from sfpc_eval.report import build, find_disclosive_cells

THRESHOLD = 100
CELLS = (("A", 2014), ("A", 2017), ("C", 2016), ("E", 2019))
PLANTED = ((37, 58, 73, 91), (41, 62, 79, 86))  # two runs; a leak shows in both
UNITS = ("A", "B", "C", "D", "E")
YEARS = tuple(range(2012, 2022))
POPULATION = {"A": 30_011, "B": 41_203, "C": 52_307, "D": 38_909, "E": 47_501}


def _count(unit: str, year: int, small: dict) -> int:
    """Counts of 150 or more, except the planted small ones."""
    return small.get((unit, year), 150 + 17 * UNITS.index(unit) + 11 * (year - 2012))


def counts_csv(path: Path, small: dict) -> Path:
    rows = [
        (u, y, _count(u, y, small), POPULATION[u], int(u in "AB" and y >= 2017))
        for u in UNITS
        for y in YEARS
    ]
    frame = pd.DataFrame(rows, columns=["la", "year", "entered", "population", "on"])
    frame.to_csv(path, index=False)
    return path


def children_csv(path: Path, small: dict) -> Path:
    """One row per child: ``entered`` is 1 for exactly ``_count`` children of 400 a cell."""
    rows = []
    for u in UNITS:
        start = {"A": 2015, "B": 2016, "C": 2017, "D": 2018, "E": 2019}[u]
        for y in YEARS:
            k = _count(u, y, small)
            rows += [(u, y, int(y >= start), int(i < k)) for i in range(400)]
    frame = pd.DataFrame(rows, columns=["la", "year", "on", "entered"])
    frame.to_csv(path, index=False)
    return path


def _spec(path: Path, analysis: dict) -> dict:
    return {
        "report": {"title": "Small counts", "date": "2026-01-15"},
        "data": {"path": str(path), "level": "child", "unit": "la"},
        "disclosure": {"threshold": THRESHOLD},
        "analysis": [analysis],
    }


DESIGNS = {
    "before_after": ("counts", {"design": "before_after", "unit": "A", "outcome": "entered",
                                "before": 2014, "after": 2017, "exposure": "population"}),
    "did_gaussian": ("counts", {"design": "did", "treated": ["A", "B"], "start": 2017,
                                "outcomes": ["entered"], "comparison": "all",
                                "inference": ["CR2"]}),
    "did_binomial": ("children", {"design": "did", "treated": ["A", "B"], "start": 2017,
                                  "outcomes": ["entered"], "family": "binomial",
                                  "comparison": "all", "inference": ["CR2"]}),
    "single_la": ("counts", {"design": "single_la", "unit": "A", "outcome": "entered",
                             "start": 2017}),
    "staggered": ("counts", {"design": "staggered", "cohorts": {"A": 2015, "B": 2017},
                             "outcome": "entered"}),
    "stepped_wedge": ("children", {"design": "stepped_wedge", "cluster": "la",
                                   "period": "year", "treated": "on", "outcome": "entered",
                                   "model": "glm"}),
    "impact": ("counts", {"design": "impact", "effect": -0.05, "std_error": 0.02,
                          "scale": "risk_difference", "population_column": "entered",
                          "population_year": 2014, "population_units": ["A", "B"]}),
}  # fmt: skip


class _Visible(HTMLParser):
    """Every text a reader sees, one string per element (so a decimal-aligned "58" + ".04"
    reads as 58.04), every attribute value, and the embedded files decoded."""

    INLINE = frozenset({"span", "sup", "sub", "b", "i", "em", "strong", "a", "abbr"})

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = [""]
        self.svgs: list[str] = []
        self.files: list[str] = []
        self._style = False

    def handle_starttag(self, tag, attrs):
        self._style = tag == "style"
        if tag not in self.INLINE:
            self.text.append("")
        for _, value in attrs:
            if value is None:
                continue
            match = re.match(r"data:([^;]+)(?:;charset=[^;]+)?;base64,(.*)", value, re.S)
            if match is None:
                self.text.append(value)
                self.text.append("")
                continue
            kind, payload = match.groups()
            raw = base64.b64decode(payload)
            if kind == "image/svg+xml":
                self.svgs.append(raw.decode())
            elif kind.startswith("text/csv"):
                self.files.append(raw.decode())
            else:  # the Excel workbook: every cell's value
                self.files.append(_workbook_text(raw))

    def handle_endtag(self, tag):
        self._style = False
        if tag not in self.INLINE:
            self.text.append("")

    def handle_data(self, data):
        if not self._style:  # the page's CSS is not data
            self.text[-1] += data


def _workbook_text(raw: bytes) -> str:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
    cells = [
        str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v
    ]
    return "\n".join(cells)


def _svg_text(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg) + re.findall(
        r"<title>([^<]*)</title>", svg
    )


@pytest.fixture
def drawn(monkeypatch) -> list[float]:
    """Every data value in every figure as it is saved: lines, markers, bands and bars."""
    values: list[float] = []
    original = matplotlib.figure.Figure.savefig

    def finite(array) -> list[float]:
        array = np.ma.filled(np.ma.asarray(array, dtype=float), np.nan).ravel()
        return array[np.isfinite(array)].tolist()

    def savefig(self, *args, **kwargs):
        for ax in self.axes:
            for line in ax.get_lines():
                values.extend(finite(line.get_xydata()))
            for collection in ax.collections:
                values.extend(finite(collection.get_offsets()))
                for path in collection.get_paths():
                    values.extend(finite(path.vertices))
            for patch in ax.patches:
                if isinstance(patch, matplotlib.patches.Rectangle):
                    values.extend(finite([patch.get_y(), patch.get_y() + patch.get_height()]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    return values


def _secrets(small: dict) -> dict[str, float]:
    """What must not be shown, by cell: the count and the rate per 10,000 derived from it."""
    out = {}
    for (unit, year), k in small.items():
        out[f"{unit} {year}: count"] = float(k)
        out[f"{unit} {year}: rate per 10,000"] = k / POPULATION[unit] * 1e4
    return out


def _token_pattern(value: float) -> re.Pattern[str]:
    shown = f"{value:,.0f}" if value == round(value) else f"{value:.1f}"  # as a report prints
    return re.compile(rf"(?<![\d.,]){re.escape(shown)}(?![\d,]|\.\d)")


def _found(design: str, small: dict, folder: Path, drawn: list[float]) -> set[str]:
    """Build the design's report on data with the ``small`` counts; where each one shows."""
    kind, analysis = DESIGNS[design]
    make = counts_csv if kind == "counts" else children_csv
    drawn.clear()
    page = build(_spec(make(folder / f"{kind}.csv", small), analysis)).html()
    visible = _Visible()
    visible.feed(page)
    places = {
        "HTML text": "\n".join(visible.text),
        "SVG text": "\n".join(t for svg in visible.svgs for t in _svg_text(svg)),
        "downloads": "\n".join(visible.files),
    }
    found = set()
    for what, value in _secrets(small).items():
        pattern = _token_pattern(value)
        found |= {f"{what} in {where}" for where, text in places.items() if pattern.search(text)}
        if any(abs(v - value) <= 1e-9 * value for v in drawn):
            found.add(f"{what} drawn in a figure")
    assert find_disclosive_cells(page, threshold=THRESHOLD) == []
    return found


@pytest.mark.parametrize("design", list(DESIGNS))
def test_no_small_count_in_any_form(design, tmp_path, drawn):
    """A planted count or its rate found in both runs (different values, same cells) is shown;
    one found in a single run is a coincidence (an interval bound that happens to equal it)."""
    runs = [
        _found(design, dict(zip(CELLS, values, strict=True)), tmp_path, drawn) for values in PLANTED
    ]
    assert runs[0] & runs[1] == set()


def test_a_population_summed_from_child_level_data_below_the_threshold_is_refused(tmp_path):
    """The impact design used to show A's 37 children of 2014 as its population."""
    analysis = {**DESIGNS["impact"][1], "population_units": ["A"]}
    small = dict(zip(CELLS, PLANTED[0], strict=True))
    spec = _spec(counts_csv(tmp_path / "counts.csv", small), analysis)
    with pytest.raises(SpecError, match=r"below the disclosure threshold \(100\)") as err:
        build(spec)
    assert "37" not in str(err.value)
