"""Combine fits on multiply imputed data sets: Rubin's rules with Barnard-Rubin degrees of freedom.

Given ``m`` fits of the same model on ``m`` imputed copies of the data, with estimates ``q_l``,
variances ``u_l`` and complete-data degrees of freedom ``nu_com``:

- pooled estimate ``qbar = mean(q_l)``; within-imputation variance ``ubar = mean(u_l)``;
  between-imputation variance ``b = var(q_l)`` (divisor ``m - 1``);
- total variance ``t = ubar + (1 + 1/m) b``;
- Barnard & Rubin (1999) degrees of freedom: with ``lambda = (1 + 1/m) b / t`` (floored at
  1e-4, as ``mice``), ``nu_old = (m - 1) / lambda^2``,
  ``nu_obs = (nu_com + 1) / (nu_com + 3) nu_com (1 - lambda)`` and
  ``nu = nu_old nu_obs / (nu_old + nu_obs)`` (``nu_old`` when ``nu_com`` is infinite).

The variances may be model-based or cluster-robust (CR2 with its Satterthwaite df as
``nu_com``, say): pooling only needs each fit's coefficients, variance matrix and complete-data
df. This is what ``mice::pool`` (and ``mice::pool.scalar``) compute.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from sfpc_eval._validate import check_conf_level
from sfpc_eval.errors import InvalidValueError, show_values
from sfpc_eval.results import ResultMixin, Term

__all__ = ["PooledResult", "barnard_rubin_df", "fit_each", "pool"]


def barnard_rubin_df(m: int, b: np.ndarray, t: np.ndarray, df_complete: np.ndarray) -> np.ndarray:
    """Barnard-Rubin degrees of freedom (as ``mice:::barnard.rubin``).

    Examples
    --------
    >>> df = barnard_rubin_df(5, np.array([0.01]), np.array([0.05]), np.array([np.inf]))
    >>> round(float(df[0]), 6)
    69.444444
    """
    lam = np.maximum((1 + 1 / m) * np.asarray(b, float) / np.asarray(t, float), 1e-4)
    df_old = (m - 1) / lam**2
    nu = np.asarray(df_complete, dtype=float)
    with np.errstate(invalid="ignore"):
        df_obs = (nu + 1) / (nu + 3) * nu * (1 - lam)
        out = df_old * df_obs / (df_old + df_obs)
    return np.where(np.isinf(nu), df_old, out)


@dataclass(frozen=True)
class PooledResult(ResultMixin):
    """Rubin's-rules combination of ``m`` fits (see :func:`pool`).

    Attributes
    ----------
    m : int
        Number of imputed data sets.
    terms : tuple of Term
        One per pooled coefficient: estimate ``qbar``, standard error ``sqrt(t)``, t test with
        Barnard-Rubin df.
    within, between, total : pandas.Series
        ``ubar``, ``b`` and ``t`` per coefficient.
    df_complete : pandas.Series
        Complete-data df used per coefficient (the mean over the fits).
    fraction_missing : pandas.Series
        Fraction of missing information, ``(r + 2 / (df + 3)) / (r + 1)`` with
        ``r = (1 + 1/m) b / ubar`` (mice's ``fmi``).
    conf_level : float
        Confidence level.
    """

    m: int
    terms: tuple[Term, ...] = field(repr=False)
    within: pd.Series = field(repr=False)
    between: pd.Series = field(repr=False)
    total: pd.Series = field(repr=False)
    df_complete: pd.Series = field(repr=False)
    fraction_missing: pd.Series = field(repr=False)
    estimates: pd.Series = field(repr=False)
    conf_level: float = 0.95
    label: str = ""
    origin: dict = field(repr=False, default_factory=dict)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Pooled over {self.m} imputed data sets (Rubin's rules)"

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        return [("imputations", str(self.m)), ("complete-data variance", self.label)]

    def _headline_name(self) -> str:
        names = [t.term for t in self.terms]
        return "treated" if "treated" in names else names[0]

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(self.origin)
        facts.update(estimator="pooled", inference="rubin", log_likelihood=math.nan)
        return facts

    def _refit(self, conf_level: float) -> PooledResult:
        terms = _terms(self.estimates, self.total, self._df(), conf_level)
        return replace(self, conf_level=conf_level, terms=terms)

    def _df(self) -> pd.Series:
        return pd.Series([t.df for t in self.terms], index=[t.term for t in self.terms])


def _terms(qbar: pd.Series, total: pd.Series, df: pd.Series, level: float) -> tuple[Term, ...]:
    out = []
    for name in qbar.index:
        se = math.sqrt(total[name])
        nu = float(df[name])
        crit = float(stats.t.ppf(0.5 + level / 2, nu))
        statistic = qbar[name] / se
        out.append(
            Term(
                str(name),
                qbar[name],
                std_error=se,
                statistic=statistic,
                df=nu,
                p_value=float(2 * stats.t.sf(abs(statistic), nu)),
                conf_low=qbar[name] - crit * se,
                conf_high=qbar[name] + crit * se,
                method="Rubin's rules, Barnard-Rubin df",
            )
        )
    return tuple(out)


def _parts(result: object, i: int) -> tuple[pd.Series, pd.DataFrame, pd.Series]:
    if isinstance(result, tuple) and len(result) == 3:
        coef, vcov, dfc = result
    else:
        coef = getattr(result, "coef", None)
        vcov = getattr(result, "vcov", None)
        dfc = getattr(result, "df_complete", math.inf)
    if coef is None or vcov is None:
        raise InvalidValueError(
            f"`results[{i}]` has no `coef` and `vcov`; pass results of stepped_wedge (or any "
            "object with coef, vcov and df_complete), or (coef, vcov, df_complete) tuples."
        )
    coef = pd.Series(coef, dtype=float)
    if not isinstance(vcov, pd.DataFrame):
        vcov = pd.DataFrame(np.asarray(vcov, float), index=coef.index, columns=coef.index)
    if np.ndim(dfc) == 0:
        dfc = pd.Series(float(dfc), index=coef.index)
    return coef, vcov, pd.Series(dfc, dtype=float)


def pool(
    results: Sequence[object],
    *,
    terms: Sequence[str] | None = None,
    conf_level: float = 0.95,
) -> PooledResult:
    """Pool fits on ``m`` imputed data sets with Rubin's rules and Barnard-Rubin df.

    Parameters
    ----------
    results : sequence
        At least 2 fits of the same model: :class:`~sfpc_eval.trials.analysis.SteppedWedgeResult`
        objects, or anything with ``coef`` (Series), ``vcov`` (DataFrame) and ``df_complete``
        (number or Series; infinite if absent), or ``(coef, vcov, df_complete)`` tuples.
    terms : sequence of str, optional
        Coefficients to pool (all by default).
    conf_level : float, default 0.95
        Confidence level.

    Returns
    -------
    PooledResult

    Raises
    ------
    InvalidValueError
        Fewer than 2 results, or results with different coefficients.

    Examples
    --------
    >>> import pandas as pd
    >>> fits = [(pd.Series({"b": q}), pd.DataFrame({"b": [0.04]}, index=["b"]), 100)
    ...         for q in (0.50, 0.56, 0.47)]
    >>> res = pool(fits)
    >>> round(res.term("b").estimate, 4), round(res.term("b").std_error, 4)
    (0.51, 0.2069)
    """
    level = check_conf_level(conf_level)
    results = list(results)
    if len(results) < 2:
        raise InvalidValueError(
            f"`results` must hold fits on at least 2 imputed data sets; got {len(results)}."
        )
    parts = [_parts(r, i) for i, r in enumerate(results)]
    names = list(parts[0][0].index) if terms is None else list(terms)
    for i, (coef, _, _) in enumerate(parts):
        missing = [n for n in names if n not in coef.index]
        if missing:
            raise InvalidValueError(
                f"`results[{i}]` lacks coefficients {show_values(missing)}; every fit must be "
                "the same model (same covariates and period levels) on each imputed data set."
            )
    m = len(parts)
    q = np.array([[c[n] for n in names] for c, _, _ in parts])
    u = np.array([[v.loc[n, n] for n in names] for _, v, _ in parts])
    nu_com = np.array([[d.get(n, math.inf) for n in names] for _, _, d in parts]).mean(axis=0)
    qbar, ubar = q.mean(axis=0), u.mean(axis=0)
    b = q.var(axis=0, ddof=1)
    t = ubar + (1 + 1 / m) * b
    df = barnard_rubin_df(m, b, t, nu_com)
    r = (1 + 1 / m) * b / ubar
    fmi = (r + 2 / (df + 3)) / (r + 1)
    idx = pd.Index(names)
    estimates = pd.Series(qbar, index=idx)
    total = pd.Series(t, index=idx)
    label = getattr(results[0], "method", "") or "as supplied"
    return PooledResult(
        m=m,
        terms=_terms(estimates, total, pd.Series(df, index=idx), level),
        within=pd.Series(ubar, index=idx),
        between=pd.Series(b, index=idx),
        total=total,
        df_complete=pd.Series(nu_com, index=idx),
        fraction_missing=pd.Series(fmi, index=idx),
        estimates=estimates,
        conf_level=level,
        label=str(label),
        origin=_origin(results[0]),
    )


def _origin(result: object) -> dict:
    """Return the model facts of the first fit (``glance()``), which the pool shares."""
    glance = getattr(result, "glance", None)
    if not callable(glance):
        return {}
    row = glance().iloc[0].to_dict()
    return {k: v for k, v in row.items() if k not in ("inference", "inference_df", "conf_level")}


def fit_each(datasets: Iterable[pd.DataFrame], fit: Callable[[pd.DataFrame], object]) -> list:
    """Fit ``fit(data)`` on each imputed data set; pass the list to :func:`pool`.

    Examples
    --------
    >>> import pandas as pd
    >>> sets = [pd.DataFrame({"x": [1.0, 2.0, 3.0 + k]}) for k in range(3)]
    >>> [round(d["x"].mean(), 3) for d in sets] == fit_each(sets, lambda d: round(d["x"].mean(), 3))
    True
    """
    return [fit(d) for d in datasets]
