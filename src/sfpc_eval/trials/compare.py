"""Compare random-effect structures of a stepped-wedge mixed model: the sensitivity analysis.

With few councils observed over many periods, the random-intercept model understates the
variance of the effect when the correlation between a council's periods decays (Kasza et al.
2019; Li et al. 2021). Reviewers therefore ask for the effect under the nested exchangeable and
decay structures beside the random intercept. :func:`compare_random_effects` fits each with
:func:`~sfpc_eval.trials.analysis.stepped_wedge` on the same data and tabulates their
likelihoods, information criteria, the effect with its interval, and the ICC and CAC.

The structures are nested models: the random intercept is the nested exchangeable model with
no council-by-period variance, and the decay model with an AR(1) correlation of one; with the
same fixed effects their log-likelihoods (REML ones, for a Gaussian outcome) are comparable
and AIC ranks them. A difference in AIC of a few units is weak evidence; the point of the table
is whether the effect and its interval depend on the choice.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sfpc_eval.errors import InvalidValueError, SingularFitWarning, show_values
from sfpc_eval.tables import Cell, NumberFormat, Table
from sfpc_eval.trials.analysis import stepped_wedge
from sfpc_eval.trials.analysis_result import SteppedWedgeResult
from sfpc_eval.trials.structures import STRUCTURES

__all__ = ["COMPARISON_COLUMNS", "RandomEffectsComparison", "compare_random_effects"]

COMPARISON_COLUMNS = (
    "random_effects",
    "loglik",
    "n_params",
    "aic",
    "delta_aic",
    "estimate",
    "std_error",
    "conf_low",
    "conf_high",
    "p_value",
    "icc",
    "cac",
    "singular",
)
"""Columns of :meth:`RandomEffectsComparison.tidy`."""

_LABELS = {
    "intercept": "random intercept",
    "nested": "nested exchangeable",
    "decay": "exponential decay (AR(1))",
    "slope": "random treatment slope",
}


@dataclass(frozen=True)
class RandomEffectsComparison:
    """The same trial analysed under several random-effect structures.

    Attributes
    ----------
    results : dict
        Structure name -> :class:`~sfpc_eval.trials.analysis.SteppedWedgeResult`.
    singular : dict
        Structure name -> the fit is on the boundary (a variance component at zero), with the
        warning's text.
    conf_level : float
    """

    results: dict[str, SteppedWedgeResult] = field(repr=False)
    singular: dict[str, str] = field(repr=False)
    conf_level: float

    @property
    def effect_term(self) -> str:
        """The reading compared: the odds or rate ratio, or the difference in means."""
        family = next(iter(self.results.values())).family
        return {"binomial": "odds_ratio", "gaussian": "treated"}.get(family, "rate_ratio")

    def tidy(self) -> pd.DataFrame:
        """Return one row per structure with the columns :data:`COMPARISON_COLUMNS`.

        ``estimate`` and its interval are on the scale of :attr:`effect_term` (the odds ratio,
        rate ratio or difference in means); ``std_error`` is on the model's scale (log odds
        or log rate ratio); ``icc`` and ``cac`` are NaN where the structure does not define
        them (see :mod:`sfpc_eval.trials.variance_components`); ``delta_aic`` is the AIC minus
        the smallest AIC.
        """
        rows = []
        for name, res in self.results.items():
            term = res.term(self.effect_term)
            vc = res.variance_components().set_index("component")["estimate"]
            rows.append(
                {
                    "random_effects": name,
                    "loglik": res.loglik,
                    "n_params": res.n_params,
                    "aic": res.aic,
                    "estimate": term.estimate,
                    "std_error": term.std_error,
                    "conf_low": term.conf_low,
                    "conf_high": term.conf_high,
                    "p_value": term.p_value,
                    "icc": float(vc.get("icc", math.nan)),
                    "cac": float(vc.get("cac", 1.0 if name == "intercept" else math.nan)),
                    "singular": name in self.singular,
                }
            )
        frame = pd.DataFrame(rows)
        frame["delta_aic"] = frame["aic"] - frame["aic"].min()
        frame.attrs["conf_level"] = self.conf_level
        return frame[list(COMPARISON_COLUMNS)]

    def summary(self) -> Table:
        """Render the comparison as a table (text, HTML, Markdown, LaTeX)."""
        pct = f"{self.conf_level:.0%}"
        reading = self.effect_term.replace("_", " ")
        columns = [
            "random effects",
            "log-lik.",
            "AIC",
            "dAIC",
            reading,
            f"{pct} CI",
            "p-value",
            "ICC",
            "CAC",
        ]
        rows = []
        for row in self.tidy().itertuples():
            rows.append(
                [
                    Cell(_LABELS[row.random_effects] + (" (singular)" if row.singular else "")),
                    _number(row.loglik, NumberFormat("number", 2)),
                    _number(row.aic, NumberFormat("number", 1)),
                    _number(row.delta_aic, NumberFormat("number", 1)),
                    _number(row.estimate, NumberFormat("number", 3)),
                    Cell((row.conf_low, row.conf_high), NumberFormat("interval", 3)),
                    _number(row.p_value, NumberFormat("p_value")),
                    _number(row.icc, NumberFormat("number", 3)),
                    _number(row.cac, NumberFormat("number", 3)),
                ]
            )
        first = next(iter(self.results.values()))
        facts = [
            ("outcome", f"{first.outcome} ({first.family})"),
            ("clusters / periods", f"{first.n_clusters} / {first.n_periods}"),
        ]
        notes = [
            "Each row is the same trial under another random-effects structure; the effect's "
            "interval widens when a council's periods are less alike than the random intercept "
            "assumes.",
            *[f"{_LABELS[k]}: {v}" for k, v in self.singular.items()],
        ]
        title = "Sensitivity of the effect to the random-effects structure"
        return Table(title, columns, rows, facts=facts, notes=notes)

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


def _number(value: float, fmt: NumberFormat) -> Cell:
    """Return a number cell; NaN (a reading the family does not have) is left empty."""
    return Cell(float(value) if math.isfinite(value) else None, fmt)


def compare_random_effects(
    data: pd.DataFrame,
    outcome: str,
    cluster: str,
    period: str,
    treated: str,
    covariates: Sequence[str] = (),
    *,
    structures: Sequence[str] = ("intercept", "nested", "decay"),
    conf_level: float = 0.95,
    **options: Any,
) -> RandomEffectsComparison:
    """Fit the trial's mixed model under several random-effect structures and compare them.

    Parameters
    ----------
    data, outcome, cluster, period, treated, covariates
        As in :func:`~sfpc_eval.trials.analysis.stepped_wedge`.
    structures : sequence of str, default ("intercept", "nested", "decay")
        Structures to fit, each one of ``"intercept"``, ``"nested"``, ``"decay"``, ``"slope"``.
    conf_level : float, default 0.95
    **options
        Passed to :func:`stepped_wedge` (``family``, ``exposure``, ``denominator``,
        ``outcome_sd``...); ``model`` must be ``"glmm"`` and ``random_effects`` is set here.
        ``df_method`` defaults to ``"satterthwaite"`` here for every structure, so that every
        fit is by maximum likelihood and the likelihoods, AIC and likelihood-ratio readings
        compare like with like; the decay and nested models' own intervals are best taken
        from :func:`stepped_wedge`, whose default for them is REML with Kenward-Roger.

    Returns
    -------
    RandomEffectsComparison

    Raises
    ------
    InvalidValueError
        An unknown or repeated structure, fewer than two, or ``model``/``random_effects`` in
        ``options``. Whatever :func:`stepped_wedge` raises.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> rows = [(c, t) for c in range(5) for t in range(6)]
    >>> cp = pd.DataFrame(rows, columns=["la", "period"])
    >>> cp["treated"] = (cp["period"] > cp["la"]).astype(int)
    >>> cp["children"] = 400
    >>> ar = np.zeros((5, 6))
    >>> for t in range(6):
    ...     ar[:, t] = (0.6 * ar[:, t - 1] if t else 0) + rng.normal(0, 0.3, 5)
    >>> p = 1 / (1 + np.exp(-(-2 + ar[cp["la"], cp["period"]] - 0.3 * cp["treated"])))
    >>> cp["events"] = rng.binomial(cp["children"], p)
    >>> cmp = compare_random_effects(cp, "events", "la", "period", "treated",
    ...                              denominator="children")
    >>> list(cmp.tidy()["random_effects"])
    ['intercept', 'nested', 'decay']
    """
    for key in ("model", "random_effects"):
        if key in options:
            raise InvalidValueError(
                f"`{key}` is set by compare_random_effects (the mixed model, under each of "
                f"`structures`); got {key}={options[key]!r}."
            )
    names = list(structures)
    unknown = [s for s in names if s not in STRUCTURES]
    if unknown or len(set(names)) != len(names) or len(names) < 2:
        raise InvalidValueError(
            f"`structures` must be two or more distinct names from "
            f"{', '.join(map(repr, STRUCTURES))}; got {show_values(names)}."
        )
    options = {"df_method": "satterthwaite", **options}  # ML fits: comparable likelihoods
    results: dict[str, SteppedWedgeResult] = {}
    singular: dict[str, str] = {}
    for name in names:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SingularFitWarning)
            results[name] = stepped_wedge(
                data,
                outcome,
                cluster,
                period,
                treated,
                covariates,
                model="glmm",
                random_effects=name,
                conf_level=conf_level,
                **options,
            )
        for w in caught:
            if issubclass(w.category, SingularFitWarning):
                singular[name] = str(w.message).split(":", 1)[-1].split(", as lme4")[0].strip()
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return RandomEffectsComparison(results=results, singular=singular, conf_level=conf_level)
