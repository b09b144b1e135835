"""Event-study designs that leave nothing to estimate a variance or a joint test from (issue 19).

With one council per cohort (the SFPC shape) Sun & Abraham's interaction regression is saturated:
it divided by zero (CR1) or reported zero standard errors (CR2). A joint pre-trend test of more
leads than the clusters can carry inverted a singular matrix.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import DesignError


def _panel(cohorts, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u, g in enumerate(cohorts):
        for t in range(2012, 2021):
            treated = not np.isnan(g) and t >= g
            rows.append((u, t, g, 10 + u + 0.3 * (t - 2012) - 2 * treated + rng.normal(0, 0.3)))
    return pd.DataFrame(rows, columns=["la", "year", "cohort", "y"])


ONE_PER_COHORT = [2016, 2017, np.nan]


@pytest.mark.parametrize(
    "inference",
    [None, se.ClusterRobust(kind="CR2"), se.WildClusterBootstrap(n_resamples=199, rng=1)],
    ids=["CR1", "CR2", "wild"],
)
def test_sun_abraham_with_one_council_per_cohort_says_it_is_saturated(inference):
    frame = _panel(ONE_PER_COHORT)
    with (
        pytest.warns(se.SingleUnitCohortWarning),
        pytest.raises(DesignError, match="saturated") as info,
    ):
        se.sun_abraham(
            frame, outcome="y", unit="la", time="year", cohort="cohort", inference=inference
        )
    message = str(info.value)
    assert "each cohort has a single unit" in message and "imputation()" in message


def test_the_estimators_it_points_to_run_on_that_design():
    frame = _panel(ONE_PER_COHORT)
    args = dict(outcome="y", unit="la", time="year", cohort="cohort")
    with pytest.warns(se.SingleUnitCohortWarning):
        result = se.imputation(frame, **args)
    assert all(math.isfinite(t.std_error) for t in result.terms)


def test_a_joint_test_of_more_leads_than_clusters_allow_is_marked_not_testable():
    frame = _panel([2018, 2018, np.nan, np.nan])  # 4 clusters, 5 leads: rank at most 3
    args = dict(outcome="y", unit="la", time="year", cohort="cohort")
    with pytest.warns(se.UndefinedIntervalWarning, match="not testable"):
        result = se.event_study(frame, **args, inference=se.ClusterRobust(kind="CR2"))
    test = result.pretrend
    assert math.isnan(test.p_value) and "needs at least 6 clusters (there are 4)" in test.method
    # the estimates themselves are unaffected: equal to the same fit with CR1
    with pytest.warns(se.UndefinedIntervalWarning, match="not testable"):
        cr1 = se.event_study(frame, **args)
    assert [t.estimate for t in result.terms] == pytest.approx([t.estimate for t in cr1.terms])


def test_a_bootstrap_draw_that_loses_a_direction_is_reported_not_raised():
    frame = _panel([2015, 2015, 2017, 2017, np.nan, np.nan])
    wild = se.WildClusterBootstrap(n_resamples=199, rng=1)
    args = dict(outcome="y", unit="la", time="year", cohort="cohort", inference=wild)
    with pytest.warns(se.UndefinedIntervalWarning, match="bootstrap draws"):
        result = se.sun_abraham(frame, **args)
    assert math.isnan(result.pretrend.p_value) and math.isfinite(result.att.std_error)
