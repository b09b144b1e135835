"""Result objects shared by every estimator.

A result is a frozen dataclass. It is read by attribute, and every result has the same four
readings:

- ``tidy()``: a DataFrame with the fixed columns :data:`TIDY_COLUMNS` and one row per term;
- ``conf_int(level)``: the intervals at another confidence level (recomputed, not rescaled);
- ``summary()``: a :class:`~sfpc_eval._tables.Table` that prints as text and renders as HTML,
  Markdown or LaTeX;
- ``percent_change``: the effect read as a percentage change, with its interval, where the
  outcome is a count, rate or mean.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import pandas as pd

from sfpc_eval._tables import Table, format_number, format_p_value

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["INVALID_MARK", "TIDY_COLUMNS", "Term", "marked_term"]

TIDY_COLUMNS: tuple[str, ...] = (
    "term",
    "estimate",
    "std_error",
    "statistic",
    "df",
    "p_value",
    "conf_low",
    "conf_high",
    "method",
    "note",
    "valid",
)
"""Columns of every ``tidy()`` table, in order.

``method`` names how the interval and p-value were computed; ``note`` is empty unless something
about the row needs saying (an interval that cannot be computed says why here). ``valid`` is
False when the row's interval or p-value comes from a method that is not valid for the design
(cluster-robust variance with one treated cluster, a Wald z test with few clusters, say), or
when the row combines two methods that disagree about significance (a randomization p-value
beside a model interval); ``note`` then says why, tables mark the row, and no summary sentence
or headline is built from it (the rules: :mod:`sfpc_eval.inference.validity`).
"""

NAN = math.nan

INVALID_MARK = "\u2020"
"""Dagger after the name of a row whose inference is not valid for the design (tables)."""


@dataclass(frozen=True)
class Term:
    """One estimated quantity: a row of ``tidy()``.

    Parameters
    ----------
    term : str
        Name of the quantity (``"rate_ratio"``, ``"risk_difference"``...).
    estimate : float
        Point estimate.
    std_error : float
        Standard error on the scale of the estimate (NaN where the method has none, e.g. an
        exact interval; ``method`` then says so).
    statistic, df, p_value : float
        Test statistic, its degrees of freedom (inf for a normal reference, NaN where not a
        t/chi-square test), and the p-value against the null of no change.
    conf_low, conf_high : float
        Confidence interval at the result's ``conf_level``.
    method : str
        How the interval and p-value were computed.
    note : str
        Anything about this row a reader must know (empty otherwise).
    valid : bool
        False when the interval and p-value come from a method that is not valid for this
        design; ``note`` says why.

    Examples
    --------
    >>> Term("difference", -459.0).estimate
    -459.0
    """

    term: str
    estimate: float
    std_error: float = NAN
    statistic: float = NAN
    df: float = NAN
    p_value: float = NAN
    conf_low: float = NAN
    conf_high: float = NAN
    method: str = ""
    note: str = ""
    valid: bool = True

    def __post_init__(self) -> None:
        # store plain Python floats, whatever numpy scalar type the computation produced
        for name in (
            "estimate",
            "std_error",
            "statistic",
            "df",
            "p_value",
            "conf_low",
            "conf_high",
        ):
            object.__setattr__(self, name, float(getattr(self, name)))

    def as_percent_change(self) -> Term:
        """Turn a ratio term into a percentage change: ``100 * (ratio - 1)``.

        The p-value and statistic carry over; the standard error is not defined on the new scale
        and is left out.
        """
        return dataclasses.replace(
            self,
            term="percent_change",
            estimate=100 * (self.estimate - 1),
            std_error=NAN,
            conf_low=100 * (self.conf_low - 1),
            conf_high=100 * (self.conf_high - 1),
        )


def marked_term(term: Term) -> str:
    """Return the term's name, with :data:`INVALID_MARK` when its inference is not valid.

    Examples
    --------
    >>> marked_term(Term("treated", 1.0, valid=False))
    'treated \u2020'
    """
    return term.term if term.valid else f"{term.term} {INVALID_MARK}"


class ResultMixin:
    """Readings common to every result. Subclasses are frozen dataclasses.

    A subclass defines ``terms`` (a tuple of :class:`Term`), ``conf_level``, ``title`` and
    ``facts()`` (input lines shown in the summary), and ``_refit(conf_level)`` to recompute the
    intervals at another level.
    """

    terms: tuple[Term, ...]
    conf_level: float
    title: str

    def _refit(self, conf_level: float) -> Self:  # pragma: no cover - abstract
        raise NotImplementedError

    def facts(self) -> list[tuple[str, str]]:
        """Input and method lines shown above the summary table."""
        return []

    def notes(self) -> list[str]:
        """Lines shown below the summary table.

        Notes of rows that are not valid for the design come first, marked with the same
        :data:`INVALID_MARK` as the rows.
        """
        invalid = [f"{INVALID_MARK} {t.note}" for t in self.terms if not t.valid and t.note]
        other = [t.note for t in self.terms if t.valid and t.note]
        return [n for n in dict.fromkeys([*invalid, *other]) if n]

    def term(self, name: str) -> Term:
        """Return the term called ``name``.

        Raises
        ------
        KeyError
            Naming the terms that exist.
        """
        for t in self.terms:
            if t.term == name:
                return t
        raise KeyError(f"no term {name!r}; terms are: {', '.join(t.term for t in self.terms)}")

    @property
    def percent_change(self) -> Term:
        """The effect read as a percentage change (``term == "percent_change"``)."""
        return self.term("percent_change")

    def tidy(self) -> pd.DataFrame:
        """Return one row per term with the columns :data:`TIDY_COLUMNS`.

        Design columns (``conf_level``) follow the fixed ones.
        """
        rows = [dataclasses.astuple(t) for t in self.terms]
        frame = pd.DataFrame(rows, columns=list(TIDY_COLUMNS))
        frame["conf_level"] = self.conf_level
        return frame

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals at ``level``, recomputed with the same methods.

        Parameters
        ----------
        level : float, default 0.95
            Confidence level in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Indexed by term, with columns ``conf_low`` and ``conf_high``.
        """
        refit = self._refit(level) if level != self.conf_level else self
        return refit.tidy().set_index("term")[["conf_low", "conf_high"]]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the result (see :func:`sfpc_eval.plotting.plot_comparison`); returns the Axes."""
        from sfpc_eval.plotting import plot_comparison

        return plot_comparison(self, ax=ax)

    def summary(self) -> Table:
        """Render the result as a table.

        ``print`` it, or call ``as_html()``, ``as_markdown()`` or ``as_latex()`` on it.
        """
        pct = f"{self.conf_level:.0%}"
        columns = ["term", "estimate", "std. error", f"{pct} CI", "p-value", "method"]
        rows = [
            [
                marked_term(t),
                format_number(t.estimate),
                format_number(t.std_error),
                _interval(t.conf_low, t.conf_high),
                format_p_value(t.p_value),
                t.method,
            ]
            for t in self.terms
        ]
        return Table(self.title, columns, rows, facts=self.facts(), notes=self.notes())

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


def _interval(low: float, high: float) -> str:
    if math.isnan(low) and math.isnan(high):
        return ""
    return f"[{format_number(low)}, {format_number(high)}]"
