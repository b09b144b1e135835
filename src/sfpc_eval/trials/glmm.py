r"""Logistic mixed model with a random intercept per cluster, by adaptive Gauss-Hermite quadrature.

The model, for child ``j`` in cluster ``i``, is ``logit P(y_ij = 1) = x_ij' beta + b_i`` with
``b_i ~ N(0, sigma^2)``. It is parameterised as lme4 does (``b_i = theta u_i``, ``u_i`` standard
normal, ``theta = sigma``) and fitted by maximising the same approximation to the marginal
likelihood that ``lme4::glmer`` maximises:

- ``nagq = 1``: the Laplace approximation (by default evaluated exactly as lme4 evaluates it,
  see :mod:`sfpc_eval.trials.glmm_lme4`). For cluster ``i`` let
  ``h_i(u) = -2 log p(y_i | u) + u^2``, ``u_i`` its minimiser (the conditional mode) and
  ``L_i^2 = 1 + theta^2 sum_c n_c mu_c (1 - mu_c)`` half its curvature there; the cluster's
  contribution to the deviance is ``h_i(u_i) + log L_i^2``.
- ``nagq = K > 1``: adaptive Gauss-Hermite quadrature centred on ``u_i`` with scale
  ``s_i = 1 / L_i``: the contribution becomes
  ``h_i(u_i) + log L_i^2 - 2 log sum_k w_k exp(z_k^2 / 2 - (h_i(u_i + s_i z_k) - h_i(u_i)) / 2)``
  over the K-point rule ``(z_k, w_k)`` for the standard normal density (``K = 1`` gives back the
  Laplace approximation).

The deviance is a sum over clusters of sums over rows, and rows of a cluster that share every
regressor enter only through their count and number of events, so the fit runs on binomial
*cells* (successes and trials per cluster x period x treatment x covariate pattern): tens of
thousands of children cost no more than a few thousand cells.

The gradient of the approximate deviance with respect to ``(theta, beta)`` is computed in closed
form (the conditional mode's derivatives come from the implicit-function theorem); the optimum
is polished by Newton steps on a Hessian obtained by central differences of that gradient. As
``vcov(glmer_fit)`` does in lme4 1.1-31 (``use.hessian = TRUE``), the fixed effects'
variance is the ``beta`` block of ``2 H^{-1}``, with ``H`` the Hessian of the deviance in
``(theta, beta)`` at the optimum: it accounts for the uncertainty in ``theta``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import hermite_e
from scipy import optimize, special

from sfpc_eval._blas import limited_blas
from sfpc_eval.errors import DesignError, InvalidValueError, SingularFitWarning
from sfpc_eval.trials.glmm_lme4 import lme4_laplace
from sfpc_eval.trials.newton import damped_newton

__all__ = ["GlmmFit", "fit_glmm", "glmm_deviance"]

SINGULAR_TOL = 1e-4
"""``theta`` below this is a boundary (singular) fit, as ``lme4::isSingular(tol = 1e-4)``."""


@dataclass(frozen=True, eq=False)
class GlmmFit:
    """A fitted random-intercept logistic model.

    Attributes
    ----------
    names : tuple of str
        Names of the fixed-effect columns.
    beta : ndarray (k,)
        Fixed effects (log odds).
    theta : float
        Standard deviation of the random intercept (lme4's ``theta``; ``getME(fit, "theta")``).
    vcov : ndarray (k x k)
        Variance of ``beta``: the ``beta`` block of ``2 H^{-1}`` (lme4's ``vcov``).
    vcov_full : ndarray (k+1 x k+1)
        ``2 H^{-1}`` for ``(theta, beta)``.
    deviance : float
        Minus twice the approximate log-likelihood of the Bernoulli rows (lme4's
        ``-2 * logLik``).
    modes : ndarray (G,)
        Conditional modes of the random intercepts, ``theta * u_i`` (lme4's ``ranef``).
    nagq : int
        Quadrature points (1 = Laplace).
    n_obs : int
        Rows (children) behind the cells.
    n_clusters : int
        Clusters G.
    iterations : int
        Optimiser iterations (quasi-Newton and Newton).
    z, successes, trials, cluster : ndarray
        The cells the model was fitted to.
    """

    names: tuple[str, ...]
    beta: np.ndarray
    theta: float
    vcov: np.ndarray = field(repr=False)
    vcov_full: np.ndarray = field(repr=False)
    deviance: float
    modes: np.ndarray = field(repr=False)
    nagq: int
    n_obs: int
    n_clusters: int
    iterations: int
    z: np.ndarray = field(repr=False)
    successes: np.ndarray = field(repr=False)
    trials: np.ndarray = field(repr=False)
    cluster: np.ndarray = field(repr=False)

    @property
    def std_errors(self) -> np.ndarray:
        """Standard errors of ``beta``."""
        return np.sqrt(np.diag(self.vcov))

    @property
    def singular(self) -> bool:
        """A boundary fit: ``theta < 1e-4`` (lme4's ``isSingular`` default)."""
        return self.theta < SINGULAR_TOL

    def index(self, name: str) -> int:
        """Position of coefficient ``name``."""
        return self.names.index(name)


@dataclass(frozen=True, eq=False)
class _Problem:
    z: np.ndarray
    y: np.ndarray
    n: np.ndarray
    cluster: np.ndarray
    n_clusters: int
    nodes: np.ndarray
    weights: np.ndarray
    starts: np.ndarray | None = None  # cells sorted by cluster: where each cluster begins

    def by_cluster(self, values: np.ndarray) -> np.ndarray:
        if self.starts is not None:
            return np.add.reduceat(values, self.starts)
        return np.bincount(self.cluster, weights=values, minlength=self.n_clusters)

    def by_cluster_matrix(self, values: np.ndarray) -> np.ndarray:
        """Per-cluster column sums of a cells x k matrix (G x k)."""
        if self.starts is not None:
            return np.add.reduceat(values, self.starts, axis=0)
        return np.column_stack([self.by_cluster(values[:, j]) for j in range(values.shape[1])])


def _h(problem: _Problem, eta0: np.ndarray, theta: float, u: np.ndarray) -> np.ndarray:
    """Per cluster ``h(u) = -2 log p(y | u) + u^2`` (Bernoulli rows, no constant)."""
    eta = eta0 + theta * u[problem.cluster]
    loglik = problem.y * eta - problem.n * np.logaddexp(0.0, eta)
    return -2.0 * problem.by_cluster(loglik) + u * u


def _modes(problem: _Problem, eta0: np.ndarray, theta: float, start: np.ndarray) -> np.ndarray:
    """Conditional modes ``u_i`` of every cluster by safeguarded Newton (h is strictly convex)."""
    u = start.copy()
    current = _h(problem, eta0, theta, u)
    for _ in range(200):
        mu = special.expit(eta0 + theta * u[problem.cluster])
        grad = u - theta * problem.by_cluster(problem.y - problem.n * mu)
        curv = 1.0 + theta * theta * problem.by_cluster(problem.n * mu * (1.0 - mu))
        step = grad / curv
        size = np.ones_like(u)
        for _ in range(60):
            candidate = u - size * step
            value = _h(problem, eta0, theta, candidate)
            worse = value > current + 1e-12 * np.abs(current)
            if not worse.any():
                break
            size = np.where(worse, size / 2, size)
        u, current = candidate, value
        if np.max(np.abs(size * step)) <= 1e-12 * max(1.0, float(np.max(np.abs(u)))):
            break
    return u


def _evaluate(
    problem: _Problem, params: np.ndarray, start: np.ndarray, gradient: bool
) -> tuple[float, np.ndarray | None, np.ndarray]:
    """Deviance (and its gradient in ``(theta, beta)``) at ``params``; returns the modes too."""
    theta, beta = float(params[0]), params[1:]
    z, y, n, cl = problem.z, problem.y, problem.n, problem.cluster
    eta0 = z @ beta
    u = _modes(problem, eta0, theta, start)
    eta = eta0 + theta * u[cl]
    mu = special.expit(eta)
    var = mu * (1.0 - mu)
    nv = n * var
    sum_nv = problem.by_cluster(nv)
    h2 = 1.0 + theta * theta * sum_nv
    scale = 1.0 / np.sqrt(h2)
    h_mode = _h(problem, eta0, theta, u)
    # quadrature: log of sum_k w_k exp(z_k^2/2 - (h(u + s z_k) - h(u))/2), per cluster
    nodes, weights = problem.nodes, problem.weights
    logs = np.empty((len(nodes), problem.n_clusters))
    points = []
    for k, zk in enumerate(nodes):
        uk = u + scale * zk
        hk = h_mode if zk == 0.0 else _h(problem, eta0, theta, uk)
        logs[k] = math.log(weights[k]) + zk * zk / 2 - (hk - h_mode) / 2
        points.append(uk)
    log_mult = special.logsumexp(logs, axis=0)
    deviance = float(np.sum(h_mode + np.log(h2) - 2.0 * log_mult))
    if not gradient:
        return deviance, None, u
    # derivatives of the mode and of h2 (implicit-function theorem on u = theta * sum(y - n mu))
    resid_sum = problem.by_cluster(y - n * mu)
    nvz = problem.by_cluster_matrix(nv[:, None] * z)  # G x k
    du_dbeta = -theta * nvz / h2[:, None]
    du_dtheta = (resid_sum - theta * u * sum_nv) / h2
    dv = nv * (1.0 - 2.0 * mu)  # n d(mu(1-mu))/d eta
    dvz = problem.by_cluster_matrix(dv[:, None] * z)
    sum_dv = problem.by_cluster(dv)
    dh2_dbeta = theta * theta * (dvz + theta * sum_dv[:, None] * du_dbeta)
    dh2_dtheta = 2.0 * theta * sum_nv + theta * theta * sum_dv * (u + theta * du_dtheta)
    ds_dbeta = -0.5 * scale[:, None] ** 3 * dh2_dbeta
    ds_dtheta = -0.5 * scale**3 * dh2_dtheta
    pi = np.exp(logs - log_mult[None, :])  # K x G, sums to 1 over k
    grad_beta = (dh2_dbeta / h2[:, None]).sum(axis=0)
    grad_theta = float(np.sum(dh2_dtheta / h2))
    for k, zk in enumerate(nodes):
        uk = points[k]
        mu_k = special.expit(eta0 + theta * uk[cl])
        r_k = y - n * mu_k
        rsum = problem.by_cluster(r_k)
        partial_beta = -2.0 * problem.by_cluster_matrix(r_k[:, None] * z)
        partial_theta = -2.0 * uk * rsum
        h_u = 2.0 * uk - 2.0 * theta * rsum
        total_beta = partial_beta + h_u[:, None] * (du_dbeta + zk * ds_dbeta)
        total_theta = partial_theta + h_u * (du_dtheta + zk * ds_dtheta)
        grad_beta += (pi[k][:, None] * total_beta).sum(axis=0)
        grad_theta += float(np.sum(pi[k] * total_theta))
    return deviance, np.r_[grad_theta, grad_beta], u


def _hessian(problem: _Problem, params: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Central differences of the analytic gradient, symmetrised."""
    p = len(params)
    hess = np.empty((p, p))
    for j in range(p):
        step = 1e-5 * max(1.0, abs(params[j]))
        up, down = params.copy(), params.copy()
        up[j] += step
        down[j] -= step
        g_up = _evaluate(problem, up, start, True)[1]
        g_down = _evaluate(problem, down, start, True)[1]
        hess[:, j] = (g_up - g_down) / (2 * step)
    return (hess + hess.T) / 2


def _rule(nagq: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite rule for the standard normal density (weights sum to 1)."""
    if nagq == 1:
        return np.zeros(1), np.ones(1)
    nodes, weights = hermite_e.hermegauss(nagq)
    weights = weights / math.sqrt(2 * math.pi)
    nodes[np.abs(nodes) < 1e-14] = 0.0
    return nodes, weights


def glmm_deviance(
    z: np.ndarray,
    successes: np.ndarray,
    trials: np.ndarray,
    cluster: np.ndarray,
    theta: float,
    beta: np.ndarray,
    *,
    nagq: int = 1,
) -> float:
    """Return the approximate deviance (``-2 log L``) at given parameters.

    Exposed so that the approximation itself can be checked (against brute-force integration,
    or against the ``devfun`` of ``glmer``).

    Examples
    --------
    >>> import numpy as np
    >>> z = np.ones((2, 1))
    >>> round(glmm_deviance(z, np.array([3.0, 1.0]), np.array([5.0, 5.0]),
    ...                     np.array([0, 1]), 0.0, np.array([0.0])), 4)
    13.8629
    """
    problem = _make_problem(z, successes, trials, cluster, nagq)
    start = np.zeros(problem.n_clusters)
    return _evaluate(problem, np.r_[theta, beta], start, False)[0]


def _make_problem(z, successes, trials, cluster, nagq) -> _Problem:
    if not isinstance(nagq, int | np.integer) or isinstance(nagq, bool) or not 1 <= nagq <= 25:
        raise InvalidValueError(
            f"`nagq` must be an integer from 1 (Laplace) to 25 quadrature points; got {nagq!r}."
        )
    nodes, weights = _rule(int(nagq))
    cluster = np.asarray(cluster, dtype=np.int64)
    n_clusters = int(cluster.max()) + 1
    # cells sorted by cluster, so that per-cluster sums are contiguous (numpy.add.reduceat);
    # the deviance is a sum over cells, so their order changes nothing else
    order = np.argsort(cluster, kind="stable")
    cluster = cluster[order]
    starts = np.searchsorted(cluster, np.arange(n_clusters))
    every_cluster = bool(np.all(np.diff(np.r_[starts, len(cluster)]) > 0))
    return _Problem(
        z=np.ascontiguousarray(np.asarray(z, dtype=np.float64)[order]),
        y=np.asarray(successes, dtype=np.float64)[order],
        n=np.asarray(trials, dtype=np.float64)[order],
        cluster=cluster,
        n_clusters=n_clusters,
        nodes=nodes,
        weights=weights,
        starts=starts if every_cluster else None,
    )


@limited_blas
def fit_glmm(
    z: np.ndarray,
    names: tuple[str, ...],
    successes: np.ndarray,
    trials: np.ndarray,
    cluster: np.ndarray,
    *,
    nagq: int = 1,
    beta_start: np.ndarray | None = None,
    theta_start: float = 1.0,
    warn_singular: bool = True,
    need_vcov: bool = True,
    laplace: str = "lme4",
) -> GlmmFit:
    """Fit the random-intercept logistic model on binomial cells.

    Parameters
    ----------
    z : ndarray (cells x k)
        Full-rank fixed-effects design, one row per cell.
    names : tuple of str
        Column names of ``z``.
    successes, trials : ndarray (cells,)
        Events and rows in each cell.
    cluster : ndarray of int (cells,)
        Cluster code 0..G-1 of each cell.
    nagq : int, default 1
        Quadrature points per cluster: 1 is the Laplace approximation (``glmer``'s default);
        more points approximate the likelihood more closely (as ``glmer(nAGQ = K)``).
    beta_start : ndarray, optional
        Starting fixed effects (e.g. the logistic GLM's); zeros otherwise.
    theta_start : float, default 1.0
        Starting random-intercept SD (lme4 starts at 1).
    warn_singular : bool, default True
        Warn (:class:`~sfpc_eval.errors.SingularFitWarning`) when the SD is estimated at 0.
    need_vcov : bool, default True
        Compute the Hessian-based variance (randomization refits skip it).
    laplace : {"lme4", "exact"}, default "lme4"
        With ``nagq=1``: ``"lme4"`` maximises the Laplace deviance exactly as ``glmer``
        evaluates it (log-determinant at the penultimate PIRLS iterate, Hessian by lme4's
        central differences ``deriv12`` with step 1e-4, ``vcov`` = beta block of ``2 H^{-1}``;
        :mod:`sfpc_eval.trials.glmm_lme4`), so estimates and standard errors reproduce
        ``glmer``'s (SEs to within lme4's own rounding noise, about 1e-4 relative);
        ``"exact"`` maximises the Laplace approximation at the exact conditional modes with an
        analytic gradient and takes the Hessian from differences of that gradient. They differ
        by about 1e-3 relative.

    Returns
    -------
    GlmmFit

    Raises
    ------
    DesignError
        Fewer than 3 clusters, or the optimiser fails.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> cl = np.repeat(np.arange(8), 2)
    >>> x = np.tile([0.0, 1.0], 8)
    >>> n = np.full(16, 200.0)
    >>> p = 1 / (1 + np.exp(-(-1 + 0.5 * x + rng.normal(0, 0.4, 8)[cl])))
    >>> y = rng.binomial(200, p).astype(float)
    >>> z = np.column_stack([np.ones(16), x])
    >>> fit = fit_glmm(z, ("(intercept)", "x"), y, n, cl)
    >>> bool(fit.theta > 0), bool(abs(fit.beta[1] - 0.5) < 0.3)
    (True, True)
    """
    if laplace not in ("lme4", "exact"):
        raise InvalidValueError(f"`laplace` must be 'lme4' or 'exact'; got {laplace!r}.")
    problem = _make_problem(z, successes, trials, cluster, nagq)
    if problem.n_clusters < 3:
        raise DesignError(
            f"a random-intercept model needs at least 3 clusters to estimate the between-cluster "
            f"variance; the data have {problem.n_clusters}. Use model='glm' with "
            "randomization inference (inference=SteppedWedgeRandomization()), which is valid "
            "with any number of clusters."
        )
    k = problem.z.shape[1]
    beta0 = np.zeros(k) if beta_start is None else np.asarray(beta_start, dtype=np.float64)
    params = np.r_[float(theta_start), beta0]
    state = {"u": np.zeros(problem.n_clusters)}

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad, u = _evaluate(problem, x, state["u"], True)
        if np.all(np.isfinite(u)):
            state["u"] = u
        return value, grad

    result = optimize.minimize(
        fun, params, jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 2000}
    )
    params = result.x
    iterations = int(result.nit)
    value, grad = fun(params)
    # glmer's own deviance is maximised below from here (Newton on its exact gradient), so the
    # exact approximation needs no polish unless the fit is at or near the boundary
    lme4_route = laplace == "lme4" and problem.nodes.size == 1 and params[0] >= 10 * SINGULAR_TOL
    # Newton polish to machine precision
    params, value, grad, steps, _ = damped_newton(
        fun,
        lambda x: _hessian(problem, x, state["u"]),
        params,
        value,
        grad,
        max_steps=0 if lme4_route else 20,
        min_step=1e-6,
        rise=1e-10,
    )
    iterations += steps
    if not np.all(np.isfinite(params)):
        raise DesignError(
            "the mixed model did not converge (the estimates diverged); a common cause is "
            "perfect separation: an outcome that is always 0 or always 1 in a group of the design."
        )
    params[0] = abs(params[0])  # the deviance is even in theta
    u = _evaluate(problem, params, state["u"], False)[2]
    if laplace == "lme4" and problem.nodes.size == 1 and params[0] >= SINGULAR_TOL:
        # at theta = 0 the two Laplace evaluations coincide (L = 1 whatever the weights)
        params, value, vcov_full, u, extra = lme4_laplace(
            problem.z,
            problem.y,
            problem.n,
            problem.cluster,
            problem.n_clusters,
            params,
            None,
        )
        iterations += extra
    elif need_vcov:
        hess = _hessian(problem, params, u)
        vcov_full = _inverse_hessian(hess)
    else:
        vcov_full = np.full((k + 1, k + 1), np.nan)
    theta = float(params[0])
    fit = GlmmFit(
        names=tuple(names),
        beta=params[1:].copy(),
        theta=theta,
        vcov=vcov_full[1:, 1:],
        vcov_full=vcov_full,
        deviance=float(value),
        modes=theta * u,
        nagq=int(nagq),
        n_obs=round(float(problem.n.sum())),
        n_clusters=problem.n_clusters,
        iterations=iterations,
        z=np.asarray(z, dtype=np.float64),
        successes=np.asarray(successes, dtype=np.float64),
        trials=np.asarray(trials, dtype=np.float64),
        cluster=np.asarray(cluster, dtype=np.int64),
    )
    if warn_singular and fit.singular:
        warnings.warn(
            f"boundary (singular) fit: the between-cluster variance of the random intercept is "
            f"estimated as {theta**2:.3g} (SD {theta:.3g}), as glmer reports with "
            "isSingular(). The clusters look no more alike than chance; the fixed effects are "
            "then those of the logistic GLM. Consider model='glm' with cluster-robust (CR2) or "
            "randomization inference.",
            SingularFitWarning,
            stacklevel=2,
        )
    return fit


def _inverse_hessian(hess: np.ndarray) -> np.ndarray:
    """``2 H^{-1}``; at a boundary fit (zero curvature in theta) the beta block alone."""
    p = hess.shape[0]
    out = np.full((p, p), np.nan)
    if hess[0, 0] > 1e-8 * max(1.0, float(np.max(np.abs(np.diag(hess))))):
        try:
            out = 2.0 * np.linalg.inv(hess)
            if np.all(np.linalg.eigvalsh((out + out.T) / 2) > 0):
                return (out + out.T) / 2
        except np.linalg.LinAlgError:
            pass
    out[1:, 1:] = 2.0 * np.linalg.inv(hess[1:, 1:])
    return out
