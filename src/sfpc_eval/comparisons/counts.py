"""Before/after comparison of two counts, or of two rates with their denominators."""

from __future__ import annotations

from dataclasses import dataclass, field

from scipy import stats
from statsmodels.stats import rates as sm_rates

from sfpc_eval._terms import check_labels
from sfpc_eval._validate import check_conf_level, check_count, check_positive
from sfpc_eval.errors import InvalidValueError, UndefinedEffectError
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.tables import format_number

__all__ = ["CountComparison", "compare_counts"]

DFE_RATE_BASE = 10_000
"""The DfE publishes children's social care rates per 10,000 children aged 0-17."""


@dataclass(frozen=True)
class CountComparison(ResultMixin):
    """Result of :func:`compare_counts`.

    Attributes
    ----------
    before : int
        The count before.
    after : int
        The count after.
    exposure : tuple of float
        Denominators (before, after): populations, child-years... ``(1, 1)`` for bare counts.
    per : float
        Rates are expressed per this many units of exposure.
    labels : tuple of str
        Names of the two periods or groups, used in the summary.
    conf_level : float
        Confidence level of every interval.
    terms : tuple of Term
        ``before`` and ``after`` (count or rate, exact Poisson interval), ``difference``
        (after - before), ``rate_ratio`` (after / before, exact conditional interval) and
        ``percent_change`` (``100 * (rate_ratio - 1)``).
    """

    before: int
    after: int
    exposure: tuple[float, float]
    per: float
    labels: tuple[str, str]
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        kind = "rates" if self.is_rate else "counts"
        return f"Comparison of two {kind}: {self.labels[1]} vs {self.labels[0]}"

    @property
    def is_rate(self) -> bool:
        """True when denominators were given (the comparison is of rates)."""
        return self.exposure != (1.0, 1.0) or self.per != 1.0

    @property
    def rate_ratio(self) -> Term:
        """After / before, with the exact conditional (binomial) interval and p-value."""
        return self.term("rate_ratio")

    @property
    def difference(self) -> Term:
        """After - before, on the count or rate scale."""
        return self.term("difference")

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        lines = [
            (self.labels[0], _describe(self.before, self.exposure[0], self.per, self.is_rate)),
            (self.labels[1], _describe(self.after, self.exposure[1], self.per, self.is_rate)),
        ]
        pct = self.percent_change.estimate
        word = "fall" if pct < 0 else "rise"
        lines.append(("change", f"{abs(pct):.1f}% {word}"))
        return lines

    def term_labels(self) -> dict[str, str]:
        """Label the ``before`` and ``after`` rows with the two periods' names."""
        return {"before": self.labels[0], "after": self.labels[1]}

    def term_scales(self) -> dict[str, str]:
        """Show counts as whole numbers (rates are not)."""
        return {} if self.is_rate else {"before": "count", "after": "count"}

    def _headline_name(self) -> str:
        return "rate_ratio"

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(
            estimator="compare_rates" if self.is_rate else "compare_counts",
            inference="exact",
            n_obs=self.before + self.after,
        )
        return facts

    def _refit(self, conf_level: float) -> CountComparison:
        return compare_counts(
            self.before,
            self.after,
            exposure=self.exposure if self.is_rate else None,
            per=self.per if self.is_rate else None,
            labels=self.labels,
            conf_level=conf_level,
        )


def _describe(count: int, exposure: float, per: float, is_rate: bool) -> str:
    if not is_rate:
        return f"{count:,}"
    rate = format_number(count / exposure * per)
    return f"{count:,} / {format_number(exposure)} = {rate} per {per:,g}"


def compare_counts(
    before: int,
    after: int,
    *,
    exposure: tuple[float, float] | None = None,
    per: float | None = None,
    labels: tuple[str, str] = ("before", "after"),
    conf_level: float = 0.95,
) -> CountComparison:
    """Compare two counts (or two rates) before and after a change.

    The counts are treated as independent Poisson counts. The rate ratio after/before gets the
    exact conditional interval and p-value: given the total ``before + after``, ``after`` is
    binomial, and the Clopper-Pearson interval for its share is mapped to the ratio scale. This is
    what R's ``poisson.test(c(after, before), c(exposure_after, exposure_before))`` computes.

    Parameters
    ----------
    before, after : int
        Counts in the two periods (e.g. children on child protection plans at 31 March).
    exposure : (float, float), optional
        Denominators for the two periods, e.g. the population aged 0-17. Without it the two
        counts are compared as they are (equal exposure).
    per : float, optional
        Express rates per this many units of exposure. Defaults to 10,000 when ``exposure`` is
        given (the DfE convention), and is not allowed without ``exposure``.
    labels : (str, str), default ("before", "after")
        Names of the two periods for the summary, e.g. ``("2011", "2017")``.
    conf_level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    CountComparison
        Terms ``before``, ``after`` (exact Poisson intervals), ``difference`` (score interval of
        Miettinen-Nurminen type, from statsmodels), ``rate_ratio`` (exact conditional) and
        ``percent_change``.

    Raises
    ------
    InvalidValueError
        A count that is negative, not whole, NaN or not a number; a non-positive exposure.
    UndefinedEffectError
        ``before`` is zero: a ratio or percentage change from zero does not exist.

    Notes
    -----
    Point-in-time counts of the same children in two years are not independent Poisson draws;
    the interval says how far the change exceeds Poisson noise, not that the programme caused it.
    Use a difference-in-differences design for that.

    Examples
    --------
    Leeds, children on child protection plans, 2011 and 2017:

    >>> import sfpc_eval as se
    >>> res = se.compare_counts(974, 515, labels=("2011", "2017"))
    >>> round(res.percent_change.estimate, 2)
    -47.13
    >>> [round(x, 4) for x in (res.rate_ratio.conf_low, res.rate_ratio.conf_high)]
    [0.4743, 0.5889]
    """
    n0 = check_count(before, "before")
    n1 = check_count(after, "after")
    level = check_conf_level(conf_level)
    labels = check_labels(labels)
    if exposure is None:
        if per is not None:
            raise InvalidValueError(
                "`per` was given without `exposure`: a rate needs denominators. Pass "
                "`exposure=(population_before, population_after)`, or drop `per`."
            )
        e0 = e1 = 1.0
        scale = 1.0
    else:
        if not isinstance(exposure, tuple | list) or len(exposure) != 2:
            raise InvalidValueError(
                f"`exposure` must be a pair (exposure_before, exposure_after); got {exposure!r}."
            )
        e0 = check_positive(exposure[0], "exposure[0] (before)")
        e1 = check_positive(exposure[1], "exposure[1] (after)")
        scale = DFE_RATE_BASE if per is None else check_positive(per, "per")
    if n0 == 0:
        raise UndefinedEffectError(
            f"`before` is 0, so the rate ratio and percentage change from it are undefined "
            f"(after = {n1}). Report the absolute change, or compare over a longer period so the "
            "baseline is not zero."
        )

    terms = (
        _single_rate("before", n0, e0, scale, level),
        _single_rate("after", n1, e1, scale, level),
        _rate_difference(n1, e1, n0, e0, scale, level),
        _rate_ratio(n1, e1, n0, e0, level),
    )
    terms = (*terms, terms[-1].as_percent_change())
    return CountComparison(
        before=n0,
        after=n1,
        exposure=(e0, e1),
        per=scale,
        labels=labels,
        conf_level=level,
        terms=terms,
    )


def _single_rate(name: str, count: int, exposure: float, per: float, level: float) -> Term:
    low, high = sm_rates.confint_poisson(count, exposure, method="exact-c", alpha=1 - level)
    return Term(
        name,
        count / exposure * per,
        conf_low=float(low) * per,
        conf_high=float(high) * per,
        method="exact Poisson (Garwood)",
    )


def _score_interval(n1: int, e1: float, n0: int, e0: float, level: float) -> tuple[float, float]:
    """Score interval for the difference of two Poisson rates, its limits in order.

    statsmodels' ``confint_poisson_2indep(method="score", compare="diff")`` can return the two
    limits swapped (e.g. 3586 against 1 events at 80%: (3662.6, 3509.1)); each limit is a root
    of the score test's p-value = alpha (checked by inverting the test: tests/
    test_property_findings.py), so sorting them restores the interval.
    """
    alpha = 1 - level
    low, high = sorted(
        float(v)
        for v in sm_rates.confint_poisson_2indep(
            n1, e1, n0, e0, method="score", compare="diff", alpha=alpha
        )
    )
    return low, high


def _rate_difference(n1: int, e1: float, n0: float, e0: float, per: float, level: float) -> Term:
    test = sm_rates.test_poisson_2indep(n1, e1, n0, e0, method="score", compare="diff")
    low, high = _score_interval(n1, e1, n0, e0, level)
    se = (n1 / e1**2 + n0 / e0**2) ** 0.5 * per
    return Term(
        "difference",
        (n1 / e1 - n0 / e0) * per,
        std_error=se,
        statistic=float(test.statistic),
        df=float("inf"),
        p_value=float(test.pvalue),
        conf_low=float(low) * per,
        conf_high=float(high) * per,
        method="score (statsmodels)",
    )


def _rate_ratio(n1: int, e1: float, n0: int, e0: float, level: float) -> Term:
    total = n1 + n0
    null_share = e1 / (e1 + e0)
    test = stats.binomtest(n1, total, null_share)
    ci = test.proportion_ci(confidence_level=level, method="exact")
    odds = e0 / e1

    def to_ratio(share: float) -> float:
        return share / (1 - share) * odds if share < 1 else float("inf")

    return Term(
        "rate_ratio",
        (n1 / e1) / (n0 / e0),
        p_value=float(test.pvalue),
        conf_low=to_ratio(ci.low),
        conf_high=to_ratio(ci.high),
        method="exact conditional (binomial)",
    )
