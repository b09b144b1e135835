r"""Conditional distributions of the mixed models: binomial, Poisson and negative binomial (NB2).

Each family gives, per observation (a cell of rows that share every regressor and random
effect), the log-likelihood as a function of the linear predictor :math:`\eta` and what the
Laplace approximation needs: the score :math:`s = \partial\ell/\partial\eta`, the weight
:math:`w = -\partial^2\ell/\partial\eta^2` (the observed information: what ``glmmTMB``'s
automatic differentiation uses, and for the canonical logit and log links also the expected one
that ``glmer`` uses), its derivative :math:`w' = \partial w/\partial\eta`, and for NB2 the
derivatives in the log of its size parameter.

- binomial, logit link: ``y`` events out of ``n``; :math:`\ell = y\eta - n\log(1 + e^\eta)`.
- Poisson, log link, ``offset`` = log exposure: :math:`\mu = e^{\eta + o}`,
  :math:`\ell = y(\eta + o) - \mu`.
- negative binomial NB2 (``glmmTMB``'s ``nbinom2``), log link, size :math:`\theta = e^\psi`:
  :math:`\operatorname{Var}(y) = \mu + \mu^2/\theta`,
  :math:`\ell = \log\Gamma(y+\theta) - \log\Gamma(\theta) - \log y! + \theta\log\theta
  + y\log\mu - (\theta + y)\log(\theta + \mu)`.

The constants that do not depend on the parameters (:math:`\log\binom{n}{y}`, :math:`-\log y!`
and :math:`y\,o` for the Poisson) are included by :meth:`Family.constant` so that the reported
log-likelihood is that of the counts, as R reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

__all__ = ["FAMILIES", "FAMILY_NAMES", "Family", "FamilyName", "FamilyTerms", "family"]

FamilyName = Literal["binomial", "poisson", "negative_binomial", "gaussian"]
FAMILY_NAMES: tuple[str, ...] = ("binomial", "poisson", "negative_binomial", "gaussian")
"""Families of ``stepped_wedge(family=...)``; the Gaussian one is fitted by
:mod:`sfpc_eval.trials.lmm`, the others by the Laplace approximation."""


@dataclass(frozen=True, eq=False)
class FamilyTerms:
    r"""Per-observation log-likelihood and derivatives at a linear predictor.

    ``loglik``, ``score`` (:math:`s`), ``weight`` (:math:`w`), ``dweight`` (:math:`w'`), each
    already multiplied by the observation's frequency; for NB2 also the derivatives in
    :math:`\\psi = \\log\\theta`: ``loglik_psi``, ``score_psi``, ``weight_psi``.
    """

    loglik: np.ndarray
    score: np.ndarray
    weight: np.ndarray
    dweight: np.ndarray
    loglik_psi: np.ndarray | None = None
    score_psi: np.ndarray | None = None
    weight_psi: np.ndarray | None = None


@dataclass(frozen=True)
class Family:
    """A conditional distribution with its link (see the module notes)."""

    name: str
    label: str
    link: str
    has_dispersion: bool = False

    def terms(
        self,
        eta: np.ndarray,
        y: np.ndarray,
        n: np.ndarray,
        offset: np.ndarray,
        freq: np.ndarray,
        psi: float = 0.0,
        *,
        derivatives: bool = True,
    ) -> FamilyTerms:
        """Log-likelihood (without constants) and its derivatives in ``eta`` (and ``psi``)."""
        if self.name == "binomial":
            mu = special.expit(eta)
            loglik = freq * (y * eta - n * np.logaddexp(0.0, eta))
            if not derivatives:
                return FamilyTerms(loglik, loglik, loglik, loglik)
            w = freq * n * mu * (1.0 - mu)
            return FamilyTerms(loglik, freq * (y - n * mu), w, w * (1.0 - 2.0 * mu))
        if self.name == "poisson":
            mu = np.exp(eta + offset)
            loglik = freq * (y * eta - mu)
            if not derivatives:
                return FamilyTerms(loglik, loglik, loglik, loglik)
            w = freq * mu
            return FamilyTerms(loglik, freq * (y - mu), w, w)
        theta = float(np.exp(psi))
        log_mu = eta + offset
        mu = np.exp(log_mu)
        log_tm = np.logaddexp(psi, log_mu)  # log(theta + mu)
        # theta log(theta / (theta + mu)) written without cancellation for large theta
        loglik = freq * (
            log_gamma_ratio(y, theta) + y * (log_mu - log_tm) - theta * np.log1p(mu / theta)
        )
        if not derivatives:
            return FamilyTerms(loglik, loglik, loglik, loglik)
        tm = theta + mu
        score = freq * theta * (y - mu) / tm
        weight = freq * theta * (theta + y) * mu / tm**2
        dweight = weight * (theta - mu) / tm
        # d loglik / d theta = digamma(y + theta) - digamma(theta) + log(theta / (theta + mu))
        #                      + 1 - (theta + y) / (theta + mu)
        dl_dtheta = digamma_difference(y, theta) - np.log1p(mu / theta) + (mu - y) / tm
        loglik_psi = freq * theta * dl_dtheta
        score_psi = freq * theta * (y - mu) * mu / tm**2
        weight_psi = freq * theta * mu * (2 * theta * mu + y * mu - theta * y) / tm**3
        return FamilyTerms(loglik, score, weight, dweight, loglik_psi, score_psi, weight_psi)

    def constant(self, y: np.ndarray, n: np.ndarray, offset: np.ndarray, freq: np.ndarray) -> float:
        """Sum of the log-likelihood terms that do not depend on the parameters."""
        if self.name == "binomial":
            log_choose = (
                special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
            )
            return float(np.sum(freq * log_choose))
        if self.name == "poisson":
            return float(np.sum(freq * (y * offset - special.gammaln(y + 1))))
        return float(np.sum(freq * (-special.gammaln(y + 1))))

    def mean(self, eta: np.ndarray, n: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Return the expected response of each observation (events, or counts)."""
        if self.name == "binomial":
            return n * special.expit(eta)
        return np.exp(eta + offset)


ASYMPTOTIC_FROM = 1e3
"""Size above which the gamma-function differences use their asymptotic series."""


def log_gamma_ratio(y: np.ndarray, theta: float) -> np.ndarray:
    """``log Gamma(y + theta) - log Gamma(theta)``, accurate for large ``theta`` too.

    For ``theta >= 1000`` the difference of Stirling's series, whose truncation error is below
    ``1 / (1260 theta^5)`` (1e-18): ``(theta - 1/2) log1p(y / theta) + y log(theta + y) - y``
    plus the differences of ``1/(12x) - 1/(360x^3) + 1/(1260x^5)``. (The difference of two
    ``gammaln`` values near 1.4e7 would lose 1e-9 to rounding.)

    Examples
    --------
    >>> from scipy import special
    >>> y = np.array([0.0, 3.0, 250.0])
    >>> exact = special.gammaln(y + 2e3) - special.gammaln(2e3)
    >>> bool(np.allclose(log_gamma_ratio(y, 2e3), exact, rtol=1e-12))
    True
    """
    if theta < ASYMPTOTIC_FROM:
        return special.gammaln(y + theta) - special.gammaln(theta)
    big = theta + y

    def series(x):
        return 1.0 / (12 * x) - 1.0 / (360 * x**3) + 1.0 / (1260 * x**5)

    return (theta - 0.5) * np.log1p(y / theta) + y * np.log(big) - y + series(big) - series(theta)


def digamma_difference(y: np.ndarray, theta: float) -> np.ndarray:
    """``digamma(y + theta) - digamma(theta)``, by the asymptotic series for large ``theta``.

    Examples
    --------
    >>> from scipy import special
    >>> y = np.array([0.0, 3.0, 250.0])
    >>> exact = special.digamma(y + 2e3) - special.digamma(2e3)
    >>> bool(np.allclose(digamma_difference(y, 2e3), exact, rtol=1e-10))
    True
    """
    if theta < ASYMPTOTIC_FROM:
        return special.digamma(y + theta) - special.digamma(theta)
    big = theta + y

    def series(x):
        return -1.0 / (2 * x) - 1.0 / (12 * x**2) + 1.0 / (120 * x**4) - 1.0 / (252 * x**6)

    return np.log1p(y / theta) + series(big) - series(theta)


FAMILIES: dict[str, Family] = {
    "binomial": Family("binomial", "binomial (logit)", "logit"),
    "poisson": Family("poisson", "Poisson (log)", "log"),
    "negative_binomial": Family(
        "negative_binomial", "negative binomial NB2 (log)", "log", has_dispersion=True
    ),
}
"""The count families of the Laplace fitter, by the name ``stepped_wedge(family=...)`` takes."""


def family(name: str) -> Family:
    """Look up a family by name (the caller has validated it).

    Examples
    --------
    >>> family("poisson").link
    'log'
    """
    return FAMILIES[name]
