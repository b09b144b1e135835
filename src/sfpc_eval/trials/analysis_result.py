"""The result of :func:`~sfpc_eval.trials.analysis.stepped_wedge`: terms, readings and trends."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from sfpc_eval._terms import wald_term
from sfpc_eval._trends import group_lines
from sfpc_eval.errors import DesignError, InvalidValueError, UndefinedEffectError
from sfpc_eval.labels import label
from sfpc_eval.results import ResultMixin, Term

Model = Literal["glmm", "gee", "glm"]

_MODEL_NAMES = {
    "binomial": "logistic GLMM",
    "poisson": "Poisson GLMM",
    "negative_binomial": "negative binomial GLMM",
    "gaussian": "linear mixed model",
}
_STRUCTURE_NAMES = {
    "intercept": "random intercept",
    "nested": "nested exchangeable",
    "decay": "exponential decay",
    "slope": "random treatment slope",
}
_EFFECT_SCALE = {
    "binomial": "log odds ratio",
    "poisson": "log rate ratio",
    "negative_binomial": "log rate ratio",
    "gaussian": "difference in means",
}
_HEADLINE = {
    "binomial": "odds_ratio",
    "poisson": "rate_ratio",
    "negative_binomial": "rate_ratio",
    "gaussian": "treated",
}
_EFFECT_TERMS = (
    "treated",
    "odds_ratio",
    "average_marginal_effect",
    "rate_ratio",
    "percent_change",
)


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
        Binary outcomes: ``treated`` (log odds ratio), ``odds_ratio``,
        ``average_marginal_effect`` (risk difference); counts: ``treated`` (log rate ratio),
        ``rate_ratio``, ``percent_change``; continuous: ``treated`` (difference in means).
        With exposure time also ``exposure[k]`` (the effect after k periods on treatment),
        then each covariate (per unit, on the model's scale).
    random_sd : float
        GLMM with a random intercept: standard deviation of the cluster random intercept
        (NaN otherwise; see :meth:`variance_components` for every structure).
    rho : float
        GEE: exchangeable working correlation (NaN otherwise).
    coef : pandas.Series
        Every fixed-effect coefficient (intercept and period effects included).
    vcov : pandas.DataFrame
        Their variance matrix under the reported method.
    df_complete : pandas.Series
        Complete-data degrees of freedom per coefficient (what Rubin's rules need): the
        Satterthwaite df under CR2, otherwise rows minus coefficients (and, for the binomial
        random-intercept GLMM, minus the random-intercept SD, as lme4's ``df.residual``, which
        ``mice::pool`` uses).
    family : str
        ``"binomial"``, ``"poisson"``, ``"negative_binomial"`` or ``"gaussian"``.
    random_effects : str or None
        The GLMM's structure (``"intercept"``, ``"nested"``, ``"decay"``, ``"slope"``).
    loglik : float
        GLMM: the (Laplace or quadrature; REML for Gaussian) log-likelihood, with the
        constants R includes (NaN for the GEE and GLM).
    n_params : int
        Parameters behind ``loglik``: fixed effects, covariance parameters, dispersion.
    aggregated : bool
        The input was aggregated cells (``denominator=``).
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
    family: str = "binomial"
    random_effects: str | None = None
    loglik: float = math.nan
    n_params: int = 0
    aggregated: bool = False
    _core: dict = field(repr=False, compare=False, default_factory=dict)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        if self.model == "glmm":
            name = _MODEL_NAMES[self.family]
            if self.random_effects != "intercept":
                name = f"{name}, {_STRUCTURE_NAMES[self.random_effects]}"
        else:
            name = {"gee": "logistic GEE", "glm": "logistic GLM"}[self.model]
        return f"Stepped-wedge trial ({name}): {label(self.outcome)}"

    @property
    def estimate(self) -> Term:
        """The treatment effect on the model's scale (log odds, log rate ratio, or mean)."""
        return self.term("treated")

    @property
    def odds_ratio(self) -> Term:
        """The treatment effect as an odds ratio (binary outcomes)."""
        self._require("binomial", "odds_ratio")
        return self.term("odds_ratio")

    @property
    def rate_ratio(self) -> Term:
        """The treatment effect as a rate ratio (count outcomes)."""
        self._require(("poisson", "negative_binomial"), "rate_ratio")
        return self.term("rate_ratio")

    @property
    def average_marginal_effect(self) -> Term:
        """The treatment effect as a risk difference (average marginal effect)."""
        self._require("binomial", "average_marginal_effect")
        return self.term("average_marginal_effect")

    @property
    def aic(self) -> float:
        """Akaike's criterion of the GLMM, ``-2 loglik + 2 n_params`` (NaN otherwise)."""
        return -2.0 * self.loglik + 2.0 * self.n_params

    def _require(self, families: str | tuple[str, ...], reading: str) -> None:
        allowed = (families,) if isinstance(families, str) else families
        if self.family not in allowed:
            raise UndefinedEffectError(
                f"`{reading}` is a reading of a {' or '.join(allowed)} outcome; this trial's "
                f"outcome is {self.family} ({_EFFECT_SCALE[self.family]}). Use `estimate`."
            )

    def variance_components(self, conf_level: float | None = None) -> pd.DataFrame:
        """Variance components, the ICC and the CAC of the mixed model, with Wald intervals.

        Columns ``component, estimate, conf_low, conf_high, scale, description``; see
        :mod:`sfpc_eval.trials.variance_components` for the definitions and the interval
        scales. Intervals are NaN for a component on the boundary (singular fit).

        Raises
        ------
        InvalidValueError
            The result is not a mixed model (``model="gee"`` or ``"glm"``).
        """
        mixed = self._core.get("mixed")
        if mixed is None:
            raise InvalidValueError(
                f"variance components are estimated by the mixed model; this result is "
                f"model={self.model!r}. Refit with model='glmm'."
            )
        return mixed.components(self.conf_level if conf_level is None else conf_level)

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        kind = {"binomial": "binary", "gaussian": "continuous"}.get(self.family, "count")
        lines = [
            ("outcome", f"{label(self.outcome)} ({self.outcome}; {kind})"),
            (
                "clusters / periods",
                f"{self.n_clusters} ({label(self.cluster, lower=True)}) / {self.n_periods}",
            ),
            (
                "children / cells" + (" (aggregated input)" if self.aggregated else ""),
                f"{self.n_obs:,} / {self.n_cells:,}",
            ),
            ("inference", self.method),
        ]
        if not math.isnan(self.random_sd):
            lines.append(("random-intercept SD", f"{self.random_sd:.4g}"))
        if not math.isnan(self.rho):
            lines.append(("working correlation", f"{self.rho:.4g}"))
        mixed = self._core.get("mixed")
        if mixed is not None:
            for row in mixed.components(self.conf_level).itertuples():
                if row.component in ("icc", "cac"):
                    reading = f"{row.estimate:.3g}"
                    if row.component == "icc" and self._core.get("glmm_fit") is not None:
                        reading += " (profile interval: .icc())"
                    lines.append((row.component.upper(), reading))
            lines.append(
                ("log-likelihood" + (" (REML)" if mixed.reml else ""), f"{self.loglik:.2f}")
            )
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
                "the profile-likelihood ICC is that of the binomial random-intercept GLMM; this "
                f"result is a {self.model.upper()}"
                + (
                    f" ({self.family}, {self.random_effects})"
                    if self.model == "glmm"
                    else ". Fit model='glmm'"
                )
                + ". Use .variance_components() for the ICC and CAC of any mixed model."
            )
        cached = self._core.setdefault("icc", {})
        key = self.conf_level if level is None else float(level)
        if key not in cached:
            cached[key] = latent_icc(fit, key)
        return cached[key]

    def term_labels(self) -> dict[str, str]:
        """Name the treatment coefficient on the model's scale (log odds ratio for binary)."""
        return {"treated": _EFFECT_SCALE[self.family].capitalize()}

    def _headline_name(self) -> str:
        return _HEADLINE[self.family]

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        method = self.method
        if "randomization" in method:
            code = "rollout_randomization"
        elif self.model == "glmm":
            code = (
                "glmm_kenward_roger"
                if "Kenward-Roger" in method
                else "glmm_satterthwaite"
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
            family=self.family,
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
        """Observed share per period in the intervention and control conditions.

        Each cluster's value in the period (its share of rows with outcome 1; for counts its
        events per unit of exposure; for a continuous outcome its mean), averaged over the
        clusters in the condition, each cluster counting once (the one definition of treated and
        comparison lines, :mod:`sfpc_eval._trends`). Columns ``time`` (period), ``group``
        (``"treated"``: cluster-periods in the intervention condition; ``"comparison"``: in the
        control condition), ``mean``, ``units`` (clusters averaged) and ``rows``.
        """
        cells = self._core["cells"]
        per = "exposure" if self.family in ("poisson", "negative_binomial") else "rows"
        out = group_lines(
            cells, unit="cluster", time="time", group="group", numerator="events", denominator=per
        )
        rows = cells.groupby(["time", "group"])["rows"].sum()
        out["rows"] = rows.loc[list(zip(out["time"], out["group"], strict=True))].to_numpy()
        return out

    def plot(self, ax=None, **style):  # type: ignore[override]
        """Observed values per period (shares as percentages), intervention against control.

        ``style``: ``labels`` (words for ``"treated"``, ``"comparison"``, the outcome),
        ``title`` (the main message) and ``source`` (the source line).
        """
        from sfpc_eval.plotting import plot_trends

        trends = self.trends()
        conditions = {"treated": "Intervention condition", "comparison": "Control condition"}
        labels = {k: v for k, v in conditions.items() if k in set(trends["group"])}
        labels.update(style.pop("labels", None) or {})
        return plot_trends(
            trends,
            outcome=self.outcome,
            percent=self.family == "binomial",
            labels=labels,
            ax=ax,
            **style,
        )


def sw_terms(core: dict, level: float) -> tuple[Term, ...]:
    """Build the result's terms (log odds ratio, odds ratio, marginal effect) from a fit."""
    names, beta, vcov, df = core["names"], core["beta"], core["vcov"], core["df"]
    method = core["method"]
    effect = core["effect"]  # contrast vector for the headline effect
    family = core.get("family", "binomial")
    ri = core.get("ri")
    se = _std_error(effect, vcov, ri is not None)
    est = float(effect @ beta)
    j_df = core["effect_df"]
    terms = [wald_term("treated", est, se, level, method, df=j_df)]
    if family == "binomial":
        terms.append(wald_term("odds_ratio", est, se, level, method, df=j_df, exponentiate=True))
    elif family in ("poisson", "negative_binomial"):
        ratio = wald_term("rate_ratio", est, se, level, method, df=j_df, exponentiate=True)
        terms += [ratio, ratio.as_percent_change()]
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
    effect_terms = _EFFECT_TERMS
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
    null = 1.0 if term.term in ("odds_ratio", "rate_ratio") else 0.0
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
