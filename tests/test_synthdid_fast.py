"""The batched Frank-Wolfe solver (numpy lockstep kernel, and the compiled numba kernel when
installed) against the one-problem-at-a-time loop it replaced (tests/_synthdid_reference.py,
the code of commit bd85904 that matched synthdid-py): weights, estimates and every placebo,
bootstrap and jackknife replicate to 1e-10, on the committed synthdid fixtures and on fresh
seeded panels.

Tolerance 1e-10 (absolute; weights are in [0, 1], outcomes of order 10-100): the solvers take
the same Frank-Wolfe steps and differ only in floating-point summation order (Gram form versus
data form), which moves results by about 1e-13.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import _synthdid_reference as ref
from sfpc_eval.single_unit import _frank_wolfe
from sfpc_eval.single_unit.synthdid import frank_wolfe_weights, synthetic_did

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "synthdid" / "synthdid_reference.json").read_text()
)
TOL = 1e-10


@pytest.fixture(params=["numpy", "numba"])
def kernel(request, monkeypatch):
    """Run the test with each kernel (the compiled one only where numba is installed)."""
    if request.param == "numba":
        pytest.importorskip("numba")
        monkeypatch.setenv("SFPC_EVAL_NUMBA", "1")
        assert _frank_wolfe._numba_kernel() is not None
    else:
        monkeypatch.setenv("SFPC_EVAL_NUMBA", "0")
        assert _frank_wolfe._numba_kernel() is None
    return request.param


def factor_panel(seed, n0, n1, periods, t0, effect=-3.0):
    rng = np.random.default_rng(seed)
    factors = rng.normal(0, 1, (periods, 2)).cumsum(axis=0)
    loadings = rng.uniform(0, 2, (n0 + n1, 2))
    y = (
        rng.normal(40, 8, n0 + n1)[:, None]
        + loadings @ factors.T
        + rng.normal(0, 0.5, (n0 + n1, periods))
    )
    y[n0:, t0:] += effect
    return y


def long_panel(y, n0):
    names = [f"D{i:03d}" if i < n0 else f"T{i:03d}" for i in range(y.shape[0])]
    return pd.DataFrame(
        [(names[i], t, y[i, t]) for i in range(y.shape[0]) for t in range(y.shape[1])],
        columns=["la", "year", "rate"],
    )


def fit(y, n0, t0, **kwargs):
    treated = [f"T{i:03d}" for i in range(n0, y.shape[0])]
    return synthetic_did(
        long_panel(y, n0),
        outcome="rate",
        unit="la",
        time="year",
        treated_unit=treated if len(treated) > 1 else treated[0],
        start=t0,
        **kwargs,
    )


@pytest.mark.parametrize("seed", range(6))
def test_frank_wolfe_weights_equal_the_loop_on_random_problems(kernel, seed):
    """Random sizes, penalties, starts and iteration caps, with and without intercept."""
    rng = np.random.default_rng(seed)
    rows, k = int(rng.integers(3, 30)), int(rng.integers(2, 40))
    y = rng.normal(size=(rows, k + 1)) * rng.uniform(0.1, 10) + rng.normal(size=k + 1)
    zeta = float(rng.choice([0.0, 1e-4, 0.1, 1.0]))
    start = rng.dirichlet(np.ones(k)) if seed % 2 else None
    kwargs = {"intercept": bool(seed % 3), "start": start, "min_decrease": 1e-6, "max_iter": 500}
    np.testing.assert_allclose(
        frank_wolfe_weights(y, zeta, **kwargs), ref.frank_wolfe(y, zeta, **kwargs), atol=TOL
    )


def test_start_on_a_vertex_stays_when_it_is_optimal(kernel):
    """A start that is a vertex and optimal gives no direction: the loop stops, unchanged."""
    y = np.array([[0.0, 5.0, 0.0], [1.0, 5.0, 1.0], [2.0, 5.0, 2.0]])
    start = np.array([1.0, 0.0])
    w = frank_wolfe_weights(y, 0.0, start=start, min_decrease=1e-8)
    np.testing.assert_array_equal(w, ref.frank_wolfe(y, 0.0, start=start, min_decrease=1e-8))
    np.testing.assert_array_equal(w, start)


def test_ragged_batch_equals_problems_one_at_a_time(kernel):
    """Padding columns (bootstrap draws have different donor counts) change nothing."""
    rng = np.random.default_rng(7)
    problems = [rng.normal(size=(9, k + 1)) for k in (3, 7, 5)]
    gram, linear, rows = (np.zeros((3, 7, 7)), np.zeros((3, 7)), np.zeros(3))
    starts = np.zeros((3, 7))
    for i, problem in enumerate(problems):
        g, q, n = _frank_wolfe.gram_problems(problem[None])
        k = problem.shape[1] - 1
        gram[i, :k, :k], linear[i, :k], rows[i] = g[0], q[0], n[0]
        starts[i, :k] = 1 / k
    out = _frank_wolfe.solve_batch(
        gram, linear, rows, 0.3, starts, min_decrease=1e-7, max_iter=300, sizes=[3, 7, 5]
    )
    for i, problem in enumerate(problems):
        k = problem.shape[1] - 1
        expected = ref.frank_wolfe(problem, 0.3, min_decrease=1e-7, max_iter=300)
        np.testing.assert_allclose(out[i, :k], expected, atol=TOL)
        assert np.all(out[i, k:] == 0)


@pytest.mark.parametrize("name", ["one_treated", "three_treated"])
def test_placebo_replicates_equal_the_loop_on_the_fixtures(kernel, name):
    case = FIXTURE["cases"][name]
    y, n0, t0 = np.asarray(case["Y"]), case["n0"], case["t0"]
    reps, seed = FIXTURE["replications"], FIXTURE["se_seed"]
    tau, omega, lam, draws = ref.placebo(y, n0, t0, reps, seed)
    res = fit(y, n0, t0, replications=reps, rng=seed)
    assert res.estimate == pytest.approx(tau, abs=TOL)
    np.testing.assert_allclose(res.unit_weights.to_numpy(), omega, atol=TOL)
    np.testing.assert_allclose(res.time_weights.to_numpy(), lam, atol=TOL)
    np.testing.assert_allclose(res.replicates, draws, atol=TOL)


def test_bootstrap_and_jackknife_replicates_equal_the_loop(kernel):
    case = FIXTURE["cases"]["three_treated"]
    y, n0, t0 = np.asarray(case["Y"]), case["n0"], case["t0"]
    reps, seed = FIXTURE["replications"], FIXTURE["se_seed"]
    res = fit(y, n0, t0, replications=reps, rng=seed, variance="bootstrap")
    np.testing.assert_allclose(res.replicates, ref.bootstrap(y, n0, t0, reps, seed), atol=TOL)
    jack = fit(y, n0, t0, variance="jackknife")
    tune = ref.tuning(y, n0, t0)
    _, omega, lam = ref.estimate(y, n0, t0, tune)
    expected = []
    for drop in range(y.shape[0]):
        keep = np.array([i for i in range(y.shape[0]) if i != drop])
        donors = keep[keep < n0]
        w = ref.normalise(omega[donors])
        expected.append(ref.estimate(y[keep], len(donors), t0, tune, w, lam, update=False)[0])
    np.testing.assert_allclose(jack.replicates, expected, atol=TOL)


@pytest.mark.parametrize(
    ("seed", "n0", "n1", "periods", "t0"), [(31, 30, 1, 14, 9), (32, 12, 2, 8, 5)]
)
def test_placebo_replicates_equal_the_loop_on_fresh_panels(kernel, seed, n0, n1, periods, t0):
    y = factor_panel(seed, n0, n1, periods, t0)
    tau, omega, _, draws = ref.placebo(y, n0, t0, 6, seed)
    res = fit(y, n0, t0, replications=6, rng=seed)
    assert res.estimate == pytest.approx(tau, abs=TOL)
    np.testing.assert_allclose(res.unit_weights.to_numpy(), omega, atol=TOL)
    np.testing.assert_allclose(res.replicates, draws, atol=TOL)


def test_progress_bar_gives_the_same_replicates(kernel):
    """Under a progress bar the replications run in chunks: same draws, same numbers."""
    case = FIXTURE["cases"]["one_treated"]
    y, n0, t0 = np.asarray(case["Y"]), case["n0"], case["t0"]
    quiet = fit(y, n0, t0, replications=7, rng=3)
    shown = fit(y, n0, t0, replications=7, rng=3, progress=True)
    np.testing.assert_array_equal(quiet.replicates, shown.replicates)
