"""Goodman-Bacon decomposition: weights sum to 1 and reproduce TWFE; 2x2s against pyfixest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from _staggered_fixtures import panel, reference
from sfpc_eval.errors import DesignError
from sfpc_eval.staggered.bacon import bacon


@pytest.mark.parametrize(("name", "time"), [("a", "year"), ("b", "period")])
def test_weights_sum_to_one_and_reproduce_did(name, time):
    df = panel(name)
    res = bacon(df, "y", "unit", time, "cohort")
    assert abs(res.comparisons["weight"].sum() - 1) < 1e-12
    assert (res.comparisons["weight"] > 0).all()
    treated = df.assign(D=(df[time] >= df["cohort"]).astype(int))
    twfe = se.did(treated, outcome="y", unit="unit", time=time, treated="D").estimate.estimate
    # the decomposition is an identity: only rounding separates the two (brief: 1e-10)
    assert abs(res.estimate - twfe) < 1e-10
    assert abs(res.twfe - twfe) < 1e-10


@pytest.mark.parametrize(
    ("case", "name", "time"), [("bacon_a", "a", "year"), ("bacon_b", "b", "period")]
)
def test_two_by_two_estimates_match_pyfixest_subsample_twfe(case, name, time):
    """Each 2x2 equals the pyfixest TWFE coefficient on its own subsample (to 1e-10)."""
    res = bacon(panel(name), "y", "unit", time, "cohort")
    expected = reference()[case]
    assert len(res.comparisons) == len(expected)
    for row in res.comparisons.itertuples():
        assert abs(row.estimate - expected[f"{row.treated}|{row.control}"]) < 1e-10


def test_no_never_treated_units():
    """Timing comparisons only; checked against a dense least-squares TWFE fit."""
    df = panel("a").dropna(subset=["cohort"])
    res = bacon(df, "y", "unit", "year", "cohort")
    assert set(res.comparisons["type"]) == {"earlier vs later treated", "later vs earlier treated"}
    d = (df["year"] >= df["cohort"]).astype(float).to_numpy()
    fe = pd.get_dummies(df[["unit", "year"]].astype(str), drop_first=True).to_numpy(float)
    x = np.column_stack([d, np.ones(len(df)), fe])
    beta, *_ = np.linalg.lstsq(x, df["y"].to_numpy(), rcond=None)
    assert abs(res.estimate - beta[0]) < 1e-10
    assert abs(res.comparisons["weight"].sum() - 1) < 1e-12


def test_by_type_and_plot():
    res = bacon(panel("b"), "y", "unit", "period", "cohort")
    table = res.by_type()
    assert abs(table["weight"].sum() - 1) < 1e-12
    assert abs((table["weight"] * table["estimate"]).sum() - res.estimate) < 1e-12
    ax = res.plot()
    assert ax.get_xlabel() == "weight"
    assert "Later vs earlier treated" in str(res)  # the label of "later vs earlier treated"


def test_does_not_modify_input():
    df = panel("a").dropna(subset=["cohort"])
    before = df.copy()
    bacon(df, "y", "unit", "year", "cohort")
    pd.testing.assert_frame_equal(df, before)


def test_unbalanced_panel_refused():
    with pytest.raises(DesignError, match="unbalanced"):
        bacon(panel("a").iloc[3:], "y", "unit", "year", "cohort")


def test_treated_in_first_period_refused():
    df = panel("a")
    df.loc[df["unit"] == 0, "cohort"] = 2010
    with pytest.raises(DesignError, match="treated in the first period"):
        bacon(df, "y", "unit", "year", "cohort")
