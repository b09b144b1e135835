"""Small-sample inference of the stepped-wedge mixed models against R.

``df_method="kenward_roger"``: REML variance parameters, the Kenward-Roger adjusted variance and
df. References in ``tests/fixtures/stepped_wedge/structures.json`` (``make_structures.R``:
lmerTest 3.1-3 ``summary(ddf = "Kenward-Roger")``, pbkrtest 0.5-2 ``vcovAdj``, glmmTMB 1.1.5
``REML = TRUE`` polished by Newton steps on its objective) and ``satterthwaite.json``
(``make_satterthwaite.R``: lmerTest's Satterthwaite df), on the data of
``test_sw_structures.py``.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.trials import stepped_wedge
from test_sw_structures import HERE, REF, TRIALS, fit, floats

SATTERTHWAITE = json.loads((HERE / "satterthwaite.json").read_text())
GAUSSIAN = ["intercept", "nested", "slope"]


def quiet_fit(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(*args, **kwargs)


def kr_df(res) -> np.ndarray:
    kr = res._core["mixed"].kr
    k = len(res.coef)
    return np.array([kr.df(np.eye(k)[j]) for j in range(k)])


@pytest.mark.parametrize("trial", TRIALS)
@pytest.mark.parametrize("structure", GAUSSIAN)
def test_kenward_roger_matches_lmertest_and_pbkrtest(trial, structure):
    """lmerTest's Kenward-Roger SEs and df; pbkrtest::vcovAdj's adjusted SEs.

    Measured over the six fits: SEs 4.3e-7 relative at most (the REML fit's own agreement with
    lmer is 4.6e-7, test_sw_structures), df 3.2e-7 (nwd slope: df 3.70, where the moment
    matching gives rho < 1, reproduced as pbkrtest computes it). Tolerance 2e-6.
    """
    ref = REF[trial][f"kr_{structure}"]
    res = quiet_fit(trial, "gaussian", structure, df_method="kenward_roger")
    se = np.sqrt(np.diag(res.vcov))
    np.testing.assert_allclose(se, floats(ref["se"]), rtol=2e-6)
    np.testing.assert_allclose(se, floats(ref["se_vcovadj"]), rtol=2e-6)
    np.testing.assert_allclose(kr_df(res), floats(ref["df"]), rtol=2e-6)
    term = res.estimate
    assert term.df == pytest.approx(float(ref["df"]["treated"]), rel=2e-6)
    assert term.std_error == pytest.approx(float(ref["se"]["treated"]), rel=2e-6)
    assert "Kenward-Roger" in res.method
    assert res.glance()["inference"].iloc[0] == "glmm_kenward_roger"


@pytest.mark.parametrize("trial", TRIALS)
@pytest.mark.parametrize(
    ("family", "structure", "key"),
    [
        ("binomial", "nested", "reml_binomial_nested"),
        ("binomial", "decay", "reml_binomial_ar1"),
        ("poisson", "decay", "reml_poisson_ar1"),
        ("negative_binomial", "decay", "reml_nbinom2_ar1"),
    ],
)
def test_restricted_laplace_matches_glmmtmb_reml(trial, family, structure, key):
    """glmmTMB(REML = TRUE): fixed effects, variance parameters and restricted likelihood.

    glmmTMB's theta are log SDs and, for ar1, ``rho / sqrt(1 - rho^2)``. Measured: fixed
    effects 1.9e-6 relative to max(|b|, 0.01) (7e-7 before the batched products of
    2026-12-05: only the order of additions changed, which moves where the optimiser stops),
    SDs and rho 4e-7, restricted log-likelihood 3e-11. Tolerances 1e-5 (the optimisers stop
    at different points of a flat optimum) and
    1e-8 for the likelihood.
    """
    ref = REF[trial][key]
    res = quiet_fit(trial, family, structure, df_method="kenward_roger")
    mixed = res._core["mixed"]
    ref_beta = floats(ref["beta"])
    scale = np.maximum(np.abs(ref_beta), 0.01)
    np.testing.assert_array_less(np.abs(res.coef.to_numpy() - ref_beta) / scale, 1e-5)
    theta = floats(ref["theta"])
    components = mixed.structure.components(mixed.theta)
    if structure == "nested":
        expected = {"sd_cluster": math.exp(theta[0]), "sd_cluster_period": math.exp(theta[1])}
    else:
        expected = {
            "sd_cluster_period": math.exp(theta[0]),
            "cac": theta[1] / math.sqrt(1 + theta[1] ** 2),
        }
    for name, value in expected.items():
        assert components[name] == pytest.approx(value, rel=1e-5), name
    assert mixed.reml
    assert res.loglik == pytest.approx(float(ref["loglik"]), abs=1e-8)


@pytest.mark.parametrize("trial", TRIALS)
@pytest.mark.parametrize("structure", GAUSSIAN)
def test_satterthwaite_df_of_the_linear_mixed_model(trial, structure):
    """The default Satterthwaite df beside lmerTest's (``ddf = "Satterthwaite"``).

    Ours take the variance of the variance parameters from the expected REML information,
    lmerTest from the observed Hessian of the deviance (finite differences): the two agree on
    the treatment effect to 0.3% where the parameters are well determined (fs intercept,
    nested; nwd intercept) and differ by up to 12% elsewhere (nwd nested: 26.6 against 30.4).
    fs slope is a boundary fit (lme4's isSingular): the df are G - 1 = 4 by the library's
    rule (lmerTest: 7.7). Tolerance 15% on every coefficient outside the boundary.
    """
    ref = SATTERTHWAITE[trial][structure]
    res = quiet_fit(trial, "gaussian", structure)
    mixed = res._core["mixed"]
    assert mixed.boundary == ref["singular"]
    if mixed.boundary:
        assert res.estimate.df == res.n_clusters - 1
        return
    k = len(res.coef)
    ours = np.array([mixed.kr.satterthwaite(np.eye(k)[j]) for j in range(k)])
    np.testing.assert_allclose(ours, floats(ref["df"]), rtol=0.15)
    assert res.estimate.df == pytest.approx(
        max(float(ref["df"]["treated"]), res.n_clusters - 1), rel=0.15
    )


def test_kenward_roger_needs_the_mixed_model_and_laplace():
    with pytest.raises(InvalidValueError, match="df_method"):
        quiet_fit("nwd", "binomial", None, model="gee", df_method="kenward_roger")
    with pytest.raises(InvalidValueError, match="nagq=5"):
        quiet_fit("nwd", "binomial", "intercept", nagq=5, df_method="kenward_roger")
    with pytest.raises(InvalidValueError, match="kenward_roger"):
        quiet_fit("nwd", "binomial", "intercept", df_method="kr")


def test_kenward_roger_falls_back_when_the_adjusted_variance_is_not_one():
    """Trial 424 of the No Wrong Door shape in validation/sw_structures_coverage.py: the
    adjusted variance of the decay model's effect came out negative (-0.00145), which used to
    stop the analysis; the unadjusted REML variance is used instead, and the note says so."""
    import sys

    sys.path.insert(0, str(HERE.parents[2] / "validation"))
    import sw_structures_coverage as mc

    from sfpc_eval.trials.simulate_cells import simulate_cells

    cells = simulate_cells(
        mc.SHAPES["nwd"],
        rng=np.random.default_rng([20261204, 22, 1, 424]),
        family="binomial",
        effect=math.log(mc.ODDS_RATIO),
        sd=mc.SD,
        cac=mc.CAC,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stepped_wedge(
            cells,
            "events",
            "cluster",
            "period",
            "treated",
            denominator="children",
            random_effects="decay",
            df_method="kenward_roger",
        )
    kr = res._core["mixed"].kr
    assert not kr.adjusted
    np.testing.assert_array_equal(res.vcov.to_numpy(), kr.phi)
    assert res.estimate.std_error > 0 and "not positive definite" in res.estimate.note
