"""The random-intercept logistic GLMM against lme4::glmer and against direct integration.

The acceptance comparison (fixed effects and SEs equal ``glmer(..., nAGQ = 1)`` and
``nAGQ = 10`` to 1e-4 relative, random-intercept SD to 1e-3) is ``test_matches_glmer_on_cells``:
glmer fitted on the binomial cell form of the two simulated trials (``cbind(y, n - y)`` per
cluster x period x treatment x covariate pattern, the data ``fit_glmm`` fits), written by
``tests/fixtures/stepped_wedge/make_glmer_cells.R`` to ``glmer_cells.json`` (nlminb, which gets
within 7e-5 relative of the minimum of glmer's own deviance function; the SEs recomputed on
row-permuted copies of the cells, ``se_perm``, measure the reference's own rounding noise: at
most 7.1e-5 relative).

The row-form tests compare with glmer fitted on the child-level rows: reference numbers from
``make_reference.R`` (lme4 1.1-31, R 4.2.2; versions in ``reference.json``) run on the two
simulated trials written by ``make_trials.py`` (seed in ``trials_meta.json``). The R fits use
bobyqa with ``rhoend = 1e-10`` in both stages; the default-control fits are stored too and differ
from these by up to 2e-3 relative on small coefficients. They document glmer's row-level noise:
bobyqa stops short of the minimum of glmer's deviance function, and on Bernoulli rows that
function carries rounding noise which its finite-difference Hessian turns into SEs defined only to
about 2e-4 (``se_perm`` of ``glmer_hessian.json``), so the row-form SE tolerance at nAGQ = 1 is
2e-4.

``make_glmer_hessian.R`` (same fits) stores what lme4 computes the standard errors from: the
optimum to 17 digits, ``fit@optinfo$derivs$Hessian`` (``deriv12`` of the stage-2 deviance
function), the stage-1 linear predictor ``lp0``, the minimiser of lme4's deviance function
(``polished``: bobyqa stops short of it), and the standard errors recomputed as glmer does on the
same data with the rows permuted (``se_perm``), which measure their rounding noise.
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
from sfpc_eval.trials.glmm_lme4 import _derivatives, _pirls_deviance

HERE = Path(__file__).parent / "fixtures" / "stepped_wedge"
REF = json.loads((HERE / "reference.json").read_text())
HESS = json.loads((HERE / "glmer_hessian.json").read_text())
CELLS = json.loads((HERE / "glmer_cells.json").read_text())
COVARIATES = ["age", "female", "disability", "prev_plan"]


def cells(trial: str, row_values=None):
    """Binomial cells of a trial; with ``row_values``, also their mean over each cell's rows."""
    data = pd.read_csv(HERE / f"trial_{trial}.csv")
    data["value"] = 0.0 if row_values is None else row_values
    g = (
        data.groupby(["cluster", "period", "treated", *COVARIATES])
        .agg(sum=("looked_after", "sum"), count=("looked_after", "count"), value=("value", "mean"))
        .reset_index()
    )
    periods = sorted(data["period"].unique())
    columns = [np.ones(len(g))]
    columns += [(g["period"] == p).to_numpy(float) for p in periods[1:]]
    columns += [g["treated"].to_numpy(float)] + [g[c].to_numpy(float) for c in COVARIATES]
    z = np.column_stack(columns)
    cluster = pd.factorize(g["cluster"], sort=True)[0]
    out = z, g["sum"].to_numpy(float), g["count"].to_numpy(float), cluster
    return out if row_values is None else (*out, g["value"].to_numpy(float))


def lme4_numbers(trial: str, nagq: int) -> dict:
    """The fixture's numbers for one fit, as float arrays (stored as 17-digit strings)."""
    return {k: np.array(v, dtype=float) for k, v in HESS[trial][f"nagq{nagq}"].items()}


@pytest.fixture(scope="module", params=["fs", "nwd"])
def trial(request):
    return request.param


def glmer_cells(trial: str, nagq: int) -> dict:
    """glmer's cell-form fit (``glmer_cells.json``): numbers as floats, names kept."""
    ref = CELLS[trial][f"nagq{nagq}"]
    return {
        "names": list(ref["beta"]),
        "beta": np.array(list(ref["beta"].values()), dtype=float),
        "se": np.array(list(ref["se"].values()), dtype=float),
        "theta": float(ref["theta"]),
        "deviance": float(ref["deviance"]),
        "cells": int(ref["cells"]),
        "se_perm": np.array(ref["se_perm"], dtype=float),
    }


def binomial_constant(y, n, nagq: int) -> float:
    """Our deviance minus glmer's cell-form ``-2 logLik`` (zero for Bernoulli rows).

    For ``nAGQ = 1`` lme4 evaluates the Laplace deviance with the family's ``aic()``, which
    includes the log binomial coefficients: glmer's deviance is ours minus ``2 sum log C(n, y)``.
    For ``nAGQ > 1`` it sums deviance residuals, which subtract the saturated log-likelihood:
    glmer's deviance is ours plus ``2 sum [y log(y/n) + (n - y) log((n - y)/n)]``.
    """
    if nagq == 1:
        log_choose = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
        return 2.0 * float(np.sum(log_choose))
    saturated = special.xlogy(y, y / n) + special.xlogy(n - y, (n - y) / n)
    return -2.0 * float(np.sum(saturated))


@pytest.mark.parametrize("nagq", [1, 10])
def test_matches_glmer_on_cells(trial, nagq):
    """The acceptance comparison: glmer on the same binomial cells, nAGQ = 1 and 10.

    Measured (fs nAGQ 1, fs 10, nwd 1, nwd 10): fixed effects plain relative 1.6e-5, 2.6e-5,
    6.6e-5, 3.6e-5 (including the -0.005 period effect of fs); SEs relative 8.8e-6, 1.0e-6,
    4.3e-5, 4.9e-6; SD relative 8.8e-8, 1.1e-7, 2.3e-7, 4.1e-7; deviance, ours minus the binomial
    constant minus glmer's, 3.1e-11, -2.3e-12, 2.2e-9, -1.1e-10.

    Tolerances: 1e-4 (fixed effects, SEs) and 1e-3 (SD) are the acceptance item. What is left of
    the fixed-effect differences is glmer's: nlminb stops with "singular convergence (7)" (recorded
    in the fixture), and glmer's own deviance function is lower at our estimates than at its own
    (by 2.5e-12, 2.0e-12, 2.0e-10, 9.4e-11; Newton steps on it in R land within 1.5e-6 relative
    of our estimates). The reference SEs are defined to their rounding noise, ``se_perm``
    (glmer's SE computation repeated on row-permuted cells): 1.4e-5, 1.6e-6, 7.1e-5, 4.9e-6
    relative, asserted below 1e-4 by test_glmer_cells_reference_noise; our SEs sit within that
    noise. The deviance tolerance, 1e-7 absolute on values of 400 to 1600, leaves room for the
    2e-9 by which lme4's Laplace evaluation depends on where its PIRLS loop starts; a wrong
    constant would be off by hundreds.
    """
    z, y, n, cl = cells(trial)
    ref = glmer_cells(trial, nagq)
    periods = [f"factor(period){p}" for p in range(1, z.shape[1] - 1 - len(COVARIATES))]
    assert ref["names"] == ["(Intercept)", *periods, "treated", *COVARIATES]
    assert ref["cells"] == len(n)
    fit = fit_glmm(z, tuple(ref["names"]), y, n, cl, nagq=nagq)
    np.testing.assert_allclose(fit.beta, ref["beta"], rtol=1e-4)
    np.testing.assert_allclose(fit.std_errors, ref["se"], rtol=1e-4)
    assert fit.theta == pytest.approx(ref["theta"], rel=1e-3)
    deviance = fit.deviance - binomial_constant(y, n, nagq)
    assert deviance == pytest.approx(ref["deviance"], abs=1e-7)


@pytest.mark.parametrize("nagq", [1, 10])
def test_glmer_cells_reference_noise(trial, nagq):
    """The cell-form reference SEs are defined to better than the 1e-4 being tested.

    glmer's SEs recomputed (``deriv12`` at its optimum, ``2 H^-1``) on 8 row-permuted copies of
    the cells move by at most 1.4e-5, 1.6e-6, 7.1e-5, 4.9e-6 relative (fs nAGQ 1, fs 10, nwd 1,
    nwd 10); on the child-level rows the same check gives up to 2.3e-4 (glmer_hessian.json).
    """
    ref = glmer_cells(trial, nagq)
    assert ref["se_perm"].shape == (8, len(ref["se"]))
    assert np.max(np.abs(ref["se_perm"] / ref["se"] - 1)) < 1e-4


@pytest.mark.parametrize("nagq", [10])
def test_agq_matches_glmer(trial, nagq):
    """nAGQ = 10: fixed effects and SEs to 1e-4, SD to 1e-3, relative.

    Fixed effects are compared (i) with glmer's, relative to max(|estimate|, SE): one period
    effect is -0.005, and glmer's bobyqa (rhoend 1e-10) stops up to 2e-5 (absolute) short of the
    minimum of its own deviance function -- measured max |diff| / max(|b|, se) = 2.1e-5 (fs),
    6.5e-6 (nwd), plain relative 5.6e-4, 6.6e-5 -- and (ii) plainly relative with that minimum
    (``polished``, Newton steps on glmer's devfun in R): measured 1.4e-6, 1.1e-7. SEs: measured
    1.8e-5, 4.8e-5 relative (glmer's own rounding noise, ``se_perm``: 1.3e-5, 6.1e-5). SD:
    1.7e-6, 2.2e-7 relative.
    """
    z, y, n, cl = cells(trial)
    fit = fit_glmm(z, tuple(map(str, range(z.shape[1]))), y, n, cl, nagq=nagq)
    ref = REF[trial][f"glmer_nagq{nagq}"]
    beta = np.array(list(ref["beta"].values()))
    se = np.array(list(ref["se"].values()))
    np.testing.assert_array_less(np.abs(fit.beta - beta) / np.maximum(np.abs(beta), se), 1e-4)
    np.testing.assert_allclose(fit.beta, lme4_numbers(trial, nagq)["polished"][1:], rtol=1e-5)
    np.testing.assert_allclose(fit.std_errors, se, rtol=1e-4)
    assert fit.theta == pytest.approx(ref["theta"], rel=1e-3)
    # the AGQ deviance itself equals glmer's -2 logLik at the optimum (1e-12 measured)
    assert fit.deviance == pytest.approx(-2 * ref["loglik"], rel=1e-9)


def test_laplace_matches_glmer(trial):
    """nAGQ = 1, laplace="lme4" (the default): lme4's own Laplace evaluation and SEs.

    Fixed effects: (i) with glmer's, relative to max(|b|, SE) < 1e-4 (measured 4.6e-5 fs,
    1.3e-5 nwd; plain relative 1.1e-3 and 5.6e-5, the -0.005 period effect of fs being off by
    glmer's optimiser, which stops up to 1.6e-5 short of the minimum of its own deviance
    function); (ii) plainly relative with that minimum (``polished``) < 1e-5 (measured 2.6e-8,
    3.4e-7). SD: 1e-3 relative (measured 7.3e-6, 8e-9). Deviance: glmer's -2 logLik to 1e-6
    absolute (measured -2.8e-9, 1.9e-9).

    SEs: 2e-4 relative with glmer's (measured 9.1e-5 fs, 1.45e-4 nwd). The computation is
    lme4's (see test_lme4_hessian_algorithm: same deviance, stencil, step and 2 H^-1); what is
    left is rounding noise in glmer's own deviance function (about 4e-12, against 1.5e-13 here),
    divided by deriv12's delta^2 = 1e-8: glmer's SEs recomputed on row-permuted copies of the
    data move by up to 7e-5 (fs) and 2.3e-4 (nwd), so 1e-4 agreement with a single glmer run
    is not defined on nwd. Against the mean of glmer's SEs over the original and the 8 permuted
    row orders the difference is 1e-4 at most (measured 5.2e-5, 1.2e-5). On the binomial cells
    glmer's SEs are defined to 7.1e-5 and agree with ours to 1e-4: test_matches_glmer_on_cells.
    """
    z, y, n, cl = cells(trial)
    fit = fit_glmm(z, tuple(map(str, range(z.shape[1]))), y, n, cl, nagq=1)
    ref = REF[trial]["glmer_nagq1"]
    lme4 = lme4_numbers(trial, 1)
    beta = np.array(list(ref["beta"].values()))
    se = np.array(list(ref["se"].values()))
    np.testing.assert_array_less(np.abs(fit.beta - beta) / np.maximum(np.abs(beta), se), 1e-4)
    np.testing.assert_allclose(fit.beta, lme4["polished"][1:], rtol=1e-5)
    np.testing.assert_allclose(fit.std_errors, se, rtol=2e-4)
    se_orders = np.vstack([lme4["se"], lme4["se_perm"]])
    np.testing.assert_allclose(fit.std_errors, se_orders.mean(axis=0), rtol=1e-4)
    assert fit.theta == pytest.approx(ref["theta"], rel=1e-3)
    assert fit.deviance == pytest.approx(-2 * ref["loglik"], abs=1e-6)


def test_lme4_hessian_algorithm(trial):
    """At glmer's optimum and from glmer's lp0, the deviance, Hessian and vcov are lme4's.

    This isolates the algorithm from the optimum: the deviance equals glmer's devfun to 1e-10
    absolute (measured 8e-12, 5e-12 on values of 1596 and 849); the deriv12 Hessian equals
    ``fit@optinfo$derivs$Hessian`` to 1e-6 of its largest entry (measured 1.3e-7, 1.9e-7);
    ``vcov(fit)`` is the beta block of 2 H^-1 (to 1e-12). The SEs from our Hessian still differ
    from glmer's by 9e-5 and 1.4e-4: glmer's own rounding noise (se_perm, asserted last).
    """
    lme4 = lme4_numbers(trial, 1)
    z, y, n, cl, lp0 = cells(trial, np.array(HESS[trial]["lp0"], dtype=float))
    par = lme4["par"]

    def devfun(x):
        return _pirls_deviance(x, z, y, n, cl, int(cl.max()) + 1, lp0)[0]

    assert devfun(par) == pytest.approx(float(lme4["deviance"]), abs=1e-10)
    _, hess = _derivatives(devfun, par, devfun(par))
    assert np.max(np.abs(hess - lme4["hessian"])) < 1e-6 * np.max(np.abs(lme4["hessian"]))
    vcov = 2 * np.linalg.inv(lme4["hessian"])[1:, 1:]
    np.testing.assert_allclose(np.sqrt(np.diag(vcov)), lme4["se"], rtol=1e-12)
    # glmer's SEs are defined only to about 1e-4: the same computation on permuted rows
    noise = np.max(np.abs(lme4["se_perm"] / lme4["se"] - 1))
    assert noise > {"fs": 5e-5, "nwd": 1.5e-4}[trial]


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
            return (
                math.exp(loglik + 300)
                * math.exp(-b * b / (2 * theta**2))
                / (math.sqrt(2 * math.pi) * theta)
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
        glmm_deviance(
            np.ones((3, 1)), np.ones(3), np.full(3, 2.0), np.arange(3), 1.0, np.zeros(1), nagq=bad
        )
