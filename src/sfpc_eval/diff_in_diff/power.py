r"""Power and minimum detectable effect of a panel difference-in-differences design (analytic).

For ``J`` councils of which a share ``P`` adopt together, ``m`` periods before and ``r`` after
adoption, and the model ``y_it = b D_it + unit_i + period_t + e_it`` fitted by two-way fixed
effects, Burlig, Preonas and Woerman (2020, *Journal of Development Economics* 144: 102548,
"serial-correlation-robust" formula) give the variance of the DiD estimate for *any* serial
correlation of the idiosyncratic errors ``e_it`` (variance :math:`\sigma^2`):

.. math::

    \operatorname{Var}(\hat b) = \frac{1}{P(1-P)J}\left[\frac{m+r}{mr}\sigma^2
    + \frac{m-1}{m}\psi^B + \frac{r-1}{r}\psi^A - 2\psi^X\right]

where :math:`\psi^B`, :math:`\psi^A` and :math:`\psi^X` are the average covariances of a unit's
errors between two pre-periods, between two post-periods and across a pre- and a post-period.
With AR(1) errors (correlation :math:`\rho^{|s-t|}`) they are averages of powers of
:math:`\rho` (:func:`ar1_covariances`). Power against an effect ``b`` is
:math:`1 - F_\nu(t_{1-\alpha/2,\nu} - |b|/\mathrm{SE})` and the minimum detectable effect at power
``1 - kappa`` is :math:`(t_{1-\alpha/2,\nu} + t_{1-\kappa,\nu})\,\mathrm{SE}`, with
:math:`\nu = J` degrees of freedom when the errors are serially correlated and
:math:`J(m+r) - J - m - r` when they are independent (as the authors' Stata ``pc_dd_analytic``).

The formula is the power of the test a researcher would run with a *correct* standard error.
With 5-20 councils the library's few-cluster inference (CR2, the wild bootstrap,
randomization) is what will be run: :func:`~sfpc_eval.diff_in_diff.power_sim.simulated_did_power`
gives its power by simulation, and the two agree where the analytic formula's assumptions hold.

Examples
--------
>>> res = did_power(n_units=40, n_treated=20, pre=5, post=5, sd=1.0, ar1=0.5)
>>> round(res.mde, 3)
0.781
>>> round(did_power(n_units=40, n_treated=20, pre=5, post=5, sd=1.0, ar1=0.5,
...                 effect=0.781).power, 3)
0.8
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

from scipy import stats

from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.results import ResultMixin, Term

__all__ = [
    "DidPowerResult",
    "ar1_covariances",
    "check_power_design",
    "did_event_vcov",
    "did_power",
    "did_variance",
]


def _whole(value: object, name: str, minimum: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not float(value).is_integer()
        or value < minimum
    ):
        raise InvalidValueError(f"`{name}` must be a whole number >= {minimum}; got {value!r}.")
    return int(value)


def check_power_design(n_units: object, n_treated: object, pre: object, post: object):
    """Return the design as whole numbers, or raise a typed error naming the argument.

    Raises
    ------
    InvalidValueError
        Fewer than 2 councils, no treated or no comparison council, no period before or after.
    """
    units = _whole(n_units, "n_units", 0)
    if units < 2:
        raise InvalidValueError(
            f"`n_units` must be at least 2 councils (one treated, one comparison); got {units}."
        )
    treated = _whole(n_treated, "n_treated", 0)
    if treated < 1:
        raise InvalidValueError(
            f"`n_treated` is {treated}: a DiD needs at least one treated council."
        )
    if treated >= units:
        raise InvalidValueError(
            f"`n_treated` ({treated}) leaves no comparison council among the {units}; a DiD "
            "needs at least one council that does not adopt."
        )
    return units, treated, _whole(pre, "pre", 1), _whole(post, "post", 1)


def _check_ar1(ar1: object) -> float:
    if (
        isinstance(ar1, bool)
        or not isinstance(ar1, numbers.Real)
        or not math.isfinite(ar1)
        or not 0 <= ar1 < 1
    ):
        raise InvalidValueError(
            f"`ar1` (the serial correlation of consecutive periods) must be in [0, 1); got {ar1!r}."
        )
    return float(ar1)


def _check_sd(sd: object) -> float:
    if isinstance(sd, bool) or not isinstance(sd, numbers.Real) or not math.isfinite(sd) or sd <= 0:
        raise InvalidValueError(
            f"`sd` (the standard deviation of the idiosyncratic error, after unit and period "
            f"effects) must be a positive number; got {sd!r}."
        )
    return float(sd)


def ar1_covariances(pre: int, post: int, rho: float, variance: float = 1.0):
    """Average within-unit covariances (pre, post, cross) of AR(1) errors.

    ``psi_B`` averages ``rho^|s-t|`` over pairs of distinct pre-periods, ``psi_A`` over pairs of
    post-periods and ``psi_X`` over (pre, post) pairs, each times ``variance``; ``psi_B`` is 0
    with one pre-period, ``psi_A`` with one post-period.

    Examples
    --------
    >>> [round(v, 6) for v in ar1_covariances(2, 1, 0.5)]
    [0.5, 0.0, 0.375]
    """
    pre_times = range(pre)
    post_times = range(pre, pre + post)

    def mean_power(pairs) -> float:
        pairs = list(pairs)
        return sum(rho ** abs(s - t) for s, t in pairs) / len(pairs) if pairs else 0.0

    psi_b = mean_power((s, t) for s in pre_times for t in pre_times if s < t)
    psi_a = mean_power((s, t) for s in post_times for t in post_times if s < t)
    psi_x = mean_power((s, t) for s in pre_times for t in post_times)
    return psi_b * variance, psi_a * variance, psi_x * variance


def did_variance(
    n_units: int,
    n_treated: int,
    pre: int,
    post: int,
    variance: float,
    covariances: tuple[float, float, float],
) -> float:
    """Variance of the two-way fixed-effects DiD estimate (Burlig, Preonas and Woerman 2020)."""
    psi_b, psi_a, psi_x = covariances
    share = n_treated / n_units
    bracket = (
        (pre + post) / (pre * post) * variance
        + (pre - 1) / pre * psi_b
        + (post - 1) / post * psi_a
        - 2 * psi_x
    )
    return bracket / (share * (1 - share) * n_units)


@dataclass(frozen=True)
class DidPowerResult(ResultMixin):
    """Result of :func:`did_power`.

    Attributes
    ----------
    n_units, n_treated, pre, post : int
        The design.
    sd, ar1 : float
        Idiosyncratic error SD and AR(1) correlation (NaN when covariances were given).
    covariances : tuple of float
        ``(psi_B, psi_A, psi_X)`` used.
    alpha : float
        Two-sided test level.
    std_error : float
        Standard error of the DiD estimate.
    df : float
        Degrees of freedom of the t reference.
    effect : float
        The effect the power is for (the MDE when solving for it).
    power : float
        Power against ``effect``.
    mde : float
        Minimum detectable effect at ``power``.
    terms : tuple of Term
        ``"mde"`` and ``"power"`` rows for ``tidy()``.
    """

    n_units: int
    n_treated: int
    pre: int
    post: int
    sd: float
    ar1: float
    covariances: tuple[float, float, float]
    alpha: float
    std_error: float
    df: float
    effect: float
    power: float
    mde: float
    conf_level: float = 0.95
    terms: tuple[Term, ...] = field(default=(), repr=False)
    title: str = "Power of a difference-in-differences design (analytic)"

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        errors = (
            f"SD {self.sd:g}, AR(1) {self.ar1:g}"
            if not math.isnan(self.ar1)
            else f"SD {self.sd:g}, average covariances {self.covariances}"
        )
        return [
            ("councils (treated)", f"{self.n_units} ({self.n_treated})"),
            ("periods before / after", f"{self.pre} / {self.post}"),
            ("errors", errors),
            ("test", f"two-sided, level {self.alpha:g}, t with {self.df:g} df"),
            ("standard error", f"{self.std_error:.4g}"),
            ("method", "Burlig, Preonas and Woerman (2020), serial-correlation-robust"),
        ]

    def _refit(self, conf_level: float) -> DidPowerResult:
        return self


def did_power(
    *,
    n_units: int,
    n_treated: int,
    pre: int,
    post: int,
    sd: float,
    ar1: float = 0.0,
    covariances: tuple[float, float, float] | None = None,
    effect: float | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
) -> DidPowerResult:
    """Power, or minimum detectable effect, of a panel DiD with serially correlated errors.

    Parameters
    ----------
    n_units : int
        Councils in the analysis (at least 2).
    n_treated : int
        Councils that adopt (at least 1, fewer than ``n_units``).
    pre, post : int
        Periods before and after adoption (each at least 1).
    sd : float
        Standard deviation of the idiosyncratic error (after unit and period effects), e.g.
        the residual SD of a two-way fixed-effects fit of the outcome on past data.
    ar1 : float, default 0
        Correlation of a council's errors in consecutive periods, in [0, 1) (AR(1)).
    covariances : (float, float, float), optional
        The average covariances ``(psi_B, psi_A, psi_X)`` instead of ``ar1`` (true values,
        not estimates from residuals).
    effect : float, optional
        Give it for the power to detect it; leave it out for the MDE at ``power``.
    power : float, default 0.8
        Target power for the MDE.
    alpha : float, default 0.05
        Two-sided test level.

    Returns
    -------
    DidPowerResult

    Raises
    ------
    InvalidValueError
        Fewer than 2 councils, no treated or no comparison council, a correlation outside
        [0, 1), a non-positive SD, power or alpha outside (0, 1).
    DesignError
        Covariances that make the variance of the estimate non-positive.
    """
    units, treated, pre, post = check_power_design(n_units, n_treated, pre, post)
    sd = _check_sd(sd)
    for name, value in (("power", power), ("alpha", alpha)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
            raise InvalidValueError(f"`{name}` must be in (0, 1); got {value!r}.")
    if covariances is None:
        rho = _check_ar1(ar1)
        psi = ar1_covariances(pre, post, rho, sd**2)
    else:
        if len(covariances) != 3:
            raise InvalidValueError(
                f"`covariances` must be three numbers (psi_B, psi_A, psi_X); got {covariances!r}."
            )
        rho = math.nan
        psi = tuple(float(c) for c in covariances)
    variance = did_variance(units, treated, pre, post, sd**2, psi)
    if not variance > 0:
        raise DesignError(
            f"these covariances give a non-positive variance of the DiD estimate ({variance:.3g}); "
            "they cannot come from one covariance matrix. Check psi_B, psi_A and psi_X."
        )
    se = math.sqrt(variance)
    correlated = any(abs(c) > 0 for c in psi)
    df = float(units if correlated else units * (pre + post) - units - pre - post)
    t_alpha = float(stats.t.ppf(1 - alpha / 2, df))
    mde = (t_alpha + float(stats.t.ppf(power, df))) * se
    if effect is None:
        effect, achieved = mde, float(power)
    else:
        if isinstance(effect, bool) or not isinstance(effect, numbers.Real) or effect == 0:
            raise InvalidValueError(f"`effect` must be a non-zero number; got {effect!r}.")
        achieved = float(stats.t.sf(t_alpha - abs(effect) / se, df))
    method = "Burlig-Preonas-Woerman analytic"
    terms = (
        Term("mde", mde, std_error=se, df=df, method=method, note=f"at power {power:g}"),
        Term("power", achieved, df=df, method=method, note=f"against effect {effect:.4g}"),
    )
    return DidPowerResult(
        n_units=units,
        n_treated=treated,
        pre=pre,
        post=post,
        sd=sd,
        ar1=rho,
        covariances=tuple(psi),  # type: ignore[arg-type]
        alpha=float(alpha),
        std_error=se,
        df=df,
        effect=float(effect),
        power=achieved,
        mde=mde,
        terms=terms,
    )


def did_event_vcov(
    *, n_units: int, n_treated: int, pre: int, post: int, sd: float, ar1: float = 0.0
):
    """Variance matrix of event-study estimates implied by the design and AR(1) errors.

    The two-way fixed-effects event study (one dummy per event time, ``-1`` omitted) of a
    balanced panel in which ``n_treated`` of ``n_units`` councils adopt after ``pre`` periods:
    its estimates are linear in the outcomes, ``C y``, so their variance is
    ``sum_i C_i R C_i'`` with ``R`` the AR(1) covariance of a council's errors. Use it with
    :func:`~sfpc_eval.diff_in_diff.pretrend_power.pretrend_power` to plan a design (or where
    the fitted variance is not valid, as with one treated council).

    Returns
    -------
    (event_times, numpy.ndarray)
        The event times (``-pre`` to ``post - 1`` without ``-1``) and their variance matrix.

    Examples
    --------
    >>> times, v = did_event_vcov(n_units=10, n_treated=5, pre=3, post=2, sd=1.0)
    >>> times, round(float(v[0, 0]), 4)  # 2 sigma^2 (1/5 + 1/5): two means of 5 councils
    ([-3, -2, 0, 1], 0.8)
    """
    import numpy as np

    units, treated, pre, post = check_power_design(n_units, n_treated, pre, post)
    sd = _check_sd(sd)
    rho = _check_ar1(ar1)
    periods = pre + post
    times = [e for e in range(-pre, post) if e != -1]
    unit = np.repeat(np.arange(units), periods)
    period = np.tile(np.arange(periods), units)
    event = period - pre
    is_treated = unit < treated
    columns = [(is_treated & (event == e)) for e in times]
    columns += [unit == u for u in range(1, units)] + [period == t for t in range(periods)]
    design = np.column_stack(columns).astype(float)
    c = np.linalg.pinv(design)[: len(times)]  # estimates = c @ y
    lags = np.abs(np.subtract.outer(np.arange(periods), np.arange(periods)))
    r = sd**2 * rho**lags
    blocks = c.reshape(len(times), units, periods)
    vcov = np.einsum("aup,pq,buq->ab", blocks, r, blocks)
    return times, (vcov + vcov.T) / 2
