"""Interrupted time series against statsmodels OLS with the same HAC settings, known truth,
and bad inputs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import sfpc_eval as se
from sfpc_eval.errors import (
    DesignError,
    DuplicateObservationError,
    InvalidValueError,
    MissingColumnError,
    UnreliableInferenceWarning,
)
from sfpc_eval.single_unit.its import newey_west_lags


def monthly(seed: int = 4, n: int = 72, start: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    post = (t >= start).astype(float)
    season = 3 * np.sin(2 * np.pi * t / 12)
    noise = np.zeros(n)
    for i in range(1, n):  # AR(1) errors
        noise[i] = 0.5 * noise[i - 1] + rng.normal(0, 1)
    y = 60 + 0.2 * t - 6 * post - 0.3 * (t - start) * post + season + noise
    return pd.DataFrame({"month": t, "rate": y})


@pytest.mark.parametrize(("lags", "seasonal"), [(None, None), (0, None), (3, 12), (6, 12)])
def test_matches_statsmodels_ols_hac(lags, seasonal):
    """Same design built independently; statsmodels OLS(cov_type="HAC", maxlags=L, use_t=True):
    coefficients, SEs and p-values to 1e-8 relative."""
    data = monthly()
    res = se.its(
        data, outcome="rate", time="month", start=40, hac_lags=lags, seasonal_period=seasonal
    )
    t = data["month"].to_numpy(dtype=float)
    post = (t >= 40).astype(float)
    columns = {"const": 1.0, "t": t, "post": post, "since": (t - 40) * post}
    if seasonal:
        columns |= {f"m{s}": (t % 12 == s).astype(float) for s in range(1, 12)}
    x = pd.DataFrame(columns)
    lag = res.hac_lags
    ref = sm.OLS(data["rate"], x).fit(cov_type="HAC", cov_kwds={"maxlags": lag}, use_t=True)
    for ours, theirs in (("pre_slope", "t"), ("level_change", "post"), ("slope_change", "since")):
        term = res.term(ours)
        assert term.estimate == pytest.approx(ref.params[theirs], rel=1e-8)
        assert term.std_error == pytest.approx(ref.bse[theirs], rel=1e-8)
        assert term.p_value == pytest.approx(ref.pvalues[theirs], rel=1e-8)


def test_recovers_a_known_level_and_slope_change():
    """Known truth: level -6, slope -0.3; mean over 200 seeded series within 0.3 and 0.03."""
    fits = [
        se.its(monthly(seed), outcome="rate", time="month", start=40, seasonal_period=12)
        for seed in range(200)
    ]
    assert np.mean([f.term("level_change").estimate for f in fits]) == pytest.approx(-6, abs=0.3)
    assert np.mean([f.term("slope_change").estimate for f in fits]) == pytest.approx(-0.3, abs=0.03)


def test_projection_and_plot():
    res = se.its(monthly(), outcome="rate", time="month", start=40, seasonal_period=12)
    frame = res.projection
    post = frame["month" if "month" in frame else "time"] >= 40
    assert frame.loc[~post, "effect"].isna().all()
    np.testing.assert_allclose(
        frame["fitted"] - frame["counterfactual"], frame["effect"].fillna(0), atol=1e-10
    )
    assert res.term("effect_at_end").estimate == pytest.approx(frame["effect"].iloc[-1])
    ax = res.plot()
    assert ax.get_legend() is not None
    plt.close(ax.figure)


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "words"),
    [
        (monthly(), {"start": 99}, DesignError, ["`start` 99"]),
        (monthly(), {"start": 2}, DesignError, ["2 period(s) before", "at least 3"]),
        (pd.concat([monthly(), monthly().iloc[[5]]]), {}, DuplicateObservationError, ["5"]),
        (monthly(), {"outcome": "rates"}, MissingColumnError, ["'rates'"]),
    ],
)
def test_bad_inputs(frame, kwargs, error, words):
    args = {"outcome": "rate", "time": "month", "start": 40} | kwargs
    with pytest.raises(error) as info:
        se.its(frame, **args)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("order", [1, 2])
def test_ar_errors_match_statsmodels_glsar(order):
    """errors="ar": statsmodels GLSAR(rho=p).iterative_fit run to its fixed point (maxiter 500,
    rtol 1e-14) is the same estimator (Cochrane-Orcutt with Yule-Walker AR terms); coefficients,
    SEs and AR terms to 1e-6 relative."""
    data = monthly(seed=8)
    res = se.its(
        data,
        outcome="rate",
        time="month",
        start=40,
        seasonal_period=12,
        errors="ar",
        ar_order=order,
    )
    t = data["month"].to_numpy(dtype=float)
    post = (t >= 40).astype(float)
    columns = {"const": 1.0, "t": t, "post": post, "since": (t - 40) * post}
    columns |= {f"m{s}": (t % 12 == s).astype(float) for s in range(1, 12)}
    model = sm.GLSAR(data["rate"].to_numpy(), pd.DataFrame(columns).to_numpy(), rho=order)
    ref = model.iterative_fit(maxiter=500, rtol=1e-14)
    np.testing.assert_allclose(res.ar, model.rho, rtol=1e-6)
    for i, name in ((1, "pre_slope"), (2, "level_change"), (3, "slope_change")):
        term = res.term(name)
        assert term.estimate == pytest.approx(ref.params[i], rel=1e-6)
        assert term.std_error == pytest.approx(ref.bse[i], rel=1e-6)
        assert term.df == ref.df_resid
    assert "AR(" in str(res.summary())


def test_ar_errors_recover_the_truth():
    """Known truth: level -6, slope -0.3 with AR(1) errors (phi 0.5); the mean over 100 series
    is within 0.3 / 0.03 of the truth and the mean AR coefficient within 0.1 of 0.5 (Yule-Walker
    is biased down in short series)."""
    fits = [
        se.its(
            monthly(seed), outcome="rate", time="month", start=40, seasonal_period=12, errors="ar"
        )
        for seed in range(100)
    ]
    assert np.mean([f.term("level_change").estimate for f in fits]) == pytest.approx(-6, abs=0.3)
    assert np.mean([f.term("slope_change").estimate for f in fits]) == pytest.approx(-0.3, abs=0.03)
    assert np.mean([f.ar[0] for f in fits]) == pytest.approx(0.5, abs=0.1)


def test_harmonics_match_statsmodels():
    """Fourier seasonality: the same sin/cos columns in statsmodels OLS(HAC); to 1e-8."""
    data = monthly()
    res = se.its(
        data, outcome="rate", time="month", start=40, seasonal_period=12, harmonics=2, hac_lags=3
    )
    t = data["month"].to_numpy(dtype=float)
    post = (t >= 40).astype(float)
    x = pd.DataFrame(
        {
            "const": 1.0,
            "t": t,
            "post": post,
            "since": (t - 40) * post,
            "s1": np.sin(2 * np.pi * t / 12),
            "c1": np.cos(2 * np.pi * t / 12),
            "s2": np.sin(4 * np.pi * t / 12),
            "c2": np.cos(4 * np.pi * t / 12),
        }
    )
    ref = sm.OLS(data["rate"], x).fit(cov_type="HAC", cov_kwds={"maxlags": 3}, use_t=True)
    for ours, theirs in (("level_change", "post"), ("slope_change", "since")):
        assert res.term(ours).estimate == pytest.approx(ref.params[theirs], rel=1e-8)
        assert res.term(ours).std_error == pytest.approx(ref.bse[theirs], rel=1e-8)


def test_controlled_its_equals_interacted_ols():
    """Controlled ITS: the estimates equal the group interactions of statsmodels OLS on the two
    stacked series with full interactions (to 1e-8), and the HAC SEs equal statsmodels OLS(HAC)
    on the difference series (to 1e-8)."""
    data = monthly()
    rng = np.random.default_rng(1)
    data["england"] = 40 + 0.1 * data["month"] + 3 * np.sin(2 * np.pi * data["month"] / 12)
    data["england"] += rng.normal(0, 0.5, len(data))
    res = se.its(data, outcome="rate", time="month", start=40, comparison="england", hac_lags=2)
    t = data["month"].to_numpy(dtype=float)
    post = (t >= 40).astype(float)
    base = pd.DataFrame({"const": 1.0, "t": t, "post": post, "since": (t - 40) * post})
    stacked_x = pd.concat(
        [
            base.assign(**{f"g_{c}": base[c] for c in base}),
            base.assign(**{f"g_{c}": 0.0 for c in base}),
        ],
        ignore_index=True,
    )
    stacked_y = np.concatenate([data["rate"], data["england"]])
    inter = sm.OLS(stacked_y, stacked_x).fit()
    diff = sm.OLS((data["rate"] - data["england"]).to_numpy(), base).fit(
        cov_type="HAC", cov_kwds={"maxlags": 2}, use_t=True
    )
    for ours, theirs in (("pre_slope", "t"), ("level_change", "post"), ("slope_change", "since")):
        assert res.term(ours).estimate == pytest.approx(inter.params[f"g_{theirs}"], rel=1e-8)
        assert res.term(ours).std_error == pytest.approx(diff.bse[theirs], rel=1e-8)
    assert "controlled" in str(res.summary())


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"errors": "arma"}, InvalidValueError, ["`errors`", "'arma'"]),
        ({"harmonics": 2}, InvalidValueError, ["`harmonics`", "seasonal_period"]),
        ({"seasonal_period": 12, "harmonics": 7}, InvalidValueError, ["between 1 and 6", "7"]),
        ({"errors": "ar", "ar_order": 0}, InvalidValueError, ["`ar_order`", "got 0"]),
        ({"comparison": "england"}, MissingColumnError, ["'england'"]),
    ],
)
def test_bad_options(kwargs, error, words):
    with pytest.raises(error) as info:
        se.its(monthly(), outcome="rate", time="month", start=40, **kwargs)
    for word in words:
        assert word in str(info.value)


def _fifteen_years(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(2010, 2025)
    rate = 60 + 0.8 * (t - 2010) + rng.normal(0, 2.5, len(t))
    return pd.DataFrame({"year": t, "rate": rate})


def test_too_many_hac_lags_are_refused_or_flagged():
    # issue 19: 100 lags on 15 years used to pass silently and turn p = 0.38 into p = 0.0006
    frame = _fifteen_years()
    default = se.its(frame, outcome="rate", time="year", start=2018)
    assert default.hac_lags == newey_west_lags(15)
    with pytest.raises(InvalidValueError, match=r"15 periods have at most 14 lags"):
        se.its(frame, outcome="rate", time="year", start=2018, hac_lags=100)
    with pytest.warns(UnreliableInferenceWarning, match="more than a quarter of the 15 periods"):
        many = se.its(frame, outcome="rate", time="year", start=2018, hac_lags=10)
    slope = many.term("slope_change")
    assert not slope.valid and "too narrow" in slope.note
    # the reason for the rule, shown on these data: the same estimate, a far narrower interval
    base = default.term("slope_change")
    assert slope.estimate == pytest.approx(base.estimate, rel=1e-12)
    assert slope.std_error < base.std_error
    assert all(t.valid for t in default.terms)
    # a quarter of the series is still accepted without a warning
    se.its(frame, outcome="rate", time="year", start=2018, hac_lags=3)
