"""simulate_trial: calibration to the published designs, recovery of the known truth, inputs."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.trials.design import SteppedWedgeDesign
from sfpc_eval.trials.simulate import (
    FAMILY_SAFEGUARDING,
    NO_WRONG_DOOR,
    SIM_COLUMNS,
    simulate_trial,
)


def test_columns_and_truth_attached():
    df = simulate_trial("nwd", rng=3)
    assert tuple(df.columns) == SIM_COLUMNS
    truth = df.attrs["truth"]
    assert truth.odds_ratio == 0.8 and truth.seed == 3
    assert set(truth.cluster_intercepts) == set(NO_WRONG_DOOR.design.clusters)
    assert df["treated"].isin([0.0, 1.0]).all()


def test_published_counts_are_reproduced_exactly():
    # No Wrong Door: children per council as published (Norfolk 4,392; Redcar 1,173;
    # Rochdale 2,219; Warrington 1,206)
    df = simulate_trial("no_wrong_door", rng=1)
    assert df.groupby("cluster").size().to_dict() == dict(NO_WRONG_DOOR.children)
    assert df["age"].between(12, 17).all()
    # Family Safeguarding: about 38,250 referred children in total
    fs = simulate_trial("family_safeguarding", rng=1)
    assert len(fs) == 38_250
    assert fs["age"].between(0, 17).all()


def test_switch_dates_and_exposure_follow_the_design():
    df = simulate_trial("fs", rng=5)
    walsall = df[df["cluster"] == "Walsall"]
    assert (walsall.loc[walsall["referral_date"] < "2020-09-01", "treated"] == 0).all()
    assert (walsall.loc[walsall["referral_date"] >= "2020-09-01", "treated"] == 1).all()
    assert df["referral_date"].min() >= pd.Timestamp("2020-03-01")
    assert df["referral_date"].max() < pd.Timestamp("2022-11-24")
    # period sizes follow period length: baseline (184 days) vs last period (184 days) in
    # Lancashire within 5 binomial SDs
    lanc = df[df["cluster"] == "Lancashire"]
    assert abs((lanc["period"] == 0).mean() - 184 / 998) < 5 * np.sqrt(0.18 * 0.82 / len(lanc))


def test_baseline_risk_calibration_matches_targets():
    # Calibration target: control risk in the first period, averaged over covariates, equals
    # the published baseline (No Wrong Door: 6 %, Redcar and Cleveland 4 %). With no extra
    # random intercept, 200,000 children and a binomial tolerance of 4 SDs (a test that fails
    # by chance with probability < 1e-4 per council).
    df = simulate_trial("nwd", rng=11, n_children=200_000, cluster_sd=0.0)
    base = df[df["period"] == 0].groupby("cluster")["looked_after"].agg(["mean", "size"])
    for cluster, row in base.iterrows():
        target = NO_WRONG_DOOR.baseline_risk[cluster]
        sd = np.sqrt(target * (1 - target) / row["size"])
        assert abs(row["mean"] - target) < 4 * sd, (cluster, row["mean"], target)


def test_covariate_frequencies_match_their_distributions():
    df = simulate_trial("fs", rng=4, n_children=100_000)
    n = len(df)

    def close(observed, p):
        return abs(observed - p) < 4 * np.sqrt(p * (1 - p) / n)

    assert close((df["sex"] == "female").mean(), FAMILY_SAFEGUARDING.female_share)
    assert close((df["age"] == 0).mean(), FAMILY_SAFEGUARDING.age_probs[0])
    assert close(df["disability"].mean(), 0.06)
    assert close((df["previous_plans"] == 0).mean(), 0.80)
    assert close((df["ethnicity"] == "White").mean(), 0.74)


def _fit(df, covariates=True):
    """Logistic regression with cluster and period fixed effects (a simple analysis)."""
    parts = [
        pd.get_dummies(df["cluster"], prefix="c", dtype=float),
        pd.get_dummies(df["period"], prefix="p", drop_first=True, dtype=float),
        df[["treated"]].astype(float),
    ]
    if covariates:
        age = df["age"]
        parts.append(
            pd.DataFrame(
                {
                    "age_under_1": (age == 0).astype(float),
                    "age_13_15": age.between(13, 15).astype(float),
                    "age_16_17": (age >= 16).astype(float),
                    "female": (df["sex"] == "female").astype(float),
                    "disability": df["disability"].astype(float),
                    "previous_plans_1": (df["previous_plans"] == 1).astype(float),
                    "previous_plans_2plus": (df["previous_plans"] == 2).astype(float),
                }
            )
        )
        parts.append(
            pd.get_dummies(df["ethnicity"], prefix="ethnicity", drop_first=True, dtype=float)
        )
    x = pd.concat(parts, axis=1)
    x = x.loc[:, x.abs().sum() > 0]  # e.g. no infants among No Wrong Door's 12-17-year-olds
    return sm.Logit(df["looked_after"].astype(float), x).fit(disp=0)


def test_known_truth_is_recovered_by_logistic_regression():
    # Family Safeguarding shape, 60,000 children, true OR 0.7; cluster fixed effects absorb
    # the random intercepts. Each true log-odds parameter must lie within 4 model SEs of its
    # estimate (chance failure < 1e-4 per parameter).
    df = simulate_trial("fs", rng=2024, odds_ratio=0.7, n_children=60_000)
    truth = df.attrs["truth"]
    fit = _fit(df)
    checks = {"treated": truth.log_odds_ratio, **truth.covariate_effects}
    for name, value in checks.items():
        if name not in fit.params.index:
            continue
        z = (fit.params[name] - value) / fit.bse[name]
        assert abs(z) < 4, (name, fit.params[name], value)
    # period effects relative to period 0
    for t in range(1, 6):
        z = (fit.params[f"p_{t}"] - truth.period_effects[t]) / fit.bse[f"p_{t}"]
        assert abs(z) < 4


def test_cluster_intercepts_hold_the_random_draw():
    df = simulate_trial(
        "nwd", rng=9, cluster_sd=0.5, n_children=150_000, odds_ratio=1.0, period_effects=[0.0] * 5
    )
    truth = df.attrs["truth"]
    fit = _fit(df)
    for c in NO_WRONG_DOOR.design.clusters:
        expected = truth.cluster_intercepts[c] + truth.random_intercepts[c]
        assert abs(fit.params[f"c_{c}"] - expected) < 4 * fit.bse[f"c_{c}"]


def test_mcar_and_mar_missingness_rates():
    mcar = simulate_trial("fs", rng=6, missing="mcar", missing_rate=0.2)
    n = len(mcar)
    for col in ("ethnicity", "disability"):
        assert abs(mcar[col].isna().mean() - 0.2) < 4 * np.sqrt(0.16 / n)
    assert mcar["looked_after"].notna().all() and mcar["age"].notna().all()
    mar = simulate_trial("fs", rng=6, missing="mar", missing_rate=0.2)
    miss = mar["ethnicity"].isna()
    assert abs(miss.mean() - 0.2) < 0.01
    # at random given previous plans: children with previous plans go missing more often
    assert miss[mar["previous_plans"] > 0].mean() > miss[mar["previous_plans"] == 0].mean() + 0.05


def test_seeded_and_vectorised():
    a = simulate_trial("fs", rng=8, n_children=2_000)
    b = simulate_trial("fs", rng=8, n_children=2_000)
    pd.testing.assert_frame_equal(a, b)
    start = time.perf_counter()
    big = simulate_trial("fs", rng=8, n_children=50_000, missing="mar")
    elapsed = time.perf_counter() - start
    assert len(big) == 50_000
    # informative only (speed is measured in benchmarks, not asserted tightly): generous bound
    assert elapsed < 10


def test_custom_design_uses_its_sizes():
    d = SteppedWedgeDesign(list("ABC"), [1, 2, 3], 4, cluster_period_sizes=50, transition_periods=1)
    df = simulate_trial(d, rng=1, baseline_risk={"A": 0.1, "B": 0.2, "C": 0.3})
    # transition cells (excluded) get no children: 3 clusters x 3 analysed periods x 50
    assert len(df) == 450
    assert df["referral_date"].isna().all()
    assert df.attrs["truth"].baseline_risk == {"A": 0.1, "B": 0.2, "C": 0.3}


def test_expected_risk_formula_matches_truth_for_one_child_type():
    # the linear predictor in the truth reproduces the simulated risk for a single covariate
    # pattern (girls aged 5, White, no disability, no plans) in control, period 0
    df = simulate_trial("fs", rng=21, n_children=400_000, cluster_sd=0.0)
    truth = df.attrs["truth"]
    sel = df[
        (df["period"] == 0)
        & (df["cluster"] == "Lancashire")
        & (df["age"] == 5)
        & (df["sex"] == "female")
        & (df["ethnicity"] == "White")
        & (df["disability"] == 0)
        & (df["previous_plans"] == 0)
    ]
    p = expit(truth.cluster_intercepts["Lancashire"] + truth.covariate_effects["female"])
    assert abs(sel["looked_after"].mean() - p) < 4 * np.sqrt(p * (1 - p) / len(sel))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"design_or_name": "family valued"}, "unknown trial 'family valued'"),
        ({"design_or_name": 5}, "must be a SteppedWedgeDesign, a TrialSpec"),
        ({"odds_ratio": 0}, "`odds_ratio` must be a positive number"),
        ({"cluster_sd": -1}, "`cluster_sd` must be a non-negative"),
        ({"missing": "mnar"}, "`missing` must be 'none', 'mcar' or 'mar'"),
        ({"missing_rate": 1.5}, r"`missing_rate` must be in \[0, 1\)"),
        ({"missing_columns": ["looked_after"]}, "may name only covariates"),
        ({"covariate_effects": {"income": 1.0}}, "unknown `covariate_effects` 'income'"),
        ({"baseline_risk": 1.2}, r"risks in \(0, 1\); got 1.2"),
        ({"baseline_risk": {"Rochdale": 0.1}}, r"lacks cluster\(s\) 'Warrington'"),
        ({"period_effects": [0, 1]}, "`period_effects` must be 5 finite log-odds"),
        ({"n_children": 0}, "`n_children` must be a positive integer"),
    ],
)
def test_bad_inputs(kwargs, match):
    kwargs = {"design_or_name": "nwd", "rng": 1, **kwargs}
    with pytest.raises(InvalidValueError, match=match):
        simulate_trial(**kwargs)


def test_design_without_sizes():
    d = SteppedWedgeDesign(list("ABC"), [1, 2, 3], 4)
    with pytest.raises(InvalidValueError, match="no cluster-period sizes"):
        simulate_trial(d, rng=1)
