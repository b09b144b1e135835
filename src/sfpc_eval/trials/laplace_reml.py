r"""Restricted (REML) Laplace likelihood of a count-family mixed model, as glmmTMB's REML.

Maximum likelihood estimates of variance components are biased downwards when there are few
councils: the fixed effects (a period effect per period) use up information the variance
components need. REML removes that bias in the linear mixed model by integrating the fixed
effects out under a flat prior; for a GLMM the same integral is done by the Laplace
approximation over the fixed and random effects together (``glmmTMB(..., REML = TRUE)``):

.. math::

    D_R(\theta, \psi) = -2\log p(y \mid \hat\beta, \hat u) + \|\hat u\|^2
    + \sum_i \log\det H_i + \log\det S,

with :math:`(\hat\beta, \hat u)` the joint mode (the penalised IRLS solution of ``glmer``'s
``nAGQ = 0`` stage), :math:`H_i = I + A_i'W_iA_i` and
:math:`S = X'WX - \sum_i X_i'W_iA_iH_i^{-1}A_i'W_iX_i` the fixed effects' block of the joint
Hessian after the random effects are eliminated (:math:`A` the rows of :math:`Z\Lambda`).
The fixed effects are reported at the joint mode, with variance :math:`S^{-1}`: the GLS
variance of the working linear model, given the variance parameters (what ``lmer`` reports
for a REML fit). :mod:`sfpc_eval.trials.kenward_roger` adjusts it for the variance parameters'
uncertainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from sfpc_eval.errors import DesignError
from sfpc_eval.trials.families import Family
from sfpc_eval.trials.laplace import MAX_LOG_SIZE, CellData, inverse_hessian
from sfpc_eval.trials.structures import RandomEffects

__all__ = ["RemlFit", "WorkingModel", "fit_laplace_reml"]


@dataclass(frozen=True, eq=False)
class WorkingModel:
    """The linearised model at the joint mode: what the Kenward-Roger adjustment needs.

    ``x`` (cells x k), ``a`` rows of ``Z Lambda`` (cells x q), ``weight`` the working weights
    (the cells' working variances are ``1 / weight``), ``starts`` where each council's cells
    begin.
    """

    x: np.ndarray = field(repr=False)
    a: np.ndarray = field(repr=False)
    weight: np.ndarray = field(repr=False)
    starts: np.ndarray = field(repr=False)
    loads: np.ndarray = field(repr=False)
    slots: np.ndarray = field(repr=False)


@dataclass(frozen=True, eq=False)
class RemlFit:
    """A count-family mixed model fitted by restricted Laplace likelihood.

    ``params`` stacks ``(theta, psi)`` (``psi`` the NB2 log size); ``vcov_params`` is
    ``2 H^{-1}`` of the restricted deviance over them; ``vcov`` is :math:`S^{-1}`;
    ``deviance`` the restricted deviance with the family's constants.
    """

    theta: np.ndarray
    psi: float
    beta: np.ndarray
    vcov: np.ndarray = field(repr=False)
    vcov_params: np.ndarray = field(repr=False)
    deviance: float
    modes: np.ndarray = field(repr=False)
    boundary: bool
    working: WorkingModel = field(repr=False)

    @property
    def loglik(self) -> float:
        """Restricted log-likelihood, ``-deviance / 2``."""
        return -self.deviance / 2


class _Restricted:
    def __init__(self, data: CellData, structure: RandomEffects, family: Family, beta0):
        self.data, self.structure, self.family = data, structure, family
        self.slots, self.loads = structure.loadings(data.period, data.treated)
        self.state = (np.asarray(beta0, dtype=np.float64), np.zeros((data.n_clusters, structure.q)))
        self.fixed_psi: float | None = None

    def split(self, params):
        t = self.structure.n_theta
        if not self.family.has_dispersion:
            return params[:t], 0.0
        return params[:t], (self.fixed_psi if self.fixed_psi is not None else float(params[t]))

    def rows(self, lam):
        return self.loads[:, :1] * lam[self.slots[:, 0]] + self.loads[:, 1:] * lam[self.slots[:, 1]]

    def blocks(self, a, w):
        """``I + A_i'W_iA_i``, ``A_i'W_iX_i``, the former's inverse and the Schur complement.

        Batched matrix products (BLAS) per council: ``sum_i X_i'W_iA_i H_i^-1 A_i'W_iX_i`` is
        one product of the stacked ``A_i'W_iX_i`` with the stacked ``H_i^-1 A_i'W_iX_i``.
        """
        d = self.data
        q, k = a.shape[1], d.x.shape[1]
        wa = w[:, None] * a
        ab = np.hstack([a, d.x])
        ends = np.r_[d.starts[1:], len(w)]
        gram = np.stack([wa[s:e].T @ ab[s:e] for s, e in zip(d.starts, ends, strict=True)])
        huu = np.eye(q) + gram[:, :, :q]
        hub = gram[:, :, q:]
        hbb = d.x.T @ (w[:, None] * d.x)
        hinv = np.linalg.inv(huu)
        schur = hbb - hub.reshape(-1, k).T @ (hinv @ hub).reshape(-1, k)
        return huu, hub, hinv, schur

    def joint_mode(self, theta, psi):
        """Newton's method on (beta, u) jointly, eliminating u council by council."""
        d, fam = self.data, self.family
        a = self.rows(self.structure.factor(theta))
        beta, u = self.state

        def penalised(b, v) -> float:
            eta = d.x @ b + np.einsum("cq,cq->c", a, v[d.cluster])
            loglik = fam.terms(eta, d.y, d.n, d.offset, d.freq, psi, derivatives=False).loglik
            return -2.0 * float(loglik.sum()) + float(np.sum(v * v))

        current = penalised(beta, u)
        for _ in range(200):
            eta = d.x @ beta + np.einsum("cq,cq->c", a, u[d.cluster])
            terms = fam.terms(eta, d.y, d.n, d.offset, d.freq, psi)
            g_b = d.x.T @ terms.score
            g_u = d.by_cluster(terms.score[:, None] * a) - u
            try:
                _, hub, hinv, schur = self.blocks(a, terms.weight)
                k = hub.shape[2]
                rhs = g_b - hub.reshape(-1, k).T @ (hinv @ g_u[:, :, None]).ravel()
                d_beta = np.linalg.solve(schur, rhs)
            except np.linalg.LinAlgError:
                return None
            d_u = (hinv @ (g_u - hub @ d_beta)[:, :, None])[:, :, 0]
            size = 1.0
            for _ in range(40):  # step halving: the penalised deviance is convex
                value = penalised(beta + size * d_beta, u + size * d_u)
                if value <= current + 1e-12 * abs(current):
                    break
                size /= 2
            beta, u, current = beta + size * d_beta, u + size * d_u, value
            if size * max(np.max(np.abs(d_beta)), np.max(np.abs(d_u))) < 1e-12 * max(
                1.0, float(np.max(np.abs(beta)))
            ):
                break
        if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(u))):
            return None
        self.state = (beta, u)
        return beta, u, a

    def deviance(self, params) -> float:
        theta, psi = self.split(np.asarray(params, dtype=np.float64))
        with np.errstate(over="ignore", invalid="ignore"):
            mode = self.joint_mode(theta, psi)
            if mode is None:
                return math.inf
            beta, u, a = mode
            d = self.data
            eta = d.x @ beta + np.einsum("cq,cq->c", a, u[d.cluster])
            terms = self.family.terms(eta, d.y, d.n, d.offset, d.freq, psi)
            huu, _, _, schur = self.blocks(a, terms.weight)
            value = (
                -2.0 * float(terms.loglik.sum())
                + float(np.sum(u * u))
                + float(np.sum(np.linalg.slogdet(huu)[1]))
                + float(np.linalg.slogdet(schur)[1])
            )
        return value if math.isfinite(value) else math.inf


def _hessian(f, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    p = len(x)
    out = np.empty((p, p))
    eye = np.eye(p) * step
    f0 = f(x)
    for j in range(p):
        out[j, j] = (f(x + eye[j]) - 2 * f0 + f(x - eye[j])) / step**2
        for i in range(j):
            out[i, j] = out[j, i] = (
                f(x + eye[i] + eye[j])
                - f(x + eye[i] - eye[j])
                - f(x - eye[i] + eye[j])
                + f(x - eye[i] - eye[j])
            ) / (4 * step**2)
    return out


def _minimise(f, start: np.ndarray) -> np.ndarray:
    result = optimize.minimize(f, start, method="BFGS", options={"gtol": 1e-8, "maxiter": 2000})
    x = result.x
    value = f(x)
    for _ in range(20):  # Newton polish on finite differences (the deviance is smooth)
        hess = _hessian(f, x)
        grad = np.array([(f(x + e) - f(x - e)) / 2e-6 for e in np.eye(len(x)) * 1e-6])
        if not np.all(np.linalg.eigvalsh(hess) > 0):
            break
        step = np.linalg.solve(hess, grad)
        new = f(x - step)
        if not new <= value:
            break
        x, value = x - step, new
        if np.max(np.abs(step)) < 1e-10:
            break
    return x


def fit_laplace_reml(
    data: CellData,
    structure: RandomEffects,
    family: Family,
    *,
    beta_start: np.ndarray,
    theta_start: np.ndarray | None = None,
    psi_start: float = 0.0,
    constant: float = 0.0,
) -> RemlFit:
    """Maximise the restricted Laplace likelihood (see the module notes).

    Parameters
    ----------
    data : CellData
    structure : RandomEffects
    family : Family
    beta_start : ndarray
        Starting fixed effects (the GLM's) for the joint mode.
    theta_start : ndarray, optional
    psi_start : float, default 0.0
        Starting NB2 log size.
    constant : float, default 0.0
        Log-likelihood terms free of parameters (added to the reported restricted likelihood).

    Returns
    -------
    RemlFit
    """
    model = _Restricted(data, structure, family, beta_start)
    start = structure.start() if theta_start is None else np.asarray(theta_start, float)
    if family.has_dispersion:
        start = np.r_[start, psi_start]
    params = _minimise(model.deviance, start)
    t = structure.n_theta
    at_bound = family.has_dispersion and float(params[t]) > MAX_LOG_SIZE
    if at_bound:
        model.fixed_psi = MAX_LOG_SIZE
        params = np.r_[_minimise(lambda p: model.deviance(p), params[:t]), MAX_LOG_SIZE]
    params[:t] = structure.canonical(params[:t])
    theta, psi = model.split(params)
    value = model.deviance(params if not at_bound else params[:t])
    if not math.isfinite(value):
        raise DesignError(
            "the restricted likelihood could not be evaluated at the estimates (the joint mode "
            "diverged); a common cause is an outcome that is always 0 in a group of the design."
        )
    beta, u, a = model.joint_mode(theta, psi)
    d = data
    eta = d.x @ beta + np.einsum("cq,cq->c", a, u[d.cluster])
    weight = family.terms(eta, d.y, d.n, d.offset, d.freq, psi).weight
    *_, schur = model.blocks(a, weight)
    vcov = np.linalg.inv(schur)
    drop = list(structure.boundary_positions(theta))
    free = params if not at_bound else params[:t]
    vcov_params = inverse_hessian(_hessian(model.deviance, free), drop)
    if at_bound:
        vcov_params = np.pad(vcov_params, ((0, 1), (0, 1)), constant_values=np.nan)
    return RemlFit(
        theta=theta.copy(),
        psi=psi,
        beta=beta,
        vcov=(vcov + vcov.T) / 2,
        vcov_params=vcov_params,
        # the Laplace integral over beta under a flat prior carries (2 pi)^(k/2), as glmmTMB's
        deviance=value - 2 * constant - len(beta) * math.log(2 * math.pi),
        modes=u @ structure.factor(theta).T,
        boundary=bool(drop) or at_bound,
        working=WorkingModel(d.x, a, weight, d.starts, model.loads, model.slots),
    )
