"""Property: the single-council designs keep the promise on generated panels
(``synthetic_control``, ``synthetic_did``, ``its``; issue 19)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _promise import budget, check_promise
from _strategies import CONF_LEVELS, SEEDS, SEEDS_CHECKED, panels
from hypothesis import given
from hypothesis import strategies as st

import sfpc_eval as se

SINGLE = {"outcome": "y", "unit": "la", "time": "year"}
TREATED_UNIT = st.sampled_from(["LA0", "LA0", "LA1", "nowhere"])

SYNTHETIC_CONTROL_OPTIONS = st.fixed_dictionaries(
    {
        "treated_unit": TREATED_UNIT,
        "placebo": st.booleans(),
        "leave_one_out": st.booleans(),
        "conf_level": CONF_LEVELS,
    }
)

SYNTHETIC_DID_OPTIONS = st.fixed_dictionaries(
    {
        "treated_unit": TREATED_UNIT,
        "variance": st.sampled_from(["placebo", "jackknife", "bootstrap", "none", "wrong"]),
        "replications": st.sampled_from([20, 50] + ([0, -3, 1] if SEEDS_CHECKED else [])),
        "rng": SEEDS,
        "conf_level": CONF_LEVELS,
    }
)


@budget(0.5)
@given(
    panel=panels(min_units=2, max_units=6),
    options=SYNTHETIC_CONTROL_OPTIONS,
    use_predictors=st.booleans(),
)
def test_synthetic_control_keeps_the_promise(panel, options, use_predictors):
    frame, info = panel
    start = info["start"]
    predictors = [("x", [p for p in info["periods"] if p < start])] if use_predictors else None
    check_promise(
        lambda: se.synthetic_control(
            frame, **SINGLE, start=start, predictors=predictors, **options
        ),
        frame,
    )


@budget(0.5)
@given(panel=panels(min_units=2, max_units=6), options=SYNTHETIC_DID_OPTIONS)
def test_synthetic_did_keeps_the_promise(panel, options):
    frame, info = panel
    check_promise(lambda: se.synthetic_did(frame, **SINGLE, start=info["start"], **options), frame)


@st.composite
def series(draw):
    """One council's series: 4-30 periods, a level and slope change, optional damage."""
    n = draw(st.integers(4, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    t = np.arange(n)
    start_index = draw(st.integers(0, n - 1))
    noise = draw(st.sampled_from([0.0, 0.01, 1.0, 100.0]))
    y = (
        50 + 0.3 * t - 4 * (t >= start_index) + rng.normal(0, noise, n)
        if noise
        else (50 + 0.3 * t - 4 * (t >= start_index))
    )
    frame = pd.DataFrame({"year": 2000 + t, "rate": y, "england": 40 + 0.2 * t})
    damage = draw(
        st.sampled_from([None] * 7 + ["nan", "inf", "duplicate", "string_time", "constant", "huge"])
    )
    if damage == "nan":
        frame.loc[draw(st.integers(0, n - 1)), "rate"] = np.nan
    elif damage == "inf":
        frame.loc[draw(st.integers(0, n - 1)), "rate"] = np.inf
    elif damage == "duplicate":
        frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    elif damage == "string_time":
        frame["year"] = frame["year"].astype(str)
    elif damage == "constant":
        frame["rate"] = 3.0
    elif damage == "huge":
        frame["rate"] = frame["rate"] * 1e200
    start = frame["year"].iloc[start_index]
    return frame, start


ITS_OPTIONS = st.fixed_dictionaries(
    {
        "hac_lags": st.sampled_from([None, None, None, 0, 1, 3, 50, -1]),
        "seasonal_period": st.sampled_from([None, None, 2, 4, 12]),
        "errors": st.sampled_from(["hac", "hac", "hac", "ar", "ar", "nope"]),
        "ar_order": st.sampled_from([1, 1, 1, 2, 0]),
        "harmonics": st.sampled_from([None, None, 1, 3]),
        "comparison": st.sampled_from([None, None, "england", "rate"]),
        "conf_level": CONF_LEVELS,
    }
)


@budget(1.5)
@given(data=series(), options=ITS_OPTIONS)
def test_its_keeps_the_promise(data, options):
    frame, start = data
    check_promise(lambda: se.its(frame, outcome="rate", time="year", start=start, **options), frame)
