"""Borusyak-Jaravel-Spiess imputation estimator: pyfixest did2s fixtures, closed form, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _staggered_fixtures import max_abs_difference, panel, reference
from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.labels import label
from sfpc_eval.staggered.imputation import imputation

# pyfixest.did2s (first-stage fixed effects recovered at lsqr tolerance 1e-14 in the generator)
# agrees to about 1e-13; 1e-8 allows for platform differences (the brief asks for 1e-6).
TOL = 1e-8


@pytest.mark.parametrize(
    ("case", "name", "time", "kwargs"),
    [
        ("imp_a", "a", "year", {}),
        ("imp_a_covariate", "a", "year", {"covariates": ["x"]}),
        ("imp_a_weighted", "a", "year", {"weights": "w"}),
        ("imp_b", "b", "period", {"horizons": (0, 5)}),
    ],
)
def test_matches_did2s(case, name, time, kwargs):
    res = imputation(panel(name), "y", "unit", time, "cohort", **kwargs)
    assert max_abs_difference(res, case) < TOL


def test_effects_equal_closed_form_imputation():
    """Y(0) from a dense least-squares fit of unit and year dummies on untreated rows."""
    df = panel("a")
    res = imputation(df, "y", "unit", "year", "cohort")
    treated = (df["year"] >= df["cohort"]).to_numpy()
    x = pd.get_dummies(df[["unit", "year"]].astype(str), drop_first=True).to_numpy(float)
    x = np.column_stack([np.ones(len(df)), x])
    beta, *_ = np.linalg.lstsq(x[~treated], df["y"].to_numpy()[~treated], rcond=None)
    tau = (df["y"].to_numpy() - x @ beta)[treated]
    effects = res.effects().sort_values(["unit", "year"])
    np.testing.assert_allclose(effects["effect"].to_numpy(), tau, atol=1e-10)
    assert abs(res.att.estimate - tau.mean()) < 1e-10


def test_anticipation_moves_the_first_stage():
    df = panel("a")
    res = imputation(df, "y", "unit", "year", "cohort", anticipation=1)
    assert res.event_times[0] == -1
    assert res.n_untreated_obs == int((~(df["year"] >= df["cohort"] - 1)).sum())


def test_plot_and_bands():
    res = imputation(panel("b"), "y", "unit", "period", "cohort")
    bands = res.bands(draws=2_000)
    assert (bands["band_high"] >= bands["conf_high"]).all()
    assert res.plot(draws=1_000).get_xlabel() == label("event_time")


def test_does_not_modify_input():
    df = panel("a")
    before = df.copy()
    imputation(df, "y", "unit", "year", "cohort", covariates=["x"])
    pd.testing.assert_frame_equal(df, before)


def test_period_with_no_untreated_unit():
    df = panel("a").dropna(subset=["cohort"])
    with pytest.raises(DesignError, match="2017"):
        imputation(df, "y", "unit", "year", "cohort")


def test_horizons_outside_the_data():
    with pytest.raises(InvalidValueError, match=r"`window` \(0, 20\) reaches outside"):
        imputation(panel("a"), "y", "unit", "year", "cohort", horizons=(0, 20))


def test_unknown_cluster_column():
    with pytest.raises(InvalidValueError, match="`cluster` column 'county' is not in the data"):
        imputation(panel("a"), "y", "unit", "year", "cohort", cluster="county")


def test_collinear_covariate():
    df = panel("a").assign(unit_code=lambda d: d["unit"] * 2.0)
    with pytest.raises(DesignError, match="singular"):
        imputation(df, "y", "unit", "year", "cohort", covariates=["unit_code"])


@pytest.mark.parametrize(
    ("case", "name", "time", "leads"),
    [("imp_a_pretrend", "a", "year", 3), ("imp_b_pretrend", "b", "period", 2)],
)
def test_bjs_pretrend_test_matches_pyfixest(case, name, time, leads):
    """BJS Test 1 against pyfixest feols + wald_test on the untreated rows (Wald to 1e-8, p to
    1e-10); the effects themselves do not change."""
    expected = reference()[case]
    res = imputation(panel(name), "y", "unit", time, "cohort", pretrend_leads=leads)
    test = res.pretrend
    assert abs(test.statistic * test.df1 - expected["wald"]) < 1e-8
    assert (test.df1, test.df2) == (expected["dfn"], expected["dfd"])
    assert abs(test.p_value - expected["p_value"]) < 1e-10
    plain = imputation(panel(name), "y", "unit", time, "cohort")
    assert [t.estimate for t in plain.terms] == [t.estimate for t in res.terms]


def test_pretrend_leads_not_available():
    with pytest.raises(InvalidValueError, match=r"`pretrend_leads=9` asks for leads 8, 9"):
        imputation(panel("a"), "y", "unit", "year", "cohort", pretrend_leads=9)
    with pytest.raises(InvalidValueError, match=r"`pretrend_leads` must be a whole number"):
        imputation(panel("a"), "y", "unit", "year", "cohort", pretrend_leads=0)
