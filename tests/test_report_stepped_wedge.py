"""The stepped-wedge report section: the simulated example, and trials that do not fit."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from sfpc_eval.errors import DesignError
from sfpc_eval.report import DESIGNS, build, check_disclosure
from test_report_disclosure_designs import drawn  # noqa: F401  (the fixture)

pytestmark = pytest.mark.skipif(
    "stepped_wedge" not in DESIGNS, reason="the stepped-wedge design is not available"
)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_simulated_example_builds_and_recovers_the_truth(tmp_path):
    report = build(EXAMPLES / "stepped_wedge_trial.toml")
    page = report.to_html(tmp_path / "sw.html").read_text()
    # the baseline and flow tables are child-level; nothing disclosive in them
    assert check_disclosure(report) == 2
    # simulated with a true odds ratio of 0.8 (seed 2020): the 95% interval contains it
    table = report.sections[0].tables[0].engine
    assert table.columns[1:3] == ("Odds ratio", "95% CI")
    low, high = table.cells[0][2].value
    assert low <= 0.8 <= high
    assert "the interval contains it" in page
    assert "Stepped-wedge design" in page and "lme4::glmer" in page
    assert page == build(EXAMPLES / "stepped_wedge_trial.toml").html()


def trial_csv(path: Path, clusters: list[str], switch: dict[str, int]) -> Path:
    rows = [
        (c, p, int(p >= switch[c]), (i + p) % 5 == 0)
        for c in clusters
        for p in range(4)
        for i in range(30)
    ]
    frame = pd.DataFrame(rows, columns=["council", "period", "on", "entered_care"])
    frame["entered_care"] = frame["entered_care"].astype(int)
    frame.to_csv(path, index=False)
    return path


def spec(csv: Path) -> dict:
    return {
        "report": {"title": "Trial"},
        "data": {"path": str(csv), "level": "child", "unit": "council", "time": "period"},
        "analysis": [
            {
                "design": "stepped_wedge",
                "cluster": "council",
                "period": "period",
                "treated": "on",
                "outcome": "entered_care",
            }
        ],
    }


@pytest.fixture
def no_estimation(monkeypatch):
    from sfpc_eval.report.designs import stepped_wedge as module

    monkeypatch.setattr(module, "stepped_wedge", lambda *a, **k: pytest.fail("estimated"))


def test_one_cluster_is_refused_before_estimation(tmp_path, no_estimation):
    csv = trial_csv(tmp_path / "one.csv", ["Leeds"], {"Leeds": 2})
    with pytest.raises(
        DesignError,
        match=r"the data have 1 cluster\(s\) in 'council' \('Leeds' "
        r"\(1 value\)\); a stepped-wedge analysis needs at least 3",
    ):
        build(spec(csv))


def test_simultaneous_switch_and_never_switching_are_refused(tmp_path, no_estimation):
    same = trial_csv(tmp_path / "same.csv", ["A", "B", "C"], {"A": 2, "B": 2, "C": 2})
    with pytest.raises(DesignError, match=r"every cluster switches in the same period \(2\)"):
        build(spec(same))
    never = trial_csv(tmp_path / "never.csv", ["A", "B", "C"], {"A": 1, "B": 2, "C": 9})
    with pytest.raises(DesignError, match=r"cluster\(s\) 'C' \(1 value\) never switch"):
        build(spec(never))


def test_a_trial_needs_data_unless_simulated():
    from sfpc_eval.errors import SpecError

    bare = {"report": {"title": "t"}, "analysis": [{"design": "stepped_wedge"}]}
    with pytest.raises(SpecError, match=r"stepped_wedge need a \[data\] table"):
        build(bare)


def test_sensitivity_table_compares_random_effects(tmp_path):
    """The report's comparison table lists the structures with their fits; a simulated trial
    with a random intercept only gives singular nested and decay fits, flagged as such."""
    report = build(EXAMPLES / "stepped_wedge_trial.toml")
    table = report.sections[0].tables[1]
    assert table.title == "Sensitivity of the effect to the random-effects structure"
    assert table.provenance == "estimate"
    assert [r[0].split(" (")[0] for r in table.rows] == [
        "random intercept",
        "nested exchangeable",
        "exponential decay",
    ]
    effect = report.sections[0].tables[0].engine.rows[0][1].value
    # the headline odds ratio is the first row's (shown to 3 decimals there)
    assert float(table.rows[0][4]) == pytest.approx(effect, abs=5e-4)
    assert "(singular)" in table.rows[1][0]
    assert any("Kasza" in m for m in report.sections[0].methods)


def test_sensitivity_table_options(tmp_path):
    from sfpc_eval.errors import SpecError

    base = {
        "report": {"title": "t"},
        "analysis": [
            {
                "design": "stepped_wedge",
                "simulate": "no_wrong_door",
                "seed": 2,
                "compare_random_effects": [],
            }
        ],
    }
    report = build(base)
    # effect, baseline and flow tables only
    assert [t.provenance for t in report.sections[0].tables] == ["estimate", "child", "child"]
    base["analysis"][0]["compare_random_effects"] = ["intercept", "ar1"]
    with pytest.raises(SpecError, match=r"compare_random_effects` must be empty or list two"):
        build(base)
    base["analysis"][0] |= {"compare_random_effects": [], "model": "gee", "random_effects": "decay"}
    with pytest.raises(SpecError, match=r"random_effects` is for model = 'glmm'"):
        build(base)


def test_consort_tables_and_love_plot_in_the_example():
    """The simulated example shows the baseline table by condition (counts rounded to 5,
    percentages of the rounded counts, SMDs equal to balance.baseline_table's), the council by
    period flow table (children and events equal to a groupby of the simulated rows, rounded)
    and the love plot."""
    from sfpc_eval.trials.balance import rounded_count, rounded_share
    from sfpc_eval.trials.simulate import simulate_trial

    report = build(EXAMPLES / "stepped_wedge_trial.toml")
    section = report.sections[0]
    baseline, flow = section.tables[-2], section.tables[-1]
    assert baseline.title == "Characteristics of the children referred, by condition"
    assert flow.title.startswith("Children referred and children looked after")
    trial = simulate_trial("family_safeguarding", rng=2020, odds_ratio=0.8)
    groups = trial.groupby(["cluster", "period"])["looked_after"].agg(["size", "sum"])
    rows = {(r[0], r[1]): r for r in flow.rows}
    assert len(rows) == len(groups)
    for (council, period), (n, e) in groups.iterrows():
        row = rows[(council, str(period))]
        assert row[3:] == (rounded_count(n, 10), rounded_count(e, 10), rounded_share(e, n, 10))
    sex = {r[1]: r for r in baseline.rows if r[0] == "sex"}
    control = trial[trial["treated"] == 0]
    n_female = int((control["sex"] == "female").sum())
    assert sex["female"][2] == rounded_count(n_female, 10)
    assert sex["female"][3] == rounded_share(n_female, len(control), 10)
    assert "Missing" in sex
    titles = [f.title for f in section.figures]
    assert "Balance between conditions (love plot)" in titles
    assert any("Hemming" in m for m in section.methods)


def _trial_with_small_counts(path: Path, rare: int, events: int) -> Path:
    """4 councils x 5 periods x 400 children; a characteristic level held by ``rare`` children
    (all under the programme) and one council-period with ``events`` events; every other count
    at least 150 (the threshold is 100)."""
    rows = []
    switch = {"A": 1, "B": 2, "C": 3, "D": 4}
    for c, start in switch.items():
        for p in range(5):
            k = events if (c, p) == ("C", 4) else 150 + 10 * p + 20 * "ABCD".index(c)
            for i in range(400):
                rows.append((c, p, int(p >= start), int(i < k), "x" if i % 2 else "y"))
    frame = pd.DataFrame(rows, columns=["council", "period", "on", "entered_care", "group"])
    hit = frame.index[(frame["council"] == "A") & (frame["period"] == 4)][:rare]
    frame.loc[hit, "group"] = "rare"
    frame.to_csv(path, index=False)
    return path


def test_no_small_count_reaches_html_figures_or_downloads(tmp_path, drawn):  # noqa: F811
    """Planted small counts (a characteristic level held by 37 or 41 children, a council-period
    with 58 or 62 events; threshold 100) show nowhere a reader can look -- HTML text, SVG
    text, the embedded CSV and Excel downloads, the values drawn -- not as the count, not as
    the exact percentage it would give, not as the SMD computed from it; each must appear in
    both runs to count as a leak (one run can match by coincidence)."""
    import math

    from sfpc_eval.report import find_disclosive_cells
    from test_report_disclosure_designs import _svg_text, _token_pattern, _Visible

    leaks = []
    for rare, events in ((37, 58), (41, 62)):
        folder = tmp_path / f"run{len(leaks)}"  # the file name is shown in the report
        folder.mkdir()
        csv = _trial_with_small_counts(folder / "trial.csv", rare, events)
        drawn.clear()
        analysis = {**spec(csv)["analysis"][0], "model": "glm", "characteristics": ["group"]}
        report = build({**spec(csv), "disclosure": {"threshold": 100}, "analysis": [analysis]})
        page = report.html()
        assert find_disclosive_cells(page, threshold=100) == []
        visible = _Visible()
        visible.feed(page)
        places = {
            "HTML": "\n".join(visible.text),
            "SVG": "\n".join(t for svg in visible.svgs for t in _svg_text(svg)),
            "downloads": "\n".join(visible.files),
        }
        assert "rare" in places["HTML"] and "[c]" in places["HTML"]
        treated = 4 * 400 + 3 * 400 + 2 * 400 + 400  # children under the programme
        p = rare / treated
        smd = math.sqrt(2 * p / (1 - p))  # no "rare" child under control
        secrets = {
            "count": (_token_pattern(rare), rare),
            "events": (_token_pattern(events), events),
            "share": (re.compile(re.escape(f"{100 * p:.1f}%")), None),
            "event share": (re.compile(re.escape(f"{100 * events / 400:.1f}%")), None),
            "SMD": (re.compile(re.escape(f"{smd:.3f}")), smd),
        }
        found = set()
        for what, (pattern, value) in secrets.items():
            found |= {f"{what} in {where}" for where, t in places.items() if pattern.search(t)}
            if value is not None and any(abs(v - value) <= 1e-9 * value for v in drawn):
                found.add(f"{what} drawn")
        leaks.append(found)
    assert leaks[0] & leaks[1] == set()
