"""docs/reports.rst holds the current spec reference (generated from the key declarations)."""

from __future__ import annotations

from pathlib import Path

from sfpc_eval.report import DESIGNS, spec_reference
from sfpc_eval.report.schema import TABLES

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reports.rst"
BEGIN, END = ".. BEGIN GENERATED SPEC REFERENCE\n\n", "\n.. END GENERATED SPEC REFERENCE"


def test_docs_reference_is_current():
    text = DOCS.read_text()
    between = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    assert between == spec_reference(), "regenerate the reference in docs/reports.rst"


def test_reference_lists_every_key():
    ref = spec_reference()
    keys = [k.name for keys in TABLES.values() for k in keys]
    keys += [k.name for module in DESIGNS.values() for k in module.KEYS]
    assert all(f"``{name}``" in ref for name in keys)
