"""Reports open in headless Chromium without console errors, and print to PDF pages.

Needs ``chromium`` (and ``pdftoppm`` from poppler-utils for the PDF test); .ci/run installs
both. Skipped where they are missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sfpc_eval.report import build

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed"),
]
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG = b"\x89PNG\r\n\x1a\n"


def open_in_chromium(page: Path, tmp_path: Path) -> tuple[str, str, Path]:
    """Load ``page``; return (DOM after scripts ran, console lines, screenshot path)."""
    shot = tmp_path / f"{page.stem}.png"
    common = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    run = subprocess.run(
        [*common, "--window-size=1200,2400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in (dom.stderr + run.stderr).splitlines() if "CONSOLE" in line.upper()]
    return dom.stdout, "\n".join(console), shot


def distinct_colours(png: Path) -> int:
    from matplotlib import image

    pixels = image.imread(png)
    return len({tuple(p) for p in pixels[::7, ::7].reshape(-1, pixels.shape[-1]).tolist()})


def test_console_errors_are_detected(tmp_path):
    """The check below can fail: a page that logs an error is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>console.error('planted failure')</script></body></html>")
    _, console, _ = open_in_chromium(page, tmp_path)
    assert "planted failure" in console


def test_report_opens_without_console_errors_and_looks_like_a_report(tmp_path):
    evil = "<img src=x onerror=\"console.error('injected')\">"
    report = build(
        {
            "report": {"title": f"Audit {evil}", "date": "2026-01-15", "summary": evil},
            "analysis": [{"design": "claims", "place": "Leeds"}],
        }
    )
    page = report.to_html(tmp_path / "report.html")
    dom, console, shot = open_in_chromium(page, tmp_path)
    assert console == ""  # neither a broken page nor the injected handler logged anything
    assert "Reproducibility appendix" in dom and "<img src=x" not in dom
    assert shot.read_bytes()[:8] == PNG
    # a rendered page of text, tables and a figure has many colours; a blank one has one
    assert distinct_colours(shot) > 50


def test_example_report_prints_to_pdf_pages(tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    report = build(EXAMPLES / "claims_audit.toml")
    pdf = report.to_pdf(tmp_path / "audit.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2  # the 26-claim table alone runs over a page
    assert all(p.read_bytes()[:8] == PNG for p in pages)
    assert distinct_colours(pages[0]) > 20
