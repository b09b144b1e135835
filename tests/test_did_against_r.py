"""did() against R: lm/glm + sandwich::vcovCL, estimatr::lm_robust and clubSandwich::coef_test.

Every expected number is read from fixtures written by committed R scripts:
``tests/fixtures/did/make_did_reference.R`` (did_reference.csv; R 4.2.2, sandwich 3.0.2,
clubSandwich 0.5.8, estimatr 1.0.0; seeds in each CSV's first line) and
``tests/fixtures/did/make_cr3_reference.R`` (cr3_reference.csv).

Tolerances (relative):
- coefficients, CR0/CR1 standard errors and G-1 p-values: 1e-8 (closed forms on both sides;
  R's glm is run to epsilon 1e-14 so its coefficients carry no convergence error);
- CR2/CR3 standard errors, Satterthwaite df and p-values: 1e-6 against clubSandwich.
For Poisson, clubSandwich's own CR2 keeps rounding-error eigenvalues (its absolute 1e-12
cut-off, with variances in the hundreds), so its df are unstable in the 4th digit; the
reference there is the ``CR2_reltol`` row, computed from clubSandwich's definition in the R
script with a relative cut-off; clubSandwich's CR2 itself is checked at 1e-3 for the df and
1e-6 for the SE.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import DesignError

DID = Path(__file__).parent / "fixtures" / "did"
REFERENCE = pd.read_csv(DID / "did_reference.csv", comment="#")
CR3 = pd.read_csv(DID / "cr3_reference.csv", comment="#")

MODELS = {
    ("panel_g5", "ols"): {"outcome": "y", "covariates": ["x"], "time": "year"},
    ("panel_g5", "ols_nox"): {"outcome": "y", "time": "year"},
    ("panel_g5", "poisson"): {
        "outcome": "count",
        "exposure": "pop",
        "family": "poisson",
        "time": "year",
    },
    ("panel_g12_children", "ols"): {"outcome": "y", "covariates": ["x"], "time": "period"},
    ("panel_g12_children", "logit"): {
        "outcome": "y_bin",
        "covariates": ["x"],
        "time": "period",
        "family": "binomial",
    },
    ("panel_g12_unbalanced", "ols_weighted"): {
        "outcome": "y",
        "covariates": ["x"],
        "time": "year",
        "weights": "w",
    },
    ("panel_g12_unbalanced", "poisson"): {
        "outcome": "count",
        "covariates": ["x"],
        "time": "year",
        "exposure": "pop",
        "family": "poisson",
    },
}
# R vcov label -> (our inference, tolerance for se, df and p)
VCOVS = {
    "CR1_sandwich": (se.ClusterRobust(kind="CR1"), 1e-8),
    "CR1_estimatr_stata": (se.ClusterRobust(kind="CR1"), 1e-8),
    "CR1_estimatr_stata_dummies": (se.ClusterRobust(kind="CR1"), 1e-8),
    "CR1S": (se.ClusterRobust(kind="CR1", df="satterthwaite"), 1e-6),
    "CR0": (se.ClusterRobust(kind="CR0", df="satterthwaite"), 1e-6),
    "CR2": (se.ClusterRobust(kind="CR2"), 1e-6),
    "CR2_reltol": (se.ClusterRobust(kind="CR2"), 1e-6),
}


def cases():
    for (dataset, model), kwargs in MODELS.items():
        for vcov in VCOVS:
            rows = REFERENCE[
                (REFERENCE.dataset == dataset)
                & (REFERENCE.model == model)
                & (REFERENCE.vcov == vcov)
            ]
            if not rows.empty:
                yield pytest.param(
                    dataset, model, vcov, kwargs, rows, id=f"{dataset}-{model}-{vcov}"
                )


@pytest.mark.parametrize(("dataset", "model", "vcov", "kwargs", "rows"), list(cases()))
def test_matches_r(dataset, model, vcov, kwargs, rows):
    data = pd.read_csv(DID / f"{dataset}.csv", comment="#")
    inference, tol = VCOVS[vcov]
    if model == "poisson" and vcov == "CR2":
        tol = None  # clubSandwich's unstable Poisson CR2: checked loosely below
    res = se.did(data, unit="la", treated="treated", inference=inference, **kwargs)
    for row in rows.itertuples(index=False):
        term = res.term(row.term)
        assert term.estimate == pytest.approx(row.estimate, rel=1e-8)
        if tol is None:
            assert term.std_error == pytest.approx(row.std_error, rel=1e-6)
            assert term.df == pytest.approx(row.df, rel=1e-3)
            continue
        assert term.std_error == pytest.approx(row.std_error, rel=tol)
        assert term.df == pytest.approx(row.df, rel=tol)
        assert term.p_value == pytest.approx(row.p_value, rel=tol)


def test_poisson_coefficient_equals_glm_with_dummies():
    """Poisson FE coefficient vs glm(family = poisson) with LA and year dummies: 1e-6 (the
    issue's tolerance; the match is in fact ~1e-13)."""
    data = pd.read_csv(DID / "panel_g5.csv", comment="#")
    res = se.did(
        data,
        outcome="count",
        unit="la",
        time="year",
        treated="treated",
        exposure="pop",
        family="poisson",
    )
    row = REFERENCE[
        (REFERENCE.dataset == "panel_g5")
        & (REFERENCE.model == "poisson")
        & (REFERENCE.term == "treated")
    ].iloc[0]
    assert res.estimate.estimate == pytest.approx(row.estimate, rel=1e-6)


@pytest.mark.parametrize(
    "row", list(CR3.itertuples(index=False)), ids=lambda r: f"{r.model}-{r.vcov}-{r.term}"
)
def test_cr2_and_cr3_clustered_by_family_match_clubsandwich(row):
    """Clusters that nest no fixed effect (families inside LA-periods), where clubSandwich's
    CR3 exists: SE, Satterthwaite df and p to 1e-6."""
    data = pd.read_csv(DID / "panel_g12_families.csv", comment="#")
    kwargs = {"ols": {"outcome": "y"}, "logit": {"outcome": "y_bin", "family": "binomial"}}
    res = se.did(
        data,
        unit="la",
        time="period",
        treated="treated",
        covariates=["x"],
        inference=se.ClusterRobust("family", kind=row.vcov),
        **kwargs[row.model],
    )
    term = res.term(row.term)
    assert term.std_error == pytest.approx(row.std_error, rel=1e-6)
    assert term.df == pytest.approx(row.df, rel=1e-6)
    assert term.p_value == pytest.approx(row.p_value, rel=1e-6)


def test_cr3_with_fixed_effects_nested_in_clusters_is_refused():
    data = pd.read_csv(DID / "panel_g5.csv", comment="#")
    with pytest.raises(DesignError, match="CR3 is not defined"):
        se.did(
            data,
            outcome="y",
            unit="la",
            time="year",
            treated="treated",
            inference=se.ClusterRobust(kind="CR3"),
        )


CONTRASTS = pd.read_csv(DID / "contrast_reference.csv", comment="#")


@pytest.mark.parametrize(
    "row",
    list(CONTRASTS.itertuples(index=False)),
    ids=lambda r: f"{r.dataset}-{r.model}-{r.weights}",
)
def test_linear_contrasts_match_clubsandwich(row):
    """clubSandwich::linear_contrast (CR2, Satterthwaite): estimate, SE, df and interval to
    1e-6 relative (make_contrast_reference.R)."""
    data = pd.read_csv(DID / f"{row.dataset}.csv", comment="#")
    res = se.did(data, unit="la", treated="treated", **MODELS[(row.dataset, row.model)])
    weights = {k: float(v) for k, v in (part.split("=") for part in row.weights.split(";"))}
    term = res.contrast(weights)
    for field in ("estimate", "std_error", "df", "conf_low", "conf_high"):
        assert getattr(term, field) == pytest.approx(getattr(row, field), rel=1e-6), field


# few assignments: the unbounded interval is warned (tested in test_did_inference.py)
@pytest.mark.filterwarnings("ignore::sfpc_eval.errors.UndefinedIntervalWarning")
def test_contrast_rejects_unknown_names_and_resampling_inference():
    data = pd.read_csv(DID / "panel_g5.csv", comment="#")
    res = se.did(data, outcome="y", unit="la", time="year", treated="treated", covariates=["x"])
    with pytest.raises(se.InvalidValueError, match=r"unknown coefficients.*'z'"):
        res.contrast({"z": 1})
    with pytest.raises(se.InvalidValueError, match="analytic variance"):
        res.with_inference(se.Randomization()).contrast({"treated": 1})
