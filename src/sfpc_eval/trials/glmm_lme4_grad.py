r"""The gradient of lme4's Laplace deviance by reverse-mode differentiation, for speed.

:mod:`sfpc_eval.trials.glmm_lme4` reproduces the deviance ``glmer(nAGQ = 1)`` maximises: a
penalised IRLS (PIRLS) loop for the conditional modes ``u``, restarted from the stage-1 linear
predictor ``lp0`` at every evaluation, whose value is ``-2 log p(y | u_K) + ||u_K||^2 +
sum_i log L_i^2`` with ``L_i`` factored at the penultimate iterate. lme4 (and that module) take
the gradient and Hessian of this function by finite differences of its values: ``deriv12``
needs ``2 p^2 + 1`` evaluations for ``p`` parameters, 2,700 for the 36 fixed effects of the SFPC
analyses, which is most of the time a fit takes.

This module differentiates the same loop exactly. For a random intercept the modes are one
number per cluster, so the loop is a scalar recursion per cluster and its reverse-mode
derivative (adjoints carried back through the ``K`` iterations, the number of iterations held at
the one the loop stopped at) costs about two evaluations of the deviance whatever ``p`` is. The
Hessian then comes from central differences of this exact gradient (``2 p`` gradients instead of
``2 p^2`` deviances); it approximates the same second derivative as ``deriv12`` (step ``1e-4``)
with a truncation error below 1e-8 relative, far under lme4's own rounding noise (about 1e-4 on
standard errors, see :mod:`sfpc_eval.trials.glmm_lme4`). ``tests/test_glmm_fast.py`` checks the
gradient against finite differences and the Hessian against ``deriv12`` on the test trials.

Cells are sorted by cluster once (:class:`SortedCells`) so that per-cluster sums are
``numpy.add.reduceat`` over contiguous blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["SortedCells", "lme4_gradient", "lme4_hessian"]

TOL_PWRSS = 1e-7
"""``glmerControl()$tolPwrss``, as in :mod:`sfpc_eval.trials.glmm_lme4`."""

DELTA = 1e-4
"""Central-difference step for the Hessian (lme4's ``deriv12`` step)."""


@dataclass(frozen=True, eq=False)
class SortedCells:
    """Binomial cells sorted by cluster, with the block starts per-cluster sums need.

    ``order`` maps the sorted cells back to the caller's order (``cells[order]``).
    """

    z: np.ndarray
    y: np.ndarray
    n: np.ndarray
    cluster: np.ndarray
    starts: np.ndarray
    n_clusters: int
    order: np.ndarray

    @classmethod
    def build(cls, z, y, n, cluster, n_clusters: int) -> SortedCells:
        """Sort the cells by cluster (stable) and record where each cluster starts."""
        cluster = np.asarray(cluster, dtype=np.int64)
        order = np.argsort(cluster, kind="stable")
        sorted_cluster = cluster[order]
        starts = np.searchsorted(sorted_cluster, np.arange(n_clusters))
        return cls(
            z=np.ascontiguousarray(np.asarray(z, dtype=np.float64)[order]),
            y=np.asarray(y, dtype=np.float64)[order],
            n=np.asarray(n, dtype=np.float64)[order],
            cluster=sorted_cluster,
            starts=starts,
            n_clusters=n_clusters,
            order=order,
        )

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Per-cluster sums of a cells vector (every cluster has at least one cell)."""
        return np.add.reduceat(values, self.starts)


def _loglik_terms(eta: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
    return y * eta - n * np.logaddexp(0.0, eta)


def lme4_gradient(
    params: np.ndarray, cells: SortedCells, lp0: np.ndarray
) -> tuple[float, np.ndarray]:
    """lme4's stage-2 Laplace deviance at ``(theta, beta)`` and its exact gradient.

    ``lp0`` is the stage-1 linear predictor in the sorted cells' order. The deviance equals
    :func:`sfpc_eval.trials.glmm_lme4._pirls_deviance` (same loop, same stopping rule).
    """
    theta, beta = float(params[0]), np.asarray(params[1:], dtype=np.float64)
    z, y, n, cl = cells.z, cells.y, cells.n, cells.cluster
    offset = z @ beta
    # ---- forward pass, keeping what the backward pass needs
    mu0 = special.expit(lp0)
    w0 = n * mu0 * (1 - mu0)
    steps = []  # per iteration: (mu, w, u_prev, s0, s1, l2, u)
    eta, mu, w = lp0, mu0, w0
    u_prev = None
    old = np.finfo(float).max
    for _ in range(200):
        s0 = cells.sums(w)
        l2 = 1 + theta**2 * s0
        work = w * (eta - offset) + (y - n * mu)  # eta - offset = theta u_prev after the first
        s1 = cells.sums(work)
        u = theta * s1 / l2
        steps.append((mu, w, u_prev, s0, s1, l2, u))
        eta = offset + theta * u[cl]
        mu = special.expit(eta)
        w = n * mu * (1 - mu)
        loglik = _loglik_terms(eta, y, n)
        pdev = -2 * float(loglik.sum()) + float(u @ u)
        u_prev = u
        if abs((old - pdev) / pdev) < TOL_PWRSS:
            break
        old = pdev
    l2_last = steps[-1][5]
    value = pdev + float(np.sum(np.log(l2_last)))
    # ---- backward pass
    resid = y - n * mu  # at the final linear predictor offset + theta u_K
    u_last = steps[-1][6]
    bar_offset = -2 * resid
    bar_theta = float(-2 * np.sum(resid * u_last[cl]))
    bar_u = -2 * theta * cells.sums(resid) + 2 * u_last
    bar_l2 = 1 / l2_last
    for k in range(len(steps) - 1, -1, -1):
        mu_k, w_k, u_before, s0, s1, l2, _ = steps[k]
        # u = theta s1 / l2
        bar_s1 = bar_u * theta / l2
        bar_l2 = bar_l2 - bar_u * theta * s1 / l2**2
        bar_theta += float(np.sum(bar_u * s1 / l2))
        # l2 = 1 + theta^2 s0
        bar_s0 = bar_l2 * theta**2
        bar_theta += float(np.sum(bar_l2 * 2 * theta * s0))
        bar_work = bar_s1[cl]
        bar_w = bar_s0[cl]
        if u_before is None:
            # first iteration: eta = lp0 (constant), work = w0 (lp0 - offset) + y - n mu0
            bar_offset = bar_offset - bar_work * w_k
            break
        ub = u_before[cl]
        # work = w theta u_before + y - n mu
        bar_w = bar_w + bar_work * theta * ub
        bar_theta += float(np.sum(bar_work * w_k * ub))
        bar_u_before = cells.sums(bar_work * w_k) * theta
        bar_mu = -n * bar_work + bar_w * n * (1 - 2 * mu_k)
        bar_eta = bar_mu * mu_k * (1 - mu_k)
        # eta = offset + theta u_before
        bar_offset = bar_offset + bar_eta
        bar_theta += float(np.sum(bar_eta * ub))
        bar_u = bar_u_before + theta * cells.sums(bar_eta)
        bar_l2 = np.zeros_like(l2)  # l2 of earlier iterations enters only through u
    return value, np.r_[bar_theta, z.T @ bar_offset]


def lme4_hessian(params: np.ndarray, cells: SortedCells, lp0: np.ndarray) -> np.ndarray:
    """Hessian of lme4's deviance: central differences (step 1e-4) of the exact gradient."""
    p = len(params)
    hess = np.empty((p, p))
    for j in range(p):
        up, down = params.copy(), params.copy()
        up[j] += DELTA
        down[j] -= DELTA
        hess[:, j] = (lme4_gradient(up, cells, lp0)[1] - lme4_gradient(down, cells, lp0)[1]) / (
            2 * DELTA
        )
    return (hess + hess.T) / 2
