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
