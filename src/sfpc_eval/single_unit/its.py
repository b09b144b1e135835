"""Interrupted time series: segmented regression of one council's series.

Errors are handled by Newey-West (HAC) standard errors on OLS, or by feasible GLS with AR(p)
errors (iterated Cochrane-Orcutt: OLS on the quasi-differenced series, Yule-Walker
autocorrelations of the residuals, repeated to a fixed point, as statsmodels ``GLSAR``).
Monthly seasonality enters as dummies or Fourier harmonics. A controlled ITS models the gap
between the council's series and a comparison series, which is the same as the fully interacted
two-series regression (difference in level change and in slope change).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from sfpc_eval._terms import wald_term
from sfpc_eval._validate import check_conf_level, check_count
from sfpc_eval.errors import (
    DesignError,
    DuplicateObservationError,
    InvalidValueError,
    UnreliableInferenceWarning,
    show_values,
)
from sfpc_eval.labels import label
from sfpc_eval.panel import (
    match_period,
    numeric_column,
    period_column,
    require_columns,
    require_present,
)
from sfpc_eval.results import ResultMixin, Term

__all__ = ["ItsResult", "its", "newey_west_lags", "yule_walker"]

MIN_SEGMENT = 3


def _check_hac_lags(hac_lags: object, n: int) -> int:
    """Return the Newey-West lags asked for; refuse more than the series has, warn above n / 4.

    With many lags the Bartlett long-run variance of OLS residuals tends to zero (their
    autocovariances over all lags sum to zero), so p-values collapse: on 15 years a slope change
    with p = 0.38 at the default lags had p = 0.0006 at 100 lags.
    """
    lags = check_count(hac_lags, "hac_lags")
    if lags > n - 1:
        raise InvalidValueError(
            f"`hac_lags` = {lags} is more than the series allows: {n} periods have at most "
            f"{n - 1} lags. Leave it out for Newey and West's rule ({newey_west_lags(n)} here)."
        )
    if lags > max(n // 4, newey_west_lags(n)):
        warnings.warn(
            f"`hac_lags` = {lags} is more than a quarter of the {n} periods: with that many "
            "lags the Newey-West variance shrinks towards zero and the intervals are too narrow. "
            f"Newey and West's rule gives {newey_west_lags(n)} lags here.",
            UnreliableInferenceWarning,
            stacklevel=3,
        )
    return lags


def newey_west_lags(n: int) -> int:
    """Newey and West's (1994) rule of thumb, ``floor(4 (n / 100)^(2/9))``.

    Examples
    --------
    >>> newey_west_lags(16), newey_west_lags(120)
    (2, 4)
    """
    return math.floor(4 * (n / 100) ** (2 / 9))


@dataclass(frozen=True)
class ItsResult(ResultMixin):
    """Result of :func:`its`.

    Attributes
    ----------
    outcome, time : str
        Column names.
    start : object
        First period under the intervention.
    hac_lags : int
        Lags of the Newey-West (Bartlett) variance; 0 means heteroskedasticity-robust only
        (unused with AR errors).
    errors : str
        ``"hac"`` or ``"ar"``.
    ar : numpy.ndarray or None
        The AR coefficients of the errors (with ``errors="ar"``).
    comparison : str or None
        Comparison series (controlled ITS); the projection is then of the difference
        ``outcome - comparison``.
    conf_level : float
        Confidence level.
    terms : tuple of Term
        ``pre_slope`` (trend per period before), ``level_change`` (step at ``start``),
        ``slope_change`` (change in trend per period after) and ``effect_at_end`` (fitted minus
        counterfactual in the last period).
    projection : pandas.DataFrame
        Per period: ``time``, ``observed``, ``fitted``, ``counterfactual``, ``effect`` and its
        interval (``effect_low``, ``effect_high``) for periods from ``start``.
    """

    outcome: str
    time: str
    start: object
    hac_lags: int
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)
    projection: pd.DataFrame = field(repr=False, compare=False)
    _data: pd.DataFrame = field(repr=False, compare=False)
    _seasonal_period: int | None = field(repr=False, compare=False)
    errors: str = "hac"
    ar: np.ndarray | None = field(default=None, repr=False, compare=False)
    comparison: str | None = None
    _options: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Interrupted time series: {label(self.outcome)} from {self.start}"

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        pre = int((self.projection["time"] < self.start).sum())
        if self.errors == "ar":
            coefs = ", ".join(f"{r:.3f}" for r in self.ar)
            variance = f"GLS with AR({len(self.ar)}) errors (rho = {coefs}); t reference"
        else:
            variance = f"Newey-West (Bartlett), {self.hac_lags} lags; t reference"
        lines = [
            ("periods", f"{pre} before, {len(self.projection) - pre} from {self.start}"),
            ("variance", variance),
        ]
        if self.comparison is not None:
            lines.append(("controlled", f"{self.outcome} minus comparison {self.comparison}"))
        return lines

    def _headline_name(self) -> str:
        return "level_change"

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(
            estimator="its",
            family="gaussian",
            n_obs=len(self.projection),
            n_periods=len(self.projection),
            inference=self.errors,
        )
        return facts

    def _refit(self, conf_level: float) -> ItsResult:
        return its(
            self._data,
            outcome=self.outcome,
            time=self.time,
            start=self.start,
            hac_lags=self.hac_lags,
            seasonal_period=self._seasonal_period,
            conf_level=conf_level,
            **self._options,
        )

    def plot(self, ax=None, **style):  # type: ignore[override]
        """Observed series, fitted segments and the counterfactual with its band.

        ``style``: ``labels``, ``title`` (the main message) and ``source`` (the source line).
        """
        from sfpc_eval.plotting import plot_its

        return plot_its(self, ax=ax, **style)


def _hac(x: np.ndarray, resid: np.ndarray, lags: int) -> np.ndarray:
    """Newey-West variance of OLS coefficients: Bartlett weights ``1 - l / (lags + 1)``."""
    scores = x * resid[:, None]
    meat = scores.T @ scores
    for lag in range(1, lags + 1):
        weight = 1 - lag / (lags + 1)
        gamma = scores[lag:].T @ scores[:-lag]
        meat += weight * (gamma + gamma.T)
    bread = np.linalg.inv(x.T @ x)
    return bread @ meat @ bread


def yule_walker(resid: np.ndarray, order: int) -> np.ndarray:
    """AR coefficients from the demeaned series' autocovariances (divisor ``n - k``).

    Examples
    --------
    >>> yule_walker(np.array([1.0, -1.0, 1.0, -1.0]), 1).round(3).tolist()
    [-1.0]
    """
    x = resid - resid.mean()
    n = len(x)
    acov = np.array([x @ x / n] + [x[:-k] @ x[k:] / (n - k) for k in range(1, order + 1)])
    toeplitz = acov[np.abs(np.subtract.outer(np.arange(order), np.arange(order)))]
    return np.linalg.solve(toeplitz, acov[1:])


def _whiten(values: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Quasi-difference ``v_t - sum_j rho_j v_{t-j}``, dropping the first ``p`` periods."""
    p = len(rho)
    out = values[p:].copy()
    for j in range(1, p + 1):
        out -= rho[j - 1] * values[p - j : len(values) - j]
    return out


def _glsar(x: np.ndarray, y: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit by iterated Cochrane-Orcutt to a fixed point: coefficients, variance, AR terms."""
    rho = np.zeros(order)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    if float(np.max(np.abs(resid))) <= 1e-10 * max(float(np.max(np.abs(y))), 1e-300):
        raise DesignError(
            "errors='ar': the segmented regression fits the series exactly (residuals are 0 "
            "up to rounding), so there is no error autocorrelation to estimate. Check the "
            "series (a constant, or values copied across periods); errors='hac' reports the "
            "exact fit's estimates."
        )
    for _ in range(1000):
        beta, *_ = np.linalg.lstsq(_whiten(x, rho), _whiten(y, rho), rcond=None)
        new = yule_walker(y - x @ beta, order)
        if np.max(np.abs(new - rho)) < 1e-12:
            break
        rho = new
    else:  # pragma: no cover - the iteration is a contraction for stationary AR fits
        raise DesignError("the AR error fit did not converge in 1000 iterations.")
    wx, wy = _whiten(x, rho), _whiten(y, rho)
    beta, *_ = np.linalg.lstsq(wx, wy, rcond=None)
    wresid = wy - wx @ beta
    sigma2 = float(wresid @ wresid) / (len(wy) - x.shape[1])
    return beta, sigma2 * np.linalg.inv(wx.T @ wx), rho


def its(
    data: pd.DataFrame,
    *,
    outcome: str,
    time: str,
    start: object,
    hac_lags: int | None = None,
    seasonal_period: int | None = None,
    conf_level: float = 0.95,
    errors: str = "hac",
    ar_order: int = 1,
    harmonics: int | None = None,
    comparison: str | None = None,
) -> ItsResult:
    """Segmented regression of a single series around the start of a programme.

    Fits ``y_t = b0 + b1 t + b2 post_t + b3 (t - t0) post_t [+ seasonal dummies] + e_t`` by OLS,
    where ``t`` counts periods, ``t0`` is the first period under the programme and ``post_t``
    is 1 from it on. Standard errors are Newey-West (Bartlett kernel, no small-sample scaling,
    as statsmodels' ``cov_type="HAC"``), with a t reference on ``n - k`` degrees of freedom.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per period (years, or months in order). Not modified.
    outcome : str
        The series (e.g. children on child protection plans per 10,000).
    time : str
        Period column (numeric, or anything that sorts: dates, "2015-03"...).
    start : object
        First period under the programme; must be a value of ``time``.
    hac_lags : int, optional
        Newey-West lags. Default: Newey and West's rule, ``floor(4 (n/100)^(2/9))``.
    seasonal_period : int, optional
        Add dummies for position within a cycle of this length (12 for monthly data).
    conf_level : float, default 0.95
        Confidence level.
    errors : {"hac", "ar"}, default "hac"
        ``"hac"``: OLS with Newey-West standard errors. ``"ar"``: feasible GLS with AR errors
        of order ``ar_order`` (iterated Cochrane-Orcutt to convergence; the first
        ``ar_order`` periods only enter through the lags; classical GLS standard errors).
    ar_order : int, default 1
        Order of the AR errors (with ``errors="ar"``).
    harmonics : int, optional
        With ``seasonal_period``, use this many Fourier pairs ``sin/cos(2 pi k t / period)``
        instead of dummies (a smoother, more economical seasonal pattern).
    comparison : str, optional
        Column of a comparison series measured in the same periods (e.g. the England rate):
        a controlled ITS. The segmented regression is fitted to ``outcome - comparison``,
        which equals the fully interacted two-series regression, so ``level_change`` and
        ``slope_change`` are differences in level and slope change.

    Returns
    -------
    ItsResult

    Raises
    ------
    MissingColumnError, InvalidValueError
        Missing columns or non-numeric, missing values.
    DuplicateObservationError
        A period appears twice.
    DesignError
        ``start`` is not a period of the series, or fewer than 3 periods before or after it.
    InvalidValueError
        An unknown ``errors``; ``harmonics`` without ``seasonal_period`` or above half of it.

    Examples
    --------
    >>> import pandas as pd
    >>> import sfpc_eval as se
    >>> leeds = pd.DataFrame({"year": range(2010, 2018),
    ...                       "cpp": [551, 974, 890, 983, 747, 612, 564, 515]})
    >>> res = se.its(leeds, outcome="cpp", time="year", start=2015)
    >>> round(res.term("level_change").estimate, 1)
    -337.1
    """
    require_columns(data, {"outcome": outcome, "time": time, "comparison": comparison})
    require_present(data, time, argument="time")
    level = check_conf_level(conf_level)
    if errors not in ("hac", "ar"):
        raise InvalidValueError(f"`errors` must be 'hac' or 'ar'; got {errors!r}.")
    y_all = numeric_column(data, outcome, argument="outcome")
    if comparison is not None:
        y_all = y_all - numeric_column(data, comparison, argument="comparison")
    duplicated = data[time].duplicated(keep=False).to_numpy()
    if duplicated.any():
        raise DuplicateObservationError(
            f"`time` column {time!r} repeats periods "
            f"{show_values(sorted(set(data[time][duplicated])))}; an interrupted time series "
            "needs one row per period (aggregate first)."
        )
    clean_time = period_column(data, time, argument="time")
    start = match_period(start, data[time], clean_time)
    order = np.argsort(clean_time.to_numpy(), kind="stable")
    periods = clean_time.to_numpy()[order]
    y = y_all.to_numpy()[order]
    matches = np.flatnonzero(periods == start)
    if len(matches) == 0:
        raise DesignError(
            f"`start` {start!r} is not a period of `time` column {time!r} "
            f"({show_values(list(periods))}); pass the first period under the programme."
        )
    t0 = int(matches[0])
    n = len(y)
    if t0 < MIN_SEGMENT or n - t0 < MIN_SEGMENT:
        raise DesignError(
            f"the series has {t0} period(s) before {start!r} and {n - t0} from it; segmented "
            f"regression needs at least {MIN_SEGMENT} on each side."
        )
    t = np.arange(n, dtype=float)
    post = (t >= t0).astype(float)
    columns = [np.ones(n), t, post, (t - t0) * post]
    if harmonics is not None and seasonal_period is None:
        raise InvalidValueError(
            "`harmonics` needs `seasonal_period` (e.g. seasonal_period=12 for monthly data)."
        )
    if seasonal_period is not None:
        period = check_count(seasonal_period, "seasonal_period")
        if period < 2:
            raise InvalidValueError(f"`seasonal_period` must be at least 2; got {period}.")
        if harmonics is None:
            columns += [((t % period) == s).astype(float) for s in range(1, period)]
        else:
            pairs = check_count(harmonics, "harmonics")
            if not 1 <= pairs <= period // 2:
                raise InvalidValueError(
                    f"`harmonics` must be between 1 and {period // 2} (half of "
                    f"`seasonal_period` {period}); got {pairs}."
                )
            for k in range(1, pairs + 1):
                angle = 2 * np.pi * k * t / period
                if 2 * k < period:  # at k = period / 2 the sine is zero: cosine only
                    columns.append(np.sin(angle))
                columns.append(np.cos(angle))
    x = np.column_stack(columns)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise DesignError(
            "the segmented design is singular: too few periods for the seasonal terms."
        )
    use_hac = errors != "ar"
    lags = newey_west_lags(n) if hac_lags is None or not use_hac else _check_hac_lags(hac_lags, n)
    rho = None
    if errors == "ar":
        order = check_count(ar_order, "ar_order")
        if order < 1 or n - order - x.shape[1] < 2:
            raise InvalidValueError(
                f"`ar_order` must be at least 1 and leave 2 residual degrees of freedom; got "
                f"{order} with {n} periods and {x.shape[1]} coefficients."
            )
        beta, vcov, rho = _glsar(x, y, order)
        df = n - order - x.shape[1]
        method = f"GLS, AR({order}) errors, t({df})"
    else:
        beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        vcov = _hac(x, y - x @ beta, lags)
        df = n - x.shape[1]
        method = f"Newey-West ({lags} lags), t({df})"
    names = ["(intercept)", "pre_slope", "level_change", "slope_change"]
    terms = [
        wald_term(name, beta[i], math.sqrt(vcov[i, i]), level, method, df=df)
        for i, name in enumerate(names)
        if i > 0
    ]
    effect_rows = np.zeros((n, x.shape[1]))
    effect_rows[:, 2] = post
    effect_rows[:, 3] = (t - t0) * post
    effect = effect_rows @ beta
    effect_se = np.sqrt(np.einsum("ij,jk,ik->i", effect_rows, vcov, effect_rows))
    crit = stats.t.ppf(0.5 + level / 2, df)
    terms.append(wald_term("effect_at_end", effect[-1], effect_se[-1], level, method, df=df))
    if errors != "ar" and lags > max(n // 4, newey_west_lags(n)):
        note = (
            f"Newey-West with {lags} lags on {n} periods: the variance shrinks towards zero with "
            "many lags, so this interval is too narrow"
        )
        terms = [dataclasses.replace(t, note=note, valid=False) for t in terms]
    fitted = x @ beta
    projection = pd.DataFrame(
        {
            "time": periods,
            "observed": y,
            "fitted": fitted,
            "counterfactual": fitted - effect,
            "effect": np.where(post == 1, effect, np.nan),
            "effect_low": np.where(post == 1, effect - crit * effect_se, np.nan),
            "effect_high": np.where(post == 1, effect + crit * effect_se, np.nan),
        }
    )
    return ItsResult(
        outcome=outcome,
        time=time,
        start=start,
        hac_lags=lags,
        conf_level=level,
        terms=tuple(terms),
        projection=projection,
        _data=data,
        _seasonal_period=seasonal_period,
        errors=errors,
        ar=rho,
        comparison=comparison,
        _options={
            "errors": errors,
            "ar_order": ar_order,
            "harmonics": harmonics,
            "comparison": comparison,
        },
    )
