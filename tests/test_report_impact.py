"""The report design ``impact``: numbers against closed forms, and spec errors naming the key.

Closed forms: with a normal effect and a fixed unit cost the chain is linear, so the report's
children a year is ``effect * population``, its interval ``(effect -+ z SE) * population``, and the
savings ``-effect * population * cost * (1 + 1/(1 + r))`` over two years; the report's text must
show those numbers.
"""

from __future__ import annotations

import copy

import pytest
from scipy import stats

from sfpc_eval.errors import SpecError
from sfpc_eval.report import build, check_disclosure

Z = stats.norm.ppf(0.975)
ANALYSIS = {
    "design": "impact",
    "effect": -0.086,
    "std_error": 0.0194,
    "scale": "risk_difference",
    "effect_source": "FGC trial",
    "population": 23_000,
    "population_label": "children entering pre-proceedings",
    "population_source": "test",
    "unit_cost": 60_000.0,
    "unit_cost_unit": "per child per year",
    "unit_cost_source": "test figure",
    "unit_cost_price_year": 2023,
    "horizon": 2,
    "discount_rate": 0.035,
    "n_draws": 20_000,
}


def spec(**changes) -> dict:
    analysis = copy.deepcopy(ANALYSIS)
    for key, value in changes.items():
        if value is None:
            analysis.pop(key, None)
        else:
            analysis[key] = value
    return {"report": {"title": "Impact", "date": "2026-01-15"}, "analysis": [analysis]}


def test_chain_matches_closed_form():
    section = build(spec()).sections[0]
    chain = {row[0]: row for row in section.tables[0].rows}
    n, est, se_ = 23_000, -0.086, 0.0194
    assert chain["change in children a year"][1] == f"{est * n:,.0f}"
    low, high = (est - Z * se_) * n, (est + Z * se_) * n
    assert chain["change in children a year"][2] == f"[{low:,.0f}, {high:,.0f}]"
    per_year = -est * n * 60_000
    assert chain["savings a year"][1] == f"£{per_year:,.0f}"
    total = per_year * (1 + 1 / 1.035)
    assert chain["savings over the horizon (discounted)"][1] == f"£{total:,.0f}"
    assert chain["number needed to treat"][1] == f"{1 / 0.086:.1f}"
    assumptions = section.tables[1].rows
    assert any("test figure" in row[2] and row[3] == "2023" for row in assumptions)
    assert [t.title for t in section.tables][2].startswith("Sensitivity")
    assert len(section.figures) == 2  # children, tornado


def test_children_only_without_a_unit_cost():
    section = build(
        spec(unit_cost=None, unit_cost_source=None, unit_cost_price_year=None)
    ).sections[0]
    assert len(section.tables) == 2 and len(section.figures) == 1
    assert "1,978 fewer children" in section.findings[0]


def test_effect_from_a_registry_claim():
    section = build(spec(effect=None, std_error=None, scale=None, effect_claim="fgc_rct_primary"))
    effect_row = section.sections[0].tables[1].rows[0]
    assert "taken as known" in effect_row[1]  # the trial's arm sizes were not published


def test_example_spec_builds_and_is_reproducible(tmp_path):
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "fgc_impact.toml"
    first = build(example)
    page = first.to_html(tmp_path / "a.html").read_bytes()
    again = build(example).to_html(tmp_path / "b.html").read_bytes()
    assert page == again and check_disclosure(first) == 0
    assert b"illustrative" in page


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"unit_cost_source": None}, "unit_cost_source"),
        ({"unit_cost_price_year": None}, "unit_cost_price_year"),
        ({"population": -5}, "population"),
        ({"scale": "odds_ratio"}, "scale"),
        ({"discount_rate": 1.2}, "discount_rate"),
        ({"horizon": 0}, "horizon"),
        ({"effect_claim": "fgc_rct_primary"}, "effect_claim"),
        ({"effect_claim": "no_such_claim", "effect": None}, "effect_claim"),
        ({"std_error": None}, "std_error"),
        ({"discount_rate_low": 0.01}, "discount_rate_low"),
        ({"unit_cost": None}, "unit_cost"),
    ],
)
def test_bad_specs_name_the_key(changes, key):
    with pytest.raises(SpecError) as info:
        build(spec(**changes))
    assert key in str(info.value)


def test_how_to_figure_is_current():
    """docs/_static/fgc_tornado.svg is what docs/make_impact_figure.py draws now."""
    import importlib.util
    from pathlib import Path

    docs = Path(__file__).resolve().parents[1] / "docs"
    spec_ = importlib.util.spec_from_file_location(
        "make_impact_figure", docs / "make_impact_figure.py"
    )
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    assert module.figure() == (docs / "_static" / "fgc_tornado.svg").read_bytes(), (
        "run python docs/make_impact_figure.py"
    )


def _csv(tmp_path, values):
    import pandas as pd

    rows = [
        (f"LA{i}", year, v if year == 2020 else 1.0)
        for i, v in enumerate(values)
        for year in (2019, 2020)
    ]
    path = tmp_path / "entered.csv"
    pd.DataFrame(rows, columns=["la_name", "year", "entered_care"]).to_csv(path, index=False)
    return path


def data_spec(path, **changes):
    out = spec(population=None, **changes)
    out["analysis"][0].update(population_column="entered_care", population_year=2020)
    out["data"] = {"path": str(path), "level": "published"}
    return out


def test_population_summed_from_the_data(tmp_path):
    path = _csv(tmp_path, [120.0, 80.0, 50.0])
    section = build(data_spec(path)).sections[0]
    chain = {row[0]: row for row in section.tables[0].rows}
    assert chain["change in children a year"][1] == f"{-0.086 * 250:,.0f}"
    population_row = section.tables[1].rows[1]
    assert "250" in population_row[1] and "entered_care in 2020 over 3 units" in population_row[2]
    some = build(data_spec(path, population_units=["LA0", "LA2"])).sections[0]
    assert "170" in some.tables[1].rows[1][1]


def test_population_with_missing_values_is_an_error_unless_skipped(tmp_path):
    path = _csv(tmp_path, [120.0, float("nan"), 50.0])
    with pytest.raises(SpecError, match="missing in 2020 for 'LA1'"):
        build(data_spec(path))
    section = build(data_spec(path, population_skip_missing=True)).sections[0]
    row = section.tables[1].rows[1]
    assert "170" in row[1] and "not counted (missing): 'LA1'" in row[2]


def test_population_needs_exactly_one_source(tmp_path):
    path = _csv(tmp_path, [1.0, 2.0])
    both = data_spec(path)
    both["analysis"][0]["population"] = 10.0
    with pytest.raises(SpecError, match="exactly one"):
        build(both)
    late = data_spec(path)
    late["analysis"][0]["population_year"] = 2031
    with pytest.raises(SpecError, match="population_year"):
        build(late)


RAW = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"


@pytest.mark.slow
@pytest.mark.skipif(not RAW.is_dir(), reason=f"the DfE files are not at {RAW}")
def test_population_from_the_dfe_folder_matches_the_published_file():
    import pandas as pd

    out = spec(population=None)
    out["analysis"][0].update(
        population_column="cla_started", population_year=2025, population_skip_missing=True
    )
    out["data"] = {"path": str(RAW), "measures": ["cla_started"], "years": [2024, 2025]}
    row = build(out).sections[0].tables[1].rows[1]
    raw = pd.read_csv(
        RAW / "dfe-csc-dashboard" / "cla_number_and_rate_per_10k_children.csv", dtype=str
    )
    published = raw[
        (raw["geographic_level"] == "Local authority")
        & (raw["time_period"] == "2025")
        & (raw["population_type"] == "Children starting to be looked after each year")
    ]
    total = pd.to_numeric(published["children_count"], errors="coerce").sum()
    assert f"{total:,.0f}" in row[1]  # 32,265 children started to be looked after
