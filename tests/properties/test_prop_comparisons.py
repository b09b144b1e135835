"""Property: the before/after functions and ``adjust_pvalues`` keep the promise on generated
scalars (issue 19); adjusted p-values also match statsmodels' ``multipletests``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from _promise import budget, check_promise
from _strategies import CONF_LEVELS, SCALARS_BOUNDED, SEEDS, SEEDS_CHECKED, WALD_SAFE
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

import sfpc_eval as se

ODD = st.sampled_from(
    ["c", "x", "1,234", "[z]", "", None, True, float("nan"), float("inf"), -1, 2.5, "12"]
    + ([10**30, 1e308, 10**400] if SCALARS_BOUNDED else [])
)
COUNTS = st.one_of(st.integers(0, 50), st.integers(0, 10**7), ODD)
if SCALARS_BOUNDED:
    MEAN = st.one_of(
        st.floats(-1e6, 1e6, allow_nan=False),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0.0, 1e-300, 1e300]),
    )
    SD = st.one_of(st.floats(0, 1e4), st.sampled_from([-1.0, float("nan"), 0.0, 1e300]))
    EXPOSURE = st.floats(0, 1e9)
    TINY = [1e-300]
else:  # until the bounds land, magnitudes whose squares or exponentials overflow are left out
    MEAN = st.one_of(
        st.floats(-1e6, 1e6, allow_nan=False).filter(lambda m: m == 0 or abs(m) >= 0.1),
        st.sampled_from([0.0, 0.1, 1e6, float("nan"), float("inf")]),
    )
    SD = st.one_of(st.floats(0.01, 10), st.sampled_from([-1.0, float("nan")]))
    EXPOSURE = st.one_of(st.just(0.0), st.floats(1e-3, 1e9))
    TINY = []
N = st.one_of(st.integers(0, 10**6), st.sampled_from([1, 2, -5, 2.5]))
GROUP_N = N if WALD_SAFE else st.one_of(st.integers(30, 10**6), st.sampled_from([1, -5, 2.5]))
GROUP = st.one_of(MEAN, st.tuples(MEAN, SD, GROUP_N))


@budget(3.0)
@given(
    before=COUNTS,
    after=COUNTS,
    exposure=st.one_of(
        st.none(),
        st.tuples(EXPOSURE, EXPOSURE),
        st.tuples(
            st.sampled_from([1.0, 100.0, -1.0, float("nan"), *TINY]),
            st.just(100.0),
        ),
    ),
    per=st.sampled_from([None, None, 1000, 10_000, 0, -5]),
    conf_level=CONF_LEVELS,
)
def test_compare_counts_keeps_the_promise(before, after, exposure, per, conf_level):
    check_promise(
        lambda: se.compare_counts(before, after, exposure=exposure, per=per, conf_level=conf_level),
    )


@st.composite
def proportion(draw):
    if draw(st.integers(0, 9)) == 0:
        return draw(st.one_of(st.floats(allow_nan=True), ODD))
    n = draw(st.one_of(st.integers(0, 60), st.integers(0, 10**6), N))
    events = draw(st.one_of(st.integers(0, max(int(n) if isinstance(n, int) else 0, 0)), COUNTS))
    return (events, n)


@budget(3.0)
@given(
    treated=proportion(),
    control=proportion(),
    method=st.sampled_from(["woolf", "woolf", "exact", "wald"]),
    conf_level=CONF_LEVELS,
)
def test_compare_proportions_keeps_the_promise(treated, control, method, conf_level):
    check_promise(
        lambda: se.compare_proportions(
            treated, control, odds_ratio_method=method, conf_level=conf_level
        ),
    )


@budget(3.0)
@given(treated=GROUP, control=GROUP, conf_level=CONF_LEVELS)
def test_compare_means_keeps_the_promise(treated, control, conf_level):
    check_promise(lambda: se.compare_means(treated, control, conf_level=conf_level))


CELL = st.one_of(
    st.tuples(st.integers(1, 10**5), st.floats(1, 1e6)),  # a count and its population
    st.tuples(st.integers(0, 3), st.floats(1, 1e3)),  # small counts, zero among them
    st.tuples(COUNTS, EXPOSURE),  # anything
)


@budget(2.0)
@given(
    treated=st.tuples(CELL, CELL),
    control=st.tuples(CELL, CELL),
    conf_level=CONF_LEVELS,
)
def test_did_from_counts_keeps_the_promise(treated, control, conf_level):
    check_promise(lambda: se.did_from_counts(treated, control, conf_level=conf_level))


@budget(2.0)
@given(treated=st.tuples(GROUP, GROUP), control=st.tuples(GROUP, GROUP), conf_level=CONF_LEVELS)
def test_did_from_means_keeps_the_promise(treated, control, conf_level):
    check_promise(lambda: se.did_from_means(treated, control, conf_level=conf_level))


@st.composite
def pairs(draw):
    n = draw(st.integers(0, 12))
    values = st.one_of(st.floats(0, 1e4), st.integers(0, 500).map(float))
    before = draw(st.lists(values, min_size=n, max_size=n))
    after = draw(st.lists(values, min_size=n, max_size=n))
    frame = pd.DataFrame({"before": before, "after": after, "la": [f"LA{i}" for i in range(n)]})
    damage = draw(
        st.sampled_from(
            [None, None, "nan", "negative", "zero_before", "text", "duplicate_unit", "inf"]
        )
    )
    if n and damage == "nan":
        frame.loc[0, "after"] = np.nan
    elif n and damage == "negative":
        frame.loc[0, "before"] = -3.0
    elif damage == "zero_before":
        frame["before"] = 0.0
    elif n and damage == "text":
        frame["after"] = frame["after"].astype(object)
        frame.loc[0, "after"] = "c"
    elif n > 1 and damage == "duplicate_unit":
        frame.loc[1, "la"] = "LA0"
    elif n and damage == "inf":
        frame.loc[0, "before"] = np.inf
    return frame


@budget(1.0)
@given(
    frame=pairs(),
    unit=st.sampled_from([None, "la"]),
    ratio_method=st.sampled_from(["delta", "delta", "bootstrap", "jackknife"]),
    n_resamples=st.sampled_from([199, 250] + ([0, -1, 99, 10**9] if SEEDS_CHECKED else [])),
    rng=SEEDS,
    conf_level=CONF_LEVELS,
)
def test_paired_change_keeps_the_promise(frame, unit, ratio_method, n_resamples, rng, conf_level):
    check_promise(
        lambda: se.paired_change(
            frame,
            unit=unit,
            ratio_method=ratio_method,
            n_resamples=n_resamples,
            rng=rng,
            conf_level=conf_level,
        ),
        frame,
    )


P_VALUE = st.one_of(
    st.floats(0, 1),
    st.sampled_from([0.0, 1.0, 5e-324, 1 - 1e-16]),
)
P_ODD = st.sampled_from([-0.1, 1.5, float("nan"), float("inf"), "0.05", None, True])


@budget(2.0)
@given(
    p_values=st.one_of(
        st.lists(P_VALUE, max_size=20),
        st.lists(st.one_of(P_VALUE, P_ODD), max_size=6),
        st.lists(st.lists(P_VALUE, min_size=2, max_size=2), min_size=1, max_size=4),
    ),
    as_array=st.booleans(),
    method=st.sampled_from(["holm", "bh", "bonferroni", "BH"]),
)
def test_adjust_pvalues_keeps_the_promise_and_matches_statsmodels(p_values, as_array, method):
    given_values = np.array(p_values, dtype=object) if as_array else p_values
    outcome = check_promise(lambda: se.adjust_pvalues(given_values, method), given_values)
    if outcome.result is None:
        return
    adjusted = np.asarray(outcome.result, dtype=float)
    raw = np.asarray(p_values, dtype=float)
    assert adjusted.shape == raw.shape and raw.ndim == 1
    if raw.size:
        # independent reference: statsmodels' multipletests (holm / fdr_bh), to rounding
        reference = multipletests(raw, method={"holm": "holm", "bh": "fdr_bh"}[method])[1]
        np.testing.assert_allclose(adjusted, reference, rtol=1e-12, atol=0)
        assert np.all(adjusted >= raw - 1e-15) and np.all(adjusted <= 1)
    assert math.isfinite(float(adjusted.sum())) if raw.size else True
