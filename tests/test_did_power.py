"""Power of a panel DiD: the analytic formula, the simulation, the command line, bad inputs.

- The Burlig-Preonas-Woerman variance is checked against the exact finite-sample variance of
  the two-way fixed-effects estimate, ``c' (I_J (x) R) c`` with ``c`` the treatment row of the
  OLS projection of the panel's design and ``R`` the AR(1) covariance of a unit's errors,
  computed by linear algebra (1e-10 relative): the formula is exact for a balanced panel with
  one adoption date.
- Analytic against simulated power: ``validation/did_power.py`` (2,000 panels per design,
  committed as ``validation/did_power.csv``) fits ``did()`` with CR2 / Satterthwaite df to
  simulated panels; the analytic power must be within 3 Monte Carlo SEs in at least 4 designs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.cli import main
from sfpc_eval.diff_in_diff.power import ar1_covariances
from sfpc_eval.errors import InvalidValueError

VALIDATION = Path(__file__).resolve().parents[1] / "validation"


def exact_variance(units, treated, pre, post, sd, rho):
    periods = pre + post
    unit = np.repeat(np.arange(units), periods)
    period = np.tile(np.arange(periods), units)
    d = ((unit < treated) & (period >= pre)).astype(float)
    x = np.column_stack(
        [d, *(unit == u for u in range(1, units)), *(period == t for t in range(periods))]
    ).astype(float)
    c = np.linalg.pinv(x)[0]  # b_hat = c @ y
    lags = np.abs(np.subtract.outer(np.arange(periods), np.arange(periods)))
    r = sd**2 * rho**lags
    blocks = c.reshape(units, periods)
    return float(sum(b @ r @ b for b in blocks))


@pytest.mark.parametrize(
    "design", [(20, 10, 3, 3, 0.5), (11, 1, 5, 5, 0.8), (30, 6, 2, 7, 0.3), (12, 4, 4, 1, 0.0)]
)
def test_analytic_variance_is_exact(design):
    units, treated, pre, post, rho = design
    res = se.did_power(n_units=units, n_treated=treated, pre=pre, post=post, sd=2.0, ar1=rho)
    assert res.std_error**2 == pytest.approx(
        exact_variance(units, treated, pre, post, 2.0, rho), rel=1e-10
    )


def test_ar1_covariances_closed_forms():
    rho = 0.6
    psi_b, psi_a, psi_x = ar1_covariances(3, 2, rho, 4.0)
    assert psi_b == pytest.approx(4 * (rho + rho + rho**2) / 3)  # pairs (0,1), (1,2), (0,2)
    assert psi_a == pytest.approx(4 * rho)
    assert psi_x == pytest.approx(4 * (rho**3 + rho**4 + rho**2 + rho**3 + rho + rho**2) / 6)


def test_power_and_mde_are_inverse_and_df_follow_the_authors():
    res = se.did_power(n_units=40, n_treated=10, pre=4, post=4, sd=1.0, ar1=0.4, power=0.9)
    again = se.did_power(n_units=40, n_treated=10, pre=4, post=4, sd=1.0, ar1=0.4, effect=-res.mde)
    assert again.power == pytest.approx(0.9, abs=1e-12)
    assert res.df == 40  # serially correlated errors: J df (pc_dd_analytic)
    iid = se.did_power(n_units=40, n_treated=10, pre=4, post=4, sd=1.0)
    assert iid.df == 40 * 8 - 40 - 8


def test_analytic_agrees_with_simulation_in_the_committed_table():
    table = pd.read_csv(VALIDATION / "did_power.csv")
    assert (table["n_sims"] >= 2000).all() and len(table) >= 8
    within = (table["simulated"] - table["analytic"]).abs() <= 3 * table["mc_se"]
    assert within.sum() >= 4 and within.mean() >= 0.75, table


def test_validation_script_runs_and_the_simulation_shows_a_progress_bar(capsys):
    spec = importlib.util.spec_from_file_location("did_power", VALIDATION / "did_power.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.DESIGNS = module.DESIGNS[:1]
    table = module.run(sims=3, progress=True)
    assert len(table) == 2 and table["n_sims"].eq(3).all()
    assert "simulated panels" in capsys.readouterr().err  # tqdm writes to stderr


def test_simulated_size_with_no_effect_is_a_rejection_share():
    res = se.simulated_did_power(
        n_units=12,
        n_treated=4,
        pre=3,
        post=3,
        effect=0.0,
        sd=1.0,
        ar1=0.5,
        n_sims=40,
        rng=3,
        progress=False,
    )
    assert res.power == np.mean(res.p_values <= 0.05) and len(res.p_values) == 40
    assert res.mc_se == pytest.approx(np.sqrt(res.power * (1 - res.power) / 40))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_units": 1, "n_treated": 1}, "at least 2 councils"),
        ({"n_units": 10, "n_treated": 0}, "at least one treated"),
        ({"n_units": 10, "n_treated": 10}, "no comparison council"),
        ({"ar1": -0.1}, r"\[0, 1\)"),
        ({"ar1": 1.0}, r"\[0, 1\)"),
        ({"ar1": float("nan")}, r"\[0, 1\)"),
        ({"sd": 0.0}, "positive"),
        ({"pre": 0}, "`pre`"),
        ({"n_units": 10.5}, "whole number"),
    ],
)
def test_bad_inputs_are_typed_errors(kwargs, match):
    args = {"n_units": 10, "n_treated": 3, "pre": 3, "post": 3, "sd": 1.0, "ar1": 0.5} | kwargs
    with pytest.raises(InvalidValueError, match=match):
        se.did_power(**args)
    with pytest.raises(InvalidValueError, match=match):
        se.simulated_did_power(**args, effect=1.0, n_sims=2, progress=False)


def test_command_line(capsys):
    assert (
        main(
            [
                "power",
                "did",
                "--units",
                "40",
                "--treated",
                "10",
                "--pre",
                "5",
                "--post",
                "5",
                "--sd",
                "4",
                "--ar1",
                "0.6",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    out = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    direct = se.did_power(n_units=40, n_treated=10, pre=5, post=5, sd=4, ar1=0.6)
    assert out.set_index("term").loc["mde", "estimate"] == pytest.approx(direct.mde, rel=1e-12)
    assert (
        main(
            [
                "power",
                "did",
                "--units",
                "40",
                "--treated",
                "10",
                "--pre",
                "5",
                "--post",
                "5",
                "--sd",
                "4",
                "--effect",
                "-3",
                "--simulate",
                "5",
            ]
        )
        == 0
    )
    assert "simulated" in capsys.readouterr().out
    assert (
        main(
            [
                "power",
                "did",
                "--units",
                "5",
                "--treated",
                "5",
                "--pre",
                "2",
                "--post",
                "2",
                "--sd",
                "1",
            ]
        )
        == 1
    )
    assert "no comparison council" in capsys.readouterr().err
    assert (
        main(
            [
                "power",
                "did",
                "--units",
                "5",
                "--treated",
                "2",
                "--pre",
                "2",
                "--post",
                "2",
                "--sd",
                "1",
                "--ar1",
                "1.2",
            ]
        )
        == 1
    )
    assert "[0, 1)" in capsys.readouterr().err


def test_event_vcov_matches_simulated_event_studies():
    """The design-based variance of the event-study estimates against the sample covariance of
    event studies fitted to 400 simulated panels (Monte Carlo; 4.5 SEs of each variance)."""
    from sfpc_eval.diff_in_diff.power import did_event_vcov
    from sfpc_eval.diff_in_diff.power_sim import simulate_did_panel

    times, vcov = did_event_vcov(n_units=12, n_treated=4, pre=4, post=2, sd=1.0, ar1=0.6)
    rng = np.random.default_rng(9)
    estimates = []
    for _ in range(400):
        data = simulate_did_panel(
            n_units=12, n_treated=4, pre=4, post=2, effect=0.0, sd=1.0, ar1=0.6, rng=rng
        )
        first = data[data["treated"] == 1].groupby("unit")["period"].min()
        data["g"] = data["unit"].map(first).astype(float)
        es = se.event_study(data, "y", "unit", "period", "g", bin_endpoints=False)
        estimates.append([t.estimate for t in es.terms[: len(times)]])
    sample = np.cov(np.asarray(estimates).T)
    variance_se = np.sqrt(2 / 399) * np.diag(vcov)
    np.testing.assert_array_less(np.abs(np.diag(sample) - np.diag(vcov)), 4.5 * variance_se)
