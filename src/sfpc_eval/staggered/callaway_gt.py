"""Group-time average treatment effects ATT(g, t) of Callaway & Sant'Anna (2021).

For every cohort ``g`` and period ``t`` this module compares the change in the outcome between
a base period and ``t`` for cohort ``g`` with the same change for the comparison units, with
one of three 2x2 estimators (Sant'Anna & Zhao 2020, panel data):

- ``"dr"``: the doubly robust estimator (logit propensity score, linear outcome regression
  for the change among comparison units), as in R ``DRDID::drdid_panel``;
- ``"ipw"``: the normalised (Hajek) inverse probability weighting estimator
  (``DRDID::std_ipw_did_panel``);
- ``"reg"``: the outcome regression estimator (``DRDID::reg_did_panel``).

Each returns the estimate and its influence function for the units in the 2x2 sample; the
influence function is rescaled to the whole panel (``n / n_cell``, zero for units outside the
cell) so that every ATT(g, t) and every aggregation shares one ``n x K`` matrix. As in R's
``did`` (and ``DRDID``), comparison units with a propensity score of 0.995 or more get weight 0
(trimming), and scores are capped at ``1 - 1e-6``.

The logit is fitted by Newton's method on the 2x2 sample; the fit (and the comparison units'
regression design) is reused across all periods that share the same sample and covariate rows,
which is what makes the whole ATT(g, t) table cost about as much as a handful of regressions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import special

from sfpc_eval.diff_in_diff.cohorts import CohortPanel
from sfpc_eval.errors import DesignError, show_values

__all__ = ["GroupTime", "group_time_effects", "last_pre_index"]

Estimation = Literal["dr", "ipw", "reg"]
BasePeriod = Literal["varying", "universal"]

PS_CAP = 1 - 1e-6
"""Propensity scores are capped here (as ``DRDID``) so that ``p / (1 - p)`` stays finite."""
TRIM_LEVEL = 0.995
"""Comparison units with a propensity score at or above this level get weight 0 (``DRDID``)."""
OVERLAP_LIMIT = 0.999
"""A fitted propensity score at or above this level means overlap fails (R ``did``)."""


@dataclass(frozen=True, eq=False)
class GroupTime:
    """ATT(g, t) for every cohort and period, with the per-unit influence functions.

    Attributes
    ----------
    group, time, base : numpy.ndarray
        Cohort, period and base (comparison) period of each of the K cells.
    att : numpy.ndarray
        ATT(g, t) estimates (length K).
    influence : numpy.ndarray
        ``n_units x K`` influence functions, scaled so that the variance of cell k is
        ``sum(influence[:, k] ** 2) / n_units ** 2``.
    reference : numpy.ndarray of bool
        Cells that are the base period itself (``base_period="universal"``): ATT fixed at 0.
    n_treated, n_control : numpy.ndarray of int
        Units in the cohort and in the comparison group of each cell.
    """

    group: np.ndarray
    time: np.ndarray
    base: np.ndarray
    att: np.ndarray
    influence: np.ndarray
    reference: np.ndarray
    n_treated: np.ndarray
    n_control: np.ndarray


def last_pre_index(g: float, periods: np.ndarray, anticipation: int) -> int:
    """Index of the last period ``p`` with ``p + anticipation < g`` (R ``did``'s base period).

    Examples
    --------
    >>> last_pre_index(2005.0, np.array([2003.0, 2004.0, 2005.0]), 0)
    1
    """
    idx = np.flatnonzero(periods + anticipation < g)
    if not len(idx):  # validate_cohorts refuses such cohorts; kept as a typed guard
        raise DesignError(f"cohort {g:g} has no period before it (with the anticipation given).")
    return int(idx[-1])


def _cells(
    cohorts: np.ndarray, periods: np.ndarray, anticipation: int, base_period: BasePeriod
) -> Iterable[tuple[float, int, int]]:
    """Yield (g, index of t, index of base) in R ``did``'s order (cohort, then period)."""
    n_periods = len(periods)
    for g in cohorts:
        pre = last_pre_index(g, periods, anticipation)
        if base_period == "varying":
            for ti in range(1, n_periods):
                base = pre if g - anticipation <= periods[ti] else ti - 1
                yield float(g), ti, base
        else:
            for ti in range(n_periods):
                yield float(g), ti, pre


def _cell_table(
    panel: CohortPanel, base_period: BasePeriod
) -> tuple[list[tuple[float, int, int]], GroupTime]:
    """Return the cells ``(g, index of t, index of base)`` and a GroupTime to fill for them.

    ``att`` and ``influence`` start at 0 and ``reference`` at False; ``group``, ``time``,
    ``base``, ``n_treated`` and ``n_control`` are for the caller to set, cell by cell.
    """
    cells = list(_cells(panel.cohorts, panel.periods, panel.anticipation, base_period))
    k = len(cells)
    table = GroupTime(
        group=np.empty(k),
        time=np.empty(k),
        base=np.empty(k),
        att=np.zeros(k),
        influence=np.zeros((panel.n_units, k)),
        reference=np.zeros(k, dtype=bool),
        n_treated=np.zeros(k, dtype=int),
        n_control=np.zeros(k, dtype=int),
    )
    return cells, table


def _cell_units(
    panel: CohortPanel, g: float, ti: int, bi: int
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Units of cohort ``g`` and its comparison units in the cell of periods ``ti``, ``bi``.

    Returns the two unit masks (in ``panel.units`` order) and the not-yet-treated threshold
    (None with never-treated comparison units, which are the same in every cell).
    """
    ug = panel.unit_cohort
    never = ~np.isfinite(ug)
    treated = ug == g
    if panel.control == "never":
        return treated, never, None
    threshold = panel.periods[max(ti, bi)] + panel.anticipation
    return treated, never | ((ug > threshold) & ~treated), float(threshold)


def _empty() -> np.ndarray:
    return np.empty(0)


@dataclass
class _Design:
    """What a 2x2 sample shares across periods: units, design matrix, propensity fit."""

    index: np.ndarray  # unit positions in the sample
    treated: np.ndarray  # float 0/1
    x: np.ndarray  # n1 x p, intercept first
    w: np.ndarray  # weights normalised to mean 1 in the sample
    w_treat: np.ndarray = field(default_factory=_empty)
    w_cont: np.ndarray = field(default_factory=_empty)
    # n1 x p influence of the logit coefficients
    lin_ps: np.ndarray = field(default_factory=_empty)
    # inverse of the comparison units' weighted X'X / n1
    ols_inv: np.ndarray = field(default_factory=_empty)


def _check_weight_mass(w: np.ndarray, d: np.ndarray, where: str) -> None:
    """Raise if the cohort or its comparison units have zero total weight."""
    for who, mask in (("cohort has", d == 1), ("comparison units have", d == 0)):
        if not np.any(w[mask] > 0):
            raise DesignError(
                f"ATT(g, t) cannot be computed for {where}: the {who} zero total weight. "
                "Check `weights`."
            )


def _logit(x: np.ndarray, d: np.ndarray, w: np.ndarray, where: str) -> np.ndarray:
    """Weighted logit by Newton's method; returns fitted probabilities.

    Raises DesignError if the fit does not converge or the information matrix is singular.
    """
    p_mean = np.average(d, weights=w)
    beta = np.zeros(x.shape[1])
    beta[0] = np.log(p_mean / (1 - p_mean))
    for _ in range(100):
        eta = x @ beta
        prob = special.expit(eta)
        grad = x.T @ (w * (d - prob))
        info = (x * (w * prob * (1 - prob))[:, None]).T @ x
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError as err:
            raise DesignError(
                f"The propensity-score logit for {where} has a singular design: the covariates "
                "are collinear or do not vary in this comparison. Remove or combine "
                "covariates, or use estimation='reg'."
            ) from err
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12 * max(1.0, np.max(np.abs(beta))):
            break
    else:
        raise DesignError(
            f"The propensity-score logit for {where} did not converge in 100 Newton steps "
            "(the covariates may separate the cohort from its comparison units). Use fewer "
            "covariates, or estimation='reg'."
        )
    return special.expit(x @ beta)


def _design(
    index: np.ndarray,
    treated: np.ndarray,
    x_all: np.ndarray,
    w_all: np.ndarray,
    estimation: Estimation,
    where: str,
) -> _Design:
    d = treated.astype(float)
    x = x_all[index]
    w = w_all[index]
    _check_weight_mass(w, d, where)
    w = w / w.mean()
    n1 = len(index)
    design = _Design(index=index, treated=d, x=x, w=w)
    cont = 1 - d
    if estimation in ("dr", "reg"):
        wx = x * (w * cont)[:, None]
        xtx = wx.T @ x / n1
        if np.linalg.cond(xtx, 1) > 1 / np.finfo(float).eps:
            raise DesignError(
                f"The outcome regression for the comparison units of {where} is singular: the "
                "covariates are collinear (or constant) among them. Remove or combine "
                "covariates."
            )
        design.ols_inv = np.linalg.inv(xtx)
    if estimation == "reg":
        design.w_treat = w * d
        return design
    prob = _logit(x, d, w, where)
    if prob.max() >= OVERLAP_LIMIT:
        worst = int(np.argmax(prob))
        raise DesignError(
            f"Overlap fails for {where}: a fitted propensity score is {prob[worst]:.4f} "
            f"(limit {OVERLAP_LIMIT}), so some units have no comparable comparison units. Use "
            "fewer covariates, coarser covariates, or estimation='reg'."
        )
    prob = np.minimum(prob, PS_CAP)
    keep = np.where(d == 1, True, prob < TRIM_LEVEL)
    design.w_treat = keep * w * d
    design.w_cont = keep * w * prob * cont / (1 - prob)
    info = (x * (w * prob * (1 - prob))[:, None]).T @ x
    hessian = np.linalg.inv(info) * n1
    design.lin_ps = (x * (w * (d - prob))[:, None]) @ hessian
    return design


def _two_by_two(
    dy: np.ndarray, design: _Design, estimation: Estimation
) -> tuple[np.ndarray, np.ndarray]:
    """ATT and influence functions of 2x2 comparisons sharing one design.

    ``dy`` is ``n1 x m``: the outcome change of each sample unit in each of ``m`` comparisons
    (periods). Returns the ``m`` estimates and the ``n1 x m`` influence functions. The
    formulas are those of ``DRDID::drdid_panel``, ``std_ipw_did_panel`` and ``reg_did_panel``
    applied column by column.
    """
    x = design.x
    n1 = dy.shape[0]
    w_treat = design.w_treat[:, None]
    mean_treat = design.w_treat.sum() / n1
    if estimation == "ipw":
        w_cont = design.w_cont[:, None]
        mean_cont = design.w_cont.sum() / n1
        eta_treat = (w_treat * dy).sum(axis=0) / n1 / mean_treat
        eta_cont = (w_cont * dy).sum(axis=0) / n1 / mean_cont
        inf_treat = w_treat * (dy - eta_treat) / mean_treat
        m2 = x.T @ (w_cont * (dy - eta_cont)) / n1  # p x m
        inf_cont = (w_cont * (dy - eta_cont) + design.lin_ps @ m2) / mean_cont
        return eta_treat - eta_cont, inf_treat - inf_cont
    w_ols = (design.w * (1 - design.treated))[:, None]
    beta = design.ols_inv @ (x.T @ (w_ols * dy)) / n1  # p x m
    fitted = x @ beta
    resid = dy - fitted
    # influence of the regression coefficients, applied to a moment vector M:
    #   (x * (w_ols * resid)) @ ols_inv @ M, for every column of resid at once
    m1 = x.T @ design.w_treat / n1
    lin_ols_m1 = (w_ols * resid) * (x @ (design.ols_inv @ m1))[:, None]
    if estimation == "reg":
        eta_treat = (w_treat * dy).sum(axis=0) / n1 / mean_treat
        eta_cont = (w_treat * fitted).sum(axis=0) / n1 / mean_treat
        inf_treat = w_treat * (dy - eta_treat) / mean_treat
        inf_cont = (w_treat * (fitted - eta_cont) + lin_ols_m1) / mean_treat
        return eta_treat - eta_cont, inf_treat - inf_cont
    w_cont = design.w_cont[:, None]
    mean_cont = design.w_cont.sum() / n1
    eta_treat = (w_treat * resid).sum(axis=0) / n1 / mean_treat
    eta_cont = (w_cont * resid).sum(axis=0) / n1 / mean_cont
    inf_treat = (w_treat * (resid - eta_treat) - lin_ols_m1) / mean_treat
    m2 = x.T @ (w_cont * (resid - eta_cont)) / n1  # p x m
    m3 = x.T @ design.w_cont / n1
    lin_ols_m3 = (w_ols * resid) * (x @ (design.ols_inv @ m3))[:, None]
    inf_cont = (w_cont * (resid - eta_cont) + design.lin_ps @ m2 - lin_ols_m3) / mean_cont
    return eta_treat - eta_cont, inf_treat - inf_cont


def _progress(items: list, progress: bool) -> Iterable:
    if not progress:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="ATT(g,t) designs", unit="design")


def group_time_effects(
    panel: CohortPanel,
    *,
    estimation: Estimation = "dr",
    base_period: BasePeriod = "varying",
    progress: bool = False,
) -> GroupTime:
    """Estimate ATT(g, t) and influence functions on a validated balanced panel.

    Parameters
    ----------
    panel : CohortPanel
        From :func:`~sfpc_eval.diff_in_diff.cohorts.validate_cohorts` (balanced).
    estimation : {"dr", "ipw", "reg"}
        The 2x2 estimator.
    base_period : {"varying", "universal"}
        ``"varying"``: pre-treatment cells compare ``t`` with ``t - 1`` and post-treatment
        cells with the last period before ``g - anticipation``; ``"universal"``: every cell
        compares with that last period (whose own cell is 0 by construction).
    progress : bool
        Show a progress bar over the 2x2 designs (cohort x comparison group x covariate
        period), each of which estimates all the periods that share it.

    Returns
    -------
    GroupTime

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sfpc_eval.diff_in_diff.cohorts import validate_cohorts
    >>> df = pd.DataFrame({
    ...     "u": np.repeat([1, 2, 3, 4], 3), "t": np.tile([1, 2, 3], 4),
    ...     "y": [0.0, 1, 3, 0, 2, 3, 0, 1, 1, 1, 2, 2], "g": np.repeat([2, 2, np.nan, np.nan], 3),
    ... })
    >>> gt = group_time_effects(validate_cohorts(df, outcome="y", unit="u", time="t", cohort="g"))
    >>> gt.att.tolist()
    [0.5, 2.0]
    """
    data = panel.data
    n, n_t = panel.n_units, panel.n_periods
    periods = panel.periods
    y = data[panel.outcome].to_numpy(dtype=float).reshape(n, n_t)
    k = len(panel.covariates)
    if k:
        xs = data[list(panel.covariates)].to_numpy(dtype=float).reshape(n, n_t, k)
        time_invariant = bool(np.all(xs == xs[:, :1, :]))
    else:
        xs = np.zeros((n, 1, 0))
        time_invariant = True
    if panel.weights is not None:
        w_all = data[panel.weights].to_numpy(dtype=float).reshape(n, n_t)[:, 0]
    else:
        w_all = np.ones(n)
    cells, out = _cell_table(panel, base_period)
    # first pass: describe each cell and group the cells that share a 2x2 design
    batches: dict[tuple, list[int]] = {}
    samples: dict[tuple, tuple[np.ndarray, np.ndarray, int, str]] = {}
    tis = np.empty(len(cells), dtype=int)
    bis = np.empty(len(cells), dtype=int)
    for k_cell, (g, ti, bi) in enumerate(cells):
        out.group[k_cell], out.time[k_cell], out.base[k_cell] = g, periods[ti], periods[bi]
        tis[k_cell], bis[k_cell] = ti, bi
        treated_mask, control_mask, control_key = _cell_units(panel, g, ti, bi)
        out.n_treated[k_cell] = int(treated_mask.sum())
        out.n_control[k_cell] = int(control_mask.sum())
        if ti == bi:
            out.reference[k_cell] = True
            continue
        if out.n_control[k_cell] == 0:  # validate_cohorts prevents this; typed guard
            raise DesignError(f"No comparison units for cohort {g:g} in period {periods[ti]:g}.")
        xi = 0 if time_invariant else min(ti, bi)
        key = (g, xi, control_key)
        if key not in batches:
            index = np.flatnonzero(treated_mask | control_mask)
            where = f"cohort {g:g} in period {periods[ti]:g}"
            samples[key] = (index, treated_mask[index], xi, where)
            batches[key] = []
        batches[key].append(k_cell)
    # second pass: one design (logit, regression) per batch, all its periods at once
    for key in _progress(list(batches), progress):
        index, treated, xi, where = samples[key]
        x = np.hstack([np.ones((n, 1)), xs[:, xi, :]]) if k else np.ones((n, 1))
        design = _design(index, treated, x, w_all, estimation, where)
        members = np.array(batches[key])
        y_sample = y[index]
        dy = y_sample[:, tis[members]] - y_sample[:, bis[members]]
        est, inf = _two_by_two(dy, design, estimation)
        out.att[members] = est
        out.influence[np.ix_(index, members)] = inf * (n / len(index))
    bad = ~np.isfinite(out.att)
    if bad.any():  # e.g. non-finite outcomes slipped through; never return NaN
        shown = [f"({out.group[i]:g}, {out.time[i]:g})" for i in np.flatnonzero(bad)]
        raise DesignError(f"ATT(g, t) is not finite for cells {show_values(shown)}.")
    return out
