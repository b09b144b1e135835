"""Property: ``stepped_wedge`` keeps the promise with each model (GLMM, GEE, GLM) on generated
child-level trials (issue 19)."""

from __future__ import annotations

from _promise import budget, check_promise
from _strategies import CONF_LEVELS, trials
from hypothesis import given
from hypothesis import strategies as st

import sfpc_eval as se


def _run(frame, **kwargs):
    return check_promise(
        lambda: se.stepped_wedge(frame, "outcome", "cluster", "period", "treated", **kwargs),
        frame,
    )


@budget(0.3)
@given(
    frame=trials(),
    covariates=st.sampled_from([(), ("age",)]),
    df_method=st.sampled_from(["satterthwaite", "between_within", "z", "kenward-roger"]),
    nagq=st.sampled_from([1, 1, 5, 0]),
    exposure_time=st.booleans(),
    conf_level=CONF_LEVELS,
)
def test_stepped_wedge_glmm_keeps_the_promise(
    frame, covariates, df_method, nagq, exposure_time, conf_level
):
    _run(
        frame,
        covariates=covariates,
        model="glmm",
        df_method=df_method,
        nagq=nagq,
        exposure_time=exposure_time,
        conf_level=conf_level,
    )


@budget(0.5)
@given(
    frame=trials(),
    covariates=st.sampled_from([(), ("age",)]),
    gee_variance=st.sampled_from(["MD", "KC", "robust", "bogus"]),
    conf_level=CONF_LEVELS,
)
def test_stepped_wedge_gee_keeps_the_promise(frame, covariates, gee_variance, conf_level):
    _run(
        frame, covariates=covariates, model="gee", gee_variance=gee_variance, conf_level=conf_level
    )


@budget(0.5)
@given(
    frame=trials(),
    covariates=st.sampled_from([(), ("age",)]),
    cluster_effects=st.sampled_from([None, True, False]),
    conf_level=CONF_LEVELS,
)
def test_stepped_wedge_glm_keeps_the_promise(frame, covariates, cluster_effects, conf_level):
    _run(
        frame,
        covariates=covariates,
        model="glm",
        cluster_effects=cluster_effects,
        conf_level=conf_level,
    )
