"""Analyse a stepped-wedge cluster randomised trial with a binary outcome.

:func:`stepped_wedge` fits one of three models to child-level rows collapsed to binomial cells
(cluster x period x treatment x covariate pattern), all with period fixed effects:

- ``"glmm"``: logistic mixed model with a random intercept per cluster, by adaptive
  Gauss-Hermite quadrature (:mod:`sfpc_eval.trials.glmm`; ``nagq = 1`` is ``glmer``'s Laplace);
- ``"gee"``: population-averaged logistic GEE, exchangeable working correlation, with the
  Mancl-DeRouen (default), Kauermann-Carroll or plain robust sandwich
  (:mod:`sfpc_eval.trials.gee`);
- ``"glm"``: logistic GLM with cluster-robust CR2 standard errors and Satterthwaite degrees of
  freedom (the DiD issue's :func:`~sfpc_eval.inference.cluster.variance`, as clubSandwich).

Every model reports the effect as a log odds ratio (``treated``), an odds ratio and an average
marginal effect (risk difference, delta-method standard error); randomization inference over
the rollout order (:class:`~sfpc_eval.trials.analysis_ri.SteppedWedgeRandomization`) can replace
the model's p-value.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from sfpc_eval._validate import check_conf_level
from sfpc_eval.errors import (
    DesignError,
    InvalidValueError,
    SeparationError,
    SingularFitWarning,
    show_values,
)
from sfpc_eval.estimators._groups import wald_term
from sfpc_eval.estimators.cellfit import fit_cells
from sfpc_eval.estimators.cells import collapse, factorize_sorted
from sfpc_eval.inference.cluster import Classical, ClusterRobust, contrast_df, variance
from sfpc_eval.panel import numeric_column, require_columns, require_present
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.trials.analysis_ri import SteppedWedgeRandomization, rollout_orders, rollout_test
from sfpc_eval.trials.gee import GEE_VARIANCES, fit_gee
from sfpc_eval.trials.glmm import fit_glmm

__all__ = ["SteppedWedgeResult", "stepped_wedge"]

Model = Literal["glmm", "gee", "glm"]
MODELS = ("glmm", "gee", "glm")


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
        Satterthwaite df under CR2, otherwise rows minus coefficients (as ``mice::pool``'s
        ``df.residual``).
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

    def _refit(self, conf_level: float) -> SteppedWedgeResult:
        terms = _terms(self._core, conf_level)
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


def _check_missing(data: pd.DataFrame, covariates: Sequence[str]) -> None:
    missing = {c: int(data[c].isna().sum()) for c in covariates}
    missing = {c: k for c, k in missing.items() if k}
    if not missing:
        return
    rows = data[list(missing)].isna().any(axis=1).to_numpy()
    detail = ", ".join(f"{c!r} ({k:,} rows)" for c, k in missing.items())
    raise InvalidValueError(
        f"`covariates` have missing values in {int(rows.sum()):,} of {len(data):,} rows: {detail}; "
        f"first rows {show_values(list(data.index[rows]))}. stepped_wedge does not drop rows. "
        "Impute them (m data sets, e.g. with mice or scikit-learn's IterativeImputer), fit each "
        "with stepped_wedge and combine with sfpc_eval.trials.pooling.pool; or drop the rows "
        "yourself if a complete-case analysis is intended."
    )


def _switch_periods(
    clean: pd.DataFrame, cluster: str, period: str, treated: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cluster and period codes per row, their levels, and each cluster's switch index."""
    c_codes, c_levels = factorize_sorted(clean[cluster])
    t_codes, t_levels = factorize_sorted(clean[period])
    n_c, n_t = len(c_levels), len(t_levels)
    status = clean[treated].to_numpy()
    cell = c_codes * n_t + t_codes
    rows = np.bincount(cell, minlength=n_c * n_t)
    on = np.bincount(cell, weights=status, minlength=n_c * n_t)
    varying = (on > 0) & (on < rows)
    if varying.any():
        bad = [f"({c_levels[i // n_t]}, {t_levels[i % n_t]})" for i in np.flatnonzero(varying)]
        raise DesignError(
            f"`treated` varies within {cluster} x {period} cells {show_values(bad)}. In a "
            "stepped wedge a whole cluster switches at once: fix the indicator, or give "
            "transition periods their own period value and drop them."
        )
    grid = np.full((n_c, n_t), -1)
    observed = rows.reshape(n_c, n_t) > 0
    grid[observed] = (on.reshape(n_c, n_t) > 0)[observed]
    switch = np.full(n_c, n_t)
    off = []
    for i in range(n_c):
        seen = np.flatnonzero(grid[i] == 1)
        if len(seen):
            switch[i] = seen[0]
            if np.any(grid[i, seen[0] :] == 0):
                off.append(c_levels[i])
    if off:
        raise DesignError(
            f"treatment switches off (1 then 0) in {cluster} {show_values(list(off))}. In a "
            "stepped wedge clusters cross from control to intervention once and stay: check the "
            f"`{treated}` column (a data-entry error, or a cluster that withdrew, which needs an "
            "analysis of its own)."
        )
    never = [c_levels[i] for i in range(n_c) if switch[i] == n_t]
    if never:
        raise DesignError(
            f"not a stepped wedge: {cluster} {show_values(never)} never switch to the "
            "intervention. Every cluster of a stepped-wedge trial crosses over; for a parallel "
            "or staggered design with never-treated units use sfpc_eval.did."
        )
    if len(set(switch.tolist())) == 1:
        raise DesignError(
            f"not a stepped wedge: every {cluster} switches in the same period "
            f"({t_levels[switch[0]]}), so the effect is confounded with time. Use a "
            "before-after or difference-in-differences design."
        )
    return c_codes, t_codes, c_levels, t_levels, switch


def _design(
    period_codes: np.ndarray,
    n_periods: int,
    treatment: np.ndarray,
    treatment_names: list[str],
    covariates: np.ndarray,
    covariate_names: Sequence[str],
    period_levels: np.ndarray,
    period: str,
) -> tuple[np.ndarray, tuple[str, ...]]:
    columns = [np.ones(len(period_codes))]
    names = ["(intercept)"]
    for t in range(1, n_periods):
        columns.append((period_codes == t).astype(np.float64))
        names.append(f"{period}[{period_levels[t]}]")
    columns += list(treatment.T)
    names += treatment_names
    columns += list(covariates.T)
    names += list(covariate_names)
    return np.column_stack(columns), tuple(names)


def _check_separation(z, names, y, n, fixed: Sequence[str]) -> None:
    """Raise SeparationError when a 0/1 regressor predicts the outcome exactly."""
    for j, name in enumerate(names):
        if name not in fixed:
            continue
        column = z[:, j]
        if not np.all((column == 0) | (column == 1)):
            continue
        for value in (1.0, 0.0):
            mask = column == value
            if not mask.any():
                continue
            events, rows = y[mask].sum(), n[mask].sum()
            if events == 0 or events == rows:
                outcome = "0" if events == 0 else "1"
                raise SeparationError(
                    f"perfect separation: the outcome is {outcome} for all {int(rows):,} rows "
                    f"with {name} = {int(value)}, so its log odds ratio is infinite and no "
                    "logistic model can estimate it. Report the raw proportions, pool sparse "
                    "categories of the covariate, or compare risks directly."
                )


def _terms(core: dict, level: float) -> tuple[Term, ...]:
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


def _ame(z, n, beta, offset, treat_cols) -> tuple[float, np.ndarray]:
    """Mean over rows of P(y | treated) - P(y | control), and its gradient in beta."""
    z1, z0 = z.copy(), z.copy()
    z1[:, treat_cols], z0[:, treat_cols] = 1.0, 0.0
    p1 = special.expit(z1 @ beta + offset)
    p0 = special.expit(z0 @ beta + offset)
    total = n.sum()
    value = float(n @ (p1 - p0) / total)
    gradient = ((n * p1 * (1 - p1)) @ z1 - (n * p0 * (1 - p0)) @ z0) / total
    return value, gradient


def stepped_wedge(
    data: pd.DataFrame,
    outcome: str,
    cluster: str,
    period: str,
    treated: str,
    covariates: Sequence[str] = (),
    *,
    model: Model = "glmm",
    nagq: int = 1,
    laplace: str = "lme4",
    inference: object | None = None,
    gee_variance: str = "MD",
    exposure_time: bool = False,
    cluster_effects: bool | None = None,
    conf_level: float = 0.95,
) -> SteppedWedgeResult:
    """Estimate the effect of the intervention in a stepped-wedge trial with a binary outcome.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per child (or any unit) with the outcome, cluster, period, treatment and
        covariates. Not modified.
    outcome : str
        0/1 outcome (e.g. looked after within 18 months).
    cluster : str
        Cluster (council) column: the unit of randomisation.
    period : str
        Period column (sortable: numbers or dates); period fixed effects are always included.
    treated : str
        0/1: the cluster is in the intervention condition in that period.
    covariates : sequence of str, default ()
        Numeric child-level covariates (no missing values: impute and :func:`pool` instead).
    model : {"glmm", "gee", "glm"}, default "glmm"
        Random-intercept logistic GLMM (cluster-specific effect, as ``glmer``), exchangeable
        GEE (population-averaged), or logistic GLM with CR2 standard errors.
    nagq : int, default 1
        GLMM quadrature points: 1 = Laplace (``glmer``'s default), up to 25.
    laplace : {"lme4", "exact"}, default "lme4"
        GLMM with ``nagq=1``: evaluate the Laplace deviance as ``glmer`` does (reproduces its
        estimates and standard errors) or exactly at the conditional modes (see
        :func:`sfpc_eval.trials.glmm.fit_glmm`).
    inference : optional
        ``model="glm"``: a :class:`~sfpc_eval.inference.cluster.ClusterRobust` (default
        ``ClusterRobust(cluster, kind="CR2")``, Satterthwaite df) or ``Classical()``. Any model:
        :class:`~sfpc_eval.trials.analysis_ri.SteppedWedgeRandomization` replaces the p-value of
        the effect by a randomization test over rollout orders (standard errors and intervals
        stay the model's).
    gee_variance : {"MD", "KC", "robust"}, default "MD"
        GEE sandwich: Mancl-DeRouen, Kauermann-Carroll or uncorrected (Liang-Zeger). The
        corrected ones use a t reference with G - 1 df, the uncorrected a normal one.
    exposure_time : bool, default False
        Replace the single treatment indicator by one indicator per period on treatment
        (``exposure[0]`` for the switch period, ``exposure[1]`` for the next...); ``treated``
        is then their average.
    cluster_effects : bool, optional
        ``model="glm"`` only: include cluster fixed effects (default True), so that the effect
        is estimated within clusters, as the GLMM's random intercepts do. Without them the
        GLM compares across clusters too, and council differences leak into the effect
        because early-switching councils contribute more treated periods.
    conf_level : float, default 0.95
        Confidence level.

    Returns
    -------
    SteppedWedgeResult

    Raises
    ------
    MissingColumnError, InvalidValueError
        A column is absent, the outcome is not 0/1, or covariates have missing values (the
        message counts the rows and names the columns).
    DesignError
        Treatment switching off, a cluster that never switches, all clusters switching at once,
        fewer than 3 clusters for the GLMM.
    SeparationError
        A 0/1 regressor predicts the outcome perfectly.

    Warns
    -----
    SingularFitWarning
        The GLMM's random-intercept variance is estimated at zero (shown in the message).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sfpc_eval.trials.analysis import stepped_wedge
    >>> rng = np.random.default_rng(1)
    >>> rows = [(c, t) for c in range(5) for t in range(6) for _ in range(60)]
    >>> df = pd.DataFrame(rows, columns=["la", "period"])
    >>> df["treated"] = (df["period"] > df["la"]).astype(int)
    >>> u = rng.normal(0, 0.5, 5)[df["la"]]
    >>> p = 1 / (1 + np.exp(-(-2 + u - 0.4 * df["treated"])))
    >>> df["looked_after"] = rng.binomial(1, p)
    >>> res = stepped_wedge(df, "looked_after", "la", "period", "treated")
    >>> list(res.tidy()["term"])
    ['treated', 'odds_ratio', 'average_marginal_effect']
    """
    level = check_conf_level(conf_level)
    if model not in MODELS:
        raise InvalidValueError(f"`model` must be one of {', '.join(MODELS)}; got {model!r}.")
    if model == "gee" and gee_variance not in GEE_VARIANCES:
        raise InvalidValueError(
            f"`gee_variance` must be one of {', '.join(GEE_VARIANCES)}; got {gee_variance!r}."
        )
    if cluster_effects is None:
        cluster_effects = model == "glm"
    elif cluster_effects and model != "glm":
        raise InvalidValueError(
            f"`cluster_effects=True` is for model='glm'; the {model.upper()} accounts for "
            "clusters itself (random intercepts or the working correlation)."
        )
    covariates = tuple(covariates)
    ri = inference if isinstance(inference, SteppedWedgeRandomization) else None
    if model != "glm" and inference is not None and ri is None:
        raise InvalidValueError(
            f"`inference` for model={model!r} must be None (the model's own standard errors) "
            f"or SteppedWedgeRandomization(...); got {inference!r}. Cluster-robust variances "
            "are for model='glm'; the GEE's sandwich is chosen with gee_variance=."
        )
    if ri is not None and exposure_time:
        raise InvalidValueError(
            "randomization inference tests the single treatment effect; use "
            "exposure_time=False with SteppedWedgeRandomization."
        )
    roles = {"outcome": outcome, "cluster": cluster, "period": period, "treated": treated}
    roles |= {f"covariates[{i}]": c for i, c in enumerate(covariates)}
    if ri is not None and ri.strata is not None and ri.design is None:
        roles["inference.strata"] = ri.strata
    require_columns(data, roles)
    for argument, column in (("cluster", cluster), ("period", period)):
        require_present(data, column, argument=argument)
    _check_missing(data, covariates)
    clean = pd.DataFrame(index=data.index)
    clean[cluster] = data[cluster].to_numpy()
    clean[period] = data[period].to_numpy()
    clean[outcome] = numeric_column(data, outcome, argument="outcome", binary=True)
    clean[treated] = numeric_column(data, treated, argument="treated", binary=True)
    for i, c in enumerate(covariates):
        clean[c] = numeric_column(data, c, argument=f"covariates[{i}]")
    c_codes, t_codes, c_levels, t_levels, switch = _switch_periods(clean, cluster, period, treated)
    n_clusters, n_periods = len(c_levels), len(t_levels)
    if model == "glmm" and n_clusters < 3:
        raise DesignError(
            f"the GLMM needs at least 3 clusters to estimate the between-cluster variance; the "
            f"data have {n_clusters}. Use model='glm' with "
            "inference=SteppedWedgeRandomization() (valid with any number of clusters)."
        )
    clean["__cluster__"] = c_codes
    clean["__period__"] = t_codes
    if exposure_time:
        exposure = np.where(clean[treated].to_numpy() == 1, t_codes - switch[c_codes], -1)
        clean["__exposure__"] = exposure
        treatment_key = "__exposure__"
    else:
        treatment_key = treated
    by = ["__cluster__", "__period__", treatment_key, *covariates]
    cells = collapse(clean, outcome=outcome, by=by)
    keys = cells.keys
    y = cells.sums["sum_wy"].to_numpy(dtype=np.float64)
    n = cells.sums["n"].to_numpy(dtype=np.float64)
    cell_cluster = keys["__cluster__"].to_numpy()
    cell_period = keys["__period__"].to_numpy()
    cov_matrix = keys[list(covariates)].to_numpy(dtype=np.float64).reshape(len(keys), -1)
    if exposure_time:
        levels = sorted(int(e) for e in np.unique(keys["__exposure__"]) if e >= 0)
        e_values = keys["__exposure__"].to_numpy()
        treat = np.column_stack([(e_values == e).astype(np.float64) for e in levels])
        treat_names = [f"exposure[{e}]" for e in levels]
    else:
        treat = keys[[treated]].to_numpy(dtype=np.float64)
        treat_names = [treated]
    z, names = _design(
        cell_period, n_periods, treat, treat_names, cov_matrix, covariates, t_levels, period
    )
    if cluster_effects:
        dummies = [(cell_cluster == i).astype(np.float64) for i in range(1, n_clusters)]
        position = n_periods  # after the intercept and the period effects
        z = np.column_stack([z[:, :position], *dummies, z[:, position:]])
        labels = [f"{cluster}[{c_levels[i]}]" for i in range(1, n_clusters)]
        names = (*names[:position], *labels, *names[position:])
    _check_rank(z, names)
    _check_separation(z, names, y, n, [*treat_names, *covariates])
    treat_cols = [names.index(t) for t in treat_names]
    effect = np.zeros(len(names))
    effect[treat_cols] = 1.0 / len(treat_cols)

    def build_z(new_switch: np.ndarray) -> np.ndarray:
        status = (cell_period >= new_switch[cell_cluster]).astype(np.float64)
        out = z.copy()
        if exposure_time:
            e_new = np.where(status == 1, cell_period - new_switch[cell_cluster], -1)
            for col, e in zip(treat_cols, levels, strict=True):
                out[:, col] = (e_new == e).astype(np.float64)
        else:
            out[:, treat_cols[0]] = status
        return out

    sums = {c: cells.sums[c].to_numpy(dtype=np.float64) for c in cells.sums.columns}
    glm = fit_cells(z, names, sums, cell_cluster, family="binomial", n_obs=cells.n_rows)
    if np.max(np.abs(glm.beta)) > 25:
        worst = names[int(np.argmax(np.abs(glm.beta)))]
        raise SeparationError(
            f"quasi-complete separation: the logistic fit drives {worst!r} to "
            f"{glm.beta[names.index(worst)]:.3g} on the log-odds scale (the outcome is almost "
            "perfectly predicted). Pool sparse categories or drop that regressor."
        )
    offset = np.zeros(len(z))
    random_sd = rho = math.nan
    k = len(names)
    df_resid = float(cells.n_rows - k)
    if model == "glmm":
        fit = fit_glmm(z, names, y, n, cell_cluster, nagq=nagq, beta_start=glm.beta,
                       laplace=laplace)
        beta, vcov = fit.beta, fit.vcov
        df = np.full(k, np.inf)
        df_complete = np.full(k, df_resid)
        random_sd = fit.theta
        offset = fit.modes[cell_cluster]
        method = ("GLMM Laplace" if nagq == 1 else f"GLMM AGQ({nagq})") + ", Wald z"

        def statistic(new_switch: np.ndarray) -> float:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SingularFitWarning)
                refit = fit_glmm(
                    build_z(new_switch), names, y, n, cell_cluster, nagq=nagq,
                    beta_start=beta, theta_start=max(random_sd, 0.1), need_vcov=False,
                    laplace="exact",
                )
            return float(effect @ refit.beta)

    elif model == "gee":
        fit = fit_gee(z, names, y, n, cell_cluster, beta_start=glm.beta,
                      variances=(gee_variance,))
        beta, vcov = fit.beta, fit.vcov[gee_variance]
        corrected = gee_variance != "robust"
        df = np.full(k, float(n_clusters - 1) if corrected else np.inf)
        df_complete = df.copy() if corrected else np.full(k, df_resid)
        rho = fit.rho
        label = {"MD": "Mancl-DeRouen", "KC": "Kauermann-Carroll", "robust": "robust"}
        method = f"GEE exch., {label[gee_variance]}" + (
            ", t(G-1)" if corrected else ", Wald z"
        )

        def statistic(new_switch: np.ndarray) -> float:
            refit = fit_gee(build_z(new_switch), names, y, n, cell_cluster, beta_start=beta,
                            variances=("robust",))
            return float(effect @ refit.beta)

    else:
        spec = ClusterRobust(cluster, kind="CR2") if inference is None or ri else inference
        if isinstance(spec, ClusterRobust):
            spec = replace(spec, cluster=cluster)
        elif not isinstance(spec, Classical):
            raise InvalidValueError(
                "`inference` for model='glm' must be ClusterRobust(...), Classical() or "
                f"SteppedWedgeRandomization(...); got {inference!r}."
            )
        var = variance(glm, spec)
        beta, vcov, df = glm.beta, var.vcov, var.df.copy()
        df_complete = np.full(k, df_resid) if isinstance(spec, Classical) else df.copy()
        method = f"GLM, {var.label}"

        def statistic(new_switch: np.ndarray) -> float:
            refit = fit_cells(
                build_z(new_switch), names, sums, cell_cluster, family="binomial",
                n_obs=cells.n_rows,
            )
            return float(effect @ refit.beta)

    effect_df = float(df[treat_cols[0]])
    if len(treat_cols) > 1:
        # the average of exposure-time effects: Satterthwaite df of that contrast under CR2
        effect_df = contrast_df(glm, spec, effect) if model == "glm" else float(df[0])
    core = {
        "names": names,
        "beta": beta,
        "vcov": vcov,
        "df": df,
        "method": method,
        "effect": effect,
        "effect_df": effect_df,
        "reported": [*([t for t in treat_names] if exposure_time else []), *covariates],
        "ame": None if exposure_time else _ame(z, n, beta, offset, treat_cols),
        "cells": pd.DataFrame(
            {
                "time": t_levels[cell_period],
                "group": np.where(z[:, treat_cols].sum(axis=1) > 0, "treated", "comparison"),
                "events": y,
                "rows": n,
            }
        ),
    }
    if ri is not None:
        groups = _ri_groups(data, ri, cluster, c_codes, c_levels, switch)
        orders, exact = rollout_orders(switch.copy(), groups, ri)
        p_value, _ = rollout_test(statistic, orders, ri)
        how = f"all {len(orders):,} rollout orders" if exact else f"{len(orders) - 1:,} orders"
        core["ri"] = (p_value, f"randomization over rollout ({how})")
        method = f"{method}; p-value by randomization ({how})"
    terms = _terms(core, level)
    return SteppedWedgeResult(
        model=model,
        outcome=outcome,
        cluster=cluster,
        period=period,
        treated=treated,
        covariates=covariates,
        method=method,
        conf_level=level,
        n_obs=cells.n_rows,
        n_cells=len(cells),
        n_clusters=n_clusters,
        n_periods=n_periods,
        terms=terms,
        random_sd=random_sd,
        rho=rho,
        coef=pd.Series(beta, index=list(names)),
        vcov=pd.DataFrame(vcov, index=list(names), columns=list(names)),
        df_complete=pd.Series(df_complete, index=list(names)),
        _core=core,
    )


def _check_rank(z: np.ndarray, names: tuple[str, ...]) -> None:
    rank = np.linalg.matrix_rank(z)
    if rank == z.shape[1]:
        return
    current = z[:, :0]
    collinear = []
    for j in range(z.shape[1]):
        candidate = np.column_stack([current, z[:, j]])
        if np.linalg.matrix_rank(candidate) == candidate.shape[1]:
            current = candidate
        else:
            collinear.append(names[j])
    raise DesignError(
        f"these regressors are collinear with the period effects or earlier regressors: "
        f"{show_values(collinear)}. Drop them (a covariate constant over the whole trial, or "
        "an exposure time seen in only one period, cannot be estimated)."
    )


def _ri_groups(data, ri, cluster, c_codes, c_levels, switch) -> list[list[int]]:
    """Clusters grouped by stratum (indices into the sorted cluster levels)."""
    n_clusters = len(c_levels)
    if ri.design is not None:
        design = ri.design
        labels = [str(c) for c in design.clusters]
        ours = [str(c) for c in c_levels]
        if sorted(labels) != sorted(ours):
            raise InvalidValueError(
                f"`design` clusters {show_values(labels)} are not the data's {cluster} values "
                f"{show_values(ours)}."
            )
        strata = design.strata or tuple("all" for _ in labels)
        by_label = dict(zip(labels, strata, strict=True))
        values = [by_label[c] for c in ours]
    elif ri.strata is not None:
        frame = pd.DataFrame({"c": c_codes, "s": data[ri.strata].to_numpy()})
        counts = frame.groupby("c")["s"].nunique(dropna=False)
        bad = [c_levels[i] for i in counts.index[counts.to_numpy() > 1]]
        if bad:
            raise InvalidValueError(
                f"`strata` column {ri.strata!r} varies within {cluster} {show_values(bad)}; "
                "a stratum is a property of the cluster."
            )
        values = frame.groupby("c")["s"].first().reindex(range(n_clusters)).tolist()
    else:
        values = ["all"] * n_clusters
    order = list(dict.fromkeys(values))
    return [[i for i in range(n_clusters) if values[i] == g] for g in order]
