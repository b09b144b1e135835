"""Pieces shared by the two-group estimators: labels and Wald-type terms."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

from scipy import stats

from sfpc_eval.errors import InvalidValueError, UndefinedIntervalWarning
from sfpc_eval.results import Term

__all__ = ["check_labels", "wald_term", "welch_df"]


def welch_df(variances: Sequence[float], sizes: Sequence[float]) -> float:
    """Satterthwaite degrees of freedom ``(sum v)^2 / sum(v^2 / (n - 1))``, without overflow.

    The formula is invariant to the scale of ``v``, so the variances are divided by the largest
    first: standard deviations of 1e100 no longer overflow. Zero variances give ``inf``.

    Examples
    --------
    >>> welch_df([1.0, 1.0], [11, 11])
    20.0
    >>> welch_df([1e200, 1e200], [11, 11])
    20.0
    """
    largest = max(variances)
    if not largest > 0:
        return math.inf
    scaled = [v / largest for v in variances]
    return sum(scaled) ** 2 / sum(v**2 / (n - 1) for v, n in zip(scaled, sizes, strict=True))


def _exp(value: float) -> float:
    return math.exp(value) if value < 709.0 else math.inf


def check_labels(labels: object) -> tuple[str, str]:
    """Return ``labels`` as a pair of strings, or raise naming the argument."""
    if not isinstance(labels, tuple | list) or len(labels) != 2:
        raise InvalidValueError(f"`labels` must be a pair of names; got {labels!r}.")
    return (str(labels[0]), str(labels[1]))


def wald_term(
    name: str,
    estimate: float,
    std_error: float,
    level: float,
    method: str,
    *,
    df: float = math.inf,
    exponentiate: bool = False,
    test: bool = True,
) -> Term:
    """Build a term with a symmetric Wald interval and a two-sided p-value against zero.

    With ``df`` finite the reference distribution is Student's t, otherwise normal. With
    ``exponentiate`` the estimate and interval are on the log scale and are returned
    exponentiated (the standard error stays on the log scale, as the method says). With
    ``test=False`` (a descriptive mean, say) no test statistic or p-value is reported.

    Examples
    --------
    >>> t = wald_term("difference", 2.0, 1.0, 0.95, "Wald")
    >>> round(t.conf_low, 4), round(t.p_value, 4)
    (0.04, 0.0455)
    """
    dist = stats.t(df) if math.isfinite(df) else stats.norm()
    crit = float(dist.ppf(0.5 + level / 2))
    note = ""
    if not (math.isfinite(std_error) and std_error > 0):
        # no variation (a zero SE) or an infinite one: no interval or test, said and warned; a
        # NaN is the caller's verdict that the variance is undefined (it warns, saying why)
        note = (
            "standard error is 0 (no variation in the data): no interval or test"
            if std_error == 0
            else "standard error is not finite: no interval or test"
        )
        if not math.isnan(std_error):
            warnings.warn(f"{name}: {note}.", UndefinedIntervalWarning, stacklevel=3)
        return Term(
            name,
            _exp(estimate) if exponentiate else estimate,
            std_error=math.nan,
            df=df,
            method=method,
            conf_level=level,
            note=note,
        )
    statistic = estimate / std_error
    p_value = float(2 * dist.sf(abs(statistic)))
    if not test:
        statistic = p_value = math.nan
    low, high = estimate - crit * std_error, estimate + crit * std_error
    if exponentiate:
        estimate, low, high = _exp(estimate), _exp(low), _exp(high)
        method = f"{method} (SE on log scale)"
        if math.isinf(high):
            note = "upper limit beyond the range of floating point (the ratio is unbounded)"
            warnings.warn(f"{name}: {note}.", UndefinedIntervalWarning, stacklevel=3)
    return Term(
        name,
        estimate,
        std_error=std_error,
        statistic=statistic,
        df=df,
        p_value=p_value,
        conf_low=low,
        conf_high=high,
        method=method,
        conf_level=level,
        note=note,
    )
