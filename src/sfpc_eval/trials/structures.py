r"""Random-effect structures of the stepped-wedge mixed models.

Each council (cluster) :math:`i` carries a vector of random effects :math:`b_i = \Lambda(\theta)
u_i` with :math:`u_i \sim N(0, I_q)` (lme4's parameterisation: :math:`\Lambda` is a Cholesky
factor of the random effects' covariance); a cell of council :math:`i` in period :math:`t` adds
at most two entries of :math:`b_i` to its linear predictor.

``"intercept"``
    One random intercept per council, :math:`q = 1`, :math:`\theta = (\sigma_c)`:
    ``(1 | council)``. The correlation between periods of a council (the cluster
    autocorrelation, CAC) is 1.
``"nested"``
    Nested exchangeable (Hooper et al. 2016): a council intercept and a council-by-period
    intercept, :math:`q = 1 + T`, :math:`\theta = (\sigma_c, \sigma_{cp})`:
    ``(1 | council) + (1 | council:period)``. CAC :math:`= \sigma_c^2 / (\sigma_c^2 +
    \sigma_{cp}^2)` for every pair of periods.
``"decay"``
    Exponential decay (Kasza et al. 2019's discrete-time decay): the council-by-period effects
    follow a stationary AR(1) process over the periods, :math:`\operatorname{Cov}(b_{it},
    b_{is}) = \sigma^2\rho^{|t-s|}`, :math:`q = T`, :math:`\theta = (\sigma,
    \operatorname{atanh}\rho)`: glmmTMB's ``ar1(period + 0 | council)``. CAC :math:`=\rho` at a
    lag of one period, :math:`\rho^{k}` at lag :math:`k`. Needs at least 3 periods.
``"slope"``
    A random intercept and a random treatment effect per council, correlated, :math:`q = 2`,
    :math:`\theta` the lower-triangular Cholesky factor :math:`(l_{11}, l_{21}, l_{22})`:
    ``(treated | council)``.

Every council has all :math:`T` periods' effects, whether or not it has data in each: effects
that no observation loads integrate out exactly, under the Laplace approximation too, so the
likelihood is that of the observed cells (as glmmTMB's with its full factor levels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["STRUCTURES", "RandomEffects", "StructureName"]

StructureName = Literal["intercept", "nested", "decay", "slope"]
STRUCTURES: tuple[str, ...] = ("intercept", "nested", "decay", "slope")
"""Names accepted by ``stepped_wedge(random_effects=...)``."""

MAX_ATANH = 12.0
"""Cap on ``|atanh(rho)|`` (``|rho| < 1 - 7e-11``): beyond it the AR(1) is a random intercept."""


@dataclass(frozen=True)
class RandomEffects:
    """One of :data:`STRUCTURES` for a trial with ``n_periods`` periods.

    Examples
    --------
    >>> re = RandomEffects("decay", 4)
    >>> re.q, re.theta_names
    (4, ('sd_cluster_period', 'atanh_cac'))
    >>> lam = re.factor(np.array([2.0, math.atanh(0.5)]))
    >>> np.round(lam @ lam.T / 4, 4)[0]
    array([1.   , 0.5  , 0.25 , 0.125])
    """

    name: str
    n_periods: int

    @property
    def q(self) -> int:
        """Random effects per council."""
        return {"intercept": 1, "nested": 1 + self.n_periods, "decay": self.n_periods, "slope": 2}[
            self.name
        ]

    @property
    def theta_names(self) -> tuple[str, ...]:
        """Names of the covariance parameters, in the order of ``theta``."""
        return {
            "intercept": ("sd_cluster",),
            "nested": ("sd_cluster", "sd_cluster_period"),
            "decay": ("sd_cluster_period", "atanh_cac"),
            "slope": ("chol_11", "chol_21", "chol_22"),
        }[self.name]

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters."""
        return len(self.theta_names)

    @property
    def sd_positions(self) -> tuple[int, ...]:
        """Positions in ``theta`` of scale parameters (the deviance is even in each)."""
        return {"intercept": (0,), "nested": (0, 1), "decay": (0,), "slope": ()}[self.name]

    def start(self) -> np.ndarray:
        """Return starting values: SDs 0.5 (0.25 for the nested council-period SD), rho 0.5."""
        return {
            "intercept": np.array([0.5]),
            "nested": np.array([0.5, 0.25]),
            "decay": np.array([0.5, math.atanh(0.5)]),
            "slope": np.array([0.5, 0.0, 0.25]),
        }[self.name]

    def loadings(self, period: np.ndarray, treated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each cell, the two entries of its council's ``b`` it loads and their values.

        ``period`` are 0-based period codes, ``treated`` the exposure (used by ``"slope"``).
        Unused second entries load 0.
        """
        m = len(period)
        slots = np.zeros((m, 2), dtype=np.int64)
        loads = np.zeros((m, 2))
        loads[:, 0] = 1.0
        if self.name == "nested":
            slots[:, 1] = 1 + period
            loads[:, 1] = 1.0
        elif self.name == "decay":
            slots[:, 0] = period
        elif self.name == "slope":
            slots[:, 1] = 1
            loads[:, 1] = treated
        return slots, loads

    def factor(self, theta: np.ndarray) -> np.ndarray:
        """Return the Cholesky factor ``Lambda(theta)`` (q x q, lower triangular)."""
        if self.name == "intercept":
            return np.array([[theta[0]]])
        if self.name == "nested":
            return np.diag(np.r_[theta[0], np.full(self.n_periods, theta[1])])
        if self.name == "decay":
            return theta[0] * _ar1_cholesky(math.tanh(_clip(theta[1])), self.n_periods)[0]
        return np.array([[theta[0], 0.0], [theta[1], theta[2]]])

    def factor_derivatives(self, theta: np.ndarray) -> np.ndarray:
        """``d Lambda / d theta_j`` stacked (n_theta x q x q)."""
        q = self.q
        out = np.zeros((self.n_theta, q, q))
        if self.name == "intercept":
            out[0, 0, 0] = 1.0
        elif self.name == "nested":
            out[0, 0, 0] = 1.0
            out[1, np.arange(1, q), np.arange(1, q)] = 1.0
        elif self.name == "decay":
            rho = math.tanh(_clip(theta[1]))
            chol, dchol = _ar1_cholesky(rho, self.n_periods)
            out[0] = chol
            out[1] = theta[0] * dchol * (1.0 - rho * rho)
        else:
            out[0, 0, 0] = out[1, 1, 0] = out[2, 1, 1] = 1.0
        return out

    def canonical(self, theta: np.ndarray) -> np.ndarray:
        """Return the equivalent ``theta`` with non-negative SDs (the deviance is the same)."""
        out = np.array(theta, dtype=np.float64)
        if self.name == "slope":
            if out[0] < 0:
                out[:2] = -out[:2]
            out[2] = abs(out[2])
        else:
            out[list(self.sd_positions)] = np.abs(out[list(self.sd_positions)])
        if self.name == "decay":
            out[1] = _clip(out[1])
        return out

    def covariance_parameters(
        self, theta: np.ndarray, scale: float = 1.0
    ) -> tuple[np.ndarray, list[np.ndarray], list[list[np.ndarray]]]:
        """Return ``Psi = scale^2 Lambda Lambda'`` and its derivatives in natural parameters.

        The derivatives are ``d Psi / d tau_r`` and ``d^2 Psi / d tau_r d tau_s``.

        ``tau`` are variances and covariances (``"intercept"``: the council variance;
        ``"nested"``: council and council-by-period variances; ``"slope"``: intercept
        variance, covariance, slope variance), in which ``Psi`` is linear, except for
        ``"decay"``: the variance and the AR(1) correlation ``rho``. These are the
        parameters of the Kenward-Roger adjustment (:mod:`sfpc_eval.trials.kenward_roger`).

        Examples
        --------
        >>> psi, first, second = RandomEffects("decay", 3).covariance_parameters(
        ...     np.array([1.0, math.atanh(0.5)]))
        >>> np.round(first[1], 3)[0].tolist()
        [0.0, 1.0, 1.0]
        """
        lam = self.factor(theta) * scale
        psi = lam @ lam.T
        q = self.q
        zero = np.zeros((q, q))
        if self.name == "decay":
            t = self.n_periods
            rho = math.tanh(_clip(theta[1]))
            variance = psi[0, 0]
            lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t))).astype(float)
            corr = rho**lag
            d_rho = np.where(lag > 0, lag * rho ** np.maximum(lag - 1, 0), 0.0)
            d2_rho = np.where(lag > 1, lag * (lag - 1) * rho ** np.maximum(lag - 2, 0), 0.0)
            return psi, [corr, variance * d_rho], [[zero, d_rho], [d_rho, variance * d2_rho]]
        if self.name == "slope":
            basis = [np.zeros((2, 2)) for _ in range(3)]
            basis[0][0, 0] = 1.0
            basis[1][0, 1] = basis[1][1, 0] = 1.0
            basis[2][1, 1] = 1.0
        elif self.name == "nested":
            basis = [np.zeros((q, q)), np.zeros((q, q))]
            basis[0][0, 0] = 1.0
            basis[1][np.arange(1, q), np.arange(1, q)] = 1.0
        else:
            basis = [np.ones((1, 1))]
        n = len(basis)
        return psi, basis, [[zero] * n for _ in range(n)]

    def boundary_positions(self, theta: np.ndarray, tol: float = 1e-4) -> tuple[int, ...]:
        """Positions in ``theta`` on the boundary of the parameter space (``()``: interior).

        An SD (or Cholesky diagonal entry) below ``tol`` (as ``lme4::isSingular``), with the
        parameters it makes unidentifiable: the AR(1) correlation when the SD is zero, the
        slope's covariance when its intercept SD is; and an AR(1) correlation at +-1.
        """
        t = np.abs(np.asarray(theta, dtype=np.float64))
        if self.name == "slope":
            out = {0, 1} if t[0] < tol else set()
            return tuple(sorted(out | ({2} if t[2] < tol else set())))
        if self.name == "decay":
            if t[0] < tol:
                return (0, 1)
            return (1,) if t[1] > MAX_ATANH - 1e-3 else ()
        return tuple(j for j in range(self.n_theta) if t[j] < tol)

    def components(self, theta: np.ndarray) -> dict[str, float]:
        """Return the standard deviations and correlations, named for reporting."""
        t = self.canonical(theta)
        if self.name == "intercept":
            return {"sd_cluster": float(t[0])}
        if self.name == "nested":
            return {"sd_cluster": float(t[0]), "sd_cluster_period": float(t[1])}
        if self.name == "decay":
            return {"sd_cluster_period": float(t[0]), "cac": math.tanh(float(t[1]))}
        sd0 = math.hypot(0.0, t[0])
        sd1 = math.hypot(t[1], t[2])
        corr = t[0] * t[1] / (sd0 * sd1) if sd0 > 0 and sd1 > 0 else 0.0
        return {"sd_cluster": sd0, "sd_slope": sd1, "corr_slope": float(corr)}


def _clip(value: float) -> float:
    return float(min(max(value, -MAX_ATANH), MAX_ATANH))


def _ar1_cholesky(rho: float, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factor ``C`` of ``R_ts = rho^|t-s|`` (t x t) and ``dC / d rho``.

    ``C[t, 0] = rho^t``; ``C[t, s] = rho^(t-s) sqrt(1 - rho^2)`` for ``1 <= s <= t``: the
    AR(1) recursion ``b_t = rho b_{t-1} + sqrt(1 - rho^2) u_t`` with ``b_0 = u_0``.
    """
    lag = np.subtract.outer(np.arange(t), np.arange(t))
    lower = lag >= 0
    lag_pos = np.where(lower, lag, 0)
    power = np.where(lower, rho**lag_pos, 0.0)
    dpower = np.where(lower & (lag_pos > 0), lag_pos * rho ** np.maximum(lag_pos - 1, 0), 0.0)
    root = math.sqrt(max(1.0 - rho * rho, 0.0))
    scale = np.full(t, root)
    scale[0] = 1.0
    dscale = np.full(t, -rho / root if root > 0 else 0.0)
    dscale[0] = 0.0
    chol = power * scale[None, :]
    dchol = dpower * scale[None, :] + power * dscale[None, :]
    return chol, dchol
