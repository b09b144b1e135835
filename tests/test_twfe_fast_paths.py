"""Shortcuts on the TWFE path (issue 21) against the general code they bypass.

- collapse() without weights computes three sums and shares the ones that coincide; with
  every row its own cell it gathers instead of summing: equal to the general path (a weights
  column of ones, summed by bincount) exactly.
- factorize_sorted() codes whole-number floats (0/1 flags) by counting: equal to pandas.
- demean() stops after one sweep on a balanced, equally weighted two-way panel: equal to the
  projection computed by least squares on dummy columns to 1e-12.
- did() with the effects absorbed equals did() with dummy columns (a different code path:
  design matrix and Cholesky) to 1e-10, on a balanced panel and on an unbalanced one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.cells import collapse, factorize_sorted, in_grid_order
from sfpc_eval.cells.absorb import demean


def panel(units=120, periods=8, seed=0, drop=0.0, repeat=1):
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units), periods * repeat)
    time = np.tile(np.repeat(np.arange(2010, 2010 + periods), repeat), units)
    cohort = np.where(rng.random(units) < 0.4, rng.integers(2012, 2016, units), 9999)
    treated = (time >= cohort[unit]).astype(float)
    y = rng.normal(0, 1, units)[unit] + 0.1 * (time - 2010) - 0.5 * treated
    frame = pd.DataFrame({"la": unit, "year": time, "treated": treated})
    frame["y"] = y + rng.normal(0, 1, len(frame))
    frame["x"] = rng.normal(size=len(frame))
    if drop:
        frame = frame[rng.random(len(frame)) > drop].reset_index(drop=True)
    return frame


@pytest.mark.parametrize("repeat", [1, 3])
def test_unweighted_collapse_equals_the_weighted_path(repeat):
    data = panel(repeat=repeat).assign(w=1.0, pop=2.0)
    by = ["la", "year", "treated"]
    fast = collapse(data, outcome="y", by=by)
    general = collapse(data, outcome="y", by=by, weights="w")
    pd.testing.assert_frame_equal(fast.sums, general.sums)
    pd.testing.assert_frame_equal(fast.keys, general.keys)
    with_exposure = collapse(data, outcome="y", by=by, exposure="pop")
    general = collapse(data, outcome="y", by=by, weights="w", exposure="pop")
    pd.testing.assert_frame_equal(with_exposure.sums, general.sums)
    determined = collapse(data, outcome="y", by=by, determined=["treated"])
    pd.testing.assert_frame_equal(determined.sums, fast.sums)
    pd.testing.assert_frame_equal(determined.keys, fast.keys)


@pytest.mark.parametrize(
    "values",
    [[1.0, 0.0, 1.0], [2019.0, 2017.0, 2019.0, -3.0], [0.5, 1.0], [np.nan, 1.0], [1e300, 0.0]],
)
def test_factorize_whole_floats_equals_pandas(values):
    codes, levels = factorize_sorted(np.array(values))
    expected_codes, expected_levels = pd.factorize(
        np.array(values), sort=True, use_na_sentinel=False
    )
    np.testing.assert_array_equal(codes, expected_codes)
    np.testing.assert_array_equal(levels, expected_levels)


def test_one_sweep_on_a_balanced_panel_is_the_projection():
    data = panel(units=30, periods=6)
    unit = data["la"].to_numpy()
    time = data["year"].to_numpy() - 2010
    values = data[["y", "x"]].to_numpy()
    out = demean(values, np.ones(len(data)), [unit, time])
    dummies = np.column_stack([np.ones(len(data)), np.eye(30)[unit][:, 1:], np.eye(6)[time][:, 1:]])
    coef = np.linalg.lstsq(dummies, values, rcond=None)[0]
    np.testing.assert_allclose(out, values - dummies @ coef, atol=1e-12)


def did_args(**extra):
    """The did() arguments of the panel() data with a covariate, CR1 (exact when absorbed)."""
    base = {"outcome": "y", "unit": "la", "time": "year", "treated": "treated"}
    return base | {"covariates": ["x"], "inference": se.ClusterRobust(kind="CR1")} | extra


@pytest.mark.parametrize("drop", [0.0, 0.1])
def test_absorbed_did_equals_dummy_columns(drop):
    data = panel(drop=drop)
    args = did_args()
    absorbed = se.did(data, absorb=True, **args).tidy().set_index("term")
    dummies = se.did(data, absorb=False, **args).tidy().set_index("term")
    for term in ("treated", "x"):
        for column in ("estimate", "std_error", "p_value"):
            assert absorbed.loc[term, column] == pytest.approx(dummies.loc[term, column], rel=1e-10)


@pytest.mark.parametrize("order", ["grid", "shuffled"])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_balanced_demeaning_in_grid_order_or_not(order, layout):
    """Grid order (row and column means of a reshaped array) and any other order of the same
    balanced panel give the same projection as least squares on dummy columns."""
    rng = np.random.default_rng(4)
    unit, time = np.repeat(np.arange(12), 5), np.tile(np.arange(5), 12)
    values = rng.normal(size=(60, 2))
    if order == "shuffled":
        perm = rng.permutation(60)
        unit, time, values = unit[perm], time[perm], values[perm]
    values = np.asarray(values, order=layout)
    out = demean(values, np.ones(60), [unit, time])
    dummies = np.column_stack([np.ones(60), np.eye(12)[unit][:, 1:], np.eye(5)[time][:, 1:]])
    coef = np.linalg.lstsq(dummies, values, rcond=None)[0]
    np.testing.assert_allclose(out, values - dummies @ coef, atol=1e-12)
    again = np.array(values, order=layout)
    demean(again, np.ones(60), [unit, time], overwrite=True)
    np.testing.assert_allclose(again, out, atol=1e-15)


@pytest.mark.parametrize("weights", [None, "w"])
def test_rows_in_cell_order_shuffled_or_summed_give_the_same_cells(weights):
    """Three paths to the cells: rows already in cell order (taken as they are), the same rows
    shuffled (gathered), and every row twice (summed by bincount: twice the sums)."""
    data = panel().assign(w=np.linspace(0.5, 2.0, len(panel())))
    by = ["la", "year", "treated"]
    in_order = collapse(data, outcome="y", by=by, weights=weights)
    shuffled = data.sample(frac=1.0, random_state=3)
    gathered = collapse(shuffled, outcome="y", by=by, weights=weights)
    pd.testing.assert_frame_equal(in_order.sums, gathered.sums)
    pd.testing.assert_frame_equal(in_order.keys, gathered.keys)
    for column in by:
        np.testing.assert_array_equal(in_order.codes[column], gathered.codes[column])
    doubled = collapse(pd.concat([data, data]), outcome="y", by=by, weights=weights)
    np.testing.assert_allclose(
        doubled.sums.drop(columns="n"), 2 * in_order.sums.drop(columns="n"), rtol=1e-15
    )
    np.testing.assert_array_equal(doubled.sums["n"], 2)


@pytest.mark.parametrize("weights", [None, "w"])
@pytest.mark.parametrize("repeat", [1, 2])
def test_did_in_grid_order_equals_shuffled_rows_and_dummy_columns(weights, repeat):
    """The grid-order path (design checks on a reshaped panel, rows taken as cells, residual sum
    of squares as one dot product, unit weights not multiplied in) against the general path on
    the same rows shuffled, and against dummy columns (a different algorithm: design matrix and
    Cholesky): equal to 1e-10. ``repeat=2`` puts two rows in every cell (not a grid)."""
    data = panel(repeat=repeat).assign(w=lambda d: np.linspace(0.5, 2.0, len(d)))
    args = did_args(weights=weights)
    grid = se.did(data, absorb=True, **args)
    shuffled = se.did(data.sample(frac=1.0, random_state=5), absorb=True, **args)
    dummies = se.did(data, absorb=False, **args)
    for other in (shuffled, dummies):
        for a, b in zip(grid.terms, other.terms, strict=True):
            assert a.estimate == pytest.approx(b.estimate, rel=1e-10)
            assert a.std_error == pytest.approx(b.std_error, rel=1e-10)
        assert grid._fit.scale == pytest.approx(other._fit.scale, rel=1e-10)
    ever = int(data.groupby("la")["treated"].max().sum())  # counted by pandas
    assert grid.n_treated_clusters == shuffled.n_treated_clusters == ever


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("switch_off", "treatment switches off"),
        ("constant", "is constant within every"),
        ("no_comparison", "no comparison"),
        ("one_period", "has one period"),
    ],
)
def test_design_errors_are_the_same_in_grid_order_and_shuffled(change, message):
    """The grid-order design checks raise the same errors, naming the same units, as the
    general checks on the same rows in another order."""
    data = panel(units=10, periods=6)
    if change == "switch_off":
        data.loc[(data["la"] == 2) & (data["year"] == 2012), "treated"] = 1.0  # then 0 again
    elif change == "constant":
        data["y"] = data["la"].astype(float)
    elif change == "no_comparison":
        data["treated"] = (data["year"] >= 2013).astype(float)
    else:
        data = data[data["year"] == 2015].reset_index(drop=True)  # treated and not
    args = {"outcome": "y", "unit": "la", "time": "year", "treated": "treated"}
    texts = []
    for frame in (data, data.sample(frac=1.0, random_state=2)):
        with pytest.raises(se.DesignError, match=message) as caught:
            se.did(frame, **args)
        texts.append(str(caught.value))
    assert texts[0] == texts[1]


def test_in_grid_order_needs_every_pair_once_in_order():
    unit, time = np.repeat(np.arange(3), 2), np.tile(np.arange(2), 3)
    levels_u, levels_t = np.arange(3), np.arange(2)
    assert in_grid_order((unit, levels_u), (time, levels_t))
    assert not in_grid_order((time, levels_t), (unit, levels_u))  # period slowest
    assert not in_grid_order((unit[:-1], levels_u), (time[:-1], levels_t))  # a pair missing
    swapped = time.copy()
    swapped[[0, 1]] = swapped[[1, 0]]
    assert not in_grid_order((unit, levels_u), (swapped, levels_t))
    assert not in_grid_order((unit[:0], levels_u[:0]), (time[:0], levels_t[:0]))
