"""The stepped-wedge report section: the simulated example, and trials that do not fit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sfpc_eval.errors import DesignError
from sfpc_eval.report import DESIGNS, build, check_disclosure

pytestmark = pytest.mark.skipif(
    "stepped_wedge" not in DESIGNS, reason="the stepped-wedge design is not available"
)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_simulated_example_builds_and_recovers_the_truth(tmp_path):
    report = build(EXAMPLES / "stepped_wedge_trial.toml")
    page = report.to_html(tmp_path / "sw.html").read_text()
    assert check_disclosure(report) == 1  # the counts table is child-level; nothing disclosive
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
    assert len(report.sections[0].tables) == 2  # effect and counts only
    base["analysis"][0]["compare_random_effects"] = ["intercept", "ar1"]
    with pytest.raises(SpecError, match=r"compare_random_effects` must be empty or list two"):
        build(base)
    base["analysis"][0] |= {"compare_random_effects": [], "model": "gee", "random_effects": "decay"}
    with pytest.raises(SpecError, match=r"random_effects` is for model = 'glmm'"):
        build(base)
