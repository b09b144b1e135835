r"""Power and minimum detectable effect of a stepped-wedge trial (Hussey & Hughes 2007).

The model for the mean outcome of cluster :math:`i` in period :math:`t`, with :math:`m_{it}`
individuals, is (Hussey & Hughes 2007; Hooper et al. 2016; Kasza et al. 2019)

.. math::

    \bar y_{it} = \mu + \beta_t + \theta X_{it} + c_{it} + \bar e_{it},\qquad
    \operatorname{Var}(\bar e_{it}) = \sigma_e^2 / m_{it},\qquad
    \operatorname{Cov}(c_{it}, c_{is}) = \tau^2 r_{ts},

with period fixed effects :math:`\beta_t`, exposure :math:`X_{it}` (0, 1, or a fraction for a
partially exposed transition period), cluster-level variance :math:`\tau^2` and the cluster
autocorrelation (CAC) :math:`r_{ts}`: 1 for all periods (Hussey & Hughes: one random intercept
per cluster), ``cac`` between distinct periods (``decay="block"``: block-exchangeable, Hooper et
al. 2016; Girling & Hemming 2016), or ``cac ** |t - s|`` (``decay="exponential"``: the
"discrete-time decay" of Kasza et al. 2019). The intracluster correlation is
:math:`\rho = \tau^2 / (\tau^2 + \sigma_e^2)`.

The variance of the generalised least squares estimate of :math:`\theta` is the
:math:`(\theta, \theta)` element of the inverse information :math:`(Z'V^{-1}Z)^{-1}`. It is
computed cluster by cluster with closed-form inverses of each cluster's covariance matrix
(Sherman-Morrison for the exchangeable structures; for exponential decay, Woodbury's identity with
the tridiagonal precision matrix of the AR(1) process, whose irregular form also covers
incomplete designs), and the period effects are then profiled out (a Schur complement of
dimension ``periods``). For complete designs with equal cluster-period sizes the closed forms
are used instead: Hussey & Hughes' (2007) formula without decay, and the block-exchangeable
formula of Hooper et al. (2016) with ``decay="block"``. Cells that are not analysed
(NaN exposure: unobserved or excluded transition cells) are left out.

Binary outcomes are analysed on the risk scale (a linear probability model), as Hussey & Hughes
and ``swCRTdesign::swPwr`` do: :math:`\sigma_e^2 = \bar p (1 - \bar p)` with :math:`\bar p` the
average of the control and intervention risks, and :math:`\tau^2 = \rho\sigma_e^2 / (1-\rho)`.

Power is two-sided with a normal reference distribution,
:math:`\Phi(|\theta|/se - z_{1-\alpha/2}) + \Phi(-|\theta|/se - z_{1-\alpha/2})`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import linalg, optimize, stats

from sfpc_eval._tables import Table, format_number
from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.trials.design import SteppedWedgeDesign

__all__ = [
    "PowerResult",
    "gls_variance",
    "hooper_variance",
    "hussey_hughes_variance",
    "sw_mdes",
    "sw_power",
    "treatment_variance",
]

Decay = Literal["block", "exponential"]
Outcome = Literal["continuous", "binary"]


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


def _cluster_weights(
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
        w = _cluster_weights(sigma_e2 / m[i, times], tau2, cac, decay, times)
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


# ---------------------------------------------------------------------------- results
@dataclass(frozen=True)
class PowerResult:
    """Power (or minimum detectable effect) of a stepped-wedge design.

    Attributes
    ----------
    solved_for : {"power", "mdes"}
        What was computed.
    effect : float
        The effect: the one given (power) or the minimum detectable one (MDES), on the outcome
        scale (risk difference for binary outcomes).
    power : float
        Two-sided power at ``effect``.
    std_error : float
        Standard error of the treatment-effect estimate at ``effect``.
    alpha : float
        Two-sided significance level.
    outcome : {"continuous", "binary"}
    icc, cac : float
        Intracluster correlation and cluster autocorrelation.
    decay : str
    sigma_e2, tau2 : float
        Variance components used.
    baseline_risk, intervention_risk : float
        Binary outcomes only (NaN otherwise).
    n_clusters, n_periods, n_individuals : int or float
    method : str
        Which computation: Hussey & Hughes' closed form or the cluster-wise GLS information.
    """

    solved_for: str
    effect: float
    power: float
    std_error: float
    alpha: float
    outcome: str
    icc: float
    cac: float
    decay: str
    sigma_e2: float
    tau2: float
    baseline_risk: float
    intervention_risk: float
    n_clusters: int
    n_periods: int
    n_individuals: float
    method: str
    design: SteppedWedgeDesign = field(repr=False, compare=False)

    @property
    def odds_ratio(self) -> float:
        """The effect as an odds ratio (binary outcomes; NaN otherwise)."""
        p0, p1 = self.baseline_risk, self.intervention_risk
        if math.isnan(p0):
            return math.nan
        return (p1 / (1 - p1)) / (p0 / (1 - p0))

    @property
    def relative_change(self) -> float:
        """The effect as a relative change in risk, ``p1 / p0 - 1`` (binary; NaN otherwise)."""
        if math.isnan(self.baseline_risk):
            return math.nan
        return self.intervention_risk / self.baseline_risk - 1

    def tidy(self) -> pd.DataFrame:
        """Return one row with every input and result (columns named as the attributes)."""
        row = {
            "solved_for": self.solved_for,
            "effect": self.effect,
            "std_error": self.std_error,
            "power": self.power,
            "alpha": self.alpha,
            "outcome": self.outcome,
            "icc": self.icc,
            "cac": self.cac,
            "decay": self.decay,
            "baseline_risk": self.baseline_risk,
            "intervention_risk": self.intervention_risk,
            "odds_ratio": self.odds_ratio,
            "relative_change": self.relative_change,
            "sigma_e2": self.sigma_e2,
            "tau2": self.tau2,
            "n_clusters": self.n_clusters,
            "n_periods": self.n_periods,
            "n_individuals": self.n_individuals,
            "method": self.method,
        }
        return pd.DataFrame([row])

    def summary(self) -> Table:
        """Render as a table (``print`` it, or ``as_html()``/``as_markdown()``/``as_latex()``)."""
        title = (
            "Minimum detectable effect of a stepped-wedge trial"
            if self.solved_for == "mdes"
            else "Power of a stepped-wedge trial"
        )
        facts = [
            ("design", f"{self.n_clusters} clusters x {self.n_periods} periods, "
                       f"{format_number(self.n_individuals)} individuals"),
            ("outcome", self.outcome),
            ("ICC / CAC", f"{format_number(self.icc)} / {format_number(self.cac)} "
                          f"({self.decay})"),
            ("alpha (two-sided)", format_number(self.alpha)),
            ("method", self.method),
        ]
        rows = [["effect" if self.outcome == "continuous" else "risk difference",
                 format_number(self.effect)],
                ["standard error", format_number(self.std_error)],
                ["power", format_number(self.power)]]
        if self.outcome == "binary":
            rows += [["control risk", format_number(self.baseline_risk)],
                     ["intervention risk", format_number(self.intervention_risk)],
                     ["odds ratio", format_number(self.odds_ratio)],
                     ["relative change", f"{100 * self.relative_change:.1f}%"]]
        return Table(title, ["quantity", "value"], rows, facts=facts, notes=[])

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


# ---------------------------------------------------------------------------- public API
def _power(effect: float, se: float, alpha: float) -> float:
    z = stats.norm.ppf(1 - alpha / 2)
    ratio = abs(effect) / se
    return float(stats.norm.cdf(ratio - z) + stats.norm.cdf(-ratio - z))


def _components(
    outcome: str, icc: float | None, tau: float | None, sd: float, p0: float | None,
    p1: float | None,
) -> tuple[float, float, float]:
    """(sigma_e2, tau2, icc) for the outcome type."""
    if (icc is None) == (tau is None):
        raise InvalidValueError(
            "give exactly one of `icc` (intracluster correlation) and `tau` (between-cluster "
            f"standard deviation); got icc={icc!r}, tau={tau!r}."
        )
    if icc is not None and not (isinstance(icc, int | float) and 0 <= icc < 1):
        raise InvalidValueError(f"`icc` must be in [0, 1); got {icc!r}.")
    if tau is not None and not (isinstance(tau, int | float) and tau >= 0):
        raise InvalidValueError(f"`tau` must be a non-negative number; got {tau!r}.")
    if outcome == "continuous":
        if not (isinstance(sd, int | float) and sd > 0):
            raise InvalidValueError(f"`sd` must be a positive number; got {sd!r}.")
        if icc is not None:
            return (1 - icc) * sd**2, icc * sd**2, float(icc)
        sigma_e2 = float(sd) ** 2
        return sigma_e2, float(tau) ** 2, float(tau) ** 2 / (float(tau) ** 2 + sigma_e2)
    pbar = (p0 + p1) / 2  # type: ignore[operator]
    sigma_e2 = pbar * (1 - pbar)
    if icc is not None:
        return sigma_e2, icc * sigma_e2 / (1 - icc), float(icc)
    return sigma_e2, float(tau) ** 2, float(tau) ** 2 / (float(tau) ** 2 + sigma_e2)


def _check_common(design: Any, outcome: str, alpha: float, baseline_risk: float | None) -> None:
    if not isinstance(design, SteppedWedgeDesign):
        raise InvalidValueError(
            f"`design` must be a SteppedWedgeDesign; got {type(design).__name__}."
        )
    if outcome not in ("continuous", "binary"):
        raise InvalidValueError(
            f"`outcome` must be 'continuous' or 'binary'; got {outcome!r}."
        )
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise InvalidValueError(f"`alpha` must be in (0, 1); got {alpha!r}.")
    if outcome == "binary" and not (
        isinstance(baseline_risk, int | float) and 0 < baseline_risk < 1
    ):
        raise InvalidValueError(
            "a binary outcome needs `baseline_risk`, the control-condition risk in (0, 1); "
            f"got {baseline_risk!r}."
        )


def _method(design: SteppedWedgeDesign, m: np.ndarray, cac: float, tau2: float,
            decay: str) -> str:
    if design.is_complete and np.ptp(m) == 0:
        if cac == 1.0 or tau2 == 0.0:
            return "Hussey & Hughes (2007) closed form"
        if decay == "block":
            return "Hooper et al. (2016) closed form (block-exchangeable)"
    return "GLS information, cluster-wise closed-form inverses"


def sw_power(
    design: SteppedWedgeDesign,
    *,
    effect: float,
    outcome: Outcome = "continuous",
    icc: float | None = None,
    tau: float | None = None,
    sd: float = 1.0,
    baseline_risk: float | None = None,
    cac: float = 1.0,
    decay: Decay = "block",
    cluster_period_size: Any = None,
    alpha: float = 0.05,
) -> PowerResult:
    """Power of a stepped-wedge design to detect ``effect`` (Hussey & Hughes 2007).

    Parameters
    ----------
    design : SteppedWedgeDesign
        The rollout schedule (with cluster-period sizes, or pass ``cluster_period_size``).
    effect : float
        The effect to detect: a difference in means (continuous), or a risk difference
        (binary: intervention risk minus ``baseline_risk``; negative for a reduction).
    outcome : {"continuous", "binary"}, default "continuous"
    icc : float, optional
        Intracluster correlation within a period. Give this or ``tau``.
    tau : float, optional
        Between-cluster standard deviation (instead of ``icc``).
    sd : float, default 1.0
        Continuous outcomes: total standard deviation when ``icc`` is given (so ``effect`` in
        SD units with the default), residual standard deviation when ``tau`` is given.
    baseline_risk : float, optional
        Binary outcomes: the control-condition risk.
    cac : float, default 1.0
        Cluster autocorrelation (1: Hussey & Hughes' single random intercept).
    decay : {"block", "exponential"}, default "block"
        Correlation between periods: ``cac``, or ``cac ** |t - s|``.
    cluster_period_size : optional
        Individuals per cluster-period (one number, per cluster, or clusters x periods),
        overriding the design's sizes.
    alpha : float, default 0.05
        Two-sided significance level.

    Returns
    -------
    PowerResult

    Raises
    ------
    InvalidValueError
        Missing or out-of-range parameters (each message names the argument).
    DesignError
        A design in which the effect is not identified.

    Examples
    --------
    Hussey & Hughes' (2007) example, as printed by ``swCRTdesign::swPwr`` (0.7861896):

    >>> d = SteppedWedgeDesign.complete([6, 6, 6, 6], cluster_period_size=120)
    >>> res = sw_power(d, effect=-0.015, outcome="binary", baseline_risk=0.05, tau=0.01)
    >>> round(res.power, 7)
    0.7861896
    """
    _check_common(design, outcome, alpha, baseline_risk)
    if not (isinstance(effect, int | float) and math.isfinite(effect)):
        raise InvalidValueError(f"`effect` must be a finite number; got {effect!r}.")
    p0 = p1 = math.nan
    if outcome == "binary":
        p0, p1 = float(baseline_risk), float(baseline_risk) + float(effect)  # type: ignore[arg-type]
        if not 0 < p1 < 1:
            raise InvalidValueError(
                f"`baseline_risk` + `effect` = {p1:g} is not a risk in (0, 1); give the effect "
                "as a risk difference (e.g. -0.01 for one percentage point lower)."
            )
    sigma_e2, tau2, icc_value = _components(outcome, icc, tau, sd, p0, p1)
    var = treatment_variance(design, sigma_e2=sigma_e2, tau2=tau2, cac=cac, decay=decay,
                             cluster_period_size=cluster_period_size)
    m = design.sizes(cluster_period_size)
    se = math.sqrt(var)
    return PowerResult(
        solved_for="power", effect=float(effect), power=_power(effect, se, alpha),
        std_error=se, alpha=float(alpha), outcome=outcome, icc=icc_value, cac=float(cac),
        decay=decay, sigma_e2=sigma_e2, tau2=tau2, baseline_risk=p0, intervention_risk=p1,
        n_clusters=design.n_clusters, n_periods=design.n_periods,
        n_individuals=float(m.sum()), method=_method(design, m, cac, tau2, decay), design=design,
    )


def sw_mdes(
    design: SteppedWedgeDesign,
    *,
    power: float = 0.8,
    outcome: Outcome = "continuous",
    icc: float | None = None,
    tau: float | None = None,
    sd: float = 1.0,
    baseline_risk: float | None = None,
    direction: Literal["decrease", "increase"] = "decrease",
    cac: float = 1.0,
    decay: Decay = "block",
    cluster_period_size: Any = None,
    alpha: float = 0.05,
) -> PowerResult:
    r"""Minimum detectable effect of a stepped-wedge design at the target ``power``.

    For a continuous outcome the standard error does not depend on the effect and the MDES is
    the closed form :math:`(z_{1-\alpha/2} + z_{power})\,se` (ignoring the far tail of the
    two-sided test, which adds less than :math:`\Phi(-2 z_{1-\alpha/2} - z_{power})` to the
    power; the exact two-sided power at the MDES is reported). For a binary outcome on the risk
    scale the residual variance depends on the intervention risk, so the same equation is
    solved numerically for the risk difference.

    Parameters
    ----------
    design : SteppedWedgeDesign
    power : float, default 0.8
        Target power in (alpha, 1).
    outcome, icc, tau, sd, baseline_risk, cac, decay, cluster_period_size, alpha
        As in :func:`sw_power`.
    direction : {"decrease", "increase"}, default "decrease"
        Binary outcomes: whether the intervention lowers or raises the risk.

    Returns
    -------
    PowerResult
        ``effect`` is the MDES: positive for continuous outcomes; the signed risk difference
        for binary outcomes (with ``odds_ratio`` and ``relative_change``).

    Examples
    --------
    >>> d = SteppedWedgeDesign.complete([1, 1, 1, 1, 1], cluster_period_size=1000)
    >>> res = sw_mdes(d, outcome="binary", baseline_risk=0.05, icc=0.02)
    >>> round(res.effect, 4), round(res.power, 3)
    (-0.0119, 0.8)
    """
    _check_common(design, outcome, alpha, baseline_risk)
    if not (isinstance(power, int | float) and alpha < power < 1):
        raise InvalidValueError(f"`power` must be between alpha ({alpha}) and 1; got {power!r}.")
    if direction not in ("decrease", "increase"):
        raise InvalidValueError(
            f"`direction` must be 'decrease' or 'increase'; got {direction!r}."
        )
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    kwargs = dict(outcome=outcome, icc=icc, tau=tau, sd=sd, baseline_risk=baseline_risk,
                  cac=cac, decay=decay, cluster_period_size=cluster_period_size, alpha=alpha)
    if outcome == "continuous":
        sigma_e2, tau2, _ = _components(outcome, icc, tau, sd, None, None)
        var = treatment_variance(design, sigma_e2=sigma_e2, tau2=tau2, cac=cac, decay=decay,
                                 cluster_period_size=cluster_period_size)
        effect = z * math.sqrt(var)
    else:
        p0 = float(baseline_risk)  # type: ignore[arg-type]
        sign = -1.0 if direction == "decrease" else 1.0
        room = p0 if sign < 0 else 1 - p0

        def gap(d: float) -> float:
            res = sw_power(design, effect=sign * d, **kwargs)  # type: ignore[arg-type]
            return d - z * res.std_error

        hi = room * (1 - 1e-9)
        if gap(hi) < 0:
            raise DesignError(
                f"no risk difference up to {room:g} reaches power {power} with this design "
                "(too few individuals or too high an ICC); report the power at the largest "
                "plausible effect instead."
            )
        effect = sign * optimize.brentq(gap, 1e-12, hi, xtol=1e-14, rtol=1e-12)
    res = sw_power(design, effect=effect, **kwargs)  # type: ignore[arg-type]
    return _replace(res, solved_for="mdes")


def _replace(res: PowerResult, **changes: Any) -> PowerResult:
    from dataclasses import replace

    return replace(res, **changes)
