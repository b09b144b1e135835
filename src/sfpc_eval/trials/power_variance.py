"""Variance of the treatment effect in a stepped-wedge design: closed forms and GLS by cluster.

See :mod:`sfpc_eval.trials.power` for the model. :func:`treatment_variance` chooses among
:func:`hussey_hughes_variance`, :func:`hooper_variance` and the cluster-by-cluster
:func:`gls_variance`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from scipy import linalg

from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.trials.design import SteppedWedgeDesign

__all__ = [
    "Decay",
    "cluster_weights",
    "gls_variance",
    "hooper_variance",
    "hussey_hughes_variance",
    "treatment_variance",
]

Decay = Literal["block", "exponential"]


# ---------------------------------------------------------------------------- variance
def hussey_hughes_variance(exposure: np.ndarray, *, sigma2: float, tau2: float) -> float:
    r"""Hussey & Hughes' (2007, eq. 8) closed-form variance of the treatment effect.

    For a complete design (no missing cell) with the same variance of every cluster-period
    mean, :math:`\sigma^2 = \sigma_e^2/m`, and one random intercept per cluster:

    .. math::

        \operatorname{Var}(\hat\theta) = \frac{I\sigma^2(\sigma^2 + T\tau^2)}
        {(IU - W)\sigma^2 + (U^2 + ITU - TW - IV)\tau^2}

    with :math:`U = \sum_{it} X_{it}`, :math:`W = \sum_t (\sum_i X_{it})^2` and
    :math:`V = \sum_i (\sum_t X_{it})^2`.

    Parameters
    ----------
    exposure : 2-D array
        Clusters x periods exposure, no NaN.
    sigma2 : float
        Variance of a cluster-period mean about its cluster's level (:math:`\sigma_e^2/m`).
    tau2 : float
        Between-cluster variance.

    Returns
    -------
    float

    Examples
    --------
    >>> x = np.array([[0, 1, 1], [0, 0, 1], [0, 1, 1], [0, 0, 1]], dtype=float)
    >>> round(hussey_hughes_variance(x, sigma2=1.0, tau2=0.0), 6)
    1.0
    """
    x = np.asarray(exposure, dtype=float)
    i, t = x.shape
    u = x.sum()
    w = np.sum(x.sum(axis=0) ** 2)
    v = np.sum(x.sum(axis=1) ** 2)
    num = i * sigma2 * (sigma2 + t * tau2)
    den = (i * u - w) * sigma2 + (u**2 + i * t * u - t * w - i * v) * tau2
    return float(num / den)


def cluster_weights(
    d: np.ndarray, tau2: float, cac: float, decay: Decay, times: np.ndarray
) -> np.ndarray:
    """Inverse covariance of one cluster's observed cluster-period means (closed forms).

    ``d`` holds the residual variances sigma_e^2 / m of the observed cells, ``times`` their
    period indices.
    """
    k = len(d)
    if tau2 == 0.0:
        return np.diag(1.0 / d)
    if decay == "block" or cac == 1.0:
        # V = diag(d + tau2 (1 - r)) + tau2 r 11'  ->  Sherman-Morrison
        r = cac
        dd = d + tau2 * (1.0 - r)
        inv = 1.0 / dd
        scale = tau2 * r / (1.0 + tau2 * r * inv.sum())
        return np.diag(inv) - scale * np.outer(inv, inv)
    # exponential decay: V = D + tau2 R, R_ts = r^|t-s|; R^-1 is tridiagonal (an AR(1) process
    # observed at irregular times is Markov with lag-one correlations phi_j = r^(gap_j)).
    inv_d = 1.0 / d
    if k == 1:
        return np.array([[1.0 / (d[0] + tau2)]])
    phi = cac ** np.diff(times).astype(float)
    a = 1.0 / (1.0 - phi**2)
    diag = np.zeros(k)
    diag[:-1] += a
    diag[1:] += a
    diag[1:-1] -= 1.0  # interior: 1/(1-phi_{j-1}^2) + phi_j^2/(1-phi_j^2) = a_{j-1} + a_j - 1
    off = -phi * a
    # M = R^-1 / tau2 + D^-1 (tridiagonal, positive definite); V^-1 = D^-1 - D^-1 M^-1 D^-1
    banded = np.zeros((2, k))
    banded[0, 1:] = off / tau2
    banded[1, :] = diag / tau2 + inv_d
    solved = linalg.solveh_banded(banded, np.diag(inv_d))
    return np.diag(inv_d) - inv_d[:, None] * solved


def treatment_variance(
    design: SteppedWedgeDesign,
    *,
    sigma_e2: float,
    tau2: float,
    cac: float = 1.0,
    decay: Decay = "block",
    cluster_period_size: Any = None,
) -> float:
    """Variance of the GLS treatment-effect estimate for a design and variance components.

    Parameters
    ----------
    design : SteppedWedgeDesign
        Clusters, periods, exposure (NaN cells are left out) and, unless given here,
        cluster-period sizes.
    sigma_e2 : float
        Individual-level residual variance.
    tau2 : float
        Cluster-period random-effect variance (between-cluster variance within a period).
    cac : float, default 1.0
        Cluster autocorrelation in [0, 1]; 1 is Hussey & Hughes' random intercept.
    decay : {"block", "exponential"}, default "block"
        Correlation between periods: ``cac`` (block-exchangeable) or ``cac ** |t - s|``.
    cluster_period_size : optional
        Individuals per cluster-period, overriding the design's own sizes.

    Returns
    -------
    float

    Raises
    ------
    InvalidValueError
        Variances not positive, ``cac`` outside [0, 1], unknown ``decay``.
    DesignError
        The treatment effect is not identified (e.g. exposure collinear with periods).

    Examples
    --------
    >>> d = SteppedWedgeDesign.complete([6, 6, 6, 6], cluster_period_size=120)
    >>> p = (0.05 + 0.035) / 2
    >>> round(treatment_variance(d, sigma_e2=p * (1 - p), tau2=0.01**2), 10)
    2.96823e-05
    """
    _check_variances(sigma_e2, tau2, cac, decay)
    x = design.exposure_matrix()
    m = design.sizes(cluster_period_size)
    observed = ~np.isnan(x)
    if observed.all() and np.ptp(m) == 0:
        if cac == 1.0 or tau2 == 0.0:
            return hussey_hughes_variance(x, sigma2=sigma_e2 / m[0, 0], tau2=tau2)
        if decay == "block":
            return hooper_variance(x, sigma_e2=sigma_e2, tau2=tau2, cac=cac, m=m[0, 0])
    return gls_variance(x, m, sigma_e2=sigma_e2, tau2=tau2, cac=cac, decay=decay)


def hooper_variance(
    exposure: np.ndarray, *, sigma_e2: float, tau2: float, cac: float, m: float
) -> float:
    r"""Closed-form variance for a complete design with block-exchangeable correlation.

    Hooper et al. (2016) and Girling & Hemming (2016); written here, as in Kasza et al.
    (2020), with the total variance :math:`\sigma^2 = \tau^2 + \sigma_e^2`, the ICC
    :math:`\rho = \tau^2/\sigma^2` and the between-period ICC :math:`r\rho`:

    .. math::

        \operatorname{Var}(\hat\theta) = \frac{(\sigma^2/m)\,IT\lambda_1\lambda_2}
        {(U^2 + ITU - TW - IV)\lambda_2 - (U^2 - IV)\lambda_1},

    :math:`\lambda_1 = 1 + (m-1)\rho(1-r) - r\rho`,
    :math:`\lambda_2 = 1 + (m-1)\rho + (T-1)(m-1)r\rho + (T-1)r\rho`, and :math:`U, V, W` as
    in :func:`hussey_hughes_variance`. With :math:`r = 1` it is Hussey & Hughes' formula.

    Examples
    --------
    >>> x = np.triu(np.ones((4, 5)), k=1)
    >>> a = hooper_variance(x, sigma_e2=0.9, tau2=0.1, cac=1.0, m=10)
    >>> b = hussey_hughes_variance(x, sigma2=0.09, tau2=0.1)
    >>> bool(abs(a - b) < 1e-15)
    True
    """
    x = np.asarray(exposure, dtype=float)
    i, t = x.shape
    u = x.sum()
    w = np.sum(x.sum(axis=0) ** 2)
    v = np.sum(x.sum(axis=1) ** 2)
    total = tau2 + sigma_e2
    rho = tau2 / total
    lam1 = 1 + (m - 1) * rho * (1 - cac) - cac * rho
    lam2 = 1 + (m - 1) * rho + (t - 1) * (m - 1) * cac * rho + (t - 1) * cac * rho
    num = total / m * i * t * lam1 * lam2
    den = (u**2 + i * t * u - t * w - i * v) * lam2 - (u**2 - i * v) * lam1
    return float(num / den)


def gls_variance(
    x: np.ndarray,
    m: np.ndarray,
    *,
    sigma_e2: float,
    tau2: float,
    cac: float,
    decay: Decay,
) -> float:
    """GLS variance cluster by cluster (closed-form inverses), period effects profiled out.

    ``x`` is the exposure matrix (NaN: cell left out) and ``m`` the cluster-period sizes.
    """
    observed = ~np.isnan(x)
    n_periods = x.shape[1]
    info = np.zeros((n_periods + 1, n_periods + 1))
    for i in range(x.shape[0]):
        times = np.flatnonzero(observed[i])
        w = cluster_weights(sigma_e2 / m[i, times], tau2, cac, decay, times)
        z = np.zeros((len(times), n_periods + 1))
        z[np.arange(len(times)), times] = 1.0
        z[:, -1] = x[i, times]
        info += z.T @ w @ z
    keep = np.flatnonzero(np.diag(info)[:-1] > 0)  # periods with at least one observed cell
    a = info[np.ix_(keep, keep)]
    b = info[keep, -1]
    schur = info[-1, -1] - b @ linalg.solve(a, b, assume_a="pos")
    if not schur > 1e-12 * info[-1, -1]:
        raise DesignError(
            "the treatment effect is not identified in this design: exposure is collinear "
            "with the period effects once unobserved cells are left out. Check the exposure "
            "matrix (design.exposure_frame())."
        )
    return float(1.0 / schur)


def _check_variances(sigma_e2: float, tau2: float, cac: float, decay: str) -> None:
    if not (isinstance(sigma_e2, int | float) and math.isfinite(sigma_e2) and sigma_e2 > 0):
        raise InvalidValueError(f"`sigma_e2` must be a positive number; got {sigma_e2!r}.")
    if not (isinstance(tau2, int | float) and math.isfinite(tau2) and tau2 >= 0):
        raise InvalidValueError(f"`tau2` must be a non-negative number; got {tau2!r}.")
    if not (isinstance(cac, int | float) and 0.0 <= cac <= 1.0):
        raise InvalidValueError(
            f"`cac` (cluster autocorrelation) must be between 0 and 1; got {cac!r}."
        )
    if decay not in ("block", "exponential"):
        raise InvalidValueError(
            f"`decay` must be 'block' (block-exchangeable) or 'exponential' (discrete-time "
            f"decay); got {decay!r}."
        )
