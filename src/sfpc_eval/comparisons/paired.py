"""Paired child-level change: the same children measured before and after."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from sfpc_eval._terms import check_labels, wald_term
from sfpc_eval._validate import check_conf_level, check_resamples, check_seed
from sfpc_eval.errors import (
    DuplicateObservationError,
    InvalidValueError,
    UndefinedEffectError,
    UndefinedIntervalWarning,
    show_values,
)
from sfpc_eval.panel import numeric_column, require_columns
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.tables import format_number

__all__ = ["PairedComparison", "paired_change"]


@dataclass(frozen=True)
class PairedComparison(ResultMixin):
    """Result of :func:`paired_change`.

    Attributes
    ----------
    n : int
        Number of children (pairs).
    totals : (float, float)
        Sum of the outcome before and after.
    labels : tuple of str
        Names of the two periods.
    conf_level : float
        Confidence level of every interval.
    ratio_method : str
        ``"delta"`` or ``"bootstrap"``.
    n_resamples : int
        Bootstrap resamples (0 for the delta method).
    terms : tuple of Term
        ``before``, ``after`` (means), ``mean_difference`` (paired t), ``ratio_of_totals`` and
        ``percent_change`` (``100 * (ratio_of_totals - 1)``).
    """

    n: int
    totals: tuple[float, float]
    labels: tuple[str, str]
    conf_level: float
    ratio_method: str
    n_resamples: int
    terms: tuple[Term, ...] = field(repr=False)
    _pairs: np.ndarray = field(repr=False, compare=False)
    _seed: int | None = field(repr=False, compare=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Paired change: {self.labels[1]} vs {self.labels[0]} ({self.n:,} pairs)"

    @property
    def ratio_of_totals(self) -> Term:
        """Total after / total before."""
        return self.term("ratio_of_totals")

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        return [
            (f"total {self.labels[0]}", format_number(self.totals[0])),
            (f"total {self.labels[1]}", format_number(self.totals[1])),
            ("ratio interval", self.ratio_method),
        ]

    def term_labels(self) -> dict[str, str]:
        """Label the ``before`` and ``after`` rows with the two periods' names."""
        return {"before": self.labels[0], "after": self.labels[1]}

    def _headline_name(self) -> str:
        return "mean_difference"

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(
            estimator="paired_change",
            inference="bootstrap" if self.ratio_method == "bootstrap" else "delta",
            n_obs=self.n,
            n_units=self.n,
        )
        return facts

    def _refit(self, conf_level: float) -> PairedComparison:
        frame = pd.DataFrame(self._pairs, columns=["before", "after"])
        return paired_change(
            frame,
            labels=self.labels,
            conf_level=conf_level,
            ratio_method=self.ratio_method,  # type: ignore[arg-type]
            n_resamples=self.n_resamples or 9_999,
            rng=self._seed,
        )


def paired_change(
    data: pd.DataFrame,
    *,
    before: str = "before",
    after: str = "after",
    unit: str | None = None,
    labels: tuple[str, str] = ("before", "after"),
    conf_level: float = 0.95,
    ratio_method: Literal["delta", "bootstrap"] = "delta",
    n_resamples: int = 9_999,
    rng: int | None = None,
) -> PairedComparison:
    """Change in a child-level outcome measured on the same children before and after.

    The typical use is days in care (or police contacts, emergency admissions) in the 12 months
    before and after a family was allocated to the new model, one row per child.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per child. Not modified.
    before, after : str, default "before", "after"
        Columns holding the outcome in the two periods.
    unit : str, optional
        Child identifier column; if given, it must be unique.
    labels : (str, str), default ("before", "after")
        Names of the two periods for the summary.
    conf_level : float, default 0.95
        Confidence level of the intervals.
    ratio_method : {"delta", "bootstrap"}, default "delta"
        Interval for the ratio of totals: the delta method on the log scale (normal reference),
        or a percentile bootstrap that resamples children.
    n_resamples : int, default 9999
        Bootstrap resamples (``ratio_method="bootstrap"`` only).
    rng : int, optional
        Seed for the bootstrap.

    Returns
    -------
    PairedComparison
        Terms:

        - ``before``, ``after``: means with one-sample t intervals;
        - ``mean_difference``: mean of (after - before) with the paired t test (as R's
          ``t.test(after, before, paired = TRUE)``);
        - ``ratio_of_totals``: ``sum(after) / sum(before)``. Delta method:
          ``var(log R) = [s_a^2 / m_a^2 + s_b^2 / m_b^2 - 2 s_ab / (m_a m_b)] / n``;
        - ``percent_change``: ``100 * (ratio_of_totals - 1)``, e.g. "a 39% drop in days in
          care" is a percent change of -39.

    Raises
    ------
    MissingColumnError
        ``before``, ``after`` or ``unit`` is not a column.
    InvalidValueError
        Non-numeric, missing or infinite values; fewer than 2 children.
    DuplicateObservationError
        A child appears twice in ``unit``.
    UndefinedEffectError
        The total before is zero (no ratio or percentage change exists).

    Examples
    --------
    >>> import pandas as pd
    >>> import sfpc_eval as se
    >>> days = pd.DataFrame({"before": [120, 0, 365, 40, 200], "after": [60, 0, 300, 0, 180]})
    >>> res = se.paired_change(days)
    >>> round(res.percent_change.estimate, 1)
    -25.5
    """
    require_columns(data, {"before": before, "after": after, "unit": unit})
    level = check_conf_level(conf_level)
    labels = check_labels(labels)
    if ratio_method not in ("delta", "bootstrap"):
        raise InvalidValueError(
            f"`ratio_method` must be 'delta' or 'bootstrap'; got {ratio_method!r}."
        )
    resamples = check_resamples(n_resamples, "n_resamples", minimum=100)
    check_seed(rng)
    if unit is not None:
        dup = data[unit].duplicated(keep=False).to_numpy()
        if dup.any():
            raise DuplicateObservationError(
                f"`unit` column {unit!r} repeats children in rows "
                f"{show_values(list(data.index[dup]))}. Paired data need one row per child: "
                "sum each child's periods first."
            )
    b = numeric_column(data, before, argument="before").to_numpy()
    a = numeric_column(data, after, argument="after").to_numpy()
    n = len(a)
    if n < 2:
        raise InvalidValueError(f"`data` has {n} row(s); a paired comparison needs at least 2.")
    if b.sum() == 0:
        raise UndefinedEffectError(
            f"the total of `before` ({before!r}) is 0, so the ratio and percentage change are "
            "undefined. Report the mean difference instead."
        )
    pairs = np.column_stack([b, a])
    diff = a - b
    terms = [
        wald_term(
            "before", b.mean(), b.std(ddof=1) / math.sqrt(n), level, "t", df=n - 1, test=False
        ),
        wald_term(
            "after", a.mean(), a.std(ddof=1) / math.sqrt(n), level, "t", df=n - 1, test=False
        ),
        wald_term(
            "mean_difference",
            diff.mean(),
            diff.std(ddof=1) / math.sqrt(n),
            level,
            "paired t",
            df=n - 1,
        ),
    ]
    if ratio_method == "delta":
        terms.append(_delta_ratio(b, a, level))
    else:
        terms.append(_bootstrap_ratio(pairs, level, resamples, rng))
    terms.append(terms[-1].as_percent_change())
    return PairedComparison(
        n=n,
        totals=(float(b.sum()), float(a.sum())),
        labels=labels,
        conf_level=level,
        ratio_method=ratio_method,
        n_resamples=resamples if ratio_method == "bootstrap" else 0,
        terms=tuple(terms),
        _pairs=pairs,
        _seed=rng,
    )


def _delta_ratio(b: np.ndarray, a: np.ndarray, level: float) -> Term:
    n = len(a)
    mb, ma = b.mean(), a.mean()
    if ma == 0:
        return Term("ratio_of_totals", 0.0, note="total after is 0: no interval on the log scale")
    cov = np.cov(np.column_stack([a, b]), rowvar=False, ddof=1)
    var_log = (cov[0, 0] / ma**2 + cov[1, 1] / mb**2 - 2 * cov[0, 1] / (ma * mb)) / n
    return wald_term(
        "ratio_of_totals",
        math.log(ma / mb),
        math.sqrt(max(var_log, 0.0)),
        level,
        "delta method",
        exponentiate=True,
    )


def _bootstrap_ratio(pairs: np.ndarray, level: float, resamples: int, seed: int | None) -> Term:
    generator = np.random.default_rng(seed)
    n = len(pairs)
    ratios = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(n, 1))
    done = 0
    while done < resamples:
        size = min(chunk, resamples - done)
        idx = generator.integers(0, n, size=(size, n))
        sums = pairs[idx].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios[done : done + size] = sums[:, 1] / sums[:, 0]
        done += size
    # A resample whose before-total is 0 has no ratio (0/0) or an infinite one; the infinite ones
    # sort to the top and stay, the undefined ones are counted and said in the note.
    undefined = int(np.isnan(ratios).sum())
    tail = (1 - level) / 2
    low, high = np.nanquantile(ratios, [tail, 1 - tail], method="inverted_cdf")
    finite = ratios[np.isfinite(ratios)]
    estimate = pairs[:, 1].sum() / pairs[:, 0].sum()
    notes = []
    if undefined:
        notes.append(
            f"{undefined:,} of {resamples:,} resamples had zero totals in both periods and no ratio"
        )
    if not np.isfinite(high):
        notes.append(
            "upper limit infinite: more than (1 - conf_level) / 2 of the resamples have a "
            "before-total of 0"
        )
        warnings.warn(
            "ratio_of_totals: the bootstrap interval's upper limit is infinite (many resamples "
            "have a before-total of 0); report the totals themselves.",
            UndefinedIntervalWarning,
            stacklevel=3,
        )
    note = "; ".join(notes)
    return Term(
        "ratio_of_totals",
        float(estimate),
        std_error=float(np.std(finite, ddof=1)),
        conf_low=float(low),
        conf_high=float(high),
        method=f"percentile bootstrap ({resamples:,} resamples)",
        note=note,
    )
