"""Bad inputs to the impact layer: each a typed error whose message names the argument."""

from __future__ import annotations

import pytest

import sfpc_eval as se
from sfpc_eval.impact import (
    SCALES,
    Effect,
    Population,
    PriceIndex,
    UnitCost,
    as_effect,
    discount_factors,
    estimate_savings,
    impact_in_children,
    inflate,
)

EFFECT = Effect(-0.086, 0.019, "risk_difference")


def good_cost(**changes):
    values = {
        "name": "care",
        "amount": 60_000,
        "unit": "per child per year",
        "source": "my costing, table 2",
        "price_year": 2023,
    }
    values.update(changes)
    return UnitCost(**values)


@pytest.mark.parametrize("source", ["", "   ", None])
def test_unit_cost_without_a_source(source):
    with pytest.raises(se.UnitCostError, match="never invents a unit cost"):
        good_cost(source=source)


@pytest.mark.parametrize("year", [None, 2023.5, "2023", 1066])
def test_unit_cost_without_a_valid_price_year(year):
    with pytest.raises(se.UnitCostError, match=r"price_year|price year"):
        good_cost(price_year=year)


def test_a_bare_number_is_not_a_unit_cost():
    with pytest.raises(se.UnitCostError, match="never invents"):
        estimate_savings(EFFECT, 1_000, 60_000)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"amount": -5}, "negative"),
        ({"low": 70_000, "high": 80_000}, "low <= amount <= high"),
        ({"distribution": "gamma"}, "needs `sd`"),
        ({"distribution": "beta", "sd": 1}, "distribution"),
        ({"sd": -3.0}, "positive"),
        ({"low": 1.0}, "needs `low` and `high`"),
        ({"distribution": "fixed", "sd": 10.0}, "fixed cost takes no"),
    ],
)
def test_unit_cost_uncertainty_that_does_not_fit(changes, match):
    with pytest.raises(se.UnitCostError, match=match):
        good_cost(**changes)


def test_negative_population():
    with pytest.raises(se.InvalidValueError, match="`population` cannot be negative"):
        impact_in_children(EFFECT, -10)
    with pytest.raises(se.InvalidValueError, match="`population` cannot be negative"):
        Population(-1, "children")
    with pytest.raises(se.InvalidValueError, match="range must contain"):
        Population(100, "children", low=200, high=300)


@pytest.mark.parametrize("scale", ["odds_ratio", "percent_change", "hazard_ratio", "log_odds"])
def test_scale_that_cannot_become_children_lists_the_scales_that_can(scale):
    with pytest.raises(se.EffectScaleError) as info:
        Effect(0.7, 0.1, scale)
    message = str(info.value)
    for allowed in SCALES:
        assert allowed in message
    if scale == "odds_ratio":
        assert "marginal" in message  # says what to pass instead


def test_result_term_on_an_unconvertible_scale():
    trial = se.compare_proportions((362, 1000), (448, 1000))
    with pytest.raises(se.EffectScaleError, match="odds ratio"):
        as_effect(trial, term="odds_ratio")
    means = se.compare_means((87, 60, 1200), (115, 70, 1300))
    with pytest.raises(se.EffectScaleError, match="pass `scale`"):
        as_effect(means, term="difference")


@pytest.mark.parametrize("rate", [1.0, -0.01, 3.5, 1.5])
def test_discount_rate_outside_zero_one(rate):
    with pytest.raises(se.InvalidValueError, match=r"`discount_rate` must be in \[0, 1\)"):
        estimate_savings(EFFECT, 1_000, good_cost(), discount_rate=rate, horizon=3)


def test_discount_rate_given_as_percent_gets_a_hint():
    with pytest.raises(se.InvalidValueError, match=r"pass 0\.035"):
        discount_factors(3.5, 2)


@pytest.mark.parametrize("horizon", [0, -1, 2.5, True])
def test_horizon_of_zero_or_not_whole_years(horizon):
    with pytest.raises(se.InvalidValueError, match="`horizon`"):
        estimate_savings(EFFECT, 1_000, good_cost(), horizon=horizon)


def test_effect_values_that_cannot_be_used():
    with pytest.raises(se.InvalidValueError, match=r"pass -0\.086"):
        Effect(-8.6, 1.9, "risk_difference")
    with pytest.raises(se.InvalidValueError, match="needs `baseline`"):
        Effect(0.8, 0.1, "rate_ratio", per=10_000)
    with pytest.raises(se.InvalidValueError, match="must be positive"):
        Effect(-0.2, 0.1, "risk_ratio", baseline=0.4)
    with pytest.raises(se.InvalidValueError, match="`std_error` cannot be negative"):
        Effect(-0.05, -0.01, "risk_difference")
    with pytest.raises(se.InvalidValueError, match="only by ratios"):
        Effect(-0.05, 0.01, "risk_difference", baseline=0.4)
    with pytest.raises(se.InvalidValueError, match="proportion"):
        Effect(0.8, 0.1, "risk_ratio", baseline=45.0)


def test_effect_without_uncertainty_from_a_result():
    published = se.compare_proportions(0.362, 0.448)  # shares only: no sizes, no interval
    with pytest.raises(se.InvalidValueError, match="neither a standard error nor an interval"):
        as_effect(published)


def test_simulation_settings():
    with pytest.raises(se.InvalidValueError, match="n_draws"):
        impact_in_children(EFFECT, 100, n_draws=10)
    with pytest.raises(se.SizeLimitError, match="n_draws"):
        impact_in_children(EFFECT, 100, n_draws=10**8)
    with pytest.raises(se.InvalidValueError, match="`rng`"):
        impact_in_children(EFFECT, 100, rng=-4)
    with pytest.raises(se.InvalidValueError, match="conf_level"):
        impact_in_children(EFFECT, 100, conf_level=95)


def test_costs_in_different_price_years():
    with pytest.raises(se.UnitCostError, match="inflate"):
        estimate_savings(
            EFFECT, 1_000, good_cost(), programme_cost=good_cost(name="fgc", price_year=2019)
        )


def test_price_index_without_the_years_or_source():
    index = PriceIndex({2019: 100.0, 2022: 112.0}, "deflator", source="table")
    with pytest.raises(se.InvalidValueError, match="no value for 2023"):
        inflate(good_cost(), 2019, index)
    with pytest.raises(se.UnitCostError, match="source"):
        PriceIndex({2019: 100.0}, "deflator", source="")
    with pytest.raises(se.InvalidValueError, match="positive"):
        PriceIndex({2019: 0.0}, "deflator", source="table")


def test_options_that_an_effect_would_silently_ignore():
    with pytest.raises(se.InvalidValueError, match="baseline apply to results and terms"):
        impact_in_children(EFFECT, 100, baseline=0.4)
    trial = se.compare_proportions((362, 1000), (448, 1000))
    with pytest.raises(se.InvalidValueError, match="not a term of the result"):
        as_effect(trial, term="rate_ratio")
