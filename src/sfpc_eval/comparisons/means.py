"""Comparison of two means from summary statistics (Welch)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

from sfpc_eval._terms import check_labels, wald_term, welch_df
from sfpc_eval._validate import check_conf_level, check_count, check_number
from sfpc_eval.errors import InvalidValueError, UndefinedEffectError, UndefinedIntervalWarning
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.tables import format_number

__all__ = ["MeanComparison", "compare_means"]

NO_SPREAD = "no SD and group size given: point estimate only"

Group = tuple[float, float, int] | float


@dataclass(frozen=True)
class MeanComparison(ResultMixin):
    """Result of :func:`compare_means`.

    Attributes
    ----------
    treated : (float, float, int) or float
        ``(mean, sd, n)``, or a bare mean where spread and size are unknown.
    control : (float, float, int) or float
        The same for the control group.
    labels : tuple of str
        Names of the two groups.
    conf_level : float
        Confidence level of every interval.
    terms : tuple of Term
        ``treated``, ``control``, ``difference`` (Welch), ``ratio`` (treated / control, delta
        method on the log scale) and ``percent_change`` (``100 * (ratio - 1)``).
    """

    treated: Group
    control: Group
    labels: tuple[str, str]
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Comparison of two means: {self.labels[0]} vs {self.labels[1]}"

    @property
    def difference(self) -> Term:
        """Treated minus control mean (Welch t interval)."""
        return self.term("difference")

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        return [
            (label, _describe(group))
            for label, group in zip(self.labels, (self.treated, self.control), strict=True)
        ]

    def term_labels(self) -> dict[str, str]:
        """Label the ``treated`` and ``control`` rows with the groups' names."""
        return {"treated": self.labels[0], "control": self.labels[1]}

    def _headline_name(self) -> str:
        return "difference"

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        sizes = [g[2] for g in (self.treated, self.control) if isinstance(g, tuple)]
        facts.update(
            estimator="compare_means",
            inference="welch",
            n_obs=sum(sizes) if len(sizes) == 2 else None,
        )
        return facts

    def _refit(self, conf_level: float) -> MeanComparison:
        return compare_means(self.treated, self.control, labels=self.labels, conf_level=conf_level)


def _describe(group: Group) -> str:
    if isinstance(group, tuple):
        mean, sd, n = group
        return f"mean {format_number(mean)} (SD {format_number(sd)}, n = {n:,})"
    return f"mean {format_number(group)} (SD and n not given)"


def _check_group(group: object, name: str) -> Group:
    if isinstance(group, tuple | list):
        if len(group) != 3:
            raise InvalidValueError(
                f"`{name}` must be (mean, sd, n) or a bare mean; got {group!r}."
            )
        mean = check_number(group[0], f"{name} mean")
        sd = check_number(group[1], f"{name} sd")
        n = check_count(group[2], f"{name} n")
        if sd < 0:
            raise InvalidValueError(f"`{name}` sd cannot be negative; got {group[1]!r}.")
        if n < 2:
            raise InvalidValueError(
                f"`{name}` n is {n}; a standard deviation needs at least 2 observations."
            )
        return (mean, sd, n)
    return check_number(group, name)


def compare_means(
    treated: Group,
    control: Group,
    *,
    labels: tuple[str, str] = ("treated", "control"),
    conf_level: float = 0.95,
) -> MeanComparison:
    """Compare two group means from published summary statistics.

    Parameters
    ----------
    treated, control : (float, float, int) or float
        ``(mean, sd, n)`` for each group. Where only means are published (e.g. days in care
        87 against 115), pass bare means: the point estimates are computed and the intervals
        are left empty, with a note that says why.
    labels : (str, str), default ("treated", "control")
        Names of the groups for the summary.
    conf_level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    MeanComparison
        Terms, with their methods:

        - ``treated``, ``control``: the mean with a one-sample t interval;
        - ``difference``: treated minus control with Welch's t test and Welch-Satterthwaite
          degrees of freedom (as R's ``t.test(x, y)``);
        - ``ratio``: treated / control mean, delta-method interval on the log scale with a
          normal reference (both means must be positive);
        - ``percent_change``: ``100 * (ratio - 1)``.

    Raises
    ------
    InvalidValueError
        NaN or non-numeric values, a negative SD, fewer than 2 observations in a group.
    UndefinedEffectError
        A control mean of zero (the ratio and percentage change are undefined).

    Examples
    --------
    >>> import sfpc_eval as se
    >>> res = se.compare_means((87.0, 120.0, 1200), (115.0, 130.0, 1250))
    >>> round(res.difference.estimate, 1), round(res.percent_change.estimate, 1)
    (-28.0, -24.3)
    """
    g1 = _check_group(treated, "treated")
    g0 = _check_group(control, "control")
    level = check_conf_level(conf_level)
    labels = check_labels(labels)
    m1 = g1[0] if isinstance(g1, tuple) else g1
    m0 = g0[0] if isinstance(g0, tuple) else g0
    if m0 == 0:
        raise UndefinedEffectError(
            "`control` mean is 0, so the ratio and percentage change are undefined. Report the "
            "difference in means instead."
        )
    if isinstance(g1, tuple) and isinstance(g0, tuple):
        terms = _with_spread(g1, g0, level)
    else:
        terms = (
            Term("treated", m1, note=NO_SPREAD),
            Term("control", m0, note=NO_SPREAD),
            Term("difference", m1 - m0, note=NO_SPREAD),
            _plain_ratio(m1, m0, NO_SPREAD),
        )
    return MeanComparison(
        treated=g1,
        control=g0,
        labels=labels,
        conf_level=level,
        terms=(*terms, terms[3].as_percent_change()),
    )


def _with_spread(
    g1: tuple[float, float, int], g0: tuple[float, float, int], level: float
) -> tuple[Term, ...]:
    (m1, s1, n1), (m0, s0, n0) = g1, g0
    v1, v0 = s1**2 / n1, s0**2 / n0
    se = math.sqrt(v1 + v0)
    df = welch_df([v1, v0], [n1, n0])
    terms = [
        wald_term("treated", m1, math.sqrt(v1), level, "t", df=n1 - 1, test=False),
        wald_term("control", m0, math.sqrt(v0), level, "t", df=n0 - 1, test=False),
        wald_term("difference", m1 - m0, se, level, "Welch t", df=df),
    ]
    if m1 > 0 and m0 > 0:
        # relative spreads and logs taken apart, so a tiny mean neither underflows its square
        # nor overflows the quotient
        se_log = math.hypot(s1 / m1 / math.sqrt(n1), s0 / m0 / math.sqrt(n0))
        log_ratio = math.log(m1) - math.log(m0)
        terms.append(
            wald_term("ratio", log_ratio, se_log, level, "delta method", exponentiate=True)
        )
    else:
        terms.append(_plain_ratio(m1, m0, "ratio interval needs two positive means"))
    return tuple(terms)


def _plain_ratio(m1: float, m0: float, note: str) -> Term:
    """Return the ratio of two means without an interval, warning when it overflows.

    A tiny control mean (1e-295, say) makes the quotient overflow to infinity.
    """
    ratio = m1 / m0
    if not math.isfinite(ratio):
        note = f"{note}; the ratio is beyond the range of floating point"
        warnings.warn(
            f"ratio: {m1:g} / {m0:g} is beyond the range of floating point; report the difference.",
            UndefinedIntervalWarning,
            stacklevel=4,
        )
    return Term("ratio", ratio, note=note)
