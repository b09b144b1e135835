"""Shared pieces of the regression event studies: a TWFE fit with extra dummy regressors.

:func:`fit_with_dummies` fits ``y ~ dummies + covariates | unit + time`` on a validated
:class:`~sfpc_eval.estimators.cohorts.CohortPanel` through the same cell, fit and variance
machinery as :func:`~sfpc_eval.did` (one cell per unit and period), and :func:`joint_wald`
tests several of its coefficients at once under any inference setting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.estimators.cellfit import CellFit, fit_cells
from sfpc_eval.estimators.cells import Cells, collapse, factorize_sorted
from sfpc_eval.estimators.twfe import (
    MAX_DUMMY_LEVELS,
    _absorbed_fit,
    _analytic,
    _check_rank,
    _design,
)
from sfpc_eval.inference.cluster import (
    Classical,
    ClusterRobust,
    HeteroskedasticityRobust,
    VarianceResult,
    variance,
)
from sfpc_eval.inference.randomization import Randomization
from sfpc_eval.inference.wild import WildClusterBootstrap, draw_weights

__all__ = ["EsFit", "JointTest", "fit_with_dummies", "joint_wald", "sup_t_critical"]


@dataclass(frozen=True, eq=False)
class EsFit:
    """A fitted event-study regression: the fit, its cells and the variance."""

    fit: CellFit
    cells: Cells
    var: VarianceResult
    regressors: tuple[str, ...]


def fit_with_dummies(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    regressors: Sequence[str],
    weights: str | None,
    inference,
    absorb: bool | None = None,
) -> EsFit:
    """Fit ``outcome ~ regressors | unit + time`` on one row per unit and period.

    ``frame`` holds numeric ``regressors`` (dummies and covariates); the cluster column is the
    inference object's ``cluster`` (default ``unit``).
    """
    cluster = getattr(inference, "cluster", None) or unit
    if cluster not in frame.columns:
        raise InvalidValueError(
            f"the inference object's cluster column {cluster!r} is not in the data; the "
            f"columns are {', '.join(map(str, frame.columns))}."
        )
    if frame[cluster].isna().any():
        rows = list(frame.index[frame[cluster].isna().to_numpy()])
        raise InvalidValueError(
            f"cluster column {cluster!r} is missing in {len(rows)} row(s); fill it or cluster "
            "by another column."
        )
    by = list(dict.fromkeys([cluster, unit, time, *regressors, *([weights] if weights else [])]))
    factors = {c: factorize_sorted(frame[c]) for c in dict.fromkeys([cluster, unit, time])}
    if len(factors[cluster][1]) < 2:
        raise DesignError(
            f"`cluster` column {cluster!r} has one cluster; cluster-robust inference needs at "
            "least 2."
        )
    cells = collapse(frame, outcome=outcome, by=by, weights=weights, factors=factors)
    sums = {c: cells.sums[c].to_numpy(dtype=np.float64) for c in cells.sums.columns}
    n_levels = len(factors[unit][1]) + len(factors[time][1])
    if absorb is None:
        absorb = n_levels > MAX_DUMMY_LEVELS
    if absorb:
        fit = _absorbed_fit(cells, sums, regressors, unit, time, cells.codes[cluster], "gaussian")
    else:
        z, names = _design(cells.keys, regressors, unit, time)
        _check_rank(z, sums["sum_w"], names, len(regressors))
        fit = fit_cells(
            z,
            names,
            sums,
            cells.codes[cluster],
            family="gaussian",
            n_obs=cells.n_rows,
            weighted=weights is not None,
        )
    var = variance(fit, _analytic(inference), df_for=[fit.index(r) for r in regressors])
    return EsFit(fit=fit, cells=cells, var=var, regressors=tuple(regressors))


@dataclass(frozen=True)
class JointTest:
    """A joint test that several coefficients are zero.

    Attributes
    ----------
    statistic : float
        ``F = W / q`` for F references, the Wald statistic ``W`` for chi-square and bootstrap.
    df1, df2 : float
        Numerator and denominator degrees of freedom (``df2`` NaN for chi-square/bootstrap).
    p_value : float
        p-value.
    method : str
        The reference distribution, in words.
    terms : tuple of str
        Coefficients tested.
    """

    statistic: float
    df1: float
    df2: float
    p_value: float
    method: str
    terms: tuple[str, ...]


def joint_wald(
    es: EsFit, contrasts: np.ndarray, labels: Sequence[str], inference
) -> JointTest | None:
    """Test ``R beta = 0`` jointly, ``R`` = ``contrasts`` (q x k; rows for the tested terms).

    - ``ClusterRobust``: ``F = W / q`` against ``F(q, G - 1)`` (as Stata's ``test`` after
      clustered regression), with the requested CR variance in ``W``.
    - ``Classical`` / ``HeteroskedasticityRobust``: ``F(q, n - k)``.
    - ``WildClusterBootstrap``: restricted wild cluster bootstrap of the CR1 Wald statistic
      (the null imposed by restricted least squares).
    """
    if len(contrasts) == 0:
        return None
    fit = es.fit
    r = np.atleast_2d(contrasts)
    q = r.shape[0]
    if isinstance(inference, Randomization):
        raise InvalidValueError(
            "a joint pre-trend test under Randomization() is not available: permuting adoption "
            "dates moves the leads themselves. Use ClusterRobust(...) or "
            "WildClusterBootstrap(...) for the pre-trend test."
        )
    if isinstance(inference, WildClusterBootstrap):
        return _wild_wald(es, r, inference, tuple(labels))
    rb = r @ fit.beta
    v = r @ es.var.vcov @ r.T
    w = float(rb @ np.linalg.solve(v, rb))
    if isinstance(inference, ClusterRobust):
        df2 = float(fit.n_clusters - 1)
        how = f"F({q}, G - 1 = {df2:g}) with {inference.kind} variance"
    elif isinstance(inference, Classical | HeteroskedasticityRobust):
        df2 = float(fit.n_obs - fit.k_total)
        kind = "classical" if isinstance(inference, Classical) else inference.kind
        how = f"F({q}, n - k = {df2:g}) with {kind} variance"
    else:  # pragma: no cover - _analytic has already refused other objects
        raise InvalidValueError(f"unsupported inference {inference!r}.")
    f = w / q
    return JointTest(f, float(q), df2, float(stats.f.sf(f, q, df2)), how, tuple(labels))


def _wild_wald(es: EsFit, r: np.ndarray, spec: WildClusterBootstrap, labels) -> JointTest:
    """Restricted wild cluster bootstrap of the CR1 Wald statistic for ``R beta = 0``."""
    fit = es.fit
    if fit.absorbed:
        raise DesignError(
            "the wild bootstrap pre-trend test works with dummy-column fixed effects; pass "
            "absorb=False or use ClusterRobust(kind='CR1')."
        )
    w = fit.d  # gaussian: total weight per cell (one row per cell in a panel)
    y = fit.sums["sum_wy"] / w
    m = fit.bread
    # restricted least squares: beta_r = beta - M R' (R M R')^{-1} R beta
    beta_r = fit.beta - m @ r.T @ np.linalg.solve(r @ m @ r.T, r @ fit.beta)
    eta_r = fit.z @ beta_r
    e_r = y - eta_r
    n_clusters = fit.n_clusters
    cluster = fit.cluster
    indicator = np.zeros((n_clusters, len(w)))
    indicator[cluster, np.arange(len(w))] = 1.0
    p = r @ m @ (fit.z.T * w)  # q x cells: R M Z' W
    q = r.shape[0]

    def wald(ystar: np.ndarray) -> np.ndarray:
        rb = p @ ystar  # q x B
        resid = ystar - fit.z @ (m @ (fit.z.T @ (w[:, None] * ystar)))
        scores = np.stack([indicator @ (p[i][:, None] * resid) for i in range(q)])
        cov = np.einsum("igb,jgb->bij", scores, scores)
        return np.einsum("ib,bij,jb->b", rb, np.linalg.inv(cov), rb)

    # CR1 factor, so the reported statistic is the CR1 Wald statistic (it cancels in p)
    factor = n_clusters / (n_clusters - 1) * (fit.n_obs - 1) / (fit.n_obs - fit.k_total)
    observed = float(wald(y[:, None])[0]) / factor
    v, enumerated = draw_weights(spec, n_clusters)
    chunks = []
    for start in range(0, len(v), 500):
        chunk = v[start : start + 500]
        chunks.append(wald(eta_r[:, None] + e_r[:, None] * chunk[:, cluster].T))
    star = np.concatenate(chunks) / factor
    p_value = float(np.mean(star >= observed * (1 - 1e-12)))
    how = "all sign vectors" if enumerated else f"{len(v):,} draws"
    return JointTest(
        observed,
        float(q),
        math.nan,
        p_value,
        f"wild cluster bootstrap of the CR1 Wald statistic ({how}, null imposed)",
        labels,
    )


def sup_t_critical(
    vcov: np.ndarray, level: float, draws: int, rng: int | None, df: float = math.inf
) -> float:
    """Critical value of ``max_j |T_j|`` by simulation (seeded).

    ``T = Z / sd`` with ``Z ~ N(0, vcov)``; with finite ``df`` each draw is divided by
    ``sqrt(chi2_df / df)`` (a multivariate t), matching t-based pointwise intervals.
    """
    sd = np.sqrt(np.diag(vcov))
    corr = vcov / np.outer(sd, sd)
    values, vectors = np.linalg.eigh(corr)
    root = vectors * np.sqrt(np.clip(values, 0, None))
    gen = np.random.default_rng(rng)
    z = gen.standard_normal((draws, len(sd))) @ root.T
    if math.isfinite(df):
        z = z / np.sqrt(gen.chisquare(df, size=(draws, 1)) / df)
    return float(np.quantile(np.max(np.abs(z), axis=1), level))
