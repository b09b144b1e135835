"""Wild cluster bootstrap, randomization inference and the 2x2 summary DiDs, against
independent implementations (wildboottest, statsmodels refits, a Poisson GLM)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import sfpc_eval as se
from sfpc_eval.errors import DesignError, InvalidValueError, UndefinedEffectError

FIXTURES = Path(__file__).parent / "fixtures"
WILD = json.loads((FIXTURES / "wild" / "wildboottest_reference.json").read_text())


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / name, comment="#")


def fit(data, inference, **kwargs):
    args = dict(outcome="y", unit="la", time="year", treated="treated", covariates=["x"])
    return se.did(data, **(args | kwargs), inference=inference)


@pytest.mark.parametrize("case", WILD["cases"], ids=lambda c: f"{c['data']}-{c['weights']}")
def test_wild_bootstrap_matches_wildboottest(case):
    """Enumerated (G = 12, all 4,096 sign vectors): the p-value equals wildboottest's exactly.
    Sampled (G = 20, 99,999 draws each side): the two p-values differ by less than 4 Monte Carlo
    standard errors of their difference, sqrt(2 p (1 - p) / B)."""
    data = read(case["data"])
    spec = se.WildClusterBootstrap(weights=case["weights"], n_resamples=99_999, rng=7)
    term = fit(data, spec).estimate
    assert term.statistic == pytest.approx(case["statistic"], rel=1e-10)
    if case["enumerated"]:
        assert term.p_value == case["p_value"]
        assert "all sign vectors" in term.method
    else:
        p = case["p_value"]
        assert abs(term.p_value - p) < 4 * math.sqrt(2 * p * (1 - p) / case["B"])


def test_enumerated_wild_bootstrap_is_deterministic_and_inverts_its_test():
    data = read("did/panel_g12_unbalanced.csv")
    a = fit(data, se.WildClusterBootstrap(rng=1)).estimate
    b = fit(data, se.WildClusterBootstrap(rng=2)).estimate
    assert a == b
    # at each confidence limit the bootstrap test of beta = limit sits at the 5% boundary
    from sfpc_eval.inference.wild import wild_cluster_bootstrap

    res = fit(data, se.ClusterRobust(kind="CR1"))
    j = res._fit.index("treated")
    for limit, inside in ((a.conf_low, 1e-6), (a.conf_high, -1e-6)):
        shifted = data.assign(y=data["y"] - (limit + inside) * data["treated"])
        p_inside = fit(shifted, se.WildClusterBootstrap()).estimate.p_value
        assert p_inside > 0.05
    assert wild_cluster_bootstrap(res._fit, j, se.WildClusterBootstrap(), 0.95).p_value == a.p_value


def test_wild_bootstrap_refuses_glms():
    data = read("did/panel_g5.csv")
    with pytest.raises(DesignError, match="linear"):
        se.did(
            data,
            outcome="count",
            unit="la",
            time="year",
            treated="treated",
            exposure="pop",
            family="poisson",
            inference=se.WildClusterBootstrap(),
        )


def test_randomization_enumerates_every_assignment_like_brute_force_refits():
    """5 LAs, 2 adopters in 2016: C(5, 2) = 10 assignments. Independent check: refit OLS with
    statsmodels for each assignment and count |b| >= |b_obs|."""
    data = read("did/panel_g5.csv")
    with pytest.warns(se.UndefinedIntervalWarning, match="unbounded"):  # 10 assignments
        res = fit(data, se.Randomization())
    assert res.estimate.conf_low == -math.inf and "unbounded" in res.estimate.note
    las = sorted(data["la"].unique())
    observed = smf.ols("y ~ treated + x + C(la) + C(year)", data).fit().params["treated"]
    extreme = 0
    for chosen in itertools.combinations(las, 2):
        d = data.assign(treated=(data["la"].isin(chosen) & (data["year"] >= 2016)).astype(int))
        b = smf.ols("y ~ treated + x + C(la) + C(year)", d).fit().params["treated"]
        extreme += abs(b) >= abs(observed) * (1 - 1e-12)
    assert res.estimate.p_value == pytest.approx(extreme / 10, abs=1e-15)
    assert "all assignments" in res.estimate.method


def test_randomization_for_a_poisson_model_refits_and_says_there_is_no_interval():
    data = read("did/panel_g5.csv")
    res = se.did(
        data,
        outcome="count",
        unit="la",
        time="year",
        treated="treated",
        exposure="pop",
        family="poisson",
        inference=se.Randomization(),
    )
    term = res.term("rate_ratio")
    assert term.p_value >= 0.1 and math.isnan(term.conf_low) and term.note


def test_randomization_interval_is_a_test_inversion():
    data = read("did/panel_g12_unbalanced.csv")
    res = fit(data, se.Randomization(n_resamples=999, rng=3))
    term = res.estimate
    assert term.conf_low < term.estimate < term.conf_high
    assert "999 draws" in term.method
    again = fit(data, se.Randomization(n_resamples=999, rng=3)).estimate
    assert again == term


def test_did_from_counts_equals_the_interaction_of_a_poisson_glm():
    """Independent peer: statsmodels GLM (Poisson, log offset) on the four cells; the
    interaction coefficient and its SE equal log(RRR) and its Wald SE (tolerance 1e-8)."""
    cells = pd.DataFrame(
        {
            "count": [974, 515, 5000, 4800],
            "pop": [160_000, 166_000, 1.0e6, 1.02e6],
            "treated": [1, 1, 0, 0],
            "after": [0, 1, 0, 1],
        }
    )
    design = sm.add_constant(cells[["treated", "after"]].assign(both=cells.treated * cells.after))
    glm = sm.GLM(
        cells["count"], design, family=sm.families.Poisson(), offset=np.log(cells["pop"])
    ).fit(tol=1e-14)
    res = se.did_from_counts(
        treated=((974, 160_000), (515, 166_000)), control=((5000, 1.0e6), (4800, 1.02e6))
    )
    term = res.term("ratio_of_rate_ratios")
    assert math.log(term.estimate) == pytest.approx(glm.params["both"], rel=1e-8)
    assert term.std_error == pytest.approx(glm.bse["both"], rel=1e-8)
    low, high = np.exp(glm.conf_int().loc["both"])
    assert (term.conf_low, term.conf_high) == pytest.approx((low, high), rel=1e-8)


def test_did_from_means_closed_form():
    res = se.did_from_means(
        treated=((68.0, 10, 50), (61.0, 11, 55)), control=((64.0, 9, 200), (66.0, 9.5, 210))
    )
    did = res.term("did")
    variances = [10**2 / 50, 11**2 / 55, 9**2 / 200, 9.5**2 / 210]
    assert did.estimate == -9.0
    assert did.std_error == pytest.approx(math.sqrt(sum(variances)), rel=1e-12)
    df = sum(variances) ** 2 / sum(
        v**2 / (n - 1) for v, n in zip(variances, [50, 55, 200, 210], strict=True)
    )
    assert did.df == pytest.approx(df, rel=1e-12)
    bare = se.did_from_means(treated=(68.0, 61.0), control=(64.0, 66.0))
    assert bare.term("did").estimate == -9.0 and bare.term("did").note


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (
            lambda: se.did_from_counts(treated=((0, 10), (5, 10)), control=((3, 10), (4, 10))),
            UndefinedEffectError,
            ["treated_before", "0"],
        ),
        (
            lambda: se.did_from_counts(treated=((-1, 10), (5, 10)), control=((3, 10), (4, 10))),
            InvalidValueError,
            ["treated_before count", "negative"],
        ),
        (
            lambda: se.did_from_counts(treated=((1, 0), (5, 10)), control=((3, 10), (4, 10))),
            InvalidValueError,
            ["treated_before exposure", "positive"],
        ),
        (
            lambda: se.did_from_means(treated=(68.0,), control=(64.0, 66.0)),
            InvalidValueError,
            ["`treated`", "pair"],
        ),
        (lambda: se.WildClusterBootstrap(weights="normal"), InvalidValueError, ["`weights`"]),
        (lambda: se.Randomization(n_resamples=10), InvalidValueError, ["`n_resamples`"]),
    ],
)
def test_bad_inputs(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)
