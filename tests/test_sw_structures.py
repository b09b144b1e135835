"""Random-effect structures and families of the stepped-wedge mixed models against R.

References: ``tests/fixtures/stepped_wedge/make_structures.R`` (R 4.2.2, lme4 1.1-31, glmmTMB
1.1.5, TMB 1.9.2; versions in ``structures.json``) fitted to two trials of the SFPC shapes
simulated with decaying council-by-period correlation by ``make_structures_data.py`` (seed in
``structures_meta.json``): binomial and Poisson outcomes as council x quarter x covariate cells,
negative binomial council-month counts with population exposure, and child rows of a continuous
score. Every test fits through the public ``stepped_wedge``.

What each reference is worth (measured by the generator, stored in the fixture):

- glmer (nested, slope; tolPwrss = 1e-14, nlminb): refits on row-permuted cells move the
  fixed effects by at most 3.9e-5 relative and the SEs by 2.5e-5 (``noise_*``), and glmer's
  own SE computation repeated on permuted rows by at most 1e-4 (``se_perm``).
- glmmTMB: nlminb stops with "singular convergence (7)" short of the minimum of its own
  objective, by up to 1e-2 relative on a near-zero coefficient (``noise_beta``); the generator
  polishes it with Newton steps on glmmTMB's objective and Hessian (``polished``, gradient below
  1e-6). That polished minimum is the reference here.
- lmer (REML, bobyqa rhoend 1e-12): its REML criterion is flat to rounding over about 1e-7 of
  theta, which moves the fixed effects of refits on permuted rows by up to 2.6e-6 relative on
  small period effects (``noise_beta``), 1.6e-7 relative to max(|b|, SE).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from sfpc_eval.errors import SingularFitWarning
from sfpc_eval.trials import stepped_wedge

HERE = Path(__file__).parent / "fixtures" / "stepped_wedge"
REF = json.loads((HERE / "structures.json").read_text())
COVS = ["female", "infant", "prev_plan"]
TRIALS = ["fs", "nwd"]


def floats(values) -> np.ndarray:
    """The fixture's numbers (17-digit strings, lists or named dicts) as a float array."""
    if isinstance(values, dict):
        values = list(values.values())
    return np.atleast_1d(np.array(values, dtype=float))


def data(trial: str, kind: str) -> pd.DataFrame:
    return pd.read_csv(HERE / f"structures_{trial}_{kind}.csv")


def fit(trial: str, family: str, structure: str, **kwargs):
    """stepped_wedge on the data the reference was fitted to.

    The references fit by maximum likelihood (glmer, glmmTMB) or REML (lmer) with no
    small-sample adjustment: ``df_method="satterthwaite"`` asks for that, where the nested
    and decay structures would otherwise default to REML with Kenward-Roger."""
    kwargs = {"df_method": "satterthwaite", **kwargs}
    if family == "binomial":
        args = (data(trial, "cells"), "looked_after", "council", "period", "treated", COVS)
        kwargs = {"denominator": "children", **kwargs}
    elif family == "poisson":
        args = (data(trial, "cells"), "rereferrals", "council", "period", "treated", COVS)
        kwargs = {"denominator": "children", "exposure": "days", **kwargs}
    elif family == "negative_binomial":
        args = (data(trial, "months"), "plans", "council", "period", "treated")
        kwargs = {"exposure": "population", **kwargs}
    else:
        args = (data(trial, "rows"), "score", "council", "period", "treated", ["female"])
    return stepped_wedge(*args, family=family, random_effects=structure, **kwargs)


def components(result) -> dict[str, float]:
    vc = result.variance_components()
    return dict(zip(vc["component"], vc["estimate"], strict=True))


# ---------------------------------------------------------------------------- glmer
@pytest.mark.parametrize("trial", TRIALS)
@pytest.mark.parametrize("structure", ["nested", "slope"])
def test_matches_glmer(trial, structure):
    """glmer(cbind(y, n - y) ~ period + treated + covariates + <structure>), Laplace.

    Acceptance (nested): fixed effects and SEs to 1e-4 relative, variance components to 1e-3.
    Measured, nested (fs, nwd): fixed effects 4.4e-6, 3.9e-5 (the largest on small period
    effects, within glmer's refit noise); SEs 9.4e-6, 2.3e-5; theta 1.5e-7, 8.2e-7;
    log-likelihood 2e-10.

    The slope model ``(treated | council)`` is not part of the acceptance: glmer's deviance
    function sits 2.3e-7 above the Laplace approximation for it (evaluated at our optimum and
    at deriv12 stencil points, with tolPwrss 1e-7 or 1e-14 alike) and the offset varies by 2e-8
    between stencil points 1e-4 apart, which deriv12 turns into SEs off by up to 1e-3; glmmTMB
    (exact Laplace) agrees with ours to 1e-7 (test_matches_glmmtmb). Fixed effects and theta are
    held to the acceptance tolerances (measured 1.1e-6 and 1.4e-6), SEs to 2e-3 (measured
    9.9e-4).
    """
    ref = REF[trial][f"glmer_{structure}"]
    res = fit(trial, "binomial", structure)
    assert res.coef.index[0] == "(intercept)" and len(res.coef) == len(ref["beta"])
    np.testing.assert_allclose(res.coef.to_numpy(), floats(ref["beta"]), rtol=1e-4)
    se_tol = 1e-4 if structure == "nested" else 2e-3
    np.testing.assert_allclose(np.sqrt(np.diag(res.vcov)), floats(ref["se"]), rtol=se_tol)
    theta = res._core["mixed"].theta
    # glmer orders the nested terms council:period first
    ours = theta[::-1] if structure == "nested" else theta
    np.testing.assert_allclose(ours, floats(ref["theta"]), rtol=1e-3)
    assert res.loglik == pytest.approx(float(ref["loglik"]), abs=1e-6)


@pytest.mark.parametrize("trial", TRIALS)
@pytest.mark.parametrize("structure", ["nested", "slope"])
def test_glmer_reference_noise(trial, structure):
    """The glmer references are defined to better than the 1e-4 being tested."""
    ref = REF[trial][f"glmer_{structure}"]
    se = floats(ref["se"])
    assert np.max(np.abs(floats(ref["se_perm"]) / se - 1)) < 1e-4
    assert float(ref["noise_beta"]) < 1e-4 and float(ref["noise_se"]) < 1e-4
    assert ref["singular"] is False


# ---------------------------------------------------------------------------- glmmTMB
TMB_CASES = [
    (family, structure)
    for family in ("binomial", "poisson")
    for structure in ("intercept", "nested", "decay", "slope")
] + [("negative_binomial", "intercept"), ("negative_binomial", "decay")]
TMB_NAME = {
    "binomial": "binomial",
    "poisson": "poisson",
    "negative_binomial": "nbinom2",
    "gaussian": "gaussian",
}
TMB_STRUCTURE = {"intercept": "intercept", "nested": "nested", "decay": "ar1", "slope": "slope"}


def tmb_reference(trial, family, structure) -> dict:
    return REF[trial][f"tmb_{TMB_NAME[family]}_{TMB_STRUCTURE[structure]}"]


def tmb_components(structure: str, theta: np.ndarray) -> dict[str, float]:
    """glmmTMB's parameters as our components.

    SDs are exp(theta); the ar1 and us correlations phi / sqrt(1 + phi^2).
    """
    corr = theta / np.sqrt(1 + theta**2)
    sd = np.exp(theta)
    return {
        "intercept": lambda: {"sd_cluster": sd[0]},
        "nested": lambda: {"sd_cluster": sd[0], "sd_cluster_period": sd[1]},
        "decay": lambda: {"sd_cluster_period": sd[0], "cac": corr[1]},
        "slope": lambda: {"sd_cluster": sd[0], "sd_slope": sd[1], "corr_slope": corr[2]},
    }[structure]()


@pytest.mark.parametrize("trial", TRIALS)
@pytest.mark.parametrize(("family", "structure"), TMB_CASES)
def test_matches_glmmtmb(trial, family, structure):
    """glmmTMB (binomial, poisson with offset(log(days)), nbinom2 with offset(log(population)))
    with (1 | council), nested, ar1(period + 0 | council) and (treated | council).

    Acceptance: fixed effects to 1e-4, correlation parameter to 1e-3. Against the polished
    minimum of glmmTMB's objective, measured over all 20 fits: fixed effects 1.1e-10 relative
    (the worst on small coefficients), SEs 3.8e-7, SDs and correlations 1e-7, log-likelihood
    1e-10. The tolerances below (1e-6, 1e-5, 1e-5, 1e-7 absolute) are tighter than the
    acceptance and looser than those measurements by the finite-difference Hessians on both
    sides. The random-intercept binomial model is glmer's (its Laplace evaluation, see
    test_sw_glmm.py), which sits a few 1e-6 off the exact Laplace approximation glmmTMB uses:
    its SEs are compared to 2e-3 here (measured 7.6e-4) and to 1e-4 with glmer in test_sw_glmm.
    """
    ref = tmb_reference(trial, family, structure)
    pol = ref["polished"]
    res = fit(trial, family, structure)
    glmer_laplace = family == "binomial" and structure == "intercept"
    beta = res.coef.to_numpy()
    np.testing.assert_allclose(beta, floats(pol["beta"]), rtol=1e-4 if glmer_laplace else 1e-6)
    se_tol = 2e-3 if glmer_laplace else 1e-5
    np.testing.assert_allclose(np.sqrt(np.diag(res.vcov)), floats(pol["se"]), rtol=se_tol)
    expected = tmb_components(structure, floats(pol["theta"]))
    ours = components(res)
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, rel=1e-3 if glmer_laplace else 1e-5), name
    ll_tol = 1e-6 if glmer_laplace else 1e-7
    assert res.loglik == pytest.approx(float(pol["loglik"]), abs=ll_tol)
    if family == "negative_binomial":
        size = res._core["mixed"].dispersion
        assert math.log(size) == pytest.approx(floats(pol["betadisp"])[0], rel=1e-5)
    # the polished point is glmmTMB's minimum, and no worse than where nlminb stopped
    assert float(pol["max_grad"]) < 1e-5
    assert float(pol["loglik"]) >= float(ref["loglik"]) - 1e-9


@pytest.mark.parametrize("trial", TRIALS)
@pytest.mark.parametrize(
    ("family", "structure"),
    [
        ("binomial", "nested"),
        ("binomial", "decay"),
        ("poisson", "decay"),
        ("negative_binomial", "decay"),
    ],
)
def test_cac_interval_from_glmmtmb_hessian(trial, family, structure):
    """The CAC's Wald interval equals the one built from glmmTMB's own inverse Hessian.

    glmmTMB's parameters are (log SDs, phi with rho = phi / sqrt(1 + phi^2)); the interval is
    on the atanh scale for the AR(1) correlation and the logit scale for the nested model's
    CAC, so its SE there follows from glmmTMB's variance by the delta method (computed here
    analytically). Measured agreement of the bounds: 1e-6 relative; tolerance 1e-4 (the
    Hessians are finite differences on both sides).
    """
    pol = tmb_reference(trial, family, structure)["polished"]
    names = pol["nonbeta_names"]
    vcov = floats(pol["vcov_nonbeta"]).reshape(len(names), len(names))
    theta_rows = [i for i, n in enumerate(names) if n == "theta"]
    v = vcov[np.ix_(theta_rows, theta_rows)]
    t = floats(pol["theta"])
    if structure == "decay":
        phi = t[1]
        rho = phi / math.sqrt(1 + phi**2)
        # d atanh(rho) / d phi = (1 + phi^2)^(-3/2) / (1 - rho^2)
        grad = np.array([0.0, (1 + phi**2) ** -1.5 / (1 - rho**2)])
        centre, back = math.atanh(rho), math.tanh
    else:
        s_c, s_cp = np.exp(t)
        share = s_c**2 / (s_c**2 + s_cp**2)
        # logit(cac) = 2 log s_c - 2 log s_cp
        grad = np.array([2.0, -2.0])
        centre, back = special.logit(share), special.expit
    se = math.sqrt(grad @ v @ grad)
    low, high = back(centre - 1.959963984540054 * se), back(centre + 1.959963984540054 * se)
    res = fit(trial, family, structure)
    row = res.variance_components().set_index("component").loc["cac"]
    assert row["conf_low"] == pytest.approx(low, rel=1e-4)
    assert row["conf_high"] == pytest.approx(high, rel=1e-4)


# ---------------------------------------------------------------------------- Gaussian
@pytest.mark.parametrize("trial", TRIALS)
@pytest.mark.parametrize("structure", ["intercept", "nested", "slope"])
def test_matches_lmer(trial, structure):
    """lmer(score ~ period + treated + female + <structure>, REML = TRUE).

    Acceptance: 1e-6. Measured (fs intercept, nested, slope; nwd): the treatment effect 3e-8
    relative at most; every fixed effect relative to max(|b|, SE) 4.3e-8 (plain relative up to
    2.9e-6 on small period effects, which lmer's own refits move by 2.6e-6: the criterion is
    flat to rounding there); SEs 4.6e-7; residual SD 1e-9; theta 2.5e-7 (fs slope: both on
    the boundary, the slope SD at 1e-8 in lmer, 5e-9 here); REML criterion 1e-11.
    """
    ref = REF[trial][f"lmer_{structure}"]
    if trial == "fs" and structure == "slope":  # lmer's isSingular() too: correlation 1
        with pytest.warns(SingularFitWarning, match="intercept-slope correlation"):
            res = fit(trial, "gaussian", structure)
    else:
        res = fit(trial, "gaussian", structure)
    beta, ref_beta, ref_se = res.coef.to_numpy(), floats(ref["beta"]), floats(ref["se"])
    assert res.estimate.estimate == pytest.approx(ref_beta[-2], rel=1e-6)
    np.testing.assert_array_less(
        np.abs(beta - ref_beta) / np.maximum(np.abs(ref_beta), ref_se), 1e-6
    )
    np.testing.assert_allclose(np.sqrt(np.diag(res.vcov)), ref_se, rtol=1e-6)
    mixed = res._core["mixed"]
    assert mixed.dispersion == pytest.approx(float(ref["sigma"]), rel=1e-6)
    theta = mixed.theta[::-1] if structure == "nested" else mixed.theta
    np.testing.assert_allclose(theta, floats(ref["theta"]), rtol=1e-5, atol=1e-7)
    assert res.loglik == pytest.approx(float(ref["loglik"]), abs=1e-8)


@pytest.mark.parametrize("trial", TRIALS)
@pytest.mark.parametrize("structure", ["nested", "decay"])
def test_gaussian_matches_glmmtmb_reml(trial, structure):
    """glmmTMB(..., REML = TRUE) with nested or ar1 effects, polished; SEs are the GLS variance
    given theta (lmer's kind; glmmTMB's own REML SEs add theta's uncertainty), recomputed in R
    at glmmTMB's estimates (``gls_se``, checked there against lmer's vcov).

    Measured: fixed effects 1.2e-7 relative, SEs 1.7e-8, residual SD 1.3e-10, SD and rho 1e-8,
    REML log-likelihood 2e-11. Tolerance 1e-6 (the acceptance).
    """
    pol = tmb_reference(trial, "gaussian", structure)["polished"]
    res = fit(trial, "gaussian", structure)
    np.testing.assert_allclose(res.coef.to_numpy(), floats(pol["beta"]), rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(res.vcov)), floats(pol["gls_se"]), rtol=1e-6)
    mixed = res._core["mixed"]
    assert mixed.dispersion == pytest.approx(math.exp(floats(pol["betadisp"])[0] / 2), rel=1e-6)
    ours = components(res)
    sds = floats(pol["sd"])
    if structure == "decay":
        assert ours["sd_cluster_period"] == pytest.approx(sds[0], rel=1e-6)
        assert ours["cac"] == pytest.approx(float(pol["rho"]), rel=1e-6)
    else:
        assert ours["sd_cluster"] == pytest.approx(sds[0], rel=1e-6)
        assert ours["sd_cluster_period"] == pytest.approx(sds[1], rel=1e-6)
    assert res.loglik == pytest.approx(float(pol["loglik"]), abs=1e-8)


# ---------------------------------------------------------------------------- cbpp
def cbpp() -> pd.DataFrame:
    d = REF["cbpp"]["data"]
    frame = pd.DataFrame({k: d[k] for k in ("herd", "period", "incidence", "size")})
    frame[["incidence", "size"]] = frame[["incidence", "size"]].astype(int)
    frame["period"] = frame["period"].astype(int)
    return frame


def printed_fixed_effects(lines: list[str]) -> dict[str, tuple[float, float]]:
    start = lines.index("Fixed effects:") + 2
    out = {}
    for line in lines[start:]:
        if line.startswith("---"):
            break
        parts = line.split()
        out[parts[0]] = (float(parts[1]), float(parts[2]))
    return out


@pytest.mark.parametrize("nagq", [1, 9])
def test_cbpp_from_aggregated_counts(nagq):
    """lme4::cbpp (incidence of contagious bovine pleuropneumonia out of herd size, 15 herds x
    4 periods) from its aggregated form: glmer(cbind(incidence, size - incidence) ~ period +
    (1 | herd)) with glmer's default control, Laplace and nAGQ = 9.

    cbpp has no treatment switch, so ``stepped_wedge`` does not apply; the test drives the
    aggregated-input path it uses (``clean_outcome`` with a denominator, ``trial_cells``,
    ``fit_mixed``). Compared to the digits ``summary()`` prints (4 decimals for fixed effects,
    SEs, variance and SD; 1 for logLik, AIC and deviance), and to 1e-4 relative against glmer's
    17-digit numbers (measured: fixed effects 2.2e-5 (Laplace, glmer's default bobyqa stopping
    short) and 1.3e-6 (AGQ); SEs 3.2e-5, 2.4e-6). Every printed number agrees when rounded, but
    one straddles a rounding boundary (see ``as_printed``), and the Laplace variance is printed
    from where glmer's default optimiser stopped: at the minimum of its deviance function
    (``minimum``: nlminb on glmer's devfun in R, measured within 1.4e-6 of ours, SEs 2e-6) it
    rounds as ours does. At nAGQ > 1 lme4's logLik subtracts the
    saturated binomial log-likelihood instead of adding the log binomial coefficients (see
    test_sw_glmm.binomial_constant), which the comparison of the printed logLik undoes.
    """
    from sfpc_eval.trials.analysis_input import clean_outcome, trial_cells
    from sfpc_eval.trials.mixed import fit_mixed

    frame = cbpp()
    values = clean_outcome(
        frame, "incidence", "binomial", exposure=None, denominator="size", outcome_sd=None
    )
    keys = pd.DataFrame(
        {
            "herd": pd.factorize(frame["herd"], sort=True)[0],
            "period": frame["period"] - 1,
            "treated": 0.0,
        }
    )
    cells = trial_cells(keys, ["herd", "period", "treated"], values, "binomial")
    period = cells.keys["period"].to_numpy()
    z = np.column_stack([np.ones(len(period))] + [(period == p).astype(float) for p in (1, 2, 3)])
    names = ("(Intercept)", "period2", "period3", "period4")
    res = fit_mixed(
        cells,
        z,
        names,
        cluster=cells.keys["herd"].to_numpy(),
        period=period,
        treated=np.zeros(len(period)),
        n_periods=4,
        family="binomial",
        random_effects="intercept",
        nagq=nagq,
    )
    ref = REF["cbpp"][f"nagq{nagq}"]
    lines = ref["printed"]
    se = np.sqrt(np.diag(res.vcov))

    def as_printed(ours: float, printed: float, digits: int = 4) -> None:
        # half a unit of the last printed digit, plus 1e-6 for a value that straddles a
        # rounding boundary: glmer's SE of period2 at nAGQ = 1 is 0.303150645 (printed 0.3032),
        # ours 0.303149841 (2.6e-6 relative, glmer's default optimiser stopping short)
        assert abs(ours - printed) <= 0.5 * 10.0**-digits + 1e-6, (ours, printed)

    for j, (name, (estimate, std_error)) in enumerate(printed_fixed_effects(lines).items()):
        assert name == names[j]
        as_printed(res.beta[j], estimate)
        as_printed(se[j], std_error)
    herd = next(line for line in lines if line.lstrip().startswith("herd"))
    variance, sd = map(float, herd.split()[2:4])
    minimum = ref["minimum"]
    theta_min = floats(minimum["par"])[0]
    if nagq == 1:
        # glmer prints 0.4123 from theta = 0.6420699 where its default optimiser stopped; the
        # minimum of glmer's own deviance function has theta = 0.6420643, variance 0.41225
        # (0.4122 printed), and so do we
        assert round(float(ref["theta"]) ** 2, 4) == variance
        variance = round(theta_min**2, 4)
    as_printed(res.theta[0] ** 2, variance)
    as_printed(res.theta[0], sd)
    # the minimiser of glmer's deviance function (nlminb in R), and deriv12 SEs there
    np.testing.assert_allclose(np.r_[res.theta, res.beta], floats(minimum["par"]), rtol=2e-6)
    np.testing.assert_allclose(se, floats(minimum["se"]), rtol=1e-5)
    header = lines.index(
        next(line for line in lines if line.split()[:3] == ["AIC", "BIC", "logLik"])
    )
    aic, _, loglik, deviance, _ = map(float, lines[header + 1].split())
    if nagq == 1:
        ours_ll = res.loglik
    else:  # lme4's AGQ convention: subtract the saturated log-likelihood, not the log C(n, y)
        y, n = cells.y, cells.n
        log_choose = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
        saturated = special.xlogy(y, y / n) + special.xlogy(n - y, (n - y) / n)
        ours_ll = res.loglik - log_choose.sum() - saturated.sum()
    as_printed(ours_ll, loglik, 1)
    as_printed(-2 * ours_ll + 2 * res.n_params, aic, 1)
    as_printed(-2 * ours_ll, deviance, 1)
    np.testing.assert_allclose(res.beta, floats(ref["beta"]), rtol=1e-4)
    np.testing.assert_allclose(se, floats(ref["se"]), rtol=1e-4)
    assert res.theta[0] == pytest.approx(float(ref["theta"]), rel=1e-4)


# ---------------------------------------------------------------------------- comparison
def test_comparison_table_is_the_separate_fits():
    """compare_random_effects tabulates the fits stepped_wedge makes one by one: the
    log-likelihoods are glmmTMB's (intercept: glmer's), AIC = -2 loglik + 2 parameters."""
    from sfpc_eval.trials import compare_random_effects

    cells = data("fs", "cells")
    cmp = compare_random_effects(
        cells,
        "rereferrals",
        "council",
        "period",
        "treated",
        COVS,
        family="poisson",
        denominator="children",
        exposure="days",
    )
    table = cmp.tidy()
    assert list(table["random_effects"]) == ["intercept", "nested", "decay"]
    assert cmp.effect_term == "rate_ratio"
    for row in table.itertuples():
        pol = tmb_reference("fs", "poisson", row.random_effects)["polished"]
        assert row.loglik == pytest.approx(float(pol["loglik"]), abs=1e-7)
        single = fit("fs", "poisson", row.random_effects)
        assert row.estimate == pytest.approx(single.rate_ratio.estimate, rel=1e-12)
        assert row.conf_low == pytest.approx(single.rate_ratio.conf_low, rel=1e-12)
        k = 15 + {"intercept": 1, "nested": 2, "decay": 2}[row.random_effects]
        assert row.n_params == k
        assert row.aic == pytest.approx(-2 * row.loglik + 2 * k)
    assert table["delta_aic"].min() == 0.0
    assert table.loc[table["random_effects"] == "intercept", "cac"].item() == 1.0
    assert np.isnan(table["icc"]).all()  # no ICC on the log scale of a count
    text = str(cmp)
    assert "Sensitivity of the effect" in text and "nested exchangeable" in text


def test_comparison_flags_singular_fits_and_refuses_bad_structures():
    from sfpc_eval.errors import InvalidValueError
    from sfpc_eval.trials import compare_random_effects, simulate_trial

    trial = simulate_trial("no_wrong_door", rng=3, cluster_sd=0.3)
    cmp = compare_random_effects(
        trial, "looked_after", "cluster", "period", "treated", structures=("intercept", "nested")
    )
    assert cmp.tidy()["singular"].tolist() == [False, True]
    assert "cluster-by-period effects is estimated as" in cmp.singular["nested"]
    with pytest.raises(InvalidValueError, match=r"two or more distinct names"):
        compare_random_effects(
            trial, "looked_after", "cluster", "period", "treated", structures=("intercept", "ar1")
        )
    with pytest.raises(InvalidValueError, match=r"`random_effects` is set by"):
        compare_random_effects(
            trial, "looked_after", "cluster", "period", "treated", random_effects="nested"
        )
