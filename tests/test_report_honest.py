"""Reports say whether the pre-period check passed, build no headline from an invalid row, mark
every invalid row, and choose their inference from the design (issue 15 acceptance)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.report import build
from sfpc_eval.results import INVALID_MARK

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
RAW = ROOT.parent / "shared" / "data" / "raw"


def panel_csv(path: Path, treated_units=1) -> Path:
    """LA x year rates with noise and a pre-existing fall in the treated LAs."""
    import numpy as np

    rng = np.random.default_rng(4)
    rows = []
    for u in range(10):
        for y in range(2010, 2020):
            is_treated = u < treated_units
            rate = 50 + 2 * u + 0.3 * (y - 2010) - (1.5 * (y - 2010) if is_treated else 0)
            rows.append((f"LA{u}", y, rate + rng.normal(0, 0.5)))
    pd.DataFrame(rows, columns=["la_name", "year", "rate"]).to_csv(path, index=False)
    return path


def spec(csv: Path, **analysis) -> dict:
    return {
        "report": {"title": "Honest", "date": "2026-01-15", "authors": ["A. Tester"]},
        "data": {"path": str(csv), "level": "published"},
        "analysis": [
            {"design": "did", "treated": ["LA0"], "start": 2015, "outcomes": ["rate"]} | analysis
        ],
    }


def test_one_treated_council_headline_from_the_valid_row_and_pre_period_in_words(tmp_path):
    report = build(spec(panel_csv(tmp_path / "p.csv"), inference=["CR2", "randomization"]))
    section = report.sections[0]
    headline, pre = section.findings[0], section.findings[1]
    # CR2 is first in the spec but not valid with one treated council: the headline is the
    # randomization row's, read from the table
    assert "(linear model, randomization inference)" in headline
    assert "Cluster-robust" not in headline and "CR2" not in headline
    assert pre.startswith("Pre-period check, rate: The pre-period check")
    table = section.tables[0].engine
    row = table.text_rows()[0]
    groups = [g for g, _ in table.column_groups]
    assert groups[1].startswith("Cluster-robust (CR2") and groups[2] == "Randomization inference"
    cr2_p, ri_p = row[3], row[6]
    assert cr2_p.endswith(INVALID_MARK) and not ri_p.endswith(INVALID_MARK)
    assert f"p = {ri_p}" in headline
    assert any(
        n.startswith(f"{INVALID_MARK} Rate, Cluster-robust") and "one treated cluster" in n
        for n in table.notes
    )
    titles = [t.engine.title for t in section.tables]
    assert "Pre-period check: rate" in titles
    assert any(f.title == "Pre-period check: rate" for f in section.figures)


def test_inference_chosen_from_the_design_with_the_reason(tmp_path):
    csv = panel_csv(tmp_path / "p.csv")
    one = build(spec(csv)).sections[0]
    assert "(linear model, randomization inference)" in one.findings[0]
    assert any(
        m.startswith("Inference chosen from the design (linear: randomization") for m in one.methods
    )
    few = build(spec(panel_csv(tmp_path / "q.csv", 3), treated=["LA0", "LA1", "LA2"])).sections[0]
    assert "wild" in few.findings[0].split("(")[1].lower()
    assert any("subcluster wild bootstrap" in m for m in few.methods)


def test_a_failed_check_is_in_the_findings_not_only_the_limitations(tmp_path):
    csv = panel_csv(tmp_path / "p.csv", 3)
    section = build(
        spec(csv, treated=["LA0", "LA1", "LA2"], inference=["CR2"], placebo_shift=2)
    ).sections[0]
    pre = next(f for f in section.findings if f.startswith("Pre-period check"))
    assert "The pre-period check failed" in pre
    assert any("pre-period check failed" in lim for lim in section.limitations)


def test_no_valid_inference_means_no_interval_in_the_finding(tmp_path):
    section = build(spec(panel_csv(tmp_path / "p.csv"), inference=["CR2"])).sections[0]
    assert "no inference requested is valid" in section.findings[0]
    assert "CI" not in section.findings[0]


def test_placebo_shift_outside_the_pre_period_is_a_spec_error(tmp_path):
    with pytest.raises(se.SpecError, match="outside the pre-period"):
        build(spec(panel_csv(tmp_path / "p.csv"), placebo_shift=5))


def _skip_without_raw():
    if not RAW.is_dir():
        pytest.skip(f"the DfE files are not at {RAW}")


@pytest.mark.slow
def test_leeds_example_report():
    _skip_without_raw()
    report = build(EXAMPLES / "leeds_report.toml", data=RAW)
    section = next(s for s in report.sections if s.title.startswith("Leeds against"))
    findings = " ".join(section.findings)
    # the pre-period result in words, with the leads of the issue (+15.0, +9.62, +7.92, +1.11)
    assert "Pre-period check, children looked after per 10,000: The pre-period check passed" in (
        findings
    )
    assert "+15.0, +9.62, +7.92, +1.11" in findings and "little power" in findings
    # headlines from valid rows only: randomization, never CR2 (not valid with one council)
    headlines = [f for f in section.findings if not f.startswith("Pre-period")]
    assert all("randomization" in f and "CR2" not in f for f in headlines)
    # every row of every estimate table is marked exactly when it is not valid
    data = _leeds_frame()
    for table in section.tables:
        for row in table.rows:
            if "CR2" in row[0] and "(leads)" not in row[0]:
                assert row[1].endswith(INVALID_MARK), row
            elif "randomization" in row[0]:
                assert not row[1].endswith(INVALID_MARK), row
    direct = _direct_cr2(data)
    assert not direct.estimate.valid  # what the dagger stands for


def _leeds_frame():
    import sfpc_eval.data as sd

    panel = sd.la_panel(RAW, measures=("cla",), years=range(2010, 2020)).data
    neighbours = sd.read_statistical_neighbours(
        RAW / "dfe-csc-dashboard" / "New_Statistical_Neighbour_Groupings_April_2021.csv"
    ).query("la_name == 'Leeds'")
    data = panel[panel["la_name"].isin(["Leeds", *neighbours["neighbour_name"]])].copy()
    data["treated"] = ((data["la_name"] == "Leeds") & (data["year"] >= 2015)).astype(int)
    return data


def _direct_cr2(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", se.FewTreatedClustersWarning)
        return se.did(data, outcome="cla_rate", unit="la_name", time="year", treated="treated")


@pytest.mark.slow
def test_staggered_example_report():
    _skip_without_raw()
    report = build(EXAMPLES / "staggered_report.toml", data=RAW)
    section = report.sections[0]
    pre = [f for f in section.findings if f.startswith("Pre-period check")]
    assert len(pre) == 2  # the event study and Callaway & Sant'Anna
    assert all("The pre-period check passed" in f or "failed" in f for f in pre)
    # no headline built from an invalid row; marks match the estimator's own validity
    from sfpc_eval.report.sources import load_dataset
    from sfpc_eval.report.spec import load_spec

    loaded = load_spec(EXAMPLES / "staggered_report.toml", data=RAW)
    analysis = loaded.analyses[0]
    frame = load_dataset(loaded.data).frame
    data = frame[~frame["la_name"].isin(analysis["exclude"])].copy()
    data["g"] = data["la_name"].map(analysis["cohorts"]).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", se.SingleUnitCohortWarning)
        cs = se.callaway_santanna(data, "cla_rate", "la_name", "year", "g")
    agg = cs.aggregate("dynamic", min_e=-5, max_e=3)
    table = section.tables[0].engine
    offset = 0
    for group, width in table.column_groups:
        if group == "Callaway & Sant'Anna":
            break
        offset += width
    text = table.text_rows()
    for e, term in zip(agg.index, agg.terms, strict=False):
        row = text[table.row(f"e={int(e)}")]
        p_cell = row[offset + 2]  # estimate, interval, p-value of the group
        assert p_cell.endswith(INVALID_MARK) == (not term.valid), (e, p_cell)
    overall = agg.term("overall")
    assert overall.valid and not math.isnan(overall.conf_low)
