"""Synthetic control: known weights, the convex weight problem, placebo p-value by direct
enumeration, and bad inputs. (Comparison with pysyncon is left for the issue-8 work: on the
known-weights panel pysyncon's SLSQP inner solver stops at a worse objective than the exact
solution, see the note.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

import sfpc_eval as se
from sfpc_eval.errors import DesignError, DuplicateObservationError
from sfpc_eval.estimators.synthetic import simplex_weights

UNITS = [f"LA{i:02d}" for i in range(12)]
YEARS = list(range(2008, 2020))
TRUE = {"LA03": 0.5, "LA06": 0.3, "LA08": 0.2}


def known_weights_panel(effect: float = -3.0) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    factors = rng.normal(0, 1, (len(YEARS), 2)).cumsum(0)
    y = rng.normal(50, 5, 12)[None, :] + factors @ rng.uniform(0, 3, (12, 2)).T
    y += rng.normal(0, 0.3, y.shape)
    y[:, 0] = sum(w * y[:, UNITS.index(u)] for u, w in TRUE.items())
    y[YEARS.index(2015) :, 0] += effect
    return pd.DataFrame(
        [(u, yr, y[j, i]) for i, u in enumerate(UNITS) for j, yr in enumerate(YEARS)],
        columns=["la", "year", "rate"],
    )


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
    objective values agree to 1e-8 and ours is never worse."""
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
        (lambda p: p.drop(index=5), {}, DesignError, ["LA00", "balanced"]),
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
