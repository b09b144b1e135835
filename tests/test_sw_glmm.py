"""The random-intercept logistic GLMM against lme4::glmer and against direct integration.

Reference numbers come from ``tests/fixtures/stepped_wedge/make_reference.R`` (lme4 1.1-31,
R 4.2.2; versions in ``reference.json``) run on the two simulated trials written by
``make_trials.py`` (seed in ``trials_meta.json``). The R fits use bobyqa with
``rhoend = 1e-10`` in both stages so that R's optimum is itself precise; the default-control fits
are stored too and differ from these by up to 2e-3 relative on small coefficients.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from sfpc_eval.errors import DesignError, InvalidValueError, SingularFitWarning
from sfpc_eval.trials.glmm import fit_glmm, glmm_deviance

HERE = Path(__file__).parent / "fixtures" / "stepped_wedge"
REF = json.loads((HERE / "reference.json").read_text())
COVARIATES = ["age", "female", "disability", "prev_plan"]


def cells(trial: str):
    data = pd.read_csv(HERE / f"trial_{trial}.csv")
    g = (
        data.groupby(["cluster", "period", "treated", *COVARIATES])["looked_after"]
        .agg(["sum", "count"])
        .reset_index()
    )
    periods = sorted(data["period"].unique())
    columns = [np.ones(len(g))]
    columns += [(g["period"] == p).to_numpy(float) for p in periods[1:]]
    columns += [g["treated"].to_numpy(float)] + [g[c].to_numpy(float) for c in COVARIATES]
    z = np.column_stack(columns)
    cluster = pd.factorize(g["cluster"], sort=True)[0]
    return z, g["sum"].to_numpy(float), g["count"].to_numpy(float), cluster


@pytest.fixture(scope="module", params=["fs", "nwd"])
def trial(request):
    return request.param


@pytest.mark.parametrize("nagq", [10])
def test_agq_matches_glmer(trial, nagq):
    """nAGQ = 10: fixed effects and SEs to 1e-4, SD to 1e-3, relative.

    The fixed-effect tolerance is relative to max(|estimate|, SE): one period effect is
    -0.005, whose plain relative error is dominated by R's optimiser tolerance (its error is
    1e-5 of its SE). Measured: max |diff| / max(|b|, se) = 2.1e-5 (fs), 6.6e-5 (nwd); SE relative
    1.8e-5 / 4.8e-5; SD relative 1.7e-6 / 2.2e-7.
    """
    z, y, n, cl = cells(trial)
    fit = fit_glmm(z, tuple(map(str, range(z.shape[1]))), y, n, cl, nagq=nagq)
    ref = REF[trial][f"glmer_nagq{nagq}"]
    beta = np.array(list(ref["beta"].values()))
    se = np.array(list(ref["se"].values()))
    np.testing.assert_array_less(np.abs(fit.beta - beta) / np.maximum(np.abs(beta), se), 1e-4)
    np.testing.assert_allclose(fit.std_errors, se, rtol=1e-4)
    assert fit.theta == pytest.approx(ref["theta"], rel=1e-3)
    # the AGQ deviance itself equals glmer's -2 logLik at the optimum (1e-12 measured)
    assert fit.deviance == pytest.approx(-2 * ref["loglik"], rel=1e-9)


def test_laplace_matches_glmer(trial):
    """nAGQ = 1, laplace="lme4" (the default): lme4's own Laplace evaluation.

    Tolerances: fixed effects 1e-4 relative to max(|b|, SE) (measured 4.6e-5 fs, 1.3e-5 nwd);
    SEs 2e-4 relative (measured 9.1e-5 fs, 1.5e-4 nwd) -- lme4's SEs come from a
    finite-difference Hessian (step 1e-4) of a function it computes to about 1e-11, and
    recomputing them with steps 3e-4 or 1e-3 in R moves them by 1.3e-4 and 1.4e-4 on the nwd
    trial, so agreement below about 1.5e-4 is not defined; SD 1e-3 (measured 7e-6, 1e-6); the
    deviance equals glmer's -2 logLik to 1e-6 absolute, i.e. 1e-9 relative (measured 5e-9,
    1.2e-7: lme4's PIRLS starts from its own stage-1 fit, ours from an approximation of it).
    """
    z, y, n, cl = cells(trial)
    fit = fit_glmm(z, tuple(map(str, range(z.shape[1]))), y, n, cl, nagq=1)
    ref = REF[trial]["glmer_nagq1"]
    beta = np.array(list(ref["beta"].values()))
    se = np.array(list(ref["se"].values()))
    np.testing.assert_array_less(np.abs(fit.beta - beta) / np.maximum(np.abs(beta), se), 1e-4)
    np.testing.assert_allclose(fit.std_errors, se, rtol=2e-4)
    assert fit.theta == pytest.approx(ref["theta"], rel=1e-3)
    assert fit.deviance == pytest.approx(-2 * ref["loglik"], abs=1e-6)


def test_exact_laplace_sits_below_lme4s_evaluation(trial):
    """laplace="exact": the exact approximation, 3e-6 to 7e-6 below lme4's deviance.

    Its estimates agree with glmer's to 1e-4 of max(|b|, SE) and its SEs to 1% (measured
    2.2e-3 fs, 6.1e-3 nwd): the difference is lme4's, see glmm_lme4.
    """
    z, y, n, cl = cells(trial)
    fit = fit_glmm(z, tuple(map(str, range(z.shape[1]))), y, n, cl, nagq=1, laplace="exact")
    ref = REF[trial]["glmer_nagq1"]
    beta = np.array(list(ref["beta"].values()))
    se = np.array(list(ref["se"].values()))
    np.testing.assert_array_less(np.abs(fit.beta - beta) / np.maximum(np.abs(beta), se), 1e-4)
    np.testing.assert_allclose(fit.std_errors, se, rtol=1e-2)
    gap = -2 * ref["loglik"] - fit.deviance
    assert 1e-6 < gap < 1e-5


def _brute_force(z, y, n, cl, theta, beta):
    """-2 log L by adaptive quad of each cluster's one-dimensional integral (no binomial coef)."""
    total = 0.0
    for g in np.unique(cl):
        mask = cl == g
        eta0 = z[mask] @ beta

        def f(b, eta0=eta0, mask=mask):
            eta = eta0 + b
            loglik = np.sum(y[mask] * eta - n[mask] * np.logaddexp(0, eta))
            return math.exp(loglik + 300) * math.exp(-b * b / (2 * theta**2)) / (
                math.sqrt(2 * math.pi) * theta
            )

        value, _ = integrate.quad(f, -8 * theta - 5, 8 * theta + 5, limit=200, epsabs=0)
        total += -2 * (math.log(value) - 300)
    return total


def test_quadrature_converges_to_the_integral():
    """With 25 points the AGQ deviance equals direct numerical integration (1e-8 relative)."""
    rng = np.random.default_rng(5)
    cl = np.repeat(np.arange(4), 3)
    z = np.column_stack([np.ones(12), np.tile([0.0, 1.0, 1.0], 4)])
    n = np.full(12, 30.0)
    y = rng.binomial(30, 0.3, 12).astype(float)
    beta, theta = np.array([-0.8, 0.3]), 0.7
    exact = _brute_force(z, y, n, cl, theta, beta)
    assert glmm_deviance(z, y, n, cl, theta, beta, nagq=25) == pytest.approx(exact, rel=1e-8)
    # the Laplace approximation is close but not exact (a check that the test can fail)
    assert abs(glmm_deviance(z, y, n, cl, theta, beta, nagq=1) - exact) > 1e-6


def test_rows_and_cells_agree():
    """Fitting Bernoulli rows (cells of one) gives the same fit as binomial cells."""
    z, y, n, cl = cells("nwd")
    rows = np.repeat(np.arange(len(n)), n.astype(int))
    first = np.r_[0, np.cumsum(n.astype(int))[:-1]]
    yr = (np.arange(len(rows)) - first[rows] < y[rows]).astype(float)
    names = tuple(map(str, range(z.shape[1])))
    a = fit_glmm(z, names, y, n, cl, nagq=1)
    b = fit_glmm(z[rows], names, yr, np.ones(len(rows)), cl[rows], nagq=1)
    np.testing.assert_allclose(a.beta, b.beta, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-5)


def test_singular_fit_warns_with_variance():
    rng = np.random.default_rng(11)
    cl = np.repeat(np.arange(6), 2)
    z = np.column_stack([np.ones(12), np.tile([0.0, 1.0], 6)])
    n = np.full(12, 500.0)
    y = rng.binomial(500, special.expit(-1 + 0.3 * z[:, 1])).astype(float)
    with pytest.warns(SingularFitWarning, match=r"variance of the random intercept is estimated"):
        fit = fit_glmm(z, ("a", "b"), y, n, cl)
    assert fit.singular


def test_fewer_than_three_clusters():
    z = np.ones((4, 1))
    with pytest.raises(DesignError, match=r"at least 3 clusters.*data have 2.*Randomization"):
        fit_glmm(z, ("a",), np.array([1.0, 2, 3, 4]), np.full(4, 10.0), np.array([0, 0, 1, 1]))


@pytest.mark.parametrize("bad", [0, 26, 2.5, True])
def test_bad_nagq(bad):
    with pytest.raises(InvalidValueError, match=r"`nagq` must be an integer from 1"):
        glmm_deviance(np.ones((3, 1)), np.ones(3), np.full(3, 2.0), np.arange(3), 1.0,
                      np.zeros(1), nagq=bad)
