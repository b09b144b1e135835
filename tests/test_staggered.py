"""staggered_did dispatcher, and the known-truth simulation across all staggered estimators."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.diff_in_diff.event_study import event_study
from sfpc_eval.errors import InvalidValueError
from sfpc_eval.staggered.bacon import bacon
from sfpc_eval.staggered.choose import staggered_did


def simulate(dynamic: bool, seed: int = 7, noise: float = 0.05) -> pd.DataFrame:
    """120 units x 12 periods, cohorts 4/6/8 + never treated.

    Homogeneous: every treated observation has effect 2. Dynamic and heterogeneous: the effect
    is ``1 + slope_g * e`` with slopes 1.0, 0.5 and 0 for cohorts 4, 6 and 8.
    """
    rng = np.random.default_rng(seed)
    df = pd.DataFrame([(u, t) for u in range(120) for t in range(1, 13)], columns=["u", "t"])
    df["g"] = df["u"].map(lambda u: [4.0, 6.0, 8.0, np.nan][u % 4])
    e = df["t"] - df["g"]
    slope = df["g"].map({4.0: 1.0, 6.0: 0.5, 8.0: 0.0}).fillna(0)
    df["truth"] = np.where(e >= 0, 1.0 + slope * e if dynamic else 2.0, 0.0)
    df["y"] = (
        rng.normal(0, 1, 120)[df["u"]]
        + np.sin(df["t"])
        + df["truth"]
        + rng.normal(0, noise, len(df))
    )
    df["D"] = (e >= 0).astype(int)
    return df


def truth_by_event_time(df: pd.DataFrame) -> pd.Series:
    treated = df[df["D"] == 1]
    return treated.groupby(treated["t"] - treated["g"])["truth"].mean()


def test_homogeneous_effect_all_estimators_agree_with_twfe():
    df = simulate(dynamic=False)
    twfe = se.did(
        df, outcome="y", unit="u", time="t", treated="D", inference=se.ClusterRobust("u", "CR1")
    ).estimate.estimate
    assert abs(twfe - 2) < 0.02  # noise sd 0.05 over 1,440 rows
    sa = staggered_did(df, "y", "u", "t", "g", method="sa").att.estimate
    bjs = staggered_did(df, "y", "u", "t", "g", method="bjs").att.estimate
    cs = staggered_did(df, "y", "u", "t", "g", method="cs").aggregate("simple").overall
    es = event_study(df, "y", "u", "t", "g", window=(-3, 4))
    for value in (
        sa,
        bjs,
        cs,
        *[
            t.estimate
            for t in es.terms
            if not t.term.startswith("e<") and not t.term.startswith("e=-")
        ],
    ):
        assert abs(value - twfe) < 0.03
    assert abs(bacon(df, "y", "u", "t", "g").estimate - twfe) < 1e-10


def test_dynamic_heterogeneous_effects_twfe_biased_others_recover_truth():
    df = simulate(dynamic=True)
    truth = truth_by_event_time(df)
    att_truth = df.loc[df["D"] == 1, "truth"].mean()
    twfe = se.did(
        df, outcome="y", unit="u", time="t", treated="D", inference=se.ClusterRobust("u", "CR1")
    ).estimate.estimate
    assert abs(twfe - att_truth) > 0.5  # the forbidden comparisons bias TWFE (here by ~1)
    decomposition = bacon(df, "y", "u", "t", "g").by_type().set_index("type")
    assert decomposition.loc["later vs earlier treated", "estimate"] < att_truth - 1
    sa = staggered_did(df, "y", "u", "t", "g", method="sun_abraham")
    bjs = staggered_did(df, "y", "u", "t", "g", method="imputation")
    cs = staggered_did(df, "y", "u", "t", "g", method="callaway_santanna").aggregate("dynamic")
    for res in (sa, bjs):
        # noise sd 0.05: every event-time estimate within 0.05 of the truth
        for k, value in zip(res.event_times, res.terms, strict=False):
            if k >= 0:
                assert abs(value.estimate - truth[k]) < 0.05, (res.title, k)
        assert abs(res.att.estimate - att_truth) < 0.03
    cs_table = cs.tidy()
    for row in cs_table[cs_table["term"] != "overall"].itertuples():
        if row.event_time >= 0:
            assert abs(row.estimate - truth[int(row.event_time)]) < 0.05
    # the TWFE event study with binned end points is off at long horizons
    es = event_study(df, "y", "u", "t", "g", window=(-3, 4))
    assert abs(es.term("e>=4").estimate - truth[truth.index >= 4].mean()) > 0.3


@pytest.mark.parametrize("alias", ["sa", "SA", "sun_abraham"])
def test_aliases(alias):
    df = simulate(dynamic=False)
    res = staggered_did(df, "y", "u", "t", "g", method=alias)
    assert res.title.startswith("Sun & Abraham")


def test_kwargs_pass_through():
    df = simulate(dynamic=False)
    res = staggered_did(df, "y", "u", "t", "g", method="bjs", horizons=(0, 2))
    assert res.event_times == (0, 1, 2)


def test_unknown_method():
    with pytest.raises(
        InvalidValueError,
        match=r"`method` 'twfe' is not a staggered estimator; "
        r"choose one of 'callaway_santanna' \('cs'\), 'sun_abraham' \('sa'\) or "
        r"'imputation' \('bjs'\)",
    ):
        staggered_did(simulate(dynamic=False), "y", "u", "t", "g", method="twfe")


def test_single_unit_cohort_warns():
    df = simulate(dynamic=False)
    df.loc[df["u"] == 0, "g"] = 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(se.errors.SingleUnitCohortWarning):
            staggered_did(df, "y", "u", "t", "g", method="sa")
    with pytest.warns(se.errors.SingleUnitCohortWarning, match="single unit"):
        staggered_did(df, "y", "u", "t", "g", method="bjs")


def test_sun_abraham_post_periods_equal_callaway_santanna_never_treated():
    """With never-treated controls, no covariates and a balanced panel, SA's event-time effects
    for e >= 0 equal CS's dynamic aggregation (both compare with period g - 1 and weight
    cohorts by size): an identity, so 1e-10, between two independent implementations."""
    df = simulate(dynamic=True, noise=1.0)
    sa = staggered_did(df, "y", "u", "t", "g", method="sa")
    cs = staggered_did(df, "y", "u", "t", "g", method="cs").aggregate("dynamic").tidy()
    cs = cs[cs["term"] != "overall"].set_index("event_time")["estimate"]
    for k, term in zip(sa.event_times, sa.terms, strict=False):
        if k >= 0:
            assert abs(term.estimate - cs.loc[k]) < 1e-10
