"""The exchangeable GEE when the moment estimate of rho is not a correlation (issue 19).

``stepped_wedge(model="gee")`` failed with numpy's ``LinAlgError`` on seeds of the library's own
``simulate_trial("fs", n_children=3000)``. Root cause: with councils of up to 1,364 children and
a true correlation of about zero, the moment estimate of the exchangeable correlation (-0.00103,
as geepack's) is below ``-1 / (n - 1) = -0.00073`` for the largest council, so its working
correlation matrix is indefinite and the Cholesky solve fails. Main now sets every negative
estimate to 0 (independence); these tests check the fix on the issue's seeds, that the fit says
so (``GeeFit.note``), that the numbers are those of an independence GEE computed by statsmodels
(coefficients, Liang-Zeger and Mancl-DeRouen sandwiches), and that the two numerical failures
left (a term with no information, a working correlation of 1) are errors naming what to change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import DesignError
from sfpc_eval.trials.gee import fit_gee


def _design(data: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    periods = sorted(data["period"].unique())
    dummies = (data["period"].to_numpy()[:, None] == np.array(periods[1:])[None, :]).astype(float)
    z = np.column_stack([np.ones(len(data)), dummies, data["treated"].to_numpy(float)])
    names = ("(intercept)", *(f"period {p}" for p in periods[1:]), "treated")
    codes = pd.factorize(data["cluster"], sort=True)[0]
    return z, names, codes


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    """The issue's trial on which the GEE failed: its moment estimate of rho is below the bound
    for the largest council (checked by the first test)."""
    data = se.simulate_trial("fs", n_children=3000, rng=1)
    return data[["cluster", "period", "treated", "looked_after"]]


@pytest.fixture(scope="module")
def fit(trial):
    z, names, codes = _design(trial)
    y = trial["looked_after"].to_numpy(float)
    return fit_gee(z, names, y, np.ones(len(trial)), codes, variances=("robust", "MD", "KC"))


def test_the_moment_estimate_is_set_to_zero_and_the_fit_says_why(fit, trial):
    sizes = trial.groupby("cluster").size()
    assert fit.rho == 0.0
    assert "set to 0 (independence)" in fit.note
    assert "not a correlation matrix" in fit.note  # below -1/(n - 1) for the largest council
    assert f"{sizes.max():,}" in fit.note


def test_estimates_and_sandwiches_equal_statsmodels_independence_gee(fit, trial):
    """statsmodels' GEE with an independence working correlation: its robust covariance is the
    Liang-Zeger sandwich and its "bias_reduced" one Mancl and DeRouen's. Tolerance 1e-6
    relative: both solve the same equations to ~1e-10."""
    sm = pytest.importorskip("statsmodels.api")
    z, _, codes = _design(trial)
    model = sm.GEE(
        trial["looked_after"].to_numpy(float),
        z,
        groups=codes,
        family=sm.families.Binomial(),
        cov_struct=sm.cov_struct.Independence(),
    )
    robust = model.fit(cov_type="robust", maxiter=200)
    reduced = model.fit(cov_type="bias_reduced", maxiter=200)
    np.testing.assert_allclose(fit.beta, robust.params, rtol=1e-6)
    np.testing.assert_allclose(fit.std_errors("robust"), robust.bse, rtol=1e-6)
    np.testing.assert_allclose(fit.std_errors("MD"), reduced.bse, rtol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_every_seed_of_the_simulated_fs_trial_fits(seed):
    """The issue's example: seeds 0-4 of simulate_trial("fs", n_children=3000), model="gee"."""
    data = se.simulate_trial("fs", n_children=3000, rng=seed)
    res = se.stepped_wedge(data, "looked_after", "cluster", "period", "treated", model="gee")
    assert np.isfinite([res.estimate.estimate, res.estimate.std_error]).all()
    assert np.isfinite([res.estimate.conf_low, res.estimate.conf_high, res.estimate.p_value]).all()
    assert res.rho >= 0.0
    if res.rho == 0.0:  # the fit's note reaches the reader of the result, not only GeeFit
        assert "set to 0 (independence)" in res.estimate.note


def test_the_result_of_the_issue_trial_says_the_correlation_was_set_to_zero(trial):
    res = se.stepped_wedge(trial, "looked_after", "cluster", "period", "treated", model="gee")
    assert res.rho == 0.0
    assert "set to 0 (independence)" in res.estimate.note
    assert "set to 0 (independence)" in str(res.summary())


def test_a_term_with_no_information_is_a_design_error_naming_it(trial):
    z, names, codes = _design(trial)
    z = np.column_stack([z, np.zeros(len(trial))])
    with pytest.raises(DesignError, match=r"'empty' is not identified.*Drop that term"):
        fit_gee(
            z,
            (*names, "empty"),
            trial["looked_after"].to_numpy(float),
            np.ones(len(trial)),
            codes,
        )


def test_a_working_correlation_of_one_is_a_design_error_saying_what_to_do():
    """Four councils whose children all share one outcome (two all 1, two all 0): at the mean
    0.5 every Pearson residual is +-1 and equal within a council, so the moment estimate of
    rho is exactly 1 and the working correlation matrix singular."""
    cluster = np.repeat(np.arange(4), 5)
    y = np.repeat([1.0, 1.0, 0.0, 0.0], 5)
    with pytest.raises(DesignError, match=r"estimated at 1: .*model='glm'"):
        fit_gee(np.ones((20, 1)), ("(intercept)",), y, np.ones(20), cluster)
