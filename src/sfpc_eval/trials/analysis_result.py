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
from sfpc_eval.labels import label
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
        return f"Stepped-wedge trial ({names[self.model]}): {label(self.outcome)}"

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
            ("outcome", f"{label(self.outcome)} ({self.outcome}; binary)"),
            (
                "clusters / periods",
                f"{self.n_clusters} ({label(self.cluster, lower=True)}) / {self.n_periods}",
            ),
            ("rows / cells", f"{self.n_obs:,} / {self.n_cells:,}"),
            ("inference", self.method),
        ]
        if not math.isnan(self.random_sd):
            icc = self.random_sd**2 / (self.random_sd**2 + math.pi**2 / 3)
            lines.append(("random-intercept SD", f"{self.random_sd:.4g}"))
            lines.append(("ICC (latent scale)", f"{icc:.4g} (interval: .icc())"))
        if not math.isnan(self.rho):
            lines.append(("working correlation", f"{self.rho:.4g}"))
        return lines

    def notes(self) -> list[str]:
        """Lines below the summary: notes on terms, then on the design (dropped columns...)."""
        return list(dict.fromkeys([*super().notes(), *self._core.get("notes", [])]))

    def icc(self, level: float | None = None):
        """Latent-scale ICC and random-intercept SD with profile-likelihood intervals (GLMM).

        See :func:`sfpc_eval.trials.analysis_icc.latent_icc`; ``.terms()`` of the returned
        :class:`~sfpc_eval.trials.analysis_icc.IccInterval` gives ``icc_latent``,
        ``random_sd`` and ``cac`` rows.

        Raises
        ------
        DesignError
            The model is not the GLMM (the GEE's working correlation is on another scale).
        """
        from sfpc_eval.trials.analysis_icc import latent_icc

        fit = self._core.get("glmm_fit")
        if fit is None:
            raise DesignError(
                f"the latent-scale ICC comes from the GLMM's random intercept; this result is a "
                f"{self.model.upper()}. Fit model='glmm'."
            )
        cached = self._core.setdefault("icc", {})
        key = self.conf_level if level is None else float(level)
        if key not in cached:
            cached[key] = latent_icc(fit, key)
        return cached[key]

    def term_labels(self) -> dict[str, str]:
        """Name the treatment coefficient: a log odds ratio."""
        return {"treated": "Log odds ratio"}

    def _headline_name(self) -> str:
        return "odds_ratio"

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        method = self.method
        if "randomization" in method:
            code = "rollout_randomization"
        elif self.model == "glmm":
            code = (
                "glmm_satterthwaite"
                if "Satterthwaite" in method
                else "glmm_between_within"
                if "between-within" in method
                else "glmm_wald"
            )
        elif self.model == "gee":
            code = (
                "gee_md"
                if "Mancl" in method
                else "gee_kc"
                if "Kauermann" in method
                else "gee_robust"
            )
        else:
            code = next((k for k in ("CR0", "CR1", "CR2", "CR3") if k in method), "classical")
        fixed = f"{self.period}" if self.model != "glm" else f"{self.cluster}, {self.period}"
        facts.update(
            estimator=self.model,
            family="binomial",
            n_units=self.n_clusters,
            n_treated=self.n_clusters,
            fixed_effects=fixed,
            inference=code,
            log_likelihood=self._core.get("log_likelihood", math.nan),
        )
        return facts

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
    effect_terms = ("treated", "odds_ratio", "average_marginal_effect")
    if core.get("df_note"):
        terms = [replace(t, note=core["df_note"]) if t.term in effect_terms else t for t in terms]
    if core.get("invalid_note"):
        terms = [
            replace(t, valid=False, note=core["invalid_note"]) if t.term in effect_terms else t
            for t in terms
        ]
    if ri is not None:
        p_value, label = ri
        out = []
        for term in terms:
            if term.term in effect_terms:
                term = _with_randomization_p(term, p_value, label, method, level)
            out.append(term)
        terms = out
    return tuple(terms)


def _with_randomization_p(term: Term, p_value: float, label: str, method: str, level: float):
    """Return the term with the randomization p-value, flagged if it and the interval disagree.

    The interval stays the model's. When one says "significant at 1 - level" and the other does
    not, the row is not a coherent inference: it is marked not valid (tables flag it and no
    headline is built from it) and the note says which to report.
    """
    null = 1.0 if term.term == "odds_ratio" else 0.0
    note = f"p-value from {label}; interval and standard error from {method}"
    valid = term.valid
    excludes = term.conf_low > null or term.conf_high < null
    alpha = 1 - level
    if not math.isnan(term.conf_low) and excludes != (p_value < alpha):
        valid = False
        says = "excludes" if excludes else "includes"
        note = (
            f"the randomization p-value ({p_value:.3g}) and the model interval (which {says} "
            f"{null:g}) disagree about significance at the {alpha:.0%} level: the randomization "
            "test over rollout orders is the design-based one, report it and give the interval "
            f"as model-based ({note})"
        )
    return replace(term, p_value=p_value, note=note, valid=valid)


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
