"""Regression difference-in-differences with unit and time fixed effects, fitted on cells."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sfpc_eval._blas import limited_blas
from sfpc_eval._validate import check_conf_level
from sfpc_eval.cells.absorb import demean
from sfpc_eval.cells.categorical import with_indicators
from sfpc_eval.cells.collapse import Cells, as_float, collapse, factorize_sorted
from sfpc_eval.cells.fit import CellFit, fit_cells
from sfpc_eval.diff_in_diff.twfe_checks import (
    MAX_DUMMY_LEVELS,
    check_did_design,
    check_did_inputs,
    check_did_separation,
    check_rank,
    design_matrix,
    did_columns,
    warn_single_treated_cluster,
)
from sfpc_eval.diff_in_diff.twfe_result import (
    DidResult,
    Family,
    Inference,
    analytic_variance,
    did_terms,
    mark_validity,
    resample_test,
)
from sfpc_eval.errors import (
    DesignError,
    InvalidValueError,
)
from sfpc_eval.inference.cluster import (
    ClusterRobust,
    variance,
)

__all__ = ["did", "fit_on_cells"]


def fit_on_cells(
    cells: Cells,
    factors: dict[str, tuple[np.ndarray, np.ndarray]],
    regressors: Sequence[str],
    unit: str,
    time: str,
    cluster: str,
    family: str,
    absorb: bool | None,
    weighted: bool,
) -> CellFit:
    """Fit ``outcome ~ regressors`` with unit and time effects on collapsed cells.

    The effects are absorbed by demeaning when ``absorb`` is true (or, when it is ``None``,
    when there are more than :data:`MAX_DUMMY_LEVELS` unit and time levels), otherwise they
    enter as dummy columns after a rank check that names collinear regressors.
    """
    sums = {c: as_float(cells.sums[c].to_numpy()) for c in cells.sums.columns}
    if absorb is None:
        absorb = len(factors[unit][1]) + len(factors[time][1]) > MAX_DUMMY_LEVELS
    if absorb:
        return _absorbed_fit(
            cells, sums, factors, regressors, unit, time, cluster, family, weighted
        )
    z, names = design_matrix(cells.keys, regressors, unit, time)
    check_rank(z, sums["sum_w"], names, len(regressors))
    return fit_cells(
        z,
        names,
        sums,
        cells.codes[cluster],
        family=family,
        n_obs=cells.n_rows,
        weighted=weighted,
    )


def _absorbed_fit(
    cells: Cells,
    sums: dict[str, np.ndarray],
    factors: dict[str, tuple[np.ndarray, np.ndarray]],
    regressors: Sequence[str],
    unit: str,
    time: str,
    cluster: str,
    family: str,
    weighted: bool,
) -> CellFit:
    """Gaussian fit with unit and time effects absorbed (Frisch-Waugh-Lovell on cells)."""
    if family != "gaussian":
        raise DesignError(
            f"absorbing fixed effects by demeaning is exact for linear models only; with "
            f"family={family!r} pass absorb=False (dummy columns), which needs fewer than about "
            f"{MAX_DUMMY_LEVELS:,} units and periods."
        )
    weight = sums["sum_w"]
    groups = [cells.codes[c] for c in (unit, time)]
    levels = [len(factors[c][1]) for c in (unit, time)]
    single_rows = cells.n_rows == len(cells)  # every cell one row: its mean is its sum
    weights_are_one = single_rows and not weighted  # then sum_w is 1 in every cell
    y_bar = sums["sum_wy"] if single_rows and weights_are_one else sums["sum_wy"] / weight
    columns = np.empty((len(y_bar), 1 + len(regressors)), order="F")  # columns contiguous
    columns[:, 0] = y_bar
    for j, regressor in enumerate(regressors, start=1):  # each straight into its column
        columns[:, j] = cells.keys[regressor].to_numpy()
    grid_order = weights_are_one and cells.grid == (unit, time)
    demeaned = demean(columns, weight, groups, overwrite=True, levels=levels, grid_order=grid_order)
    y_tilde, x_tilde = demeaned[:, 0], demeaned[:, 1:]
    names = tuple(regressors)
    weighted_x = x_tilde if weights_are_one else weight[:, None] * x_tilde
    info = x_tilde.T @ weighted_x
    check_rank(x_tilde, weight, names, len(names), fixed_effects=False, gram=info)
    bread = np.linalg.inv(info)
    beta = bread @ (weighted_x.T @ y_tilde)
    eta = beta[0] * x_tilde[:, 0]  # the fitted part from the regressors, for now (a
    for j in range(1, len(beta)):  # matrix-vector product is slower for k this small)
        eta += beta[j] * x_tilde[:, j]
    resid = np.subtract(y_tilde, eta, out=y_tilde)  # y_tilde is ours (demeaned in place)
    r = resid if weights_are_one else weight * resid
    eta = np.subtract(y_bar, resid, out=eta)  # the full linear predictor, fixed effects too
    absorbed = sum(levels) - 1
    k_total = len(beta) + absorbed
    if single_rows:  # no spread within cells: the residual sum of squares is sum(w * resid^2)
        rss = float(r @ resid)
    else:
        rss = float(np.sum(sums["sum_wy2"] - 2 * eta * sums["sum_wy"] + eta**2 * weight))
    return CellFit(
        family=family,
        names=names,
        z=x_tilde,
        beta=beta,
        d=weight,
        r=r,
        cluster=cells.codes[cluster],
        bread=bread,
        n_obs=cells.n_rows,
        scale=rss / (cells.n_rows - k_total),
        iterations=1,
        sums=sums,
        eta=eta,
        absorbed=absorbed,
        cluster_run=levels[1] if cells.grid == (unit, time) and cluster == unit else 0,
    )


@limited_blas
def did(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    covariates: Sequence[str] = (),
    weights: str | None = None,
    exposure: str | None = None,
    family: Family = "gaussian",
    inference: Inference | None = None,
    allow_switching_off: bool = False,
    conf_level: float = 0.95,
    collapse_rows: bool = True,
    absorb: bool | None = None,
    covariate_reference: Mapping[str, object] | None = None,
) -> DidResult:
    """Difference-in-differences by two-way fixed-effects regression.

    Fits ``g(E[y]) = treated * b + covariates * c + unit effect + time effect`` on rows collapsed
    to cells (identical estimates and variances, far less work), with cluster-robust inference
    by default (CR2 with Satterthwaite degrees of freedom, clustered by ``unit``), which is what
    a handful of treated councils needs.

    Parameters
    ----------
    data : pandas.DataFrame, DuckDB relation, Parquet/CSV path or PySpark DataFrame
        LA-year rows or child-level rows (several per unit and period). Not modified. Rows
        held by DuckDB or Spark (or :func:`sfpc_eval.engines.source`) are collapsed into cells
        where they live, with the same checks and the same numbers.
    outcome : str
        Outcome column: a rate or mean (gaussian), a count (poisson) or 0/1 (binomial).
    unit, time : str
        Columns for the unit (e.g. LA) and period fixed effects.
    treated : str
        0/1 column: 1 where the unit is under the programme in that period.
    covariates : sequence of str, default ()
        Covariates that vary within units: numeric columns as they are; text, ``category`` and
        boolean columns as indicators of each level but the reference
        (:func:`sfpc_eval.cells.categorical.expand_covariates`).
    weights : str, optional
        Analytic or frequency weights (e.g. child population).
    exposure : str, optional
        Poisson only: exposure (e.g. population); ``log(exposure)`` is the offset.
    family : {"gaussian", "poisson", "binomial"}, default "gaussian"
        ``poisson``: quasi-likelihood for counts and rates, effect also as ``exp(b) - 1``.
        ``binomial``: logit, effect also as an odds ratio and an average marginal effect.
    inference : Classical, ClusterRobust, WildClusterBootstrap or Randomization, optional
        Default ``ClusterRobust(unit, kind="CR2")`` (Satterthwaite df). With
        ``WildClusterBootstrap`` (linear models) or ``Randomization`` (permuting adoption dates
        across units; clusters must be units) the treatment term's p-value and interval come
        from that test, and the standard error shown is CR1 or CR2 respectively. With very few
        councils, ``WildClusterBootstrap(bootcluster=(unit, time))`` (one weight per
        council-period) and ``Randomization(ties="randomized")`` keep their nominal level
        where the per-council bootstrap and the conservative permutation p-value do not.
    allow_switching_off : bool, default False
        Allow units whose treatment goes from 1 back to 0.
    conf_level : float, default 0.95
        Confidence level.
    collapse_rows : bool, default True
        Fit on cells of identical rows (exact, and much faster). ``False`` fits row by row,
        which gives the same numbers; it exists to show that.
    absorb : bool, optional
        Absorb the unit and time effects by demeaning instead of dummy columns (Gaussian only;
        CR0/CR1, HC and classical variances, which are exact under demeaning). Default: absorb
        when there are more than 1,000 unit and period levels.
    covariate_reference : mapping, optional
        Reference level of categorical covariates (default: the first level).

    Returns
    -------
    DidResult

    Raises
    ------
    MissingColumnError, InvalidValueError, DesignError
        See the message: it names the column, the offending rows or units, and the fix.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import sfpc_eval as se
    >>> rng = np.random.default_rng(1)
    >>> panel = pd.DataFrame(
    ...     [(la, year) for la in range(8) for year in range(2012, 2020)], columns=["la", "year"]
    ... )
    >>> panel["treated"] = ((panel["la"] < 3) & (panel["year"] >= 2016)).astype(int)
    >>> panel["rate"] = 60 + panel["la"] - 5 * panel["treated"] + rng.normal(0, 1, len(panel))
    >>> res = se.did(panel, outcome="rate", unit="la", time="year", treated="treated")
    >>> round(res.estimate.estimate)
    -5
    """
    level = check_conf_level(conf_level)
    inference = ClusterRobust(unit) if inference is None else inference
    cluster = getattr(inference, "cluster", None) or unit
    if exposure is not None and family != "poisson":
        raise InvalidValueError(
            f"`exposure` is for family='poisson' (an offset); got family={family!r}."
        )
    covariates = tuple(covariates)
    if isinstance(data, pd.DataFrame) and covariates:
        # text, category and boolean covariates become indicators (reference level first)
        data, covariates, _ = with_indicators(data, covariates, reference=covariate_reference)
    columns = dict(
        outcome=outcome,
        unit=unit,
        time=time,
        treated=treated,
        covariates=covariates,
        weights=weights,
        exposure=exposure,
        cluster=cluster,
        family=family,
    )
    remote = None
    if not isinstance(data, pd.DataFrame):
        # DuckDB relation, Parquet/CSV path or Spark DataFrame: collapse where the rows live
        from sfpc_eval.engines import did_input

        roles, keys = did_columns(
            outcome, unit, time, treated, covariates, weights, exposure, cluster
        )
        data, remote = did_input(
            data,
            roles=roles,
            keys=keys,
            unit=unit,
            time=time,
            weights=weights,
            exposure=exposure,
            family=family,
            collapse_rows=collapse_rows,
        )
    if remote is None:
        clean = check_did_inputs(data, **columns, allow_switching_off=allow_switching_off)
    else:
        clean = data  # the probe: each cell's keys with its smallest and largest outcome
    _, by = did_columns(outcome, unit, time, treated, covariates, weights, exposure, cluster)
    if not collapse_rows:
        clean["__row__"] = np.arange(len(clean))
        by.append("__row__")
    factors = {c: factorize_sorted(clean[c]) for c in dict.fromkeys([cluster, unit, time])}
    grid = check_did_design(
        clean, factors, outcome, unit, time, treated, cluster, allow_switching_off
    )
    n_treated = warn_single_treated_cluster(
        clean,
        factors,
        cluster,
        treated,
        inference,
        rows_per_cluster=len(factors[time][1]) if grid and cluster == unit else 0,
    )
    if remote is None:
        remote = collapse(
            clean,
            outcome=outcome,
            by=by,
            weights=weights,
            exposure=exposure,
            factors=factors,
            determined=[treated] if treated not in (unit, time, cluster) else [],
            grid_order=grid if by[:2] == [unit, time] else None,
        )
    cells = remote
    regressors = [treated, *covariates]
    check_did_separation(cells, unit, time, treated, family)
    fit = fit_on_cells(
        cells, factors, regressors, unit, time, cluster, family, absorb, weights is not None
    )
    var = variance(fit, analytic_variance(inference), df_for=[fit.index(r) for r in regressors])
    resampled = resample_test(fit, cells, inference, unit, time, treated, level)
    terms = did_terms(fit, cells, var, regressors, treated, level, resampled)
    terms = mark_validity(terms, inference, fit.n_clusters, n_treated)
    return DidResult(
        family=family,
        outcome=outcome,
        unit=unit,
        time=time,
        treated=treated,
        covariates=covariates,
        inference=inference,
        conf_level=level,
        n_obs=cells.n_rows,
        n_cells=len(cells),
        n_units=len(factors[unit][1]),
        n_periods=len(factors[time][1]),
        n_clusters=fit.n_clusters,
        terms=terms,
        _fit=fit,
        _cells=cells,
        _var=var,
        n_treated_clusters=n_treated,
    )
