"""The validation page lists every reference comparison and cannot go stale.

``docs/make_validation.py`` writes ``docs/validation_generated.rst`` (and the MDES table) from
``validation/comparisons.toml`` and the versions recorded in the fixtures. Checked here:
(a) the committed generated files equal what the script produces now; (b) every test named in
the list exists (its file, and a function of that name defined in it); (c) every fixture folder
under ``tests/fixtures/`` is used by at least one listed comparison, and every listed fixture
folder exists.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "_make_validation", ROOT / "docs" / "make_validation.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = _load_generator()
ROWS = MAKE.load_comparisons()


@cache
def _functions(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    )


@pytest.mark.parametrize("path", sorted(MAKE.render(), key=str), ids=lambda p: p.name)
def test_generated_page_is_current(path):
    expected = MAKE.render()[path]
    assert path.exists(), f"{path.name} is missing: run python docs/make_validation.py"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path.name} is stale: run python docs/make_validation.py and commit the result"
    )


def test_rendering_is_deterministic():
    assert MAKE.render() == MAKE.render()


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["test"])
def test_named_test_exists(row):
    node = row["test"]
    match = re.fullmatch(r"(tests/[\w/]+\.py)::(\w+)", node)
    assert match, f"{node!r} is not of the form tests/<file>.py::<function>"
    path = ROOT / match[1]
    assert path.is_file(), f"{node}: no file {match[1]}"
    assert match[2].startswith("test"), f"{node}: {match[2]} is not a test function"
    assert match[2] in _functions(path), f"{node}: {match[2]} is not defined in {match[1]}"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["test"])
def test_fixture_and_metadata_exist(row):
    fixture = row["fixture"]
    if fixture != MAKE.NO_FIXTURE:
        assert fixture.startswith("tests/fixtures/"), fixture
        assert (ROOT / fixture).is_dir(), f"{row['test']}: no folder {fixture}"
    for entry in MAKE._metadata_entries(row):
        assert (ROOT / entry["file"]).is_file(), entry["file"]
        assert entry.get("versions") or entry.get("seeds"), entry
        if fixture != MAKE.NO_FIXTURE:
            assert entry["file"].startswith(fixture.rstrip("/") + "/"), (
                f"{row['test']}: metadata {entry['file']} is outside its fixture {fixture}"
            )
    MAKE.provenance(row)  # every key is present in its file


def test_every_fixture_folder_is_listed():
    listed = {row["fixture"].rstrip("/") for row in ROWS if row["fixture"] != MAKE.NO_FIXTURE}
    folders = {
        f"tests/fixtures/{p.name}"
        for p in FIXTURES.iterdir()
        if p.is_dir() and not p.name.startswith((".", "_"))
    }
    assert folders, "no fixture folders found"
    assert not folders - listed, f"fixture folders no comparison uses: {sorted(folders - listed)}"


def test_every_fixture_with_a_versions_file_has_its_versions_shown():
    """A fixture that records versions must have at least one comparison showing them."""
    shown = {
        entry["file"].split("/")[2]
        for row in ROWS
        for entry in MAKE._metadata_entries(row)
        if entry.get("versions")
    }
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} <= shown
