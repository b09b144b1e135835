"""The committed Monte Carlo coverage of conformal intervals (validation/conformal_coverage.py).

The table comes from 500 simulated panels per synthetic control design (known effects; the
periods are exchangeable, so the CWZ test is exact up to its discreteness, and with 20 or 40
slots the nominal coverage is exactly 95%). The suite reads the committed CSV and runs the
script on one replication. Monte Carlo SE at 2,500 intervals is about 0.4 points. The
synthetic DiD proxy's design (``sdid_level``) is in the script but not in the committed table:
its Frank-Wolfe refits cost 35 s a panel on an idle core (hours for a meaningful count on the
shared machine); that proxy is checked on a known effect in test_single_unit_design.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

VALIDATION = Path(__file__).resolve().parents[1] / "validation"
spec = importlib.util.spec_from_file_location(
    "conformal_coverage", VALIDATION / "conformal_coverage.py"
)
conformal_coverage = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conformal_coverage)

TABLE = pd.read_csv(VALIDATION / "conformal_coverage.csv").set_index(["design", "kind"])


def test_the_synthetic_control_designs_have_500_panels():
    for design in ("sc", "sc_average"):
        assert TABLE.loc[(design, "per period"), "panels"] >= 500
    assert TABLE.loc[("sc", "per period"), "intervals"] >= 2500
    assert TABLE.loc[("sc_average", "average"), "panels"] >= 500


@pytest.mark.parametrize(
    "row", [("sc", "per period"), ("sc_average", "per period"), ("sc_average", "average")]
)
def test_95_percent_intervals_cover_93_to_97_percent(row):
    coverage = TABLE.loc[row, "coverage"]
    assert 0.93 <= coverage <= 0.97, (row, coverage)
    assert TABLE.loc[row, "unbounded"] == 0


def test_a_proxy_that_cannot_reach_the_council_keeps_its_level_but_widens():
    """With the council 10 above every donor (no convex combination reaches it) the synthetic
    control proxy's residuals carry the misfit in every period alike; under stationary factors
    they stay exchangeable, so the test keeps its level (93-97%), and the price is width: the
    median interval is at least 1.5 times that of the design the proxy can fit."""
    sc_level = TABLE.loc[("sc_level", "per period")]
    assert 0.93 <= sc_level["coverage"] <= 0.97
    assert sc_level["median_width"] >= 1.5 * TABLE.loc[("sc", "per period"), "median_width"]


def test_markdown_is_the_csv():
    md = (VALIDATION / "conformal_coverage.md").read_text()
    for (design, kind), row in TABLE.iterrows():
        line = f"| {design} | {kind} | {100 * row['coverage']:.1f}% | {int(row['intervals'])} |"
        assert line in md


def test_one_replication_runs():
    """The script still runs: five per-period intervals (and the average's) around the truth or
    not, every one finite, on the fast designs."""
    rows = conformal_coverage.intervals("sc", 0)
    assert [r["truth"] for r in rows] == [-3, -2, -1, 0, 1]
    assert all(np.isfinite([r["low"], r["high"]]).all() and r["low"] < r["high"] for r in rows)
    rows = conformal_coverage.intervals("sc_average", 0)
    assert [r["kind"] for r in rows] == ["per period", "per period", "average"]


def test_the_docs_quote_the_table():
    docs = (VALIDATION.parent / "docs" / "single_council.rst").read_text()
    text = " ".join(docs.split())
    for row, count in ((("sc", "per period"), "2,500"), (("sc_average", "per period"), "1,000")):
        assert f"{100 * TABLE.loc[row, 'coverage']:.1f}% of {count}" in text
    assert f"{100 * TABLE.loc[('sc_average', 'average'), 'coverage']:.1f}% of 500" in text
    widths = TABLE["median_width"]
    ratio = widths[("sc_level", "per period")] / widths[("sc", "per period")]
    assert f"keeps {100 * TABLE.loc[('sc_level', 'per period'), 'coverage']:.1f}%" in text
    assert f"{ratio:.1f} times as wide" in text
