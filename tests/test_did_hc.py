"""Heteroskedasticity-robust (HC0/HC1) variances against statsmodels, and through collapsing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import sfpc_eval as se

DID = Path(__file__).parent / "fixtures" / "did"


def test_hc1_matches_statsmodels_wls():
    """statsmodels WLS with cov_type='HC1' and t(n - k) reference; tolerance 1e-10."""
    d = pd.read_csv(DID / "panel_g12_unbalanced.csv", comment="#")
    res = se.did(
        d,
        outcome="y",
        unit="la",
        time="year",
        treated="treated",
        covariates=["x"],
        weights="w",
        inference=se.HeteroskedasticityRobust(),
    )
    ref = smf.wls("y ~ treated + x + C(la) + C(year)", d, weights=d["w"]).fit(
        cov_type="HC1", use_t=True
    )
    for name in ("treated", "x"):
        term = res.term(name)
        assert term.estimate == pytest.approx(ref.params[name], rel=1e-10)
        assert term.std_error == pytest.approx(ref.bse[name], rel=1e-10)
        assert term.p_value == pytest.approx(ref.pvalues[name], rel=1e-8)


def test_hc0_poisson_matches_statsmodels_glm():
    """statsmodels GLM(Poisson, offset log pop) with cov_type='HC0'; tolerance 1e-7 (IRLS)."""
    d = pd.read_csv(DID / "panel_g5.csv", comment="#")
    res = se.did(
        d,
        outcome="count",
        unit="la",
        time="year",
        treated="treated",
        exposure="pop",
        family="poisson",
        inference=se.HeteroskedasticityRobust("HC0"),
    )
    ref = smf.glm(
        "count ~ treated + C(la) + C(year)",
        d,
        family=sm.families.Poisson(),
        offset=np.log(d["pop"]),
    ).fit(cov_type="HC0", tol=1e-14)
    assert res.estimate.estimate == pytest.approx(ref.params["treated"], rel=1e-8)
    assert res.estimate.std_error == pytest.approx(ref.bse["treated"], rel=1e-7)


@pytest.mark.parametrize("family", ["gaussian", "binomial", "poisson"])
def test_hc1_survives_collapsing_with_weights(family):
    rng = np.random.default_rng(5)
    n = 30_000
    frame = pd.DataFrame(
        {
            "la": rng.integers(0, 8, n),
            "t": rng.integers(0, 4, n),
            "age": rng.integers(0, 3, n),
            "w": rng.uniform(0.5, 2.0, n).round(2),
        }
    )
    frame["treated"] = ((frame["la"] < 3) & (frame["t"] >= 2)).astype(int)
    frame["y"] = (rng.random(n) < 0.2 + 0.05 * frame["age"]).astype(int)
    kwargs = dict(
        outcome="y",
        unit="la",
        time="t",
        treated="treated",
        covariates=["age"],
        weights="w",
        family=family,
        inference=se.HeteroskedasticityRobust(),
    )
    a, b = se.did(frame, **kwargs), se.did(frame, **kwargs, collapse_rows=False)
    assert a.n_cells < b.n_cells
    np.testing.assert_allclose(
        a._var.vcov, b._var.vcov, rtol=0, atol=1e-10 * np.abs(b._var.vcov).max()
    )


def test_average_marginal_effect_matches_statsmodels_discrete_change():
    """statsmodels Logit.get_margeff(at="overall", dummy=True): the average discrete change
    of the treatment dummy and its delta-method SE with the model-based variance (1e-6:
    both sides stop their Newton iterations near 1e-12)."""
    d = pd.read_csv(DID / "panel_g12_children.csv", comment="#")
    ref = smf.logit("y_bin ~ treated + x + C(la) + C(period)", d).fit(disp=0, tol=1e-12)
    frame = ref.get_margeff(at="overall", method="dydx", dummy=True).summary_frame()
    res = se.did(
        d,
        outcome="y_bin",
        unit="la",
        time="period",
        treated="treated",
        covariates=["x"],
        family="binomial",
        inference=se.Classical(),
    )
    term = res.term("average_marginal_effect")
    assert term.estimate == pytest.approx(frame.loc["treated", "dy/dx"], rel=1e-6)
    assert term.std_error == pytest.approx(frame.loc["treated", "Std. Err."], rel=1e-6)
