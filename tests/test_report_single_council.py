"""The single_council report design: its tables are the library's own results on the same data
and donors (numbers compared unrounded against direct calls), findings quote the tables' text
and are never built from the before/after row, donors that ran similar programmes are left out
with their sources, and a spec that does not fit the data is refused before anything runs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import DesignError
from sfpc_eval.report import build
from sfpc_eval.single_unit import conformal_inference, placebo_in_time

COUNCILS = ["Leeds", "Sheffield", "Bolton", "Bury", "Wirral", "Derby", "Kirklees", "Wigan"]
START = 2015


def panel_csv(path: Path) -> Path:
    """Leeds and 7 councils, 2000-2019: a factor model, Leeds a mix of three donors, 6 lower
    from 2015 (Sheffield, Derby and Wigan are on the packaged exclusion list)."""
    rng = np.random.default_rng(2015)
    years = np.arange(2000, 2020)
    factor = rng.normal(0, 1, (len(years), 2)).cumsum(axis=0)
    loadings = rng.uniform(0.5, 2, (len(COUNCILS), 2))
    rates = 40 + 5 * np.arange(len(COUNCILS)) + factor @ loadings.T
    rates[:, 0] = rates[:, [2, 3, 4]] @ [0.5, 0.3, 0.2] - 6 * (years >= START)
    rates = rates + rng.normal(0, 0.3, rates.shape)
    rows = [(c, int(y), rates[t, j]) for j, c in enumerate(COUNCILS) for t, y in enumerate(years)]
    pd.DataFrame(rows, columns=["la_name", "year", "rate"]).to_csv(path, index=False)
    return path


def spec(csv: Path, **analysis) -> dict:
    return {
        "report": {"title": "One council", "date": "2026-01-15", "authors": ["A. Tester"]},
        "data": {"path": str(csv), "level": "published"},
        "analysis": [
            {
                "design": "single_council",
                "unit": "Leeds",
                "outcome": "rate",
                "start": START,
                "replications": 20,
                "seed": 7,
                **analysis,
            }
        ],
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    csv = panel_csv(tmp_path_factory.mktemp("sc") / "panel.csv")
    report = build(spec(csv, placebo_starts=[2011]))
    return pd.read_csv(csv), report.sections[0], report


def _direct(frame: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", se.SfpcEvalWarning)
        return se.single_council_summary(
            frame,
            outcome="rate",
            unit="la_name",
            time="year",
            treated_unit="Leeds",
            start=START,
            donors=sorted(c for c in COUNCILS if c != "Leeds"),  # the report's order
            replications=20,
            rng=7,
        )


def test_side_by_side_table_is_the_summarys_own(built):
    """The first table is single_council_summary's side-by-side table on the same data,
    donors and seed: every estimate and interval equal (1e-11 relative: the engine rounds to
    12 decimals)."""
    frame, section, _ = built
    direct = _direct(frame)
    engine = section.tables[0].engine
    ours = direct.summary(facts=("inference", "pre_rmspe"))
    assert engine.columns == ours.columns
    for key in ("average_effect", "average_effect:ci", "fact:pre_rmspe"):
        got = [c.value for c in engine.cells[engine.row(key)][1:]]
        want = [c.value for c in ours.cells[ours.row(key)][1:]]
        for g, w in zip(got, want, strict=True):
            assert g == pytest.approx(w, rel=1e-11, nan_ok=True)
    # 4 councils in the pool (Sheffield, Derby and Wigan left out)
    assert len(direct.results["synthetic_control"].weights) == 4
    sdid = direct.term("synthetic_did")
    assert sdid.conf_low < -6 + 1 and sdid.conf_high > -6 - 1  # the planted -6, roughly


def test_findings_quote_the_table_and_skip_the_before_after_row(built):
    _, section, _ = built
    engine = section.tables[0].engine
    text = engine.text_rows()
    row = engine.row("average_effect")
    column = list(engine.columns).index(se.label("synthetic_did"))
    first = section.findings[0]
    assert f"average change of {text[row][column]} " in first
    assert f"(95% CI {text[row + 1][column]})" in first
    before_after = text[row][1].replace(" \u2020", "")
    assert all(before_after not in f for f in section.findings)


def test_conformal_and_placebo_tables_are_the_direct_calls(built):
    """15 pre-periods: 95% per-period intervals need 19, so the design falls back to 90% (9);
    the intervals equal conformal_inference on the same donors. The placebo start 2011 gives
    placebo_in_time's estimate."""
    frame, section, _ = built
    pool = ["Bolton", "Bury", "Kirklees", "Wirral"]
    design = dict(outcome="rate", unit="la_name", time="year", treated_unit="Leeds", start=START)
    direct = conformal_inference(
        frame, **design, donors=pool, exclude_donors=None, conf_level=0.9, average=False
    )
    table = section.tables[1].engine
    assert "90% CI" in table.as_text()
    for period, low, high in direct.periods[["time", "conf_low", "conf_high"]].itertuples(
        index=False
    ):
        cell = table.cells[table.row(f"effect@{period}")]
        assert next(c for c in cell if isinstance(c.value, tuple)).value == pytest.approx(
            (low, high), rel=1e-11
        )
    placebo = placebo_in_time(
        frame, **design, donors=pool, exclude_donors=None, placebo_start=[2011]
    )
    table = section.tables[2].engine
    value = table.cells[table.row("placebo@2011")][1].value
    assert value == pytest.approx(placebo.term("placebo@2011").estimate, rel=1e-11)
    assert "2011" in section.findings[-1]


def test_excluded_donors_are_listed_with_their_sources(built):
    _, section, report = built
    table = section.tables[-1]
    assert table.title == "Councils left out of the donor pool"
    listed = {row[0]: row for row in table.rows}
    assert set(listed) == {"Sheffield", "Derby", "Wigan"}
    packaged = se.excluded_donors()
    for source in packaged.loc[packaged["la_name"] == "Sheffield", "source"]:  # two programmes
        assert source in listed["Sheffield"][3]
    assert "Donor pool: 4 councils (Bolton, Bury, Kirklees, Wirral)" in " ".join(section.methods)
    page = report.html()
    assert "Councils left out of the donor pool" in page
    assert page.count("<figure><img") == 2  # the synthetic control; the conformal intervals


def test_keeping_programme_councils(tmp_path):
    csv = panel_csv(tmp_path / "p.csv")
    section = build(spec(csv, exclude_programme_councils=False)).sections[0]
    assert "Donor pool: 7 councils" in " ".join(section.methods)
    assert all(t.title != "Councils left out of the donor pool" for t in section.tables)


def test_too_short_a_pre_period_is_refused_before_running(tmp_path):
    csv = panel_csv(tmp_path / "p.csv")
    with pytest.raises(DesignError, match="2 period\\(s\\) before 2002"):
        build(spec(csv, start=2002))
    with pytest.raises(DesignError, match="at least 3 before"):
        build(spec(csv, years=[2013, 2019]))
