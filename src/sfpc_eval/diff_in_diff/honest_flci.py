"""Optimal fixed-length confidence interval (FLCI) under smoothness bounds, Delta^SD(M).

Rambachan & Roth (2023, Review of Economic Studies), Section 4.1 and Appendix: the interval is
``v'betahat -/+ chi`` for an affine estimator ``v'beta`` of ``theta = l'tau_post`` whose
pre-period weights are chosen to make the half-length ``chi`` as short as possible, where

``chi = cv_alpha(M b / h) h``,

``h`` is the estimator's standard deviation, ``M b`` its worst-case bias over Delta^SD(M) and
``cv_alpha(t)`` the ``1 - alpha`` quantile of ``|N(t, 1)|``. Only estimators that are unbiased
under exactly linear differential trends have finite worst-case bias.

The pre-period weights are written as slope weights ``w`` (on ``beta_{-K+1} - beta_{-K}``, ...,
``0 - beta_{-1}``) and their running sums ``u = cumsum(w)``; unbiasedness under linear trends
fixes ``u_K = sum_s s l_s``, the worst-case bias per unit of M is
``c_l + sum_{i<K} |u_i|`` (``c_l`` depends on ``l`` only; R HonestDiD's bias objective), and
the variance is a quadratic in ``u``. The efficient frontier of (bias, variance) is therefore
the path of a lasso problem ``min var(u) + lambda sum |u_i|`` in the ``K - 1`` free running
sums; the FLCI is the point of that path with the smallest ``chi``. This module solves each
lasso exactly (coordinate descent, then the KKT system on the active set) and searches the
path with a bounded scalar minimisation, rather than R's nested convex programmes; the
optimum is the same point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

__all__ = ["FlciResult", "flci", "folded_normal_quantile"]


@dataclass(frozen=True)
class FlciResult:
    """One optimal FLCI: ``center -/+ half_length`` and the estimator behind it.

    Attributes
    ----------
    conf_low, conf_high : float
        The interval.
    center : float
        ``v' betahat``, the affine estimate of ``l' tau_post``.
    half_length : float
        ``cv_alpha(M bias / sd) sd``.
    weights : numpy.ndarray
        ``v``: one weight per event-study coefficient (pre-periods, then post-periods).
    std_error : float
        Standard deviation of ``v' betahat``.
    max_bias : float
        Worst-case bias of ``v' betahat`` over Delta^SD(M).
    """

    conf_low: float
    conf_high: float
    center: float
    half_length: float
    weights: np.ndarray
    std_error: float
    max_bias: float


def folded_normal_quantile(t: float, alpha: float) -> float:
    """Return the ``1 - alpha`` quantile of ``|N(t, 1)|``.

    The ``c >= 0`` with ``P(|N(t, 1)| <= c) = 1 - alpha``, by root-finding (R HonestDiD
    simulates it with a million draws).

    Examples
    --------
    >>> round(folded_normal_quantile(0.0, 0.05), 6)
    1.959964
    >>> round(folded_normal_quantile(10.0, 0.05) - 10, 4)   # ~ one-sided z for large t
    1.6449
    """
    t = abs(float(t))
    target = 1.0 - alpha

    def coverage(c: float) -> float:
        return float(special.ndtr(c - t) - special.ndtr(-c - t)) - target

    hi = t + special.ndtri(1 - alpha / 2) + 1.0
    return float(optimize.brentq(coverage, 0.0, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps))


def _difference_matrix(k: int) -> np.ndarray:
    d = np.eye(k)
    d[np.arange(1, k), np.arange(k - 1)] = -1.0
    return d


def bias_constant(l_vec: np.ndarray) -> float:
    """Worst-case bias per unit of M that the post-period weights alone contribute.

    ``sum_{s=1}^{P} |sum_{k=1}^{s} k l_{P-s+k}|``: the bias of the estimator whose pre-period
    running sums ``u_1..u_{K-1}`` are all zero (R HonestDiD's bias objective with ``|u_K|``
    folded in).
    """
    p = len(l_vec)
    total = 0.0
    for s in range(1, p + 1):
        total += abs(float(np.arange(1, s + 1) @ l_vec[p - s :]))
    return total


@dataclass(frozen=True)
class _Frontier:
    """Quadratic variance of the estimator in the free running sums ``u_1..u_{K-1}``."""

    hessian: np.ndarray  # var(u) = 0.5 u'Hu + g'u + const
    gradient: np.ndarray
    constant: float
    pre_map: np.ndarray  # v_pre = pre_map @ u_free + pre_offset
    pre_offset: np.ndarray
    bias0: float  # worst-case bias at u_free = 0 (per unit of M)

    def variance(self, u: np.ndarray) -> float:
        return float(0.5 * u @ self.hessian @ u + self.gradient @ u + self.constant)

    def bias(self, u: np.ndarray) -> float:
        return self.bias0 + float(np.abs(u).sum())


def _frontier(sigma: np.ndarray, n_pre: int, l_vec: np.ndarray) -> _Frontier:
    k = n_pre
    target = float(np.arange(1, len(l_vec) + 1) @ l_vec)
    d = _difference_matrix(k)
    e = d @ d  # v_pre = D w and w = D u
    s_pre = sigma[:k, :k]
    s_pp = sigma[:k, k:]
    s_post = float(l_vec @ sigma[k:, k:] @ l_vec)
    offset = target * e[:, k - 1]
    e_free = e[:, : k - 1]
    cross = s_pp @ l_vec
    hessian = 2.0 * e_free.T @ s_pre @ e_free
    gradient = 2.0 * e_free.T @ (s_pre @ offset + cross)
    constant = float(offset @ s_pre @ offset + 2.0 * offset @ cross + s_post)
    # R's bias objective: constant + sum_i |u_i|, with |u_K| = |target| fixed
    bias0 = bias_constant(l_vec) - target + abs(target)
    return _Frontier(hessian, gradient, constant, e_free, offset, bias0)


def _lasso(h: np.ndarray, g: np.ndarray, lam: float) -> np.ndarray:
    """Exact minimiser of ``0.5 u'Hu + g'u + lam |u|_1`` for small positive-definite ``H``."""
    n = len(g)
    if n == 0:
        return np.zeros(0)
    u = np.zeros(n)
    diag = np.diag(h)
    for _ in range(5000):
        change = 0.0
        for i in range(n):
            rho = -(g[i] + h[i] @ u - diag[i] * u[i])
            new = np.sign(rho) * max(abs(rho) - lam, 0.0) / diag[i]
            change = max(change, abs(new - u[i]))
            u[i] = new
        if change <= 1e-13 * (1.0 + np.abs(u).max()):
            break
    # polish: solve the KKT system on the active set found by coordinate descent
    active = np.abs(u) > 0
    if active.any():
        signs = np.sign(u[active])
        try:
            exact = np.linalg.solve(h[np.ix_(active, active)], -(g[active] + lam * signs))
        except np.linalg.LinAlgError:
            return u
        if np.all(np.sign(exact) == signs):
            trial = np.zeros(n)
            trial[active] = exact
            slack = np.abs(g + h @ trial)[~active]
            if np.all(slack <= lam * (1 + 1e-9) + 1e-12):
                return trial
    return u


def flci(
    betahat: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_vec: np.ndarray,
    m: float,
    alpha: float = 0.05,
) -> FlciResult:
    """Optimal FLCI for ``l' tau_post`` under Delta^SD(M) (the default of R HonestDiD).

    Parameters
    ----------
    betahat : array of shape (n_pre + n_post,)
        Event-study coefficients, pre-periods first (reference period excluded).
    sigma : array of shape (n_pre + n_post, n_pre + n_post)
        Their covariance.
    n_pre : int
        Number of pre-period coefficients (at least 1).
    l_vec : array of shape (n_post,)
        Weights defining the target ``theta = l' tau_post``.
    m : float
        Largest change in slope of the differential trend between consecutive periods.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    FlciResult

    Examples
    --------
    >>> import numpy as np
    >>> beta = np.array([0.01, 0.0, 0.3])      # two leads, one lag
    >>> sigma = np.diag([0.01, 0.01, 0.01])
    >>> r = flci(beta, sigma, 2, np.array([1.0]), m=0.0)
    >>> round(r.center, 4), round(r.half_length, 4)
    (0.304, 0.2147)

    With ``M = 0`` the trend is a line through the reference period: its slope, fitted to the
    leads by least squares, is ``(-2 x 0.01 - 1 x 0) / (4 + 1) = -0.004``, so the effect is
    ``0.3 + 0.004`` with variance ``0.01 + 0.01 / 5`` (half-length ``1.96 sqrt(0.012)``).
    """
    betahat = np.asarray(betahat, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    l_vec = np.asarray(l_vec, dtype=float)
    fr = _frontier(sigma, n_pre, l_vec)

    def point(lam: float) -> tuple[np.ndarray, float, float]:
        u = _lasso(fr.hessian, fr.gradient, lam)
        sd = float(np.sqrt(max(fr.variance(u), 0.0)))
        return u, sd, fr.bias(u)

    def half_length(sd: float, bias: float) -> float:
        if sd <= 0.0:
            return np.inf if m * bias > 0 else 0.0
        return folded_normal_quantile(m * bias / sd, alpha) * sd

    if n_pre == 1 or m == 0.0:
        u, sd, bias = point(0.0)
    else:
        lam_max = float(np.abs(fr.gradient).max())
        if lam_max == 0.0:
            u, sd, bias = point(0.0)
        else:
            # chi is unimodal along the frontier (convex in sd, and sd is monotone in lambda):
            # scan, then refine the best bracket.
            grid = lam_max * np.concatenate([[0.0], np.geomspace(1e-6, 1.0, 30)])
            values = [half_length(*point(lam)[1:]) for lam in grid]
            best = int(np.argmin(values))
            lo = grid[max(best - 1, 0)]
            hi = grid[min(best + 1, len(grid) - 1)]
            res = optimize.minimize_scalar(
                lambda lam: half_length(*point(lam)[1:]),
                bounds=(lo, hi),
                method="bounded",
                options={"xatol": 1e-12 * lam_max},
            )
            lam_star = float(res.x) if res.fun <= values[best] else float(grid[best])
            u, sd, bias = point(lam_star)
    chi = half_length(sd, bias)
    v_pre = fr.pre_map @ u + fr.pre_offset
    weights = np.concatenate([v_pre, l_vec])
    center = float(weights @ betahat)
    return FlciResult(center - chi, center + chi, center, chi, weights, sd, m * bias)
