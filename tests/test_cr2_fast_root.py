"""clubSandwich's symmetric CR2 root for GLMs by quadrature of resolvents
(sfpc_eval/inference/_cr2_root.py) against the dense eigendecomposition it replaced.

The dense path is still in sfpc_eval.inference.cluster (used when the fast path declines);
each test computes the variance twice, once with the fast path switched off, and compares
standard errors and Satterthwaite degrees of freedom. Tolerance 1e-10 relative: both compute
the same function of the same matrix; the quadrature is accurate to 1e-14 and the dense
eigendecomposition to about cond x 1e-16, so they agree to ~1e-13.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import DesignError
from sfpc_eval.inference import _cr2_root, cluster
from sfpc_eval.trials.analysis import stepped_wedge

FIXTURES = Path(__file__).parent / "fixtures"
TOL = 1e-10


@pytest.fixture
def counted(monkeypatch):
    """Count the clusters where the fast path answered (it must, for the test to mean much)."""
    calls = {"fast": 0, "declined": 0}
    real = cluster.symmetric_root_apply

    def spy(*args):
        out = real(*args)
        calls["fast" if out is not None else "declined"] += 1
        return out

    monkeypatch.setattr(cluster, "symmetric_root_apply", spy)
    return calls


def dense(monkeypatch, compute):
    """Run ``compute`` with the fast path switched off (every cluster computed densely)."""
    with monkeypatch.context() as patch:
        patch.setattr(cluster, "symmetric_root_apply", lambda *args: None)
        return compute()


def assert_same_inference(fast: pd.DataFrame, slow: pd.DataFrame) -> None:
    np.testing.assert_allclose(fast["std_error"], slow["std_error"], rtol=TOL)
    np.testing.assert_allclose(fast["df"], slow["df"], rtol=TOL)


DID_MODELS = {
    "panel_g5-poisson": (
        "panel_g5",
        {"outcome": "count", "exposure": "pop", "family": "poisson", "time": "year"},
    ),
    "panel_g12_children-logit": (
        "panel_g12_children",
        {"outcome": "y_bin", "covariates": ["x"], "time": "period", "family": "binomial"},
    ),
    "panel_g12_unbalanced-poisson": (
        "panel_g12_unbalanced",
        {
            "outcome": "count",
            "covariates": ["x"],
            "time": "year",
            "exposure": "pop",
            "family": "poisson",
        },
    ),
}


@pytest.mark.parametrize("case", DID_MODELS)
def test_did_glm_cr2_fixtures(monkeypatch, counted, case):
    """The R reference panels of tests/test_did_against_r.py (CR2 there to 1e-6 vs R)."""
    dataset, kwargs = DID_MODELS[case]
    data = pd.read_csv(FIXTURES / "did" / f"{dataset}.csv", comment="#")

    def compute():
        return se.did(
            data, unit="la", treated="treated", inference=se.ClusterRobust(kind="CR2"), **kwargs
        ).tidy()

    fast = compute()
    assert counted["fast"] > 0
    assert_same_inference(fast, dense(monkeypatch, compute))


@pytest.mark.parametrize("effects", [True, False])
@pytest.mark.parametrize("trial", ["fs", "nwd"])
def test_stepped_wedge_glm_fixtures(monkeypatch, counted, trial, effects):
    """The trials of tests/test_sw_analysis.py; with cluster effects every cluster's
    ``I - H_gg`` is singular (the pseudo-inverse branch)."""
    data = pd.read_csv(FIXTURES / "stepped_wedge" / f"trial_{trial}.csv")
    covariates = ["age", "female", "disability", "prev_plan"]

    def compute():
        res = stepped_wedge(
            data,
            "looked_after",
            "cluster",
            "period",
            "treated",
            covariates,
            model="glm",
            cluster_effects=effects,
        )
        return pd.DataFrame(
            {"std_error": np.sqrt(np.diag(res.vcov)), "df": res.tidy()["df"].iloc[0]},
        )

    fast = compute()
    assert counted["fast"] > 0 and counted["declined"] == 0
    assert_same_inference(fast, dense(monkeypatch, compute))


def child_panel(seed: int, family: str, units: int = 6, periods: int = 4, children: int = 70):
    """Child-level rows with a continuous covariate: every row is its own cell."""
    rng = np.random.default_rng(seed)
    la = np.repeat(np.arange(units), periods * children)
    period = np.tile(np.repeat(np.arange(periods), children), units)
    treated = ((la < units // 2) & (period >= 2)).astype(int)
    x = rng.normal(size=len(la))
    eta = -0.5 + 0.3 * x + 0.2 * period - 0.4 * treated + rng.normal(0, 0.3, units)[la]
    data = pd.DataFrame({"la": la, "period": period, "treated": treated, "x": x})
    if family == "binomial":
        data["y"] = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    else:
        data["pop"] = rng.uniform(0.5, 3.0, len(la))
        data["y"] = rng.poisson(np.exp(eta + 1.5) * data["pop"])
    return data


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_fresh_child_level_problems(monkeypatch, counted, family, seed):
    data = child_panel(seed, family)
    extra = {"exposure": "pop"} if family == "poisson" else {}

    def compute():
        return se.did(
            data,
            outcome="y",
            unit="la",
            time="period",
            treated="treated",
            covariates=["x"],
            family=family,
            inference=se.ClusterRobust(kind="CR2"),
            **extra,
        ).tidy()

    fast = compute()
    assert counted["fast"] == 6
    assert_same_inference(fast, dense(monkeypatch, compute))


def test_quadrature_rule_gives_inverse_roots():
    """Closed form: sum w / (t^2 + x) = x^(-1/2) for x across [m, M] (and a little inside)."""
    rng = np.random.default_rng(0)
    for m, big_m in [(1e-3, 1.0), (0.02, 0.06), (3.0, 3e6), (1.0, 1e8), (1.0, 1.0 + 1e-9)]:
        t2, w = _cr2_root.inverse_root_rule(m, big_m)
        x = np.concatenate([[m, big_m], rng.uniform(m, big_m, 50)])
        approx = (w[None, :] / (t2[None, :] + x[:, None])).sum(axis=1)
        np.testing.assert_allclose(approx, x**-0.5, rtol=2e-13)


def test_apply_equals_the_dense_root_with_a_null_space():
    """Direct check on a small cluster whose leverage has an eigenvalue of exactly 1."""
    rng = np.random.default_rng(5)
    c, k = 40, 4
    q, _ = np.linalg.qr(rng.normal(size=(c, k)))
    low_rank = q * np.array([1.0, 0.9, 0.5, 0.2])  # singular values: one equal to 1
    theta = rng.uniform(0.03, 0.25, c)
    vectors = rng.normal(size=(c, 3))
    g = theta[:, None] * (np.eye(c) - low_rank @ low_rank.T) * theta[None, :]
    root = np.sqrt(theta)[:, None] * cluster._pseudo_power(g, -0.5) * np.sqrt(theta)[None, :]
    fast = _cr2_root.symmetric_root_apply(theta, low_rank, vectors)
    np.testing.assert_allclose(fast, root @ vectors, rtol=0, atol=1e-12 * np.abs(root).max())


def test_declines_near_the_cutoff():
    """Working variances spanning more than 1e8 (theta^2): an eigenvalue may sit near the
    dense code's 1e-10 cut-off, so the fast path declines and the dense one decides."""
    rng = np.random.default_rng(6)
    c = 30
    q, _ = np.linalg.qr(rng.normal(size=(c, 2)))
    theta = np.r_[1e-6, rng.uniform(0.1, 0.25, c - 1)]
    assert _cr2_root.symmetric_root_apply(theta, 0.5 * q, np.ones((c, 1))) is None


def test_large_cluster_refused_only_when_the_fast_path_declines(monkeypatch):
    data = pd.read_csv(FIXTURES / "did" / "panel_g12_children.csv", comment="#")
    args = {"outcome": "y_bin", "covariates": ["x"], "time": "period", "family": "binomial"}
    monkeypatch.setattr(cluster, "MAX_DENSE_CELLS", 10)
    se.did(data, unit="la", treated="treated", inference=se.ClusterRobust(kind="CR2"), **args)
    monkeypatch.setattr(cluster, "symmetric_root_apply", lambda *a: None)
    with pytest.raises(DesignError, match="root='whitened'"):
        se.did(data, unit="la", treated="treated", inference=se.ClusterRobust(kind="CR2"), **args)


def test_reference_fixture_still_matches_clubsandwich():
    """Guard that the fast path is what the clubSandwich comparison now runs through."""
    ref = json.loads((FIXTURES / "stepped_wedge" / "reference.json").read_text())
    data = pd.read_csv(FIXTURES / "stepped_wedge" / "trial_fs.csv")
    res = stepped_wedge(
        data,
        "looked_after",
        "cluster",
        "period",
        "treated",
        ["age", "female", "disability", "prev_plan"],
        model="glm",
        cluster_effects=False,
    )
    expected = ref["fs"]["glm_cr2"]["se"]["treated"]
    assert float(np.sqrt(res.vcov.loc["treated", "treated"])) == pytest.approx(expected, rel=1e-6)
