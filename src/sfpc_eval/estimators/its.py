"""Interrupted time series: segmented regression of one council's series, with HAC errors."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from sfpc_eval._validate import check_conf_level, check_count
from sfpc_eval.errors import DesignError, DuplicateObservationError, InvalidValueError, show_values
from sfpc_eval.estimators._groups import wald_term
from sfpc_eval.panel import numeric_column, require_columns, require_present
from sfpc_eval.results import ResultMixin, Term

__all__ = ["ItsResult", "its", "newey_west_lags"]

MIN_SEGMENT = 3


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
        Lags of the Newey-West (Bartlett) variance; 0 means heteroskedasticity-robust only.
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

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Interrupted time series: {self.outcome} from {self.start}"

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        pre = int((self.projection["time"] < self.start).sum())
        return [
            ("periods", f"{pre} before, {len(self.projection) - pre} from {self.start}"),
            ("variance", f"Newey-West (Bartlett), {self.hac_lags} lags; t reference"),
        ]

    def _refit(self, conf_level: float) -> ItsResult:
        return its(
            self._data,
            outcome=self.outcome,
            time=self.time,
            start=self.start,
            hac_lags=self.hac_lags,
            seasonal_period=self._seasonal_period,
            conf_level=conf_level,
        )

    def plot(self, ax=None):  # type: ignore[override]
        """Observed series, fitted segments and the counterfactual with its band."""
        from sfpc_eval.plotting import plot_its

        return plot_its(self, ax=ax)


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


def its(
    data: pd.DataFrame,
    *,
    outcome: str,
    time: str,
    start: object,
    hac_lags: int | None = None,
    seasonal_period: int | None = None,
    conf_level: float = 0.95,
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
    require_columns(data, {"outcome": outcome, "time": time})
    require_present(data, time, argument="time")
    level = check_conf_level(conf_level)
    y_all = numeric_column(data, outcome, argument="outcome")
    duplicated = data[time].duplicated(keep=False).to_numpy()
    if duplicated.any():
        raise DuplicateObservationError(
            f"`time` column {time!r} repeats periods "
            f"{show_values(sorted(set(data[time][duplicated])))}; an interrupted time series "
            "needs one row per period (aggregate first)."
        )
    order = np.argsort(data[time].to_numpy(), kind="stable")
    periods = data[time].to_numpy()[order]
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
    if seasonal_period is not None:
        period = check_count(seasonal_period, "seasonal_period")
        if period < 2:
            raise InvalidValueError(f"`seasonal_period` must be at least 2; got {period}.")
        columns += [((t % period) == s).astype(float) for s in range(1, period)]
    x = np.column_stack(columns)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise DesignError(
            "the segmented design is singular: too few periods for the seasonal terms."
        )
    lags = newey_west_lags(n) if hac_lags is None else check_count(hac_lags, "hac_lags")
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    vcov = _hac(x, resid, lags)
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
    )
