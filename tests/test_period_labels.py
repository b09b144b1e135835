"""Period labels are ordered as periods, not as text (issue 19).

The check that treatment never switches off used to order text periods as text: treatment on in
"8" and "9" and off in "10" and "11" passed, while the valid labels "1".."12" were refused
naming the wrong councils. A DfE symbol or ``inf`` in the time column was a period of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.panel import period_column


def _panel(periods, treated_periods, n_units: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_units):
        for k, p in enumerate(periods):
            treated = int(u < 2 and p in treated_periods)
            rows.append((u, p, treated, 10 + u + 0.3 * k - 2 * treated + rng.normal(0, 0.1)))
    return pd.DataFrame(rows, columns=["la", "t", "treated", "y"])


def test_treatment_switching_off_is_caught_with_text_labels():
    labels = [str(k) for k in range(8, 12)]  # "8" "9" "10" "11": as text, "10" < "11" < "8"
    frame = _panel(labels, {"8", "9"})  # on in 8 and 9, off in 10 and 11
    with pytest.raises(DesignError, match="switch"):
        se.did(frame, outcome="y", unit="la", time="t", treated="treated")


def test_valid_text_labels_fit_exactly_as_numbers():
    numbers = list(range(1, 13))
    frame = _panel(numbers, set(range(7, 13)))
    text = frame.assign(t=frame["t"].astype(str))
    args = dict(outcome="y", unit="la", time="t", treated="treated")
    want = se.did(frame, **args).estimate
    got = se.did(text, **args).estimate  # refused before: "1".."12" sorted as text
    assert got.estimate == pytest.approx(want.estimate, rel=1e-12)
    assert got.std_error == pytest.approx(want.std_error, rel=1e-12)


@pytest.mark.parametrize(
    ("bad", "words"),
    [("c", "DfE symbols, not periods"), ("inf", "infinite"), ("Q1 2021", "no order")],
)
def test_symbols_infinity_and_unordered_text_are_not_periods(bad, words):
    frame = _panel([2015, 2016, 2017, 2018], {2017, 2018}).astype({"t": object})
    frame.loc[3, "t"] = bad
    with pytest.raises(InvalidValueError, match=words) as info:
        se.did(frame, outcome="y", unit="la", time="t", treated="treated")
    assert "`time` column 't'" in str(info.value)


def test_numeric_infinity_and_ordered_categoricals():
    frame = _panel([2015.0, 2016.0, 2017.0, 2018.0], {2017.0, 2018.0})
    frame.loc[5, "t"] = np.inf
    with pytest.raises(InvalidValueError, match="infinite values in rows 5"):
        period_column(frame, "t")
    quarters = ["Q4 2020", "Q1 2021", "Q2 2021"]
    cats = pd.DataFrame({"t": pd.Categorical(quarters, categories=quarters, ordered=True)})
    assert period_column(cats, "t").cat.ordered
    unordered = cats.assign(t=cats["t"].cat.as_unordered())
    with pytest.raises(InvalidValueError, match="unordered categorical"):
        period_column(unordered, "t")
