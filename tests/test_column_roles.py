"""Columns are checked where they enter every panel estimator (issue 19).

A column named twice in ``data``, the outcome used as its own covariate or as the treatment, an
empty frame, complex outcomes and an unsupported thousands separator each get a typed error that
names the argument and the fix; before, they crashed deep inside pandas or were accepted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import InvalidValueError
from sfpc_eval.panel import numeric_column


def _panel(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(6):
        for t in range(2014, 2020):
            treated = int(u < 2 and t >= 2017)
            rows.append((u, t, treated, 2017.0 if u < 2 else np.nan, 10 + u + t % 7 - treated))
    frame = pd.DataFrame(rows, columns=["la", "year", "treated", "cohort", "y"])
    frame["y"] += rng.normal(0, 0.1, len(frame))
    frame["x"] = rng.normal(size=len(frame))
    return frame


ESTIMATORS = {
    "did": lambda d, **k: se.did(d, outcome="y", unit="la", time="year", treated="treated", **k),
    "event_study": lambda d, **k: se.event_study(
        d, outcome="y", unit="la", time="year", cohort="cohort", **k
    ),
    "callaway_santanna": lambda d, **k: se.callaway_santanna(
        d, outcome="y", unit="la", time="year", cohort="cohort", **k
    ),
    "imputation": lambda d, **k: se.imputation(
        d, outcome="y", unit="la", time="year", cohort="cohort", **k
    ),
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_a_column_named_twice_in_data_is_refused(name):
    frame = _panel()
    doubled = pd.concat([frame, frame[["y"]]], axis=1)
    with pytest.raises(InvalidValueError, match="more than one column called 'y'"):
        ESTIMATORS[name](doubled)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_the_outcome_as_its_own_covariate_is_refused(name):
    with pytest.raises(InvalidValueError, match=r"column 'y' is given as `outcome` and as"):
        ESTIMATORS[name](_panel(), covariates=["y"])


def test_the_treatment_as_the_outcome_is_refused():
    frame = _panel()
    with pytest.raises(InvalidValueError, match=r"column 'treated' is given as `outcome`"):
        se.did(frame, outcome="treated", unit="la", time="year", treated="treated")


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_an_empty_frame_is_refused(name):
    with pytest.raises(InvalidValueError, match="`data` has no rows"):
        ESTIMATORS[name](_panel().iloc[:0])


def test_complex_outcomes_are_refused_not_truncated():
    frame = _panel().assign(y=lambda d: d["y"] + 1j)
    with pytest.raises(InvalidValueError, match="complex numbers"):
        se.did(frame, outcome="y", unit="la", time="year", treated="treated")


def test_a_dot_thousands_separator_is_refused_not_ignored():
    frame = pd.DataFrame({"n": ["1.234", "2.000"]})
    with pytest.raises(InvalidValueError, match="`thousands` may only be None or ','"):
        numeric_column(frame, "n", argument="outcome", thousands=".")
