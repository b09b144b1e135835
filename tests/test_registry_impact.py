"""Extrapolations in the registry: re-derived when their inputs are published, named when not.

Independent checks: the recomputed children and savings are compared with arithmetic on the
published inputs (0.448 - 0.362 = 0.086 of the population; times the unit cost and horizon);
the figure a missing input would need is compared with the claim's own numbers divided by hand.
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
from importlib import resources

import pytest

from sfpc_eval.cli import main
from sfpc_eval.errors import RegistryError
from sfpc_eval.evidence import (
    REPRODUCED,
    STATED_ONLY,
    WORDING_FAILS,
    audit,
    load_registry,
    parse_registry,
    reproduce,
)

DOCUMENT = tomllib.loads(
    resources.files("sfpc_eval.evidence").joinpath("claims.toml").read_text(encoding="utf-8")
)
RD = 0.448 - 0.362  # the FGC trial's published rates (claim fgc_rct_primary)
EXTRAPOLATIONS = [
    "fgc_rollout_children_avoid_care",
    "fgc_rollout_savings_communitycare",
    "fgc_rollout_savings_foundations",
]
SAVINGS_STATED_ONLY = [
    "leeds_care_saving_lga",
    "leeds_fgc_cba_saving",
    "herts_saving_childrens_services",
    "herts_saving_police",
    "herts_saving_nhs",
    "nwd_annual_saving",
]


def edited(claim_id: str, **impact) -> dict:
    doc = copy.deepcopy(DOCUMENT)
    for table in doc["claim"]:
        if table["id"] == claim_id:
            table["impact"].update(impact)
            table.pop("missing_inputs", None)
    return doc


@pytest.mark.parametrize("claim_id", EXTRAPOLATIONS)
def test_fgc_extrapolations_are_stated_only_and_name_the_missing_population(claim_id):
    claim = load_registry()[claim_id]
    assert claim.impact is not None and claim.impact.effect_claim == "fgc_rct_primary"
    assert any("pre-proceedings" in item for item in claim.missing_inputs)
    rep = reproduce(claim_id)
    assert rep.status == STATED_ONLY
    assert "pre-proceedings" in rep.explanation


def test_children_claim_says_what_population_it_needs():
    rep = reproduce("fgc_rollout_children_avoid_care")
    assert f"{2000 / RD:,.0f}" in rep.explanation  # 23,256 children a year


@pytest.mark.parametrize(
    ("claim_id", "per_child"),
    [
        ("fgc_rollout_savings_communitycare", 150e6 / 2000),  # a year
        ("fgc_rollout_savings_foundations", 150e6 / 2 / 2000),  # within two years
    ],
)
def test_savings_claims_say_what_unit_cost_they_imply(claim_id, per_child):
    rep = reproduce(claim_id)
    assert f"£{per_child:,.0f} per child" in rep.explanation
    assert any("unit cost" in item for item in load_registry()[claim_id].missing_inputs)


@pytest.mark.parametrize("claim_id", SAVINGS_STATED_ONLY)
def test_programme_savings_claims_name_their_missing_inputs(claim_id):
    claim = load_registry()[claim_id]
    assert claim.missing_inputs
    assert any("unit cost" in item for item in claim.missing_inputs)
    rep = reproduce(claim_id)
    assert rep.status == STATED_ONLY
    assert "Not published" in rep.explanation


def test_audit_and_cli_show_the_missing_inputs(capsys):
    table = audit().set_index("id")
    for claim_id in EXTRAPOLATIONS + SAVINGS_STATED_ONLY:
        assert table.loc[claim_id, "missing_inputs"]
    assert table.loc["leeds_cpp_2011_2017", "missing_inputs"] == ""
    assert main(["claims"]) == 0
    out = capsys.readouterr().out
    assert "fgc_rollout_children_avoid_care needs (not published)" in out
    assert main(["claims", "--format", "json"]) == 0
    records = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert "pre-proceedings" in records["fgc_rollout_savings_foundations"]["missing_inputs"]


@pytest.mark.parametrize(("population", "status"), [(25_000, REPRODUCED), (20_000, WORDING_FAILS)])
def test_children_claim_is_recomputed_when_the_population_is_published(population, status):
    registry = parse_registry(
        edited(
            "fgc_rollout_children_avoid_care",
            population=population,
            population_source="a published count",
        )
    )
    rep = reproduce("fgc_rollout_children_avoid_care", registry=registry)
    assert rep.value == pytest.approx(RD * population, rel=1e-12)
    assert rep.status == status  # "over 2,000": 2,150 holds, 1,720 does not


def test_savings_claim_is_recomputed_when_population_and_cost_are_published():
    registry = parse_registry(
        edited(
            "fgc_rollout_savings_foundations",
            population=25_000,
            unit_cost=40_000,
            unit_cost_source="a published unit cost",
            unit_cost_price_year=2022,
            discount_rate=0.035,
        )
    )
    rep = reproduce("fgc_rollout_savings_foundations", registry=registry)
    want = RD * 25_000 * 40_000 * (1 + 1 / 1.035)  # two years, the second discounted
    assert rep.value == pytest.approx(want, rel=1e-12)
    assert rep.status == REPRODUCED  # £170m is "over £150m"


GOOD_IMPACT = {
    "id": "x_children",
    "programme": "Demo",
    "place": "England",
    "measure": "x.children",
    "metric": "count",
    "period": "a year",
    "population": "children",
    "statement": "A demo.",
    "wording": "over 2,000",
    "rule": "more_than",
    "value": 2000,
    "grade": "SEEN",
    "missing_inputs": ["the population"],
    "impact": {"output": "children", "effect_claim": "fgc_rct_primary", "scale": "risk_difference"},
    "source": {"title": "T", "authors": "", "year": 2023, "url": "https://example.org"},
}


def with_claim(change) -> dict:
    doc = copy.deepcopy(DOCUMENT)
    claim = copy.deepcopy(GOOD_IMPACT)
    change(claim)
    doc["claim"].append(claim)
    return doc


def test_the_demo_impact_claim_parses():
    assert parse_registry(with_claim(lambda c: None))["x_children"].stated_only


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda c: c.pop("missing_inputs"), ["'x_children'", "missing_inputs"]),
        (lambda c: c.update(missing_inputs=[]), ["'x_children'", "non-empty"]),
        (lambda c: c["impact"].update(effect_claim="nope"), ["'nope'", "not in the registry"]),
        (lambda c: c["impact"].update(scale="odds_ratio"), ["'scale'", "risk_difference"]),
        (lambda c: c["impact"].update(output="money"), ["'output'", "children, savings"]),
        (lambda c: c.update(metric="amount"), ["'x_children'", "metric 'count'"]),
        (
            lambda c: c["impact"].update(effect_claim="fgc_rct_days_in_care"),
            ["proportions", "fgc_rct_days_in_care"],
        ),
        (
            lambda c: c.update(
                metric="amount",
                impact={**c["impact"], "output": "savings", "unit_cost": 5.0},
            ),
            ["unit_cost_source", "never invents"],
        ),
        (lambda c: c["impact"].update(population=-3), ["'population'", "negative"]),
        (
            lambda c: c.update(inputs={"kind": "counts", "before": 1, "after": 2}),
            ["not both"],
        ),
    ],
)
def test_malformed_impact_claims_name_the_field(change, words):
    with pytest.raises(RegistryError) as info:
        parse_registry(with_claim(change))
    for word in words:
        assert word in str(info.value)


FDAC_ARITHMETIC = {
    # id: hand arithmetic on the published totals (Centre for Justice Innovation, 2016)
    "fdac_london_cost_2014_15": 46 * 12_170,
    "fdac_london_return_per_pound": 1_290_000 / 560_000,
    "fdac_london_net_saving_cji": 1_290_000 - 560_000,
    "fdac_london_saving_per_family": 729_000 / 46,
}


@pytest.mark.parametrize("claim_id", sorted(FDAC_ARITHMETIC))
def test_fdac_value_for_money_figures_are_re_derived(claim_id):
    rep = reproduce(claim_id)
    assert rep.value == pytest.approx(FDAC_ARITHMETIC[claim_id], rel=1e-12)
    assert rep.status == REPRODUCED
    assert math.isnan(rep.conf_low)  # published totals: no sampling uncertainty


def test_fdac_net_saving_reported_without_its_inputs_names_them():
    rep = reproduce("fdac_london_net_saving_communitycare")
    assert rep.status == STATED_ONLY and "unrounded" in rep.explanation


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        ({"operation": "power"}, ["'operation'", "product, ratio, difference, sum"]),
        ({"operation": "ratio", "second": 0}, ["non-zero"]),
        ({"first_is": None}, ["'first_is'", "missing"]),
    ],
)
def test_malformed_arithmetic_inputs(inputs, words):
    def change(claim):
        claim.pop("impact")
        claim.pop("missing_inputs")
        claim["metric"] = "amount"
        table = {
            "kind": "arithmetic",
            "operation": "product",
            "first": 2,
            "second": 3,
            "first_is": "a",
            "second_is": "b",
        }
        table.update(inputs)
        claim["inputs"] = {k: v for k, v in table.items() if v is not None}

    with pytest.raises(RegistryError) as info:
        parse_registry(with_claim(change))
    for word in words:
        assert word in str(info.value)
