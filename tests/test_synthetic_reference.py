"""Synthetic control against pysyncon, through the committed fixture
tests/fixtures/synthetic/pysyncon_reference.json (generator beside it; pysyncon, scipy, cvxpy
versions inside).

Data sets: simulated with known weights (treated = 0.5/0.3/0.2 of three donors; exactly, and
with noise so that it is not an exact combination) and real (children looked after per 10,000,
Leeds and Hertfordshire against 20 councils, DfE data via ``la_panel``; skipped without the
files). Predictor specifications: every pre-period outcome, the last three pre-period
outcomes, or averages over pre-period spans, given to pysyncon as the same
``special_predictors``. What is compared, with the SAME predictor weights V (pysyncon gets ours
via ``custom_V``):

1. Where the weights are identified (the treated council is not an exact convex combination of
   donors, optimum objective > 1e-6): our weights equal an independent high-precision solve
   (cvxpy/Clarabel, tolerances 1e-12) to 1e-6, and pysyncon's own inner solver with tightened
   options (SLSQP ftol 1e-15) to 1e-4, weights and gaps.
2. pysyncon's default inner solver (SLSQP, ftol 1e-6) often stops early: our objective is never
   worse than its, and where it has converged (its weights within 1e-4 of the exact solve),
   our weights and gaps equal its to 1e-4.
3. Exact fits (objective 0 at the optimum, weights not unique): objectives only, and the
   known weights where they are unique.
4. The nested ADH search, identified cases: our outer loss (pre-period MSPE) is no worse than
   pysyncon's nested fit (Nelder-Mead from equal weights in both), within 1%.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from _synthetic_cases import known_weights_panel

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "synthetic" / "pysyncon_reference.json").read_text()
)
RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"


@functools.cache
def _real() -> pd.DataFrame:
    return se.data.la_panel(RAW, measures=("cla",), years=range(2010, 2020)).data


def panel_of(ds: str, spec: str) -> pd.DataFrame:
    if ds == "simulated":
        return known_weights_panel()
    if ds == "simulated_noisy":
        return known_weights_panel(noise=0.5)
    if not RAW.is_dir():
        pytest.skip(f"the DfE files are not at {RAW}")
    treated = spec.split(":")[0]
    donors = FIXTURE["real"][spec]["donors"]
    full = _real()
    return full[full["la_name"].isin([treated, *donors])][["la_name", "year", "cla_rate"]]


def setting(ds: str, spec: str) -> dict:
    if ds == "real":
        return {"unit": "la_name", "outcome": "cla_rate", "treated_unit": spec.split(":")[0]}
    return {"unit": "la", "outcome": "rate", "treated_unit": "LA00"}


CASES = [
    (ds, spec)
    for ds in ("simulated", "simulated_noisy", "real")
    for spec in FIXTURE.get(ds, {})
    if isinstance(FIXTURE[ds][spec], dict)
]
IDENTIFIED = [c for c in CASES if FIXTURE[c[0]][c[1]]["objective_cvxpy"] > 1e-6]
CONVERGED = [
    c
    for c in IDENTIFIED
    if np.abs(
        np.subtract(FIXTURE[c[0]][c[1]]["w_pysyncon_default"], FIXTURE[c[0]][c[1]]["w_cvxpy"])
    ).max()
    < 1e-4
]


def predictors_of(stored):
    return [tuple(p) if isinstance(p, list) else p for p in stored] or None


def ours(ds: str, spec: str, v=None):
    ref = FIXTURE[ds][spec]
    return se.synthetic_control(
        panel_of(ds, spec),
        time="year",
        start=2015,
        donors=ref["donors"],
        exclude_donors=None,  # the fixture's donor lists were fixed before the exclusion list
        placebo=False,
        leave_one_out=False,
        predictors=predictors_of(ref["predictors"]),
        v=v,
        **setting(ds, spec),
    )


def objective(res: se.SyntheticControlResult, w: np.ndarray, ds: str, spec_name: str) -> float:
    """(X1 - X0 w)' V (X1 - X0 w) on the sd-scaled predictors, as both packages define it."""
    spec = setting(ds, spec_name)
    wide = panel_of(ds, spec_name).pivot(  # noqa: PD010
        index="year", columns=spec["unit"], values=spec["outcome"]
    )
    rows = []
    for p in res.predictors:
        _, _, what = p.partition("@")
        if what.startswith("mean("):
            first, last = (int(x) for x in what[5:-1].split("-"))
            rows.append(wide.loc[first:last].mean())
        else:
            rows.append(wide.loc[int(what)])
    x = pd.DataFrame(rows)[[*res.weights.index, spec["treated_unit"]]].to_numpy()
    x = x / x.std(axis=1, ddof=1)[:, None]
    r = x[:, -1] - x[:, :-1] @ w
    return float(r @ (res.v * r))


@pytest.mark.parametrize(("ds", "spec"), IDENTIFIED)
def test_weights_and_gaps_equal_exact_solves_with_the_same_v(ds, spec):
    """Identified cases: weights equal cvxpy/Clarabel to 1e-6 and pysyncon's tightened inner
    solver to 1e-4; gaps equal pysyncon's (tight weights applied to the outcomes) to 1e-4."""
    ref = FIXTURE[ds][spec]
    res = ours(ds, spec, v=ref["v"])
    w = res.weights.to_numpy()
    np.testing.assert_allclose(w, ref["w_cvxpy"], atol=1e-6)
    np.testing.assert_allclose(w, ref["w_pysyncon_tight"], atol=1e-4)
    outcomes = res.gaps["treated"] - res.gaps["gap"]  # the synthetic series
    treated = res.gaps["treated"].to_numpy()
    unit, outcome = setting(ds, spec)["unit"], setting(ds, spec)["outcome"]
    wide = panel_of(ds, spec).pivot(index="year", columns=unit, values=outcome)  # noqa: PD010
    donor_matrix = wide[ref["donors"]].to_numpy()
    np.testing.assert_allclose(outcomes, donor_matrix @ w, atol=1e-9)
    tight_gaps = treated - donor_matrix @ np.asarray(ref["w_pysyncon_tight"])
    np.testing.assert_allclose(res.gaps["gap"], tight_gaps, atol=1e-4 * np.abs(donor_matrix).max())
    assert list(res.gaps["time"]) == ref["years"]


@pytest.mark.parametrize(("ds", "spec"), CONVERGED)
def test_equal_pysyncon_default_where_it_converges(ds, spec):
    """pysyncon out of the box (default SLSQP), same V: weights to 1e-4 and gaps to 1e-4 of the
    outcome's scale (a weight difference d moves a gap by up to d x sum of donor outcomes)."""
    ref = FIXTURE[ds][spec]
    res = ours(ds, spec, v=ref["v"])
    np.testing.assert_allclose(res.weights.to_numpy(), ref["w_pysyncon_default"], atol=1e-4)
    scale = np.abs(res.gaps["treated"]).max()
    np.testing.assert_allclose(res.gaps["gap"], ref["gaps_pysyncon_default"], atol=1e-4 * scale)


@pytest.mark.parametrize(("ds", "spec"), CASES)
def test_objective_never_worse_than_pysyncon(ds, spec):
    """Same V: our inner objective <= pysyncon's (default and tightened) + 1e-12, and within
    1e-9 (absolute, or 1e-7 relative) of the cvxpy/Clarabel optimum."""
    ref = FIXTURE[ds][spec]
    res = ours(ds, spec, v=ref["v"])
    mine = objective(res, res.weights.to_numpy(), ds, spec)
    # the stored objectives were computed the same way by the generator: check that first
    assert objective(res, np.asarray(ref["w_pysyncon_default"]), ds, spec) == pytest.approx(
        ref["objective_pysyncon_default"], rel=1e-9, abs=1e-15
    )
    assert mine <= ref["objective_pysyncon_default"] + 1e-12
    assert mine <= ref["objective_pysyncon_tight"] + 1e-12
    assert mine == pytest.approx(ref["objective_cvxpy"], rel=1e-7, abs=1e-9)


@pytest.mark.parametrize(("ds", "spec"), IDENTIFIED)
def test_nested_v_search_no_worse_than_pysyncon(ds, spec):
    """ADH outer loss (pre-period MSPE of the outcome) of our full fit vs pysyncon's full fit,
    within 1% (both are local Nelder-Mead searches from equal weights). Identified cases only:
    with an exact fit the inner weights are not unique and the outer loss depends on which
    optimum the inner solver happens to return."""
    ref = FIXTURE[ds][spec]
    res = ours(ds, spec)
    assert res.pre_rmspe**2 <= ref["pysyncon_adh_loss_v"] * 1.01 + 1e-12


def test_pysyncon_default_stops_early_on_the_known_weights_panel():
    """Documents the finding: with every pre-period outcome as a predictor, pysyncon's default
    inner solver leaves weights more than 0.1 from the exact solution (0.5/0.3/0.2), which we
    recover to 1e-9."""
    ref = FIXTURE["simulated"]["all_pre_years"]
    res = ours("simulated", "all_pre_years", v=ref["v"])
    truth = np.array([{"LA03": 0.5, "LA06": 0.3, "LA08": 0.2}.get(u, 0.0) for u in ref["donors"]])
    np.testing.assert_allclose(res.weights.to_numpy(), truth, atol=1e-9)
    assert np.abs(np.asarray(ref["w_pysyncon_default"]) - truth).max() > 0.1
