"""Pieces shared by the two-group estimators: labels and Wald-type terms."""

from __future__ import annotations

import math

from scipy import stats

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.results import Term

__all__ = ["check_labels", "wald_term"]


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
    statistic = estimate / std_error if std_error > 0 else math.nan
    p_value = float(2 * dist.sf(abs(statistic))) if std_error > 0 else math.nan
    if not test:
        statistic = p_value = math.nan
    low, high = estimate - crit * std_error, estimate + crit * std_error
    if exponentiate:
        estimate, low, high = math.exp(estimate), math.exp(low), math.exp(high)
        method = f"{method} (SE on log scale)"
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
    )
