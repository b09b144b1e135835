r"""Power of a pre-trend test against a violation of parallel trends, and the bias it leaves.

Roth (2022, *AER: Insights* 4(3): 305-322): passing a pre-trend test is weak evidence when the
test has little power, and conditioning on passing it changes the estimates. Given the
event-study estimates' variance matrix :math:`\Sigma` (leads and lags) and a hypothesised
violation :math:`\delta` (e.g. a linear trend ``slope * (t - reference)``), with no true
effect the event-study estimates are :math:`\hat\beta \sim N(\delta, \Sigma)` and

- **power**: the probability that the pre-trend test rejects;
- **Bayes factor**: P(pass | :math:`\delta`) / P(pass | parallel trends);
- **likelihood ratio** (given the estimates): the density of the observed leads under
  :math:`\delta` over that under parallel trends;
- **mean after pre-testing**: :math:`E[\hat\beta \mid \text{pass}]`; for the lags,
  :math:`\delta_{post} + \Sigma_{21}\Sigma_{11}^{-1}(E[\hat\beta_{pre}\mid\text{pass}] -
  \delta_{pre})`, so the bias of a lag after passing is its mean after pre-testing minus the
  true effect (0 here).

Two tests:

- ``"wald"`` (default): the joint Wald test of the leads at level ``alpha`` (the library's
  pre-trend test). Everything is closed form: power from the noncentral chi-square, and in the
  whitened leads :math:`E[\hat\beta_{pre} \mid W \le c] = \delta_{pre}\,
  F_{q+2}(c; \lambda) / F_q(c; \lambda)` with :math:`F_k(\cdot;\lambda)` the noncentral
  chi-square distribution function (:math:`\lambda = \delta'\Sigma^{-1}\delta`).
- ``"nis"``: pass when no lead is individually significant (``|t| <= z``), as Roth's R
  package ``pretrends``: box probabilities of the multivariate normal (Genz's algorithm, seeded
  and to 1e-7) and the truncated-normal mean by Tallis's (1961) formula.

Examples
--------
>>> import numpy as np
>>> sigma = np.diag([0.01, 0.01, 0.01, 0.02])
>>> res = pretrend_power(vcov=sigma, event_times=[-4, -3, -2, 0], slope=0.05)
>>> round(res.power, 4), res.test  # P(noncentral chi2(3, 3.5) > chi2_3 at 95%)
(0.3166, 'wald')
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.results import ResultMixin, Term

__all__ = ["PretrendPowerResult", "pretrend_power"]

TESTS = ("wald", "nis")


@dataclass(frozen=True)
class PretrendPowerResult(ResultMixin):
    """Result of :func:`pretrend_power`.

    Attributes
    ----------
    test : {"wald", "nis"}
        The pre-trend test.
    alpha : float
        Its level.
    event_times : tuple of int
        Event times of the estimates (leads negative), without the reference.
    reference : int
        The omitted event time.
    delta : numpy.ndarray
        The hypothesised violation at each event time.
    slope : float
        The slope of the linear violation (NaN when ``delta`` was given).
    power : float
        Probability that the test rejects under ``delta``.
    bayes_factor : float
        P(pass | delta) / P(pass | no violation).
    likelihood_ratio : float
        Likelihood of the observed leads under ``delta`` over under parallel trends (NaN
        without estimates).
    mean_after_pretest : numpy.ndarray
        E[estimate | pass] at each event time.
    """

    test: str
    alpha: float
    event_times: tuple[int, ...]
    reference: int
    delta: np.ndarray = field(repr=False)
    std_errors: np.ndarray = field(repr=False)
    betahat: np.ndarray | None = field(repr=False)
    slope: float
    power: float
    bayes_factor: float
    likelihood_ratio: float
    mean_after_pretest: np.ndarray = field(repr=False)
    conf_level: float = 0.95
    terms: tuple[Term, ...] = field(default=(), repr=False)
    title: str = "Power of the pre-trend test (Roth 2022)"

    def table(self) -> pd.DataFrame:
        """Return one row per event time (reference included).

        Columns ``event_time, betahat, delta, std_error, mean_after_pretest``, as the
        ``df_eventplot`` of R's ``pretrends``.
        """
        times = [*self.event_times, self.reference]
        order = np.argsort(times)
        beta = [*self.betahat, 0.0] if self.betahat is not None else [math.nan] * len(times)
        frame = pd.DataFrame(
            {
                "event_time": np.asarray(times)[order],
                "betahat": np.asarray(beta, dtype=float)[order],
                "delta": np.asarray([*self.delta, 0.0])[order],
                "std_error": np.asarray([*self.std_errors, 0.0])[order],
                "mean_after_pretest": np.asarray([*self.mean_after_pretest, 0.0])[order],
            }
        )
        return frame

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        test = {
            "wald": f"joint Wald test of the leads at level {self.alpha:g}",
            "nis": f"no lead individually significant at level {self.alpha:g}",
        }[self.test]
        violation = (
            f"linear, slope {self.slope:.6g} per period"
            if not math.isnan(self.slope)
            else "as given"
        )
        return [
            ("pre-trend test", test),
            ("violation", violation),
            ("reference", f"event time {self.reference}"),
        ]

    def _refit(self, conf_level: float) -> PretrendPowerResult:
        return self


def _event_inputs(result, vcov, event_times, reference, betahat):
    """Return (event_times, Sigma, betahat or None, reference) from a result or arrays."""
    if result is not None:
        if vcov is not None or event_times is not None:
            raise InvalidValueError("give either `result` or `vcov` and `event_times`, not both.")
        times = getattr(result, "event_times", None)
        getter = getattr(result, "_event_vcov", None)
        if times is None or getter is None:
            raise InvalidValueError(
                "`result` must be an event study (event_study, sun_abraham, imputation); for "
                "other estimators pass vcov= and event_times=."
            )
        sigma = np.asarray(getter(), dtype=float)
        beta = np.array([t.estimate for t in result.terms[: len(times)]])
        ref = result.reference if getattr(result, "reference", None) is not None else reference
        return [int(e) for e in times], sigma, beta if betahat is None else betahat, ref
    if vcov is None or event_times is None:
        raise InvalidValueError("give `result`, or `vcov` and `event_times`.")
    sigma = np.asarray(vcov, dtype=float)
    times = [int(e) for e in event_times]
    if sigma.ndim != 2 or sigma.shape != (len(times), len(times)):
        raise InvalidValueError(
            f"`vcov` must be a {len(times)} x {len(times)} matrix (one row per event time); got "
            f"shape {sigma.shape}."
        )
    return times, sigma, betahat, reference


def _box_probability(mean, cov, bound, rng) -> float:
    """P(|X_j| <= bound_j for all j), X ~ N(mean, cov)."""
    if len(mean) == 1:
        sd = math.sqrt(cov[0, 0])
        return float(stats.norm.cdf(bound[0], mean[0], sd) - stats.norm.cdf(-bound[0], mean[0], sd))
    value = stats.multivariate_normal.cdf(
        bound,
        mean=mean,
        cov=cov,
        maxpts=200_000 * len(mean),
        abseps=1e-8,
        releps=0.0,
        lower_limit=-bound,
        rng=rng,
    )
    return float(value)


def _tallis_mean(mean, cov, bound, rng) -> tuple[np.ndarray, float]:
    """Mean of N(mean, cov) truncated to the box |x_j| <= bound_j, and the box probability."""
    q = len(mean)
    prob = _box_probability(mean, cov, bound, rng)
    if not prob > 0:
        raise DesignError(
            "the violation is so large that the pre-trend test is never passed: there is no "
            "mean after pre-testing."
        )
    edge = np.zeros(q)
    for k in range(q):
        sd_k = math.sqrt(cov[k, k])
        rest = [j for j in range(q) if j != k]
        for sign, x in ((1.0, -bound[k]), (-1.0, bound[k])):
            density = stats.norm.pdf(x, mean[k], sd_k)
            if rest:
                cond_mean = mean[rest] + cov[rest, k] * (x - mean[k]) / cov[k, k]
                cond_cov = (
                    cov[np.ix_(rest, rest)] - np.outer(cov[rest, k], cov[k, rest]) / cov[k, k]
                )
                density *= _box_probability(cond_mean, cond_cov, bound[rest], rng)
            edge[k] += sign * density
    return mean + cov @ edge / prob, prob


def _pass_probability(test, delta_pre, sigma_pre, alpha, rng, critical=None) -> float:
    """P(pass) under leads ~ N(delta_pre, sigma_pre)."""
    q = len(delta_pre)
    if test == "wald":
        crit = float(stats.chi2.ppf(1 - alpha, q))
        lam = float(delta_pre @ np.linalg.solve(sigma_pre, delta_pre))
        return float(stats.ncx2.cdf(crit, q, lam)) if lam > 0 else 1 - alpha
    z = float(stats.norm.ppf(1 - alpha / 2)) if critical is None else critical
    return _box_probability(delta_pre, sigma_pre, z * np.sqrt(np.diag(sigma_pre)), rng)


def _pass_and_mean(test, delta_pre, sigma_pre, alpha, rng, critical=None):
    """P(pass) and E[leads | pass] under leads ~ N(delta_pre, sigma_pre)."""
    q = len(delta_pre)
    if test == "wald":
        crit = float(stats.chi2.ppf(1 - alpha, q))
        lam = float(delta_pre @ np.linalg.solve(sigma_pre, delta_pre))
        if lam == 0:
            return 1 - alpha, np.zeros(q)
        f_q = float(stats.ncx2.cdf(crit, q, lam))
        f_q2 = float(stats.ncx2.cdf(crit, q + 2, lam))
        return f_q, delta_pre * f_q2 / f_q
    z = float(stats.norm.ppf(1 - alpha / 2)) if critical is None else critical
    bound = z * np.sqrt(np.diag(sigma_pre))
    mean, prob = _tallis_mean(delta_pre, sigma_pre, bound, rng)
    return prob, mean


def pretrend_power(
    result=None,
    *,
    vcov=None,
    event_times=None,
    reference: int = -1,
    betahat=None,
    slope: float | None = None,
    delta=None,
    target_power: float | None = None,
    test: str = "wald",
    alpha: float = 0.05,
    critical: float | None = None,
    rng: int = 0,
) -> PretrendPowerResult:
    """Power of the pre-trend test against a violation, and the estimates after passing it.

    Parameters
    ----------
    result : EventStudyResult, SunAbrahamResult or ImputationResult, optional
        Takes its event times, variance matrix and estimates; or give ``vcov`` and
        ``event_times`` (e.g. from another estimator's dynamic aggregation).
    vcov : array (k x k), optional
        Variance matrix of the event-time estimates, in the order of ``event_times``.
    event_times : sequence of int, optional
        Event time of each estimate (leads negative; the reference omitted).
    reference : int, default -1
        The omitted event time (the violation is 0 there).
    betahat : array, optional
        The estimates, for the likelihood ratio.
    slope : float, optional
        A linear violation ``slope * (t - reference)``.
    delta : array, optional
        Any violation, one value per event time (instead of ``slope``).
    target_power : float, optional
        Instead of a violation: find the linear slope against which the test has this power.
    test : {"wald", "nis"}, default "wald"
        Joint Wald test of the leads, or "no lead individually significant" (Roth's package).
    alpha : float, default 0.05
        Level of the pre-trend test.
    critical : float, optional
        ``"nis"``: the ``|t|`` above which a lead is significant (default the normal quantile at
        ``1 - alpha / 2``; R's ``pretrends`` uses 1.96).
    rng : int, default 0
        Seed of the box probabilities (``"nis"`` with two or more leads).

    Returns
    -------
    PretrendPowerResult

    Raises
    ------
    InvalidValueError
        Not exactly one of ``slope``, ``delta``, ``target_power``; a ``delta`` of the wrong
        length; no lead among the event times; bad ``test`` or levels.
    """
    if test not in TESTS:
        raise InvalidValueError(f"`test` must be one of {', '.join(TESTS)}; got {test!r}.")
    given = [x is not None for x in (slope, delta, target_power)]
    if sum(given) != 1:
        raise InvalidValueError(
            "give exactly one of `slope` (a linear violation), `delta` (any violation) or "
            "`target_power` (find the slope with that power)."
        )
    for name, value in (("alpha", alpha), ("target_power", target_power)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1
        ):
            raise InvalidValueError(f"`{name}` must be in (0, 1); got {value!r}.")
    times, sigma, beta, ref = _event_inputs(result, vcov, event_times, reference, betahat)
    rel = np.asarray(times, dtype=float) - ref
    pre = np.flatnonzero(np.asarray(times) < ref)
    if not len(pre):
        raise DesignError(
            f"no lead (event time before the reference {ref}) among {times}: there is no "
            "pre-trend test to assess."
        )
    sigma_pre = sigma[np.ix_(pre, pre)]
    gen = np.random.default_rng(rng)
    slope_used = math.nan
    if target_power is not None:

        def gap(s: float) -> float:
            return (
                1
                - _pass_probability(test, s * rel[pre], sigma_pre, alpha, gen, critical)
                - target_power
            )

        top = 8 * float(np.max(np.sqrt(np.diag(sigma_pre))))
        while gap(top) < 0:
            top *= 2
        slope_used = float(optimize.brentq(gap, 0.0, top, xtol=1e-12, rtol=1e-12))
        delta_all = slope_used * rel
    elif slope is not None:
        slope_used = float(slope)
        delta_all = slope_used * rel
    else:
        delta_all = np.asarray(delta, dtype=float)
        if delta_all.shape != (len(times),):
            raise InvalidValueError(
                f"`delta` must have one value per event time ({len(times)}); got shape "
                f"{delta_all.shape}."
            )
    delta_pre = delta_all[pre]
    passing, mean_pre = _pass_and_mean(test, delta_pre, sigma_pre, alpha, gen, critical)
    passing_null = _pass_probability(test, np.zeros(len(pre)), sigma_pre, alpha, gen, critical)
    mean_all = delta_all.copy()
    mean_all[pre] = mean_pre
    post = np.flatnonzero(np.asarray(times) > ref)
    if len(post):
        cross = sigma[np.ix_(post, pre)]
        mean_all[post] = delta_all[post] + cross @ np.linalg.solve(sigma_pre, mean_pre - delta_pre)
    ratio = math.nan
    if beta is not None:
        b = np.asarray(beta, dtype=float)[pre]
        inv = np.linalg.solve(sigma_pre, np.eye(len(pre)))
        ratio = math.exp(-0.5 * (b - delta_pre) @ inv @ (b - delta_pre) + 0.5 * b @ inv @ b)
    power = 1 - passing
    label = {"wald": "joint Wald", "nis": "no lead individually significant"}[test]
    terms = [
        Term("power", power, method=f"{label} pre-test, level {alpha:g}"),
        Term("bayes_factor", passing / passing_null, method="P(pass | violation) / P(pass | 0)"),
    ]
    if not math.isnan(ratio):
        terms.append(Term("likelihood_ratio", ratio, method="density of the leads, violation / 0"))
    for e, value, d in zip(np.asarray(times)[post], mean_all[post], delta_all[post], strict=True):
        terms.append(
            Term(
                f"bias_after_pretest(e={int(e)})",
                value,
                method="E[estimate | pass] with no true effect",
                note=f"unconditional bias {d:.4g}",
            )
        )
    return PretrendPowerResult(
        test=test,
        alpha=float(alpha),
        event_times=tuple(times),
        reference=int(ref),
        delta=delta_all,
        std_errors=np.sqrt(np.diag(sigma)),
        betahat=None if beta is None else np.asarray(beta, dtype=float),
        slope=slope_used,
        power=power,
        bayes_factor=passing / passing_null,
        likelihood_ratio=ratio,
        mean_after_pretest=mean_all,
        terms=tuple(terms),
    )
