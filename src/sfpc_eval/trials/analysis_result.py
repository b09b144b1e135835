"""The result of :func:`~sfpc_eval.trials.analysis.stepped_wedge`: terms, readings and trends."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from sfpc_eval._terms import wald_term
from sfpc_eval.errors import (
    DesignError,
)
from sfpc_eval.results import ResultMixin, Term

Model = Literal["glmm", "gee", "glm"]


@dataclass(frozen=True)
class SteppedWedgeResult(ResultMixin):
    """Result of :func:`stepped_wedge`.

    Attributes
    ----------
    model : str
        ``"glmm"``, ``"gee"`` or ``"glm"``.
    outcome, cluster, period, treated : str
        Columns used.
    covariates : tuple of str
        Covariate columns.
    method : str
        How standard errors and p-values were computed.
    conf_level : float
        Confidence level.
    n_obs, n_cells, n_clusters, n_periods : int
        Size of the problem.
    terms : tuple of Term
        ``treated`` (log odds ratio), ``odds_ratio``, ``average_marginal_effect`` (risk
        difference), with exposure time also ``exposure[k]`` (log odds ratio after k periods on
        treatment), then each covariate (log odds ratio per unit).
    random_sd : float
        GLMM: standard deviation of the cluster random intercept (NaN otherwise).
    rho : float
        GEE: exchangeable working correlation (NaN otherwise).
    coef : pandas.Series
        Every fixed-effect coefficient (intercept and period effects included).
    vcov : pandas.DataFrame
        Their variance matrix under the reported method.
    df_complete : pandas.Series
        Complete-data degrees of freedom per coefficient (what Rubin's rules need): the
        Satterthwaite df under CR2, otherwise rows minus coefficients (and, for the GLMM, minus
        the random-intercept SD, as lme4's ``df.residual``, which ``mice::pool`` uses).
    """

    model: str
    outcome: str
    cluster: str
    period: str
    treated: str
    covariates: tuple[str, ...]
    method: str
    conf_level: float
    n_obs: int
    n_cells: int
    n_clusters: int
    n_periods: int
    terms: tuple[Term, ...] = field(repr=False)
    random_sd: float = math.nan
    rho: float = math.nan
    coef: pd.Series = field(repr=False, default=None)  # type: ignore[assignment]
    vcov: pd.DataFrame = field(repr=False, default=None)  # type: ignore[assignment]
    df_complete: pd.Series = field(repr=False, default=None)  # type: ignore[assignment]
    _core: dict = field(repr=False, compare=False, default_factory=dict)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        names = {"glmm": "logistic GLMM", "gee": "logistic GEE", "glm": "logistic GLM"}
        return f"Stepped-wedge trial ({names[self.model]}): {self.outcome}"

    @property
    def estimate(self) -> Term:
        """The treatment effect on the log-odds scale."""
        return self.term("treated")

    @property
    def odds_ratio(self) -> Term:
        """The treatment effect as an odds ratio."""
        return self.term("odds_ratio")

    @property
    def average_marginal_effect(self) -> Term:
        """The treatment effect as a risk difference (average marginal effect)."""
        return self.term("average_marginal_effect")

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        lines = [
            ("outcome", f"{self.outcome} (binary)"),
            ("clusters / periods", f"{self.n_clusters} {self.cluster} / {self.n_periods}"),
            ("rows / cells", f"{self.n_obs:,} / {self.n_cells:,}"),
            ("inference", self.method),
        ]
        if not math.isnan(self.random_sd):
            lines.append(("random-intercept SD", f"{self.random_sd:.4g}"))
        if not math.isnan(self.rho):
            lines.append(("working correlation", f"{self.rho:.4g}"))
        return lines

    def notes(self) -> list[str]:
        """Lines below the summary: notes on terms, then on the design (dropped columns...)."""
        return list(dict.fromkeys([*super().notes(), *self._core.get("notes", [])]))

    def _refit(self, conf_level: float) -> SteppedWedgeResult:
        terms = sw_terms(self._core, conf_level)
        return replace(self, conf_level=conf_level, terms=terms)

    def trends(self) -> pd.DataFrame:
        """Observed proportion per period in the intervention and control conditions.

        Columns ``time`` (period), ``group`` (``"treated"``: cluster-periods in the
        intervention condition; ``"comparison"``: in the control condition), ``mean`` (share
        of rows with outcome 1) and ``rows``.
        """
        cells = self._core["cells"]
        out = cells.groupby(["time", "group"], as_index=False)[["events", "rows"]].sum()
        out["mean"] = out["events"] / out["rows"]
        return out[["time", "group", "mean", "rows"]]

    def plot(self, ax=None):  # type: ignore[override]
        """Observed proportions per period, intervention against control condition."""
        from sfpc_eval.plotting import plot_trends

        return plot_trends(self.trends(), ylabel=f"share {self.outcome}", ax=ax)


def sw_terms(core: dict, level: float) -> tuple[Term, ...]:
    """Build the result's terms (log odds ratio, odds ratio, marginal effect) from a fit."""
    names, beta, vcov, df = core["names"], core["beta"], core["vcov"], core["df"]
    method = core["method"]
    effect = core["effect"]  # contrast vector for the headline log odds ratio
    ri = core.get("ri")
    se = _std_error(effect, vcov, ri is not None)
    est = float(effect @ beta)
    j_df = core["effect_df"]
    terms = [wald_term("treated", est, se, level, method, df=j_df)]
    terms.append(wald_term("odds_ratio", est, se, level, method, df=j_df, exponentiate=True))
    if core.get("ame") is not None:
        value, gradient = core["ame"]
        ame_se = _std_error(gradient, vcov, ri is not None)
        terms.append(
            wald_term(
                "average_marginal_effect", value, ame_se, level, f"{method}; delta method", df=j_df
            )
        )
    for name in core["reported"]:
        j = names.index(name)
        terms.append(wald_term(name, beta[j], math.sqrt(vcov[j, j]), level, method, df=df[j]))
    if ri is not None:
        p_value, label = ri
        out = []
        for term in terms:
            if term.term in ("treated", "odds_ratio", "average_marginal_effect"):
                term = replace(
                    term,
                    p_value=p_value,
                    note=f"p-value from {label}; interval and standard error from {method}",
                )
            out.append(term)
        terms = out
    return tuple(terms)


def _std_error(c: np.ndarray, vcov: np.ndarray, randomization: bool) -> float:
    """``sqrt(c' V c)``; a non-positive variance is refused unless a randomization test stands.

    CR2 with 2 clusters can give a zero or negative variance for the treatment contrast: the
    randomization p-value is then the result, and the standard error is left empty.
    """
    value = float(c @ vcov @ c)
    if value > 0:
        return math.sqrt(value)
    if randomization:
        return math.nan
    raise DesignError(
        f"the variance of the treatment effect is not positive ({value:.3g}): too few clusters "
        "for this variance estimator. Use inference=SteppedWedgeRandomization()."
    )
