"""Impact in children and savings: delta method against simulation, and closed forms.

Independent checks:

- a closed form: with a normal effect and a fixed unit cost, children and savings are linear in
  the effect, so they are exactly normal; the delta-method interval is compared with
  ``N * c * (estimate +- z * SE)`` computed here by hand, and the simulated interval with the
  quantiles of the same transform applied to the same seeded normal draws (both to 1e-9);
- Monte Carlo agreement: on five cases the simulated percentile interval is compared with the
  delta-method (or exact) interval. The tolerance is four Monte Carlo standard errors of a
  quantile, ``4 * sqrt(p (1 - p) / n) / f(q)``, which for a normal quantity at 97.5% is
  ``4 * 2.67 * sd / sqrt(n)``;
- for a ratio, the exact interval (the log-scale limits carried through the monotone
  transform) and a second-order bound on the delta method's error;
- for a product of an uncertain effect and an uncertain cost, the exact variance of a product of
  independent variables (Goodman 1960), against the simulation's standard deviation;
- discounting against the annuity sum written out; the number needed to treat against the
  published 1 / 0.086 = 11.6 (published-figures guide, section 5).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sfpc_eval as se
from sfpc_eval.impact import (
    ASSUMPTION_COLUMNS,
    SENSITIVITY_COLUMNS,
    Effect,
    Population,
    PriceIndex,
    UnitCost,
    as_effect,
    discount_factors,
    estimate_savings,
    impact_in_children,
    inflate,
    population_from_file,
    read_unit_costs,
)

Z = stats.norm.ppf(0.975)
N_DRAWS = 400_000
# Monte Carlo SE of a 2.5% or 97.5% quantile of a normal quantity, per unit of its sd
QUANTILE_MC = math.sqrt(0.975 * 0.025 / N_DRAWS) / stats.norm.pdf(Z)
TOL_SD = 4 * QUANTILE_MC  # four Monte Carlo standard errors


def cost(amount=60_000.0, **extra) -> UnitCost:
    return UnitCost(
        "child looked after",
        amount,
        "per child per year",
        source="test figure",
        price_year=2023,
        **extra,
    )


def test_closed_form_fixed_cost_normal_effect_is_exact():
    est, sd, n, c = -0.086, 0.019, 23_000, 60_000.0
    res = estimate_savings(Effect(est, sd, "risk_difference"), n, cost(c), rng=7, n_draws=200_000)
    year = res.term("savings_per_year")
    assert year.estimate == pytest.approx(-est * n * c, rel=1e-12)
    assert year.std_error == pytest.approx(sd * n * c, rel=1e-12)
    assert year.conf_low == pytest.approx(-(est + Z * sd) * n * c, rel=1e-12)
    assert year.conf_high == pytest.approx(-(est - Z * sd) * n * c, rel=1e-12)
    # the simulation is the same linear transform of the seeded normal draws
    z = np.random.default_rng(7).standard_normal(200_000)
    by_hand = -(est + sd * z) * n * c
    sim = res.term("savings_per_year_simulated")
    low, high = np.quantile(by_hand, [0.025, 0.975])
    assert sim.conf_low == pytest.approx(low, rel=1e-9)
    assert sim.conf_high == pytest.approx(high, rel=1e-9)
    assert sim.std_error == pytest.approx(np.std(by_hand, ddof=1), rel=1e-9)


LINEAR_CASES = {
    # risk difference: FGC trial, -8.6 points, children entering pre-proceedings
    "risk_difference": (Effect(-0.086, 0.019, "risk_difference"), 23_000, "children"),
    # rate difference per 10,000 children (a DiD on CLA rates), 1.2m children aged 0-17
    "rate_difference": (Effect(-4.2, 1.7, "rate_difference", per=10_000), 1_200_000, "children"),
    # days in care per child (87 vs 115 days), children in the FGC population
    "days_difference": (Effect(-28.0, 9.5, "days_difference"), 23_000, "days"),
    # a t reference (CR2 with Satterthwaite df = 4.3): both intervals use t quantiles
    "t_reference": (Effect(-0.05, 0.02, "risk_difference", df=4.3), 10_000, "children"),
}


@pytest.mark.parametrize("case", sorted(LINEAR_CASES))
def test_delta_and_simulation_agree_within_monte_carlo_error(case):
    effect, n, unit = LINEAR_CASES[case]
    res = impact_in_children(effect, n, n_draws=N_DRAWS, rng=2024)
    delta, sim = res.term(f"{unit}_per_year"), res.term(f"{unit}_per_year_simulated")
    sd = delta.std_error
    if math.isinf(effect.df):
        tol = TOL_SD * sd
    else:  # t quantile: density of a t at its 97.5% point, same formula
        q = stats.t.ppf(0.975, effect.df)
        tol = 4 * math.sqrt(0.975 * 0.025 / N_DRAWS) / stats.t.pdf(q, effect.df) * sd
        assert delta.conf_high - delta.estimate == pytest.approx(q * sd, rel=1e-12)
    assert abs(sim.conf_low - delta.conf_low) < tol
    assert abs(sim.conf_high - delta.conf_high) < tol
    # the change is the effect per person times the population
    assert delta.estimate == pytest.approx(float(effect.per_person()) * n, rel=1e-12)


def test_ratio_simulation_matches_exact_transformed_interval():
    effect = Effect(0.8, 0.05, "rate_ratio", per=10_000, baseline=70.0)
    n = 1_000_000
    res = impact_in_children(effect, n, n_draws=N_DRAWS, rng=11)
    sim, delta = res.simulated, res.change
    # exact: log-ratio limits through the monotone map rr -> baseline/per * (rr - 1) * n
    exact = [70.0 / 10_000 * (math.exp(math.log(0.8) + s * Z * 0.05) - 1) * n for s in (-1, 1)]
    # Monte Carlo error of each limit: quantile error on the log scale times the slope there
    slope = [70.0 / 10_000 * math.exp(math.log(0.8) + s * Z * 0.05) * n * 0.05 for s in (-1, 1)]
    for got, want, d in zip((sim.conf_low, sim.conf_high), exact, slope, strict=True):
        assert abs(got - want) < TOL_SD * d
    # delta method: first order; its limits differ from the exact ones by about
    # rr * b * n * (z se)^2 / 2 (second-order term of exp), bounded here by twice that
    second_order = 0.8 * 70.0 / 10_000 * n * (Z * 0.05) ** 2
    assert abs(delta.conf_low - exact[0]) < second_order
    assert abs(delta.conf_high - exact[1]) < second_order
    assert delta.std_error == pytest.approx(0.8 * 70 / 10_000 * n * 0.05, rel=1e-12)


def test_uncertain_cost_simulation_matches_exact_product_variance():
    effect = Effect(-0.086, 0.019, "risk_difference")
    n, c, sd_c = 23_000, 60_000.0, 9_000.0
    res = estimate_savings(
        effect, n, cost(c, distribution="normal", sd=sd_c), n_draws=N_DRAWS, rng=5
    )
    g, sd_g = 0.086 * n, 0.019 * n  # children kept out of care, and its sd
    exact_var = g**2 * sd_c**2 + c**2 * sd_g**2 + sd_g**2 * sd_c**2  # Goodman (1960)
    sim = res.term("savings_per_year_simulated")
    # sd of the sd estimate: sqrt(var) * sqrt((kurtosis - 1) / (4 n)); kurtosis < 4 here
    assert sim.std_error == pytest.approx(
        math.sqrt(exact_var), rel=4 * math.sqrt(3 / (4 * N_DRAWS))
    )
    delta = res.term("savings_per_year")
    assert delta.std_error == pytest.approx(math.sqrt(exact_var - sd_g**2 * sd_c**2), rel=1e-12)
    # the intervals themselves are not compared: a product of a normal and a normal is skewed,
    # so its percentile interval is not the symmetric delta-method one (here the lower limits
    # differ by 0.15 sd), which is why the simulation is the interval to report


def test_discounting_and_horizon():
    assert discount_factors(0.035, 3).tolist() == pytest.approx([1, 1 / 1.035, 1 / 1.035**2])
    res = estimate_savings(
        Effect(-0.1, 0.01, "risk_difference"),
        1_000,
        cost(10_000.0),
        horizon=3,
        discount_rate=0.035,
        rng=1,
        n_draws=10_000,
    )
    per_year = res.term("savings_per_year").estimate
    assert per_year == pytest.approx(0.1 * 1_000 * 10_000)
    total = res.term("savings_over_horizon")
    assert total.estimate == pytest.approx(per_year * (1 + 1 / 1.035 + 1 / 1.035**2))
    assert total.std_error == pytest.approx(res.term("savings_per_year").std_error * res.annuity)


def test_number_needed_to_treat_matches_published_figure():
    res = impact_in_children(Effect(-0.086, 0.019, "risk_difference"), 1_000, rng=1, n_draws=2_000)
    nnt = res.term("number_needed_to_treat")
    assert round(nnt.estimate, 1) == 11.6  # guide section 5: 1 / 0.086 = 11.6
    low, high = -0.086 - Z * 0.019, -0.086 + Z * 0.019
    assert (nnt.conf_low, nnt.conf_high) == pytest.approx((1 / abs(low), 1 / abs(high)))
    # an interval that includes zero has no finite NNT interval
    wide = impact_in_children(Effect(-0.02, 0.02, "risk_difference"), 100, rng=1, n_draws=2_000)
    assert math.isnan(wide.term("number_needed_to_treat").conf_low)
    # rates and days have no NNT
    days = impact_in_children(Effect(-28, 9, "days_difference"), 100, rng=1, n_draws=2_000)
    assert "number_needed_to_treat" not in {t.term for t in days.terms}


def test_effects_from_library_results():
    trial = se.compare_proportions((362, 1000), (448, 1000))
    effect = as_effect(trial)
    p1, p0 = 0.362, 0.448
    assert effect.std_error == pytest.approx(math.sqrt(p1 * (1 - p1) / 1000 + p0 * (1 - p0) / 1000))
    # a ratio with an exact interval: SE of the log read back from the interval
    counts = se.compare_counts(120, 90, exposure=(10_000, 10_000), per=10_000)
    rr = as_effect(counts, term="rate_ratio", baseline=120.0, per=10_000)
    term = counts.rate_ratio
    want = (math.log(term.conf_high) - math.log(term.conf_low)) / (2 * Z)
    assert rr.std_error == pytest.approx(want, rel=1e-12)
    # a rate difference per 10,000 takes `per` from the result
    diff = as_effect(counts, term="difference", scale="rate_difference")
    assert diff.per == 10_000
    assert diff.estimate == pytest.approx(-30.0)
    means = se.compare_means((87, 60, 1200), (115, 70, 1300))
    days = as_effect(means, term="difference", scale="days_difference")
    assert days.estimate == pytest.approx(-28)


def test_refit_and_reproducible_seed():
    a = impact_in_children(Effect(-0.086, 0.019, "risk_difference"), 23_000, rng=3, n_draws=5_000)
    b = impact_in_children(Effect(-0.086, 0.019, "risk_difference"), 23_000, rng=3, n_draws=5_000)
    assert a.simulated == b.simulated
    fresh = impact_in_children(Effect(-0.086, 0.019, "risk_difference"), 23_000, n_draws=5_000)
    again = impact_in_children(fresh.effect, 23_000, rng=fresh.seed, n_draws=5_000)
    assert fresh.simulated == again.simulated  # recorded entropy reproduces the run
    ci90 = a.conf_int(0.90)
    assert ci90.loc["children_per_year", "conf_high"] == pytest.approx(
        -0.086 * 23_000 + stats.norm.ppf(0.95) * 0.019 * 23_000
    )


def test_progress_bar_for_long_runs(capsys):
    impact_in_children(
        Effect(-0.086, 0.019, "risk_difference"), 100, rng=1, n_draws=1_000, progress=True
    )
    assert "simulating" in capsys.readouterr().err


def test_inflation_with_user_index():
    index = PriceIndex({2019: 100.0, 2023: 121.3}, "test deflator", source="test table")
    old = UnitCost("care", 50_000.0, "per child per year", "src", 2019, low=40_000.0, high=65_000.0)
    new = inflate(old, 2023, index)
    assert new.amount == pytest.approx(50_000 * 1.213)
    assert (new.low, new.high) == pytest.approx((40_000 * 1.213, 65_000 * 1.213))
    assert new.price_year == 2023 and "test deflator" in new.note


def test_unit_cost_distributions_have_their_moments():
    uni = cost(60_000.0, low=50_000.0, high=70_000.0)
    assert uni.std_dev == pytest.approx(20_000 / math.sqrt(12))
    tri = cost(60_000.0, distribution="triangular", low=40_000.0, high=70_000.0)
    assert tri.mean == pytest.approx((40_000 + 60_000 + 70_000) / 3)
    gam = cost(60_000.0, sd=12_000.0)
    assert gam.distribution == "gamma" and gam.mean == pytest.approx(60_000)
    assert gam.std_dev == pytest.approx(12_000)
    logn = cost(60_000.0, distribution="lognormal", sd=12_000.0)
    draws = logn.draws(np.random.default_rng(1), 200_000)
    assert draws.mean() == pytest.approx(60_000, rel=0.005)  # MC error ~0.1%
    assert draws.std() == pytest.approx(12_000, rel=0.02)


def test_read_unit_costs_csv_and_toml(tmp_path: Path):
    csv = tmp_path / "costs.csv"
    csv.write_text(
        "name,amount,unit,source,price_year,low,high\n"
        "care,60000,per child per year,my costing table 2,2023,50000,70000\n"
        'fgc,"£1,500",per family,,2023,,\n'.replace('"£1,500"', "1500")
    )
    with pytest.raises(se.UnitCostError, match="source"):
        read_unit_costs(csv)
    csv.write_text(
        "name,amount,unit,source,price_year,low,high\n"
        "care,60000,per child per year,my costing table 2,2023,50000,70000\n"
        "fgc,1500,per family,my costing table 3,2023,,\n"
    )
    costs = read_unit_costs(csv)
    assert costs["care"].distribution == "uniform" and costs["fgc"].distribution == "fixed"
    toml = tmp_path / "costs.toml"
    toml.write_text(
        '[[cost]]\nname = "care"\namount = 60000\nunit = "per child per year"\n'
        'source = "table 2"\nprice_year = 2023\nsd = 9000\n'
    )
    assert read_unit_costs(toml)["care"].distribution == "gamma"


def test_sensitivity_and_assumptions_tables():
    pop = Population(23_000, "children entering pre-proceedings", low=15_000, high=30_000)
    res = estimate_savings(
        Effect(-0.086, 0.019, "risk_difference", source="FGC trial"),
        pop,
        cost(60_000.0, low=50_000.0, high=70_000.0),
        programme_cost=UnitCost("FGC", 1_500.0, "per child", "test", 2023),
        horizon=2,
        discount_rate=0.035,
        discount_rates=(0.0, 0.07),
        rng=1,
        n_draws=5_000,
    )
    table = res.sensitivity()
    assert tuple(table.columns) == SENSITIVITY_COLUMNS
    assert table["swing"].is_monotonic_decreasing
    effect_row = table.set_index("input").loc["effect"]
    annuity = 1 + 1 / 1.035
    low = -0.086 - Z * 0.019
    assert effect_row["at_low"] == pytest.approx(
        (-low * 23_000 * 60_000 - 1_500 * 23_000) * annuity
    )
    pop_row = table.set_index("input").loc["population"]
    assert pop_row["at_high"] == pytest.approx((0.086 * 60_000 - 1_500) * 30_000 * annuity)
    assumptions = res.assumptions()
    assert tuple(assumptions.columns) == ASSUMPTION_COLUMNS
    assert "test figure" in set(assumptions["source"])
    assert set(assumptions["price_year"]) >= {"2023"}


def test_plots_draw():
    res = estimate_savings(
        Effect(-0.086, 0.019, "risk_difference"),
        23_000,
        cost(60_000.0, low=5e4, high=7e4),
        rng=1,
        n_draws=5_000,
    )
    ax = res.plot()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == res.sensitivity()["input"].iloc[0]  # widest swing on top
    kids = impact_in_children(
        Effect(-0.086, 0.019, "risk_difference"), 23_000, rng=1, n_draws=5_000
    )
    assert "fewer children" in kids.plot().get_title(loc="left")


RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
CLA = RAW / "dfe-csc-dashboard" / "cla_number_and_rate_per_10k_children.csv"


@pytest.mark.skipif(not CLA.is_file(), reason=f"the DfE file is not at {CLA}")
def test_population_from_official_file():
    pop = population_from_file(CLA, "cla_started", 2024)
    raw = pd.read_csv(CLA, dtype=str)
    rows = raw[
        (raw["geographic_level"] == "Local authority")
        & (raw["time_period"] == "2024")
        & (raw["population_type"] == "Children starting to be looked after each year")
    ]
    numbers = pd.to_numeric(rows["children_count"], errors="coerce")
    assert pop.size == numbers.sum()
    withheld = rows.loc[numbers.isna(), "la_name"]
    for name in withheld:
        assert name in pop.source
    leeds = population_from_file(CLA, "cla_started", 2024, areas=["Leeds"])
    assert leeds.size == float(numbers[rows["la_name"] == "Leeds"].iloc[0])


def test_uncertain_cost_simulation_matches_quantiles_by_numerical_integration():
    """Savings = -(effect * N) * cost with a normal effect and a uniform cost: the exact CDF is
    P(S <= s) = mean over the cost of P(effect >= -s / (N c)), integrated with scipy's quad;
    its 2.5% and 97.5% points (brentq) are the interval the simulation estimates. Tolerance:
    four Monte Carlo SEs of a quantile, sqrt(p (1 - p) / n) / f(q), f the CDF's slope there."""
    from scipy import integrate, optimize

    mu, sd, n, low, high = -0.086, 0.019, 23_000, 40_000.0, 80_000.0

    def cdf(s: float) -> float:
        inner = lambda c: stats.norm.sf((-s / (n * c) - mu) / sd)  # noqa: E731
        return integrate.quad(inner, low, high, epsabs=1e-12)[0] / (high - low)

    res = estimate_savings(
        Effect(mu, sd, "risk_difference"),
        n,
        cost(60_000.0, low=low, high=high),
        n_draws=N_DRAWS,
        rng=99,
    )
    sim = res.term("savings_per_year_simulated")
    for p, got in ((0.025, sim.conf_low), (0.975, sim.conf_high)):
        exact = optimize.brentq(lambda s, p=p: cdf(s) - p, -1e8, 1e9, xtol=1.0)
        step = 1e5
        density = (cdf(exact + step) - cdf(exact - step)) / (2 * step)
        tol = 4 * math.sqrt(p * (1 - p) / N_DRAWS) / density
        assert abs(got - exact) < tol, (p, got, exact, tol)


def test_a_disagreement_between_the_intervals_is_said():
    linear = impact_in_children(Effect(-0.086, 0.019, "risk_difference"), 23_000, rng=1)
    assert not any("not linear" in note for note in linear.notes())
    # a ratio with a large SE of its log: exp() makes the simulated interval lopsided
    ratio = impact_in_children(
        Effect(0.7, 0.4, "rate_ratio", per=10_000, baseline=70.0), 1_000_000, rng=1
    )
    assert any("not linear" in note for note in ratio.notes())
    skewed = estimate_savings(
        Effect(-0.086, 0.019, "risk_difference"),
        23_000,
        cost(60_000.0, distribution="lognormal", sd=40_000.0),
        rng=1,
    )
    assert any(note.startswith("savings_over_horizon") for note in skewed.notes())


def test_every_term_of_the_impact_results_has_a_label():
    from sfpc_eval.evidence import reproduce
    from sfpc_eval.labels import has_label, label

    results = [
        impact_in_children(Effect(-0.086, 0.019, "risk_difference"), 100, rng=1, n_draws=1_000),
        impact_in_children(Effect(-28.0, 9.0, "days_difference"), 100, rng=1, n_draws=1_000),
        estimate_savings(
            Effect(-0.086, 0.019, "risk_difference"), 100, cost(), rng=1, n_draws=1_000
        ),
        reproduce("fdac_london_return_per_pound").result,
    ]
    terms = {t.term for res in results for t in res.terms}
    assert {"children_per_year", "days_per_year", "savings_over_horizon", "value"} <= terms
    assert all(has_label(t) and "_" not in label(t) for t in terms), terms
