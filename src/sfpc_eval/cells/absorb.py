"""Absorb many fixed-effect levels by weighted alternating projections (demeaning).

With thousands of units, dummy columns no longer fit in memory. By the Frisch-Waugh-Lovell
theorem the coefficients on the remaining regressors, and their CR0/CR1, HC and classical
variances, equal those of the dummy regression once the outcome and the regressors are
demeaned within each fixed-effect dimension in turn until nothing changes (the method of
alternating projections; one sweep suffices for a balanced panel, which is detected and then
not checked by a second sweep).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sfpc_eval.cells.collapse import in_grid_order
from sfpc_eval.errors import DesignError

__all__ = ["demean"]


def demean(
    values: np.ndarray,
    weights: np.ndarray,
    groups: Sequence[np.ndarray],
    *,
    tol: float = 1e-14,
    max_iter: int = 10_000,
    overwrite: bool = False,
    levels: Sequence[int] | None = None,
    grid_order: bool = False,
) -> np.ndarray:
    """Project the columns of ``values`` off the dummies of every grouping, with weights.

    Parameters
    ----------
    values : ndarray (n x m)
        Columns to demean (not modified).
    weights : ndarray (n,)
        Positive weights.
    groups : sequence of ndarray of int
        Codes 0..L-1 of each fixed-effect dimension.
    tol : float, default 1e-14
        Stop when the largest change in a sweep is below ``tol`` times the largest absolute
        value.
    max_iter : int, default 10000
        Most sweeps.
    overwrite : bool, default False
        Demean ``values`` in place (a float64 array the caller owns) instead of a copy.
    levels : sequence of int, optional
        The number of levels of each grouping (every level present), if known; saves a pass.
    grid_order : bool, default False
        The caller knows that the weights are equal and the rows run through the two
        groupings' grid in order (:func:`~sfpc_eval.cells.collapse.in_grid_order`); checked
        here otherwise.

    Returns
    -------
    ndarray (n x m)

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([[1.0], [3.0], [5.0], [7.0]])
    >>> unit, time = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    >>> demean(v, np.ones(4), [unit, time]).ravel().round(12).tolist()
    [0.0, 0.0, 0.0, 0.0]
    """
    out = values if overwrite else np.array(values, dtype=np.float64, copy=True, order="F")
    if levels is None:
        levels = [int(g.max()) + 1 if len(g) else 0 for g in groups]
    one_sweep = "grid" if grid_order else _balanced(weights, groups, levels)
    if one_sweep == "grid":  # rows are the (first, second) grid in order: means by axis
        shape = (levels[0], levels[1])
        for j in range(out.shape[1]):
            column = out[:, j]
            grid = column.reshape(shape) if column.flags.c_contiguous else column.copy()
            grid = grid.reshape(shape)
            grid -= grid.mean(axis=1, keepdims=True)
            grid -= grid.mean(axis=0)
            if not column.flags.c_contiguous:
                out[:, j] = grid.ravel()
        return out
    scale = max(float(out.max()), -float(out.min()), 1.0) if out.size else 1.0
    totals = [
        np.bincount(g, weights=weights, minlength=n) for g, n in zip(groups, levels, strict=True)
    ]
    unit_weights = bool(len(weights)) and weights[0] == 1 and np.ptp(weights) == 0
    for _ in range(max_iter):
        change = 0.0
        for g, total in zip(groups, totals, strict=True):
            for j in range(out.shape[1]):
                values_j = out[:, j] if unit_weights else weights * out[:, j]
                means = np.bincount(g, weights=values_j, minlength=len(total)) / total
                shift = means[g]
                out[:, j] -= shift
                change = max(change, float(np.max(np.abs(means))))
        if change <= tol * scale or one_sweep is not None:
            return out
    raise DesignError(
        f"demeaning did not converge in {max_iter} sweeps; the fixed effects may be nearly "
        "collinear (a panel whose units and periods barely overlap)."
    )


def _balanced(weights: np.ndarray, groups: Sequence[np.ndarray], levels) -> str | None:
    """Two groupings crossed exactly once each, equal weights: one sweep is the projection.

    Then demeaning by the first grouping leaves the second's means equal to their deviations
    from the grand mean, and the sweep ends at ``x - mean_1 - mean_2 + mean``; a further sweep
    would only move values by rounding error. Returns ``"grid"`` when moreover the rows run
    through the grid in order (first grouping slowest), so the means are row and column means
    of a reshaped array; ``"balanced"`` otherwise; None when not balanced.
    """
    if len(groups) != 2 or not len(weights) or np.ptp(weights) != 0:
        return None
    first, second = groups
    if len(weights) != levels[0] * levels[1]:
        return None
    if in_grid_order((first, range(levels[0])), (second, range(levels[1]))):
        return "grid"
    pairs = np.bincount(first * levels[1] + second, minlength=levels[0] * levels[1])
    return "balanced" if np.all(pairs == 1) else None
