"""``check_folder`` on the shared folder: what it finds. (Its speed is measured by
``benchmarks/data_check.py``, not asserted here.)"""

from __future__ import annotations

from pathlib import Path

import pytest

import sfpc_eval.data as sd

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
pytestmark = pytest.mark.skipif(
    not RAW.is_dir(), reason=f"the real DfE files are not at {RAW} (clone shared/ beside the repo)"
)


def test_check_shared_folder():
    report = sd.check_folder(RAW)
    assert report.ok
    assert len(report.recognised) == 28
    assert report.years == (2006, 2025)
    assert report.las == 160  # 152 today's + predecessors (Dorset, Poole, ... Cheshire)
    assert report.suppressed > 0
    formats = {f.format for f in report.files}
    assert {"ees", "sfr_cin", "sfr_cla", "sfr_workbook", "lait", "ofsted"} <= formats
    assert {"statistical_neighbours", "la_code_list", "documentation"} <= formats


def test_check_text_rendering():
    report = sd.check_folder(RAW)
    text = str(report)
    for words in (
        "DfE data folder check",
        "local authorities  160",
        "years              2006-2025",
        "suppressed",
        "osr26-2011ud.csv",
        "OK: every recognised file was read.",
    ):
        assert words in text
    assert "ipse-webb/tidied_data/merged_data.csv" in text  # listed as not recognised
    frame = report.to_frame()
    assert list(frame.columns)[:3] == ["path", "format", "ok"]
    assert report.summary().as_markdown().startswith("**DfE data folder check**")
