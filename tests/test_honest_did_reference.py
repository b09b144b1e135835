"""HonestDiD intervals and breakdown values against moderndid and diff-diff (committed fixture).

Fixture: ``tests/fixtures/honest_did/honest_reference.json``, written by
``make_honest_fixtures.py`` in a peer environment (moderndid 0.4.1, diff-diff 3.13.0; versions,
seeds, the betahat and sigma used are recorded in it). Two event studies: the Medicaid
expansion example of the R HonestDiD README (data shipped in moderndid: 5 leads, 2 lags) and a
seeded simulation (4 leads, 4 lags). For each, the on-impact effect and the post-period average:

* Delta^RM, Mbar = 0.5, 1, 2, by C-LF (R's default). moderndid inverts the test on R's grid
  (1,000 points on +/- 20 sd), so its end points are grid points: they can sit up to one grid
  step inside the true end point. Its least-favourable critical value is a 1,000-draw Monte
  Carlo quantile; the fixture records its end points over eleven seeds. Tolerance: one grid
  step plus the range of moderndid's end points over those seeds, plus the range of ours over
  seeds (``lf_draws=1000``, as R) measured the same way.
* Delta^RM by the conditional test without first stage (deterministic): one grid step.
* Delta^SD, M = 0, 0.01, 0.02, FLCI (R's default). moderndid (cvxpy/Clarabel, bisection in
  the estimator's sd) and diff-diff (SLSQP, grid zoom) solve the same problem; their
  half-lengths agree to ~1e-9 relative, but the half-length is flat near its minimum, so the
  centre of a near-optimal estimator moves more: the two peers' end points differ from each
  other by up to 1.1e-5 sd of the target in this fixture. Tolerance 2e-5 sd. Sharper check:
  this library's half-length (a lasso path solved exactly) is never longer than either peer's
  (to 1e-8 relative, the peers' solver tolerance).
* original interval: closed form, 1e-12.
* breakdown values: see the tests.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from sfpc_eval.diff_in_diff.honest_core import (
    breakdown_value,
    original_interval,
    robust_interval,
)

FIXTURE = Path(__file__).parent / "fixtures" / "honest_did" / "honest_reference.json"
REF = json.loads(FIXTURE.read_text())


def _cases(kind: str, restriction: str | None = None):
    out = []
    for study in REF["studies"]:
        for case in study["cases"]:
            if case.get("kind", "interval") != kind:
                continue
            if restriction is not None and case.get("restriction") != restriction:
                continue
            out.append(
                pytest.param(
                    study,
                    case,
                    id=f"{study['name']}-{case['target']}"
                    + (f"-{case['m']}" if "m" in case else ""),
                )
            )
    return out


def _arrays(study):
    return np.array(study["betahat"]), np.array(study["sigma"]), study["n_pre"]


def _sd_target(study, case) -> float:
    _, s, n_pre = _arrays(study)
    lv = np.array(case["l_vec"])
    return float(np.sqrt(lv @ s[n_pre:, n_pre:] @ lv))


def test_fixture_has_the_acceptance_cases():
    """12 intervals per study (RM 0.5/1/2 and SD 0/0.01/0.02, on impact and average), on two
    event studies, plus breakdown values."""
    for study in REF["studies"]:
        ivs = [c for c in study["cases"] if c.get("kind", "interval") == "interval"]
        assert len(ivs) == 12
        assert {(c["target"], c["restriction"], c["m"]) for c in ivs} == {
            (t, r, m)
            for t in ("on_impact", "average")
            for r, ms in (
                ("relative_magnitude", (0.5, 1.0, 2.0)),
                ("smoothness", (0.0, 0.01, 0.02)),
            )
            for m in ms
        }
        assert sum(c.get("kind") == "breakdown" for c in study["cases"]) == 4
    assert {s["name"] for s in REF["studies"]} == {"ehec", "simulated"}


@pytest.mark.parametrize(("study", "case"), _cases("original"))
def test_original_interval(study, case):
    b, s, n_pre = _arrays(study)
    est, se, low, high = original_interval(b, s, n_pre, np.array(case["l_vec"]), REF["alpha"])
    np.testing.assert_allclose(
        [est, se, low, high],
        [case["estimate"], case["std_error"], case["conf_low"], case["conf_high"]],
        rtol=1e-12,
        atol=1e-14,
    )


@pytest.mark.parametrize(("study", "case"), _cases("interval", "smoothness"))
def test_smoothness_flci_matches_moderndid_and_diffdiff(study, case):
    b, s, n_pre = _arrays(study)
    ours = robust_interval(
        b, s, n_pre, np.array(case["l_vec"]), "smoothness", case["m"], REF["alpha"]
    )
    tol = 2e-5 * _sd_target(study, case)
    for key in ("", "diffdiff_"):
        assert ours.conf_low == pytest.approx(case[f"{key}conf_low"], abs=tol)
        assert ours.conf_high == pytest.approx(case[f"{key}conf_high"], abs=tol)
        theirs_half = (case[f"{key}conf_high"] - case[f"{key}conf_low"]) / 2
        # 1e-8: the peers' conic solver meets var <= h^2 to ~1e-8, so its reported half-length
        # can undercut the exact optimum by that much (moderndid does, by 1.6e-9, in one case)
        assert (ours.conf_high - ours.conf_low) / 2 <= theirs_half * (1 + 1e-8)


def test_the_two_flci_peers_disagree_by_the_stated_amount():
    """The 2e-5 sd tolerance above is twice the largest peer-to-peer difference."""
    worst = 0.0
    for study in REF["studies"]:
        for case in study["cases"]:
            if case.get("kind", "interval") == "interval" and case["restriction"] == "smoothness":
                sd = _sd_target(study, case)
                for end in ("conf_low", "conf_high"):
                    worst = max(worst, abs(case[end] - case[f"diffdiff_{end}"]) / sd)
    assert 5e-6 < worst < 1e-5 * 1.2


@pytest.mark.parametrize(("study", "case"), _cases("interval", "relative_magnitude"))
def test_relative_magnitude_conditional_matches_moderndid(study, case):
    """The deterministic conditional (ARP) test: moderndid's grid end points lie within one
    grid step inside ours (ours are refined by bisection)."""
    b, s, n_pre = _arrays(study)
    ours = robust_interval(
        b,
        s,
        n_pre,
        np.array(case["l_vec"]),
        "relative_magnitude",
        case["m"],
        REF["alpha"],
        method="conditional",
    )
    step = case["grid_step"]
    assert case["conditional_conf_low"] - step <= ours.conf_low + 1e-9 * step
    assert ours.conf_low <= case["conditional_conf_low"] + 1e-9 * step
    assert ours.conf_high <= case["conditional_conf_high"] + step + 1e-9 * step
    assert case["conditional_conf_high"] <= ours.conf_high + 1e-9 * step


OUR_SEEDS = range(5)


def _our_intervals(study, case):
    """Ours at the library default (10,000 LF draws), seeds 0-4."""
    b, s, n_pre = _arrays(study)
    return [
        robust_interval(
            b,
            s,
            n_pre,
            np.array(case["l_vec"]),
            "relative_magnitude",
            case["m"],
            REF["alpha"],
            seed=seed,
        )
        for seed in OUR_SEEDS
    ]


@pytest.mark.parametrize(("study", "case"), _cases("interval", "relative_magnitude"))
def test_relative_magnitude_clf_matches_moderndid(study, case):
    """C-LF (R's default): ours (library default, seed 0) against moderndid's seed-0 interval on
    R's grid. The two simulate the least-favourable critical value with different random
    numbers (moderndid 1,000 draws as R, ours 10,000); the tolerance is one grid step plus the
    range of moderndid's end points over 11 seeds plus the range of ours over 5 seeds. In the
    fixture the differences are at most 1.75 grid steps; the tolerances 2-7 steps."""
    ours = _our_intervals(study, case)
    step = case["grid_step"]
    for key, theirs_range in (
        ("conf_low", case["lf_seed_range_low"]),
        ("conf_high", case["lf_seed_range_high"]),
    ):
        mine = [getattr(o, key) for o in ours]
        tol = step + (theirs_range[1] - theirs_range[0]) + (max(mine) - min(mine)) + 1e-9
        assert mine[0] == pytest.approx(case[key], abs=tol), (key, tol)


def test_against_the_r_package_readme():
    """R HonestDiD's own printed output for the Medicaid example (README; 3 significant
    digits), with the fixest-convention covariance it used. Tolerances: half a unit in the last
    printed digit, plus for C-LF one step of R's grid (40 sd / 999) and twice the largest
    moderndid LF-seed range of this study's on-impact cases (R's draws differ again), plus for
    the FLCI three standard errors of R's simulated folded-normal quantile (1e6 draws:
    sd 1.9e-3 in z units, times the estimator's sd)."""
    study = next(s for s in REF["studies"] if s["name"] == "ehec")
    check = study["readme_check"]
    b, s = np.array(study["betahat"]), np.array(study["sigma_fixest"])
    lv = np.array([1.0, 0.0])
    sd = float(np.sqrt(s[5, 5]))
    lf_spread = max(
        max(np.ptp(c["lf_seed_range_low"]), np.ptp(c["lf_seed_range_high"]))
        for c in study["cases"]
        if c.get("restriction") == "relative_magnitude"
        and c.get("target") == "on_impact"
        and c.get("kind", "interval") == "interval"
    ) * np.sqrt(s[5, 5] / np.array(study["sigma"])[5, 5])

    def half_unit(x: float) -> float:
        return 0.5 * 10.0 ** (np.floor(np.log10(abs(x))) - 2)

    rm = check["r_printed_rm"]
    for mbar, lb, ub in zip(rm["mbar"], rm["lb"], rm["ub"], strict=True):
        ours = robust_interval(b, s, 5, lv, "relative_magnitude", mbar, 0.05)
        for mine, r_value in ((ours.conf_low, lb), (ours.conf_high, ub)):
            tol = half_unit(r_value) + 40 * sd / 999 + 2 * lf_spread
            assert mine == pytest.approx(r_value, abs=tol), (mbar, mine, r_value, tol)
    sdr = check["r_printed_sd"]
    for m, lb, ub in zip(sdr["m"], sdr["lb"], sdr["ub"], strict=True):
        ours = robust_interval(b, s, 5, lv, "smoothness", m, 0.05)
        h = (ours.conf_high - ours.conf_low) / 2
        for mine, r_value in ((ours.conf_low, lb), (ours.conf_high, ub)):
            tol = half_unit(r_value) + 3 * 1.9e-3 * h / 1.96
            assert mine == pytest.approx(r_value, abs=tol), (m, mine, r_value, tol)


@pytest.mark.parametrize(("study", "case"), _cases("breakdown", "smoothness"))
def test_smoothness_breakdown_value(study, case):
    """moderndid's FLCI bisected to a bracket of 1e-4 x 0.02; ours to 1e-4 relative. The FLCI
    end points agree to 2e-6 sd (above), i.e. to 2e-6 sd / |d end point / dM| in M."""
    b, s, n_pre = _arrays(study)
    lv = np.array(case["l_vec"])
    ours = breakdown_value(
        lambda m: robust_interval(b, s, n_pre, lv, "smoothness", m, REF["alpha"]), 0.02
    )
    if case["value"] is None:
        assert ours == np.inf
        return
    lo, hi = case["bracket"]
    assert lo - 1e-4 * hi <= ours <= hi + 1e-4 * hi


@pytest.mark.parametrize(("study", "case"), _cases("breakdown", "relative_magnitude"))
def test_relative_magnitude_breakdown_value(study, case):
    """moderndid's C-LF bisected to a 1e-3 bracket. Its end points carry the grid and
    Monte Carlo error above, which moves the zero crossing by that error divided by the slope
    of the end point in Mbar; the tolerance converts the largest C-LF end-point tolerance of the
    same study and target with the slope between the fixture's Mbar values."""
    b, s, n_pre = _arrays(study)
    lv = np.array(case["l_vec"])
    ours = breakdown_value(
        lambda mb: robust_interval(b, s, n_pre, lv, "relative_magnitude", mb, REF["alpha"]), 2.0
    )
    if case["value"] is None:
        assert ours == np.inf
        return
    if case["value"] == 0.0:
        assert ours == 0.0
        return
    rm = [
        c
        for c in study["cases"]
        if c.get("kind", "interval") == "interval"
        and c["restriction"] == "relative_magnitude"
        and c["target"] == case["target"]
    ]
    rm.sort(key=lambda c: c["m"])
    end = "conf_low" if rm[0]["conf_low"] > 0 else "conf_high"
    slopes = [abs(c2[end] - c1[end]) / (c2["m"] - c1["m"]) for c1, c2 in pairwise(rm)]
    err = max(
        c["grid_step"] + np.ptp(c[f"lf_seed_range_{'low' if end == 'conf_low' else 'high'}"]) * 2
        for c in rm
    )
    tol = err / min(slopes) + (case["bracket"][1] - case["bracket"][0])
    assert ours == pytest.approx(case["value"], abs=tol)
