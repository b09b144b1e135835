"""Multiple-outcome adjustment: Holm and BH by hand, Romano-Wolf by its defining properties and
by a family-wise error simulation with known truth (no effect on any outcome)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.errors import DesignError, InvalidValueError


def holm_by_hand(p):
    order = np.argsort(p)
    m = len(p)
    out = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def bh_by_hand(p):
    m = len(p)
    order = np.argsort(p)[::-1]
    out = np.empty(m)
    running = 1.0
    for i in order:
        rank = np.sum(p <= p[i])
        running = min(running, p[i] * m / rank)
        out[i] = running
    return out


@pytest.mark.parametrize("p", [[0.01, 0.04, 0.03], [0.2, 0.001, 0.049, 0.5, 0.02]])
def test_holm_and_bh_match_their_definitions(p):
    p = np.array(p)
    np.testing.assert_allclose(se.adjust_pvalues(p, "holm"), holm_by_hand(p), rtol=1e-12)
    np.testing.assert_allclose(se.adjust_pvalues(p, "bh"), bh_by_hand(p), rtol=1e-12)


def panel(seed: int, effects=(0.0, 0.0, 0.0), rho: float = 0.5, n_la: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame([(la, t) for la in range(n_la) for t in range(6)], columns=["la", "t"])
    frame["treated"] = ((frame["la"] < n_la // 2) & (frame["t"] >= 3)).astype(int)
    common = rng.normal(0, 1, len(frame))
    for k, effect in enumerate(effects):
        own = rng.normal(0, 1, len(frame))
        frame[f"y{k}"] = effect * frame["treated"] + np.sqrt(rho) * common + np.sqrt(1 - rho) * own
    return frame


def fits(frame, outcomes):
    return {y: se.did(frame, outcome=y, unit="la", time="t", treated="treated") for y in outcomes}


def test_romano_wolf_with_identical_outcomes_equals_the_unadjusted_bootstrap_p():
    frame = panel(1, effects=(0.8,))
    frame["y0_copy"] = frame["y0"]
    table = se.adjust_results(fits(frame, ["y0", "y0_copy"]), "romano-wolf")
    assert table["p_adjusted"].tolist() == pytest.approx(table["p_value"].tolist(), abs=1e-15)
    assert table["p_value"].iloc[0] == table["p_value"].iloc[1]


def test_romano_wolf_is_never_below_unadjusted_and_never_above_bonferroni():
    table = se.adjust_results(
        fits(panel(2, effects=(0.6, 0.0, 0.3)), ["y0", "y1", "y2"]), "romano-wolf"
    )
    assert (table["p_adjusted"] >= table["p_value"] - 1e-15).all()
    assert (table["p_adjusted"] <= np.minimum(1, 3 * table["p_value"]) + 1e-12).all()


@pytest.mark.slow
def test_romano_wolf_controls_the_family_wise_error_rate():
    """Known truth: no effect on any of 3 correlated outcomes (rho = 0.5), G = 12 (all 4,096
    sign vectors). Over 300 seeded panels the share with any adjusted p < 0.05 must stay at most
    0.05 + 3 MC SE (0.088); unadjusted, it is visibly higher."""
    any_adjusted, any_raw = 0, 0
    for seed in range(300):
        table = se.adjust_results(fits(panel(seed), ["y0", "y1", "y2"]), "romano-wolf")
        any_adjusted += (table["p_adjusted"] < 0.05).any()
        any_raw += (table["p_value"] < 0.05).any()
    assert any_adjusted / 300 <= 0.088
    assert any_raw > any_adjusted


def test_bad_inputs():
    frame = panel(3)
    one = fits(frame, ["y0"])
    with pytest.raises(InvalidValueError, match="at least 2"):
        se.adjust_results(one)
    with pytest.raises(InvalidValueError, match="`method`"):
        se.adjust_pvalues([0.1, 0.2], "bonferroni-ish")
    with pytest.raises(InvalidValueError, match=r"\[0, 1\]"):
        se.adjust_pvalues([0.1, 1.2])
    other = panel(4, n_la=10)
    mixed = {"a": fits(frame, ["y0"])["y0"], "b": fits(other, ["y0"])["y0"]}
    with pytest.raises(DesignError, match="same clusters"):
        se.adjust_results(mixed, "romano-wolf")


@pytest.mark.parametrize(
    ("p_values", "words"),
    [
        ([[0.01, 0.04], [0.03, 0.2]], r"one list of p-values .*shape \(2, 2\)"),
        (["a", 0.1], "must be a list of numbers"),
        ([0.2, 1.5], r"must lie in \[0, 1\]"),
    ],
    ids=["2-D", "text", "above-one"],
)
def test_adjust_pvalues_refuses_what_is_not_one_family(p_values, words):
    # issue 19: a 2-D array used to be adjusted as if each column were one test
    with pytest.raises(se.InvalidValueError, match=words):
        se.adjust_pvalues(p_values)
