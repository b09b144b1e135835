"""ATT(g, t) on an unbalanced panel: the repeated cross-section 2x2 estimators.

When some units are missing in some periods (``allow_unbalanced=True``), each 2x2 comparison
uses every row observed in either of its two periods, as R ``did`` does
(``allow_unbalanced_panel = TRUE``): the rows are treated as repeated cross-sections and the
estimators are Sant'Anna & Zhao's (2020) cross-section versions (``DRDID::drdid_rc`` - the
locally efficient doubly robust estimator with separate outcome regressions for treated and
comparison units before and after -, ``std_ipw_did_rc`` and ``reg_did_rc``). Covariates are
each row's own. The row-level influence function, rescaled by ``n_units / n_rows`` of the
cell, is summed within unit, so that inference (clustered at the unit or coarser) and the
aggregations work exactly as for a balanced panel.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from sfpc_eval.diff_in_diff.cohorts import CohortPanel
from sfpc_eval.errors import DesignError
from sfpc_eval.staggered.callaway_gt import (
    OVERLAP_LIMIT,
    PS_CAP,
    TRIM_LEVEL,
    GroupTime,
    _cell_table,
    _cell_units,
    _check_weight_mass,
    _logit,
    _progress,
)

__all__ = ["group_time_effects_unbalanced"]

Estimation = Literal["dr", "ipw", "reg"]


def _wls(x: np.ndarray, y: np.ndarray, w: np.ndarray, mask: np.ndarray, what: str) -> tuple:
    """Fit weighted least squares on ``mask``; return fitted values and coefficient influence.

    The influence of the coefficients is ``x_i w_i e_i (X'WX/n)^-1`` (rows x p).
    """
    n = len(y)
    wm = w * mask
    xtx = (x * wm[:, None]).T @ x / n
    if not mask.any() or np.linalg.cond(xtx, 1) > 1 / np.finfo(float).eps:
        raise DesignError(
            f"The outcome regression for {what} is singular: too few rows, or covariates that "
            "are collinear or constant among them. Remove or combine covariates, or balance "
            "the panel."
        )
    inv = np.linalg.inv(xtx)
    beta = inv @ (x.T @ (wm * y)) / n
    fitted = x @ beta
    return fitted, (x * (wm * (y - fitted))[:, None]) @ inv


def _rc_two_by_two(
    y: np.ndarray,
    post: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    estimation: Estimation,
    where: str,
) -> tuple[float, np.ndarray]:
    """ATT and per-row influence function of one repeated cross-section 2x2 comparison."""
    n = len(y)
    _check_weight_mass(w, d, where)
    w = w / w.mean()
    for label, mask in (
        ("cohort, base period", (d == 1) & (post == 0)),
        ("cohort, later period", (d == 1) & (post == 1)),
        ("comparison units, base period", (d == 0) & (post == 0)),
        ("comparison units, later period", (d == 0) & (post == 1)),
    ):
        if not mask.any():
            raise DesignError(f"No rows for the {label} of {where}: the cell cannot be estimated.")
    if estimation == "reg":
        fit_pre, lin_pre = _wls(x, y, w, (d == 0) & (post == 0), f"{where} (before)")
        fit_post, lin_post = _wls(x, y, w, (d == 0) & (post == 1), f"{where} (after)")
        wt_pre, wt_post, wt = w * d * (1 - post), w * d * post, w * d
        eta_pre = np.mean(wt_pre * y) / wt_pre.mean()
        eta_post = np.mean(wt_post * y) / wt_post.mean()
        eta_cont = np.mean(wt * (fit_post - fit_pre)) / wt.mean()
        inf_pre = (wt_pre * y - wt_pre * eta_pre) / wt_pre.mean()
        inf_post = (wt_post * y - wt_post * eta_post) / wt_post.mean()
        moment = np.mean(wt[:, None] * x, axis=0)
        inf_cont = (
            wt * (fit_post - fit_pre) - wt * eta_cont + (lin_post - lin_pre) @ moment
        ) / wt.mean()
        return eta_post - eta_pre - eta_cont, inf_post - inf_pre - inf_cont

    prob = _logit(x, d, w, where)
    if prob.max() >= OVERLAP_LIMIT:
        raise DesignError(
            f"Overlap fails for {where}: a fitted propensity score is {prob.max():.4f} (limit "
            f"{OVERLAP_LIMIT}). Use fewer or coarser covariates, or estimation='reg'."
        )
    prob = np.minimum(prob, PS_CAP)
    keep = np.where(d == 1, True, prob < TRIM_LEVEL)
    info = (x * (w * prob * (1 - prob))[:, None]).T @ x
    lin_ps = (x * (w * (d - prob))[:, None]) @ (np.linalg.inv(info) * n)
    odds = keep * w * prob * (1 - d) / (1 - prob)
    w_tpre, w_tpost = keep * w * d * (1 - post), keep * w * d * post
    w_cpre, w_cpost = odds * (1 - post), odds * post

    def part(weight: np.ndarray, resid: np.ndarray) -> tuple[float, np.ndarray]:
        # normalised mean of `resid` under `weight`, and its influence (weights held fixed)
        mean_w = weight.mean()
        att = np.mean(weight * resid) / mean_w
        return att, (weight * resid - weight * att) / mean_w

    if estimation == "ipw":
        a_tpre, i_tpre = part(w_tpre, y)
        a_tpost, i_tpost = part(w_tpost, y)
        a_cpre, i_cpre = part(w_cpre, y)
        a_cpost, i_cpost = part(w_cpost, y)
        m2_pre = np.mean((w_cpre * (y - a_cpre))[:, None] * x, axis=0) / w_cpre.mean()
        m2_post = np.mean((w_cpost * (y - a_cpost))[:, None] * x, axis=0) / w_cpost.mean()
        inf_cont = i_cpost - i_cpre + lin_ps @ (m2_post - m2_pre)
        return (a_tpost - a_tpre) - (a_cpost - a_cpre), (i_tpost - i_tpre) - inf_cont

    # doubly robust (locally efficient, DRDID::drdid_rc)
    fc_pre, lc_pre = _wls(x, y, w, (d == 0) & (post == 0), f"{where} (comparison, before)")
    fc_post, lc_post = _wls(x, y, w, (d == 0) & (post == 1), f"{where} (comparison, after)")
    ft_pre, lt_pre = _wls(x, y, w, (d == 1) & (post == 0), f"{where} (cohort, before)")
    ft_post, lt_post = _wls(x, y, w, (d == 1) & (post == 1), f"{where} (cohort, after)")
    fc = post * fc_post + (1 - post) * fc_pre
    resid = y - fc
    w_d = keep * w * d
    a_tpre, i_tpre = part(w_tpre, resid)
    a_tpost, i_tpost = part(w_tpost, resid)
    a_cpre, i_cpre = part(w_cpre, resid)
    a_cpost, i_cpost = part(w_cpost, resid)
    a_dpost, i_dpost = part(w_d, ft_post - fc_post)
    a_dt1, i_dt1 = part(w_tpost, ft_post - fc_post)
    a_dpre, i_dpre = part(w_d, ft_pre - fc_pre)
    a_dt0, i_dt0 = part(w_tpre, ft_pre - fc_pre)
    att = (a_tpost - a_tpre) - (a_cpost - a_cpre) + (a_dpost - a_dt1) - (a_dpre - a_dt0)

    def moment(weight: np.ndarray, factor: np.ndarray) -> np.ndarray:
        return np.mean((weight * factor)[:, None] * x, axis=0) / weight.mean()

    # estimation effect of the comparison-unit regressions on the treated and comparison terms
    inf_treat_or = lc_post @ -moment(w_tpost, post) - lc_pre @ -moment(w_tpre, 1 - post)
    inf_cont_or = lc_post @ -moment(w_cpost, post) - lc_pre @ -moment(w_cpre, 1 - post)
    # estimation effect of the propensity score on the comparison terms
    m2_pre = moment(w_cpre, resid - a_cpre)
    m2_post = moment(w_cpost, resid - a_cpost)
    inf_cont_ps = lin_ps @ (m2_post - m2_pre)
    # efficiency terms and the estimation effect of all four regressions on them
    inf_eff = (i_dpost - i_dt1) - (i_dpre - i_dt0)
    mom_post = np.mean((w_d / w_d.mean() - w_tpost / w_tpost.mean())[:, None] * x, axis=0)
    mom_pre = np.mean((w_d / w_d.mean() - w_tpre / w_tpre.mean())[:, None] * x, axis=0)
    inf_or = (lt_post - lc_post) @ mom_post - (lt_pre - lc_pre) @ mom_pre
    inf_treat = i_tpost - i_tpre + inf_treat_or
    inf_cont = i_cpost - i_cpre + inf_cont_ps + inf_cont_or
    return att, inf_treat - inf_cont + inf_eff + inf_or


def group_time_effects_unbalanced(
    panel: CohortPanel,
    *,
    estimation: Estimation = "dr",
    base_period: Literal["varying", "universal"] = "varying",
    progress: bool = False,
) -> GroupTime:
    """ATT(g, t) and unit-level influence functions on an unbalanced panel.

    Parameters
    ----------
    panel : CohortPanel
        From :func:`~sfpc_eval.diff_in_diff.cohorts.validate_cohorts` with
        ``allow_unbalanced=True``.
    estimation : {"dr", "ipw", "reg"}
        The repeated cross-section 2x2 estimator.
    base_period : {"varying", "universal"}
        As for a balanced panel.
    progress : bool
        Show a progress bar over the cells.

    Returns
    -------
    GroupTime

    Raises
    ------
    DesignError
        A cell with no rows for the cohort or the comparison units in one of its periods, a
        singular regression, or failing overlap.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sfpc_eval.diff_in_diff.cohorts import validate_cohorts
    >>> df = pd.DataFrame({
    ...     "u": np.repeat([1, 2, 3, 4], 3), "t": np.tile([1, 2, 3], 4),
    ...     "y": [0.0, 1, 3, 0, 2, 3, 0, 1, 1, 1, 2, 2], "g": np.repeat([2, 2, np.nan, np.nan], 3),
    ... }).drop(index=[11])  # unit 4 is not observed in period 3
    >>> panel = validate_cohorts(df, outcome="y", unit="u", time="t", cohort="g",
    ...                          allow_unbalanced=True)
    >>> gt = group_time_effects_unbalanced(panel)
    >>> gt.att.round(6).tolist()  # in period 3: (3 - 0) - (1 - (0 + 1) / 2)
    [0.5, 2.5]
    """
    data = panel.data
    periods = panel.periods
    n = panel.n_units
    unit_code = np.searchsorted(panel.units, data[panel.unit].to_numpy())
    tidx = np.searchsorted(periods, data[panel.time].to_numpy(dtype=float))
    y = data[panel.outcome].to_numpy(dtype=float)
    ones = np.ones((len(data), 1))
    x_all = (
        np.hstack([ones, data[list(panel.covariates)].to_numpy(dtype=float)])
        if panel.covariates
        else ones
    )
    if panel.weights is not None:
        w_row = data[panel.weights].to_numpy(dtype=float)
    else:
        w_row = np.ones(len(data))
    cells, out = _cell_table(panel, base_period)
    for k, (g, ti, bi) in enumerate(_progress(cells, progress)):
        out.group[k], out.time[k], out.base[k] = g, periods[ti], periods[bi]
        treated_unit, control_unit, _ = _cell_units(panel, g, ti, bi)
        out.n_treated[k], out.n_control[k] = int(treated_unit.sum()), int(control_unit.sum())
        if ti == bi:
            out.reference[k] = True
            continue
        rows = np.flatnonzero(
            ((tidx == ti) | (tidx == bi)) & (treated_unit | control_unit)[unit_code]
        )
        where = f"cohort {g:g} in period {periods[ti]:g}"
        for who, unit_mask in (("cohort", treated_unit), ("comparison", control_unit)):
            for pi in (ti, bi):
                if not np.any(unit_mask[unit_code[rows]] & (tidx[rows] == pi)):
                    raise DesignError(
                        f"No {who} unit is observed in period {periods[pi]:g}, which the "
                        f"ATT of {where} needs (base period {periods[bi]:g}). With an "
                        "unbalanced panel every cohort and its comparison units must have rows "
                        "in both periods of each comparison: drop that cohort or period "
                        "explicitly, or fill the gap."
                    )
        est, inf = _rc_two_by_two(
            y[rows],
            (tidx[rows] == ti).astype(float),
            treated_unit[unit_code[rows]].astype(float),
            x_all[rows],
            w_row[rows],
            estimation,
            where,
        )
        out.att[k] = est
        out.influence[:, k] = np.bincount(
            unit_code[rows], weights=inf * (n / len(rows)), minlength=n
        )
    return out
