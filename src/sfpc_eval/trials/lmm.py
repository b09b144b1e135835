r"""Linear mixed model by restricted maximum likelihood (REML), on cells, as ``lme4::lmer``.

Rows :math:`r` of council :math:`i` follow :math:`y_r = x_r'\beta + a_r u_i + e_r` with
:math:`e_r \sim N(0, \sigma^2)`, :math:`u_i \sim N(0, \sigma^2 I_q)` and :math:`a_r` the row of
:math:`Z\Lambda(\theta)` (:mod:`sfpc_eval.trials.structures`; lme4's parameterisation, in which
:math:`\Lambda` is relative to the residual SD). For a given :math:`\theta` the penalised least
squares problem :math:`\min_{\beta,u} \|y - X\beta - Z\Lambda u\|^2 + \|u\|^2` is solved council
by council: with :math:`L_i L_i' = \Lambda'Z_i'Z_i\Lambda + I`,
:math:`R_{ZX,i} = L_i^{-1}\Lambda'Z_i'X_i` and :math:`R_X'R_X = X'X - \sum_i R_{ZX,i}'R_{ZX,i}`,
the profiled REML criterion is (Bates et al. 2015, eq. 42)

.. math::

    d_R(\theta) = \log|L|^2 + \log|R_X|^2 + (n - p)\Bigl[1 + \log\frac{2\pi r^2(\theta)}{n-p}
    \Bigr],

:math:`r^2` the minimum penalised residual sum of squares, :math:`\hat\sigma^2 = r^2/(n-p)` and
:math:`\operatorname{Var}(\hat\beta) = \hat\sigma^2 (R_X'R_X)^{-1}` (what ``vcov(lmer_fit)``
returns: the variance given :math:`\theta`). Every quantity needs only, per cell of rows that
share council, period, treatment and covariates, the number of rows, the sum of the outcome and
the sum of its squares: the fit on cells equals the fit on rows.

``theta`` is minimised by a bounded quasi-Newton search and polished by Newton steps on a
finite-difference Hessian of :math:`d_R`, which is smooth and evaluated to rounding error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize

from sfpc_eval.trials.laplace import inverse_hessian
from sfpc_eval.trials.structures import RandomEffects

__all__ = ["LmmFit", "fit_lmm", "reml_criterion"]


@dataclass(frozen=True, eq=False)
class LmmFit:
    """A linear mixed model fitted by REML (see :func:`fit_lmm`).

    ``theta`` are the covariance parameters relative to the residual SD ``sigma`` (lme4's
    ``getME(fit, "theta")`` for the SDs; ``atanh(rho)`` for the decay structure);
    ``vcov_theta`` their variance from the inverse Hessian of the REML criterion
    (``2 H^{-1}``; NaN on the boundary), ``reml`` the criterion at the optimum (lme4's
    ``REMLcrit``).
    """

    structure: RandomEffects
    names: tuple[str, ...]
    theta: np.ndarray
    beta: np.ndarray
    sigma: float
    vcov: np.ndarray = field(repr=False)
    vcov_theta: np.ndarray = field(repr=False)
    reml: float
    n_obs: int
    modes: np.ndarray = field(repr=False)
    boundary: bool

    @property
    def std_errors(self) -> np.ndarray:
        """Standard errors of ``beta``."""
        return np.sqrt(np.diag(self.vcov))

    @property
    def loglik(self) -> float:
        """REML log-likelihood, ``-reml / 2`` (lme4's ``logLik`` of a REML fit)."""
        return -self.reml / 2


@dataclass(frozen=True, eq=False)
class GaussianCells:
    """Cells of a Gaussian outcome, sorted by council.

    Design ``x``, rows ``count``, sums of ``y`` and ``y^2``, council codes 0..G-1, period
    codes and treatment.
    """

    x: np.ndarray
    count: np.ndarray
    sum_y: np.ndarray
    sum_y2: np.ndarray
    cluster: np.ndarray
    period: np.ndarray
    treated: np.ndarray
    n_clusters: int
    starts: np.ndarray = field(repr=False)

    @classmethod
    def build(cls, x, count, sum_y, sum_y2, cluster, period, treated) -> GaussianCells:
        """Sort the cells by council and record where each council's cells start."""
        cluster = np.asarray(cluster, dtype=np.int64)
        order = np.argsort(cluster, kind="stable")
        cl = cluster[order]
        n_clusters = int(cl.max()) + 1
        f64 = np.float64
        return cls(
            x=np.asarray(x, dtype=f64)[order],
            count=np.asarray(count, dtype=f64)[order],
            sum_y=np.asarray(sum_y, dtype=f64)[order],
            sum_y2=np.asarray(sum_y2, dtype=f64)[order],
            cluster=cl,
            period=np.asarray(period, dtype=np.int64)[order],
            treated=np.asarray(treated, dtype=f64)[order],
            n_clusters=n_clusters,
            starts=np.searchsorted(cl, np.arange(n_clusters)),
        )

    @property
    def n_obs(self) -> float:
        """Rows behind the cells."""
        return float(self.count.sum())


def _solve(cells: GaussianCells, structure: RandomEffects, theta: np.ndarray) -> dict:
    """Penalised least squares at ``theta``: the pieces of the REML criterion and the fit."""
    x, n, s, cl = cells.x, cells.count, cells.sum_y, cells.cluster
    slots, loads = structure.loadings(cells.period, cells.treated)
    lam = structure.factor(theta)
    a = loads[:, :1] * lam[slots[:, 0]] + loads[:, 1:] * lam[slots[:, 1]]
    q = lam.shape[0]
    na = n[:, None] * a
    ata = np.add.reduceat(na[:, :, None] * a[:, None, :], cells.starts, axis=0)
    atx = np.add.reduceat(na[:, :, None] * x[:, None, :], cells.starts, axis=0)
    aty = np.add.reduceat(s[:, None] * a, cells.starts, axis=0)
    chol = np.linalg.cholesky(ata + np.eye(q))
    rzx = np.linalg.solve(chol, atx)
    cu = np.linalg.solve(chol, aty[:, :, None])[:, :, 0]
    k = x.shape[1]
    rzx_flat = rzx.reshape(-1, k)  # councils' R_ZX stacked: sums over councils are one product
    xtx = x.T @ (n[:, None] * x) - rzx_flat.T @ rzx_flat
    xty = x.T @ s - rzx_flat.T @ cu.ravel()
    rx = np.linalg.cholesky(xtx)
    beta = linalg.cho_solve((rx, True), xty)
    rhs = cu - rzx @ beta
    u = np.linalg.solve(np.swapaxes(chol, 1, 2), rhs[:, :, None])[:, :, 0]
    eta = x @ beta + np.einsum("cq,cq->c", a, u[cl])
    rss = float(np.sum(cells.sum_y2 - 2 * eta * s + n * eta * eta))
    pwrss = rss + float(np.sum(u * u))
    log_l = 2.0 * float(np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2))))
    log_rx = 2.0 * float(np.sum(np.log(np.diag(rx))))
    return {
        "beta": beta,
        "u": u,
        "pwrss": pwrss,
        "log_l": log_l,
        "log_rx": log_rx,
        "rx": rx,
        "a": a,
        "eta": eta,
        "chol": chol,
        "atx": atx,
        "xtx": xtx,
    }


def _criterion_and_gradient(
    cells: GaussianCells, structure: RandomEffects, theta: np.ndarray
) -> tuple[float, np.ndarray]:
    r"""Return the REML criterion and its analytic gradient in ``theta``.

    With :math:`M_i = \Lambda'Z_i'Z_i\Lambda + I`, :math:`W_i = \Lambda'Z_i'X_i` and
    :math:`R_X'R_X = X'X - \sum_i W_i'M_i^{-1}W_i`, for each :math:`\theta_j` (``dA`` the rows
    of :math:`Z\,\partial\Lambda/\partial\theta_j`): :math:`d\log|M_i| = \operatorname{tr}
    (M_i^{-1} dM_i)`; :math:`d\log|R_X'R_X| = -\operatorname{tr}((R_X'R_X)^{-1}
    d\sum_i W_i'M_i^{-1}W_i)`; and, the penalised residual sum of squares being minimised over
    :math:`(\beta, u)`, :math:`dr^2 = -2\sum_r (y_r - \eta_r)\,dA_r u`.
    """
    theta = np.asarray(theta, dtype=np.float64)
    pieces = _solve(cells, structure, theta)
    n, p = cells.n_obs, cells.x.shape[1]
    value = (
        pieces["log_l"]
        + pieces["log_rx"]
        + (n - p) * (1.0 + math.log(2.0 * math.pi * pieces["pwrss"] / (n - p)))
    )
    x, count, cl = cells.x, cells.count, cells.cluster
    slots, loads = structure.loadings(cells.period, cells.treated)
    a, chol, atx, u = pieces["a"], pieces["chol"], pieces["atx"], pieces["u"]
    m_inv = np.linalg.inv(chol @ np.swapaxes(chol, 1, 2))
    minv_w = m_inv @ atx  # G x q x k
    k = x.shape[1]
    minv_w_flat = minv_w.reshape(-1, k)  # stacked over councils: sums are one product (BLAS)
    xtx_inv = np.linalg.inv(pieces["xtx"])
    resid = cells.sum_y - count * pieces["eta"]
    grad = np.empty(len(theta))
    for j, dlam in enumerate(structure.factor_derivatives(theta)):
        da = loads[:, :1] * dlam[slots[:, 0]] + loads[:, 1:] * dlam[slots[:, 1]]
        nda = count[:, None] * da
        dm = np.add.reduceat(nda[:, :, None] * a[:, None, :], cells.starts, axis=0)
        dm = dm + np.swapaxes(dm, 1, 2)
        dw = np.add.reduceat(nda[:, :, None] * x[:, None, :], cells.starts, axis=0)
        d_log_m = float(np.sum(m_inv * np.swapaxes(dm, 1, 2)))
        dw_flat = dw.reshape(-1, k)
        d_wmw = (
            dw_flat.T @ minv_w_flat
            + minv_w_flat.T @ dw_flat
            - minv_w_flat.T @ (dm @ minv_w).reshape(-1, k)
        )
        d_log_rx = -float(np.sum(xtx_inv * d_wmw))
        d_r2 = -2.0 * float(np.sum(resid * np.einsum("cq,cq->c", da, u[cl])))
        grad[j] = d_log_m + d_log_rx + (n - p) * d_r2 / pieces["pwrss"]
    return value, grad


def reml_criterion(cells: GaussianCells, structure: RandomEffects, theta: np.ndarray) -> float:
    """lme4's profiled REML criterion at ``theta`` (``REMLcrit`` at the optimum).

    Examples
    --------
    >>> import numpy as np
    >>> from sfpc_eval.trials.structures import RandomEffects
    >>> y = np.array([1.0, 2.0, 4.0, 3.0, 6.0, 5.0])
    >>> cells = GaussianCells.build(np.ones((6, 1)), np.ones(6), y, y**2,
    ...                             np.repeat([0, 1, 2], 2), np.zeros(6, int), np.zeros(6))
    >>> # theta = 0 is OLS: 5 * (1 + log(2 pi * 17.5 / 5)) + log(6) (RSS 17.5, X'X = 6)
    >>> round(reml_criterion(cells, RandomEffects("intercept", 1), np.array([0.0])), 6)
    22.24496
    """
    n, p = cells.n_obs, cells.x.shape[1]
    pieces = _solve(cells, structure, np.asarray(theta, dtype=np.float64))
    return (
        pieces["log_l"]
        + pieces["log_rx"]
        + (n - p) * (1.0 + math.log(2.0 * math.pi * pieces["pwrss"] / (n - p)))
    )


def fit_lmm(
    cells: GaussianCells,
    names: tuple[str, ...],
    structure: RandomEffects,
    *,
    theta_start: np.ndarray | None = None,
) -> LmmFit:
    """Fit the linear mixed model by REML.

    Parameters
    ----------
    cells : GaussianCells
    names : tuple of str
        Names of the columns of ``cells.x``.
    structure : RandomEffects
    theta_start : ndarray, optional
        Starting covariance parameters (relative to the residual SD).

    Returns
    -------
    LmmFit
    """

    def crit(t: np.ndarray) -> float:
        return reml_criterion(cells, structure, t)

    def crit_grad(t: np.ndarray) -> tuple[float, np.ndarray]:
        return _criterion_and_gradient(cells, structure, t)

    start = structure.start() if theta_start is None else np.asarray(theta_start, float)
    result = optimize.minimize(crit_grad, start, method="BFGS", jac=True, options={"gtol": 1e-9})
    theta = structure.canonical(result.x)
    theta = _polish(crit_grad, theta, structure)
    pieces = _solve(cells, structure, theta)
    n, p = cells.n_obs, cells.x.shape[1]
    sigma2 = pieces["pwrss"] / (n - p)
    rx_inv = linalg.solve_triangular(pieces["rx"], np.eye(p), lower=True)
    vcov = sigma2 * rx_inv.T @ rx_inv
    drop = structure.boundary_positions(theta)
    vcov_theta = inverse_hessian(_gradient_hessian(crit_grad, theta), drop)
    lam = structure.factor(theta)
    return LmmFit(
        structure=structure,
        names=tuple(names),
        theta=theta,
        beta=pieces["beta"],
        sigma=math.sqrt(sigma2),
        vcov=(vcov + vcov.T) / 2,
        vcov_theta=vcov_theta,
        reml=crit(theta),
        n_obs=round(n),
        modes=math.sqrt(sigma2) * pieces["u"] @ lam.T,
        boundary=bool(drop),
    )


def _gradient_hessian(crit_grad, theta: np.ndarray) -> np.ndarray:
    """Central differences of the analytic gradient (step 1e-5 relative), symmetrised."""
    p = len(theta)
    hess = np.empty((p, p))
    for j in range(p):
        step = 1e-5 * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += step
        down[j] -= step
        hess[:, j] = (crit_grad(up)[1] - crit_grad(down)[1]) / (2 * step)
    return (hess + hess.T) / 2


def _polish(crit_grad, theta: np.ndarray, structure: RandomEffects) -> np.ndarray:
    """Newton steps on the REML criterion from an interior point (skipped at a boundary)."""
    if structure.boundary_positions(theta):
        return theta
    value, grad = crit_grad(theta)
    for _ in range(20):
        hess = _gradient_hessian(crit_grad, theta)
        if not np.all(np.linalg.eigvalsh(hess) > 0):
            break
        step = np.linalg.solve(hess, grad)
        candidate = structure.canonical(theta - step)
        new, new_grad = crit_grad(candidate)
        if new > value + 1e-12 * abs(value):
            break
        theta, value, grad = candidate, new, new_grad
        if np.max(np.abs(step)) < 1e-12 * max(1.0, float(np.max(np.abs(theta)))):
            break
    return theta
