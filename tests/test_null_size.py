"""Size of the stepped-wedge analyses under no effect (:func:`sfpc_eval.trials.null_size`).

Known truths checked:

- the randomization test over rollout orders is exact when the simulation re-randomises the
  rollout the same way: with 5 councils permuted freely there are 120 orders, so its p-values
  lie on the grid k/120 and P(p <= 0.05) = 6/120 = 0.05 exactly;
- the logistic GLM with council and period effects and classical standard errors is the model
  the trials are drawn from (council intercepts, period effects, no cluster-period variation),
  so its Wald test has size 5% up to large-sample error;
- a GLM that ignores councils (no council effects, classical SEs) is invalid when councils'
  baseline risks differ: its size is far above 5%.

Tolerances: a size is tested against 5% within 3 Monte Carlo SEs, sqrt(0.05 * 0.95 / n_sims)
(1.5 points at 200 trials); "inflated" means the Clopper-Pearson 95% interval lies above 5%.
The bigger run is ``validation/sw_null_size.py`` (``validation/sw_null_size.md``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sfpc_eval.errors import InvalidValueError, SizeLimitError
from sfpc_eval.inference.cluster import Classical
from sfpc_eval.trials.null_size import NullSizeResult, null_size

RISKS = {
    "Walsall": 0.05,
    "Lancashire": 0.12,
    "Telford and Wrekin": 0.20,
    "Wandsworth": 0.08,
    "Swindon": 0.15,
}


@pytest.fixture(scope="module")
def run() -> NullSizeResult:
    return null_size(
        "family_safeguarding",
        {
            "randomization": "randomization",
            "glm_classical": {"model": "glm", "inference": Classical()},
            "glm_naive": "glm_naive",
        },
        n_sims=200,
        rng=20261205,
        n_children=2000,
        baseline_risk=RISKS,
        stratified=False,
        progress=False,
    )


def test_valid_analyses_hold_their_size(run):
    mc = math.sqrt(0.05 * 0.95 / 200)
    for name in ("randomization", "glm_classical"):
        assert abs(run.size(name) - 0.05) < 3 * mc, run.sizes
    assert (
        not run.sizes.set_index("analysis")
        .loc[["randomization", "glm_classical"]]["inflated"]
        .any()
    )
    assert (run.sizes["failed"] == 0).all()


def test_randomization_p_values_lie_on_the_grid_of_120_orders(run):
    p = run.p_values["randomization"].to_numpy()
    assert np.allclose(p * 120, np.round(p * 120), atol=1e-9)
    assert p.min() >= 1 / 120 - 1e-12


def test_naive_glm_is_flagged_as_inflated(run):
    row = run.sizes.set_index("analysis").loc["glm_naive"]
    assert row["size"] > 0.15 and row["conf_low"] > 0.05 and row["inflated"]
    assert "ignores clustering" in row["description"]


def test_size_table_agrees_with_the_p_values(run):
    sizes = run.sizes.set_index("analysis")
    for name in run.p_values:
        p = run.p_values[name]
        assert sizes.loc[name, "rejections"] == int((p <= 0.05).sum())
        s = sizes.loc[name, "size"]
        assert sizes.loc[name, "mc_std_error"] == pytest.approx(math.sqrt(s * (1 - s) / 200))
    text = str(run)
    assert "Size of the analyses under no effect" in text and "across councils" in text


def test_rollout_is_rerandomised_and_runs_are_reproducible():
    orders: list[tuple] = []

    def record(frame):
        first = frame[frame["treated"] == 1].groupby("cluster")["period"].min()
        orders.append(tuple(first.sort_index()))
        return 0.5

    kwargs = dict(n_children=800, rng=7, progress=False)
    a = null_size("family_safeguarding", {"record": record, "glm": "glm"}, n_sims=12, **kwargs)
    assert len(set(orders)) > 1  # the rollout changes between trials
    b = null_size("family_safeguarding", ["glm"], n_sims=6, **kwargs)
    # trial k has its own seed: a shorter run repeats the start of a longer one
    np.testing.assert_array_equal(a.p_values["glm"].to_numpy()[:6], b.p_values["glm"].to_numpy())
    assert a.size("record") == 0.0


def test_stratified_rollout_keeps_councils_in_their_strata():
    seen: set[tuple] = set()

    def record(frame):
        first = frame[frame["treated"] == 1].groupby("cluster")["period"].min()
        seen.add((first["Walsall"], first["Lancashire"]))
        return 0.5

    res = null_size(
        "family_safeguarding",
        {"record": record, "ri": "randomization"},
        n_sims=15,
        rng=3,
        n_children=800,
        progress=False,
    )
    # Walsall and Lancashire (stratum "high") always take the first two switch periods
    assert seen <= {(1, 2), (2, 1)} and len(seen) == 2
    # 2! x 3! = 12 orders within strata: p-values on the grid k/12, never <= 0.05
    p = res.p_values["ri"].to_numpy()
    assert np.allclose(p * 12, np.round(p * 12)) and res.size("ri") == 0.0


def test_progress_bar(capsys):
    null_size("no_wrong_door", ["glm"], n_sims=2, rng=1, n_children=600, progress=True)
    assert "null trials" in capsys.readouterr().err


def test_failed_fits_are_counted_not_hidden():
    def sometimes(frame):
        if frame["looked_after"].sum() % 2:
            raise np.linalg.LinAlgError("singular")
        return 0.01

    res = null_size(
        "no_wrong_door", {"odd": sometimes}, n_sims=10, rng=2, n_children=600, progress=False
    )
    row = res.sizes.iloc[0]
    assert row["failed"] == int(res.p_values["odd"].isna().sum()) > 0
    assert row["size"] == 1.0  # every fitted trial rejected
    assert "could not be fitted" in str(res)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"analyses": []}, InvalidValueError, "`analyses` is empty"),
        ({"analyses": ["glmmm"]}, InvalidValueError, "unknown analysis 'glmmm'"),
        ({"analyses": {"x": {"outcome": "y"}}}, InvalidValueError, "sets 'outcome'"),
        ({"analyses": {"x": 3}}, InvalidValueError, "must be a built-in name"),
        ({"alpha": 1.5}, InvalidValueError, "`alpha`"),
        ({"n_sims": 0}, InvalidValueError, "`n_sims`"),
        ({"n_sims": 10**8}, SizeLimitError, "`n_sims`"),
        ({"rng": -1}, InvalidValueError, "`rng`"),
        ({"stratified": "yes"}, InvalidValueError, "`stratified`"),
        ({"baseline_risk": 2.0}, InvalidValueError, "`baseline_risk`"),
    ],
)
def test_bad_inputs(kwargs, error, match):
    args = {"analyses": ["glm"], "n_sims": 2, "rng": 1, "n_children": 500, "progress": False}
    with pytest.raises(error, match=match):
        null_size("no_wrong_door", **{**args, **kwargs})


def test_size_of_an_analysis_not_run():
    res = null_size("no_wrong_door", ["glm"], n_sims=2, rng=1, n_children=500, progress=False)
    with pytest.raises(InvalidValueError, match="no analysis 'gee' was run"):
        res.size("gee")


def test_committed_bigger_run():
    """``validation/sw_null_size.py``: 1,000 Family Safeguarding-sized trials (38,250
    children). Exact randomization test and the GLM with council effects within 3 MC SEs
    (0.7 points) of 5%; the GLMM not above it; the naive GLM flagged."""
    table = pd.read_csv(Path(__file__).parents[1] / "validation" / "sw_null_size.csv")
    sizes = table.set_index("analysis")
    assert (sizes["n_sims"] == 1000).all() and (sizes["failed"] == 0).all()
    mc = math.sqrt(0.05 * 0.95 / 1000)
    for name in ("randomization", "glm", "glmm"):
        assert abs(sizes.loc[name, "size"] - 0.05) < 3 * mc, sizes.loc[name]
    assert sizes.loc["gee", "conf_high"] < 0.05  # Mancl-DeRouen: conservative with 5 councils
    assert sizes.loc["glm_naive", "inflated"] and sizes.loc["glm_naive", "size"] > 0.5
