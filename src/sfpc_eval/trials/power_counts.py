"""Power and minimum detectable rate ratio of a stepped-wedge trial with a count outcome.

The analysis models of count outcomes are Poisson and negative binomial (NB2) GLMMs with a log
link and an offset for each child's exposure (days at risk, or one per child), so the effect is
a log rate ratio. The power follows the same working linear model as the binary and continuous
closed forms of :mod:`sfpc_eval.trials.power` (Hussey and Hughes 2007; Hooper et al. 2016 for
decaying correlation), on the log scale: a child with expected count ``mu`` contributes
variance ``1 / mu`` to the log of a cluster-period mean (the delta method for a Poisson count),
plus ``1 / size`` for NB2 counts (variance ``mu + mu^2 / size``), and the council effects have
standard deviation ``tau`` on the log scale. As the binary form takes the risk midway between
the arms, ``mu`` is the count midway between control and intervention. The formulas use the
normal reference; with 4-5 councils a t reference loses some power, which
:func:`~sfpc_eval.trials.simpower.simulated_power`-style checks show
(``tests/fixtures/stepped_wedge/make_count_power.py``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from scipy import optimize, stats

from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.trials.design import SteppedWedgeDesign
from sfpc_eval.trials.power import PowerResult, _method, _power
from sfpc_eval.trials.power_variance import treatment_variance

__all__ = ["count_variance", "sw_mdes_counts", "sw_power_counts"]


def count_variance(baseline_rate: float, rate_ratio: float, exposure: float, size: float | None):
    """Working variance of one child's contribution on the log scale, ``1 / mu + 1 / size``.

    Examples
    --------
    >>> round(count_variance(0.2, 0.5, 1.0, None), 4)  # mu = 0.2 * (1 + 0.5) / 2 = 0.15
    6.6667
    >>> round(count_variance(0.2, 0.5, 1.0, 2.0), 4)
    7.1667
    """
    mu = baseline_rate * exposure * (1 + rate_ratio) / 2
    return 1 / mu + (0.0 if size is None else 1 / size)


def _check(design, baseline_rate, exposure, size, tau, alpha) -> None:
    if not isinstance(design, SteppedWedgeDesign):
        raise InvalidValueError(
            f"`design` must be a SteppedWedgeDesign; got {type(design).__name__}."
        )
    for name, value in (("baseline_rate", baseline_rate), ("exposure", exposure)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise InvalidValueError(
                f"`{name}` must be a positive number (events per unit of exposure per child, "
                f"and each child's exposure); got {value!r}."
            )
    if size is not None and not (isinstance(size, int | float) and 0 < size < math.inf):
        raise InvalidValueError(
            f"`size` (the NB2 dispersion: variance mu + mu^2 / size) must be a positive "
            f"number, or None for Poisson counts; got {size!r}."
        )
    if not (isinstance(tau, int | float) and math.isfinite(tau) and tau >= 0):
        raise InvalidValueError(
            f"`tau` (SD of the council effects on the log scale) must be a non-negative "
            f"number; got {tau!r}."
        )
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise InvalidValueError(f"`alpha` must be in (0, 1); got {alpha!r}.")


def sw_power_counts(
    design: SteppedWedgeDesign,
    *,
    rate_ratio: float,
    baseline_rate: float,
    tau: float,
    exposure: float = 1.0,
    size: float | None = None,
    cac: float = 1.0,
    decay: str = "block",
    cluster_period_size: Any = None,
    alpha: float = 0.05,
) -> PowerResult:
    """Power of a stepped-wedge design to detect a rate ratio in a count outcome.

    Parameters
    ----------
    design : SteppedWedgeDesign
        The rollout schedule (with cluster-period sizes: children, or pass
        ``cluster_period_size``).
    rate_ratio : float
        The rate ratio to detect (intervention over control; 0.8 for 20% fewer events).
    baseline_rate : float
        Control-condition events per unit of exposure per child.
    tau : float
        SD of the council effects on the log scale (the GLMM's random-intercept SD).
    exposure : float, default 1.0
        Each child's exposure (e.g. years at risk) in the units of ``baseline_rate``.
    size : float, optional
        NB2 dispersion (``glmmTMB``'s ``sigma``; variance ``mu + mu^2 / size``); None for
        Poisson counts.
    cac, decay, cluster_period_size, alpha
        As in :func:`~sfpc_eval.trials.power.sw_power`; ``cac`` and ``decay`` describe the
        council-by-period effects.

    Returns
    -------
    PowerResult
        ``outcome="count"``; ``effect`` is the log rate ratio (``rate_ratio`` gives it back),
        ``sigma_e2`` the working variance per child.

    Raises
    ------
    InvalidValueError
        A rate ratio, rate, exposure, size or tau that is not a positive (tau: non-negative)
        number; and whatever :func:`~sfpc_eval.trials.power_variance.treatment_variance`
        refuses.

    Examples
    --------
    >>> d = SteppedWedgeDesign.complete([1, 1, 1, 1, 1], cluster_period_size=300)
    >>> res = sw_power_counts(d, rate_ratio=0.8, baseline_rate=0.2, tau=0.1)
    >>> round(res.power, 3), round(res.rate_ratio, 2)
    (0.773, 0.8)
    """
    _check(design, baseline_rate, exposure, size, tau, alpha)
    if not (isinstance(rate_ratio, int | float) and 0 < rate_ratio < math.inf):
        raise InvalidValueError(f"`rate_ratio` must be a positive number; got {rate_ratio!r}.")
    sigma_e2 = count_variance(float(baseline_rate), float(rate_ratio), float(exposure), size)
    tau2 = float(tau) ** 2
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
    effect = math.log(rate_ratio)
    family = "Poisson" if size is None else f"negative binomial (size {size:g})"
    return PowerResult(
        solved_for="power",
        effect=effect,
        power=_power(effect, se, alpha),
        std_error=se,
        alpha=float(alpha),
        outcome="count",
        icc=tau2 / (tau2 + sigma_e2),
        cac=float(cac),
        decay=decay,
        sigma_e2=sigma_e2,
        tau2=tau2,
        baseline_risk=float(baseline_rate) * float(exposure),
        intervention_risk=float(baseline_rate) * float(exposure) * float(rate_ratio),
        n_clusters=design.n_clusters,
        n_periods=design.n_periods,
        n_individuals=float(m.sum()),
        method=f"{_method(design, m, cac, tau2, decay)}, {family} counts on the log scale",
        design=design,
    )


def sw_mdes_counts(
    design: SteppedWedgeDesign,
    *,
    baseline_rate: float,
    tau: float,
    power: float = 0.8,
    direction: str = "decrease",
    **options: Any,
) -> PowerResult:
    """Smallest rate ratio detectable with ``power`` (a decrease by default).

    Parameters
    ----------
    design, baseline_rate, tau
        As in :func:`sw_power_counts`.
    power : float, default 0.8
    direction : {"decrease", "increase"}, default "decrease"
    **options
        ``exposure``, ``size``, ``cac``, ``decay``, ``cluster_period_size``, ``alpha`` as in
        :func:`sw_power_counts`.

    Returns
    -------
    PowerResult
        ``solved_for="mdes"``; ``rate_ratio`` is the minimum detectable rate ratio.

    Examples
    --------
    >>> d = SteppedWedgeDesign.complete([1, 1, 1, 1, 1], cluster_period_size=300)
    >>> res = sw_mdes_counts(d, baseline_rate=0.2, tau=0.1)
    >>> round(res.rate_ratio, 3), round(res.power, 3)
    (0.794, 0.8)
    """
    alpha = options.get("alpha", 0.05)
    _check(design, baseline_rate, options.get("exposure", 1.0), options.get("size"), tau, alpha)
    if not (isinstance(power, int | float) and alpha < power < 1):
        raise InvalidValueError(f"`power` must be between alpha ({alpha}) and 1; got {power!r}.")
    if direction not in ("decrease", "increase"):
        raise InvalidValueError(f"`direction` must be 'decrease' or 'increase'; got {direction!r}.")
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    sign = -1.0 if direction == "decrease" else 1.0

    def gap(d: float) -> float:
        res = sw_power_counts(
            design, rate_ratio=math.exp(sign * d), baseline_rate=baseline_rate, tau=tau, **options
        )
        return d - z * res.std_error

    hi = 20.0  # a rate ratio of e^20 either way
    if gap(hi) < 0:
        raise DesignError(
            f"no rate ratio reaches power {power} with this design (too few children or too "
            "large a council variance); report the power at the largest plausible effect."
        )
    d = optimize.brentq(gap, 1e-12, hi, xtol=1e-14, rtol=1e-12)
    res = sw_power_counts(
        design, rate_ratio=math.exp(sign * d), baseline_rate=baseline_rate, tau=tau, **options
    )
    return replace(res, solved_for="mdes")
