"""Standing checks run with the tests: ruff is clean and the docs build with warnings as errors."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the project with the [test,docs] extras")
    return found


def test_ruff_is_clean():
    run = subprocess.run(
        [_tool("ruff"), "check", "src", "tests", "benchmarks", "docs", "examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    run = subprocess.run(
        [_tool("sphinx-build"), "-W", "--keep-going", "-q", "-b", "html", "docs", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # every how-to page shows the figures its examples drew (docs/_ext/page_figures.py), with
    # alt text; the notebooks render with their saved charts
    from test_docs_figures import how_to_pages

    for page in how_to_pages():
        html = (tmp_path / f"{page}.html").read_text()
        figures = re.findall(r'<img alt="([^"]+)" class="page-figure" src="([^"]+)"', html)
        assert figures, page
        assert all((tmp_path / src).is_file() and len(alt) > 20 for alt, src in figures), page
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        html = (tmp_path / "notebooks" / f"{notebook.stem}.html").read_text()
        assert re.search(r'<img [^>]*src="\.\./_images/[0-9a-f]+\.png"', html), notebook.name
