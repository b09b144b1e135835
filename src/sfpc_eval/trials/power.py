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
from scipy import optimize, stats

from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.tables import Table, format_number
from sfpc_eval.trials.design import SteppedWedgeDesign
from sfpc_eval.trials.power_variance import (
    Decay,
    gls_variance,
    hooper_variance,
    hussey_hughes_variance,
    treatment_variance,
)

__all__ = [
    "PowerResult",
    "gls_variance",
    "hooper_variance",
    "hussey_hughes_variance",
    "sw_mdes",
    "sw_power",
    "treatment_variance",
]

Outcome = Literal["continuous", "binary"]


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
        scale (risk difference for binary outcomes, log rate ratio for counts).
    power : float
        Two-sided power at ``effect``.
    std_error : float
        Standard error of the treatment-effect estimate at ``effect``.
    alpha : float
        Two-sided significance level.
    outcome : {"continuous", "binary", "count"}
        ``"count"``: from :func:`~sfpc_eval.trials.power_counts.sw_power_counts`.
    icc, cac : float
        Intracluster correlation and cluster autocorrelation.
    decay : str
    sigma_e2, tau2 : float
        Variance components used.
    baseline_risk, intervention_risk : float
        Binary outcomes: the risks; counts: the expected events per child (NaN otherwise).
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
    def rate_ratio(self) -> float:
        """The effect as a rate ratio (count outcomes, whose effect is its log; NaN otherwise)."""
        return math.exp(self.effect) if self.outcome == "count" else math.nan

    @property
    def odds_ratio(self) -> float:
        """The effect as an odds ratio (binary outcomes; NaN otherwise)."""
        p0, p1 = self.baseline_risk, self.intervention_risk
        if math.isnan(p0) or self.outcome != "binary":
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
            (
                "design",
                f"{self.n_clusters} clusters x {self.n_periods} periods, "
                f"{format_number(self.n_individuals)} individuals",
            ),
            ("outcome", self.outcome),
            ("ICC / CAC", f"{format_number(self.icc)} / {format_number(self.cac)} ({self.decay})"),
            ("alpha (two-sided)", format_number(self.alpha)),
            ("method", self.method),
        ]
        effect_name = {"continuous": "effect", "count": "log rate ratio"}
        rows = [
            [effect_name.get(self.outcome, "risk difference"), format_number(self.effect)],
            ["standard error", format_number(self.std_error)],
            ["power", format_number(self.power)],
        ]
        if self.outcome == "binary":
            rows += [
                ["control risk", format_number(self.baseline_risk)],
                ["intervention risk", format_number(self.intervention_risk)],
                ["odds ratio", format_number(self.odds_ratio)],
                ["relative change", f"{100 * self.relative_change:.1f}%"],
            ]
        if self.outcome == "count":
            rows += [
                ["control events per child", format_number(self.baseline_risk)],
                ["intervention events per child", format_number(self.intervention_risk)],
                ["rate ratio", format_number(self.rate_ratio)],
            ]
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
    outcome: str,
    icc: float | None,
    tau: float | None,
    sd: float,
    p0: float | None,
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
        raise InvalidValueError(f"`outcome` must be 'continuous' or 'binary'; got {outcome!r}.")
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise InvalidValueError(f"`alpha` must be in (0, 1); got {alpha!r}.")
    if outcome == "binary" and not (
        isinstance(baseline_risk, int | float) and 0 < baseline_risk < 1
    ):
        raise InvalidValueError(
            "a binary outcome needs `baseline_risk`, the control-condition risk in (0, 1); "
            f"got {baseline_risk!r}."
        )


def _method(design: SteppedWedgeDesign, m: np.ndarray, cac: float, tau2: float, decay: str) -> str:
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
    var = treatment_variance(
        design,
        sigma_e2=sigma_e2,
        tau2=tau2,
        cac=cac,
        decay=decay,
        cluster_period_size=cluster_period_size,
    )
    m = design.sizes(cluster_period_size)
    se = math.sqrt(var)
    return PowerResult(
        solved_for="power",
        effect=float(effect),
        power=_power(effect, se, alpha),
        std_error=se,
        alpha=float(alpha),
        outcome=outcome,
        icc=icc_value,
        cac=float(cac),
        decay=decay,
        sigma_e2=sigma_e2,
        tau2=tau2,
        baseline_risk=p0,
        intervention_risk=p1,
        n_clusters=design.n_clusters,
        n_periods=design.n_periods,
        n_individuals=float(m.sum()),
        method=_method(design, m, cac, tau2, decay),
        design=design,
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
        raise InvalidValueError(f"`direction` must be 'decrease' or 'increase'; got {direction!r}.")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    kwargs = dict(
        outcome=outcome,
        icc=icc,
        tau=tau,
        sd=sd,
        baseline_risk=baseline_risk,
        cac=cac,
        decay=decay,
        cluster_period_size=cluster_period_size,
        alpha=alpha,
    )
    if outcome == "continuous":
        sigma_e2, tau2, _ = _components(outcome, icc, tau, sd, None, None)
        var = treatment_variance(
            design,
            sigma_e2=sigma_e2,
            tau2=tau2,
            cac=cac,
            decay=decay,
            cluster_period_size=cluster_period_size,
        )
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
