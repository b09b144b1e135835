r"""Laplace approximation for count-family mixed models with vector random effects per council.

For council :math:`i` with random effects :math:`b_i = \Lambda(\theta) u_i`,
:math:`u_i \sim N(0, I_q)` (:mod:`sfpc_eval.trials.structures`), and cells :math:`c` with
linear predictor :math:`\eta_c = x_c'\beta + a_c u_i` (:math:`a_c` the row of
:math:`Z\Lambda` for the cell), let :math:`h_i(u) = -2\sum_{c \in i}\ell_c(\eta_c) + \|u\|^2`
(:mod:`sfpc_eval.trials.families`), :math:`\hat u_i` its minimiser (the conditional mode) and
:math:`H_i = I_q + \sum_{c \in i} w_c a_c' a_c` half its Hessian there. The Laplace
approximation to minus twice the log-likelihood is

.. math::

    D(\theta, \beta, \psi) = \sum_i \bigl[h_i(\hat u_i) + \log\det H_i\bigr] - 2\,\text{const},

the same quantity ``glmer(nAGQ = 1)`` (at convergence of its inner loop) and ``glmmTMB``
minimise. Councils are independent, so the modes are found by Newton's method on all
councils at once (``G`` small ``q x q`` systems; ``q`` is at most ``1 + T``).

The gradient of :math:`D` in :math:`(\theta, \beta, \psi)` is analytic: the terms of
:math:`h` need only their partial derivatives (the mode is stationary), and the log-determinant
is differentiated through the mode by the implicit-function theorem,
:math:`d\hat u_i = H_i^{-1}\,\partial g_i` with :math:`g_i = \sum_c s_c a_c' - u_i`. The
minimum is found by BFGS and polished by Newton steps on a Hessian from central differences of
the gradient; as in ``lme4`` and ``glmmTMB`` the variance of the fixed effects is the
:math:`\beta` block of :math:`2 H^{-1}` over all parameters, so it carries the uncertainty of
the variance parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from sfpc_eval.errors import DesignError
from sfpc_eval.trials.families import Family
from sfpc_eval.trials.newton import damped_newton
from sfpc_eval.trials.structures import RandomEffects

__all__ = ["CellData", "LaplaceFit", "fit_laplace", "glm_start", "laplace_deviance"]


@dataclass(frozen=True, eq=False)
class CellData:
    """Cells (observations) of a count-family mixed model, sorted by council.

    ``x`` (cells x k) fixed-effects design; ``y`` events or counts; ``n`` binomial trials
    (1 for counts); ``offset`` log exposure (0 without); ``freq`` how many identical
    observations the cell stands for (1 when rows were summed into binomial or Poisson cells);
    ``cluster`` council codes 0..G-1 (non-decreasing); ``period`` and ``treated`` per cell.
    """

    x: np.ndarray
    y: np.ndarray
    n: np.ndarray
    offset: np.ndarray
    freq: np.ndarray
    cluster: np.ndarray
    period: np.ndarray
    treated: np.ndarray
    n_clusters: int
    starts: np.ndarray = field(repr=False)

    @classmethod
    def build(cls, x, y, n, offset, freq, cluster, period, treated) -> CellData:
        """Sort cells by council and record where each council's cells start."""
        cluster = np.asarray(cluster, dtype=np.int64)
        order = np.argsort(cluster, kind="stable")
        cl = cluster[order]
        n_clusters = int(cl.max()) + 1
        starts = np.searchsorted(cl, np.arange(n_clusters))
        if np.any(np.diff(np.r_[starts, len(cl)]) == 0):
            raise DesignError("a council has no cells")  # the caller's codes are dense
        f64 = np.float64
        return cls(
            x=np.asarray(x, dtype=f64)[order],
            y=np.asarray(y, dtype=f64)[order],
            n=np.asarray(n, dtype=f64)[order],
            offset=np.asarray(offset, dtype=f64)[order],
            freq=np.asarray(freq, dtype=f64)[order],
            cluster=cl,
            period=np.asarray(period, dtype=np.int64)[order],
            treated=np.asarray(treated, dtype=f64)[order],
            n_clusters=n_clusters,
            starts=starts,
        )

    def by_cluster(self, values: np.ndarray) -> np.ndarray:
        """Sum ``values`` (cells x ...) over each council's cells (G x ...)."""
        return np.add.reduceat(values, self.starts, axis=0)


@dataclass(frozen=True, eq=False)
class LaplaceFit:
    """A fitted count-family mixed model (see :func:`fit_laplace`).

    ``params`` stacks ``(theta, beta, psi)``; ``vcov_full`` is ``2 H^{-1}`` over them (NaN
    rows for parameters on the boundary); ``deviance`` is ``-2 log L`` with the family's
    constants, as R reports it; ``modes`` are the conditional modes of ``b`` (G x q).
    """

    structure: RandomEffects
    family: Family
    names: tuple[str, ...]
    theta: np.ndarray
    beta: np.ndarray
    psi: float
    params: np.ndarray
    vcov_full: np.ndarray = field(repr=False)
    deviance: float
    modes: np.ndarray = field(repr=False)
    iterations: int
    converged: bool
    boundary: bool

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters."""
        return self.structure.n_theta

    @property
    def vcov(self) -> np.ndarray:
        """Variance of the fixed effects ``beta``."""
        k = len(self.beta)
        return self.vcov_full[self.n_theta : self.n_theta + k, self.n_theta : self.n_theta + k]

    @property
    def std_errors(self) -> np.ndarray:
        """Standard errors of ``beta``."""
        return np.sqrt(np.diag(self.vcov))

    @property
    def loglik(self) -> float:
        """Laplace log-likelihood, ``-deviance / 2``."""
        return -self.deviance / 2


class _Model:
    """The Laplace deviance and its gradient for one data set, structure and family."""

    def __init__(self, data: CellData, structure: RandomEffects, family: Family):
        self.data, self.structure, self.family = data, structure, family
        self.slots, self.loads = structure.loadings(data.period, data.treated)
        self.k = data.x.shape[1]
        self.n_theta = structure.n_theta
        self.u = np.zeros((data.n_clusters, structure.q))
        self.fixed_psi: float | None = None

    @property
    def free_psi(self) -> bool:
        """The NB2 log size is a free parameter (not fixed at its upper bound)."""
        return self.family.has_dispersion and self.fixed_psi is None

    def split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        t, k = self.n_theta, self.k
        if self.fixed_psi is not None:
            psi = self.fixed_psi
        else:
            psi = float(params[t + k]) if self.family.has_dispersion else 0.0
        return params[:t], params[t : t + k], psi

    def rows(self, matrix: np.ndarray) -> np.ndarray:
        """Rows of ``Z Lambda`` (or of ``Z dLambda``) for every cell (cells x q)."""
        return (
            self.loads[:, :1] * matrix[self.slots[:, 0]]
            + self.loads[:, 1:] * matrix[self.slots[:, 1]]
        )

    def _terms(self, eta0, a, u, psi, derivatives=True):
        d = self.data
        eta = eta0 + np.einsum("cq,cq->c", a, u[d.cluster])
        return self.family.terms(eta, d.y, d.n, d.offset, d.freq, psi, derivatives=derivatives)

    def _h(self, eta0, a, u, psi) -> np.ndarray:
        terms = self._terms(eta0, a, u, psi, derivatives=False)
        return -2.0 * self.data.by_cluster(terms.loglik) + np.einsum("gq,gq->g", u, u)

    def modes(self, eta0: np.ndarray, a: np.ndarray, psi: float) -> np.ndarray:
        """Conditional modes of every council by safeguarded Newton (``h_i`` is convex)."""
        d = self.data
        u = self.u.copy()
        current = self._h(eta0, a, u, psi)
        eye = np.eye(a.shape[1])
        for _ in range(100):
            terms = self._terms(eta0, a, u, psi)
            grad = d.by_cluster(terms.score[:, None] * a) - u
            hess = eye + d.by_cluster(terms.weight[:, None, None] * a[:, :, None] * a[:, None, :])
            step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
            size = np.ones(len(u))
            for _ in range(60):
                candidate = u + size[:, None] * step
                value = self._h(eta0, a, candidate, psi)
                worse = value > current + 1e-13 * np.abs(current)
                if not worse.any():
                    break
                size = np.where(worse, size / 2, size)
            u, current = candidate, value
            if np.max(np.abs(size[:, None] * step)) <= 1e-13 * max(1.0, float(np.max(np.abs(u)))):
                break
        if np.all(np.isfinite(u)):
            self.u = u
        return u

    def evaluate(self, params: np.ndarray, gradient: bool = True):
        """Deviance (without the family constants) and its gradient at ``params``."""
        d = self.data
        theta, beta, psi = self.split(params)
        lam = self.structure.factor(theta)
        a = self.rows(lam)
        eta0 = d.x @ beta
        u = self.modes(eta0, a, psi)
        terms = self._terms(eta0, a, u, psi)
        hess = np.eye(a.shape[1]) + d.by_cluster(
            terms.weight[:, None, None] * a[:, :, None] * a[:, None, :]
        )
        _, logdet = np.linalg.slogdet(hess)
        deviance = float(-2.0 * terms.loglik.sum() + np.sum(u * u) + np.sum(logdet))
        if not gradient:
            return deviance, None
        hinv = np.linalg.inv(hess)
        p_rows = np.einsum("cqr,cr->cq", hinv[d.cluster], a)  # H^-1 a_c'
        lev = np.einsum("cq,cq->c", a, p_rows)
        w, dw, s = terms.weight, terms.dweight, terms.score
        r = d.by_cluster((dw * lev)[:, None] * a)
        rho = np.einsum("gqr,gr->gq", hinv, r)[d.cluster]  # H^-1 r per cell's council
        rho_a = np.einsum("cq,cq->c", rho, a)
        grad = []
        dlam = self.structure.factor_derivatives(theta)
        uc = u[d.cluster]
        for j in range(self.n_theta):
            da = self.rows(dlam[j])
            da_u = np.einsum("cq,cq->c", da, uc)
            direct = -2.0 * np.sum(s * da_u)
            direct += np.sum(2.0 * w * np.einsum("cq,cq->c", da, p_rows) + dw * da_u * lev)
            indirect = np.sum(s * np.einsum("cq,cq->c", rho, da) - w * da_u * rho_a)
            grad.append(direct + indirect)
        g_beta = d.x.T @ (-2.0 * s + dw * lev - w * rho_a)
        out = np.r_[grad, g_beta]
        if self.free_psi:
            g_psi = -2.0 * terms.loglik_psi.sum() + np.sum(terms.weight_psi * lev)
            g_psi += np.sum(terms.score_psi * rho_a)
            out = np.r_[out, g_psi]
        return deviance, out


def _hessian(model: _Model, params: np.ndarray) -> np.ndarray:
    """Central differences of the analytic gradient (step 1e-5 relative), symmetrised."""
    p = len(params)
    hess = np.empty((p, p))
    for j in range(p):
        step = 1e-5 * max(1.0, abs(params[j]))
        up, down = params.copy(), params.copy()
        up[j] += step
        down[j] -= step
        hess[:, j] = (model.evaluate(up)[1] - model.evaluate(down)[1]) / (2 * step)
    return (hess + hess.T) / 2


def laplace_deviance(
    data: CellData, structure: RandomEffects, family: Family, params: np.ndarray
) -> float:
    """``-2 log L`` (Laplace, with the family's constants) at ``params = (theta, beta, psi)``.

    Exposed so that the approximation can be checked against R's deviance functions and against
    brute-force integration.
    """
    model = _Model(data, structure, family)
    constant = family.constant(data.y, data.n, data.offset, data.freq)
    return model.evaluate(np.asarray(params, dtype=np.float64), gradient=False)[0] - 2 * constant


def fit_laplace(
    data: CellData,
    names: tuple[str, ...],
    structure: RandomEffects,
    family: Family,
    *,
    beta_start: np.ndarray,
    theta_start: np.ndarray | None = None,
    psi_start: float = 0.0,
    need_vcov: bool = True,
    constant: float | None = None,
) -> LaplaceFit:
    """Maximise the Laplace likelihood of a count-family mixed model on cells.

    Parameters
    ----------
    data : CellData
    names : tuple of str
        Names of the columns of ``data.x``.
    structure : RandomEffects
    family : Family
    beta_start : ndarray
        Starting fixed effects (the GLM's).
    theta_start : ndarray, optional
        Starting covariance parameters (``structure.start()`` by default).
    psi_start : float, default 0.0
        Starting log size of the negative binomial.
    need_vcov : bool, default True
        Compute the Hessian-based variance (randomization refits skip it).
    constant : float, optional
        The log-likelihood terms free of parameters (default: the family's, of the cells);
        row-level input passes that of its rows.

    Returns
    -------
    LaplaceFit
    """
    model = _Model(data, structure, family)
    if constant is None:
        constant = family.constant(data.y, data.n, data.offset, data.freq)
    theta0 = structure.start() if theta_start is None else np.asarray(theta_start, float)
    params = np.r_[theta0, np.asarray(beta_start, dtype=np.float64)]
    if family.has_dispersion:
        params = np.r_[params, psi_start]

    params, _, _, iterations, converged = _optimise(model, params)
    at_size_bound = model.free_psi and float(params[-1]) > MAX_LOG_SIZE
    if at_size_bound:
        # no extra-Poisson variation: the likelihood keeps rising towards the Poisson limit,
        # so the size is held at its bound and the rest refitted
        model.fixed_psi = MAX_LOG_SIZE
        params, _, _, more, converged = _optimise(model, params[:-1])
        iterations += more
    if not np.all(np.isfinite(params)):
        raise DesignError(
            "the mixed model did not converge (the estimates diverged); a common cause is an "
            "outcome that is always 0 (or always 1) in a group of the design."
        )
    t = structure.n_theta
    params[:t] = structure.canonical(params[:t])
    value, _ = _objective(model, params)
    drop = structure.boundary_positions(params[:t])
    boundary = bool(drop) or at_size_bound
    if need_vcov:
        hess = _hessian(model, params)
        vcov_full = inverse_hessian(hess, drop)
        if np.isnan(vcov_full[t, t]):  # no curvature left in theta: beta given theta
            vcov_full = inverse_hessian(hess, range(t))
        if np.isnan(vcov_full[t, t]):
            raise DesignError(
                "the mixed model's information matrix is singular even for the fixed effects "
                "alone: a regressor is not identified in these data."
            )
    else:
        vcov_full = np.full((len(params), len(params)), np.nan)
    theta, beta, psi = model.split(params)
    if at_size_bound:
        params = np.r_[params, psi]
        vcov_full = np.pad(vcov_full, ((0, 1), (0, 1)), constant_values=np.nan)
    return LaplaceFit(
        structure=structure,
        family=family,
        names=tuple(names),
        theta=theta.copy(),
        beta=beta.copy(),
        psi=psi,
        params=params.copy(),
        vcov_full=vcov_full,
        deviance=value - 2 * constant,
        modes=np.einsum("qr,gr->gq", structure.factor(theta), model.u),
        iterations=iterations,
        converged=converged,
        boundary=boundary,
    )


def _objective(model: _Model, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Deviance and gradient; inf where a trial step overflows (the line search steps back)."""
    with np.errstate(over="ignore", invalid="ignore"):
        value, grad = model.evaluate(x)
    if not np.isfinite(value) or not np.all(np.isfinite(grad)):
        return np.inf, np.zeros_like(x)
    return value, grad


def _optimise(model: _Model, params: np.ndarray):
    """BFGS, then Newton steps on a finite-difference Hessian of the analytic gradient."""

    def fun(x):
        return _objective(model, x)

    result = optimize.minimize(
        fun, params, jac=True, method="BFGS", options={"gtol": 1e-7, "maxiter": 5000}
    )
    params = result.x
    iterations = int(result.nit)
    value, grad = fun(params)
    params, value, grad, steps, converged = damped_newton(
        fun,
        lambda x: _hessian(model, x),
        params,
        value,
        grad,
        max_steps=30,
        min_step=1e-8,
        rise=1e-12,
    )
    iterations += steps
    converged = converged or float(np.max(np.abs(grad))) < 1e-4
    return params, value, grad, iterations, converged


MAX_LOG_SIZE = math.log(1e8)
"""Upper bound of the NB2 log size: beyond a size of 1e8 the model is the Poisson one (the
variance exceeds the mean by mu^2 / 1e8), and the size is reported at the bound."""


def inverse_hessian(hess: np.ndarray, drop: Sequence[int] = ()) -> np.ndarray:
    """``2 H^{-1}`` over the parameters not in ``drop`` (their rows and columns NaN).

    Parameters on the boundary are not interior maxima: they are held at their estimates, so
    the variance of the others is that given them (as glmer's ``vcov`` of a singular fit, which
    treats the fixed effects as given the zero variance). If the remaining Hessian is not
    positive definite, the fixed effects' block alone is inverted.
    """
    p = hess.shape[0]
    keep = [j for j in range(p) if j not in set(drop)]
    out = np.full((p, p), np.nan)
    block = hess[np.ix_(keep, keep)]
    try:
        inv = 2.0 * np.linalg.inv(block)
        inv = (inv + inv.T) / 2
        if np.all(np.linalg.eigvalsh(inv) > 0):
            out[np.ix_(keep, keep)] = inv
            return out
    except np.linalg.LinAlgError:
        pass
    return out


def glm_start(data: CellData, family: Family) -> tuple[np.ndarray, float]:
    """Fit the GLM without random effects (IRLS); return its fixed effects and an NB2 log size.

    For the negative binomial the Poisson fit is used, and the size from the moment estimate
    ``sum(mu^2) / sum((y - mu)^2 - mu)`` (clipped to [0.1, 1e4]).
    """
    x = data.x
    if family.name == "binomial":
        p = np.clip((data.y + 0.5) / (data.n + 1.0), 1e-6, 1 - 1e-6)
        eta = np.log(p / (1 - p))
    else:
        eta = np.log((data.y + 0.5) / np.exp(data.offset))
    beta = np.linalg.lstsq(x, eta, rcond=None)[0]
    for _ in range(100):
        eta = x @ beta
        if family.name == "binomial":
            mu = data.n / (1.0 + np.exp(-eta))
            w = data.freq * mu * (1.0 - mu / data.n)
        else:
            mu = np.exp(eta + data.offset)
            w = data.freq * mu
        grad = x.T @ (data.freq * (data.y - mu))
        step = np.linalg.solve(x.T @ (w[:, None] * x), grad)
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            raise DesignError(
                "the model without random effects diverged (an outcome that is always 0, or "
                "always at its maximum, in a group of the design)."
            )
        if np.max(np.abs(step)) < 1e-10:
            break
    psi = 0.0
    if family.has_dispersion:
        mu = np.exp(x @ beta + data.offset)
        excess = float(np.sum(data.freq * ((data.y - mu) ** 2 - mu)))
        size = float(np.sum(data.freq * mu**2)) / excess if excess > 0 else 1e4
        psi = float(np.log(np.clip(size, 0.1, 1e4)))
    return beta, psi
