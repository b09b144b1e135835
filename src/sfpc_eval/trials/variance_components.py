r"""Variance components of a stepped-wedge mixed model, the ICC and CAC, with Wald intervals.

From the covariance parameters ``theta`` of a fit (:mod:`sfpc_eval.trials.structures`) and their
variance (the ``theta`` block of ``2 H^{-1}``), every reported component is a smooth function
:math:`g(\theta)`; its interval is a Wald interval on a scale where the normal approximation is
reasonable, mapped back: standard deviations on the log scale, correlations in
:math:`(-1, 1)` on Fisher's :math:`\operatorname{atanh}` scale, proportions (ICC, and the
nested model's CAC) on the logit scale; the gradient is taken by central differences.

Definitions (Hooper et al. 2016; Kasza et al. 2019; Li et al. 2021), on the linear-predictor
scale, with :math:`\sigma_w^2` the within-council variance: the residual variance for a
Gaussian outcome, :math:`\pi^2/3` for a binary outcome (the latent logistic scale); for
Poisson and negative binomial outcomes there is no single within-council variance on the log
scale (it depends on the mean), so no ICC is reported for them, but the CAC is.

- intracluster correlation within a period, ``icc``: :math:`\tau^2/(\tau^2 + \sigma_w^2)`,
  :math:`\tau^2` the variance of a council-period's effect (:math:`\sigma_c^2` for
  ``"intercept"`` and, under control, ``"slope"``; :math:`\sigma_c^2 + \sigma_{cp}^2` for
  ``"nested"``; :math:`\sigma^2` for ``"decay"``);
- cluster autocorrelation, ``cac``: the correlation of a council's effects in two periods
  (``"nested"``: :math:`\sigma_c^2/(\sigma_c^2 + \sigma_{cp}^2)`; ``"decay"``: :math:`\rho`
  at one period apart); 1 by construction for ``"intercept"``, not defined for ``"slope"``
  (it depends on the periods' exposure).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import special, stats

from sfpc_eval.trials.structures import RandomEffects

__all__ = ["COMPONENT_COLUMNS", "variance_components"]

COMPONENT_COLUMNS = ("component", "estimate", "conf_low", "conf_high", "scale", "description")
"""Columns of :meth:`SteppedWedgeResult.variance_components`."""

LATENT_LOGISTIC = math.pi**2 / 3


def _components(
    structure: RandomEffects, family: str, scale: float
) -> list[tuple[str, Callable, str, str]]:
    """(name, g(theta), interval scale, description) for each reported component."""
    name = structure.name
    within = {"binomial": LATENT_LOGISTIC, "gaussian": 1.0}.get(family)
    # for the Gaussian model theta is relative to the residual SD, so sd = scale * theta and
    # the ICC depends on theta alone
    factor = scale if family == "gaussian" else 1.0
    out: list[tuple[str, Callable, str, str]] = []

    def icc(tau2: Callable) -> None:
        if within is None:
            return
        out.append(
            (
                "icc",
                lambda t: tau2(t) / (tau2(t) + within),
                "logit",
                "intracluster correlation within a period"
                + (" (latent logistic scale)" if family == "binomial" else ""),
            )
        )

    if name == "intercept":
        out.append(("sd_cluster", lambda t: factor * abs(t[0]), "log", "SD of council effects"))
        icc(lambda t: t[0] ** 2)
    elif name == "nested":
        out.append(("sd_cluster", lambda t: factor * abs(t[0]), "log", "SD of council effects"))
        out.append(
            (
                "sd_cluster_period",
                lambda t: factor * abs(t[1]),
                "log",
                "SD of council-by-period effects",
            )
        )
        icc(lambda t: t[0] ** 2 + t[1] ** 2)
        out.append(
            (
                "cac",
                lambda t: t[0] ** 2 / (t[0] ** 2 + t[1] ** 2),
                "logit",
                "cluster autocorrelation (any two periods)",
            )
        )
    elif name == "decay":
        out.append(
            (
                "sd_cluster_period",
                lambda t: factor * abs(t[0]),
                "log",
                "SD of council-by-period effects",
            )
        )
        icc(lambda t: t[0] ** 2)
        out.append(
            (
                "cac",
                lambda t: math.tanh(t[1]),
                "atanh",
                "cluster autocorrelation, periods one apart (AR(1))",
            )
        )
    else:
        out.append(
            (
                "sd_cluster",
                lambda t: factor * abs(t[0]),
                "log",
                "SD of council effects (control condition)",
            )
        )
        out.append(
            (
                "sd_slope",
                lambda t: factor * math.hypot(t[1], t[2]),
                "log",
                "SD of the treatment effect across councils",
            )
        )
        out.append(
            (
                "corr_slope",
                lambda t: t[0] * t[1] / (abs(t[0]) * math.hypot(t[1], t[2])),
                "atanh",
                "correlation of council effect and treatment effect",
            )
        )
        icc(lambda t: t[0] ** 2)
    return out


_FORWARD = {"log": math.log, "logit": special.logit, "atanh": math.atanh}
_BACK = {"log": math.exp, "logit": special.expit, "atanh": math.tanh}


def variance_components(
    structure: RandomEffects,
    family: str,
    theta: np.ndarray,
    vcov_theta: np.ndarray,
    level: float,
    *,
    scale: float = 1.0,
) -> pd.DataFrame:
    """Estimates and Wald intervals of the variance components, ICC and CAC.

    Parameters
    ----------
    structure : RandomEffects
    family : str
        ``"binomial"``, ``"poisson"``, ``"negative_binomial"`` or ``"gaussian"``.
    theta : ndarray
        Covariance parameters at the optimum.
    vcov_theta : ndarray
        Their variance (NaN when they are on the boundary: intervals are then NaN).
    level : float
        Confidence level.
    scale : float, default 1.0
        Gaussian models: the residual SD (``theta`` is relative to it).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPONENT_COLUMNS`.

    Examples
    --------
    >>> from sfpc_eval.trials.structures import RandomEffects
    >>> re = RandomEffects("nested", 6)
    >>> vc = variance_components(re, "binomial", np.array([0.4, 0.3]), np.eye(2) * 0.01, 0.95)
    >>> # CAC = 0.4**2 / (0.4**2 + 0.3**2)
    >>> round(float(vc.set_index("component").loc["cac", "estimate"]), 6)
    0.64
    """
    z = float(stats.norm.ppf(0.5 + level / 2))
    theta = np.asarray(theta, dtype=np.float64)
    missing = ~np.isfinite(np.diag(vcov_theta))
    known = np.where(np.isfinite(vcov_theta), vcov_theta, 0.0)
    rows = []
    for name, g, how, description in _components(structure, family, scale):
        estimate = float(g(theta))
        low = high = math.nan
        if not missing.all():
            low, high = _interval(g, theta, estimate, _FORWARD[how], _BACK[how], known, missing, z)
        rows.append((name, estimate, float(low), float(high), how, description))
    return pd.DataFrame(rows, columns=list(COMPONENT_COLUMNS))


def _interval(g, theta, estimate, forward, back, vcov, missing, z) -> tuple[float, float]:
    """Delta-method Wald interval of ``g(theta)`` on the ``forward`` scale, mapped back.

    NaN when the estimate sits on the edge of that scale (a CAC of exactly 1, say) or the
    component moves with a parameter on the boundary (whose variance is not estimated).
    """
    with np.errstate(all="ignore"):
        try:
            centre = forward(estimate)
            grad = np.empty(len(theta))
            for j in range(len(theta)):
                step = 1e-6 * max(1.0, abs(theta[j]))
                up, down = theta.copy(), theta.copy()
                up[j] += step
                down[j] -= step
                grad[j] = (forward(g(up)) - forward(g(down))) / (2 * step)
        except (ValueError, ZeroDivisionError):
            return math.nan, math.nan
        scale = float(np.nanmax(np.abs(grad))) if np.isfinite(grad).any() else math.nan
        if not (math.isfinite(centre) and np.all(np.isfinite(grad))):
            return math.nan, math.nan
        if np.any(np.abs(grad[missing]) > 1e-8 * max(1.0, scale)):
            return math.nan, math.nan
        se = math.sqrt(max(float(grad @ vcov @ grad), 0.0))
        return float(back(centre - z * se)), float(back(centre + z * se))
