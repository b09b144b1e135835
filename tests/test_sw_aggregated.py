"""Aggregated input equals child rows; every bad input to the new models is a typed error.

Aggregated and row-level inputs are the same likelihood up to a constant (the binomial
coefficients, or the Poisson terms of each child's exposure and count), so estimates, standard
errors and variance components must agree to rounding; the acceptance asks 1e-8 relative. The
log-likelihoods must differ by exactly that constant, computed here independently.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from sfpc_eval.errors import DesignError, InvalidValueError, SingularFitWarning
from sfpc_eval.trials import SteppedWedgeRandomization, stepped_wedge

HERE = Path(__file__).parent / "fixtures" / "stepped_wedge"
COVS = ["female", "infant", "prev_plan"]
ARGS = ("council", "period", "treated")


def cells(trial: str = "nwd") -> pd.DataFrame:
    return pd.read_csv(HERE / f"structures_{trial}_cells.csv")


def child_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per child: the first ``looked_after`` children of a cell have the event; the
    cell's re-referrals go round-robin to its children and its days are split as evenly as
    whole days allow."""
    out = []
    for cell in frame.itertuples(index=False):
        n = int(cell.children)
        rows = pd.DataFrame(
            {
                "council": cell.council,
                "period": cell.period,
                "treated": cell.treated,
                "female": cell.female,
                "infant": cell.infant,
                "prev_plan": cell.prev_plan,
                "looked_after": (np.arange(n) < cell.looked_after).astype(int),
                "rereferrals": np.bincount(np.arange(cell.rereferrals) % n, minlength=n),
                "days": cell.days // n + (np.arange(n) < cell.days % n),
            }
        )
        out.append(rows)
    return pd.concat(out, ignore_index=True).sample(frac=1.0, random_state=5)


def assert_same_fit(a, b, rtol=1e-8):
    np.testing.assert_allclose(a.coef.to_numpy(), b.coef.to_numpy(), rtol=rtol)
    np.testing.assert_allclose(a.vcov.to_numpy(), b.vcov.to_numpy(), rtol=rtol)
    va, vb = a.variance_components(), b.variance_components()
    np.testing.assert_allclose(va["estimate"], vb["estimate"], rtol=rtol)
    np.testing.assert_allclose(
        va[["conf_low", "conf_high"]], vb[["conf_low", "conf_high"]], rtol=rtol
    )
    ta, tb = a.tidy(), b.tidy()
    np.testing.assert_allclose(
        ta[["estimate", "conf_low", "conf_high"]],
        tb[["estimate", "conf_low", "conf_high"]],
        rtol=rtol,
    )


@pytest.mark.parametrize("structure", ["intercept", "nested", "decay", "slope"])
def test_binomial_rows_equal_cells(structure):
    """Measured: coefficients and variances equal to 3e-10 relative (the optimiser's path
    through differently ordered sums); log-likelihood difference equal to sum log C(n, y) to
    1e-9."""
    agg = cells()
    rows = child_rows(agg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        by_cells = stepped_wedge(
            agg, "looked_after", *ARGS, COVS, random_effects=structure, denominator="children"
        )
        by_rows = stepped_wedge(rows, "looked_after", *ARGS, COVS, random_effects=structure)
    assert by_cells.n_obs == by_rows.n_obs == len(rows)
    assert_same_fit(by_cells, by_rows)
    y, n = agg["looked_after"].to_numpy(float), agg["children"].to_numpy(float)
    log_choose = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
    assert by_cells.loglik - by_rows.loglik == pytest.approx(log_choose.sum(), abs=1e-6)
    assert by_cells.average_marginal_effect.estimate == pytest.approx(
        by_rows.average_marginal_effect.estimate, rel=1e-8
    )


@pytest.mark.parametrize("structure", ["intercept", "nested", "decay"])
def test_poisson_rows_equal_cells(structure):
    """Per child: a count and its days of follow-up; per cell: their sums. The row-level
    log-likelihood is the cell-level one plus sum(y_i log e_i - log y_i!) minus
    sum(Y log E - log Y!)."""
    agg = cells()
    rows = child_rows(agg)
    by_cells = stepped_wedge(
        agg,
        "rereferrals",
        *ARGS,
        COVS,
        family="poisson",
        random_effects=structure,
        denominator="children",
        exposure="days",
    )
    by_rows = stepped_wedge(
        rows,
        "rereferrals",
        *ARGS,
        COVS,
        family="poisson",
        random_effects=structure,
        exposure="days",
    )
    assert_same_fit(by_cells, by_rows)
    yr, er = rows["rereferrals"].to_numpy(float), rows["days"].to_numpy(float)
    yc, ec = agg["rereferrals"].to_numpy(float), agg["days"].to_numpy(float)
    row_constant = np.sum(yr * np.log(er) - special.gammaln(yr + 1))
    cell_constant = np.sum(yc * np.log(ec) - special.gammaln(yc + 1))
    assert by_rows.loglik - by_cells.loglik == pytest.approx(row_constant - cell_constant, abs=1e-6)


def test_poisson_exposure_defaults_to_the_denominator():
    """Aggregated counts without exposure: one unit per child (the row-level default)."""
    agg = cells()
    rows = child_rows(agg)
    by_cells = stepped_wedge(
        agg, "rereferrals", *ARGS, COVS, family="poisson", denominator="children"
    )
    by_rows = stepped_wedge(rows, "rereferrals", *ARGS, COVS, family="poisson")
    assert_same_fit(by_cells, by_rows)


@pytest.mark.parametrize("structure", ["intercept", "nested", "decay", "slope"])
def test_gaussian_rows_equal_cell_means_and_sds(structure):
    rows = pd.read_csv(HERE / "structures_nwd_rows.csv")
    agg = rows.groupby(["council", "period", "treated", "female"], as_index=False).agg(
        children=("score", "size"), score=("score", "mean"), sd=("score", "std")
    )
    assert agg["sd"].isna().sum() == (agg["children"] == 1).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularFitWarning)
        by_rows = stepped_wedge(
            rows, "score", *ARGS, ["female"], family="gaussian", random_effects=structure
        )
        by_cells = stepped_wedge(
            agg,
            "score",
            *ARGS,
            ["female"],
            family="gaussian",
            random_effects=structure,
            denominator="children",
            outcome_sd="sd",
        )
    assert_same_fit(by_cells, by_rows)
    assert by_cells.loglik == pytest.approx(by_rows.loglik, rel=1e-10)


def nb_children(seed: int = 11) -> pd.DataFrame:
    """Child-level NB2 counts (size 2) in a 5-council, 6-period stepped wedge, with follow-up of
    180 or 365 days: children of a cell often share count and exposure."""
    rng = np.random.default_rng(seed)
    rows = []
    for council in range(5):
        level = rng.normal(0, 0.3)
        for period in range(6):
            n = 120
            days = rng.choice([180, 365], n)
            treated = int(period > council)
            cp = rng.normal(0, 0.2)
            mu = days / 365 * 0.8 * np.exp(level + cp + 0.05 * period - 0.3 * treated)
            count = rng.poisson(rng.gamma(2.0, mu / 2.0))
            rows.append(
                pd.DataFrame(
                    {
                        "council": council,
                        "period": period,
                        "treated": treated,
                        "count": count,
                        "days": days,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def test_negative_binomial_collapses_identical_rows_exactly():
    """NB2 rows are collapsed only when they share keys, count and exposure (by frequency); the
    fit equals the Laplace fitter's on the uncollapsed rows, one cell per child. Measured:
    coefficients 2e-12 relative, variance 3e-9, log-likelihood 1e-13."""
    from sfpc_eval.trials.families import family
    from sfpc_eval.trials.laplace import CellData, fit_laplace, glm_start
    from sfpc_eval.trials.structures import RandomEffects

    children = nb_children()
    res = stepped_wedge(
        children,
        "count",
        *ARGS,
        family="negative_binomial",
        random_effects="nested",
        exposure="days",
        df_method="satterthwaite",  # the ML fit, as fit_laplace below
    )
    assert res.n_cells < len(children) / 5 and res.n_obs == len(children)
    periods = children["period"].to_numpy()
    x = np.column_stack(
        [np.ones(len(children))]
        + [(periods == t).astype(float) for t in range(1, 6)]
        + [children["treated"].to_numpy(float)]
    )
    data = CellData.build(
        x,
        children["count"],
        np.ones(len(x)),
        np.log(children["days"]),
        np.ones(len(x)),
        children["council"],
        periods,
        children["treated"],
    )
    fam = family("negative_binomial")
    beta0, psi0 = glm_start(data, fam)
    direct = fit_laplace(
        data,
        tuple(res.coef.index),
        RandomEffects("nested", 6),
        fam,
        beta_start=beta0,
        psi_start=psi0,
    )
    assert not direct.boundary and 1 < np.exp(direct.psi) < 4
    np.testing.assert_allclose(res.coef.to_numpy(), direct.beta, rtol=1e-8)
    np.testing.assert_allclose(res.vcov.to_numpy(), direct.vcov, rtol=1e-6)
    assert res.loglik == pytest.approx(direct.loglik, rel=1e-12)


def test_negative_binomial_without_overdispersion_is_held_at_the_size_bound():
    """Council-month counts entered twice have no variation beyond the AR(1) effects: the size
    runs off to infinity (the Poisson limit), is held at 1e8 and reported as a boundary."""
    months = pd.read_csv(HERE / "structures_nwd_months.csv")
    doubled = pd.concat([months, months], ignore_index=True)
    with pytest.warns(SingularFitWarning, match=r"negative binomial size is at its bound 1e\+08"):
        res = stepped_wedge(
            doubled,
            "plans",
            *ARGS,
            family="negative_binomial",
            random_effects="decay",
            exposure="population",
            df_method="satterthwaite",  # ML fits: NB2 at its size bound is the Poisson fit
        )
    poisson = stepped_wedge(
        doubled,
        "plans",
        *ARGS,
        family="poisson",
        random_effects="decay",
        exposure="population",
        df_method="satterthwaite",
    )
    # at size 1e8 the NB2 fit is the Poisson fit to about 1e-5
    np.testing.assert_allclose(res.coef.to_numpy(), poisson.coef.to_numpy(), rtol=1e-4)


def test_caller_frame_untouched():
    agg = cells()
    before = agg.copy()
    stepped_wedge(
        agg,
        "rereferrals",
        *ARGS,
        COVS,
        family="poisson",
        random_effects="nested",
        denominator="children",
        exposure="days",
    )
    pd.testing.assert_frame_equal(agg, before)


def test_randomization_with_a_new_structure():
    """The randomization test refits the nested Poisson model under every rollout order
    (4! = 24); the observed order's statistic is the estimate itself."""
    agg = cells()
    res = stepped_wedge(
        agg,
        "rereferrals",
        *ARGS,
        COVS,
        family="poisson",
        random_effects="nested",
        denominator="children",
        exposure="days",
        inference=SteppedWedgeRandomization(),
    )
    assert "all 24 rollout orders" in res.method
    assert 1 / 24 <= res.estimate.p_value <= 1
    plain = stepped_wedge(
        agg,
        "rereferrals",
        *ARGS,
        COVS,
        family="poisson",
        random_effects="nested",
        denominator="children",
        exposure="days",
    )
    assert res.estimate.estimate == pytest.approx(plain.estimate.estimate, rel=1e-12)


# ---------------------------------------------------------------------------- bad input
def test_decay_needs_three_periods():
    """Two periods: Rochdale treated in both, the others switching in the second."""
    agg = cells()
    small = agg[agg["period"].isin([2, 6])].copy()
    small["treated"] = np.where(small["council"] == "Rochdale", 1, small["period"] == 6)
    with pytest.raises(DesignError, match=r"decay structure .* needs at least 3 periods"):
        stepped_wedge(small, "looked_after", *ARGS, random_effects="decay", denominator="children")


@pytest.mark.parametrize("bad", [0.0, -3.0])
def test_exposure_zero_or_negative(bad):
    agg = cells()
    agg.loc[[4, 9], "days"] = bad
    with pytest.raises(
        InvalidValueError, match=r"`exposure` column 'days' must be positive .*rows 4, 9"
    ):
        stepped_wedge(
            agg, "rereferrals", *ARGS, family="poisson", denominator="children", exposure="days"
        )


@pytest.mark.parametrize("family", ["poisson", "negative_binomial"])
def test_counts_must_be_whole(family):
    months = pd.read_csv(HERE / "structures_nwd_months.csv")
    months["plans"] = months["plans"].astype(float)
    months.loc[3, "plans"] = 2.5
    with pytest.raises(
        InvalidValueError, match=r"non-negative whole number; rows 3 \(1 value\) hold 2.5"
    ):
        stepped_wedge(months, "plans", *ARGS, family=family, exposure="population")
    months.loc[3, "plans"] = -1
    with pytest.raises(InvalidValueError, match=r"non-negative whole number"):
        stepped_wedge(months, "plans", *ARGS, family=family, exposure="population")


def test_unknown_structure_and_family():
    agg = cells()
    with pytest.raises(
        InvalidValueError,
        match=r"`random_effects` must be one of 'intercept', "
        r"'nested', 'decay', 'slope'; got 'ar1'",
    ):
        stepped_wedge(agg, "looked_after", *ARGS, random_effects="ar1", denominator="children")
    with pytest.raises(InvalidValueError, match=r"`family` must be one of .*got 'gamma'"):
        stepped_wedge(agg, "looked_after", *ARGS, family="gamma", denominator="children")


def test_events_exceeding_the_denominator():
    agg = cells()
    agg.loc[7, "looked_after"] = agg.loc[7, "children"] + 2
    with pytest.raises(
        InvalidValueError,
        match=r"more events than `denominator` 'children' has "
        r"children in rows 7 \(1 value\)",
    ):
        stepped_wedge(agg, "looked_after", *ARGS, denominator="children")


def test_option_combinations_refused():
    agg = cells()
    with pytest.raises(InvalidValueError, match=r"`exposure` is the offset of a count model"):
        stepped_wedge(agg, "looked_after", *ARGS, denominator="children", exposure="days")
    with pytest.raises(InvalidValueError, match=r"a sum of NB2 counts is not NB2"):
        stepped_wedge(agg, "rereferrals", *ARGS, family="negative_binomial", denominator="children")
    with pytest.raises(InvalidValueError, match=r"pass model='glmm'"):
        stepped_wedge(
            agg, "rereferrals", *ARGS, family="poisson", model="gee", denominator="children"
        )
    with pytest.raises(InvalidValueError, match=r"model='gee' has none"):
        stepped_wedge(
            agg, "looked_after", *ARGS, model="gee", random_effects="nested", denominator="children"
        )
    with pytest.raises(
        InvalidValueError,
        match=r"nagq=5\) is available for the binomial "
        r"random-intercept GLMM only",
    ):
        stepped_wedge(
            agg, "looked_after", *ARGS, random_effects="nested", nagq=5, denominator="children"
        )
    with pytest.raises(InvalidValueError, match=r"aggregated Gaussian input needs `outcome_sd`"):
        stepped_wedge(agg, "days", *ARGS, family="gaussian", denominator="children")
    with pytest.raises(InvalidValueError, match=r"`outcome_sd` .* is for aggregated Gaussian"):
        stepped_wedge(agg, "looked_after", *ARGS, outcome_sd="days")


def test_gaussian_within_sd_checked():
    rows = pd.read_csv(HERE / "structures_nwd_rows.csv")
    agg = rows.groupby(["council", "period", "treated"], as_index=False).agg(
        children=("score", "size"), score=("score", "mean"), sd=("score", "std")
    )
    agg.loc[2, "sd"] = np.nan
    with pytest.raises(InvalidValueError, match=r"`outcome_sd` 'sd' is missing in rows 2 "):
        stepped_wedge(
            agg, "score", *ARGS, family="gaussian", denominator="children", outcome_sd="sd"
        )
    agg.loc[2, "sd"] = -1.0
    with pytest.raises(InvalidValueError, match=r"negative in rows 2 "):
        stepped_wedge(
            agg, "score", *ARGS, family="gaussian", denominator="children", outcome_sd="sd"
        )


def test_readings_of_another_family_refused():
    from sfpc_eval.errors import UndefinedEffectError

    res = stepped_wedge(cells(), "rereferrals", *ARGS, family="poisson", denominator="children")
    with pytest.raises(UndefinedEffectError, match=r"`odds_ratio` is a reading of a binomial"):
        _ = res.odds_ratio
    assert res.rate_ratio.estimate == pytest.approx(np.exp(res.estimate.estimate))
    gee = stepped_wedge(cells(), "looked_after", *ARGS, model="gee", denominator="children")
    with pytest.raises(
        InvalidValueError,
        match=r"variance components are estimated by the "
        r"mixed model",
    ):
        gee.variance_components()
