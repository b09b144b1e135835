"""The staggered-adoption report section against a closed form, and inputs that do not fit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sfpc_eval.errors import DesignError
from sfpc_eval.report import DESIGNS, build

pytestmark = pytest.mark.skipif(
    "staggered" not in DESIGNS, reason="the staggered design is not available"
)
COHORTS = {"LA0": 2014, "LA1": 2014, "LA2": 2016, "LA3": 2016}


def panel(path: Path) -> Path:
    """Noise-free: unit + year effects and -2 in every period from adoption (closed form: every
    post-adoption event-time coefficient is exactly -2, every lead exactly 0)."""
    rows = []
    for u in range(9):
        name = f"LA{u}"
        for y in range(2010, 2020):
            on = name in COHORTS and y >= COHORTS[name]
            rows.append((name, y, 40 + 3 * u + 0.2 * (y - 2010) ** 2 - (2.0 if on else 0.0)))
    pd.DataFrame(rows, columns=["la_name", "year", "rate"]).to_csv(path, index=False)
    return path


def spec(csv: Path, **extra) -> dict:
    analysis = {"design": "staggered", "cohorts": COHORTS, "outcome": "rate", "window": [-3, 3]}
    analysis.update(extra)
    return {
        "report": {"title": "Staggered", "date": "2026-01-15"},
        "data": {"path": str(csv), "level": "published"},
        "analysis": [analysis],
    }


ES = "Event study (two-way fixed effects)"
CS = "Callaway & Sant'Anna"


def estimates(table, group: str) -> dict[str, object]:
    """Row key -> the estimate of ``group`` (a number, or the text where there is none)."""
    j = table.group_of_columns().index(group)
    frame = table.to_frame()
    return {key: frame.iloc[i, j] for i, key in enumerate(table.row_keys)}


def test_event_study_matches_the_closed_form(tmp_path):
    report = build(spec(panel(tmp_path / "p.csv")))
    table = report.sections[0].tables[0].engine
    rows = estimates(table, ES)
    assert set(rows) == {f"e={e}" for e in range(-3, 4)} | {"overall"}
    assert rows["e=-1"] == "reference" and rows["overall"] == ""
    for key, value in rows.items():
        if key in ("e=-1", "overall"):
            continue
        # the closed form: every lead exactly 0, every event time from adoption exactly -2
        expected = 0.0 if key.startswith("e=-") else -2.0
        assert value == pytest.approx(expected, abs=1e-9), key
    assert table.cells[table.row("e=-3")][1].mark == "\u2021"  # the binned end point
    assert table.cells[table.row("e=3")][1].mark == "\u2021"
    page = report.html()
    # the pre-period check is stated in words (noise-free parallel trends: it passes)
    assert "Staggered adoption: effect on rate per 10,000" in page
    assert "The pre-period check passed" in page


def test_adoption_outside_the_years_and_unknown_units(tmp_path):
    csv = panel(tmp_path / "p.csv")
    with pytest.raises(DesignError, match=r"adoption year\(s\) \{'LA0': 2030\}"):
        build(spec(csv, cohorts={"LA0": 2030}))
    with pytest.raises(DesignError, match=r"'LA 1' is not in the data.*Did you mean 'LA1'\?"):
        build(spec(csv, cohorts={"LA 1": 2015}))


def _cs_direct(csv: Path, **kwargs):
    """The Callaway & Sant'Anna dynamic aggregation called directly on the same panel."""
    from sfpc_eval import callaway_santanna

    data = pd.read_csv(csv)
    data["g"] = data["la_name"].map(COHORTS).astype(float)
    window = kwargs.pop("window", None)
    bounds = {"min_e": window[0], "max_e": window[1]} if window else {}
    return callaway_santanna(data, "rate", "la_name", "year", "g", **kwargs).aggregate(
        "dynamic", **bounds
    )


def _noisy(path: Path) -> Path:
    """The closed-form panel plus deterministic noise, so standard errors are not 0."""
    frame = pd.read_csv(panel(path))
    frame["rate"] += [((7 * i) % 11 - 5) / 10 for i in range(len(frame))]
    frame.to_csv(path, index=False)
    return path


def test_callaway_santanna_rows_equal_the_direct_call(tmp_path):
    csv = _noisy(tmp_path / "p.csv")
    report = build(spec(csv))
    section = report.sections[0]
    assert [t.title for t in section.tables] == [
        "Staggered adoption: effect on rate per 10,000 by years since adoption"
    ]
    table = section.tables[0].engine
    shown = estimates(table, CS)
    direct = _cs_direct(csv, window=[-3, 3])
    keys = [t.term.replace("ATT(", "").rstrip(")") for t in direct.terms]
    assert list(shown) == keys and keys[-1] == "overall"
    j = table.group_of_columns().index(CS)
    for term, key in zip(direct.terms, keys, strict=True):
        i = table.row(key)
        assert shown[key] == pytest.approx(term.estimate, rel=1e-12), key
        assert table.cells[i][j + 1].value == pytest.approx((term.conf_low, term.conf_high))
    overall = table.text_rows()[table.row("overall")][j]
    assert "Callaway & Sant'Anna: average effect over event times 0 to 3 " in " ".join(
        section.findings
    )
    assert overall in " ".join(section.findings)
    page = report.html()
    assert "Callaway &amp; Sant" in page and "the mean over event times from 0" in page
    assert page.count('src="data:image/svg+xml;base64,') == 2


def test_callaway_santanna_settings_reach_the_estimator_and_the_methods(tmp_path):
    csv = _noisy(tmp_path / "p.csv")
    settings = {
        "control_group": "not_yet",
        "estimation": "reg",
        "base_period": "universal",
        "anticipation": 1,
    }
    report = build(spec(csv, estimators=["callaway_santanna"], **settings))
    section = report.sections[0]
    assert len(section.tables) == 1 and len(section.figures) == 1
    direct = _cs_direct(
        csv,
        control="not_yet",
        estimation="reg",
        base_period="universal",
        anticipation=1,
        window=[-3, 3],
    )
    rows = estimates(section.tables[0].engine, CS)
    assert rows["overall"] == pytest.approx(direct.overall, rel=1e-12)
    for e, value in zip(direct.index, direct.estimates, strict=True):
        if value != 0:  # the universal base period's cell is 0 by construction
            assert rows[f"e={e:g}"] == pytest.approx(value, rel=1e-12)
    methods = " ".join(section.methods)
    assert "(outcome regression) with never or not yet treated units" in methods
    assert "base period 'universal'" in methods and "1 anticipation period;" in methods
    assert "Event study" not in methods and "LA0 2014" in methods
    # the noise-free panel: every post-adoption effect is exactly -2 (closed form)
    clean = build(spec(panel(tmp_path / "c.csv"), estimators=["callaway_santanna"]))
    rows = estimates(clean.sections[0].tables[0].engine, CS)
    for e in range(4):
        assert rows[f"e={e}"] == pytest.approx(-2.0, abs=1e-9)
    assert rows["overall"] == pytest.approx(-2.0, abs=1e-9)


def test_bad_estimator_keys_and_values(tmp_path):
    from sfpc_eval.errors import SpecError

    csv = panel(tmp_path / "p.csv")
    with pytest.raises(
        SpecError, match=r"unknown key `analysis\[0\]\.estimator`\..*Did you mean 'estimators'\?"
    ):
        build(spec(csv, estimator=["callaway_santanna"]))
    with pytest.raises(SpecError, match=r"Did you mean 'control_group'\?"):
        build(spec(csv, control_grop="never"))
    with pytest.raises(SpecError, match=r"`analysis\[0\]\.estimators` has 'callaway'; use one of"):
        build(spec(csv, estimators=["callaway"]))
    with pytest.raises(SpecError, match=r"`analysis\[0\]\.estimators` is empty"):
        build(spec(csv, estimators=[]))
    with pytest.raises(SpecError, match=r"`analysis\[0\]\.estimation` has 'drr'"):
        build(spec(csv, estimation="drr"))
    with pytest.raises(SpecError, match=r"`analysis\[0\]\.exclude` names adopting unit"):
        build(spec(csv, exclude=["LA0"]))


RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "staggered_report.toml"


def test_example_spec_builds_on_the_dfe_data():
    if not RAW.is_dir():
        pytest.skip(f"the DfE files are not at {RAW}")
    from sfpc_eval import callaway_santanna
    from sfpc_eval.errors import SingleUnitCohortWarning
    from sfpc_eval.report import check_disclosure
    from sfpc_eval.report.sources import load_dataset
    from sfpc_eval.report.spec import load_spec

    report = build(EXAMPLE, data=RAW)
    section = report.sections[0]
    page = report.html()
    assert check_disclosure(page) == 0
    assert "Callaway &amp; Sant" in page and "Staggered adoption: effect on children" in page
    assert "single unit: 2023" in page  # the estimator's warning, shown as a limitation
    # the same numbers from a direct call on the spec's data and choices
    analysis = load_spec(EXAMPLE, data=RAW).analyses[0]
    dataset = load_dataset(load_spec(EXAMPLE, data=RAW).data)
    frame = dataset.frame
    data = frame[~frame["la_name"].isin(analysis["exclude"])].copy()
    data["g"] = data["la_name"].map(analysis["cohorts"]).astype(float)
    assert (
        data["la_name"].nunique() == 143
        and data["g"].isna().groupby(data["la_name"]).all().sum() == 131
    )
    with pytest.warns(SingleUnitCohortWarning, match="Swindon"):  # the 2023 cohort
        result = callaway_santanna(data, "cla_rate", "la_name", "year", "g")
    direct = result.aggregate("dynamic", min_e=-5, max_e=3)
    table = section.tables[0].engine
    rows = estimates(table, CS)
    keys = [t.term.replace("ATT(", "").rstrip(")") for t in direct.terms]
    assert [k for k in rows if rows[k] != ""] == keys
    for term, key in zip(direct.terms, keys, strict=True):
        assert rows[key] == pytest.approx(term.estimate, rel=1e-12), key
    overall = table.text_rows()[table.row("overall")][table.group_of_columns().index(CS)]
    assert overall in " ".join(section.findings)
