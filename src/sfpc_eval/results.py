"""Result objects shared by every estimator.

A result is a frozen dataclass. It is read by attribute, and every result has the same four
readings:

- ``tidy()``: a DataFrame with the fixed columns :data:`TIDY_COLUMNS` and one row per term;
- ``conf_int(level)``: the intervals at another confidence level (recomputed, not rescaled);
- ``summary()``: a :class:`~sfpc_eval.tables.Table` that prints as text, renders as HTML,
  Markdown or LaTeX and exports to Excel and Word (``print(result)`` prints it);
- ``glance()``: the model's facts (observations, councils, clusters, periods, family,
  inference...) as a one-row DataFrame with the fixed columns :data:`GLANCE_COLUMNS`, so the
  facts of many results can be bound together;
- ``percent_change``: the effect read as a percentage change, with its interval, where the
  outcome is a count, rate or mean.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Self

import pandas as pd

from sfpc_eval import labels as vocabulary
from sfpc_eval.errors import UndefinedIntervalWarning
from sfpc_eval.tables import INVALID_MARK, Table
from sfpc_eval.tables.estimates import TermView, estimates_table, formats_for
from sfpc_eval.tables.formats import format_p_value

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "GLANCE_COLUMNS",
    "INVALID_MARK",
    "TIDY_COLUMNS",
    "Term",
    "inference_code",
    "marked_term",
]

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
    conf_level : float
        Confidence level of the interval (NaN when not recorded; ``result.term(name)`` fills
        it in from the result). Not a ``tidy()`` column: the result's ``conf_level`` is.

    Examples
    --------
    >>> Term("difference", -459.0).estimate
    -459.0
    >>> print(Term("risk_difference", 0.1214, std_error=0.0595, p_value=0.047,
    ...            conf_low=0.00154, conf_high=0.2326, method="Newcombe", conf_level=0.95))
    Risk difference +12.1 pp, 95% CI [0.2, 23.3], p = 0.047 (Newcombe)
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
    conf_level: float = NAN

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
            "conf_level",
        ):
            object.__setattr__(self, name, float(getattr(self, name)))

    def __str__(self) -> str:
        """One line: label, estimate (units marked), interval, p-value and method."""
        view = TermView.of(self, vocabulary.scale_of(self.term), _level_or(self.conf_level))
        est, _, ci = formats_for([view])
        parts = [f"{vocabulary.label(self.term)} {est.text(view.estimate)}"]
        interval = ci.text((view.conf_low, view.conf_high))
        if interval:
            level = "" if math.isnan(self.conf_level) else f"{self.conf_level:.0%} "
            parts.append(f"{level}CI {interval}")
        if not math.isnan(self.p_value):
            p = format_p_value(self.p_value)
            parts.append(f"p {p.replace('<', '< ')}" if p.startswith("<") else f"p = {p}")
        line = ", ".join(parts)
        if self.method:
            line += f" ({self.method})"
        if not self.valid:
            line += f" {INVALID_MARK} not valid for this design: {self.note}"
        return line

    def as_percent_change(self) -> Term:
        """Turn a ratio term into a percentage change: ``100 * (ratio - 1)``.

        The p-value and statistic carry over; the standard error is not defined on the new scale
        and is left out.
        """
        estimate = 100 * (self.estimate - 1)
        note = self.note
        if math.isfinite(self.estimate) and not math.isfinite(estimate):
            # a ratio above about 1.8e306 has no percentage change in floating point
            why = "percent_change: the ratio is too large for a percentage (beyond 1.8e308)"
            note = f"{note}; {why}" if note else why
            warnings.warn(f"{why}.", UndefinedIntervalWarning, stacklevel=2)
        return dataclasses.replace(
            self,
            term="percent_change",
            estimate=estimate,
            std_error=NAN,
            conf_low=100 * (self.conf_low - 1),
            conf_high=100 * (self.conf_high - 1),
            note=note,
        )


def _level_or(level: float) -> float:
    return 0.95 if math.isnan(level) else level


def marked_term(term: Term) -> str:
    """Return the term's name, with :data:`INVALID_MARK` when its inference is not valid.

    Examples
    --------
    >>> marked_term(Term("treated", 1.0, valid=False))
    'treated \u2020'
    """
    return term.term if term.valid else f"{term.term} {INVALID_MARK}"


GLANCE_COLUMNS: tuple[str, ...] = (
    "estimator",
    "outcome",
    "family",
    "n_obs",
    "n_units",
    "n_treated",
    "n_clusters",
    "n_periods",
    "fixed_effects",
    "inference",
    "inference_df",
    "conf_level",
    "log_likelihood",
    "r_squared",
    "pre_rmspe",
)
"""Columns of every ``glance()`` table, in order (one row per result).

``estimator`` (a code such as ``"did"`` or ``"glmm"``), ``outcome`` (the outcome column),
``family`` (``"gaussian"``, ``"poisson"``, ``"binomial"`` or ``""``), ``n_obs`` (rows: children
or council-years), ``n_units`` (councils or units), ``n_treated`` (treated councils),
``n_clusters`` (clusters of the inference), ``n_periods``, ``fixed_effects`` (the columns with
fixed effects, comma-separated), ``inference`` (a code such as ``"CR2"``, ``"wild_bootstrap"``
or ``"randomization"``), ``inference_df`` (degrees of freedom of the headline term: inf for a
normal reference), ``conf_level``, and the fit statistics ``log_likelihood``, ``r_squared`` and
``pre_rmspe`` (NaN where not defined). :func:`sfpc_eval.labels.label` words every column and
code.
"""

_GLANCE_TYPES = {
    "n_obs": "Int64",
    "n_units": "Int64",
    "n_treated": "Int64",
    "n_clusters": "Int64",
    "n_periods": "Int64",
    "inference_df": "float64",
    "conf_level": "float64",
    "log_likelihood": "float64",
    "r_squared": "float64",
    "pre_rmspe": "float64",
}


def inference_code(spec: object) -> str:
    """Short code of an inference setting, for ``glance()`` (worded by :mod:`sfpc_eval.labels`).

    Examples
    --------
    >>> from sfpc_eval.inference import ClusterRobust, WildClusterBootstrap
    >>> inference_code(ClusterRobust("la", kind="CR2")), inference_code(WildClusterBootstrap())
    ('CR2', 'wild_bootstrap')
    """
    name = type(spec).__name__
    if name in ("ClusterRobust", "HeteroskedasticityRobust"):
        return str(getattr(spec, "kind", ""))
    return {
        "WildClusterBootstrap": "wild_bootstrap",
        "Randomization": "randomization",
        "Classical": "classical",
        "SteppedWedgeRandomization": "rollout_randomization",
    }.get(name, "")


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

    def term_labels(self) -> dict[str, str]:
        """Labels of this result's terms that differ from the vocabulary (group names...)."""
        return {}

    def term_scales(self) -> dict[str, str]:
        """Scales of this result's terms that differ from :func:`sfpc_eval.labels.scale_of`."""
        return {}

    @property
    def headline(self) -> Term:
        """The term a table or sentence leads with (the effect), with its confidence level."""
        return self.term(self._headline_name())

    def _headline_name(self) -> str:
        return self.terms[0].term

    def _glance(self) -> dict[str, object]:
        """Return the model facts of this result; results override it to add what they know."""
        get = getattr
        try:
            df = self.headline.df
        except (KeyError, IndexError):
            df = NAN
        return {
            "estimator": "",
            "outcome": get(self, "outcome", ""),
            "family": get(self, "family", ""),
            "n_obs": get(self, "n_obs", None),
            "n_units": get(self, "n_units", None),
            "n_treated": None,
            "n_clusters": get(self, "n_clusters", None),
            "n_periods": get(self, "n_periods", None),
            "fixed_effects": "",
            "inference": "",
            "inference_df": df,
            "conf_level": self.conf_level,
            "log_likelihood": NAN,
            "r_squared": NAN,
            "pre_rmspe": NAN,
        }

    def glance(self) -> pd.DataFrame:
        """Return the model's facts as a one-row DataFrame with the columns :data:`GLANCE_COLUMNS`.

        Missing facts are ``<NA>`` (counts) or NaN (statistics), so the rows of many results
        bind with ``pd.concat``.

        Examples
        --------
        >>> import sfpc_eval as se
        >>> se.compare_counts(974, 515).glance()[["estimator", "inference", "conf_level"]]
               estimator inference  conf_level
        0  compare_counts     exact        0.95
        """
        facts = self._glance()
        row = {c: facts.get(c) for c in GLANCE_COLUMNS}
        frame = pd.DataFrame([row], columns=list(GLANCE_COLUMNS))
        for column, dtype in _GLANCE_TYPES.items():
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(dtype)
        for column in ("estimator", "outcome", "family", "fixed_effects", "inference"):
            frame[column] = frame[column].fillna("").astype(str)
        return frame

    def term(self, name: str) -> Term:
        """Return the term called ``name``.

        Raises
        ------
        KeyError
            Naming the terms that exist.
        """
        for t in self.terms:
            if t.term == name:
                return t if not math.isnan(t.conf_level) else replace(t, conf_level=self.conf_level)
        raise KeyError(f"no term {name!r}; terms are: {', '.join(t.term for t in self.terms)}")

    @property
    def percent_change(self) -> Term:
        """The effect read as a percentage change (``term == "percent_change"``)."""
        return self.term("percent_change")

    def tidy(self) -> pd.DataFrame:
        """Return one row per term with the columns :data:`TIDY_COLUMNS`.

        Design columns (``conf_level``) follow the fixed ones.
        """
        rows = [[getattr(t, c) for c in TIDY_COLUMNS] for t in self.terms]
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

    def plot(self, ax: Axes | None = None, **style: Any) -> Axes:
        """Draw the result; returns the Axes.

        A two-group comparison draws both groups with their intervals
        (:func:`sfpc_eval.plotting.plot_comparison`); any other result draws its terms as rows
        with their intervals (:func:`sfpc_eval.plotting.forest.plot_terms`). ``style``:
        ``labels`` (words for the groups, terms or value axis), ``title`` (the main message) and
        ``source`` (the line under the chart).
        """
        names = {t.term for t in self.terms}
        if {"before", "after"} <= names or {"treated", "control"} <= names:
            from sfpc_eval.plotting import plot_comparison

            return plot_comparison(self, ax=ax, **style)
        from sfpc_eval.plotting import plot_terms

        return plot_terms(self, ax=ax, **style)

    def summary(self, labels: dict[str, str] | None = None) -> Table:
        """Render the result as a table (see :func:`sfpc_eval.tables.estimates_table`).

        ``print`` it, call ``as_html()``, ``as_markdown()`` or ``as_latex()`` on it, or
        ``save("table.xlsx")`` / ``save("table.docx")``. ``labels`` overrides term labels.
        """
        return estimates_table(self, labels=labels)

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()
