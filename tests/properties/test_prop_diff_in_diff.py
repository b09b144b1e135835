"""Property: ``did`` and ``event_study`` keep the promise on generated panels (issue 19)."""

from __future__ import annotations

from _promise import budget, check_promise
from _strategies import CONF_LEVELS, inference_options, panels
from hypothesis import given
from hypothesis import strategies as st

import sfpc_eval as se

DID_OPTIONS = st.fixed_dictionaries(
    {
        "family": st.sampled_from(["gaussian", "poisson", "binomial"]),
        "inference": inference_options(),
        "covariates": st.sampled_from([[], ["x"], ["y"]]),
        "weights": st.sampled_from([None, "w"]),
        "treated": st.sampled_from(["treated", "treated", "treated", "y"]),
        "conf_level": CONF_LEVELS,
    }
)

EVENT_STUDY_OPTIONS = st.fixed_dictionaries(
    {
        "window": st.sampled_from([None, (-2, 2), (-1, 0), (0, 0), (3, -3)]),
        "reference": st.sampled_from([-1, -1, -2, 0, 5]),
        "bin_endpoints": st.booleans(),
        "inference": inference_options(allow_bootstrap=False),
        "allow_unbalanced": st.booleans(),
        "conf_level": CONF_LEVELS,
    }
)


@budget(1.0)
@given(panel=panels(), options=DID_OPTIONS)
def test_did_keeps_the_promise(panel, options):
    frame, _ = panel
    check_promise(lambda: se.did(frame, outcome="y", unit="la", time="year", **options), frame)


@budget(1.0)
@given(panel=panels(), options=EVENT_STUDY_OPTIONS)
def test_event_study_keeps_the_promise(panel, options):
    frame, _ = panel
    check_promise(lambda: se.event_study(frame, "y", "la", "year", "cohort", **options), frame)
