"""Comparison of two proportions: risk difference, risk ratio and odds ratio."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

from scipy import stats
from scipy.stats.contingency import odds_ratio as scipy_odds_ratio
from statsmodels.stats import proportion as sm_prop

from sfpc_eval._terms import check_labels, wald_term
from sfpc_eval._validate import check_conf_level, check_count, check_proportion
from sfpc_eval.errors import InvalidValueError, SizeLimitError, UndefinedIntervalWarning
from sfpc_eval.results import ResultMixin, Term

__all__ = ["ProportionComparison", "compare_proportions"]

NO_SIZES = "no group sizes given: point estimate only"


@dataclass(frozen=True)
class ProportionComparison(ResultMixin):
    """Result of :func:`compare_proportions`.

    Attributes
    ----------
    treated : (int, int) or float
        Events and group size, or a bare proportion where sizes are unknown.
    control : (int, int) or float
        The same for the control group.
    labels : tuple of str
        Names of the two groups.
    conf_level : float
        Confidence level of every interval.
    odds_ratio_method : str
        ``"woolf"`` or ``"exact"``.
    terms : tuple of Term
        ``treated``, ``control``, ``risk_difference``, ``risk_ratio``, ``odds_ratio``,
        ``percent_change`` (``100 * (risk_ratio - 1)``, the relative change in risk).
    """

    treated: tuple[int, int] | float
    control: tuple[int, int] | float
    labels: tuple[str, str]
    conf_level: float
    odds_ratio_method: str
    terms: tuple[Term, ...] = field(repr=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Comparison of two proportions: {self.labels[0]} vs {self.labels[1]}"

    @property
    def risk_difference(self) -> Term:
        """Treated minus control proportion (Newcombe hybrid score interval)."""
        return self.term("risk_difference")

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        return [
            (label, _describe(group))
            for label, group in zip(self.labels, (self.treated, self.control), strict=True)
        ]

    def term_labels(self) -> dict[str, str]:
        """Label the ``treated`` and ``control`` rows with the groups' names."""
        return {"treated": self.labels[0], "control": self.labels[1]}

    def term_scales(self) -> dict[str, str]:
        """Show the two groups' proportions as percentages."""
        return {"treated": "proportion", "control": "proportion"}

    def _headline_name(self) -> str:
        return "risk_difference"

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        sizes = [g[1] for g in (self.treated, self.control) if isinstance(g, tuple)]
        facts.update(
            estimator="compare_proportions",
            family="binomial",
            inference="score",
            n_obs=sum(sizes) if len(sizes) == 2 else None,
        )
        return facts

    def _refit(self, conf_level: float) -> ProportionComparison:
        return compare_proportions(
            self.treated,
            self.control,
            labels=self.labels,
            conf_level=conf_level,
            odds_ratio_method=self.odds_ratio_method,  # type: ignore[arg-type]
        )


def _describe(group: tuple[int, int] | float) -> str:
    if isinstance(group, tuple):
        x, n = group
        return f"{x:,} of {n:,} ({x / n:.1%})"
    return f"{group:.1%} (group size not given)"


def _check_group(group: object, name: str) -> tuple[int, int] | float:
    if isinstance(group, tuple | list):
        if len(group) != 2:
            raise InvalidValueError(
                f"`{name}` must be (events, group size) or a bare proportion; got {group!r}."
            )
        events = check_count(group[0], f"{name} events")
        size = check_count(group[1], f"{name} group size")
        if size == 0:
            raise InvalidValueError(f"`{name}` group size is 0; a proportion needs a group.")
        if events > size:
            raise InvalidValueError(
                f"`{name}` has more events ({events}) than its group size ({size}): the "
                "numerator cannot exceed the denominator. Check the order is (events, size)."
            )
        return (events, size)
    return check_proportion(group, name)


def compare_proportions(
    treated: tuple[int, int] | float,
    control: tuple[int, int] | float,
    *,
    labels: tuple[str, str] = ("treated", "control"),
    conf_level: float = 0.95,
    odds_ratio_method: Literal["woolf", "exact"] = "woolf",
) -> ProportionComparison:
    """Compare the proportion with an outcome in two groups (or two periods).

    Parameters
    ----------
    treated, control : (int, int) or float
        ``(events, group size)`` for each group, e.g. ``(52, 140)``. Where only percentages are
        published, pass bare proportions (``0.362``): the point estimates are computed and the
        intervals are left empty, with a note that says why.
    labels : (str, str), default ("treated", "control")
        Names of the groups for the summary, e.g. ``("FDAC", "comparison")``.
    conf_level : float, default 0.95
        Confidence level of the intervals.
    odds_ratio_method : {"woolf", "exact"}, default "woolf"
        ``"woolf"``: the sample odds ratio with the logit (Woolf) interval and Wald p-value.
        ``"exact"``: the conditional maximum likelihood odds ratio with Fisher's exact interval
        and p-value (as R's ``fisher.test``).

    Returns
    -------
    ProportionComparison
        Terms, with their methods:

        - ``treated``, ``control``: Wilson score interval (R ``prop.test(x, n, correct=FALSE)``);
        - ``risk_difference``: treated minus control, Newcombe (1998) hybrid score interval
          (method 10, no continuity correction); p-value from Pearson's chi-square test without
          continuity correction (R ``prop.test(..., correct=FALSE)``);
        - ``risk_ratio``: Katz log interval, Wald p-value on the log scale;
        - ``odds_ratio``: as ``odds_ratio_method`` says;
        - ``percent_change``: ``100 * (risk_ratio - 1)``, the relative change in risk.

    Raises
    ------
    InvalidValueError
        Negative or non-whole counts, events above the group size, a proportion outside [0, 1]
        (a value such as 36.2 is refused with a hint that it looks like a percentage), NaN.
    SizeLimitError
        ``odds_ratio_method="exact"`` with more than :data:`MAX_EXACT_CHILDREN` children.

    Warns
    -----
    UndefinedIntervalWarning
        A zero cell makes the Katz or Woolf interval undefined; the term's interval is empty and
        its ``note`` says so (use ``odds_ratio_method="exact"`` for an odds ratio interval).

    Examples
    --------
    FDAC (2016): families reunited, 52 of 140 against 25 of 100.

    >>> import sfpc_eval as se
    >>> res = se.compare_proportions((52, 140), (25, 100), labels=("FDAC", "comparison"))
    >>> rd = res.risk_difference
    >>> [round(100 * v, 1) for v in (rd.estimate, rd.conf_low, rd.conf_high)]
    [12.1, 0.2, 23.3]
    """
    g1 = _check_group(treated, "treated")
    g0 = _check_group(control, "control")
    level = check_conf_level(conf_level)
    labels = check_labels(labels)
    if odds_ratio_method not in ("woolf", "exact"):
        raise InvalidValueError(
            f"`odds_ratio_method` must be 'woolf' or 'exact'; got {odds_ratio_method!r}."
        )
    if isinstance(g1, tuple) and isinstance(g0, tuple):
        terms = _with_sizes(g1, g0, level, odds_ratio_method)
    else:
        terms = _without_sizes(_share(g1), _share(g0))
    return ProportionComparison(
        treated=g1,
        control=g0,
        labels=labels,
        conf_level=level,
        odds_ratio_method=odds_ratio_method,
        terms=(*terms, terms[3].as_percent_change()),
    )


def _share(group: tuple[int, int] | float) -> float:
    return group[0] / group[1] if isinstance(group, tuple) else group


def _ratio(a: float, b: float) -> float:
    """Return ``a / b``: infinite when only ``b`` is 0, undefined (NaN) when both are."""
    if b > 0:
        return a / b
    return math.inf if a > 0 else math.nan


def _without_sizes(p1: float, p0: float) -> tuple[Term, ...]:
    odds1 = _ratio(p1, 1 - p1)
    odds0 = _ratio(p0, 1 - p0)
    values = {
        "treated": p1,
        "control": p0,
        "risk_difference": p1 - p0,
        "risk_ratio": _ratio(p1, p0),
        "odds_ratio": _ratio(odds1, odds0),
    }
    terms = []
    for name, value in values.items():
        note = NO_SIZES
        if not math.isfinite(value):
            what = "infinite" if math.isinf(value) else "undefined (0 / 0)"
            note = f"{NO_SIZES}; {name} {what}: a proportion of 0 or 1"
            warnings.warn(
                f"{name} is {what}: a proportion of 0 or 1 leaves the ratio without a finite "
                "value. Report the risk difference.",
                UndefinedIntervalWarning,
                stacklevel=4,
            )
        terms.append(Term(name, value, note=note))
    return tuple(terms)


def _with_sizes(
    g1: tuple[int, int], g0: tuple[int, int], level: float, or_method: str
) -> tuple[Term, ...]:
    (x1, n1), (x0, n0) = g1, g0
    alpha = 1 - level
    p1, p0 = x1 / n1, x0 / n0
    terms = [
        _wilson("treated", x1, n1, alpha),
        _wilson("control", x0, n0, alpha),
    ]
    low, high = sm_prop.confint_proportions_2indep(
        x1, n1, x0, n0, method="newcomb", compare="diff", alpha=alpha
    )
    chi2, chi2_p = _pearson_chi_square(x1, n1, x0, n0)
    terms.append(
        Term(
            "risk_difference",
            p1 - p0,
            std_error=math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0),
            statistic=chi2,
            df=1.0,
            p_value=chi2_p,
            conf_low=float(low),
            conf_high=float(high),
            method="Newcombe hybrid score; Pearson chi-square",
        )
    )
    zero_cell = 0 in (x1, x0) or x1 == n1 or x0 == n0
    rr_zero = 0 in (x1, x0)
    terms.append(
        _log_scale_term(
            "risk_ratio",
            _ratio(p1, p0),
            None if rr_zero else math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0),
            level,
            "Katz log",
        )
    )
    if or_method == "exact":
        terms.append(_fisher_odds_ratio(x1, n1, x0, n0, level))
    else:
        a, b, c, d = x1, n1 - x1, x0, n0 - x0
        estimate = _ratio(a * d, b * c)
        se = None if zero_cell else math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
        terms.append(_log_scale_term("odds_ratio", estimate, se, level, "Woolf logit"))
    return tuple(terms)


def _wilson(name: str, x: int, n: int, alpha: float) -> Term:
    low, high = sm_prop.proportion_confint(x, n, alpha=alpha, method="wilson")
    return Term(
        name,
        x / n,
        std_error=math.sqrt(x / n * (1 - x / n) / n),
        conf_low=float(low),
        conf_high=float(high),
        method="Wilson score",
    )


def _pearson_chi_square(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float]:
    pooled = (x1 + x0) / (n1 + n0)
    if pooled in (0.0, 1.0):
        return math.nan, 1.0
    diff = x1 / n1 - x0 / n0
    chi2 = diff**2 / (pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    return chi2, float(stats.chi2.sf(chi2, 1))


def _log_scale_term(
    name: str, estimate: float, se_log: float | None, level: float, method: str
) -> Term:
    if se_log is None:
        warnings.warn(
            f"{name}: a zero cell makes the {method} interval undefined; the interval is left "
            "empty. For an odds ratio, odds_ratio_method='exact' gives Fisher's interval.",
            UndefinedIntervalWarning,
            stacklevel=4,
        )
        return Term(name, estimate, method=method, note=f"{name}: zero cell, interval undefined")
    return wald_term(name, math.log(estimate), se_log, level, method, exponentiate=True)


MAX_EXACT_CHILDREN = 60_000
"""Largest ``n1 + n0`` for the exact (conditional) odds ratio: its cost grows faster than the
sample (about 4 s at 60,000 on one core); at that size Woolf's interval is as good."""


def _fisher_odds_ratio(x1: int, n1: int, x0: int, n0: int, level: float) -> Term:
    if n1 + n0 > MAX_EXACT_CHILDREN:
        raise SizeLimitError(
            f"odds_ratio_method='exact' with {n1 + n0:,} children is above the limit of "
            f"{MAX_EXACT_CHILDREN:,}: the conditional odds ratio would take minutes to hours. "
            "At this size use odds_ratio_method='woolf' (the large-sample interval is accurate)."
        )
    table = [[x1, n1 - x1], [x0, n0 - x0]]
    result = scipy_odds_ratio(table, kind="conditional")
    ci = result.confidence_interval(confidence_level=level)
    p_value = stats.fisher_exact(table).pvalue
    note = ""
    if math.isnan(result.statistic):
        note = "odds_ratio: undefined, no events (or only events) in both groups"
    elif math.isinf(result.statistic):
        note = "odds_ratio: a zero cell makes the conditional MLE infinite"
    if note:
        warnings.warn(
            f"{note}; the exact interval and p-value still hold. Report the proportions.",
            UndefinedIntervalWarning,
            stacklevel=4,
        )
    return Term(
        "odds_ratio",
        float(result.statistic),
        p_value=float(p_value),
        conf_low=float(ci.low),
        conf_high=float(ci.high),
        method="conditional MLE; Fisher exact",
        note=note,
    )
