"""Rubin's rules with Barnard-Rubin df against mice::pool and mice::pool.scalar.

``make_reference.R`` imputes the missing ``disability`` values of the No Wrong Door-shaped
trial with mice 3.15 (pmm, m = 5, seed 2026) and saves the imputed values
(``nwd_imputations.csv``; the tests rebuild the 5 completed data sets from them). It fits the
logistic GLM on each with ``glm`` and pools with ``mice::pool``; it also pools the CR2 variance
of the treatment effect (clubSandwich, with the mean Satterthwaite df as complete-data df) with
``mice::pool.scalar``. The Python side fits the same 5 data sets with
``stepped_wedge(model="glm", cluster_effects=False)``. Tolerance 1e-6 relative; measured 5e-8.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.inference.cluster import Classical
from sfpc_eval.trials.analysis import stepped_wedge
from sfpc_eval.trials.pooling import barnard_rubin_df, fit_each, pool

HERE = Path(__file__).parent / "fixtures" / "stepped_wedge"
REF = json.loads((HERE / "reference.json").read_text())
COVARIATES = ["age", "female", "disability", "prev_plan"]


@pytest.fixture(scope="module")
def imputed():
    """The 5 completed data sets: trial_nwd_missing.csv with mice's imputed values filled in."""
    missing = pd.read_csv(HERE / "trial_nwd_missing.csv")
    values = pd.read_csv(HERE / "nwd_imputations.csv")
    sets = []
    for _, fill in values.groupby("imp"):
        data = missing.copy()
        data.loc[fill["row"].to_numpy() - 1, "disability"] = fill["disability"].to_numpy()
        assert not data["disability"].isna().any()
        sets.append(data)
    return sets


def test_pool_matches_mice_pool(imputed):
    fits = fit_each(
        imputed,
        lambda d: stepped_wedge(
            d,
            "looked_after",
            "cluster",
            "period",
            "treated",
            COVARIATES,
            model="glm",
            inference=Classical(),
            cluster_effects=False,
        ),
    )
    res = pool(fits)
    ref = REF["mice"]["glm"]
    table = res.tidy()
    assert len(table) == len(ref["estimate"])
    np.testing.assert_allclose(table["estimate"], ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose(table["std_error"], ref["std_error"], rtol=1e-6)
    np.testing.assert_allclose(table["df"], ref["df"], rtol=1e-6)
    assert res.df_complete.iloc[0] == ref["dfcom"]


def test_pool_cluster_robust_matches_pool_scalar(imputed):
    fits = [
        stepped_wedge(
            d,
            "looked_after",
            "cluster",
            "period",
            "treated",
            COVARIATES,
            model="glm",
            cluster_effects=False,
        )
        for d in imputed
    ]
    res = pool(fits, terms=["treated"])
    ref = REF["mice"]["cr2_treated"]
    np.testing.assert_allclose([f.coef["treated"] for f in fits], ref["estimates"], rtol=1e-8)
    np.testing.assert_allclose([f.df_complete["treated"] for f in fits], ref["dfs"], rtol=1e-6)
    assert res.term("treated").estimate == pytest.approx(ref["qbar"], rel=1e-6)
    assert res.total["treated"] == pytest.approx(ref["t"], rel=1e-6)
    assert res.term("treated").df == pytest.approx(ref["df"], rel=1e-6)


def test_closed_form_without_between_variance():
    """Identical fits: no between-imputation variance, lambda floored at 1e-4 as in mice."""
    fit = (pd.Series({"b": 0.3}), pd.DataFrame({"b": [0.01]}, index=["b"]), 50.0)
    res = pool([fit, fit, fit])
    assert res.term("b").std_error == pytest.approx(0.1)
    lam = 1e-4
    old = 2 / lam**2
    obs = 51 / 53 * 50 * (1 - lam)
    assert res.term("b").df == pytest.approx(old * obs / (old + obs), rel=1e-12)
    assert barnard_rubin_df(3, np.zeros(1), np.ones(1), np.array([np.inf]))[0] == old


def test_pool_refuses_bad_input():
    fit = (pd.Series({"b": 0.3}), pd.DataFrame({"b": [0.01]}, index=["b"]), 50.0)
    other = (pd.Series({"c": 0.3}), pd.DataFrame({"c": [0.01]}, index=["c"]), 50.0)
    with pytest.raises(InvalidValueError, match=r"at least 2 imputed data sets; got 1"):
        pool([fit])
    with pytest.raises(InvalidValueError, match=r"`results\[1\]` lacks coefficients 'b'"):
        pool([fit, other])
    with pytest.raises(InvalidValueError, match=r"`results\[0\]` has no `coef` and `vcov`"):
        pool([object(), fit])
