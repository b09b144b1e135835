"""Interrupted time series against statsmodels OLS with the same HAC settings, known truth,
and bad inputs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import sfpc_eval as se
from sfpc_eval.errors import DesignError, DuplicateObservationError, MissingColumnError


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
