"""The report reads as a published statistical report: on paper, on screen, to a screen reader.

- The Leeds example prints to A4 (``pdfinfo``), its provenance (file hashes, versions) comes
  after the results, and no page ends on a heading or on the start of a table caption
  (``pdftotext -layout``, one page per form feed).
- Headless Chromium screenshots the three example reports; every image has alt text and every
  table header cells.
- Every chart offers the data behind it, and those data are what was drawn.
- Chart text prints at 7 pt or more.

The examples are built once per module and the PDF printed once (both take seconds). Needs
``chromium`` and poppler-utils (``pdfinfo``, ``pdftotext``); .ci/run installs both.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sfpc_eval.report import build
from sfpc_eval.report.chart_data import chart_data

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
RAW = ROOT.parent / "shared" / "data" / "raw"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
POPPLER = shutil.which("pdfinfo") and shutil.which("pdftotext")
PNG = b"\x89PNG\r\n\x1a\n"
EXAMPLE_SPECS = {
    "leeds": "leeds_report.toml",
    "claims": "claims_audit.toml",
    "stepped_wedge": "stepped_wedge_trial.toml",
}
# A4 is 210 x 297 mm = 595.28 x 841.89 pt; Chromium rounds the page to its CSS pixel grid
# (594.96 x 841.92 pt), so a page within 1 pt of A4 is A4 (US Letter is 612 x 792).
A4 = (595.28, 841.89)
# A4 less the 15 mm side margins of the report's @page rule: the printed width of a chart
CONTENT_WIDTH_PT = (210 - 2 * 15) / 25.4 * 72


class _Page(HTMLParser):
    """Headings, table captions, images and tables (with their header cells) of a page."""

    def __init__(self):
        super().__init__()
        self.headings: list[str] = []
        self.images: list[dict] = []
        self.tables: list[dict] = []
        self.csv_links: list[tuple[str, str]] = []
        self._text: list[str] | None = None
        self._table_stack: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("h1", "h2", "h3", "h4", "caption"):
            self._text = []
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "table":
            self._table_stack.append({"title": attrs.get("data-title", ""), "th": 0, "td": 0})
        elif tag in ("th", "td") and self._table_stack:
            self._table_stack[-1][tag] += 1
        elif tag == "a" and str(attrs.get("href", "")).startswith("data:text/csv"):
            self.csv_links.append((attrs.get("download", ""), attrs["href"]))

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3", "h4", "caption") and self._text is not None:
            self.headings.append(" ".join("".join(self._text).split()))
            self._text = None
        elif tag == "table" and self._table_stack:
            self.tables.append(self._table_stack.pop())

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


def parse(page: str) -> _Page:
    parsed = _Page()
    parsed.feed(page)
    return parsed


def accessibility_problems(page: str) -> list[str]:
    """Images without alt text and tables without header cells."""
    parsed = parse(page)
    problems = [
        f"image {i + 1} has no alt text"
        for i, img in enumerate(parsed.images)
        if not str(img.get("alt") or "").strip()
    ]
    problems += [f"table {t['title']!r} has no header cells" for t in parsed.tables if t["th"] == 0]
    return problems


def pages_ending_on_a_heading(pages: list[str], headings: list[str]) -> list[tuple[int, str]]:
    """Pages whose last line of text is a heading, or the start of one (a wrapped caption).

    The page-number footer is ignored. A heading's start counts only from 12 characters, so a
    short line of a table that happens to begin a heading is not mistaken for one.
    """
    out = []
    normal = [" ".join(h.split()) for h in headings if h.strip()]
    for number, page in enumerate(pages, start=1):
        lines = [" ".join(line.split()) for line in page.splitlines() if line.strip()]
        lines = [line for line in lines if not re.fullmatch(r"Page \d+ of \d+", line)]
        if not lines or number == len(pages):
            continue
        for k in (1, 2, 3):
            tail = " ".join(lines[-k:])
            if any(tail == h or (len(tail) >= 12 and h.startswith(tail)) for h in normal):
                out.append((number, tail))
                break
    return out


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    """The HTML of the three example reports (Leeds only where the DfE files are present)."""
    out = {}
    for name, spec in EXAMPLE_SPECS.items():
        if name == "leeds" and not RAW.is_dir():
            continue
        out[name] = build(EXAMPLES / spec, data=RAW if name == "leeds" else None).html()
    return out


@pytest.fixture(scope="module")
def leeds_pdf(pages, tmp_path_factory) -> dict:
    """The Leeds report printed once: page size from pdfinfo, pages from pdftotext -layout."""
    if "leeds" not in pages:
        pytest.skip(f"the DfE files are not at {RAW}")
    if CHROMIUM is None or not POPPLER:
        pytest.skip("chromium and poppler-utils are needed to print and read the PDF")
    from sfpc_eval.report.pdf import print_pdf

    folder = tmp_path_factory.mktemp("leeds_pdf")
    pdf = print_pdf(pages["leeds"], folder / "leeds.pdf", chromium=CHROMIUM)
    info = subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return {
        "info": info,
        "pages": text.split("\f")[:-1] if text.endswith("\f") else text.split("\f"),
    }


@pytest.mark.slow
def test_leeds_pdf_is_a4(leeds_pdf):
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", leeds_pdf["info"])
    width, height = float(size.group(1)), float(size.group(2))
    assert abs(width - A4[0]) < 1 and abs(height - A4[1]) < 1, leeds_pdf["info"]
    pages = int(re.search(r"Pages:\s+(\d+)", leeds_pdf["info"]).group(1))
    assert pages == len(leeds_pdf["pages"]) >= 5


@pytest.mark.slow
def test_leeds_pdf_has_provenance_after_the_results(leeds_pdf):
    text = "\n\f\n".join(leeds_pdf["pages"])
    results = re.search(r"^Results$", text, re.M)
    figures = [m.end() for m in re.finditer(r"^Figure \d+\.", text, re.M)]
    appendix = re.search(r"^Reproducibility appendix$", text, re.M)
    first_hash = re.search(r"\b[0-9a-f]{16,}", text)  # a SHA-256 (or its first line)
    versions = re.search(r"^\s*numpy\s+\d", text, re.M)
    assert results and figures and appendix and first_hash and versions
    assert results.start() < figures[-1] < appendix.start() < first_hash.start()
    assert appendix.start() < versions.start()
    # the summary opens the report: its first main message is on page 1
    assert "fell by 47.1% between 2011 and 2017" in " ".join(leeds_pdf["pages"][0].split())


@pytest.mark.slow
def test_no_page_of_the_leeds_pdf_ends_on_a_heading(leeds_pdf, pages):
    headings = parse(pages["leeds"]).headings
    assert len(headings) > 20  # section headings and every table's caption
    assert pages_ending_on_a_heading(leeds_pdf["pages"], headings) == []


@pytest.mark.slow
def test_a_table_over_two_pages_repeats_its_header_row(pages, tmp_path_factory):
    """The claims audit's table runs over pages; each page of rows starts with the header."""
    if CHROMIUM is None or not POPPLER:
        pytest.skip("chromium and poppler-utils are needed to print and read the PDF")
    from sfpc_eval.report.pdf import print_pdf

    pdf = print_pdf(
        pages["claims"], tmp_path_factory.mktemp("claims_pdf") / "claims.pdf", chromium=CHROMIUM
    )
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    header = re.compile(r"^\s*Source\s+Place\s+Published\s+Recomputed", re.M)
    row_end = re.compile(r"\b(stated only|reproduced|conflict)\s*$", re.M)
    with_rows = [p for p in text.split("\f") if header.search(p) or row_end.search(p)]
    with_rows = [p for p in with_rows if row_end.search(p)]
    assert len(with_rows) >= 2
    for page in with_rows:
        assert header.search(page), page[:400]
        assert header.search(page).start() < row_end.search(page).start()


def test_the_heading_check_finds_a_heading_left_at_the_foot_of_a_page():
    headings = ["Methods", "Difference-in-differences, Leeds against the comparison group"]
    ok = ["text\nMethods\nA paragraph.\n   Page 1 of 2", "last page"]
    alone = ["text\n\nMethods\n\n   Page 1 of 2", "last page"]
    wrapped = ["text\nDifference-in-differences, Leeds\n   Page 1 of 2", "last page"]
    assert pages_ending_on_a_heading(ok, headings) == []
    assert pages_ending_on_a_heading(alone, headings) == [(1, "Methods")]
    assert pages_ending_on_a_heading(wrapped, headings) == [(1, "Difference-in-differences, Leeds")]


def test_the_accessibility_check_finds_missing_alt_text_and_header_cells():
    page = (
        '<img src="a.svg"><img alt="" src="b.svg"><img alt="A chart" src="c.svg">'
        '<table data-title="bad"><tr><td>1</td></tr></table>'
        '<table data-title="good"><thead><tr><th>a</th></tr></thead><tr><td>1</td></tr></table>'
    )
    assert accessibility_problems(page) == [
        "image 1 has no alt text",
        "image 2 has no alt text",
        "table 'bad' has no header cells",
    ]


@pytest.mark.parametrize("name", list(EXAMPLE_SPECS))
def test_example_report_passes_the_accessibility_check(pages, name):
    if name not in pages:
        pytest.skip(f"the DfE files are not at {RAW}")
    parsed = parse(pages[name])
    assert parsed.images and parsed.tables
    assert accessibility_problems(pages[name]) == []
    # the alt text says more than the title: what kind of chart and what it shows
    assert all(len(img["alt"]) > 40 for img in parsed.images)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_example_reports_screenshot_in_headless_chromium(pages, tmp_path):
    if len(pages) < len(EXAMPLE_SPECS):
        pytest.skip(f"the DfE files are not at {RAW}")
    from matplotlib import image

    for name, page in pages.items():
        source = tmp_path / f"{name}.html"
        source.write_text(page, encoding="utf-8")
        shot = tmp_path / f"{name}.png"
        run = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={tmp_path / 'profile'}",
                "--window-size=1200,1800",
                f"--screenshot={shot}",
                source.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert shot.read_bytes()[:8] == PNG
        pixels = image.imread(shot)
        assert pixels.shape[:2] == (1800, 1200)
        # a page of text, tables and charts has many colours; a blank or error page a few
        colours = {tuple(p) for p in pixels[::9, ::9].reshape(-1, pixels.shape[-1]).tolist()}
        assert len(colours) > 50, name


def _figures(page: str) -> list[bytes]:
    return [
        base64.b64decode(m.group(1))
        for m in re.finditer(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    ]


def _csv(href: str) -> pd.DataFrame:
    import io

    text = base64.b64decode(href.split("base64,", 1)[1]).decode("utf-8")
    return pd.read_csv(io.StringIO(text))


@pytest.mark.parametrize("name", list(EXAMPLE_SPECS))
def test_every_chart_offers_the_data_behind_it(pages, name):
    if name not in pages:
        pytest.skip(f"the DfE files are not at {RAW}")
    parsed = parse(pages[name])
    charts = [link for link in parsed.csv_links if "-figure-" in link[0]]
    assert len(charts) == len(_figures(pages[name])) >= 1
    for _, href in charts:
        frame = _csv(href)
        assert len(frame) > 0 and {"series", "element"} <= set(frame.columns)


def test_leeds_chart_data_are_the_dfe_rates(pages):
    """The first Leeds chart's CSV holds the DfE's published rates per 10,000, every year."""
    if "leeds" not in pages:
        pytest.skip(f"the DfE files are not at {RAW}")
    import sfpc_eval.data as sd

    link = next(h for n, h in parse(pages["leeds"]).csv_links if n == "analysis-1-figure-1.csv")
    frame = _csv(link)
    leeds = frame[frame["series"] == "Leeds"]
    x = next(c for c in frame.columns if c.startswith("x"))
    y = next(c for c in frame.columns if c.startswith("y"))
    rate = dict(zip(leeds[x], leeds[y], strict=True))
    # 974 children on plans in 2011 over 152,239 children aged 0-17 (the report's own table);
    # the DfE publishes the rate to one decimal, hence 0.05
    assert rate[2011] == pytest.approx(974 / 152_239 * 1e4, abs=0.05)
    # every year is the published rate the panel reads (the CSV keeps 10 significant figures)
    panel = sd.la_panel(RAW, measures=("cpp",), years=range(2010, 2026)).data
    published = panel[panel["la_name"] == "Leeds"].set_index("year")["cpp_rate"].dropna()
    assert sorted(rate) == sorted(published.index)
    for year, value in published.items():
        assert rate[year] == pytest.approx(value, rel=1e-9), year


@pytest.mark.parametrize("name", list(EXAMPLE_SPECS))
def test_chart_text_prints_at_7pt_or_more(pages, name):
    """Printed, a chart fills the A4 text width; its smallest text is then at least 7 pt.

    Report SVGs are in points and keep text as text, so a text's printed size is its size in
    the SVG times the text width over the chart's width.
    """
    if name not in pages:
        pytest.skip(f"the DfE files are not at {RAW}")
    assert "@page{size:A4;margin:16mm 15mm 18mm" in pages[name]
    assert "figure img{width:100%" in pages[name]
    for svg in _figures(pages[name]):
        text = svg.decode("utf-8")
        width = float(re.search(r'width="([\d.]+)pt"', text).group(1))
        sizes = [float(s) for s in re.findall(r"font(?:-size)?: ?([\d.]+)px", text)]
        assert sizes
        assert min(sizes) * CONTENT_WIDTH_PT / width >= 7.0, (name, width, min(sizes))


def test_chart_data_reads_back_what_was_drawn():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    ax.plot([2010, 2011, 2012], [1.0, np.nan, 3.0], marker="o", label="Leeds")
    ax.errorbar([1.0], [0.5], yerr=[[0.25], [0.5]], fmt="o", label="estimate")
    ax.bar([5.0], [2.0], width=0.5, label="bar")
    ax.axvspan(2020.2, 2020.5, label="lockdown")
    ax.axhline(0.0)
    ax.fill_between([1.0, 2.0], [0.0, 0.5], [1.0, 1.5], label="band")
    ax.set_ylabel("per 10,000 children")
    frame = chart_data(fig)
    y = "y (per 10,000 children)"
    y_end = "y_end (per 10,000 children)"
    line = frame[frame["series"] == "Leeds"]
    assert line[["x", y]].to_numpy().tolist() == [[2010, 1.0], [2012, 3.0]]  # NaN not drawn
    interval = frame[frame["element"] == "interval"].iloc[0]
    assert (interval["x"], interval[y], interval[y_end]) == (1.0, 0.25, 1.0)
    bar = frame[frame["element"] == "bar"].iloc[0]
    assert (bar["x"], bar["x_end"], bar[y], bar[y_end]) == (4.75, 5.25, 0.0, 2.0)
    shade = frame[frame["element"] == "shaded period"].iloc[0]
    assert (shade["series"], shade["x"], shade["x_end"]) == ("lockdown", 2020.2, 2020.5)
    assert frame[frame["element"] == "reference line"][y].tolist() == [0.0]
    band = frame[frame["element"] == "band"]
    assert band[["x", y, y_end]].to_numpy().tolist() == [[1.0, 0.0, 1.0], [2.0, 0.5, 1.5]]


def test_chart_data_names_categories_and_image_cells():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    ax.imshow(np.array([[0.0, 1.0], [0.0, 0.0]]))
    ax.set_yticks([0, 1], ["Walsall", "Swindon"])
    frame = chart_data(fig)
    cells = frame[frame["element"] == "cell"]
    on = cells[cells["value"] == 1.0].iloc[0]
    assert (on["x"], on["y"], on["y_category"]) == (1.0, 0.0, "Walsall")
    assert sorted(cells["y_category"]) == ["Swindon", "Swindon", "Walsall", "Walsall"]


def test_leeds_comparison_line_is_the_one_definition(pages):
    """The DiD section's comparison line is each neighbour's own rate (the DfE's published rate,
    the one the model uses) averaged with each council counting once, as every chart's
    comparison line is (sfpc_eval._trends), not summed children over summed population."""
    if "leeds" not in pages:
        pytest.skip(f"the DfE files are not at {RAW}")
    import sfpc_eval.data as sd

    link = next(h for n, h in parse(pages["leeds"]).csv_links if n == "analysis-2-figure-1.csv")
    frame = _csv(link)
    x = next(c for c in frame.columns if c.startswith("x"))
    y = next(c for c in frame.columns if c.startswith("y"))
    comparison = frame[frame["series"].str.startswith("comparison group")]
    line = dict(zip(comparison[x], comparison[y], strict=True))
    panel = sd.la_panel(RAW, measures=("cpp",), years=range(2010, 2026)).data
    neighbours = sd.read_statistical_neighbours(
        RAW / "dfe-csc-dashboard" / "New_Statistical_Neighbour_Groupings_April_2021.csv"
    ).query("la_name == 'Leeds'")["neighbour_name"]
    rows = panel[panel["la_name"].isin(set(neighbours))]
    expected = rows.groupby("year")["cpp_rate"].mean()
    pooled = rows.groupby("year")["cpp"].sum() / rows.groupby("year")["population_0_17"].sum()
    assert set(line) <= set(expected.index) and len(line) >= 10
    for year, value in line.items():
        assert value == pytest.approx(expected[year], rel=1e-9), year
    assert any(abs(line[t] - 1e4 * pooled[t]) > 0.1 for t in line)  # the two definitions differ
