"""glance(): one row of model facts per result, with a fixed schema and checked values.

The values are checked against independent sources: counts of the data the model was fitted on
(pandas), R-squared against statsmodels OLS with dummy fixed effects (1e-10), the GLMM
log-likelihood against lme4::glmer's logLik (tests/fixtures/stepped_wedge/reference.json,
lme4 1.1.31; absolute 1e-5, the tolerance of the fit itself), and the GLM log-likelihood
against statsmodels Logit on the child-level rows (1e-8 relative).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import sfpc_eval as se
from _every_result import every_result
from sfpc_eval import datasets
from sfpc_eval.labels import has_label
from sfpc_eval.results import GLANCE_COLUMNS

HERE = Path(__file__).parent / "fixtures" / "stepped_wedge"
REF = json.loads((HERE / "reference.json").read_text())
SW_ARGS = ("looked_after", "cluster", "period", "treated")
SW_COVARIATES = ["age", "female", "disability", "prev_plan"]


@pytest.fixture(scope="module")
def results():
    return every_result()


def test_every_result_glances_with_the_fixed_schema(results):
    frames = []
    for name, res in results.items():
        g = res.glance()
        assert list(g.columns) == list(GLANCE_COLUMNS), name
        assert len(g) == 1, name
        assert g["conf_level"].iloc[0] == res.conf_level
        assert g["estimator"].iloc[0], f"{name} has no estimator code"
        assert has_label(g["estimator"].iloc[0]), name
        inference = g["inference"].iloc[0]
        assert inference == "" or has_label(inference), f"{name}: no label for {inference!r}"
        frames.append(g)
    bound = pd.concat(frames, ignore_index=True)  # rows of many results bind
    assert len(bound) == len(results)
    assert str(bound["n_obs"].dtype) == "Int64" and str(bound["r_squared"].dtype) == "float64"


def test_did_facts_are_the_data_behind_the_fit(results):
    panel = datasets.council_panel()
    g = results["did_cr2"].glance().iloc[0]
    assert g["n_obs"] == len(panel)
    assert g["n_units"] == panel["la"].nunique() == g["n_clusters"]
    assert g["n_periods"] == panel["year"].nunique()
    assert g["n_treated"] == panel.loc[panel["treated"] == 1, "la"].nunique() == 1
    assert (g["estimator"], g["family"], g["inference"]) == ("did", "gaussian", "CR2")
    assert g["fixed_effects"] == "la, year"
    assert g["inference_df"] == results["did_cr2"].term("treated").df
    assert results["did_wild"].glance()["inference"].iloc[0] == "wild_bootstrap"
    assert results["did_randomization"].glance()["inference"].iloc[0] == "randomization"


@pytest.mark.filterwarnings("ignore::sfpc_eval.errors.FewTreatedClustersWarning")
@pytest.mark.parametrize("outcome", ["cpp_rate", "cla_rate"])
def test_r_squared_matches_statsmodels_ols_with_dummies(outcome):
    panel = datasets.council_panel()
    res = se.did(panel, outcome=outcome, unit="la", time="year", treated="treated")
    ref = smf.ols(f"{outcome} ~ treated + C(la) + C(year)", data=panel).fit()
    assert res.glance()["r_squared"].iloc[0] == pytest.approx(ref.rsquared, rel=1e-10)
    absorbed = se.did(
        panel,
        outcome=outcome,
        unit="la",
        time="year",
        treated="treated",
        absorb=True,
        inference=se.ClusterRobust("la", kind="CR1"),
    )
    assert absorbed.glance()["r_squared"].iloc[0] == pytest.approx(ref.rsquared, rel=1e-10)


def test_glmm_log_likelihood_is_glmers():
    data = pd.read_csv(HERE / "trial_fs.csv")
    res = se.stepped_wedge(data, *SW_ARGS, SW_COVARIATES, model="glmm")
    g = res.glance().iloc[0]
    assert g["log_likelihood"] == pytest.approx(REF["fs"]["glmer_nagq1"]["loglik"], abs=1e-5)
    assert (g["estimator"], g["family"], g["n_obs"]) == ("glmm", "binomial", len(data))
    assert g["n_clusters"] == data["cluster"].nunique()
    assert g["n_periods"] == data["period"].nunique()


def test_glm_log_likelihood_is_statsmodels_logit_on_rows():
    data = pd.read_csv(HERE / "trial_fs.csv")
    res = se.stepped_wedge(data, *SW_ARGS, SW_COVARIATES, model="glm")
    x = pd.get_dummies(data[["cluster", "period"]].astype(str), drop_first=True, dtype=float)
    x = sm.add_constant(pd.concat([x, data[["treated", *SW_COVARIATES]].astype(float)], axis=1))
    ref = sm.Logit(data["looked_after"], x).fit(disp=0, tol=1e-12, maxiter=200)
    assert res.glance()["log_likelihood"].iloc[0] == pytest.approx(ref.llf, rel=1e-8)
    gee = se.stepped_wedge(data, *SW_ARGS, SW_COVARIATES, model="gee")
    assert math.isnan(gee.glance()["log_likelihood"].iloc[0])  # quasi-likelihood only


def test_staggered_facts_count_the_cohorts(results):
    panel = datasets.staggered_panel()
    panel = panel[panel["year"] >= 2015]
    adopters = panel.loc[panel["cohort"].notna(), "la"].nunique()
    for name in ("callaway", "cs_dynamic", "event_study"):
        g = results[name].glance().iloc[0]
        assert g["n_treated"] == adopters == 12, name
        assert g["n_units"] == panel["la"].nunique(), name


def test_aggregates_and_pools_carry_their_models_facts(results):
    parent = results["callaway"].glance().drop(columns=["inference_df"])
    child = results["cs_dynamic"].glance().drop(columns=["inference_df"])
    pd.testing.assert_frame_equal(parent, child)
    assert results["cs_dynamic"].glance()["inference_df"].iloc[0] == math.inf
    pooled = results["pooled"].glance().iloc[0]
    assert (pooled["estimator"], pooled["inference"], pooled["family"]) == (
        "pooled",
        "rubin",
        "binomial",
    )


def test_comparisons_report_their_sizes(results):
    assert results["counts"].glance()["n_obs"].iloc[0] == 974 + 515
    assert results["proportions"].glance()["n_obs"].iloc[0] == 140 + 100
    assert results["means"].glance()["n_obs"].iloc[0] == 1200 + 1250
    assert results["paired"].glance()["n_obs"].iloc[0] == 6
    assert results["synthetic_control"].glance()["pre_rmspe"].iloc[0] == pytest.approx(
        results["synthetic_control"].pre_rmspe
    )
    assert np.isnan(results["counts"].glance()["r_squared"].iloc[0])
