"""Period labels are periods in every estimator, not only in ``did`` (issue 19).

Before this, ``its`` and the synthetic control ordered a text period column as text: with
periods "8".."13" the series ran 10, 11, 12, 13, 8, 9 and the estimate was of a scrambled
series, with no error. The stepped-wedge analysis coded text periods in text order, so the
"one switch per cluster" check and the period effects used the wrong order. Every estimator
now reads its time column with :func:`sfpc_eval.panel.period_column`: text that reads as
numbers becomes numbers, and DfE symbols, infinity and unordered text are refused naming the
column. The cohort-based estimators (event study, Callaway & Sant'Anna, Sun & Abraham,
imputation, Bacon) need numeric periods to compare with cohorts and were already safe; they are
checked here too so that the promise is tested for every design.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import InvalidValueError, SfpcEvalError

PERIODS = list(range(8, 14))  # as text "10" < "11" < ... < "8" < "9"


def council_panel(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(6):
        for k, p in enumerate(PERIODS):
            effect = -3.0 * (u == 0) * (p >= 11)
            rows.append((f"LA{u}", p, 40 + 2 * u + 1.5 * k + effect + rng.normal(0, 0.2)))
    return pd.DataFrame(rows, columns=["la", "year", "rate"])


def cohort_panel(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cohorts = {0: 10.0, 1: 10.0, 2: 12.0, 3: 12.0, 4: np.nan, 5: np.nan, 6: np.nan}
    rows = []
    for u, g in cohorts.items():
        for k, p in enumerate(PERIODS):
            treated = float(not np.isnan(g) and p >= g)
            rows.append((u, p, g, treated, 5 + u + 0.4 * k + 2 * treated + rng.normal(0, 0.3)))
    return pd.DataFrame(rows, columns=["la", "year", "g", "d", "y"])


def trial_rows(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(6):
        switch = 9 + c // 2 * 1  # pairs switch at 9, 10, 11
        for p in PERIODS[:4]:  # 8 9 10 11
            treated = int(p >= switch)
            for _ in range(40):
                rows.append((c, p, treated, int(rng.random() < 0.3 + 0.1 * treated)))
    return pd.DataFrame(rows, columns=["cluster", "period", "treated", "y"])


def as_text(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame.assign(**{column: frame[column].astype(str)})


ESTIMATORS = {
    "its": (
        lambda d: d[d["la"] == "LA0"].drop(columns="la"),
        "year",
        lambda d, start: se.its(d, outcome="rate", time="year", start=start),
        "level_change",
    ),
    "synthetic_control": (
        lambda d: d,
        "year",
        lambda d, start: se.synthetic_control(
            d,
            outcome="rate",
            unit="la",
            time="year",
            treated_unit="LA0",
            start=start,
            placebo=False,
        ),
        None,
    ),
    "synthetic_did": (
        lambda d: d,
        "year",
        lambda d, start: se.synthetic_did(
            d,
            outcome="rate",
            unit="la",
            time="year",
            treated_unit="LA0",
            start=start,
            replications=20,
            rng=1,
        ),
        None,
    ),
}


def estimate_of(result, term):
    if term:
        return result.term(term).estimate
    return result.tidy()["estimate"].to_numpy()


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("start_as_text", [False, True])
def test_text_periods_give_the_numeric_answer(name, start_as_text):
    select, column, call, term = ESTIMATORS[name]
    numeric = select(council_panel())
    text = as_text(numeric, column)
    want = estimate_of(call(numeric, 11), term)
    got = estimate_of(call(text, "11" if start_as_text else 11), term)
    assert got == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize(
    ("bad", "words"), [("c", "DfE symbols"), ("inf", "infinite"), ("year 9", "no order")]
)
def test_symbols_infinity_and_unordered_text_are_refused(name, bad, words):
    select, column, call, _ = ESTIMATORS[name]
    frame = select(council_panel()).astype({column: object})
    frame.loc[frame.index[1], column] = bad
    with pytest.raises(InvalidValueError, match=words) as info:
        call(frame, 11)
    assert f"column '{column}'" in str(info.value)


def test_stepped_wedge_text_periods_give_the_numeric_answer():
    rows = trial_rows()
    want = se.stepped_wedge(rows, "y", "cluster", "period", "treated", model="glm")
    got = se.stepped_wedge(
        as_text(rows, "period"), "y", "cluster", "period", "treated", model="glm"
    )
    assert got.estimate.estimate == pytest.approx(want.estimate.estimate, rel=1e-10)
    assert got.estimate.std_error == pytest.approx(want.estimate.std_error, rel=1e-10)


def test_stepped_wedge_quarters_as_an_ordered_categorical():
    rows = trial_rows()
    labels = {8: "Q3 2020", 9: "Q4 2020", 10: "Q1 2021", 11: "Q2 2021"}
    quarters = rows.assign(
        period=pd.Categorical(
            rows["period"].map(labels), categories=list(labels.values()), ordered=True
        )
    )
    want = se.stepped_wedge(rows, "y", "cluster", "period", "treated", model="glm")
    got = se.stepped_wedge(quarters, "y", "cluster", "period", "treated", model="glm")
    assert got.estimate.estimate == pytest.approx(want.estimate.estimate, rel=1e-10)
    text = quarters.assign(period=quarters["period"].astype(str))  # "Q1 2021" < "Q3 2020"
    with pytest.raises(InvalidValueError, match="no order"):
        se.stepped_wedge(text, "y", "cluster", "period", "treated", model="glm")


COHORT_ESTIMATORS = {
    "event_study": lambda d: se.event_study(d, outcome="y", unit="la", time="year", cohort="g"),
    "callaway_santanna": lambda d: se.callaway_santanna(d, "y", "la", "year", "g"),
    "sun_abraham": lambda d: se.sun_abraham(d, "y", "la", "year", "g"),
    "imputation": lambda d: se.imputation(d, "y", "la", "year", "g"),
    "bacon": lambda d: se.bacon(d, "y", "la", "year", "g"),
}


def overall(result) -> np.ndarray:
    if hasattr(result, "tidy"):
        return result.tidy()["estimate"].to_numpy()
    return np.asarray([result.estimate])


@pytest.mark.parametrize("name", list(COHORT_ESTIMATORS))
def test_cohort_designs_read_text_periods_as_numbers(name):
    call = COHORT_ESTIMATORS[name]
    numeric = cohort_panel()
    want = overall(call(numeric))
    got = overall(call(as_text(as_text(numeric, "year"), "g").replace({"g": {"nan": np.nan}})))
    np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("name", list(COHORT_ESTIMATORS))
@pytest.mark.parametrize("bad", ["c", "inf", "year 9"])
def test_cohort_designs_refuse_symbols_and_unordered_text(name, bad):
    frame = cohort_panel().astype({"year": object})
    frame.loc[3, "year"] = bad
    with pytest.raises(SfpcEvalError, match="`time` column 'year'"):
        COHORT_ESTIMATORS[name](frame)
