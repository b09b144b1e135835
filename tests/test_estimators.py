"""Properties of the before/after estimators checked without R: test inversion, known-truth
simulations, closed forms, recomputed intervals, and that the caller's data is untouched."""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats import rates as sm_rates

import sfpc_eval as se
from sfpc_eval.errors import UndefinedIntervalWarning


@pytest.mark.parametrize(
    ("n0", "e0", "n1", "e1"), [(974, 1, 515, 1), (30, 4.0, 12, 2.5), (3, 1, 9, 2)]
)
def test_rate_difference_interval_inverts_its_score_test(n0, e0, n1, e1):
    """Closed-form property: at each limit of the score interval the score test of
    ``diff = limit`` has p-value exactly alpha (tolerance 1e-6: statsmodels root-finds)."""
    res = se.compare_counts(n0, n1, exposure=(e0, e1), per=1)
    diff = res.difference
    for limit in (diff.conf_low, diff.conf_high):
        p = sm_rates.test_poisson_2indep(
            n1, e1, n0, e0, value=limit, method="score", compare="diff"
        ).pvalue
        assert p == pytest.approx(0.05, abs=1e-6)


def test_rates_use_the_dfe_base_of_10000_by_default():
    res = se.compare_counts(1020, 930, exposure=(160_000, 161_500))
    assert res.per == 10_000
    assert res.term("before").estimate == pytest.approx(1020 / 160_000 * 10_000, rel=1e-12)
    assert res.rate_ratio.estimate == pytest.approx((930 / 161_500) / (1020 / 160_000), rel=1e-12)
    assert "per 10,000" in str(res)


def test_percent_change_is_the_rate_ratio_read_as_a_percentage():
    res = se.compare_counts(1032, 530)
    rr, pct = res.rate_ratio, res.percent_change
    assert pct.estimate == pytest.approx(100 * (530 / 1032 - 1), rel=1e-12)
    assert (pct.conf_low, pct.conf_high) == pytest.approx(
        (100 * (rr.conf_low - 1), 100 * (rr.conf_high - 1)), rel=1e-12
    )
    assert pct.p_value == rr.p_value


def test_tidy_has_the_fixed_schema():
    for res in (
        se.compare_counts(974, 515),
        se.compare_proportions((52, 140), (25, 100)),
        se.compare_means((87.0, 120.0, 1200), (115.0, 130.0, 1250)),
    ):
        frame = res.tidy()
        assert list(frame.columns[: len(se.TIDY_COLUMNS)]) == list(se.TIDY_COLUMNS)
        assert frame["conf_level"].eq(0.95).all()
        assert "percent_change" in set(frame["term"])


def test_conf_int_recomputes_at_another_level_for_every_estimator():
    days = pd.DataFrame({"before": [120, 0, 365, 40, 200, 90], "after": [60, 0, 300, 0, 180, 95]})
    results = [
        se.compare_counts(974, 515),
        se.compare_proportions((52, 140), (25, 100)),
        se.compare_means((87.0, 120.0, 1200), (115.0, 130.0, 1250)),
        se.paired_change(days),
    ]
    for res in results:
        wide, narrow = res.conf_int(0.99), res.conf_int(0.80)
        base = res.conf_int()
        diff_term = "difference" if "difference" in wide.index else "mean_difference"
        if diff_term in wide.index:
            assert wide.loc[diff_term, "conf_low"] < base.loc[diff_term, "conf_low"]
            assert narrow.loc[diff_term, "conf_low"] > base.loc[diff_term, "conf_low"]


def test_welch_difference_matches_scipy_from_summary_statistics():
    """Independent peer: scipy.stats.ttest_ind_from_stats (Welch), tolerance 1e-10."""
    res = se.compare_means((87.0, 120.0, 1200), (115.0, 130.0, 1250))
    ref = stats.ttest_ind_from_stats(87.0, 120.0, 1200, 115.0, 130.0, 1250, equal_var=False)
    assert res.difference.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert res.difference.p_value == pytest.approx(ref.pvalue, rel=1e-10)


def test_bare_values_give_point_estimates_and_say_why_there_is_no_interval():
    """Published-figure arithmetic ([DERIVED] in the published-figures guide): FGC trial
    36.2% vs 44.8% gives -8.6 pp, a 19.2% relative reduction and an odds ratio of 0.699."""
    res = se.compare_proportions(0.362, 0.448)
    assert res.risk_difference.estimate == pytest.approx(-0.086, abs=1e-12)
    assert res.percent_change.estimate == pytest.approx(-19.196, abs=1e-3)
    assert res.term("odds_ratio").estimate == pytest.approx(0.699, abs=5e-4)
    assert all(math.isnan(t.conf_low) and "no group sizes" in t.note for t in res.terms)
    days = se.compare_means(87, 115)
    assert days.difference.estimate == -28
    assert days.percent_change.estimate == pytest.approx(-24.35, abs=5e-3)


def test_zero_cell_warns_and_leaves_the_interval_empty():
    with pytest.warns(se.UndefinedIntervalWarning, match="zero cell"):
        res = se.compare_proportions((0, 15), (4, 15))
    assert math.isnan(res.term("risk_ratio").conf_low)
    assert "zero cell" in res.term("risk_ratio").note
    with pytest.warns(se.UndefinedIntervalWarning, match="risk_ratio"):
        exact = se.compare_proportions((0, 15), (4, 15), odds_ratio_method="exact")
    assert exact.term("odds_ratio").conf_low == 0 and exact.term("odds_ratio").conf_high > 0


def _coverage(intervals: np.ndarray, truth: float) -> float:
    return float(np.mean((intervals[:, 0] <= truth) & (truth <= intervals[:, 1])))


def test_ratio_of_means_interval_covers_the_known_truth():
    """Simulation with known truth: 1,000 seeded trials, normal data with means 90 and 120.
    Monte Carlo SE of a 95% coverage is 0.7 points, so [92.5, 97.5] is about 3.5 SE wide."""
    rng = np.random.default_rng(11)
    intervals = []
    for _ in range(1000):
        x = rng.normal(90, 60, 150)
        y = rng.normal(120, 70, 160)
        res = se.compare_means((x.mean(), x.std(ddof=1), 150), (y.mean(), y.std(ddof=1), 160))
        intervals.append((res.term("ratio").conf_low, res.term("ratio").conf_high))
    assert 0.925 <= _coverage(np.array(intervals), 0.75) <= 0.975


def _days_in_care(rng: np.random.Generator, n: int) -> pd.DataFrame:
    in_care = rng.random(n) < 0.4
    before = np.where(in_care, np.minimum(rng.gamma(2.0, 80.0, n), 365), 0).round()
    after = np.where(
        in_care & (rng.random(n) < 0.7), np.minimum(before * 0.6 + rng.gamma(1.0, 20.0, n), 365), 0
    ).round()
    return pd.DataFrame({"before": before, "after": after})


def test_paired_ratio_of_totals_covers_the_known_truth():
    """Known truth: the population ratio of totals of the simulated days in care, computed on
    2,000,000 children (its own error is ~0.1%). 600 seeded samples of 300 children: delta
    coverage must lie in [92, 98] (MC SE 0.9 points)."""
    rng = np.random.default_rng(2026)
    population = _days_in_care(rng, 2_000_000)
    truth = population["after"].sum() / population["before"].sum()
    intervals = []
    for _ in range(600):
        res = se.paired_change(_days_in_care(rng, 300))
        intervals.append((res.ratio_of_totals.conf_low, res.ratio_of_totals.conf_high))
    assert 0.92 <= _coverage(np.array(intervals), truth) <= 0.98


def test_bootstrap_agrees_with_the_delta_method_in_large_samples_and_is_seeded():
    days = _days_in_care(np.random.default_rng(5), 3000)
    delta = se.paired_change(days)
    boot = se.paired_change(days, ratio_method="bootstrap", n_resamples=2000, rng=1)
    again = se.paired_change(days, ratio_method="bootstrap", n_resamples=2000, rng=1)
    assert boot.ratio_of_totals == again.ratio_of_totals
    assert boot.ratio_of_totals.conf_low == pytest.approx(delta.ratio_of_totals.conf_low, rel=0.02)
    assert boot.ratio_of_totals.conf_high == pytest.approx(
        delta.ratio_of_totals.conf_high, rel=0.02
    )


def test_summary_renders_in_every_format_and_escapes_labels():
    res = se.compare_counts(974, 515, labels=("2011", "<script>alert(1)</script>"))
    html = res._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    table = res.summary()
    assert "47.1% fall" in table.as_text()
    assert table.as_markdown().count("|") > 20
    assert r"\begin{tabular}" in table.as_latex() and r"47.1\% fall" in table.as_latex()


def test_results_are_frozen():
    res = se.compare_counts(974, 515)
    with pytest.raises(AttributeError):
        res.before = 1  # type: ignore[misc]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 365), st.integers(0, 365)), min_size=2, max_size=30),
    st.sampled_from(["delta", "bootstrap"]),
)
def test_paired_change_never_modifies_the_callers_data(pairs, method):
    frame = pd.DataFrame(pairs, columns=["before", "after"]).astype({"after": object})
    snapshot = frame.copy(deep=True)
    with contextlib.suppress(se.SfpcEvalError), warnings.catch_warnings():
        # constant columns (all zeros, say) have a zero standard error: said with a warning
        warnings.simplefilter("ignore", UndefinedIntervalWarning)
        se.paired_change(frame, ratio_method=method, n_resamples=200, rng=0)
    pd.testing.assert_frame_equal(frame, snapshot)
