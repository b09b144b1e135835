"""Shared pieces of the regression event studies: a TWFE fit with extra dummy regressors.

:func:`fit_with_dummies` fits ``y ~ dummies + covariates | unit + time`` on a validated
:class:`~sfpc_eval.diff_in_diff.cohorts.CohortPanel` through the same cell, fit and variance
machinery as :func:`~sfpc_eval.did` (one cell per unit and period), and :func:`joint_wald`
tests several of its coefficients at once under any inference setting.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, stats

from sfpc_eval.cells.collapse import Cells, collapse, factorize_sorted
from sfpc_eval.cells.fit import CellFit
from sfpc_eval.diff_in_diff.twfe import fit_on_cells
from sfpc_eval.diff_in_diff.twfe_result import analytic_variance
from sfpc_eval.errors import DesignError, InvalidValueError, UndefinedIntervalWarning
from sfpc_eval.inference.cluster import (
    Classical,
    ClusterRobust,
    HeteroskedasticityRobust,
    VarianceResult,
    variance,
)
from sfpc_eval.inference.randomization import (
    Randomization,
    _enumerate,
    _progress,
    count_assignments,
)
from sfpc_eval.inference.wild import WildClusterBootstrap, draw_weights

__all__ = [
    "EsFit",
    "JointTest",
    "PermutedEventStudy",
    "fit_with_dummies",
    "joint_wald",
    "permute_cohorts",
    "sup_t_critical",
]


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
    fit = fit_on_cells(
        cells, factors, regressors, unit, time, cluster, "gaussian", absorb, weights is not None
    )
    _refuse_saturated(fit)
    var = variance(fit, analytic_variance(inference), df_for=[fit.index(r) for r in regressors])
    return EsFit(fit=fit, cells=cells, var=var, regressors=tuple(regressors))


def _refuse_saturated(fit: CellFit) -> None:
    """Raise if the event-study regression leaves no residual to estimate a variance from.

    With one unit per cohort (the SFPC councils each starting in their own year) every
    cohort x event-time coefficient is fitted from one unit's single observation, so the
    interaction model is saturated: the residuals are all zero and every variance 0 / 0.
    """
    k_total = len(fit.beta) + fit.absorbed
    if fit.n_obs > k_total:
        return
    raise DesignError(
        f"the event-study regression is saturated: {k_total} coefficients for {fit.n_obs} "
        "observations, so no residual is left to estimate a variance. This happens when each "
        "cohort has a single unit (each council starting in its own year): every cohort x "
        "event-time effect then rests on one observation. Pool cohorts (a common event-time "
        "profile: event_study()), shorten the window of event times, or use imputation() or "
        "callaway_santanna(), which estimate the comparison from untreated observations."
    )


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
    g = fit.n_clusters
    if isinstance(inference, WildClusterBootstrap | ClusterRobust) and q > g - 1:
        reason = f"a joint test of {q} terms needs at least {q + 1} clusters (there are {g})"
        return _untestable(q, tuple(labels), reason)
    if isinstance(inference, WildClusterBootstrap):
        try:
            return _wild_wald(es, r, inference, tuple(labels))
        except np.linalg.LinAlgError:  # a draw whose cluster scores span fewer than q directions
            reason = (
                f"in some bootstrap draws the {g} clusters' scores span fewer than the {q} "
                "directions a joint test of the leads needs"
            )
            return _untestable(q, tuple(labels), reason)
    rb = r @ fit.beta
    v = r @ es.var.vcov @ r.T
    if np.linalg.matrix_rank(v, tol=1e-12 * max(float(np.max(np.abs(v), initial=0.0)), 1e-300)) < q:
        reason = (
            f"the variance of the {q} leads is singular (rank below {q}): the outcome does not "
            "vary around the fitted model, or the leads are estimated from too few clusters"
        )
        return _untestable(q, tuple(labels), reason)
    w = float(rb @ np.linalg.solve(v, rb))
    if isinstance(inference, ClusterRobust):
        df2 = float(fit.n_clusters - 1)
        how = f"F({q}, G - 1 = {df2:g}) with {inference.kind} variance"
    elif isinstance(inference, Classical | HeteroskedasticityRobust):
        df2 = float(fit.n_obs - fit.k_total)
        kind = "classical" if isinstance(inference, Classical) else inference.kind
        how = f"F({q}, n - k = {df2:g}) with {kind} variance"
    else:  # pragma: no cover - analytic_variance has already refused other objects
        raise InvalidValueError(f"unsupported inference {inference!r}.")
    f = w / q
    return JointTest(f, float(q), df2, float(stats.f.sf(f, q, df2)), how, tuple(labels))


def _untestable(q: int, labels: tuple[str, ...], reason: str) -> JointTest:
    """Return a joint test marked as not computable, with the reason, and warn.

    The cluster-robust covariance of ``q`` terms from G clusters has rank at most G - 1, so with
    q > G - 1 it cannot be inverted; a bootstrap draw can lose a further direction.
    """
    method = f"not testable: {reason}; test fewer leads"
    warnings.warn(
        f"joint test of {', '.join(labels)}: {method}.", UndefinedIntervalWarning, stacklevel=4
    )
    return JointTest(math.nan, float(q), math.nan, math.nan, method, labels)


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


@dataclass(frozen=True)
class PermutedEventStudy:
    """Randomization inference for an event study (see :func:`permute_cohorts`).

    Attributes
    ----------
    wald : float
        Observed CR1 Wald statistic of the leads (NaN without leads).
    wald_p : float
        Share of assignments (the observed one included) whose statistic is at least ``wald``.
    term_p : ndarray
        Per event-time term, the share whose ``|t|`` (CR1) is at least the observed ``|t|``.
    draws : int
        Assignments used (every distinct one when ``enumerated``, else the random draws).
    enumerated : bool
        Whether every distinct assignment was used (an exact test).
    """

    wald: float
    wald_p: float
    term_p: np.ndarray
    draws: int
    enumerated: bool

    @property
    def how(self) -> str:
        """The reference set, in words."""
        return f"all {self.draws:,} assignments" if self.enumerated else f"{self.draws:,} draws"


def permute_cohorts(
    es: EsFit,
    spec: Randomization,
    *,
    unit_codes: np.ndarray,
    t_pos: np.ndarray,
    cohort_pos: np.ndarray,
    dummies,
    n_terms: int,
    leads: Sequence[int],
) -> PermutedEventStudy:
    """Randomization-t inference: reassign adoption cohorts across units and refit.

    Every distinct assignment of the observed cohort multiset (never treated, ``inf``, is a
    cohort of its own) to the units when there are at most ``spec.max_enumeration``, otherwise
    the observed one plus ``spec.n_resamples`` seeded permutations, as
    :class:`~sfpc_eval.inference.randomization.Randomization` does for :func:`~sfpc_eval.did`.
    For each assignment the event-time (and unbinned outside-window) dummies are rebuilt by
    ``dummies(event_time_per_cell)`` and refitted by Frisch-Waugh-Lovell against the fixed
    columns (fixed effects, covariates), which do not move; the statistics are the CR1 Wald
    statistic of the ``leads`` (positions among the dummies) and the CR1 ``t`` of each of the
    first ``n_terms`` dummies.

    Parameters
    ----------
    unit_codes, t_pos : ndarray
        Unit code (0..U-1) and period position of each cell.
    cohort_pos : ndarray
        Adoption period position of each unit (``inf`` for never treated).
    """
    fit = es.fit
    if fit.absorbed:
        raise DesignError(
            "randomization inference for the event study needs dummy-column fixed effects; "
            "pass absorb=False or use ClusterRobust(kind='CR1')."
        )
    moved = {fit.index(r) for r in es.regressors if r.startswith(("__event_", "__outside_"))}
    keep = [i for i in range(fit.k) if i not in moved]
    root = np.sqrt(fit.sums["sum_w"])
    q_fixed, _ = linalg.qr(root[:, None] * fit.z[:, keep], mode="economic")
    y = fit.sums["sum_wy"] / root
    y_r = y - q_fixed @ (q_fixed.T @ y)
    order = np.argsort(fit.cluster, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(fit.cluster[order]) != 0])
    g, n = fit.n_clusters, fit.n_obs
    factor = g / (g - 1) * (n - 1) / (n - fit.k_total)
    leads = list(leads)

    total = count_assignments(cohort_pos)
    if total <= spec.max_enumeration:
        assignments = np.array(list(_enumerate(cohort_pos)))
        enumerated = True
        observed_row = int(np.flatnonzero(np.all(assignments == cohort_pos, axis=1))[0])
    else:
        gen = np.random.default_rng(spec.rng)
        draws = [gen.permutation(cohort_pos) for _ in range(spec.n_resamples)]
        assignments = np.vstack([cohort_pos, *draws])
        enumerated = False
        observed_row = 0
    wald = np.full(len(assignments), np.nan)
    t_stats = np.empty((len(assignments), n_terms))
    for i, a in enumerate(_progress(assignments, spec)):
        with np.errstate(invalid="ignore"):
            e = t_pos - a[unit_codes]  # -inf for never-treated units
        d = dummies(np.where(np.isfinite(e), e, np.nan)) * root[:, None]
        d_r = d - q_fixed @ (q_fixed.T @ d)
        try:
            chol = linalg.cho_factor(d_r.T @ d_r)
            a_inv = linalg.cho_solve(chol, np.eye(d.shape[1]))
        except linalg.LinAlgError:
            raise DesignError(
                "randomization inference: an assignment of the adoption cohorts makes the "
                "event-time dummies collinear with the fixed effects or covariates (common with "
                "unbalanced panels or few units per cohort); use ClusterRobust(...) or "
                "WildClusterBootstrap(...) instead."
            ) from None
        beta = a_inv @ (d_r.T @ y_r)
        u = y_r - d_r @ beta
        scores = np.add.reduceat((d_r * u[:, None])[order], starts, axis=0)
        half = a_inv @ scores.T
        vcov = half @ half.T * factor
        t_stats[i] = beta[:n_terms] / np.sqrt(np.diag(vcov)[:n_terms])
        if leads:
            b = beta[leads]
            lead_vcov = vcov[np.ix_(leads, leads)]
            try:
                wald[i] = b @ np.linalg.solve(lead_vcov, b)
            except np.linalg.LinAlgError:
                # this assignment's leads are collinear in the variance (a cohort whose leads
                # rest on one cluster): the generalised (Moore-Penrose) Wald statistic
                wald[i] = b @ np.linalg.pinv(lead_vcov) @ b
    tol = 1 - 1e-12
    observed_t = np.abs(t_stats[observed_row])
    term_p = np.mean(np.abs(t_stats) >= observed_t * tol, axis=0)
    observed_wald = float(wald[observed_row])
    wald_p = float(np.mean(wald >= observed_wald * tol)) if leads else math.nan
    used = len(assignments) if enumerated else spec.n_resamples
    return PermutedEventStudy(observed_wald, wald_p, term_p, used, enumerated)


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
