"""Two few-cluster variants of the resampling tests, checked against brute force.

- ``WildClusterBootstrap(bootcluster=...)``: the subcluster wild bootstrap of MacKinnon and Webb
  (2018, Econometrics Journal 21(2)), one weight per council-year while the t statistic stays
  clustered by council. Checked against refitting every bootstrap sample with statsmodels OLS and
  its cluster-robust (CR1) covariance. (The ``wildboottest`` package's ``bootcluster`` clusters the
  variance by the subclusters too, so it is not the same test and cannot serve as a reference.)
- ``Randomization(ties="randomized")``: ties with the observed assignment weighted by one uniform
  draw, which gives the test exactly its nominal size with 10 assignments (5 councils, 2
  adopters), where the conservative p-value is never below 0.1. Checked against statsmodels
  refits of all 10 assignments, and for exact size by integrating over the uniform draw.

Coverage over 2,000 simulated panels is in ``validation/did_coverage.py``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import sfpc_eval as se
from sfpc_eval.errors import InvalidValueError
from sfpc_eval.inference.randomization import tie_broken_p_value
from sfpc_eval.inference.wild import draw_weights

FIXTURES = Path(__file__).parent / "fixtures"
FORMULA = "y ~ treated + x + C(la) + C(year)"


def panel_g5() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "did" / "panel_g5.csv", comment="#")


def fit(data, inference, **kwargs):
    args = dict(outcome="y", unit="la", time="year", treated="treated", covariates=["x"])
    return se.did(data, **(args | kwargs), inference=inference)


def brute_force_subcluster_p(data: pd.DataFrame, beta0: float, weights: np.ndarray) -> float:
    """Restricted wild bootstrap by refitting: weights by LA-year row, CR1 clustered by LA."""
    restricted = smf.ols(
        "y ~ x + C(la) + C(year)", data.assign(y=data["y"] - beta0 * data["treated"])
    )
    r = restricted.fit()
    fitted = r.fittedvalues + beta0 * data["treated"]
    groups = pd.factorize(data["la"])[0]

    def t_stat(y: np.ndarray) -> float:
        res = smf.ols(FORMULA, data.assign(y=y)).fit(
            cov_type="cluster", cov_kwds={"groups": groups}
        )
        return (res.params["treated"] - beta0) / res.bse["treated"]

    observed = t_stat(data["y"].to_numpy())
    draws = np.array([t_stat(fitted + v * r.resid) for v in weights])
    return float(np.mean(np.abs(draws) >= abs(observed) * (1 - 1e-12)))


def test_subcluster_bootstrap_equals_refitting_every_draw():
    """5 LAs x 10 years, one weight per LA-year (50 subclusters), 199 Rademacher draws.

    The p-value at beta = 0 and at both confidence limits (just inside: above 5%, just outside:
    at most 5%) equals the brute-force refits exactly: the same 199 draws, counted the same way.
    """
    data = panel_g5().sort_values(["la", "year"]).reset_index(drop=True)
    spec = se.WildClusterBootstrap(bootcluster=("la", "year"), n_resamples=199, rng=11)
    term = fit(data, spec).estimate
    assert "199 draws, weights by 50 la x year subclusters" in term.method
    # cells are sorted by (la, year) like the rows, so draw g is row g's weight
    weights, enumerated = draw_weights(spec, len(data))
    assert not enumerated
    assert term.p_value == brute_force_subcluster_p(data, 0.0, weights)
    width = term.conf_high - term.conf_low
    for limit, inward in ((term.conf_low, 1), (term.conf_high, -1)):
        assert brute_force_subcluster_p(data, limit + inward * 1e-6 * width, weights) > 0.05
        assert brute_force_subcluster_p(data, limit - inward * 1e-6 * width, weights) <= 0.05


def test_subcluster_bootstrap_with_one_subcluster_per_cluster_is_refused():
    """Subclusters equal to the clusters are the ordinary bootstrap: say so, do not run it."""
    with pytest.raises(InvalidValueError, match="ordinary wild cluster bootstrap"):
        fit(panel_g5(), se.WildClusterBootstrap(bootcluster="la"))


@pytest.mark.parametrize(
    ("bootcluster", "words"),
    [
        ("year", "not nested in the clusters"),
        (("la", "district"), "'district' are not among the columns"),
        (3, "column name or a sequence"),
        ((), "column name or a sequence"),
    ],
)
def test_bad_bootcluster(bootcluster, words):
    with pytest.raises(InvalidValueError, match=words):
        fit(panel_g5(), se.WildClusterBootstrap(bootcluster=bootcluster))


@pytest.mark.parametrize(
    ("inference", "words"),
    [
        (
            se.WildClusterBootstrap(bootcluster=("la", "year")),
            "event study draws one weight per cluster",
        ),
        (se.Randomization(ties="randomized"), "event study uses the conservative p-value"),
    ],
)
def test_event_study_refuses_the_variants_it_does_not_implement(inference, words):
    """The event study draws one weight per cluster and uses the conservative permutation
    p-value: asking it for either variant is an error, not silently ignored."""
    data = panel_g5()
    ever = data.groupby("la")["treated"].transform("max") > 0
    cohorts = data.assign(first=np.where(ever, 2016, 0))
    with pytest.raises(InvalidValueError, match=words):
        se.event_study(
            cohorts, outcome="y", unit="la", time="year", cohort="first", inference=inference
        )


def test_romano_wolf_refuses_subclusters():
    data = panel_g5()
    a, b = (
        fit(data, se.ClusterRobust(kind="CR1")),
        fit(data.assign(y=-data["y"]), se.ClusterRobust()),
    )
    spec = se.WildClusterBootstrap(bootcluster=("la", "year"))
    with pytest.raises(InvalidValueError, match="Romano-Wolf draws one weight per cluster"):
        se.adjust_results({"a": a, "b": b}, method="romano-wolf", bootstrap=spec)


def brute_force_assignments(data: pd.DataFrame) -> tuple[float, np.ndarray]:
    """The observed coefficient and those of all 10 ways to pick 2 adopting LAs of 5."""
    observed = smf.ols(FORMULA, data).fit().params["treated"]
    coefs = []
    for chosen in itertools.combinations(sorted(data["la"].unique()), 2):
        d = data.assign(treated=(data["la"].isin(chosen) & (data["year"] >= 2016)).astype(int))
        coefs.append(smf.ols(FORMULA, d).fit().params["treated"])
    return observed, np.array(coefs)


# few assignments: the unbounded interval is warned (tested in test_did_inference.py)
@pytest.mark.filterwarnings("ignore::sfpc_eval.errors.UndefinedIntervalWarning")
def test_randomized_ties_p_value_equals_brute_force():
    """p = (#{|b| > |b_obs|} + U #{|b| = |b_obs|}) / 10 over statsmodels refits of all 10
    assignments, with the U the result reports (to 1e-12: the tie tolerance is relative 1e-12)."""
    data = panel_g5()
    spec = se.Randomization(ties="randomized", rng=5)
    term = fit(data, spec).estimate
    u = spec.tie_weight()
    assert f"ties weighted by U = {u:.4f}" in term.method
    observed, coefs = brute_force_assignments(data)
    above = np.sum(np.abs(coefs) > abs(observed) * (1 + 1e-9))
    tied = np.sum(np.isclose(np.abs(coefs), abs(observed), rtol=1e-9))
    assert tied >= 1  # the observed assignment is one of the 10
    assert term.p_value == pytest.approx((above + u * tied) / 10, abs=1e-12)
    # conservative: U = 1, the usual share of assignments at least as extreme
    conservative = fit(data, se.Randomization()).estimate
    assert conservative.p_value == pytest.approx((above + tied) / 10, abs=1e-12)
    assert term.p_value <= conservative.p_value
    # the same seed gives the same draw, hence the same result
    assert fit(data, se.Randomization(ties="randomized", rng=5)).estimate == term


def test_randomized_ties_have_exact_size_with_ten_assignments():
    """Under the sharp null every assignment is equally likely to be the observed one. Averaging
    the rejection indicator over the 10 assignments and over U (a 100,000-point grid) gives
    exactly 5%; the conservative p-value rejects never (its smallest value is 0.1)."""
    _, coefs = brute_force_assignments(panel_g5())
    grid = (np.arange(100_000) + 0.5) / 100_000
    randomized, conservative = [], []
    for observed in coefs:
        p = np.array([tie_broken_p_value(coefs, observed, 1.0)])
        conservative.append(np.mean(p <= 0.05))
        gt = np.sum(np.abs(coefs) > abs(observed) * (1 + 1e-12))
        tied = np.sum(np.abs(np.abs(coefs) - abs(observed)) <= 1e-12 * abs(observed))
        # tie_broken_p_value is linear in U: check two points, then integrate the indicator
        assert tie_broken_p_value(coefs, observed, 0.3) == pytest.approx((gt + 0.3 * tied) / 10)
        randomized.append(np.mean((gt + grid * tied) / 10 <= 0.05))
    assert np.mean(randomized) == pytest.approx(0.05, abs=1e-5)
    assert np.mean(conservative) == 0.0


def test_randomized_ties_interval_inverts_the_randomized_test():
    """With U <= 0.5 the G = 5 interval is bounded (the observed assignment alone can be the
    most extreme); at each limit the randomized test sits at the 5% boundary."""
    data = panel_g5()
    bounded = next(
        r for r in range(50) if se.Randomization(ties="randomized", rng=r).tie_weight() <= 0.45
    )
    spec = se.Randomization(ties="randomized", rng=bounded)
    term = fit(data, spec).estimate
    assert np.isfinite(term.conf_low) and np.isfinite(term.conf_high)
    width = term.conf_high - term.conf_low
    for limit, inward in ((term.conf_low, 1), (term.conf_high, -1)):
        for step, above in ((inward, True), (-inward, False)):
            value = limit + step * 1e-6 * width
            shifted = data.assign(y=data["y"] - value * data["treated"])
            assert (fit(shifted, spec).estimate.p_value > 0.05) is above


@pytest.mark.parametrize("ties", ["random", "exact", None])
def test_bad_ties(ties):
    with pytest.raises(InvalidValueError, match="`ties` must be one of"):
        se.Randomization(ties=ties)
