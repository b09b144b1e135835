"""Stepped-wedge inference with 4-6 councils: reference distributions, ICC interval, flags.

- Satterthwaite df of the GLMM's treatment effect against the same formula computed in R from
  lme4's own fit (``make_satterthwaite_df.R``; lme4 1.1-31): our fit and lme4's differ by about
  1e-6 relative in theta and its Hessian, which moves the df by a few 1e-6; tolerance 1e-4.
- Between-within df: the closed form ``(G - 1)(T - 1) - 1`` of a complete design.
- The latent ICC's profile-likelihood interval against ``confint(glmer_fit, method =
  "profile")`` (``make_icc_profile.R``): lme4 interpolates the profile by splines, which is
  worth about 1e-4 relative at the limits (measured 7e-5 at nAGQ 1, 1.1e-4 at nAGQ 10);
  tolerance 3e-4. The profile deviance itself, which lme4 does not interpolate, to 1e-4 with
  quadrature (2e-3 for Laplace, whose evaluation differs, see the test).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import DesignError, FewClustersWarning, InvalidValueError
from sfpc_eval.results import Term
from sfpc_eval.trials.analysis_icc import profile_deviance
from sfpc_eval.trials.analysis_result import _with_randomization_p

HERE = Path(__file__).parent / "fixtures" / "stepped_wedge"
SATT = json.loads((HERE / "satterthwaite_df.json").read_text())
ICC = json.loads((HERE / "icc_profile.json").read_text())
COVARIATES = ["age", "female", "disability", "prev_plan"]
ARGS = ("looked_after", "cluster", "period", "treated")


def load(trial: str) -> pd.DataFrame:
    return pd.read_csv(HERE / f"trial_{trial}.csv")


@pytest.mark.parametrize("trial", ["fs", "nwd"])
def test_satterthwaite_df_against_the_formula_on_lme4s_fit(trial):
    res = se.stepped_wedge(load(trial), *ARGS, COVARIATES)
    assert res.estimate.df == pytest.approx(float(SATT[trial]["df"]), rel=1e-4)
    assert res.estimate.valid and "Satterthwaite" in res.estimate.method
    assert res.odds_ratio.df == res.estimate.df


@pytest.mark.parametrize(("trial", "expected"), [("fs", 4 * 5 - 1), ("nwd", 3 * 4 - 1)])
def test_between_within_df_is_the_closed_form(trial, expected):
    data = load(trial)
    assert data.groupby(["cluster", "period"]).size().shape[0] == (
        data["cluster"].nunique() * data["period"].nunique()
    )  # complete designs
    res = se.stepped_wedge(data, *ARGS, COVARIATES, df_method="between_within")
    assert res.estimate.df == expected


def test_wald_z_only_on_request_warns_and_is_not_valid():
    with pytest.warns(FewClustersWarning, match="Wald z"):
        res = se.stepped_wedge(load("nwd"), *ARGS, df_method="z")
    assert math.isinf(res.estimate.df) and not res.estimate.valid
    assert "not valid with 4 clusters" in res.estimate.note
    assert "\u2020" in str(res.summary())
    default = se.stepped_wedge(load("nwd"), *ARGS)
    assert default.estimate.valid and default.estimate.df < math.inf
    # same fit, same estimate and standard error: only the reference distribution differs
    assert default.estimate.std_error == res.estimate.std_error


def test_boundary_fit_gets_the_between_cluster_df():
    rng = np.random.default_rng(11)
    rows = pd.DataFrame(
        [(c, t) for c in range(5) for t in range(6) for _ in range(150)], columns=["la", "period"]
    )
    rows["treated"] = (rows["period"] > rows["la"]).astype(int)
    rows["y"] = rng.binomial(1, 0.2, len(rows))  # no cluster effect at all
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", se.SingularFitWarning)
        res = se.stepped_wedge(rows, "y", "la", "period", "treated")
    if res.random_sd >= 1e-4:
        pytest.skip("this draw did not give a boundary fit")
    assert res.estimate.df == 4 and "boundary fit" in res.estimate.note


def test_randomization_p_and_model_interval_that_disagree_are_flagged():
    term = Term("treated", -0.3, 0.1, conf_low=-0.5, conf_high=-0.1, p_value=0.003)
    flagged = _with_randomization_p(term, 0.067, "randomization over rollout", "GLMM", 0.95)
    assert not flagged.valid and "disagree about significance" in flagged.note
    agree = _with_randomization_p(term, 0.01, "randomization over rollout", "GLMM", 0.95)
    assert agree.valid and agree.p_value == 0.01
    ratio = Term("odds_ratio", 0.9, conf_low=0.7, conf_high=1.1)  # includes 1: not significant
    assert not _with_randomization_p(ratio, 0.02, "r", "GLMM", 0.95).valid


def test_df_method_bad_inputs():
    with pytest.raises(InvalidValueError, match="df_method"):
        se.stepped_wedge(load("nwd"), *ARGS, df_method="residual")
    with pytest.raises(InvalidValueError, match="is for model='glmm'"):
        se.stepped_wedge(load("nwd"), *ARGS, model="gee", df_method="z")


@pytest.mark.parametrize("trial", [28, 118])
def test_gee_negative_working_correlation_is_independence(trial):
    """Family Safeguarding-sized trials (thousands of children per council) whose moment
    estimate of rho is negative: trial 28 used to raise numpy's LinAlgError (rho below
    -1 / (n_max - 1)), trial 118 to oscillate between 0 and that bound without converging. With
    rho truncated at 0 the GEE's estimating equations are the logistic GLM's, so its estimates
    equal statsmodels' binomial GLM on the same rows (1e-6 relative)."""
    import sys

    import statsmodels.api as sm

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "validation"))
    import sw_validity

    data = sw_validity.simulate("fs", 0.01, 1.0, [20261204, 0, 0, 0, trial])
    res = se.stepped_wedge(data, *ARGS, model="gee")
    assert res.rho == 0.0 and math.isfinite(res.estimate.std_error)
    x = pd.get_dummies(data["period"], prefix="p", drop_first=True, dtype=float)
    x = sm.add_constant(pd.concat([x, data[["treated"]].astype(float)], axis=1))
    glm = sm.GLM(data["looked_after"], x, family=sm.families.Binomial()).fit()
    assert res.estimate.estimate == pytest.approx(glm.params["treated"], rel=1e-6)


@pytest.mark.parametrize("nagq", [1, 10])
@pytest.mark.parametrize("trial", ["fs", "nwd"])
def test_icc_profile_interval_against_lme4(trial, nagq):
    res = se.stepped_wedge(load(trial), *ARGS, COVARIATES, nagq=nagq)
    ref = ICC[trial][f"nagq{nagq}"]
    ci = res.icc()
    low, high = (float(v) for v in ref["ci_95"])
    assert ci.sd_low == pytest.approx(low, rel=3e-4)
    assert ci.sd_high == pytest.approx(high, rel=3e-4)
    assert ci.icc == pytest.approx(ci.sd**2 / (ci.sd**2 + math.pi**2 / 3))
    assert ci.icc_low < ci.icc < ci.icc_high
    fit = res._core["glmm_fit"]
    best = profile_deviance(fit, ci.sd)[0]
    # at nAGQ 1 lme4 evaluates its Laplace deviance at the penultimate PIRLS iterate
    # (trials/glmm_lme4.py) and we profile the exact Laplace approximation: their profiles
    # differ by up to 1.1e-3 (measured); with quadrature both are the same function
    tolerance = 2e-3 if nagq == 1 else 1e-4
    for sd, dev in zip(ref["profile_sd"], ref["profile_deviance"], strict=True):
        assert profile_deviance(fit, float(sd))[0] - best == pytest.approx(
            float(dev), abs=tolerance
        )
    rows = {t.term: t for t in ci.terms()}
    assert set(rows) == {"icc_latent", "random_sd", "cac"} and "not estimated" in rows["cac"].note


def test_icc_interval_at_another_level_and_for_other_models():
    res = se.stepped_wedge(load("nwd"), *ARGS, COVARIATES)
    ci80 = res.icc(level=0.8)
    low, high = (float(v) for v in ICC["nwd"]["nagq1"]["ci_80"])
    assert ci80.sd_low == pytest.approx(low, rel=3e-4)
    assert ci80.sd_high == pytest.approx(high, rel=3e-4)
    with pytest.raises(DesignError, match="Fit model='glmm'"):
        se.stepped_wedge(load("nwd"), *ARGS, model="gee").icc()
