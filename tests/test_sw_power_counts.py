"""Power of stepped-wedge trials with count outcomes (Poisson and NB2 GLMMs, log rate ratio)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.trials.design import SteppedWedgeDesign
from sfpc_eval.trials.power import sw_power
from sfpc_eval.trials.power_counts import count_variance, sw_mdes_counts, sw_power_counts

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "stepped_wedge" / "count_power.json").read_text()
)
DESIGN = SteppedWedgeDesign.complete([3, 3, 3, 3], cluster_period_size=100)


@pytest.mark.parametrize("family", ["poisson", "negative_binomial"])
def test_power_is_what_the_analysis_model_achieves_on_simulated_trials(family):
    """Known truth: trials simulated from the model (make_count_power.py: 2,000 Poisson and
    1,000 NB2 trials of 12 councils x 5 periods, 100 children per cell) and analysed by
    stepped_wedge's GLMM. Committed: Poisson 64.3% vs 64.6% closed form, NB2 59.1% vs 61.3%.
    Tolerance 3 Monte Carlo SEs (3.2 and 4.6 points): the formula's normal reference is
    slightly optimistic against the GLMM's t reference, well inside that."""
    case = FIXTURE["scenarios"][family]
    empirical = case["rejections"] / case["n_sims"]
    mc_se = math.sqrt(empirical * (1 - empirical) / case["n_sims"])
    closed = sw_power_counts(
        DESIGN,
        rate_ratio=FIXTURE["rate_ratio"],
        baseline_rate=FIXTURE["baseline_rate"],
        tau=FIXTURE["tau"],
        size=case["size"],
    )
    assert closed.power == pytest.approx(case["closed_form_power"], rel=1e-12)
    assert abs(empirical - closed.power) < 3 * mc_se


def test_working_variance_is_the_continuous_formula_on_the_log_scale():
    """Hand computation: with sigma_e2 = 1 / mu + 1 / size (mu the count midway between the
    arms) and tau on the log scale, the count power equals sw_power for a continuous outcome
    with that residual variance and the log rate ratio as effect."""
    mu = 0.2 * 2.0 * (1 + 0.7) / 2
    sigma_e2 = 1 / mu + 1 / 3.0
    assert count_variance(0.2, 0.7, 2.0, 3.0) == pytest.approx(sigma_e2, rel=1e-15)
    counts = sw_power_counts(
        DESIGN, rate_ratio=0.7, baseline_rate=0.2, exposure=2.0, size=3.0, tau=0.15, cac=0.8
    )
    linear = sw_power(DESIGN, effect=math.log(0.7), tau=0.15, sd=math.sqrt(sigma_e2), cac=0.8)
    assert counts.std_error == pytest.approx(linear.std_error, rel=1e-12)
    assert counts.power == pytest.approx(linear.power, rel=1e-12)
    assert counts.rate_ratio == pytest.approx(0.7, rel=1e-15)
    assert math.isnan(counts.odds_ratio)


def test_mdes_inverts_the_power():
    res = sw_mdes_counts(DESIGN, baseline_rate=0.2, tau=0.1, power=0.9, size=2.0)
    assert res.solved_for == "mdes" and res.rate_ratio < 1
    again = sw_power_counts(DESIGN, rate_ratio=res.rate_ratio, baseline_rate=0.2, tau=0.1, size=2.0)
    assert again.power == pytest.approx(0.9, abs=1e-6)
    up = sw_mdes_counts(DESIGN, baseline_rate=0.2, tau=0.1, direction="increase")
    assert up.rate_ratio > 1 and up.power == pytest.approx(0.8, abs=1e-6)


def test_summary_names_the_count_scale():
    text = str(sw_power_counts(DESIGN, rate_ratio=0.8, baseline_rate=0.2, tau=0.1).summary())
    assert "log rate ratio" in text and "rate ratio" in text and "events per child" in text
    assert "Poisson counts" in text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"baseline_rate": 0.0}, "`baseline_rate` must be a positive"),
        ({"baseline_rate": -1.0}, "`baseline_rate` must be a positive"),
        ({"exposure": 0.0}, "`exposure` must be a positive"),
        ({"size": 0.0}, "`size`"),
        ({"size": -2.0}, "`size`"),
        ({"tau": -0.1}, "`tau`"),
        ({"rate_ratio": 0.0}, "`rate_ratio` must be a positive"),
        ({"rate_ratio": float("nan")}, "`rate_ratio` must be a positive"),
    ],
)
def test_bad_inputs_are_typed_errors_naming_the_argument(kwargs, match):
    args = {"rate_ratio": 0.8, "baseline_rate": 0.2, "tau": 0.1, **kwargs}
    with pytest.raises(InvalidValueError, match=match):
        sw_power_counts(DESIGN, **args)


def test_an_unreachable_mdes_is_a_design_error():
    tiny = SteppedWedgeDesign.complete([1, 1, 1], cluster_period_size=1)
    with pytest.raises(DesignError, match="no rate ratio reaches power"):
        sw_mdes_counts(tiny, baseline_rate=1e-4, tau=3.0, power=0.99)


def test_fixture_records_what_it_ran():
    assert FIXTURE["versions"]["sfpc_eval"] and np.isfinite(FIXTURE["tau"])
    assert {c["n_sims"] for c in FIXTURE["scenarios"].values()} == {2000, 1000}
