"""TWFE event study: against pyfixest fixtures, against did(), bands, pre-trend tests, bad input."""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sfpc_eval as se
from _staggered_fixtures import max_abs_difference, panel, reference
from sfpc_eval.diff_in_diff.event_study import event_study
from sfpc_eval.diff_in_diff.event_study_fit import sup_t_critical
from sfpc_eval.errors import DesignError, InvalidValueError, MissingColumnError
from sfpc_eval.labels import label

# pyfixest feols (CRV1, ssc(k_fixef="full")) agrees to about 1e-13; 1e-8 leaves room for BLAS
# and platform differences while catching any real discrepancy (the brief asks for 1e-6).
TOL = 1e-8

CASES = {
    "es_a_binned": ("a", "year", {"window": (-3, 3)}),
    "es_a_weighted_region": (
        "a",
        "year",
        {"window": (-3, 3), "weights": "w", "inference": se.ClusterRobust("region", "CR1")},
    ),
    "es_a_covariate": ("a", "year", {"window": (-4, 4), "covariates": ["x"]}),
    "es_b_unbinned": ("b", "period", {"window": (-3, 3), "reference": -2, "bin_endpoints": False}),
    "es_b_binned": ("b", "period", {"window": (-4, 5)}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_pyfixest(case):
    name, time, kwargs = CASES[case]
    res = event_study(panel(name), "y", "unit", time, "cohort", **kwargs)
    assert max_abs_difference(res, case) < TOL
    expected = reference()[case]["__pretrend__"]
    # pyfixest's Wald statistic W; ours reports F = W / q against F(q, G - 1)
    assert abs(res.pretrend.statistic * res.pretrend.df1 - expected["wald"]) < 1e-8
    assert (res.pretrend.df1, res.pretrend.df2) == (expected["dfn"], expected["dfd"])
    p = stats.f.sf(expected["wald"] / expected["dfn"], expected["dfn"], expected["dfd"])
    assert abs(res.pretrend.p_value - p) < 1e-10


def test_unbinned_window_reports_only_the_window():
    res = event_study(
        panel("b"),
        "y",
        "unit",
        "period",
        "cohort",
        window=(-3, 3),
        reference=-2,
        bin_endpoints=False,
    )
    assert res.event_times == (-3, -1, 0, 1, 2, 3)
    assert res.n_outside_window > 0


def _dummies(df: pd.DataFrame, lo: int, hi: int, ref: int) -> list[str]:
    rel = (df["year"] - df["cohort"]).clip(lo, hi)
    names = []
    for k in range(lo, hi + 1):
        if k != ref:
            df[f"d{k + 10}"] = (rel == k).astype(int)
            names.append(f"d{k + 10}")
    return names


@pytest.mark.parametrize("kind", ["CR2"])
def test_cr2_terms_equal_did_with_the_same_dummies(kind):
    """Each event-time term equals did() with that dummy as `treated` and the others as
    covariates: same coefficient, CR2 standard error (to 1e-10) and Satterthwaite df (to 1e-8).
    (CR3 is undefined when units are nested in clusters.)"""
    df = panel("a")
    df = df[df["unit"] < 20].copy()
    inference = se.ClusterRobust("region", kind)
    res = event_study(df, "y", "unit", "year", "cohort", window=(-2, 2), inference=inference)
    names = _dummies(df, -2, 2, -1)
    for name, term in zip(names, res.terms, strict=True):
        others = [n for n in names if n != name]
        ref = se.did(
            df,
            outcome="y",
            unit="unit",
            time="year",
            treated=name,
            covariates=others,
            inference=inference,
            allow_switching_off=True,
        ).estimate
        assert abs(term.estimate - ref.estimate) < 1e-10
        assert abs(term.std_error - ref.std_error) < 1e-10
        assert abs(term.df - ref.df) < 1e-8


def test_does_not_modify_input():
    df = panel("a")
    before = df.copy()
    event_study(df, "y", "unit", "year", "cohort", window=(-3, 3))
    pd.testing.assert_frame_equal(df, before)


def test_sup_t_critical_closed_form():
    """Independent normals: P(max |Z_j| <= c) = (2 Phi(c) - 1)^K (simulation error ~0.01)."""
    k, level = 6, 0.95
    exact = stats.norm.ppf((1 + level ** (1 / k)) / 2)
    crit = sup_t_critical(np.eye(k), level, 200_000, 1)
    assert abs(crit - exact) < 0.02
    # one coefficient: the pointwise t critical value
    crit_t = sup_t_critical(np.eye(1) * 4.0, level, 200_000, 2, df=9)
    assert abs(crit_t - stats.t.ppf(0.975, 9)) < 0.03


def test_bands_are_wider_than_pointwise_and_seeded():
    res = event_study(panel("a"), "y", "unit", "year", "cohort", window=(-3, 3))
    bands = res.bands(draws=20_000, rng=5)
    assert (bands["band_low"] <= bands["conf_low"] + 1e-12).all()
    assert (bands["band_high"] >= bands["conf_high"] - 1e-12).all()
    pd.testing.assert_frame_equal(bands, res.bands(draws=20_000, rng=5))
    # one more coefficient's worth of multiplicity than a single t interval
    assert bands["critical"].iloc[0] > stats.t.ppf(0.975, res.n_clusters - 1)


@pytest.mark.slow
def test_simultaneous_band_coverage_by_simulation():
    """Known truth (no effect at any event time): the sup-t band covers all of them in about
    95% of 100 panels (binomial standard error 2.2 points; tolerance 6.5 points, 3 SE)."""
    rng = np.random.default_rng(11)
    base = pd.DataFrame([(u, t) for u in range(30) for t in range(6)], columns=["u", "t"])
    base["g"] = base["u"].map(lambda u: [2.0, 4.0, np.nan][u % 3])
    covered = 0
    for _ in range(100):
        df = base.assign(y=rng.normal(0, 1, len(base)) + 0.1 * base["u"])
        res = event_study(df, "y", "u", "t", "g", window=(-2, 2))
        b = res.bands(draws=2_000, rng=0)
        covered += bool(((b["band_low"] <= 0) & (b["band_high"] >= 0)).all())
    assert abs(covered / 100 - 0.95) < 0.065


def test_wild_bootstrap_pretrend_equals_brute_force():
    """The vectorised restricted wild bootstrap Wald test equals refitting every one of the
    2^8 sign vectors by least squares (exact enumeration, so the p-values match exactly)."""
    df = panel("a")
    df = df[df["unit"] < 8].copy()
    df.loc[df["unit"] == 3, "cohort"] = np.nan  # keep never-treated units among the 8
    res = event_study(
        df, "y", "unit", "year", "cohort", window=(-3, 2), inference=se.WildClusterBootstrap()
    )
    names = _dummies(df, -3, 2, -1)
    leads = ["d7", "d8"]
    fe = pd.get_dummies(df[["unit", "year"]].astype(str), drop_first=True).to_numpy(float)
    x_full = np.column_stack([df[names].to_numpy(float), np.ones(len(df)), fe])
    x_rest = np.column_stack(
        [df[[n for n in names if n not in leads]].to_numpy(float), np.ones(len(df)), fe]
    )
    y = df["y"].to_numpy()
    cl = df["unit"].to_numpy()
    g_levels = np.unique(cl)
    n, k = x_full.shape
    lead_idx = [names.index(n_) for n_ in leads]

    def wald(yv):
        beta, *_ = np.linalg.lstsq(x_full, yv, rcond=None)
        resid = yv - x_full @ beta
        bread = np.linalg.inv(x_full.T @ x_full)
        meat = sum(
            np.outer(x_full[cl == g].T @ resid[cl == g], x_full[cl == g].T @ resid[cl == g])
            for g in g_levels
        )
        g_n = len(g_levels)
        v = bread @ meat @ bread * g_n / (g_n - 1) * (n - 1) / (n - k)
        b = beta[lead_idx]
        return b @ np.linalg.solve(v[np.ix_(lead_idx, lead_idx)], b)

    observed = wald(y)
    beta_r, *_ = np.linalg.lstsq(x_rest, y, rcond=None)
    fitted, resid = x_rest @ beta_r, y - x_rest @ beta_r
    draws = []
    for signs in itertools.product((-1.0, 1.0), repeat=len(g_levels)):
        v = dict(zip(g_levels, signs, strict=True))
        draws.append(wald(fitted + resid * np.array([v[c] for c in cl])))
    p = np.mean(np.array(draws) >= observed * (1 - 1e-12))
    assert abs(res.pretrend.statistic - observed) < 1e-8
    assert res.pretrend.p_value == pytest.approx(p, abs=1e-12)


def test_with_inference_and_conf_int():
    res = event_study(panel("a"), "y", "unit", "year", "cohort", window=(-3, 3))
    cr2 = res.with_inference(se.ClusterRobust("unit", "CR2"))
    assert cr2.terms[0].estimate == res.terms[0].estimate
    assert "Satterthwaite" in cr2.terms[0].method
    ci = res.conf_int(0.9)
    assert (
        ci["conf_high"] - ci["conf_low"]
        < res.tidy().set_index("term")["conf_high"] - res.tidy().set_index("term")["conf_low"]
    ).all()
    assert "pre-trend test" in str(res)
    hc = res.with_inference(se.HeteroskedasticityRobust())
    assert hc.pretrend.df2 == res.n_obs - hc._es.fit.k_total


def test_plot():
    res = event_study(panel("a"), "y", "unit", "year", "cohort", window=(-3, 3))
    ax = res.plot(draws=2_000)
    assert ax.get_xlabel() == label("event_time")
    assert len(ax.collections) >= 1  # the simultaneous band


# --- bad inputs -----------------------------------------------------------------------------


def test_window_outside_the_data():
    with pytest.raises(InvalidValueError, match=r"`window` \(-12, 3\) reaches outside.*-7 to 6"):
        event_study(panel("a"), "y", "unit", "year", "cohort", window=(-12, 3))


def test_window_malformed():
    with pytest.raises(InvalidValueError, match="`window` must be a pair of whole numbers"):
        event_study(panel("a"), "y", "unit", "year", "cohort", window=(3, -3))


def test_reference_at_a_binned_end_point():
    with pytest.raises(
        InvalidValueError,
        match=r"`reference` -3 must lie strictly inside the "
        r"binned window \(-3, 3\)",
    ):
        event_study(panel("a"), "y", "unit", "year", "cohort", window=(-3, 3), reference=-3)


def test_reference_not_present():
    with pytest.raises(InvalidValueError, match="`reference` event time -9 is not observed"):
        event_study(panel("a"), "y", "unit", "year", "cohort", reference=-9)


def test_reference_outside_unbinned_window():
    with pytest.raises(InvalidValueError, match=r"`reference` -4 is outside the window"):
        event_study(
            panel("a"),
            "y",
            "unit",
            "year",
            "cohort",
            window=(-3, 3),
            reference=-4,
            bin_endpoints=False,
        )


def _ri_panel() -> pd.DataFrame:
    """5 units, 8 years: three single-unit adoption cohorts and two never-treated units, so
    5! / 2! = 60 distinct cohort assignments."""
    gen = np.random.default_rng(3)
    cohorts = {0: 2013.0, 1: 2014.0, 2: 2015.0, 3: np.nan, 4: np.nan}
    df = pd.DataFrame(
        [(u, t) for u in range(5) for t in range(2010, 2018)], columns=["unit", "year"]
    )
    df["cohort"] = df["unit"].map(cohorts)
    df["y"] = 0.4 * df["unit"] + 0.1 * (df["year"] - 2010) + gen.normal(0, 1, len(df))
    df["y"] += 0.5 * (df["year"] >= df["cohort"])
    df["region"] = df["unit"] // 2
    return df


def _ri(df, **kwargs):
    with (
        pytest.warns(se.UndefinedIntervalWarning, match="no interval under randomization"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", se.SingleUnitCohortWarning)
        return event_study(df, "y", "unit", "year", "cohort", **kwargs)


def _cr1(df, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", se.SingleUnitCohortWarning)
        return event_study(
            df, "y", "unit", "year", "cohort", inference=se.ClusterRobust("unit", "CR1"), **kwargs
        )


@pytest.mark.parametrize("bin_endpoints", [True, False])
def test_randomization_equals_brute_force_over_all_assignments(bin_endpoints):
    """Randomization inference equals refitting the public event_study (CR1) under every one
    of the 60 distinct cohort assignments: the pre-trend Wald p-value and the per-term |t|
    p-values agree exactly (exact enumeration, identity included)."""
    df = _ri_panel()
    window = (-3, 2) if bin_endpoints else (-2, 2)
    res = _ri(df, window=window, bin_endpoints=bin_endpoints, inference=se.Randomization())
    observed = _cr1(df, window=window, bin_endpoints=bin_endpoints)
    n_event = len(observed.event_times)

    def stats_of(fit):
        wald = fit.pretrend.statistic * fit.pretrend.df1
        t = [abs(t.estimate / t.std_error) for t in fit.terms[:n_event]]
        return wald, np.array(t)

    wald_obs, t_obs = stats_of(observed)
    by_unit = df.groupby("unit")["cohort"].first().fillna(np.inf).tolist()
    assignments = sorted(set(itertools.permutations(by_unit)))
    assert len(assignments) == 60
    walds, ts = [], []
    for a in assignments:
        mapping = {u: (g if math.isfinite(g) else np.nan) for u, g in enumerate(a)}
        moved = df.assign(cohort=df["unit"].map(mapping))
        w, t = stats_of(_cr1(moved, window=window, bin_endpoints=bin_endpoints))
        walds.append(w)
        ts.append(t)
    p_wald = np.mean(np.array(walds) >= wald_obs * (1 - 1e-12))
    p_terms = np.mean(np.array(ts) >= t_obs * (1 - 1e-12), axis=0)
    assert res.pretrend.statistic == pytest.approx(wald_obs, rel=1e-9)
    assert res.pretrend.p_value == pytest.approx(p_wald, abs=1e-12)
    assert "all 60 assignments" in res.pretrend.method
    table = res.event_table()
    np.testing.assert_allclose(table["p_value"], p_terms, atol=1e-12)
    # estimates are the TWFE ones; no interval, said so in the term and the summary
    np.testing.assert_allclose(table["estimate"], observed.event_table()["estimate"], atol=1e-10)
    assert table["conf_low"].isna().all() and table["conf_high"].isna().all()
    assert all("no interval under randomization" in n for n in table["note"])
    assert "no interval under randomization" in str(res.summary())


def test_randomization_sampled_is_seeded_and_with_inference_matches():
    df = _ri_panel()
    spec = se.Randomization(n_resamples=199, max_enumeration=10, rng=4)
    one = _ri(df, window=(-3, 2), inference=spec)
    two = _ri(df, window=(-3, 2), inference=spec)
    assert one.pretrend == two.pretrend
    assert "199 draws" in one.pretrend.method
    assert (one.pretrend.p_value * 200) == pytest.approx(round(one.pretrend.p_value * 200))
    np.testing.assert_array_equal(one.tidy()["p_value"], two.tidy()["p_value"])
    other = _ri(df, window=(-3, 2), inference=replace(spec, rng=5))
    assert other.pretrend.p_value != one.pretrend.p_value
    with pytest.warns(se.UndefinedIntervalWarning):
        switched = _cr1(df, window=(-3, 2)).with_inference(spec)
    assert switched.pretrend == one.pretrend
    assert switched.tidy()["p_value"].tolist() == one.tidy()["p_value"].tolist()


def test_randomization_bad_inputs():
    df = _ri_panel()
    with (
        pytest.raises(DesignError, match="dummy-column fixed effects"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", se.SingleUnitCohortWarning)
        event_study(df, "y", "unit", "year", "cohort", absorb=True, inference=se.Randomization())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", se.SingleUnitCohortWarning)
        by_region = event_study(
            df,
            "y",
            "unit",
            "year",
            "cohort",
            window=(-3, 2),
            inference=se.ClusterRobust("region", "CR1"),
        )
    with pytest.raises(InvalidValueError, match="cannot change the cluster column"):
        by_region.with_inference(se.Randomization())


def test_no_never_treated_units():
    df = panel("a").dropna(subset=["cohort"])
    with pytest.raises(DesignError, match="never-treated comparison units"):
        event_study(df, "y", "unit", "year", "cohort")


def test_cohort_outside_periods():
    df = panel("a")
    df.loc[df["unit"] == 0, "cohort"] = 2030
    with pytest.raises(InvalidValueError, match="not periods of the panel"):
        event_study(df, "y", "unit", "year", "cohort")


def test_missing_column():
    with pytest.raises(MissingColumnError, match="outcome"):
        event_study(panel("a"), "nope", "unit", "year", "cohort")


def test_unbalanced_without_permission():
    df = panel("a").iloc[1:]
    with pytest.raises(DesignError, match="unbalanced"):
        event_study(df, "y", "unit", "year", "cohort")
    res = event_study(df, "y", "unit", "year", "cohort", window=(-3, 3), allow_unbalanced=True)
    assert res.n_obs == len(df) and math.isfinite(res.terms[0].estimate)


def test_absorbed_fixed_effects_give_the_same_cr1_numbers():
    """Demeaning (Frisch-Waugh-Lovell) instead of dummy columns: same estimates and CR1 SEs."""
    df = panel("b")
    dummies = event_study(df, "y", "unit", "period", "cohort", window=(-4, 5))
    absorbed = event_study(df, "y", "unit", "period", "cohort", window=(-4, 5), absorb=True)
    a, b = dummies.tidy(), absorbed.tidy()
    np.testing.assert_allclose(a["estimate"], b["estimate"], atol=1e-10)
    np.testing.assert_allclose(a["std_error"], b["std_error"], atol=1e-10)
    assert abs(dummies.pretrend.statistic - absorbed.pretrend.statistic) < 1e-8
