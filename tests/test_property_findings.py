"""Plain regression tests for what the property-based suite (tests/properties) found (issue 19).

Each case is the shrunk example hypothesis reported, written out by hand: before the fix it
ended in an untyped exception (ZeroDivisionError, ValueError, LinAlgError) or an unexplained
NaN; now it is a typed error naming the cause, or a result whose rows say why.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.cells.fit import fit_cells
from sfpc_eval.errors import (
    DesignError,
    InvalidValueError,
    SeparationError,
    UndefinedIntervalWarning,
)
from sfpc_eval.inference.cluster import contrast_standard_error, standard_error, standard_errors


def two_by_two() -> pd.DataFrame:
    """Two councils in two years, one treated in the second: the DiD regression is saturated."""
    return pd.DataFrame(
        {
            "la": ["A", "A", "B", "B"],
            "year": [2010, 2011, 2010, 2011],
            "y": [61.0, 61.0, 59.0, 44.0],
            "treated": [0, 0, 0, 1],
        }
    )


@pytest.mark.parametrize(
    "inference",
    [None, se.HeteroskedasticityRobust(), se.ClusterRobust(kind="CR1"), se.ClusterRobust()],
    ids=["default", "HC1", "CR1", "CR2"],
)
def test_a_saturated_did_is_a_design_error_not_a_division_by_zero(inference):
    # before: HC1 and CR1 divided by n - k = 0 (ZeroDivisionError); CR2 gave a standard error
    # of exactly 0 and a zero-width interval
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DesignError, match="saturated: 4 coefficients for 4 observations"):
            se.did(two_by_two(), outcome="y", unit="la", time="year", treated="treated",
                   inference=inference)  # fmt: skip


def test_a_did_with_residual_degrees_of_freedom_still_fits():
    frame = pd.concat([two_by_two(), two_by_two().assign(la=["C", "C", "D", "D"], treated=0)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = se.did(frame, outcome="y", unit="la", time="year", treated="treated",
                     inference=se.HeteroskedasticityRobust())  # fmt: skip
    # closed form: treated change -15 minus the mean comparison change (0 - 15 + 0) / 3 = -5,
    # so the DiD is -10
    assert res.headline.estimate == pytest.approx(-10.0, abs=1e-9)


def es_panel(y) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "la": ["LA0", "LA0", "LA1", "LA1", "LA2", "LA2"],
            "year": [2010, 2011] * 3,
            "y": y,
            "cohort": [2011.0, 2011.0, np.nan, np.nan, np.nan, np.nan],
        }
    )


def test_an_event_study_whose_variance_rounds_below_zero_gives_a_zero_standard_error():
    # before: math.sqrt of a variance of about -1e-30 raised "math domain error"
    frame = es_panel([5.392520, 4.715791, 4.840690, 4.200121, 6.385745, 5.745176])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = se.event_study(frame, "y", "la", "year", "cohort", bin_endpoints=False,
                                 inference=se.HeteroskedasticityRobust())  # fmt: skip
        except DesignError as err:  # the saturated fit may be refused instead: also typed
            assert "saturated" in str(err)
            return
    assert all(t.std_error >= 0 or math.isnan(t.std_error) for t in res.terms)


def test_an_event_study_of_a_constant_outcome_reports_the_pretrend_test_untestable():
    # before: np.linalg.solve on the all-zero variance of the leads raised LinAlgError
    frame = es_panel([0.0] * 6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = se.event_study(frame, "y", "la", "year", "cohort", reference=0,
                                 bin_endpoints=False)  # fmt: skip
        except DesignError:
            return
    assert res is not None
    assert any(issubclass(w.category, UndefinedIntervalWarning) for w in caught)


def test_standard_errors_of_variances_rounded_below_zero_are_zero():
    assert standard_error(-1e-20, scale=1.0) == 0.0
    assert standard_error(9.0, scale=9.0) == 3.0
    assert standard_errors(np.array([[4.0, 0.0], [0.0, -1e-19]])).tolist() == [2.0, 0.0]
    # c'Vc of a PSD matrix: (1, -1) through [[1, 1], [1, 1]] is 0 up to rounding
    assert contrast_standard_error(np.array([1.0, -1.0]), np.ones((2, 2))) == 0.0
    with pytest.raises(DesignError, match="not positive semi-definite"):
        standard_error(-0.5, scale=1.0)


def test_a_series_whose_squares_overflow_is_refused_naming_the_rows():
    # before: its() on rates of 5e201 returned NaN standard errors without a word
    t = np.arange(6)
    frame = pd.DataFrame({"year": 2000 + t, "rate": (50 + 0.3 * t) * 1e200})
    with pytest.raises(InvalidValueError, match=r"beyond the range .* rows 0, 1, 2, 3, 4"):
        se.its(frame, outcome="rate", time="year", start=2003)


def test_a_column_of_vanishing_magnitudes_is_refused():
    frame = two_by_two().assign(y=lambda d: d["y"] * 1e-150)
    with pytest.raises(InvalidValueError, match="beyond the range"):
        se.did(frame, outcome="y", unit="la", time="year", treated="treated")


def test_bacon_rows_say_they_have_no_interval():
    frame = pd.DataFrame(
        {
            "la": ["A", "A", "B", "B"],
            "year": [2010, 2011] * 2,
            "y": [61.0, 61.0, 59.0, 44.0],
            "cohort": [np.nan, np.nan, 2011.0, 2011.0],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = se.bacon(frame, "y", "la", "year", "cohort")
    # a 2x2 design: the decomposition is the one comparison, (44 - 59) - (61 - 61) = -15
    assert res.headline.estimate == pytest.approx(-15.0)
    assert all("no interval" in t.note for t in res.terms)


def trial_with_an_empty_period() -> pd.DataFrame:
    """Three clusters, three periods, no event at all in period 1."""
    rows = []
    outcomes = {(0, 0): [0, 1], (0, 2): [0, 1], (1, 2): [0, 0], (2, 0): [1, 0], (2, 2): [1, 0]}
    for c, switch in enumerate([1, 1, 2]):
        for period in range(3):
            for y in outcomes.get((c, period), [0, 0]):
                rows.append((f"C{c}", period, int(period >= switch), y))
    return pd.DataFrame(rows, columns=["cluster", "period", "treated", "outcome"])


@pytest.mark.parametrize("model", ["glmm", "gee", "glm"])
def test_a_period_without_events_is_a_separation_error_naming_it(model):
    # before: every model ended in scipy's Cholesky LinAlgError in the starting logistic fit
    frame = trial_with_an_empty_period()
    with pytest.raises(SeparationError, match="the outcome is 0 in every row of period 1"):
        se.stepped_wedge(frame, "outcome", "cluster", "period", "treated", model=model)


def test_a_logit_cell_fit_that_breaks_down_is_a_separation_error():
    # a design that is full rank but whose outcome is perfectly predicted by x: the working
    # weights vanish and the information matrix loses definiteness
    x = np.array([0.0, 0.0, 1.0, 1.0])
    z = np.column_stack([np.ones(4), x])
    sums = {
        "sum_w": np.full(4, 10.0),
        "sum_wy": np.array([0.0, 0.0, 10.0, 10.0]),
        "sum_wy2": np.array([0.0, 0.0, 10.0, 10.0]),
        "sum_we": np.full(4, 10.0),
    }
    with pytest.raises((SeparationError, DesignError)):
        fit_cells(z, ("(intercept)", "x"), sums, np.arange(4), family="binomial", n_obs=40)


@pytest.mark.parametrize(
    ("treated", "control"),
    [((0, 10), (0, 10)), (0.0, 0.0), ((0, 1), (0, 1))],
    ids=["counts", "bare_proportions", "exact"],
)
def test_a_ratio_of_two_zero_proportions_is_undefined_not_infinite(treated, control):
    # before: 0 / 0 was reported as an infinite risk ratio and odds ratio, and with bare
    # proportions without any warning; the exact odds ratio was NaN without a note
    method = "exact" if treated == (0, 1) else "woolf"
    with pytest.warns(UndefinedIntervalWarning):
        res = se.compare_proportions(treated, control, odds_ratio_method=method)
    for name in ("risk_ratio", "odds_ratio"):
        assert math.isnan(res.term(name).estimate) and res.term(name).note
    assert res.risk_difference.estimate == 0.0


def test_a_bare_control_proportion_of_zero_gives_an_infinite_ratio_with_a_warning():
    with pytest.warns(UndefinedIntervalWarning) as caught:
        res = se.compare_proportions(0.2, 0.0)
    assert any("risk_ratio is infinite" in str(w.message) for w in caught)
    assert math.isinf(res.term("risk_ratio").estimate)
    assert "infinite" in res.term("risk_ratio").note


def test_the_rate_difference_interval_is_in_order_and_inverts_the_score_test():
    # before: statsmodels returned the limits swapped at 80%: [3662.6, 3509.1] around 3585
    from scipy import optimize
    from statsmodels.stats import rates

    res = se.compare_counts(1, 3586, conf_level=0.8)
    term = res.term("difference")
    assert term.conf_low < term.estimate < term.conf_high

    # independent check: each limit is where the score test's p-value equals 1 - level
    def excess(value):
        test = rates.test_poisson_2indep(3586, 1, 1, 1, method="score", compare="diff",
                                         value=value)  # fmt: skip
        return float(test.pvalue) - 0.2

    low = optimize.brentq(excess, 3000, 3585)
    high = optimize.brentq(excess, 3585, 4200)
    per = res.per  # rates per 10,000 of the unit exposure
    assert term.conf_low == pytest.approx(low * per, rel=1e-9)  # root-finding tolerance
    assert term.conf_high == pytest.approx(high * per, rel=1e-9)


def test_a_bootstrap_ratio_with_an_unbounded_upper_limit_says_so():
    # before: the interval [0, inf] came without a note or a warning
    frame = pd.DataFrame({"before": [0.0, 0.0, 1.0], "after": [1.0, 1.0, 0.0]})
    with pytest.warns(UndefinedIntervalWarning, match="upper limit is infinite"):
        res = se.paired_change(frame, ratio_method="bootstrap", n_resamples=199, rng=1)
    term = res.term("ratio_of_totals")
    assert math.isinf(term.conf_high) and "upper limit infinite" in term.note
    assert term.estimate == 2.0  # totals 2 after / 1 before


def test_an_sfr_file_with_two_year_columns_gives_both_years(tmp_path):
    # before: the second CLA_MarYYYY column was dropped without a word
    import sfpc_eval.data as sd

    path = tmp_path / "SFR21_CLA.csv"
    path.write_text("geog_l,geog_c,geog_n,CLA_Mar2011,CLA_Mar2012\nLA,383,Leeds,1448,1500\n")
    read = sd.read_cla_sfr_csv(path)
    assert read[["year", "value"]].to_numpy().tolist() == [[2011, 1448.0], [2012, 1500.0]]


def test_a_percentage_change_beyond_floating_point_says_so():
    # before: bare means 1,797,694 against 1e-300 gave a ratio of 1.8e306 and a percentage
    # change of inf without a note or a warning
    with pytest.warns(UndefinedIntervalWarning, match="too large for a percentage"):
        res = se.compare_means(1797694.0, 1e-300)
    term = res.term("percent_change")
    assert math.isinf(term.estimate) and "too large for a percentage" in term.note
    assert res.term("ratio").estimate == pytest.approx(1797694.0 / 1e-300)


def test_its_with_ar_errors_on_an_exactly_fitted_series_is_a_design_error():
    # before: Yule-Walker on all-zero residuals raised numpy's LinAlgError (singular matrix)
    frame = pd.DataFrame({"year": range(2000, 2013), "rate": 3.0})
    with pytest.raises(DesignError, match="fits the series exactly"):
        se.its(frame, outcome="rate", time="year", start=2004, errors="ar")


def test_a_did_report_with_randomization_survives_a_singular_permuted_lead_variance(tmp_path):
    # before: one permutation of the adoption dates left the leads' variance singular and the
    # pre-trend check of the did report ended in numpy's LinAlgError
    from sfpc_eval.report import build

    rates = {
        "Leeds": [43.0, 25.0, 44.0, 44.0],
        "Wakefield": [49.523810, 51.428571, 49.523810, 54.285714],
        "Bradford": [41.818182, 50.0, 49.090909, 51.818182],
    }
    rows = [(la, 2012 + i, r) for la, values in rates.items() for i, r in enumerate(values)]
    csv = tmp_path / "panel.csv"
    pd.DataFrame(rows, columns=["la_name", "year", "rate"]).to_csv(csv, index=False)
    spec = {
        "report": {"title": "Test", "date": "2026-01-15"},
        "data": {"path": str(csv), "level": "published"},
        "analysis": [{"design": "did", "treated": ["Leeds"], "start": 2015,
                      "outcomes": ["rate"], "inference": ["randomization"]}],
    }  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = build(spec)
    assert "Leeds" in report.html()


def test_a_ratio_of_bare_means_beyond_floating_point_says_so():
    # found by the second 20,000-example run: 1.9e13 against 1e-295 gave an infinite ratio
    # with only the "point estimate only" note and no warning
    with pytest.warns(UndefinedIntervalWarning, match="beyond the range of floating point"):
        res = se.compare_means(18789100193975.0, 1.0451783916621499e-295)
    assert math.isinf(res.term("ratio").estimate)
    assert "beyond the range of floating point" in res.term("ratio").note


def test_a_tiny_control_mean_with_its_spread_does_not_divide_by_an_underflowed_square():
    # found on the branch merged with the hardening bounds: 1e-300 squared is 0, and the
    # delta-method variance divided by it (ZeroDivisionError)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = se.compare_means((1.0, 0.0, 2), (1e-300, 0.0, 2))
    assert res.term("ratio").estimate == pytest.approx(1e300)
