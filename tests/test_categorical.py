"""Categorical covariates, effects by period or subgroup, aliased columns (issue 23, item 1).

Numbers are checked against the same model with indicator columns built by hand (pandas
``get_dummies``), which must give identical estimates (tolerance 1e-10: the same cells and the
same fit); R's ``glmer`` on the committed trial is compared in ``test_trial_workflow``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sfpc_eval.cells.categorical import expand_covariates, is_categorical
from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.trials.analysis import stepped_wedge


@pytest.fixture(scope="module")
def trial():
    rng = np.random.default_rng(23)
    rows = [(c, t) for c in range(5) for t in range(6) for _ in range(120)]
    df = pd.DataFrame(rows, columns=["la", "period"])
    df["treated"] = (df["period"] > df["la"]).astype(int)
    n = len(df)
    df["eth"] = rng.choice(["White", "Black", "Asian", "Mixed"], n, p=[0.6, 0.15, 0.15, 0.1])
    df["sex"] = pd.Categorical(rng.choice(["F", "M"], n), categories=["M", "F", "X"])
    df["uasc"] = rng.random(n) < 0.1
    df["age"] = rng.integers(0, 18, n).astype(float)
    eta = -2 + 0.4 * (df["eth"] == "Black") - 0.3 * df["treated"] + 0.02 * df["age"]
    df["y"] = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    return df


def test_expansion_names_levels_and_reference(trial):
    frame, coding = expand_covariates(
        trial, ["eth", "sex", "uasc", "age"], reference={"eth": "White"}
    )
    assert list(frame.columns) == [
        "eth[Asian]",
        "eth[Black]",
        "eth[Mixed]",
        "sex[F]",
        "uasc[True]",
        "age",
    ]
    assert frame["eth[Black]"].sum() == (trial["eth"] == "Black").sum()
    eth = coding.variables[0]
    assert eth.reference == "White" and eth.levels[0] == "White"
    # the declared level "X" of the category has no rows: dropped with a note
    assert any("'X'" in note for note in coding.notes)
    assert coding.variable_of("sex[F]").variable == "sex"
    assert trial["eth"].iloc[0] in ("White", "Black", "Asian", "Mixed")  # caller's data intact


def test_detection_of_categories():
    assert is_categorical(pd.Series(["a", "b"]))
    assert is_categorical(pd.Series([True, False]))
    assert is_categorical(pd.Series(["0", "1", "2 or more"]))
    assert not is_categorical(pd.Series(["1", "2"]))  # numbers as text stay numbers (noted)
    assert not is_categorical(pd.Series(["12", "c"]))  # DfE suppression: numeric, refused later
    assert not is_categorical(pd.Series([1.0, 2.0]))


def test_categorical_fit_equals_hand_made_indicators(trial):
    covs = ["eth", "sex", "uasc", "age"]
    ours = stepped_wedge(
        trial,
        "y",
        "la",
        "period",
        "treated",
        covs,
        model="glm",
        covariate_reference={"eth": "White"},
    )
    by_hand = trial.copy()
    dummies = pd.get_dummies(trial["eth"], prefix="e").astype(float).drop(columns="e_White")
    by_hand = pd.concat([by_hand, dummies], axis=1)
    by_hand["female"] = (trial["sex"] == "F").astype(float)
    by_hand["uasc01"] = trial["uasc"].astype(float)
    hand = stepped_wedge(
        by_hand,
        "y",
        "la",
        "period",
        "treated",
        [*dummies.columns, "female", "uasc01", "age"],
        model="glm",
    )
    np.testing.assert_allclose(ours.coef.to_numpy(), hand.coef.to_numpy(), rtol=1e-10)
    assert ours.term("eth[Black]").estimate == pytest.approx(
        hand.term("e_Black").estimate, rel=1e-10
    )


def test_rare_levels_are_reported(trial):
    df = trial.copy()
    rows = [*df.index[df["y"] == 1][:3], *df.index[df["y"] == 0][:3]]  # no separation
    df.loc[rows, "eth"] = "Traveller"
    res = stepped_wedge(df, "y", "la", "period", "treated", ["eth"], model="glm")
    assert any("rare level" in n and "Traveller" in n for n in res.notes())


def test_one_level_is_an_error(trial):
    df = trial.assign(eth="White")
    with pytest.raises(DesignError, match="one level"):
        stepped_wedge(df, "y", "la", "period", "treated", ["eth"])


def test_unknown_reference_is_an_error(trial):
    with pytest.raises(InvalidValueError, match="not one of its levels"):
        stepped_wedge(
            trial, "y", "la", "period", "treated", ["eth"], covariate_reference={"eth": "Purple"}
        )


def test_aliased_covariate_in_a_subset_is_dropped_with_a_note(trial):
    """A covariate level found in one council only, then a subset: glmer drops the column."""
    df = trial.copy()
    df["site"] = np.where(df["la"] == 0, "north", "south")  # constant within councils
    res = stepped_wedge(df, "y", "la", "period", "treated", ["eth", "site"], model="glm")
    assert "site[south]" not in res.coef.index  # aliased with the council fixed effects
    assert any("aliased" in n and "site[south]" in n for n in res.notes())


def test_effect_by_period_matches_its_parameterisation(trial):
    res = stepped_wedge(
        trial, "y", "la", "period", "treated", ["age"], model="glm", effect_by="period"
    )
    names = [t.term for t in res.terms]
    assert "treated:period[1]" in names and "treated:period[0]" not in names
    # period 5: every council treated, not identified, dropped with a note
    assert "treated:period[5]" not in names
    assert any("treated:period[5]" in n for n in res.notes())
    # the headline is the average of the per-period log odds ratios
    per = [res.coef[n] for n in res.coef.index if n.startswith("treated:period[")]
    assert res.estimate.estimate == pytest.approx(np.mean(per), rel=1e-12)


def test_effect_by_a_subgroup_level_seen_only_under_control(trial):
    df = trial.copy()
    df.loc[(df["treated"] == 1) & (df["eth"] == "Mixed"), "eth"] = "White"
    with pytest.raises(DesignError, match=r"Mixed.*not identified|not identified.*Mixed"):
        stepped_wedge(df, "y", "la", "period", "treated", ["eth"], effect_by="eth")


def test_effect_by_a_council_level_stratum(trial):
    df = trial.assign(readiness=np.where(trial["la"] < 2, "high", "low"))
    res = stepped_wedge(
        df, "y", "la", "period", "treated", ["age"], model="gee", effect_by="readiness"
    )
    assert {"treated:readiness[high]", "treated:readiness[low]"} <= set(res.coef.index)


def test_a_covariate_that_copies_the_treatment_is_dropped_and_named(trial):
    """Treatment comes before the covariates, so the copy is the aliased column (as glmer)."""
    df = trial.copy()
    df["copy"] = df["treated"].map({0: "no", 1: "yes"})
    res = stepped_wedge(df, "y", "la", "period", "treated", ["copy"], model="glm")
    assert "copy[yes]" not in res.coef.index
    assert any("copy[yes]" in n for n in res.notes())


def test_did_and_event_study_take_categorical_covariates():
    """The DiD paths expand categories the same way: equal to hand-made indicators."""
    from sfpc_eval.diff_in_diff.event_study import event_study
    from sfpc_eval.diff_in_diff.twfe import did

    rng = np.random.default_rng(4)
    rows = [(u, t) for u in range(12) for t in range(8)]
    df = pd.DataFrame(rows, columns=["la", "year"])
    df["cohort"] = np.where(df["la"] < 6, 5, np.nan)
    df["treated"] = ((df["year"] >= 5) & (df["la"] < 6)).astype(int)
    df["region"] = rng.choice(["north", "south", "midlands"], len(df))
    df["y"] = rng.normal(size=len(df)) + 0.5 * df["treated"] + 0.3 * (df["region"] == "north")
    hand = df.assign(
        north=(df["region"] == "north").astype(float), south=(df["region"] == "south").astype(float)
    )
    ours = did(
        df,
        outcome="y",
        unit="la",
        time="year",
        treated="treated",
        covariates=["region"],
        covariate_reference={"region": "midlands"},
    )
    ref = did(
        hand, outcome="y", unit="la", time="year", treated="treated", covariates=["north", "south"]
    )
    assert ours.term("region[north]").estimate == pytest.approx(
        ref.term("north").estimate, rel=1e-10
    )
    assert ours.estimate.estimate == pytest.approx(ref.estimate.estimate, rel=1e-10)
    es = event_study(df, "y", "la", "year", "cohort", covariates=["region"])
    es_ref = event_study(
        hand.assign(midlands=(df["region"] == "midlands").astype(float)),
        "y",
        "la",
        "year",
        "cohort",
        covariates=["north", "south"],
    )
    np.testing.assert_allclose(
        [t.estimate for t in es.terms[:3]], [t.estimate for t in es_ref.terms[:3]], rtol=1e-10
    )
    assert "region" in df and "region[north]" not in df  # the caller's frame is untouched


def test_text_numbers_with_a_leading_zero_are_codes_not_quantities():
    """Months of referral written "01".."12" (as extracts and Foundations' scripts hold them)
    are a category with a level per month; "1", "2" stay numbers (DfE counts read as text)."""
    rng = np.random.default_rng(1)
    rows = [(c, t) for c in range(5) for t in range(6) for _ in range(80)]
    df = pd.DataFrame(rows, columns=["la", "period"])
    df["treated"] = (df["period"] > df["la"]).astype(int)
    df["y"] = rng.binomial(1, 0.2, len(df))
    df["month"] = rng.choice(["01", "02", "03", "11"], len(df))
    res = stepped_wedge(df, "y", "la", "period", "treated", ["month"])
    assert [n for n in res.coef.index if n.startswith("month")] == [
        "month[02]",
        "month[03]",
        "month[11]",
    ]
    df["count"] = rng.choice(["1", "2", "3"], len(df))
    res = stepped_wedge(df, "y", "la", "period", "treated", ["count"])
    assert "count" in res.coef.index
