"""honest_did on the library's own results, its result object, and its bad inputs.

The numbers themselves are checked against moderndid and diff-diff in
``test_honest_did_reference.py``; here the library's estimators must hand HonestDiD exactly the
coefficients and covariance the reference fixtures were computed from, every event-study-type
result must be accepted (or refused with a reason), and bad inputs get typed errors.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.diff_in_diff.honest_core import robust_interval

matplotlib.use("Agg")

FIXTURES = Path(__file__).parent / "fixtures" / "honest_did"
REFERENCE = json.loads((FIXTURES / "honest_reference.json").read_text())
STUDIES = {s["name"]: s for s in REFERENCE["studies"]}
CR1 = se.ClusterRobust


@pytest.fixture(scope="module")
def ehec_es():
    df = pd.read_csv(FIXTURES / "ehec_panel.csv")
    return se.event_study(
        df, "dins", "stfips", "year", "cohort", window=(-6, 1), inference=CR1("stfips", "CR1")
    )


@pytest.fixture(scope="module")
def sim_panel():
    return pd.read_csv(FIXTURES / "simulated_panel.csv")


@pytest.fixture(scope="module")
def sim_es(sim_panel):
    return se.event_study(
        sim_panel, "y", "unit", "period", "cohort", window=(-5, 3), inference=CR1("unit", "CR1")
    )


def _small_estimates(**kw):
    base = {
        "event_times": (-3, -2, 0, 1),
        "estimates": np.array([0.02, 0.0, 0.3, 0.4]),
        "vcov": np.eye(4) * 0.004,
        "reference": -1,
    }
    base.update(kw)
    return se.EventTimeEstimates(**base)


# ------------------------------------------------------------------ extraction from results
@pytest.mark.parametrize(("name", "fixture"), [("ehec", "ehec_es"), ("simulated", "sim_es")])
def test_event_study_hands_over_the_fixture_coefficients(name, fixture, request):
    """Our TWFE event study with CR1 (Stata convention) reproduces the generator's plain-numpy
    OLS: coefficients to 1e-12 and covariance to 1e-9 relative (rounding only)."""
    study = STUDIES[name]
    est = request.getfixturevalue(fixture).event_time_estimates()
    betahat, sigma, n_pre, post = est.split()
    assert n_pre == study["n_pre"] and len(post) == study["n_post"]
    np.testing.assert_allclose(betahat, study["betahat"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sigma, study["sigma"], rtol=1e-9, atol=0)


def test_honest_did_on_event_study_equals_the_array_core(sim_es):
    study = STUDIES["simulated"]
    res = se.honest_did(sim_es, m_values=[1.0], target="average", lf_draws=1000)
    core = robust_interval(
        np.array(study["betahat"]),
        np.array(study["sigma"]),
        4,
        np.full(4, 0.25),
        "relative_magnitude",
        1.0,
        0.05,
        lf_draws=1000,
        seed=0,
    )
    row = res.tidy().iloc[1]
    # same arrays up to 1e-9 relative -> same interval to well under the 1e-6 shown
    assert row["conf_low"] == pytest.approx(core.conf_low, abs=1e-7)
    assert row["conf_high"] == pytest.approx(core.conf_high, abs=1e-7)


def test_sun_abraham_with_one_cohort_gives_the_event_study_intervals(sim_panel, sim_es):
    """One adoption cohort and never-treated controls: Sun & Abraham's interaction-weighted
    estimates are the TWFE event-study coefficients, so the HonestDiD intervals coincide."""
    sa = se.sun_abraham(sim_panel, "y", "unit", "period", "cohort", window=(-5, 3))
    a = se.honest_did(sa, restriction="smoothness", m_values=[0.0, 0.01])
    b = se.honest_did(sim_es, restriction="smoothness", m_values=[0.0, 0.01])
    np.testing.assert_allclose(
        a.tidy()[["conf_low", "conf_high"]], b.tidy()[["conf_low", "conf_high"]], atol=1e-10
    )


def test_callaway_dynamic_universal_base(sim_panel, sim_es):
    """With one cohort the CS ATT(g, t) against the universal base period are the TWFE
    coefficients; the covariance comes from the influence functions (no small-sample factor),
    a constant multiple of CR1 here."""
    cs = se.callaway_santanna(sim_panel, "y", "unit", "period", "cohort", base_period="universal")
    est = cs.aggregate("dynamic").event_time_estimates()
    ref = sim_es.event_time_estimates()
    assert est.event_times == ref.event_times and est.reference == -1
    np.testing.assert_allclose(est.estimates, ref.estimates, atol=1e-12)
    ratio = np.diag(est.vcov) / np.diag(ref.vcov)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    res = se.honest_did(cs.aggregate("dynamic"), m_values=[0.5])
    assert res.n_pre == 4 and res.post_event_times == (0, 1, 2, 3)
    assert np.isfinite(res.tidy()["conf_low"]).all()


def test_callaway_varying_base_is_refused(sim_panel):
    cs = se.callaway_santanna(sim_panel, "y", "unit", "period", "cohort")
    with pytest.raises(se.DesignError, match="base_period='universal'"):
        se.honest_did(cs.aggregate("dynamic"))


def test_callaway_non_dynamic_aggregation_is_refused(sim_panel):
    cs = se.callaway_santanna(sim_panel, "y", "unit", "period", "cohort", base_period="universal")
    with pytest.raises(se.InvalidValueError, match="'dynamic'"):
        se.honest_did(cs.aggregate("group"))


def test_imputation_result_without_leads_is_refused(sim_panel):
    res = se.imputation(sim_panel, "y", "unit", "period", "cohort")
    with pytest.raises(se.DesignError, match="no reference period"):
        se.honest_did(res)


# ------------------------------------------------------------------ the result object
def test_result_tidy_summary_and_breakdown(sim_es):
    res = se.honest_did(sim_es, m_values=[0.5, 1.0, 2.0], target="average", lf_draws=1000)
    tidy = res.tidy()
    assert list(tidy.columns[: len(se.TIDY_COLUMNS)]) == list(se.TIDY_COLUMNS)
    assert list(tidy["term"]) == ["original", "Mbar=0.5", "Mbar=1", "Mbar=2"]
    assert math.isnan(tidy["m"].iloc[0]) and list(tidy["m"].iloc[1:]) == [0.5, 1.0, 2.0]
    assert (tidy["restriction"] == "relative_magnitude").all()
    # the robust rows carry no standard error: said in the note, not a silent NaN
    assert tidy["std_error"].iloc[1:].isna().all()
    assert tidy["note"].iloc[1:].str.contains("no standard error").all()
    # breakdown: the interval excludes 0 just below it and contains 0 just above it
    bd = res.breakdown_value
    assert 0 < bd < 2
    b, s = np.array(STUDIES["simulated"]["betahat"]), np.array(STUDIES["simulated"]["sigma"])
    below = robust_interval(
        b, s, 4, np.full(4, 0.25), "relative_magnitude", bd * 0.999, 0.05, lf_draws=1000
    )
    above = robust_interval(
        b, s, 4, np.full(4, 0.25), "relative_magnitude", bd * 1.001, 0.05, lf_draws=1000
    )
    assert below.excludes_zero() and not above.excludes_zero()
    text = str(res)
    assert "Breakdown value" in text and "Mbar =" in text


def test_default_grids_follow_r(sim_es):
    rm = se.honest_did(sim_es, lf_draws=1000)
    np.testing.assert_allclose(rm.m_values, np.linspace(0, 2, 10))
    sd = se.honest_did(sim_es, restriction="smoothness")
    b, s = np.array(STUDIES["simulated"]["betahat"]), np.array(STUDIES["simulated"]["sigma"])
    # R's DeltaSD_upperBound_Mpre: largest second difference of (leads, 0) + z_0.95 se
    rows = np.array([[1, -2, 1, 0], [0, 1, -2, 1], [0, 0, 1, -2]], dtype=float)
    upper = max(
        np.max(rows @ b[:4] + 1.6448536269514722 * np.sqrt(np.diag(rows @ s[:4, :4] @ rows.T))),
        np.max(-rows @ b[:4] + 1.6448536269514722 * np.sqrt(np.diag(rows @ s[:4, :4] @ rows.T))),
    )
    np.testing.assert_allclose(sd.m_values, np.linspace(0, upper, 10), rtol=1e-12)


def test_conf_int_at_another_level_recomputes(sim_es):
    res = se.honest_did(sim_es, restriction="smoothness", m_values=[0.01])
    wide = res.conf_int(0.99)
    narrow = res.conf_int(0.95)
    assert wide.loc["M=0.01", "conf_low"] < narrow.loc["M=0.01", "conf_low"]
    assert wide.loc["M=0.01", "conf_high"] > narrow.loc["M=0.01", "conf_high"]


def test_target_event_time_and_weights(sim_es):
    by_time = se.honest_did(sim_es, restriction="smoothness", m_values=[0.01], target=2)
    by_weights = se.honest_did(
        sim_es, restriction="smoothness", m_values=[0.01], target=[0, 0, 1, 0]
    )
    np.testing.assert_allclose(
        by_time.tidy()[["conf_low", "conf_high"]], by_weights.tidy()[["conf_low", "conf_high"]]
    )
    assert by_time.weights == (0.0, 0.0, 1.0, 0.0)


def test_plot_draws_original_and_robust_intervals(sim_es):
    res = se.honest_did(sim_es, m_values=[0.5, 1.0, 2.0], target="average", lf_draws=1000)
    ax = res.plot()
    labels = [line.get_label() for line in ax.get_lines()]
    assert "original" in labels and "C-LF" in labels
    assert ax.get_xlabel().startswith("Mbar")


@pytest.mark.parametrize("m", [0.0, 0.05, 0.3])
def test_one_lead_smoothness_closed_form(m):
    """One lead (e=-2) suffices for Delta^SD: the only unbiased estimator under a linear trend
    through the reference is beta_0 + beta_-2, and its worst-case bias over Delta^SD(M) is M
    (the one second difference, delta_0 + delta_-2). So the FLCI is
    ``beta_0 + beta_-2 -/+ cv_alpha(M / sd) sd``, cv the folded-normal quantile."""
    from scipy import optimize, stats

    vcov = np.array([[0.010, 0.002, 0.001], [0.002, 0.012, 0.004], [0.001, 0.004, 0.015]])
    est = se.EventTimeEstimates((-2, 0, 1), np.array([0.05, 0.4, 0.5]), vcov, reference=-1)
    res = se.honest_did(est, restriction="smoothness", m_values=[m])
    center = 0.05 + 0.4
    sd = np.sqrt(0.010 + 0.012 + 2 * 0.002)
    t = m / sd
    cv = optimize.brentq(
        lambda c: stats.norm.cdf(c - t) - stats.norm.cdf(-c - t) - 0.95, 0, 20, xtol=1e-14
    )
    row = res.tidy().iloc[1]
    assert row["conf_low"] == pytest.approx(center - cv * sd, abs=1e-12)
    assert row["conf_high"] == pytest.approx(center + cv * sd, abs=1e-12)


def test_invalid_input_variance_marks_every_row():
    """A covariance the event study itself flags as invalid for the design (e.g. CR1 with one
    treated council) makes every HonestDiD row invalid, with the reason."""
    why = "CR1 is not valid with one treated cluster"
    res = se.honest_did(
        _small_estimates(valid=False, note=why), restriction="smoothness", m_values=[0.0]
    )
    tidy = res.tidy()
    assert not tidy["valid"].any()
    assert tidy["note"].str.contains(why).all()


# ------------------------------------------------------------------ bad inputs
def test_result_without_pre_periods(sim_panel):
    """Event study whose only pre-adoption period is the reference; CS aggregated from e = 0."""
    es = se.event_study(
        sim_panel, "y", "unit", "period", "cohort", window=(-1, 3), bin_endpoints=False
    )
    with pytest.raises(se.DesignError, match="no pre-period coefficient"):
        se.honest_did(es)
    cs = se.callaway_santanna(sim_panel, "y", "unit", "period", "cohort", base_period="universal")
    with pytest.raises(se.DesignError, match="no pre-period estimate"):
        se.honest_did(cs.aggregate("dynamic", min_e=0))


@pytest.mark.parametrize("restriction", ["relative_magnitude", "smoothness"])
def test_only_the_reference_period_before_adoption(restriction):
    """Both restrictions need a lead besides the reference period (Delta^RM: one pre-period
    first difference; Delta^SD: the second difference through the reference)."""
    est = _small_estimates(event_times=(0, 1, 2, 3))
    with pytest.raises(se.DesignError, match="at least one lead"):
        se.honest_did(est, restriction=restriction)


@pytest.mark.parametrize("restriction", ["relative_magnitude", "smoothness"])
def test_negative_bound(restriction):
    with pytest.raises(se.InvalidValueError, match="non-negative"):
        se.honest_did(_small_estimates(), restriction=restriction, m_values=[0.5, -0.1])


@pytest.mark.parametrize("weights", [[1.0], [0.2, 0.3, 0.5]])
def test_weights_of_the_wrong_length(weights):
    with pytest.raises(se.InvalidValueError, match="one entry per post-period"):
        se.honest_did(_small_estimates(), target=weights)


def test_weights_summing_to_zero():
    with pytest.raises(se.InvalidValueError, match="sum to zero"):
        se.honest_did(_small_estimates(), target=[1.0, -1.0])


def test_result_type_without_event_times():
    with pytest.raises(se.InvalidValueError, match="no event times"):
        se.honest_did(se.compare_counts(974, 515))


def test_gaps_in_event_times():
    est = _small_estimates(event_times=(-4, -2, 0, 1))
    with pytest.raises(se.DesignError, match="consecutive"):
        se.honest_did(est)


def test_binned_end_points_with_pooled_rows(sim_panel):
    es = se.event_study(sim_panel, "y", "unit", "period", "cohort", window=(-3, 2))
    assert es.n_outside_window > 0
    with pytest.raises(se.DesignError, match="bin_endpoints=False"):
        se.honest_did(es)
    unbinned = se.event_study(
        sim_panel, "y", "unit", "period", "cohort", window=(-3, 2), bin_endpoints=False
    )
    assert se.honest_did(unbinned, restriction="smoothness", m_values=[0.0]).n_pre == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"restriction": "linear"}, "restriction"),
        ({"target": "last"}, "target"),
        ({"target": 5}, "not a post-period event time"),
        ({"m_values": [math.nan]}, "finite"),
        ({"conf_level": 1.5}, "conf_level"),
        ({"lf_draws": 10}, "lf_draws"),
        ({"rng": np.random.default_rng(1)}, "rng"),
        ({"method": "FLCI"}, "C-LF"),
    ],
)
def test_other_bad_arguments(kwargs, match):
    with pytest.raises(se.InvalidValueError, match=match):
        se.honest_did(_small_estimates(), **kwargs)


def test_unbounded_interval_is_said_not_silent():
    """At Mbar = 1e6 the interval is wider than the search range (20 sd widened 8 times by 4,
    about 1.3 million sd): reported as unbounded, with a note and a warning, not cut off at the
    grid's end as R's fixed grid would."""
    est = se.EventTimeEstimates(
        (-3, -2, 0, 1), np.array([0.0, 0.1, 0.3, 0.4]), np.eye(4) * 0.01, reference=-1
    )
    with pytest.warns(se.UndefinedIntervalWarning, match="unbounded"):
        res = se.honest_did(est, m_values=[1e6], target="average")
    row = res.tidy().iloc[1]
    assert row["conf_low"] == -np.inf and row["conf_high"] == np.inf
    assert "cannot bound" in row["note"]
