"""Power of the pre-trend test and the bias after passing it (Roth 2022), on Roth's worked example.

The worked example is the README of Roth's R package ``pretrends`` (He and Wang 2017, Figure
2C; coefficients and covariance in ``fixtures/pretrend_power/he_wang.csv``, written with the
reference numbers by ``make_reference.R`` from the package's ``HeAndWangResults.rda``).

- Against the README's printed output. The likelihood ratios are closed forms of the printed
  slope and the data, and match to every printed digit. The README's powers, Bayes factors and
  means after pre-testing come from ``mvtnorm::pmvnorm``'s randomised quasi-Monte Carlo
  (``GenzBretz``, absolute error 1e-3 by default): rerunning it moves the power by about 1e-4
  (the README itself shows 0.4999776 for a slope solved to give 0.5), and its slope for 50%
  power, 0.05205871, is the root of that noisy function; the exact root is 0.0520676. Those
  numbers agree within the README's Monte Carlo error: 2e-4 for powers and Bayes factors, 5e-6
  for the means (which divide by the same noisy probability), 2e-4 relative for the slope.
- Against ``make_reference.R`` (mvtnorm's deterministic Miwa algorithm and an R Tallis mean):
  1e-6 (our box probabilities are Genz's algorithm to 1e-8, seeded).
- The Wald-test formulas against R's noncentral chi-square (1e-10) and the closed-form mean
  after pre-testing against a Monte Carlo of 400,000 draws (4 Monte Carlo SEs).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sfpc_eval as se
from sfpc_eval.errors import DesignError, InvalidValueError

HERE = Path(__file__).parent / "fixtures" / "pretrend_power"
REF = json.loads((HERE / "reference.json").read_text())
DATA = pd.read_csv(HERE / "he_wang.csv")
T = DATA["t"].to_numpy()
BETA = DATA["beta"].to_numpy(float)
SIGMA = DATA.drop(columns=["t", "beta"]).to_numpy(float)
README_SLOPE = 0.05205871


def ref(case: str, key: str):
    return np.asarray(REF[case][key], dtype=float)


def roth(**kwargs):
    return se.pretrend_power(
        vcov=SIGMA, event_times=T, betahat=BETA, test="nis", critical=1.96, **kwargs
    )


def test_readme_likelihood_ratios_to_every_printed_digit():
    assert f"{roth(slope=README_SLOPE).likelihood_ratio:.7g}" == "0.1057627"
    assert f"{roth(delta=0.024 * (T + 1) ** 2).likelihood_ratio:.7g}" == "0.4332635"


def test_readme_powers_and_means_within_its_monte_carlo_error():
    linear = roth(slope=README_SLOPE)
    assert linear.power == pytest.approx(0.4999776, abs=2e-4)
    assert linear.bayes_factor == pytest.approx(0.56901, abs=2e-4)
    printed = [
        -0.09230764,
        -0.05555285,
        -0.02790950,
        0.06490184,
        0.12084694,
        0.16946498,
        0.22453827,
    ]
    np.testing.assert_allclose(linear.mean_after_pretest, printed, atol=5e-6)
    quadratic = roth(delta=0.024 * (T + 1) ** 2)
    assert quadratic.power == pytest.approx(0.6624282, abs=2e-4)
    assert quadratic.bayes_factor == pytest.approx(0.3841516, abs=2e-4)
    table = linear.table()
    assert list(table["event_time"]) == [-4, -3, -2, -1, 0, 1, 2, 3]
    np.testing.assert_allclose(table["delta"], README_SLOPE * (table["event_time"] + 1))
    slope = roth(target_power=0.5).slope
    assert slope == pytest.approx(README_SLOPE, rel=2e-4)


@pytest.mark.parametrize("case", ["linear", "quadratic"])
def test_against_mvtnorm_miwa(case):
    delta = README_SLOPE * (T + 1) if case == "linear" else 0.024 * (T + 1) ** 2
    res = roth(delta=delta)
    assert res.power == pytest.approx(float(ref(case, "power")), abs=1e-6)
    assert res.bayes_factor == pytest.approx(float(ref(case, "bayes_factor")), abs=1e-6)
    assert res.likelihood_ratio == pytest.approx(float(ref(case, "likelihood_ratio")), rel=1e-12)
    np.testing.assert_allclose(res.mean_after_pretest, ref(case, "mean_after_pretest"), atol=1e-6)


def test_slope_for_half_power_is_the_exact_root():
    assert roth(target_power=0.5).slope == pytest.approx(float(REF["slope50"]), rel=1e-6)


@pytest.mark.parametrize("case", ["linear", "quadratic"])
def test_wald_test_against_the_noncentral_chi_square(case):
    delta = README_SLOPE * (T + 1) if case == "linear" else 0.024 * (T + 1) ** 2
    res = se.pretrend_power(vcov=SIGMA, event_times=T, delta=delta)
    wald = f"wald_{case}"
    assert res.power == pytest.approx(float(ref(wald, "power")), rel=1e-10)
    assert res.bayes_factor == pytest.approx(float(ref(wald, "bayes_factor")), rel=1e-10)
    np.testing.assert_allclose(res.mean_after_pretest, ref(wald, "mean_after_pretest"), rtol=1e-10)


def test_wald_mean_after_pretest_by_monte_carlo():
    delta = 0.024 * (T + 1) ** 2
    res = se.pretrend_power(vcov=SIGMA, event_times=T, delta=delta)
    rng = np.random.default_rng(7)
    draws = rng.multivariate_normal(delta, SIGMA, size=400_000)
    pre = T < -1
    s_pre = SIGMA[np.ix_(pre, pre)]
    wald = np.einsum("ij,ij->i", draws[:, pre], np.linalg.solve(s_pre, draws[:, pre].T).T)
    passed = draws[wald <= stats.chi2.ppf(0.95, pre.sum())]
    assert 1 - len(passed) / len(draws) == pytest.approx(res.power, abs=4 * 0.0008)
    se_mc = passed.std(axis=0) / np.sqrt(len(passed))
    np.testing.assert_array_less(np.abs(passed.mean(axis=0) - res.mean_after_pretest), 4 * se_mc)


def test_from_an_event_study_result():
    rng = np.random.default_rng(3)
    rows = pd.DataFrame(
        [(u, t) for u in range(30) for t in range(2010, 2020)], columns=["la", "year"]
    )
    rows["g"] = rows["la"].map(lambda u: [2015.0, np.nan][u % 2])
    rows["y"] = rng.normal(0, 1, len(rows))
    es = se.event_study(rows, "y", "la", "year", "g", window=(-4, 3))
    res = se.pretrend_power(es, slope=0.2)
    direct = se.pretrend_power(vcov=es.vcov.to_numpy(), event_times=es.event_times, slope=0.2)
    assert res.power == direct.power and 0 < res.power < 1
    assert not np.isnan(res.likelihood_ratio)  # the result's own estimates are used
    assert "bias_after_pretest(e=0)" in set(res.tidy()["term"])


def test_bad_inputs():
    with pytest.raises(InvalidValueError, match="exactly one"):
        se.pretrend_power(vcov=SIGMA, event_times=T)
    with pytest.raises(InvalidValueError, match="exactly one"):
        se.pretrend_power(vcov=SIGMA, event_times=T, slope=0.1, target_power=0.5)
    with pytest.raises(InvalidValueError, match="one value per event time"):
        se.pretrend_power(vcov=SIGMA, event_times=T, delta=[0.1, 0.2])
    with pytest.raises(InvalidValueError, match="7 x 7"):
        se.pretrend_power(vcov=SIGMA[:3, :3], event_times=T, slope=0.1)
    with pytest.raises(InvalidValueError, match="`test`"):
        se.pretrend_power(vcov=SIGMA, event_times=T, slope=0.1, test="f")
    with pytest.raises(InvalidValueError, match="target_power"):
        se.pretrend_power(vcov=SIGMA, event_times=T, target_power=1.2)
    with pytest.raises(DesignError, match="no lead"):
        se.pretrend_power(vcov=SIGMA[3:, 3:], event_times=T[3:], slope=0.1)
