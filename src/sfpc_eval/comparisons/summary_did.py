"""2x2 difference-in-differences from published summary numbers (four means or four counts)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sfpc_eval._terms import check_labels, wald_term, welch_df
from sfpc_eval._validate import check_conf_level, check_count, check_number, check_positive
from sfpc_eval.errors import InvalidValueError, UndefinedEffectError
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.tables import format_number

__all__ = ["SummaryDid", "did_from_counts", "did_from_means"]

NO_SPREAD = "no SDs and sizes given: point estimate only"


@dataclass(frozen=True)
class SummaryDid(ResultMixin):
    """Result of :func:`did_from_means` or :func:`did_from_counts`.

    Attributes
    ----------
    kind : str
        ``"means"`` or ``"counts"``.
    cells : dict
        The four inputs, keyed ``treated_before``, ``treated_after``, ``control_before``,
        ``control_after``.
    labels : tuple of str
        Names of the treated and comparison groups.
    conf_level : float
        Confidence level.
    terms : tuple of Term
        Means: ``treated_change``, ``control_change``, ``did`` (difference of changes).
        Counts: ``treated_rate_ratio``, ``control_rate_ratio``, ``ratio_of_rate_ratios`` and
        ``percent_change`` (``100 * (ratio_of_rate_ratios - 1)``).
    """

    kind: str
    cells: dict[str, tuple[float, ...] | float] = field(repr=False)
    labels: tuple[str, str]
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return (
            f"Difference-in-differences from four {self.kind}: {self.labels[0]} vs {self.labels[1]}"
        )

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""

        def show(value: tuple[float, ...] | float) -> str:
            if isinstance(value, tuple):
                return " / ".join(format_number(v) for v in value)
            return format_number(value)

        return [(key.replace("_", " "), show(value)) for key, value in self.cells.items()]

    def _headline_name(self) -> str:
        return "did" if self.kind == "means" else "ratio_of_rate_ratios"

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(
            estimator=f"did_from_{self.kind}",
            family="poisson" if self.kind == "counts" else "gaussian",
            inference="welch" if self.kind == "means" else "wald",
        )
        return facts

    def _refit(self, conf_level: float) -> SummaryDid:
        c = self.cells
        function = did_from_means if self.kind == "means" else did_from_counts
        return function(
            treated=(c["treated_before"], c["treated_after"]),
            control=(c["control_before"], c["control_after"]),
            labels=self.labels,
            conf_level=conf_level,
        )


def _pair(value: object, name: str) -> tuple[object, object]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise InvalidValueError(f"`{name}` must be a pair (before, after); got {value!r}.")
    return value[0], value[1]


def did_from_means(
    treated: tuple[object, object],
    control: tuple[object, object],
    *,
    labels: tuple[str, str] = ("treated", "comparison"),
    conf_level: float = 0.95,
) -> SummaryDid:
    """Difference-in-differences of four group means: (treated after - before) - (control ...).

    Parameters
    ----------
    treated, control : (before, after)
        Each of the four is a bare mean, or ``(mean, sd, n)`` from independent samples.
    labels : (str, str), default ("treated", "comparison")
        Group names for the summary.
    conf_level : float, default 0.95
        Confidence level.

    Returns
    -------
    SummaryDid
        With SDs and sizes for all four, the interval is Welch-type: SE ``sqrt(sum sd^2 / n)``
        with Satterthwaite degrees of freedom ``(sum v)^2 / sum(v^2 / (n - 1))``.

    Examples
    --------
    >>> import sfpc_eval as se
    >>> res = se.did_from_means(treated=(68.0, 61.0), control=(64.0, 66.0))
    >>> res.term("did").estimate
    -9.0
    """
    level = check_conf_level(conf_level)
    labels = check_labels(labels)
    raw = {
        "treated_before": _pair(treated, "treated")[0],
        "treated_after": _pair(treated, "treated")[1],
        "control_before": _pair(control, "control")[0],
        "control_after": _pair(control, "control")[1],
    }
    cells: dict[str, tuple[float, ...] | float] = {}
    for key, value in raw.items():
        if isinstance(value, tuple | list):
            if len(value) != 3:
                raise InvalidValueError(f"`{key}` must be a mean or (mean, sd, n); got {value!r}.")
            mean = check_number(value[0], f"{key} mean")
            sd = check_number(value[1], f"{key} sd")
            n = check_count(value[2], f"{key} n")
            if sd < 0 or n < 2:
                raise InvalidValueError(f"`{key}` needs sd >= 0 and n >= 2; got {value!r}.")
            cells[key] = (mean, sd, float(n))
        else:
            cells[key] = check_number(value, key)

    def mean(key: str) -> float:
        v = cells[key]
        return v[0] if isinstance(v, tuple) else v

    t_change = mean("treated_after") - mean("treated_before")
    c_change = mean("control_after") - mean("control_before")
    if all(isinstance(v, tuple) for v in cells.values()):
        variances = {k: v[1] ** 2 / v[2] for k, v in cells.items()}  # type: ignore[index]
        sizes = {k: v[2] for k, v in cells.items()}  # type: ignore[index]

        def term(name: str, estimate: float, keys: list[str]) -> Term:
            total = sum(variances[k] for k in keys)
            df = welch_df([variances[k] for k in keys], [sizes[k] for k in keys])
            return wald_term(name, estimate, math.sqrt(total), level, "Welch t", df=df)

        terms = (
            term("treated_change", t_change, ["treated_before", "treated_after"]),
            term("control_change", c_change, ["control_before", "control_after"]),
            term("did", t_change - c_change, list(cells)),
        )
    else:
        terms = (
            Term("treated_change", t_change, note=NO_SPREAD),
            Term("control_change", c_change, note=NO_SPREAD),
            Term("did", t_change - c_change, note=NO_SPREAD),
        )
    return SummaryDid(kind="means", cells=cells, labels=labels, conf_level=level, terms=terms)


def did_from_counts(
    treated: tuple[object, object],
    control: tuple[object, object],
    *,
    labels: tuple[str, str] = ("treated", "comparison"),
    conf_level: float = 0.95,
) -> SummaryDid:
    """Ratio of rate ratios from four counts with their denominators.

    "Leeds against its statistical neighbours": the change in Leeds' rate divided by the change
    in the neighbours' rate, ``(a1/A1) / (a0/A0)`` over ``(c1/C1) / (c0/C0)``.

    Parameters
    ----------
    treated, control : ((count, exposure), (count, exposure))
        Before and after, each a count and its denominator (e.g. population 0-17).
    labels : (str, str), default ("treated", "comparison")
        Group names for the summary.
    conf_level : float, default 0.95
        Confidence level.

    Returns
    -------
    SummaryDid
        Log-scale Wald intervals with ``var(log RRR) = 1/a1 + 1/a0 + 1/c1 + 1/c0`` (independent
        Poisson counts; the same as the interaction of a Poisson GLM on the four cells).

    Raises
    ------
    InvalidValueError
        A negative or non-whole count, or a non-positive exposure.
    UndefinedEffectError
        A zero count (the log ratio is undefined).

    Examples
    --------
    >>> import sfpc_eval as se
    >>> res = se.did_from_counts(
    ...     treated=((974, 160_000), (515, 166_000)), control=((5000, 1.0e6), (4800, 1.02e6))
    ... )
    >>> round(res.percent_change.estimate, 1)
    -45.9
    """
    level = check_conf_level(conf_level)
    labels = check_labels(labels)
    cells: dict[str, tuple[float, ...] | float] = {}
    for group, value in (("treated", treated), ("control", control)):
        for period, cell in zip(("before", "after"), _pair(value, group), strict=True):
            key = f"{group}_{period}"
            if not isinstance(cell, tuple | list) or len(cell) != 2:
                raise InvalidValueError(f"`{key}` must be (count, exposure); got {cell!r}.")
            count = check_count(cell[0], f"{key} count")
            exposure = check_positive(cell[1], f"{key} exposure")
            if count == 0:
                raise UndefinedEffectError(
                    f"`{key}` count is 0, so the log rate ratio is undefined. Pool periods or "
                    "areas so that every cell has events."
                )
            cells[key] = (float(count), exposure)

    def log_rate(key: str) -> float:
        count, exposure = cells[key]  # type: ignore[misc]
        return math.log(count / exposure)

    def inv(key: str) -> float:
        return 1 / cells[key][0]  # type: ignore[index]

    t_log = log_rate("treated_after") - log_rate("treated_before")
    c_log = log_rate("control_after") - log_rate("control_before")
    method = "Wald, log scale (Poisson)"
    ratio = wald_term(
        "ratio_of_rate_ratios",
        t_log - c_log,
        math.sqrt(sum(inv(k) for k in cells)),
        level,
        method,
        exponentiate=True,
    )
    terms = (
        wald_term(
            "treated_rate_ratio",
            t_log,
            math.sqrt(inv("treated_before") + inv("treated_after")),
            level,
            method,
            exponentiate=True,
        ),
        wald_term(
            "control_rate_ratio",
            c_log,
            math.sqrt(inv("control_before") + inv("control_after")),
            level,
            method,
            exponentiate=True,
        ),
        ratio,
        ratio.as_percent_change(),
    )
    return SummaryDid(kind="counts", cells=cells, labels=labels, conf_level=level, terms=terms)
