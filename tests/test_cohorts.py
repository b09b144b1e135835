"""Bad staggered-adoption inputs: each a typed error (or named warning) with a useful message.

Covers :func:`sfpc_eval.diff_in_diff.cohorts.validate_cohorts` (shared by every staggered
estimator) and the checks :func:`callaway_santanna` and its ``aggregate`` add.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.diff_in_diff.cohorts import CohortPanel, validate_cohorts
from sfpc_eval.errors import (
    DesignError,
    DuplicateObservationError,
    InvalidValueError,
    MissingColumnError,
    SfpcEvalWarning,
    SingleUnitCohortWarning,
)
from sfpc_eval.staggered.callaway import callaway_santanna

YEARS = [2016, 2017, 2018, 2019, 2020]


def make(cohorts: dict[str, float], seed: int = 0) -> pd.DataFrame:
    """One row per council and year; `cohorts` maps council -> first treated year (NaN never)."""
    rng = np.random.default_rng(seed)
    rows = []
    for la, g in cohorts.items():
        base = rng.normal()
        for t in YEARS:
            rows.append((la, t, base + 0.1 * t + rng.normal(scale=0.1), g, rng.normal()))
    return pd.DataFrame(rows, columns=["la", "year", "rate", "cohort", "x"])


GOOD = {
    "Walsall": 2018.0,
    "Lancashire": 2018.0,
    "Rochdale": 2019.0,
    "Norfolk": 2019.0,
    "Leeds": np.nan,
    "Kent": np.nan,
    "Devon": np.nan,
}


def validate(df: pd.DataFrame, **kwargs) -> CohortPanel:
    args = {"outcome": "rate", "unit": "la", "time": "year", "cohort": "cohort"}
    args.update(kwargs)
    return validate_cohorts(df, **args)


def test_good_panel_described():
    panel = validate(make(GOOD), covariates=["x"])
    assert panel.n_units == 7 and panel.n_periods == 5 and panel.n_never_treated == 3
    assert panel.cohort_sizes == {2018.0: 2, 2019.0: 2}
    assert panel.balanced and panel.n_missing_unit_periods == 0
    # never treated are inf on the panel (documented convention)
    assert np.isinf(panel.unit_cohort[list(panel.units).index("Leeds")])
    assert panel.data["year"].is_monotonic_increasing is False  # sorted by unit, then year
    assert panel.data.groupby("la")["year"].apply(lambda s: s.is_monotonic_increasing).all()


def test_inf_accepted_as_never_treated():
    df = make(GOOD).assign(cohort=lambda d: d["cohort"].fillna(np.inf))
    assert validate(df).n_never_treated == 3


def test_cohort_outside_panel_periods():
    df = make({**GOOD, "Walsall": 2031.0})
    with pytest.raises(InvalidValueError) as err:
        validate(df)
    msg = str(err.value)
    assert "2031" in msg and "'Walsall'" in msg and "2016 to 2020" in msg
    assert "set their cohort to missing explicitly" in msg


def test_cohort_between_periods_refused():
    df = make(GOOD)
    df.loc[df["la"] == "Norfolk", "cohort"] = 2018.5
    with pytest.raises(InvalidValueError, match=r"2018\.5.*'Norfolk'"):
        validate(df)


def test_r_style_zero_for_never_treated_is_refused_with_recode_hint():
    df = make(GOOD).assign(cohort=lambda d: d["cohort"].fillna(0))
    with pytest.raises(InvalidValueError) as err:
        validate(df)
    msg = str(err.value)
    assert "codes never-treated units as 0" in msg
    assert "replace(0, np.nan)" in msg and "3 unit(s)" in msg


def test_units_treated_in_first_period():
    df = make({**GOOD, "Walsall": 2016.0, "Darlington": 2016.0})
    with pytest.raises(DesignError) as err:
        validate(df)
    msg = str(err.value)
    assert msg.startswith("2 unit(s) are treated in the first period of the panel (2016)")
    assert "'Darlington'" in msg and "'Walsall'" in msg
    assert "no pre-treatment period" in msg and "Drop them explicitly" in msg


def test_no_never_treated_with_never_controls():
    df = make({k: (v if v == v else 2020.0) for k, v in GOOD.items()})
    with pytest.raises(DesignError) as err:
        validate(df, control="never")
    msg = str(err.value)
    assert "all 7 units are treated" in msg and "control='not_yet'" in msg


def test_no_never_treated_with_not_yet_controls_names_the_periods():
    df = make({k: (v if v == v else 2020.0) for k, v in GOOD.items()})
    with pytest.raises(DesignError) as err:
        validate(df, control="not_yet")
    msg = str(err.value)
    assert "from period 2020 on" in msg and "data[data['year'] < 2020]" in msg


def test_anticipation_longer_than_pre_period():
    df = make(GOOD)
    validate(df, anticipation=1)  # 2018 - 1 leaves 2016 as base
    with pytest.raises(DesignError) as err:
        validate(df, anticipation=2)
    msg = str(err.value)
    assert "`anticipation=2` is longer than the pre-period of cohort(s) 2018" in msg
    assert "which hold 2 unit(s)" in msg and "the panel starts in 2016" in msg
    assert "Reduce `anticipation`" in msg


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True])
def test_anticipation_must_be_whole_nonnegative(bad):
    with pytest.raises(InvalidValueError, match="`anticipation` must be a whole number"):
        validate(make(GOOD), anticipation=bad)


def test_unbalanced_panel_counts_missing_unit_periods():
    df = make(GOOD)
    df = df.drop(df.index[(df["la"] == "Kent") & (df["year"].isin([2017, 2019]))])
    df = df.drop(df.index[(df["la"] == "Rochdale") & (df["year"] == 2020)])
    with pytest.raises(DesignError) as err:
        validate(df)
    msg = str(err.value)
    assert "3 unit-period(s) are missing (32 rows for 7 units x 5 periods)" in msg
    assert "'Kent'" in msg and "'Rochdale'" in msg and "allow_unbalanced=True" in msg
    panel = validate(df, allow_unbalanced=True)
    assert not panel.balanced and panel.n_missing_unit_periods == 3
    with pytest.raises(DesignError, match="3 unit-period"):
        callaway_santanna(df, "rate", "la", "year", "cohort")
    res = callaway_santanna(df, "rate", "la", "year", "cohort", allow_unbalanced=True)
    assert res.n_units == 7


def test_unbalanced_cell_without_rows_is_an_error():
    """With a cohort unobserved in a period, its cell cannot be estimated: say which."""
    df = make(GOOD)
    df = df.drop(df.index[df["la"].isin(["Rochdale", "Norfolk"]) & (df["year"] == 2018)])
    with pytest.raises(
        DesignError, match="No cohort unit is observed in period 2018, which the ATT of cohort 2019"
    ):
        callaway_santanna(df, "rate", "la", "year", "cohort", allow_unbalanced=True)


def test_single_unit_cohort_warns_fragile():
    df = make({**GOOD, "Swindon": 2020.0})
    with pytest.warns(SingleUnitCohortWarning) as record:
        panel = validate(df)
    msg = str(record[0].message)
    assert "1 cohort(s) have a single unit: 2020" in msg and "'Swindon'" in msg
    assert "inference for them is fragile" in msg
    assert issubclass(SingleUnitCohortWarning, SfpcEvalWarning)
    assert panel.cohort_sizes[2020.0] == 1


def test_cohort_not_constant_within_unit():
    df = make(GOOD)
    df.loc[(df["la"] == "Walsall") & (df["year"] == 2020), "cohort"] = 2019.0
    df.loc[(df["la"] == "Leeds") & (df["year"] == 2020), "cohort"] = 2020.0
    with pytest.raises(InvalidValueError) as err:
        validate(df)
    msg = str(err.value)
    assert "must be constant within each la" in msg
    assert "varies within 2 unit(s)" in msg and "'Leeds'" in msg and "'Walsall'" in msg


def test_missing_outcome_names_rows():
    df = make(GOOD)
    df.loc[[3, 8], "rate"] = np.nan
    with pytest.raises(
        InvalidValueError, match=r"`outcome` column 'rate' has missing values.*3, 8"
    ):
        validate(df)


def test_missing_covariate_and_text_time():
    df = make(GOOD)
    df.loc[5, "x"] = np.nan
    with pytest.raises(InvalidValueError, match=r"`covariates` column 'x' has missing.*5"):
        validate(df, covariates=["x"])
    df = make(GOOD).astype({"year": str})
    df.loc[0, "year"] = "2016/17"
    with pytest.raises(InvalidValueError, match=r"`time` column 'year' must be numeric.*2016/17"):
        validate(df)


def test_missing_column():
    with pytest.raises(MissingColumnError, match="`cohort` names column"):
        validate(make(GOOD), cohort="first_year")
    with pytest.raises(MissingColumnError, match=r"`covariates\[1\]` names column"):
        validate(make(GOOD), covariates=["x", "imd"])


def test_duplicate_rows():
    df = make(GOOD)
    df = pd.concat([df, df.iloc[[0]]], ignore_index=True)
    with pytest.raises(DuplicateObservationError, match=r"\(Kent, 2016\)|\(Walsall, 2016\)"):
        validate(df)


def test_no_treated_unit():
    df = make({k: np.nan for k in GOOD})
    with pytest.raises(DesignError, match="No unit is ever treated"):
        validate(df)


def test_bad_control():
    with pytest.raises(InvalidValueError, match=r"`control` must be 'never'.*'notyettreated'"):
        validate(make(GOOD), control="notyettreated")


def test_weights_must_be_constant_within_unit():
    df = make(GOOD).assign(pop=lambda d: 1000.0 + d["year"])
    with pytest.raises(InvalidValueError, match="`weights` column 'pop' must be constant"):
        validate(df, weights="pop")


def test_caller_frame_untouched():
    df = make(GOOD)
    before = df.copy()
    validate(df)
    pd.testing.assert_frame_equal(df, before)


# ------------------------------------------------------------- callaway_santanna arguments


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"estimation": "drimp"}, "`estimation` must be one of 'dr', 'ipw', 'reg'"),
        ({"base_period": "fixed"}, "`base_period` must be one of 'varying', 'universal'"),
        ({"bootstrap": 1}, "`bootstrap` must be at least 2"),
        ({"bootstrap": 99.5}, "`bootstrap` must be"),
        ({"conf_level": 95}, "`conf_level` must be between 0 and 1"),
    ],
)
def test_callaway_bad_arguments(kwargs, pattern):
    with pytest.raises(InvalidValueError, match=pattern):
        callaway_santanna(make(GOOD), "rate", "la", "year", "cohort", **kwargs)


def test_cluster_must_contain_whole_units():
    df = make(GOOD).assign(region=lambda d: np.where(d["year"] > 2018, "N", "S"))
    with pytest.raises(InvalidValueError, match="`cluster` column 'region' must be constant"):
        callaway_santanna(df, "rate", "la", "year", "cohort", cluster="region")
    df = make(GOOD).assign(region="all")
    with pytest.raises(DesignError, match="single cluster"):
        callaway_santanna(df, "rate", "la", "year", "cohort", cluster="region")


def test_overlap_failure_is_an_error_not_nan():
    df = make(GOOD)
    # a covariate that separates the 2018 cohort from the never-treated councils
    df["sep"] = np.where(df["cohort"] == 2018, 5.0, 0.0) + 0.01 * np.arange(len(df)) % 1
    with pytest.raises(DesignError, match="cohort 2018") as err:
        callaway_santanna(df, "rate", "la", "year", "cohort", covariates=["sep"])
    assert "estimation='reg'" in str(err.value)


def test_collinear_covariates():
    df = make(GOOD).assign(x2=lambda d: 2 * d["x"])
    with pytest.raises(DesignError, match="collinear"):
        callaway_santanna(
            df, "rate", "la", "year", "cohort", covariates=["x", "x2"], estimation="reg"
        )


@pytest.mark.parametrize(
    ("kind", "kwargs", "error", "pattern"),
    [
        ("event", {}, InvalidValueError, "`kind` must be one of"),
        ("dynamic", {"min_e": 2, "max_e": 1}, InvalidValueError, "larger than `max_e`"),
        ("group", {"balance_e": 1}, InvalidValueError, "only applies to the 'dynamic'"),
        ("dynamic", {"balance_e": -1}, InvalidValueError, "`balance_e` must be a whole"),
        ("calendar", {"max_e": 1}, InvalidValueError, "do not apply to the 'calendar'"),
        ("simple", {"min_e": 5}, DesignError, "No post-treatment ATT"),
        ("group", {"min_e": 2}, DesignError, "for cohort\\(s\\) 2019"),
        ("dynamic", {"max_e": -1}, DesignError, "no post-treatment event time"),
        ("dynamic", {"balance_e": 4}, DesignError, "Reduce `balance_e`"),
        ("dynamic", {"min_e": float("nan")}, InvalidValueError, "`min_e` is NaN"),
    ],
)
def test_aggregate_bad_arguments(kind, kwargs, error, pattern):
    res = callaway_santanna(make(GOOD), "rate", "la", "year", "cohort")
    with pytest.raises(error, match=pattern):
        res.aggregate(kind, **kwargs)


def test_zero_weight_cohort_is_an_error_not_nan():
    df = make(GOOD).assign(pop=lambda d: np.where(d["cohort"] == 2019, 0.0, 1000.0))
    with pytest.raises(
        DesignError, match="cohort 2019 in period 2017: the cohort has zero total weight"
    ):
        callaway_santanna(df, "rate", "la", "year", "cohort", weights="pop")
    df = df.drop(df.index[(df["la"] == "Kent") & (df["year"] == 2017)])
    with pytest.raises(DesignError, match="zero total weight"):
        callaway_santanna(df, "rate", "la", "year", "cohort", weights="pop", allow_unbalanced=True)


@pytest.mark.parametrize(
    "estimator", ["event_study", "sun_abraham", "imputation", "callaway_santanna"]
)
def test_an_outcome_constant_within_every_unit_is_refused_not_given_meaningless_p_values(estimator):
    """Before this check the event study returned effects of exactly 0 with standard errors of 0
    and p < 0.001: numbers with no meaning. Every staggered estimator now says why it cannot
    estimate anything."""
    rows = pd.DataFrame(
        [(u, t) for u in range(12) for t in range(2010, 2018)], columns=["la", "year"]
    )
    rows["g"] = rows["la"].map(lambda u: [2013.0, 2015.0, np.nan][u % 3])
    rows["y"] = rows["la"] * 2.0  # differs between councils, constant within each
    with pytest.raises(se.DesignError, match="constant within every la"):
        getattr(se, estimator)(rows, "y", "la", "year", "g")
