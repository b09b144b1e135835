"""Docs show pictures: every how-to page draws a figure, notebooks are saved with their charts.

The docs build (tests/test_tooling.py) runs each how-to page's examples and puts the figures
they draw on the page (docs/_ext/page_figures.py) and checks the built pages; these checks read
the sources, so they run in a moment.
"""

from __future__ import annotations

import ast
import doctest
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOKS = ROOT / "notebooks"
NOT_HOW_TO = {"api", "architecture", "validation", "notebooks", "performance"}  # reference pages
DRAWS = re.compile(r"\.plot\(|\bplot_\w+\(")


def how_to_pages() -> tuple[str, ...]:
    """HOW_TO_PAGES as docs/conf.py lists them (read without running conf.py)."""
    tree = ast.parse((DOCS / "conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "HOW_TO_PAGES" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py has no HOW_TO_PAGES")


def toctree_pages() -> list[str]:
    text = (DOCS / "index.rst").read_text()
    body = text.split(".. toctree::", 1)[1]
    return [
        line.strip() for line in body.splitlines() if line.startswith("   ") and ":" not in line
    ]


def test_every_page_is_a_how_to_or_a_named_reference_page():
    pages = set(toctree_pages())
    assert pages == set(how_to_pages()) | NOT_HOW_TO


def test_every_how_to_page_has_an_example_that_draws():
    for page in how_to_pages():
        examples = doctest.DocTestParser().get_examples((DOCS / f"{page}.rst").read_text())
        drawing = [
            e.source
            for e in examples
            if DRAWS.search(e.source) and not e.options.get(doctest.SKIP) and e.exc_msg is None
        ]
        assert drawing, f"docs/{page}.rst: no example draws a figure"


def test_notebooks_are_saved_with_their_charts_and_no_errors():
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert len(paths) == 3
    for path in paths:
        outputs = [
            out
            for cell in json.loads(path.read_text())["cells"]
            if cell["cell_type"] == "code"
            for out in cell.get("outputs", [])
        ]
        assert any("image/png" in out.get("data", {}) for out in outputs), path.name
        assert any("text/html" in out.get("data", {}) for out in outputs), path.name
        assert not [out for out in outputs if out.get("output_type") == "error"], path.name


def test_readme_says_how_to_run_the_notebooks():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Notebooks", 1)[1].split("\n## ", 1)[0]
    assert "jupyter lab notebooks/" in section and "notebooks/run_all.py" in section
    for path in NOTEBOOKS.glob("*.ipynb"):
        assert path.stem in section
    assert (NOTEBOOKS / "run_all.py").is_file()
