"""Property: the staggered-adoption estimators keep the promise on generated panels
(``callaway_santanna``, ``sun_abraham``, ``imputation``, ``bacon``; issue 19)."""

from __future__ import annotations

from _promise import budget, check_promise
from _strategies import CONF_LEVELS, inference_options, panels
from hypothesis import given
from hypothesis import strategies as st

import sfpc_eval as se

COMMON = ("y", "la", "year", "cohort")
BALANCE = {"allow_unbalanced": st.booleans(), "conf_level": CONF_LEVELS}

CALLAWAY_OPTIONS = st.fixed_dictionaries(
    {
        "control": st.sampled_from(["never", "not_yet"]),
        "estimation": st.sampled_from(["dr", "ipw", "reg"]),
        "covariates": st.sampled_from([None, ["x"]]),
        "anticipation": st.sampled_from([0, 0, 1]),
        "base_period": st.sampled_from(["varying", "universal"]),
        "weights": st.sampled_from([None, "w"]),
        "bootstrap": st.sampled_from([None, None, 199]),
        "rng": st.integers(0, 1000),
        **BALANCE,
    }
)

SUN_ABRAHAM_OPTIONS = st.fixed_dictionaries(
    {
        "control": st.sampled_from(["never", "never", "last", "not_yet"]),
        "reference": st.sampled_from([-1, -1, -2, 0]),
        "window": st.sampled_from([None, (-2, 2), (-1, 1)]),
        "weights": st.sampled_from([None, "w"]),
        "inference": inference_options(allow_bootstrap=False),
        **BALANCE,
    }
)

IMPUTATION_OPTIONS = st.fixed_dictionaries(
    {
        "covariates": st.sampled_from([None, ["x"]]),
        "weights": st.sampled_from([None, "w"]),
        "horizons": st.sampled_from([None, (0, 2), (0, 0), (2, 0)]),
        "anticipation": st.sampled_from([0, 0, 1]),
        "pretrend_leads": st.sampled_from([None, None, 1, 2]),
        **BALANCE,
    }
)


@budget(0.6)
@given(panel=panels(), options=CALLAWAY_OPTIONS)
def test_callaway_santanna_keeps_the_promise(panel, options):
    frame, _ = panel
    check_promise(lambda: se.callaway_santanna(frame, *COMMON, **options), frame)


@budget(1.0)
@given(panel=panels(), options=SUN_ABRAHAM_OPTIONS)
def test_sun_abraham_keeps_the_promise(panel, options):
    frame, _ = panel
    check_promise(lambda: se.sun_abraham(frame, *COMMON, **options), frame)


@budget(1.0)
@given(panel=panels(), options=IMPUTATION_OPTIONS)
def test_imputation_keeps_the_promise(panel, options):
    frame, _ = panel
    check_promise(lambda: se.imputation(frame, *COMMON, **options), frame)


@budget(1.0)
@given(panel=panels())
def test_bacon_keeps_the_promise(panel):
    frame, _ = panel
    outcome = check_promise(lambda: se.bacon(frame, *COMMON), frame)
    if outcome.result is not None:
        # the 2x2 weights sum to one (Goodman-Bacon 2021, theorem 1), so the weighted average
        # of the 2x2 estimates is the two-way fixed-effects estimate
        comparisons = outcome.result.comparisons
        assert abs(comparisons["weight"].sum() - 1) < 1e-8
