"""Sun & Abraham interaction-weighted event study: pyfixest fixtures and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from _staggered_fixtures import max_abs_difference, panel
from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.labels import label
from sfpc_eval.staggered.sun_abraham import sun_abraham

# pyfixest's saturated event study + aggregate() (CRV1, ssc(k_fixef="full"); shares fixed)
# agrees to about 1e-13; 1e-8 allows for platform differences (the brief asks for 1e-6).
TOL = 1e-8


@pytest.mark.parametrize(
    ("case", "name", "time", "kwargs"),
    [
        ("sa_a", "a", "year", {}),
        ("sa_b", "b", "period", {}),
        ("sa_b_last", "b", "period", {"control": "last"}),
    ],
)
def test_matches_pyfixest(case, name, time, kwargs):
    res = sun_abraham(panel(name), "y", "unit", time, "cohort", **kwargs)
    assert max_abs_difference(res, case) < TOL


def test_last_cohort_as_control_reports_dropped_rows():
    df = panel("b")
    res = sun_abraham(df, "y", "unit", "period", "cohort", control="last")
    # cohort 9 is last: periods 9-12 (4 of 12) are left out, for all 60 units
    assert res.n_rows_dropped == 60 * 4
    assert res.n_control_units == 24
    assert "left out" in str(res)


def test_shares_sum_to_one_per_event_time():
    res = sun_abraham(panel("a"), "y", "unit", "year", "cohort")
    cells = res.cohort_effects()
    np.testing.assert_allclose(cells.groupby("event_time")["weight"].sum(), 1.0, atol=1e-14)
    # the aggregated term is the share-weighted mean of the cohort effects
    e1 = cells[cells["event_time"] == 1]
    assert abs((e1["weight"] * e1["estimate"]).sum() - res.term("e=1").estimate) < 1e-12


def test_window_and_plot():
    res = sun_abraham(panel("a"), "y", "unit", "year", "cohort", window=(-2, 3))
    assert res.event_times == (-2, 0, 1, 2, 3)
    assert res.pretrend.df1 == 1
    ax = res.plot(draws=1_000)
    assert ax.get_xlabel() == label("event_time")
    cr2 = res.with_inference(se.ClusterRobust("unit", "CR2"))
    assert cr2.terms[0].estimate == pytest.approx(res.terms[0].estimate, abs=1e-12)
    assert np.isfinite(cr2.terms[0].df)


def test_does_not_modify_input():
    df = panel("b")
    before = df.copy()
    sun_abraham(df, "y", "unit", "period", "cohort", control="last")
    pd.testing.assert_frame_equal(df, before)


def test_bad_control():
    with pytest.raises(InvalidValueError, match=r"`control` must be 'never'.*got 'nyt'"):
        sun_abraham(panel("a"), "y", "unit", "year", "cohort", control="nyt")


def test_last_needs_two_cohorts():
    df = panel("a")
    df = df[df["cohort"].isna() | (df["cohort"] == 2013)]
    with pytest.raises(DesignError, match="control='last' needs at least two treated cohorts"):
        sun_abraham(df, "y", "unit", "year", "cohort", control="last")


def test_reference_missing_for_a_cohort():
    # cohort 2013 is observed from 3 periods before adoption only
    with pytest.raises(
        InvalidValueError,
        match=r"`reference` event time -5 is not observed for "
        r"cohort\(s\) 2013",
    ):
        sun_abraham(panel("a"), "y", "unit", "year", "cohort", reference=-5)


def test_window_outside_the_data():
    with pytest.raises(InvalidValueError, match=r"`window` \(-9, 2\) reaches outside"):
        sun_abraham(panel("a"), "y", "unit", "year", "cohort", window=(-9, 2))


def test_no_never_treated_with_never_controls():
    df = panel("a").dropna(subset=["cohort"])
    with pytest.raises(DesignError, match=r"never-treated comparison units"):
        sun_abraham(df, "y", "unit", "year", "cohort")
    res = sun_abraham(df, "y", "unit", "year", "cohort", control="last")
    assert res.n_control_units == 9


def test_absorbed_fixed_effects_give_the_same_cr1_numbers():
    df = panel("b")
    a = sun_abraham(df, "y", "unit", "period", "cohort").tidy()
    b = sun_abraham(df, "y", "unit", "period", "cohort", absorb=True).tidy()
    np.testing.assert_allclose(a["estimate"], b["estimate"], atol=1e-10)
    np.testing.assert_allclose(a["std_error"], b["std_error"], atol=1e-10)
