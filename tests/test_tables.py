"""The table engine: side-by-side models, number formatting, and every export read back.

The side-by-side table is built from eight heterogeneous results (DiD with CR2, the wild
bootstrap and randomization; a stepped-wedge GLMM, GEE and GLM; two counts; a Callaway &
Sant'Anna aggregation). Its cells are checked against the results' own ``tidy()`` and
``glance()`` frames; its HTML, Markdown and LaTeX are parsed back and compared cell by cell
with the text behind the table; the XLSX (openpyxl) and DOCX (python-docx) files are read back
and every cell is compared with the DataFrame behind the table. Where LibreOffice is installed,
the workbook is also opened by it and the text it displays (through our Excel number formats)
is compared with the text of the table.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import docx
import numpy as np
import openpyxl
import pandas as pd
import pytest

import sfpc_eval as se
from _every_result import every_result
from sfpc_eval.errors import ExportError, TableError
from sfpc_eval.results import INVALID_MARK
from sfpc_eval.tables import Cell, NumberFormat, Table, decimals_for, side_by_side
from sfpc_eval.tables.export import TABLE_STYLE, docx_bytes, excel_format, xlsx_bytes
from sfpc_eval.tables.render import latex_escape

MODELS = {
    "DiD, CR2": "did_cr2",
    "DiD, wild bootstrap": "did_wild",
    "DiD, randomization": "did_randomization",
    "Stepped wedge, GLMM": "glmm",
    "Stepped wedge, GEE": "gee",
    "Stepped wedge, GLM": "glm",
    "Leeds, 2011 to 2017": "counts",
    "Callaway & Sant'Anna": "cs_simple",
}


@pytest.fixture(scope="module")
def results():
    everything = every_result()
    return {name: everything[key] for name, key in MODELS.items()}


@pytest.fixture(scope="module")
def table(results):
    return side_by_side(results, rename={"overall": "att"}, title="Eight models")


def _rows_by_label(table: Table) -> dict[str, int]:
    return {row[0].text(): i for i, row in enumerate(table.cells) if row[0].text()}


# --------------------------------------------------------------------------- the table itself
def test_every_estimate_and_interval_is_the_results_own(table, results):
    frame = table.to_frame()
    text = table.to_text_frame()
    checked = 0
    for name, res in results.items():
        tidy = res.tidy().set_index("term")
        tidy = tidy.rename(index={"overall": "att"})
        for term, row in tidy.iterrows():
            i = table.row(term)
            assert table.row(f"{term}:ci") == i + 1
            factor = 100.0 if term in ("average_marginal_effect",) else 1.0
            assert frame.loc[i, name] == pytest.approx(row["estimate"] * factor, rel=1e-12)
            fmt = table.cells[i + 1][list(results).index(name) + 1].format
            interval = fmt.text((row["conf_low"] * factor, row["conf_high"] * factor))
            assert text.loc[i + 1, name] == interval, (name, term)
            checked += 1
    assert checked >= 15


def test_a_terms_row_shares_one_number_of_decimals(table, results):
    """Decimals of a row: two significant figures of the smallest standard error in it."""
    for i, kind in enumerate(table.row_kinds):
        if kind or i + 1 >= len(table.cells) or table.row_kinds[i + 1] != "sub":
            continue
        cells = [c for c in table.cells[i][1:] if c.is_number]
        decimals = {c.format.decimals for c in cells}
        assert len(decimals) == 1, table.cells[i][0].text()
        # the number itself: without its unit and the mark of a row that is not valid
        texts = [
            c.text().replace(" pp", "").replace("%", "").removesuffix(f" {INVALID_MARK}")
            for c in cells
        ]
        assert {len(t.split(".")[1]) if "." in t else 0 for t in texts} == decimals


def test_model_facts_come_from_glance(table, results):
    frame = table.to_frame()
    where = _rows_by_label(table)
    for name, res in results.items():
        g = res.glance().iloc[0]
        for fact, label in (("n_obs", "Observations"), ("n_clusters", "Clusters")):
            value = frame.loc[where[label], name]
            if pd.isna(g[fact]):
                assert value == ""
            else:
                assert value == float(g[fact])
        assert frame.loc[where["Inference"], name] == se.labels.label(g["inference"]) or (
            g["inference"] == "" and frame.loc[where["Inference"], name] == ""
        )
    assert frame.loc[where["Model"], "DiD, CR2"] == "Linear"
    assert frame.loc[where["Model"], "Stepped wedge, GLMM"] == "Logistic (odds ratio)"


def test_percentage_points_and_percent_are_marked(table):
    text = table.to_text_frame()
    where = _rows_by_label(table)
    assert text.loc[where["Risk difference (average marginal effect)"], "Stepped wedge, GLMM"]
    assert text.loc[
        where["Risk difference (average marginal effect)"], "Stepped wedge, GLMM"
    ].endswith(" pp")
    assert text.loc[where["Change (%)"], "Leeds, 2011 to 2017"] == "-47.1%"
    assert text.loc[where["Observations"], "Stepped wedge, GLMM"] == "6,000"


def test_standard_errors_and_stars_on_request(results):
    small = {k: results[k] for k in ("DiD, CR2", "Stepped wedge, GLM")}
    t = side_by_side(small, uncertainty="se", stars=True, keep=["treated"], facts=False)
    rows = t.text_rows()
    assert rows[1][1].startswith("(") and rows[1][1].endswith(")")
    # p < 0.001 for the CR2 DiD; the row keeps its mark (CR2 is not valid with 5 councils)
    assert rows[0][1].endswith(f"*** {INVALID_MARK}")
    assert "*** p < 0.01" in " ".join(t.notes)
    plain = side_by_side(small, keep=["treated"], facts=False)
    assert "*" not in plain.as_text()


def test_invalid_rows_are_marked_and_footnoted():
    res = se.compare_counts(974, 515)
    bad = [*res.terms]
    bad[3] = type(bad[3])(**{**bad[3].__dict__, "valid": False, "note": "one treated council"})
    from dataclasses import replace

    flagged = replace(res, terms=tuple(bad))
    t = side_by_side({"flagged": flagged}, keep=["rate_ratio"], facts=False)
    assert t.cells[0][1].text().endswith("\u2020")
    assert any(n.startswith("\u2020 flagged, Rate ratio: one treated council") for n in t.notes)
    summary = flagged.summary()
    assert summary.cells[3][0].text() == "Rate ratio \u2020"
    assert "\u2020 one treated council" in summary.notes


# --------------------------------------------------------------------------- formatting
@pytest.mark.parametrize(
    ("precisions", "estimates", "expected"),
    [
        ([2.9, 3.4], [], 1),
        ([0.0289], [], 3),
        ([38.6], [], 0),
        ([0.04, 2.0], [], 3),
        ([], [0.5287], 3),
        ([], [974.0], 0),
        ([math.nan, 0.0], [12.3], 1),
        ([1e-9], [], 4),
    ],
)
def test_decimals_are_two_significant_figures_of_the_precision(precisions, estimates, expected):
    assert decimals_for(precisions, estimates) == expected


@pytest.mark.parametrize(
    ("fmt", "value", "text"),
    [
        (NumberFormat("count"), 6_000_000.0, "6,000,000"),
        (NumberFormat("number", 2), 1299.456, "1,299.46"),
        (NumberFormat("number", 1, "%", True), -47.125, "-47.1%"),
        (NumberFormat("number", 1, "pp", True), 12.142, "+12.1 pp"),
        (NumberFormat("number", 1, "pp", True), -0.04, "0.0 pp"),
        (NumberFormat("p_value"), 5e-33, "<0.001"),
        (NumberFormat("p_value"), 0.0469, "0.047"),
        (NumberFormat("se", 3), 0.0551, "(0.055)"),
        (NumberFormat("interval", 1), (0.154, 23.26), "[0.2, 23.3]"),
        (NumberFormat("interval", 1), (-math.inf, 2.0), "unbounded"),
        (NumberFormat("df"), math.inf, "\u221e"),
        (NumberFormat("df"), 8.13, "8.1"),
    ],
)
def test_number_formats(fmt, value, text):
    assert fmt.text(value) == text


def test_text_left_numbers_right_and_on_the_decimal_point():
    t = Table(
        "Align",
        ["name", "value"],
        [
            ["long label", Cell(1.5, NumberFormat("number", 2))],
            ["x", Cell(-125.25, NumberFormat("number", 2))],
            ["y", Cell(3.0, NumberFormat("number", 1, "%"))],
        ],
    )
    lines = t.as_text().splitlines()[4:7]
    assert lines[1].startswith("x ")  # text left
    points = {line.index(".") for line in lines}
    assert len(points) == 1  # decimal points in one column
    html = t.as_html()
    assert 'class="txt">long label' in html and 'class="num">-125<span class="dec"' in html
    assert "r@{}l" in t.as_latex()


# --------------------------------------------------------------------------- outputs read back
class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_html_cells_read_back(table):
    parser = _Cells()
    parser.feed(table.as_html())
    assert parser.rows == table.text_rows()
    assert table._repr_html_() == table.as_html()


def test_markdown_cells_read_back(table):
    lines = table.as_markdown().splitlines()
    body = [line for line in lines[4:] if line.startswith("| ")]
    cells = [[c.strip().replace(r"\|", "|") for c in re.split(r"(?<!\\)\|", b)[1:-1]] for b in body]
    assert cells == table.text_rows()
    assert lines[3].count("---:|") == len(table.columns) - 1  # numbers right-aligned


def test_latex_cells_read_back(table):
    tex = table.as_latex()
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    body = tex.split(r"\midrule", 1)[1].split(r"\bottomrule")[0]
    rows = [r.strip() for r in body.split(r"\\") if r.strip() and r.strip() != r"\midrule"]
    rows = [r.replace(r"\midrule", "").strip() for r in rows]
    numeric = table.numeric_columns()
    for row, expected in zip(rows, table.text_rows(), strict=True):
        cells = [c.strip() for c in re.split(r"(?<!\\)&", row)]
        got, k = [], 0
        for is_num in numeric:
            cell = cells[k]
            if is_num and not cell.startswith(r"\multicolumn"):
                got.append(cells[k] + cells[k + 1])
                k += 2
            else:
                got.append(re.sub(r"^\\multicolumn\{2\}\{r\}\{(.*)\}$", r"\1", cell))
                k += 1
        assert got == [latex_escape(e) for e in expected]


def test_xlsx_cells_are_the_frame_numbers_stored_as_numbers(table, tmp_path):
    path = table.save(tmp_path / "models.xlsx")
    sheet = openpyxl.load_workbook(path).active
    assert sheet.cell(1, 1).value == table.title
    assert [sheet.cell(2, j + 1).value or "" for j in range(len(table.columns))] == list(
        table.columns
    )
    frame = table.to_frame()
    numbers = 0
    for i, row in enumerate(table.cells):
        for j, cell in enumerate(row):
            got = sheet.cell(3 + i, 1 + j)
            expected = frame.iloc[i, j]
            if cell.is_number:
                # openpyxl writes 17 significant digits at most; Excel keeps 15
                assert isinstance(got.value, int | float)
                assert got.value == pytest.approx(expected, rel=1e-15, abs=0)
                assert got.number_format == excel_format(cell)
                numbers += 1
            else:
                assert (got.value or "") == expected
    assert numbers > 60
    notes = [sheet.cell(r, 1).value for r in range(3 + len(table.cells), sheet.max_row + 1)]
    assert [n for n in notes if n] == list(table.notes)


def test_docx_is_a_styled_word_table_with_the_texts(table, tmp_path):
    path = table.save(tmp_path / "models.docx")
    document = docx.Document(str(path))
    assert len(document.tables) == 1
    grid = document.tables[0]
    assert grid.style.name == TABLE_STYLE
    assert [c.text for c in grid.rows[0].cells] == list(table.columns)
    got = [[c.text for c in row.cells] for row in grid.rows[1:]]
    assert got == table.text_rows()
    # the text of every number reads back as the DataFrame's number, to the shown decimals
    frame = table.to_frame()
    for i, row in enumerate(table.cells):
        for j, cell in enumerate(row):
            if cell.is_number and cell.format.kind == "number":
                shown = float(re.sub(r"[^0-9.\-]", "", got[i][j].split(" ")[0]))
                assert shown == pytest.approx(
                    frame.iloc[i, j], abs=0.51 * 10**-cell.format.decimals
                )
    assert document.paragraphs[0].text == table.title


def test_exports_are_byte_for_byte_reproducible(table):
    assert xlsx_bytes(table) == xlsx_bytes(table)
    assert docx_bytes(table) == docx_bytes(table)


def test_csv_and_text_formats(table, tmp_path):
    csv = pd.read_csv(table.save(tmp_path / "t.csv"), keep_default_na=False)
    assert list(csv.columns) == ["Unnamed: 0", *list(table.columns)[1:]] or list(
        csv.columns
    ) == list(table.unique_columns())
    for suffix in ("html", "md", "tex", "txt"):
        path = table.save(tmp_path / f"t.{suffix}")
        assert table.title in path.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.parametrize("which", ["side_by_side", "standard_errors", "summary"])
def test_libreoffice_displays_the_xlsx_as_the_table_does(table, results, which, tmp_path):
    """An independent reader of our Excel number formats: LibreOffice's CSV export writes each
    cell as displayed (counts, signed percent and pp, p-values "<0.001", bracketed SEs)."""
    if which == "standard_errors":
        table = side_by_side(results, uncertainty="se", stars=True, rename={"overall": "att"})
    elif which == "summary":
        table = se.compare_proportions((52, 140), (25, 100)).summary()
    path = table.save(tmp_path / "models.xlsx")
    subprocess.run(
        [
            "soffice",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    shown = pd.read_csv(
        tmp_path / "models.csv",
        header=None,
        skiprows=2,
        dtype=str,
        keep_default_na=False,
        nrows=len(table.cells),
    )
    expected = table.to_text_frame()
    for i in range(len(table.cells)):
        for j in range(len(table.columns)):
            got = shown.iloc[i, j].replace("\u2212", "-")
            assert got == expected.iloc[i, j], (i, j, got, expected.iloc[i, j])


# --------------------------------------------------------------------------- bad inputs
def test_a_term_renamed_to_a_name_its_model_has_is_refused(results):
    res = results["DiD, CR2"]
    counts = results["Leeds, 2011 to 2017"]
    with pytest.raises(TableError, match=r"same name 'difference'.*already exists"):
        side_by_side([res, counts], rename={"rate_ratio": "difference"})
    with pytest.raises(TableError, match="would all be labelled 'Rate ratio'"):
        side_by_side([res, counts], labels={"difference": "Rate ratio"})


def test_different_confidence_levels_are_refused_or_recomputed():
    a = se.compare_counts(974, 515)
    b = se.compare_counts(974, 515, conf_level=0.9)
    with pytest.raises(TableError, match=r"different confidence levels \(\(1\) 95%, \(2\) 90%\)"):
        side_by_side([a, b])
    both = side_by_side([a, b], conf_level=0.9, keep=["rate_ratio"], facts=False)
    assert both.text_rows()[1][1] == both.text_rows()[1][2]  # one level, one interval
    assert "90% confidence intervals" in both.notes[0]


def test_other_table_mistakes(results):
    res = results["DiD, CR2"]
    with pytest.raises(TableError, match="more than once"):
        side_by_side([res, res], names=["a", "a"])
    with pytest.raises(TableError, match="one per result"):
        side_by_side([res, res], names=["a"])
    with pytest.raises(TableError, match="`keep` names terms no model has"):
        side_by_side([res], keep=["odds_ratio"])
    with pytest.raises(TableError, match="not a result"):
        side_by_side([res.tidy()])
    with pytest.raises(TableError, match="`facts` names"):
        side_by_side([res], facts=["colour"])
    with pytest.raises(TableError, match="empty"):
        side_by_side([])


def test_export_to_a_missing_folder_is_refused(table, tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        table.save(tmp_path / "no such folder" / "t.xlsx")


def test_export_to_a_folder_that_cannot_be_written_is_refused(table, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() != 0:  # a real read-only folder (root may write anywhere)
        locked.chmod(0o500)
        with pytest.raises(ExportError, match="not writable"):
            table.save(locked / "t.docx")
        locked.chmod(0o700)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == locked else real(p, m))
    with pytest.raises(ExportError, match="is not writable"):
        table.save(locked / "t.docx")


def test_unknown_export_format_is_refused(table, tmp_path):
    with pytest.raises(
        ExportError, match=r"suffix of .*'pdf'.*html, md, tex, txt, csv, xlsx, docx"
    ):
        table.save(tmp_path / "t.pdf")
    with pytest.raises(ExportError, match="`format` 'odt'"):
        table.save(tmp_path / "t.xlsx", format="odt")
    with pytest.raises(ExportError, match="it is a folder"):
        table.save(tmp_path, format="csv")


def test_summary_of_every_result_renders_in_every_format(tmp_path):
    for name, res in every_result().items():
        summary = res.summary()
        text = str(res)
        assert summary.title in text
        assert "Term(" not in text
        assert summary.as_markdown() and summary.as_latex() and summary.as_html()
        frame = summary.to_frame()
        if name == "single_council_summary":  # designs side by side: a column per term
            assert frame.shape[1] - 1 == len(res.terms), name
            continue
        assert len(frame) == len(res.terms), name
    np.testing.assert_equal(len(every_result()) > 25, True)


def test_every_term_prints_one_readable_line():
    for name, res in every_result().items():
        own = res.term_labels()
        for term in res.terms:
            line = str(res.term(term.term))
            assert "\n" not in line and "Term(" not in line, (name, line)
            assert line.startswith(se.label(term.term)), (name, line)
            if term.term in own:  # a result's own label is used in its tables, not by the term
                assert own[term.term] in res.summary().as_text()
            if not math.isnan(term.conf_low) and not math.isinf(term.conf_low):
                assert f"{res.conf_level:.0%} CI [" in line, (name, line)
