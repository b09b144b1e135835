"""did() on designs that defeat its model, answered plainly (issue 19).

Two councils, one treated: every cluster-robust variance of the effect is zero up to rounding
(it printed a standard error of 8e-9 and p = 5e-9 with CR1, and crashed with CR2). A logit whose
treatment group or a council has an outcome at 0 or 1 everywhere has no maximum-likelihood
estimate (it crashed in a Cholesky factorisation).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import SeparationError


def _two_councils() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        (u, t, int(u == 0 and t >= 3), 5 + u + t + rng.normal()) for u in range(2) for t in range(6)
    ]
    return pd.DataFrame(rows, columns=["la", "t", "treated", "y"])


@pytest.mark.parametrize("kind", ["CR0", "CR1", "CR2"])
def test_one_treated_of_two_councils_has_no_cluster_robust_error(kind):
    frame = _two_councils()
    with (
        pytest.warns(se.UndefinedIntervalWarning, match="variance is zero up to rounding"),
        pytest.warns(se.FewTreatedClustersWarning),
    ):
        result = se.did(
            frame,
            outcome="y",
            unit="la",
            time="t",
            treated="treated",
            inference=se.ClusterRobust("la", kind=kind),
        )
    term = result.estimate
    # the point estimate is the closed-form 2x2 DiD of period means
    m = frame.groupby(["la", frame["t"] >= 3])["y"].mean()
    assert term.estimate == pytest.approx((m[0, True] - m[0, False]) - (m[1, True] - m[1, False]))
    assert math.isnan(term.std_error) and math.isnan(term.p_value) and math.isnan(term.conf_low)
    assert not term.valid and "Randomization()" in term.note
    # model-based (classical) errors are still there for whoever asks for them
    with pytest.warns(se.FewTreatedClustersWarning):
        classical = se.did(
            frame, outcome="y", unit="la", time="t", treated="treated", inference=se.Classical()
        )
    assert classical.estimate.std_error > 0.1 and classical.estimate.valid


def _binary(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(8):
        for t in range(6):
            treated = int(u < 3 and t >= 3)
            for _ in range(20):
                rows.append((u, t, treated, int(rng.random() < (0.5 if treated else 0.3))))
    return pd.DataFrame(rows, columns=["la", "t", "treated", "y"])


def test_a_treatment_group_all_events_is_a_separation_error():
    frame = _binary()
    frame.loc[frame["treated"] == 1, "y"] = 1
    with pytest.raises(SeparationError, match="treatment group treated = 1: every row an event"):
        se.did(frame, outcome="y", unit="la", time="t", treated="treated", family="binomial")


def test_a_council_with_no_events_is_a_separation_error_naming_it():
    frame = _binary()
    frame.loc[frame["la"] == 5, "y"] = 0
    with pytest.raises(SeparationError, match=r"unit 5: no events") as info:
        se.did(frame, outcome="y", unit="la", time="t", treated="treated", family="binomial")
    assert "family='gaussian'" in str(info.value)
    with pytest.raises(SeparationError, match=r"unit 5: no events"):
        se.did(frame, outcome="y", unit="la", time="t", treated="treated", family="poisson")
    # without the empty council the logit fits
    kept = frame[frame["la"] != 5]
    fit = se.did(kept, outcome="y", unit="la", time="t", treated="treated", family="binomial")
    assert math.isfinite(fit.estimate.std_error)


def test_cr3_says_it_is_not_defined_when_a_fixed_effect_is_nested_in_the_cluster():
    with pytest.warns(se.FewTreatedClustersWarning), pytest.raises(se.DesignError, match="CR3"):
        se.did(
            _two_councils(),
            outcome="y",
            unit="la",
            time="t",
            treated="treated",
            inference=se.ClusterRobust("la", kind="CR3"),
        )
