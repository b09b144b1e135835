r"""The intracluster correlation of a stepped-wedge GLMM, on the latent scale, with an interval.

For the random-intercept logistic model the latent-scale intracluster correlation is

.. math::

    \mathrm{ICC} = \frac{\sigma^2}{\sigma^2 + \pi^2/3},

with :math:`\sigma` the random-intercept SD (the logistic distribution's variance
:math:`\pi^2/3` plays the within-cluster variance). Its interval is the **profile-likelihood**
interval of :math:`\sigma` mapped through that increasing function: the values of
:math:`\sigma` whose profile deviance (the deviance minimised over the fixed effects with
:math:`\sigma` held) is within :math:`\chi^2_{1}(\text{level})` of the minimum, as
``confint(glmer_fit, method = "profile")`` computes it. With 4-6 councils the interval is wide
and usually reaches 0; a Wald interval for :math:`\sigma` would be misleading, which is why the
profile is used.

The cluster autocorrelation (CAC, the correlation of a council's random effects in two
periods) is 1 by assumption in a random-intercept model; it is reported as estimated only by a
model with a cluster-by-period random effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from sfpc_eval.errors import DesignError
from sfpc_eval.results import Term
from sfpc_eval.trials.glmm import glmm_deviance

__all__ = ["IccInterval", "latent_icc", "profile_deviance"]

LOGISTIC_VARIANCE = math.pi**2 / 3


@dataclass(frozen=True)
class IccInterval:
    """The random-intercept SD and the latent ICC with their profile-likelihood intervals."""

    sd: float
    sd_low: float
    sd_high: float
    level: float
    nagq: int

    @property
    def icc(self) -> float:
        """Latent-scale ICC at the estimated SD."""
        return _icc(self.sd)

    @property
    def icc_low(self) -> float:
        """Lower limit of the ICC interval."""
        return _icc(self.sd_low)

    @property
    def icc_high(self) -> float:
        """Upper limit of the ICC interval."""
        return _icc(self.sd_high)

    def terms(self) -> tuple[Term, ...]:
        """Return the ICC, the SD and the CAC as rows (the CAC not estimated here)."""
        how = "profile likelihood" + (" (Laplace)" if self.nagq == 1 else f" (AGQ {self.nagq})")
        return (
            Term(
                "icc_latent",
                self.icc,
                conf_low=self.icc_low,
                conf_high=self.icc_high,
                method=how,
                note="latent (logistic) scale: sigma^2 / (sigma^2 + pi^2 / 3)",
            ),
            Term(
                "random_sd",
                self.sd,
                conf_low=self.sd_low,
                conf_high=self.sd_high,
                method=how,
            ),
            Term(
                "cac",
                1.0,
                method="assumed",
                note="not estimated: a random intercept per council makes the cluster "
                "autocorrelation 1; a cluster-by-period random effect would estimate it",
            ),
        )


def _icc(sd: float) -> float:
    return sd**2 / (sd**2 + LOGISTIC_VARIANCE)


def profile_deviance(fit, theta: float, beta_start: np.ndarray | None = None):
    """Deviance minimised over the fixed effects with the random-intercept SD held at ``theta``.

    Returns ``(deviance, beta)``.
    """
    start = fit.beta if beta_start is None else beta_start

    def deviance(beta: np.ndarray) -> float:
        return glmm_deviance(
            fit.z, fit.successes, fit.trials, fit.cluster, theta, beta, nagq=fit.nagq
        )

    result = optimize.minimize(deviance, start, method="BFGS", options={"gtol": 1e-6})
    return float(result.fun), result.x


def latent_icc(fit, level: float = 0.95) -> IccInterval:
    """Profile-likelihood interval of the random-intercept SD and the latent ICC.

    Parameters
    ----------
    fit : GlmmFit
        A fitted random-intercept logistic model (:func:`~sfpc_eval.trials.glmm.fit_glmm`).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    IccInterval

    Raises
    ------
    DesignError
        When the profile does not cross the cut-off below a SD of 20 (no upper limit).

    Examples
    --------
    >>> import numpy as np
    >>> from sfpc_eval.trials.glmm import fit_glmm
    >>> rng = np.random.default_rng(3)
    >>> cl = np.repeat(np.arange(8), 2)
    >>> x = np.tile([0.0, 1.0], 8)
    >>> p = 1 / (1 + np.exp(-(-1 + 0.5 * x + rng.normal(0, 0.6, 8)[cl])))
    >>> y = rng.binomial(200, p).astype(float)
    >>> fit = fit_glmm(np.column_stack([np.ones(16), x]), ("a", "x"), y, np.full(16, 200.0), cl)
    >>> ci = latent_icc(fit)
    >>> bool(ci.sd_low < fit.theta < ci.sd_high), bool(0 < ci.icc < 1)
    (True, True)
    """
    crit = float(stats.chi2.ppf(level, 1))
    theta_hat = max(float(fit.theta), 0.0)
    # the minimum of the profile, on the same deviance evaluation as the profile itself
    best, beta_hat = profile_deviance(fit, theta_hat)
    if theta_hat > 1e-4:
        refine = optimize.minimize_scalar(
            lambda t: profile_deviance(fit, t, beta_hat)[0],
            bounds=(theta_hat * 0.8, theta_hat * 1.25),
            method="bounded",
            options={"xatol": 1e-7},
        )
        if refine.fun < best:
            best, theta_hat = float(refine.fun), float(refine.x)

    def excess(theta: float) -> float:
        return profile_deviance(fit, theta, beta_hat)[0] - best - crit

    low = 0.0 if excess(0.0) <= 0 else optimize.brentq(excess, 0.0, theta_hat, xtol=1e-7)
    top = max(2 * theta_hat, 0.5)
    while excess(top) < 0:
        top *= 2
        if top > 20:
            raise DesignError(
                "the profile likelihood of the random-intercept SD does not reach the cut-off "
                "below SD 20: the data cannot bound the between-council variance."
            )
    high = optimize.brentq(excess, theta_hat, top, xtol=1e-7)
    return IccInterval(sd=theta_hat, sd_low=low, sd_high=high, level=level, nagq=fit.nagq)
