"""Multiple imputation by chained equations (issue 23, item 2).

References:

- each imputation model's fit against statsmodels (``Logit``, ``MNLogit``, ``OrderedModel``;
  estimates to 1e-6 relative, variances to 1e-5: both are Newton fits to the same likelihood,
  differing by their stopping rules);
- the augmentation against separation against the rule ``mice:::augment`` implements
  (White, Daniel and Royston 2010), worked out by hand for a small case;
- the imputations against R's ``mice`` 3.15 on the committed Family Safeguarding-shaped trial
  (``tests/fixtures/trial_workflow/make_mice.R``: the same imputation model, m = 20): the share
  of each level among the imputed values, and the estimates of the GLMM pooled over the
  imputations, agree within 3 Monte Carlo standard errors (the Monte Carlo SE of a mean over m
  imputations is its SD over imputations / sqrt(m); of a pooled estimate sqrt(B / m));
- known truth (``validation/mi_coverage.py``, read from its committed table) for coverage.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.miscmodels.ordinal_model import OrderedModel

from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.trials.analysis import stepped_wedge
from sfpc_eval.trials.imputation import MultipleImputation, impute
from sfpc_eval.trials.imputation_models import (
    _match,
    augment,
    fit_logistic,
    fit_multinomial,
    fit_ordinal,
)

HERE = Path(__file__).parent / "fixtures" / "trial_workflow"
META = json.loads((HERE / "meta.json").read_text())


@pytest.fixture(scope="module")
def regression_data():
    rng = np.random.default_rng(11)
    n = 3000
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.binomial(1, 0.4, n)])
    eta = x @ np.array([-0.5, 0.8, -0.6])
    y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    logits = np.column_stack([np.zeros(n), x @ [0.2, 0.5, -0.3], x @ [-0.4, -0.7, 0.9]])
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    codes = (rng.random(n)[:, None] > np.cumsum(prob, axis=1)[:, :-1]).sum(axis=1)
    latent = x[:, 1:] @ np.array([0.9, -0.5]) + rng.logistic(size=n)
    ordered = np.searchsorted([-0.8, 0.5, 1.6], latent)
    return x, y, codes, ordered


def test_logistic_fit_equals_statsmodels(regression_data):
    x, y, _, _ = regression_data
    beta, cov, _ = fit_logistic(x, y.astype(float), np.ones(len(y)))
    ref = sm.Logit(y, x).fit(disp=0, tol=1e-12, method="newton")
    np.testing.assert_allclose(beta, ref.params, rtol=1e-6)
    np.testing.assert_allclose(cov, ref.cov_params(), rtol=1e-5)


def test_multinomial_fit_equals_statsmodels(regression_data):
    x, _, codes, _ = regression_data
    coef, cov, _ = fit_multinomial(x, codes, 3, np.ones(len(codes)))
    ref = sm.MNLogit(codes, x).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
    # ours: category by category (K - 1 blocks of the predictors); statsmodels: params (p x K-1)
    np.testing.assert_allclose(coef, ref.params.T.ravel(), rtol=1e-6)
    # statsmodels' covariance is ordered as its flattened params: category by category too
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), np.sqrt(np.diag(ref.cov_params())), rtol=1e-5)


def test_ordinal_fit_equals_statsmodels(regression_data):
    x, _, _, ordered = regression_data
    (
        params,
        cov,
    ) = fit_ordinal(x[:, 1:], ordered, 4, np.ones(len(ordered)))
    ref = OrderedModel(ordered, x[:, 1:], distr="logit").fit(
        method="bfgs", disp=0, gtol=1e-10, maxiter=5000
    )
    slopes = ref.params[:2]
    cuts = ref.model.transform_threshold_params(ref.params)[1:-1]
    np.testing.assert_allclose(params[3:], slopes, rtol=1e-5)
    np.testing.assert_allclose(params[:3], cuts, rtol=1e-5)
    # slopes' SEs do not depend on how the cut-points are parameterised
    np.testing.assert_allclose(np.sqrt(np.diag(cov))[3:], ref.bse[:2], rtol=1e-4)


def test_augmentation_follows_mice():
    """mice:::augment on a 2-predictor, 2-category case: 8 rows, each predictor in turn at its
    mean +- half its SD (clamped to its range), the other at its mean, each category twice;
    total weight p + 1 = 3."""
    x = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0], [3.0, 10.0]])
    rows, codes, weights = augment(x, 2)
    mean, sd = x.mean(axis=0), x.std(axis=0, ddof=1)
    assert rows.shape == (8, 2) and weights.sum() == pytest.approx(3.0)
    expected_first = [mean[0] + 0.5 * sd[0], mean[0] - 0.5 * sd[0]] * 2 + [mean[0]] * 4
    np.testing.assert_allclose(rows[:, 0], expected_first)
    np.testing.assert_allclose(rows[4:, 1], [mean[1] + 0.5 * sd[1], mean[1] - 0.5 * sd[1]] * 2)
    assert codes.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]


def test_predictive_mean_matching_picks_among_the_nearest():
    obs = np.array([0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0])
    gen = np.random.default_rng(0)
    picks = np.array([_match(obs, np.array([10.4]), 3, gen)[0] for _ in range(300)])
    assert set(obs[picks]) == {10.0, 11.0, 12.0}  # the 3 nearest, each chosen
    picks = np.array([_match(obs, np.array([-5.0]), 2, gen)[0] for _ in range(200)])
    assert set(obs[picks]) == {0.0, 1.0}


@pytest.fixture(scope="module")
def trial():
    data = pd.read_csv(HERE / "trial.csv", dtype={"previous_plans": str})
    return data


def test_imputations_fill_only_the_gaps_and_are_reproducible(trial):
    before = trial.copy()
    a = impute(
        trial,
        META["covariates"],
        outcome="looked_after",
        cluster="council",
        period="period",
        treated="treated",
        m=3,
        seed=5,
        iterations=3,
        progress=False,
    )
    b = impute(
        trial,
        META["covariates"],
        outcome="looked_after",
        cluster="council",
        period="period",
        treated="treated",
        m=3,
        seed=5,
        iterations=3,
        progress=False,
    )
    pd.testing.assert_frame_equal(trial, before)  # the caller's data untouched
    for name, col in a.columns.items():
        np.testing.assert_array_equal(col.draws, b.columns[name].draws)
    first = a.dataset(0)
    assert not first[META["covariates"]].isna().any().any()
    observed = trial[META["covariates"]].notna()
    pd.testing.assert_frame_equal(
        first[META["covariates"]][observed].fillna("-"),
        trial[META["covariates"]][observed].fillna("-"),
    )
    assert {"sex", "ethnicity", "disability", "uasc"} == set(a.columns)
    assert a.columns["ethnicity"].method == "polyreg" and a.columns["uasc"].method == "logreg"
    assert set(a.trace["iteration"]) == {1, 2, 3}
    table = a.compare(by="treated")
    assert {"observed", "imputed", "mc_se"} <= set(table.columns)
    assert a.long()[".imp"].nunique() == 3


def test_against_r_mice(trial):
    ref = json.loads((HERE / "mice.json").read_text())
    m = ref["m"]
    ours = impute(
        trial,
        META["covariates"],
        outcome="looked_after",
        cluster="council",
        period="period",
        treated="treated",
        m=m,
        seed=2028,
        progress=False,
    )
    for name, r in ref["shares"].items():
        col = ours.columns[name]
        r_per = np.asarray(r["per_imputation"])  # m x levels
        for k, level in enumerate(r["levels"]):
            mine = (col.draws == col.levels.index(level)).mean(axis=1)
            theirs = r_per[:, k]
            mc = math.sqrt(mine.var(ddof=1) / m + theirs.var(ddof=1) / m)
            assert abs(mine.mean() - theirs.mean()) <= 3 * mc + 1e-12, (name, level)
    fits = [
        stepped_wedge(
            d,
            "looked_after",
            "council",
            "period",
            "treated",
            META["covariates"],
            covariate_reference=META["reference"],
        )
        for d in ours.datasets()
    ]
    q = np.array([f.coef.to_numpy() for f in fits])
    names = [_r_name(n) for n in fits[0].coef.index]
    order = [ref["names"].index(n) for n in names]
    r_qbar = np.asarray(ref["qbar"])[order]
    r_b = np.asarray(ref["b"])[order]
    mc = np.sqrt(q.var(axis=0, ddof=1) / m + r_b / m)
    assert np.all(np.abs(q.mean(axis=0) - r_qbar) <= 3 * mc), np.abs(q.mean(axis=0) - r_qbar) / mc


def _r_name(name: str) -> str:
    """Our coefficient name as R's formula names it."""
    if name == "(intercept)":
        return "(Intercept)"
    if name.startswith("period["):
        return f"factor(period){name[7:-1]}"
    if "[" in name:
        variable, level = name[:-1].split("[", 1)
        return f"{variable}{level}"
    return name


# ------------------------------------------------------------------------------ bad inputs
def _call(trial, **kwargs):
    args = dict(
        outcome="looked_after",
        cluster="council",
        period="period",
        treated="treated",
        m=2,
        seed=1,
        iterations=1,
        progress=False,
    )
    return impute(trial, META["covariates"], **(args | kwargs))


def test_fewer_than_two_imputations(trial):
    with pytest.raises(InvalidValueError, match="at least 2"):
        MultipleImputation(m=1, seed=1)
    with pytest.raises(InvalidValueError, match="at least 2"):
        _call(trial, m=1)


def test_method_that_does_not_fit_the_column(trial):
    with pytest.raises(InvalidValueError, match="does not fit the column"):
        _call(trial, methods={"ethnicity": "logreg"})
    with pytest.raises(InvalidValueError, match="does not fit the column"):
        _call(trial, methods={"ethnicity": "polr"})
    with pytest.raises(InvalidValueError, match="must be one of"):
        _call(trial, methods={"ethnicity": "cart"})
    numeric = trial.assign(
        score=np.where(np.arange(len(trial)) % 7 == 0, np.nan, np.arange(len(trial)) / 100)
    )
    with pytest.raises(InvalidValueError, match="does not fit the column"):
        impute(
            numeric,
            ["score"],
            outcome="looked_after",
            cluster="council",
            period="period",
            treated="treated",
            m=2,
            seed=1,
            methods={"score": "polyreg"},
            progress=False,
        )


def test_covariate_missing_in_every_row_of_a_council(trial):
    df = trial.copy()
    df.loc[df["council"] == "Swindon", "ethnicity"] = None
    with pytest.raises(DesignError, match="missing for every child in council 'Swindon'"):
        _call(df)


def test_missing_outcome_is_refused_with_the_reason(trial):
    df = trial.copy()
    df.loc[df.index[[3, 9]], "looked_after"] = np.nan
    with pytest.raises(InvalidValueError, match="outcome is not imputed"):
        _call(df)
    with pytest.raises(InvalidValueError, match="outcome is not imputed"):
        stepped_wedge(
            df,
            "looked_after",
            "council",
            "period",
            "treated",
            META["covariates"],
            imputations=MultipleImputation(m=2, seed=1, progress=False),
        )


def test_a_column_missing_everywhere_and_one_observed_level(trial):
    with pytest.raises(InvalidValueError, match="missing in every row"):
        _call(trial.assign(uasc=None))
    one = trial.assign(uasc=np.where(trial["uasc"].isna(), None, "No"))
    with pytest.raises(DesignError, match="one observed level"):
        _call(one)


def test_known_truth_coverage_of_pooled_intervals():
    """``validation/mi_coverage.py``: 500 simulated trials, ethnicity and disability missing at
    random (15% each), m = 5; the pooled 95% intervals of the treatment effect and of the
    imputed covariates' coefficients cover the truth within 3 Monte Carlo SEs of 95% (the SE
    of a coverage of 95% over 500 sets is 1.0 point) and inside the 93-97% band the issue asks
    for: measured 94.4% (treatment), 95.4% (disability), 96.6% (Asian), 93.4% (Mixed; its
    excess spread over the pooled SE is shared by the complete-case analysis of the same data
    sets, see ``validation/mi_coverage.md``)."""
    table = pd.read_csv(Path(__file__).parents[1] / "validation" / "mi_coverage.csv")
    mi = table[table["method"] == "mi"]
    assert mi["seed"].nunique() >= 500
    coverage = mi.groupby("term")["covered"].mean()
    assert set(coverage.index) == {
        "treated",
        "disability[Disabled]",
        "ethnicity[Mixed]",
        "ethnicity[Asian]",
    }
    mc = math.sqrt(0.95 * 0.05 / mi["seed"].nunique())
    assert ((coverage - 0.95).abs() < 3 * mc).all(), coverage
    assert coverage.between(0.93, 0.97).all(), coverage
    bias = (mi["estimate"] - mi["truth"]).groupby(mi["term"]).mean()
    mc_se = mi.groupby("term")["estimate"].std() / np.sqrt(mi.groupby("term").size())
    assert (bias.abs() < 3 * mc_se + 0.02).all(), (bias, mc_se)
