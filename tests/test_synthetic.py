"""Synthetic control: known weights, the convex weight problem, placebo p-value by direct
enumeration, leave-one-out, plots, warnings and bad inputs. The comparison with pysyncon is in
tests/test_synthetic_reference.py."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import sfpc_eval as se
from _synthetic_cases import TRUE, UNITS, known_weights_panel
from sfpc_eval.errors import (
    DesignError,
    DuplicateObservationError,
    InvalidValueError,
    PoorPreFitWarning,
)
from sfpc_eval.plotting import plot_leave_one_out, plot_placebo_gaps
from sfpc_eval.single_unit.synthetic import simplex_weights


def fit(panel, **kwargs):
    return se.synthetic_control(
        panel, outcome="rate", unit="la", time="year", treated_unit="LA00", start=2015, **kwargs
    )


def test_recovers_known_weights_and_effect():
    """Known truth: the treated council is exactly 0.5/0.3/0.2 of three donors before 2015."""
    res = fit(known_weights_panel())
    for unit, weight in TRUE.items():
        assert res.weights[unit] == pytest.approx(weight, abs=1e-6)
    assert res.weights.sum() == pytest.approx(1.0, abs=1e-12) and (res.weights >= 0).all()
    assert res.pre_rmspe < 1e-6
    post = res.gaps["time"] >= 2015
    np.testing.assert_allclose(res.gaps.loc[post, "gap"], -3.0, atol=1e-6)


def test_simplex_weights_solve_the_constrained_problem():
    """Independent solver: scipy SLSQP with tight tolerance on the same convex problem; the
    objective values agree to 1e-6 relative (1e-10 absolute) and ours is never worse."""
    rng = np.random.default_rng(7)
    x0, x1, v = rng.normal(size=(6, 9)), rng.normal(size=6), rng.uniform(0.1, 1, 6)
    ours = simplex_weights(x0, x1, v)

    def loss(w):
        return float((x1 - x0 @ w) @ (v * (x1 - x0 @ w)))

    ref = optimize.minimize(
        loss,
        np.full(9, 1 / 9),
        method="SLSQP",
        bounds=[(0, 1)] * 9,
        constraints={"type": "eq", "fun": lambda w: w.sum() - 1},
        options={"ftol": 1e-15, "maxiter": 10_000},
    )
    assert loss(ours) <= loss(ref.x) + 1e-10
    assert loss(ours) == pytest.approx(loss(ref.x), rel=1e-6, abs=1e-10)


def test_placebo_p_value_equals_direct_enumeration():
    panel = known_weights_panel(effect=-8.0)
    res = fit(panel, v=np.ones(7) / 7)
    ratios = {}
    for unit in UNITS:
        others = [u for u in UNITS if u not in (unit, "LA00")] if unit != "LA00" else None
        r = se.synthetic_control(
            panel,
            outcome="rate",
            unit="la",
            time="year",
            treated_unit=unit,
            start=2015,
            donors=others,
            placebo=False,
            v=np.ones(7) / 7,
        )
        ratios[unit] = r.post_rmspe / r.pre_rmspe
    expected = np.mean([ratios[u] >= ratios["LA00"] * (1 - 1e-12) for u in UNITS])
    assert res.p_value == pytest.approx(expected, abs=1e-15)
    assert res.p_value == pytest.approx(1 / 12)


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "words"),
    [
        (None, {"treated_unit": "LA99"}, DesignError, ["'LA99'"]),
        (None, {"donors": ["LA00", "LA01"]}, DesignError, ["donor pool"]),
        (None, {"start": 2009}, DesignError, ["at least 2 periods"]),
        (lambda p: p.drop(index=5), {}, DesignError, ["treated council", "LA00", "2013"]),
        (lambda p: p.drop(index=20), {}, DesignError, ["LA01", "balanced"]),
        (lambda p: pd.concat([p, p.iloc[[3]]]), {}, DuplicateObservationError, ["repeat"]),
    ],
)
def test_bad_inputs(change, kwargs, error, words):
    panel = known_weights_panel()
    if change is not None:
        panel = change(panel)
    args = {
        "outcome": "rate",
        "unit": "la",
        "time": "year",
        "treated_unit": "LA00",
        "start": 2015,
        "placebo": False,
    } | kwargs
    with pytest.raises(error) as info:
        se.synthetic_control(panel, **args)
    for word in words:
        assert word in str(info.value)


def test_leave_one_out_refits_without_each_positive_donor():
    """Leave-one-out: one refit per donor with positive weight, each equal to a direct fit
    without that donor (same V), to 1e-10."""
    panel = known_weights_panel()
    v = np.ones(7) / 7
    res = fit(panel, v=v, leave_one_out=True, placebo=False)
    table = res.leave_one_out_table()
    assert sorted(table["dropped"]) == sorted(TRUE)
    for unit in TRUE:
        others = [u for u in UNITS if u not in ("LA00", unit)]
        direct = fit(panel, v=v, donors=others, placebo=False)
        part = res.leave_one_out[res.leave_one_out["dropped"] == unit]
        np.testing.assert_allclose(part["gap"], direct.gaps["gap"], atol=1e-10)
        row = table.set_index("dropped").loc[unit]
        assert row["pre_rmspe"] == pytest.approx(direct.pre_rmspe, abs=1e-10)
        assert row["weight"] == pytest.approx(TRUE[unit], abs=1e-6)


def test_tidy_summary_and_plots():
    res = fit(known_weights_panel(effect=-8.0), v=np.ones(7) / 7, leave_one_out=True)
    tidy = res.tidy()
    assert list(tidy["term"]) == ["mean_post_gap", "percent_change", "rmspe_ratio"]
    assert tidy.loc[0, "estimate"] == pytest.approx(-8.0, abs=1e-6)
    assert (tidy["p_value"] == res.p_value).all()
    post = res.gaps[res.gaps["time"] >= 2015]
    expected = 100 * post["gap"].mean() / post["synthetic"].mean()
    assert res.percent_change.estimate == pytest.approx(expected, rel=1e-12)
    text = str(res.summary())
    assert "placebo in space" in text and "LA03" in text
    ax = res.plot()
    assert ax.get_legend() is not None
    plt.close(ax.figure)
    ax = plot_placebo_gaps(res)
    assert len(ax.lines) >= len(UNITS)
    plt.close(ax.figure)
    ax = plot_leave_one_out(res)
    assert len(ax.lines) >= 3
    plt.close(ax.figure)


def test_placebo_plot_drops_poor_pre_fits():
    """ADH's rule: placebos with pre-period RMSPE above the multiple of the treated council's
    are not drawn; the title says how many."""
    res = fit(known_weights_panel(effect=-8.0), v=np.ones(7) / 7)
    ax = plot_placebo_gaps(res, exclude_pre_rmspe_above=2.0)
    # the treated fit is exact (pre-RMSPE ~ 0): every placebo is excluded
    assert "11 poorly fitting placebos not shown" in " ".join(ax.get_title(loc="left").split())
    plt.close(ax.figure)


def test_poor_pre_fit_warns_with_rmspe_and_percentile():
    """A treated council far above every donor cannot be matched: warn, naming its RMSPE and
    its percentile among placebos."""
    panel = known_weights_panel()
    panel.loc[panel["la"] == "LA00", "rate"] += 100
    with pytest.warns(PoorPreFitWarning) as record:
        res = fit(panel, v=np.ones(7) / 7)
    message = str(record[0].message)
    assert f"{res.pre_rmspe:.4g}" in message and "100% of the 11 placebo" in message


def test_predictor_averages_and_errors():
    """Predictors as (column, periods) averages: the weights solve the problem on the averaged
    predictors (checked against a fit on a panel holding those averages as outcomes)."""
    panel = known_weights_panel()
    spans = [("rate", [2008, 2009, 2010]), ("rate", [2011, 2012]), ("rate", [2013, 2014])]
    res = fit(panel, predictors=spans, v=np.ones(3) / 3, placebo=False)
    assert res.predictors == (
        "rate@mean(2008-2010)",
        "rate@mean(2011-2012)",
        "rate@mean(2013-2014)",
    )
    wide = panel.pivot(index="year", columns="la", values="rate")  # noqa: PD010
    for _, years in spans:  # the averages are matched exactly (the true weights can do it)
        treated = wide.loc[years, "LA00"].mean()
        synthetic = wide.loc[years, res.weights.index].mean().to_numpy() @ res.weights
        assert synthetic == pytest.approx(treated, abs=1e-8)
    with pytest.raises(DesignError, match=r"8 predictors but only 7 pre-periods"):
        fit(panel, predictors=[2008, 2009, 2010, 2011, 2012, 2013, 2014, 2008])
    with pytest.raises(DesignError, match=r"2016.*not before the start"):
        fit(panel, predictors=[("rate", [2014, 2016])])
    with pytest.raises(DesignError, match=r"predictor period 2017 is not a pre-period"):
        fit(panel, predictors=[2017])
    with pytest.raises(InvalidValueError, match=r"`v` must hold 7"):
        fit(panel, v=[1.0, 2.0])


def test_gaps_are_listed_with_their_periods():
    panel = known_weights_panel()
    gone = panel.index[(panel["la"].isin(["LA04", "LA09"])) & (panel["year"].isin([2009, 2011]))]
    with pytest.raises(DesignError) as info:
        fit(panel.drop(index=gone), placebo=False)
    text = str(info.value)
    assert "'LA04' (2009, 2011)" in text and "'LA09' (2009, 2011)" in text and "donors" in text


def test_does_not_modify_input():
    panel = known_weights_panel()
    before = panel.copy()
    fit(panel, v=np.ones(7) / 7, leave_one_out=True)
    pd.testing.assert_frame_equal(panel, before)
