"""Pre-period diagnostics (leads, joint test, placebo in time) of every DiD-type result.

Independent checks:

- with one adoption date on a balanced panel, the two-way fixed-effects event study with one
  dummy per event time has a closed form: lead ``e`` is the treated group's change from the
  reference period to ``e`` minus the comparison group's (exact, tolerance 1e-9);
- the placebo estimate is the closed-form DiD of the pre-adoption periods with adoption moved
  ``k`` periods earlier (exact, 1e-9);
- the joint test under CR1 is the Wald F of the leads with statsmodels' clustered covariance
  (which applies Stata's CR1 factor), against F(q, G - 1) (1e-8 relative).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

import sfpc_eval as se
from sfpc_eval.errors import DesignError, InvalidValueError


def panel(n_units=12, treated=4, years=range(2010, 2020), start=2015, trend=0.0, seed=2):
    """A balanced LA x year panel; ``trend`` adds a pre-existing trend to the treated units."""
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame([(u, y) for u in range(n_units) for y in years], columns=["la", "year"])
    is_treated = rows["la"] < treated
    rows["treated"] = (is_treated & (rows["year"] >= start)).astype(int)
    rows["rate"] = (
        50
        + rows["la"]
        + 0.5 * (rows["year"] - 2010)
        + trend * is_treated * (rows["year"] - 2010)
        - 3 * rows["treated"]
        + rng.normal(0, 1, len(rows))
    )
    rows["cohort"] = np.where(is_treated, float(start), np.nan)
    return rows


def closed_form_lead(data, year, reference):
    treated = data["la"] < 4
    change = (
        data[data["year"] == year].set_index("la")["rate"]
        - data[data["year"] == reference].set_index("la")["rate"]
    )
    return (
        change[treated.groupby(data["la"]).first()].mean()
        - change[~treated.groupby(data["la"]).first()].mean()
    )


def test_did_leads_equal_the_closed_form_and_the_event_study():
    data = panel()
    res = se.did(data, outcome="rate", unit="la", time="year", treated="treated")
    check = res.pretrends()
    assert check.event_times == (-5, -4, -3, -2)
    assert check.reference == -1
    for e, term in zip(check.event_times, check.leads, strict=True):
        expected = closed_form_lead(data, 2015 + e, 2014)
        assert term.estimate == pytest.approx(expected, abs=1e-9), e
    es = se.event_study(
        data,
        "rate",
        "la",
        "year",
        "cohort",
        bin_endpoints=False,
        inference=se.ClusterRobust("la", "CR2"),
    )
    by_time = dict(zip(es.event_times, es.terms, strict=False))
    for e, term in zip(check.event_times, check.leads, strict=True):
        assert term.std_error == pytest.approx(by_time[e].std_error, rel=1e-12)


def test_joint_test_under_cr1_is_the_clustered_wald_f():
    data = panel()
    res = se.did(
        data,
        outcome="rate",
        unit="la",
        time="year",
        treated="treated",
        inference=se.ClusterRobust("la", "CR1"),
    )
    check = res.pretrends()
    frame = data.copy()
    e = frame["year"] - frame["cohort"]
    names = []
    for k in sorted(set(e.dropna().astype(int)) - {-1}):
        name = f"d{k + 10}"
        frame[name] = (e == k).astype(float)
        names.append((k, name))
    ols = smf.ols(
        "rate ~ " + " + ".join(n for _, n in names) + " + C(la) + C(year)", data=frame
    ).fit(cov_type="cluster", cov_kwds={"groups": frame["la"]})
    leads = [n for k, n in names if k < -1]
    b = ols.params[leads].to_numpy()
    v = ols.cov_params().loc[leads, leads].to_numpy()
    f = float(b @ np.linalg.solve(v, b)) / len(leads)
    joint = check.joint_test
    assert joint.statistic == pytest.approx(f, rel=1e-8)
    assert joint.p_value == pytest.approx(stats.f.sf(f, len(leads), 11), rel=1e-8)
    assert joint.valid  # four treated councils: CR1 is valid


def test_placebo_equals_the_closed_form_pre_period_did():
    data = panel()
    res = se.did(data, outcome="rate", unit="la", time="year", treated="treated")
    placebo = res.pretrends(placebo_shift=2).placebo
    pre = data[data["year"] < 2015]
    treated = pre["la"] < 4
    fake = pre["year"] >= 2013
    expected = (
        pre[treated & fake]["rate"].mean()
        - pre[treated & ~fake]["rate"].mean()
        - (pre[~treated & fake]["rate"].mean() - pre[~treated & ~fake]["rate"].mean())
    )
    assert placebo.estimate == pytest.approx(expected, abs=1e-9)
    assert placebo.term == "placebo"


def test_a_visible_pretrend_fails_the_check_in_words():
    data = panel(n_units=30, treated=12, trend=1.0)
    res = se.did(data, outcome="rate", unit="la", time="year", treated="treated")
    check = res.pretrends(placebo_shift=2)
    assert check.passed is False
    assert check.verdict().startswith("The pre-period check failed")
    flat = se.did(
        panel(n_units=30, treated=12), outcome="rate", unit="la", time="year", treated="treated"
    ).pretrends(placebo_shift=2)
    assert flat.passed is True and flat.verdict().startswith("The pre-period check passed")


def test_one_treated_council_cr2_is_not_valid_and_randomization_is():
    data = panel(treated=1)
    data["cohort"] = np.where(data["la"] < 1, 2015.0, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", se.FewTreatedClustersWarning)
        res = se.did(data, outcome="rate", unit="la", time="year", treated="treated")
    cr2 = res.pretrends(placebo_shift=2)
    assert not any(t.valid for t in cr2.terms)
    assert cr2.passed is None and cr2.verdict().startswith("No valid test")
    assert "one treated cluster" in cr2.joint_test.note
    with pytest.warns(se.UndefinedIntervalWarning, match="unbounded"):  # 12 assignments
        by_permutation = res.with_inference(se.Randomization())
    ri = by_permutation.pretrends(placebo_shift=2)  # its placebo row's note says it, no warning
    assert all(t.valid for t in ri.terms)
    assert ri.joint_test.p_value >= 1 / 12  # 12 assignments: p cannot go below 1/12
    assert "little power" in ri.verdict()
    assert "\u2020" in str(cr2.summary())  # invalid rows are marked in the table


def test_event_study_sun_abraham_imputation_and_callaway_all_have_pretrends():
    rng = np.random.default_rng(4)
    rows = pd.DataFrame(
        [(u, t) for u in range(40) for t in range(2010, 2020)], columns=["la", "year"]
    )
    rows["g"] = rows["la"].map(lambda u: [2014.0, 2016.0, np.nan, np.nan][u % 4])
    rows["y"] = 0.1 * rows["la"] + 2.0 * (rows["year"] >= rows["g"]) + rng.normal(0, 1, len(rows))
    es = se.event_study(rows, "y", "la", "year", "g")
    sa = se.sun_abraham(rows, "y", "la", "year", "g")
    imp = se.imputation(rows, "y", "la", "year", "g", pretrend_leads=3)
    cs = se.callaway_santanna(rows, "y", "la", "year", "g")
    for result in (es, sa, imp, cs):
        check = se.pretrends(result, placebo_shift=1, data=rows)
        assert all(e < 0 for e in check.event_times)
        assert check.joint_test is not None and 0 <= check.joint_test.p_value <= 1
        assert check.placebo is not None and math.isfinite(check.placebo.estimate)
        assert set(check.tidy()["term"]) >= {"leads_joint_test", "placebo"}
    # the leads are the estimator's own pre-period estimates
    cs_check = cs.pretrends()
    dynamic = cs.aggregate("dynamic")
    own = {int(e): t.estimate for e, t in zip(dynamic.index, dynamic.terms, strict=False)}
    assert all(
        own[e] == t.estimate for e, t in zip(cs_check.event_times, cs_check.leads, strict=True)
    )
    sa_leads = {e: t.estimate for e, t in zip(sa.event_times, sa.terms, strict=False) if e < 0}
    assert (
        dict(
            zip(
                se.pretrends(sa).event_times,
                [t.estimate for t in se.pretrends(sa).leads],
                strict=True,
            )
        )
        == sa_leads
    )
    assert se.pretrends(imp).joint.p_value == imp.pretrend.p_value
    # an imputation fit without pretrend_leads gets every lead from the data
    bare = se.imputation(rows, "y", "la", "year", "g")
    # (every lead but the longest: all of them would add up to the units' fixed effects)
    assert se.pretrends(bare, data=rows).event_times == (-5, -4, -3, -2, -1)


def test_callaway_joint_test_is_the_wald_statistic_of_the_influence_functions():
    rng = np.random.default_rng(5)
    rows = pd.DataFrame([(u, t) for u in range(60) for t in range(1, 8)], columns=["u", "t"])
    rows["g"] = rows["u"].map(lambda u: [4.0, 5.0, np.nan][u % 3])
    rows["y"] = rows["t"] * 0.3 + rng.normal(0, 1, len(rows)) + (rows["t"] >= rows["g"])
    cs = se.callaway_santanna(rows, "y", "u", "t", "g")
    agg = cs.aggregate("dynamic")
    pre = np.asarray(agg.index) < 0
    psi = agg.influence[:, pre]
    vcov = psi.T @ psi / len(psi) ** 2
    theta = agg.estimates[pre]
    wald = float(theta @ np.linalg.solve(vcov, theta))
    assert agg.pretrend.statistic == pytest.approx(wald, rel=1e-10)
    assert agg.pretrend.p_value == pytest.approx(stats.chi2.sf(wald, pre.sum()), rel=1e-10)
    text = str(agg.summary())
    assert "Pre-period joint test" in text and "uniform band" in text


def test_bad_inputs_are_typed_errors():
    data = panel()
    res = se.did(data, outcome="rate", unit="la", time="year", treated="treated")
    with pytest.raises(InvalidValueError, match="outside the pre-period"):
        res.pretrends(placebo_shift=5)  # 2015 - 5 = 2010, the first year: nothing before it
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(InvalidValueError, match="placebo_shift"):
            res.pretrends(placebo_shift=bad)
    counts = data.assign(n=np.round(data["rate"]).astype(int), pop=1000)
    poisson = se.did(
        counts,
        outcome="n",
        unit="la",
        time="year",
        treated="treated",
        family="poisson",
        exposure="pop",
    )
    with pytest.raises(DesignError, match="linear model"):
        poisson.pretrends()
    short = panel(years=range(2014, 2018))
    with pytest.raises(DesignError, match="no estimate before adoption"):
        se.did(short, outcome="rate", unit="la", time="year", treated="treated").pretrends()
    with pytest.raises(InvalidValueError, match="DiD-type results"):
        se.pretrends(se.compare_counts(974, 515))
    cs = se.callaway_santanna(data, "rate", "la", "year", "cohort")
    with pytest.raises(InvalidValueError, match="needs the data"):
        cs.pretrends(placebo_shift=1)


def test_contrasts_with_the_treatment_carry_its_validity():
    data = panel(treated=1)
    data["x"] = np.arange(len(data)) % 7
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", se.FewTreatedClustersWarning)
        res = se.did(
            data, outcome="rate", unit="la", time="year", treated="treated", covariates=["x"]
        )
    assert not res.contrast({"treated": 1, "x": 2}).valid
    assert res.contrast({"x": 1}).valid  # a covariate alone is not the treated cluster's
