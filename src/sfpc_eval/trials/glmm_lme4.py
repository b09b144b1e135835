r"""The Laplace deviance exactly as ``lme4::glmer(nAGQ = 1)`` evaluates it.

lme4 computes the Laplace approximation after a penalised iteratively reweighted least squares
(PIRLS) loop for the conditional modes ``u``. Each evaluation of its stage-2 deviance function
(``glmer(..., devFunOnly = TRUE)``) restarts the loop from the linear predictor of the stage-1
(``nAGQ = 0``) fit, ``lp0``; each iteration refreshes the working weights, factors
``L L' = Lambda' Z' W Z Lambda + I`` and takes a Newton step; the loop stops when the penalised
deviance changes by less than ``tolPwrss = 1e-7`` relative. The returned value is
``deviance(u_k) + ||u_k||^2 + log |L|^2`` where ``L`` was factored from the weights at the
*penultimate* iterate ``u_{k-1}``. That places lme4's value a few 1e-6 above the exact Laplace
approximation ``h(u) + log L(u)^2`` at the mode (see :mod:`sfpc_eval.trials.glmm`), and moves
its optimum and Hessian-based standard errors by up to about 1e-3 relative.

This module reproduces that evaluation for a scalar random intercept (so ``L`` is diagonal,
one entry per cluster), maximises it, and computes the standard errors as lme4 1.1-31 does:
``optwrap`` calls ``deriv12(devfun, opt$par, fx = opt$value)`` after the optimiser (central
differences with step ``delta = 1e-4`` on ``c(theta, beta)``, no bounds; the cross terms are
``(f(++) - f(+-) - f(-+) + f(--)) / (2 delta)^2``), and ``vcov.merMod`` (``use.hessian = TRUE``
whenever that Hessian exists) returns ``h <- solve(H); h[b, b] + t(h[b, b])``, i.e. the ``beta``
block of ``2 H^{-1}`` symmetrised. ``lp0`` is the joint mode of ``(beta, u)`` at the minimiser of
lme4's stage-1 criterion (:func:`stage_one_theta`).

Measured against ``glmer`` on the test trials (``tests/fixtures/stepped_wedge``): this
deviance equals lme4's ``devfun`` to a few 1e-12 at every point of ``deriv12``'s stencil, and the
Hessian equals lme4's stored one to 2e-7 of its largest entry. The standard errors still differ
by up to 1.5e-4 relative because lme4's own evaluation carries rounding noise of about 4e-12
(against 1.5e-13 here), which ``deriv12`` divides by ``delta^2 = 1e-8``: recomputing ``glmer``'s
standard errors on the same data with the rows permuted moves them by up to 2.3e-4. The
estimates equal the minimiser of lme4's deviance function to 3e-7 relative; ``glmer``'s bobyqa
stops up to 2e-5 (absolute) short of it.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from sfpc_eval.trials.glmm_lme4_grad import SortedCells, lme4_gradient, lme4_hessian

__all__ = ["lme4_laplace", "stage_one_predictor", "stage_one_theta"]

TOL_PWRSS = 1e-7
"""``glmerControl()$tolPwrss``."""

DELTA = 1e-4
"""Finite-difference step of ``lme4:::deriv12``."""


def _loglik(eta: np.ndarray, y: np.ndarray, n: np.ndarray) -> float:
    return float(np.sum(y * eta - n * np.logaddexp(0.0, eta)))


def _by_cluster_columns(cluster, values, n_clusters) -> np.ndarray:
    starts = np.searchsorted(cluster, np.arange(n_clusters))
    if np.all(np.diff(cluster) >= 0) and np.all(np.diff(np.r_[starts, len(cluster)]) > 0):
        return np.add.reduceat(values, starts, axis=0)  # cells sorted by cluster (fit_glmm's)
    return np.column_stack(
        [
            np.bincount(cluster, weights=values[:, j], minlength=n_clusters)
            for j in range(values.shape[1])
        ]
    )


def _joint_mode(z, y, n, cluster, n_clusters, theta: float, start=None):
    """Joint mode of (beta, u) for a given theta by Newton's method (lme4's ``nAGQ = 0`` PIRLS)."""
    p = z.shape[1]
    if start is None:
        beta, u = np.zeros(p), np.zeros(n_clusters)
    else:
        beta, u = start[0].copy(), start[1].copy()
    for _ in range(100):
        eta = z @ beta + theta * u[cluster]
        mu = special.expit(eta)
        w, r = n * mu * (1 - mu), y - n * mu
        g_b = z.T @ r
        g_u = theta * np.bincount(cluster, weights=r, minlength=n_clusters) - u
        h_bb = z.T @ (w[:, None] * z)
        h_bu = theta * _by_cluster_columns(cluster, w[:, None] * z, n_clusters)
        h_uu = np.diag(theta**2 * np.bincount(cluster, weights=w, minlength=n_clusters) + 1)
        hess = np.block([[h_bb, h_bu.T], [h_bu, h_uu]])
        step = np.linalg.solve(hess, np.r_[g_b, g_u])
        beta, u = beta + step[:p], u + step[p:]
        if np.max(np.abs(step)) < 1e-12:
            break
    return beta, u


def stage_one_predictor(z, y, n, cluster, n_clusters, theta: float) -> np.ndarray:
    """Linear predictor at the joint mode of (beta, u) for a given theta (lme4's ``nAGQ = 0``)."""
    beta, u = _joint_mode(z, y, n, cluster, n_clusters, theta)
    return z @ beta + theta * u[cluster]


def stage_one_theta(z, y, n, cluster, n_clusters, theta: float) -> float:
    """Minimiser of lme4's stage-1 (``nAGQ = 0``) criterion, searched on ``[0, 2 theta + 0.1]``.

    The criterion is the Laplace deviance at the joint mode of (beta, u):
    ``-2 log p(y | beta, u) + ||u||^2 + sum_i log L_i^2``. ``glmer`` minimises it first and starts
    every stage-2 evaluation from the linear predictor there (``lp0``). Measured on the test
    trials: within 1e-6 and 6e-6 (relative) of ``glmer``'s stage-1 theta, which puts ``lp0``
    within 2e-6 of ``glmer``'s.
    """
    state = {"start": None}

    def criterion(t: float) -> float:
        beta, u = _joint_mode(z, y, n, cluster, n_clusters, t, state["start"])
        state["start"] = (beta, u)
        eta = z @ beta + t * u[cluster]
        mu = special.expit(eta)
        w = np.bincount(cluster, weights=n * mu * (1 - mu), minlength=n_clusters)
        return -2 * _loglik(eta, y, n) + float(u @ u) + float(np.sum(np.log1p(t * t * w)))

    result = optimize.minimize_scalar(
        criterion, bounds=(0.0, 2 * theta + 0.1), method="bounded", options={"xatol": 1e-10}
    )
    return float(result.x)


def _pirls_deviance(params, z, y, n, cluster, n_clusters, lp0):
    """lme4's stage-2 Laplace deviance at (theta, beta); returns it and the final modes."""
    theta, beta = float(params[0]), params[1:]
    offset = z @ beta
    eta = lp0.copy()
    mu = special.expit(eta)
    old = np.finfo(float).max
    for _ in range(200):
        w = n * mu * (1 - mu)
        l2 = 1 + theta**2 * np.bincount(cluster, weights=w, minlength=n_clusters)
        work = w * (eta - offset) + (y - n * mu)  # W times the working response, per cell
        u = theta * np.bincount(cluster, weights=work, minlength=n_clusters) / l2
        eta = offset + theta * u[cluster]
        mu = special.expit(eta)
        pdev = -2 * _loglik(eta, y, n) + float(u @ u)
        if abs((old - pdev) / pdev) < TOL_PWRSS:
            break
        old = pdev
    return pdev + float(np.sum(np.log(l2))), u


def _derivatives(f, x: np.ndarray, fx: float) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian by lme4's ``deriv12`` central differences (step 1e-4)."""
    p = len(x)
    grad = np.empty(p)
    hess = np.empty((p, p))
    eye = np.eye(p) * DELTA
    for j in range(p):
        f_add, f_sub = f(x + eye[j]), f(x - eye[j])
        hess[j, j] = (f_add - 2 * fx + f_sub) / DELTA**2
        grad[j] = (f_add - f_sub) / (2 * DELTA)
        for i in range(j):
            value = (
                f(x + eye[i] + eye[j])
                - f(x + eye[i] - eye[j])
                - f(x - eye[i] + eye[j])
                + f(x - eye[i] - eye[j])
            ) / (2 * DELTA) ** 2
            hess[i, j] = hess[j, i] = value
    return grad, hess


def _gradient(f, x: np.ndarray) -> np.ndarray:
    eye = np.eye(len(x)) * DELTA
    return np.array([(f(x + e) - f(x - e)) / (2 * DELTA) for e in eye])


def lme4_laplace(z, y, n, cluster, n_clusters, start: np.ndarray, hessian: np.ndarray | None):
    """Maximise lme4's Laplace approximation from ``start`` = (theta, beta) near its optimum.

    Newton steps on the exact gradient of lme4's deviance
    (:func:`sfpc_eval.trials.glmm_lme4_grad.lme4_gradient`, reverse-mode through the PIRLS
    loop) with a Hessian from central differences of that gradient (``hessian``, the exact
    Laplace deviance's Hessian at ``start``, may be passed instead: the two deviances differ by
    a few 1e-6). Returns the parameters, the deviance, ``2 H^{-1}`` (lme4's ``vcov``
    definition, H the Hessian of its deviance at the optimum, equal to ``deriv12``'s to about
    1e-8 relative), the conditional modes ``u`` and the iterations used.
    """
    theta_one = stage_one_theta(z, y, n, cluster, n_clusters, float(start[0]))
    lp0 = stage_one_predictor(z, y, n, cluster, n_clusters, theta_one)
    cells = SortedCells.build(z, y, n, cluster, n_clusters)
    lp0_sorted = lp0[cells.order]
    x = np.array(start, dtype=np.float64)
    hess = lme4_hessian(x, cells, lp0_sorted) if hessian is None else hessian
    iterations = 0
    for iterations in range(1, 51):  # noqa: B007 - used after the loop
        step = np.linalg.solve(hess, lme4_gradient(x, cells, lp0_sorted)[1])
        x = x - step
        if np.max(np.abs(step)) < 1e-10 * max(1.0, float(np.max(np.abs(x)))):
            break
    fx = lme4_gradient(x, cells, lp0_sorted)[0]
    hess = lme4_hessian(x, cells, lp0_sorted)
    vcov = 2 * np.linalg.inv(hess)
    u = _pirls_deviance(x, z, y, n, cluster, n_clusters, lp0)[1]
    return x, fx, (vcov + vcov.T) / 2, u, iterations
