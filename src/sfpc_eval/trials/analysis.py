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
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from sfpc_eval._blas import limited_blas
from sfpc_eval._validate import check_conf_level
from sfpc_eval.cells.categorical import expand_covariates
from sfpc_eval.cells.collapse import collapse
from sfpc_eval.cells.fit import fit_cells
from sfpc_eval.errors import (
    DesignError,
    InvalidValueError,
    SeparationError,
    SingularFitWarning,
)
from sfpc_eval.inference.cluster import Classical, ClusterRobust, contrast_df, variance
from sfpc_eval.panel import numeric_column, require_columns, require_present
from sfpc_eval.trials.analysis_checks import (
    average_marginal_effect,
    check_missing,
    check_separation,
    rollout_groups,
    sw_design_matrix,
    switch_periods,
)
from sfpc_eval.trials.analysis_design import TrialDesign, check_aliased, check_options
from sfpc_eval.trials.analysis_df import DfMethod, check_df_method, glmm_df, invalid_note
from sfpc_eval.trials.analysis_result import Model, SteppedWedgeResult, sw_terms
from sfpc_eval.trials.analysis_ri import SteppedWedgeRandomization, rollout_orders, rollout_test
from sfpc_eval.trials.effects import child_level_switch, effect_columns, effect_levels
from sfpc_eval.trials.gee import GEE_VARIANCES, fit_gee
from sfpc_eval.trials.glmm import fit_glmm

__all__ = ["SteppedWedgeResult", "stepped_wedge"]

MODELS = ("glmm", "gee", "glm")


@limited_blas
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
    df_method: DfMethod = "satterthwaite",
    inference: object | None = None,
    gee_variance: str = "MD",
    exposure_time: bool = False,
    cluster_effects: bool | None = None,
    conf_level: float = 0.95,
    covariate_reference: Mapping[str, object] | None = None,
    categorical: Sequence[str] = (),
    effect_by: str | None = None,
    treatment_level: str = "cluster",
    imputations: object | None = None,
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
        Child-level covariates: numeric columns enter as they are; text, ``category`` and
        boolean columns (and those named in ``categorical``) become one indicator per level but
        the reference, named ``"column[level]"`` (see
        :func:`sfpc_eval.cells.categorical.expand_covariates`). No missing values: pass
        ``imputations=`` to impute them.
    model : {"glmm", "gee", "glm"}, default "glmm"
        Random-intercept logistic GLMM (cluster-specific effect, as ``glmer``), exchangeable
        GEE (population-averaged), or logistic GLM with CR2 standard errors.
    nagq : int, default 1
        GLMM quadrature points: 1 = Laplace (``glmer``'s default), up to 25.
    laplace : {"lme4", "exact"}, default "lme4"
        GLMM with ``nagq=1``: evaluate the Laplace deviance as ``glmer`` does (reproduces its
        estimates and standard errors) or exactly at the conditional modes (see
        :func:`sfpc_eval.trials.glmm.fit_glmm`).
    df_method : {"satterthwaite", "between_within", "z"}, default "satterthwaite"
        GLMM: the reference distribution of its Wald tests and intervals. Satterthwaite's
        degrees of freedom (at least G - 1; G - 1 at a boundary fit) hold the 5% level with
        4-5 clusters where the normal reference (``"z"``, Wald z) does not; see
        :mod:`sfpc_eval.trials.analysis_df` and the stepped-wedge validity table in the docs.
        ``"z"`` with fewer than 30 clusters warns.
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
    covariate_reference : mapping, optional
        Reference level of categorical covariates (``{"ethnicity": "White"}``); default the
        first level (the declared order of a ``category`` column, otherwise sorted, as R).
    categorical : sequence of str, default ()
        Numeric covariates to treat as categories (a month coded 1-12, say).
    effect_by : str, optional
        ``"period"``, or a column (a council-level stratum, a child's age band): one treatment
        effect per level (``treated:period[3]``...), as R's ``treated:factor(period)``; the
        headline ``treated`` is their average. Levels the data cannot estimate (a period in
        which every council is treated) are dropped with a note.
    treatment_level : {"cluster", "child"}, default "cluster"
        ``"child"``: treatment may vary within a council-period because it is defined on each
        child's own dates (see :func:`sfpc_eval.trials.child_exposure.child_exposure`); the share of
        treated children must still never fall over a council's periods.
    imputations : MultipleImputation or ImputedData, optional
        Impute missing covariates by chained equations (or use imputations already made with
        :func:`sfpc_eval.trials.imputation.impute`), fit the model on each completed data set
        and pool with Rubin's rules; returns a
        :class:`~sfpc_eval.trials.imputed_analysis.PooledTrialResult`.

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
    FewClustersWarning
        ``df_method="z"`` with fewer than 30 clusters.

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
    if imputations is not None:
        arguments = dict(locals())
        from sfpc_eval.trials.imputed_analysis import stepped_wedge_imputed

        return stepped_wedge_imputed(stepped_wedge, arguments)  # type: ignore[return-value]
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
    df_method = check_df_method(df_method)
    if model != "glmm" and df_method != "satterthwaite":
        raise InvalidValueError(
            f"`df_method` is for model='glmm'; the {model.upper()} chooses its reference "
            "distribution itself (GEE: t with G - 1 df for the corrected sandwiches; GLM: "
            "Satterthwaite df of CR2)."
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
    check_options(ri, exposure_time, effect_by, treatment_level)
    roles = {"outcome": outcome, "cluster": cluster, "period": period, "treated": treated}
    roles |= {f"covariates[{i}]": c for i, c in enumerate(covariates)}
    if ri is not None and ri.strata is not None and ri.design is None:
        roles["inference.strata"] = ri.strata
    require_columns(data, roles)
    if effect_by not in (None, "period"):  # may also be a covariate (effect by age band)
        require_columns(data, {"effect_by": effect_by})
    for argument, column in (("cluster", cluster), ("period", period)):
        require_present(data, column, argument=argument)
    if effect_by not in (None, "period"):
        require_present(data, effect_by, argument="effect_by")
    check_missing(data, covariates, outcome=outcome)
    cov_frame, coding = expand_covariates(
        data, covariates, reference=covariate_reference, categorical=categorical
    )
    model_covariates = coding.columns
    clean = pd.DataFrame(index=data.index)
    clean[cluster] = data[cluster].to_numpy()
    clean[period] = data[period].to_numpy()
    clean[outcome] = numeric_column(data, outcome, argument="outcome", binary=True)
    clean[treated] = numeric_column(data, treated, argument="treated", binary=True)
    for c in model_covariates:
        i = covariates.index(coding.variable_of(c).variable)
        clean[c] = numeric_column(cov_frame, c, argument=f"covariates[{i}]")
    if treatment_level == "child":
        c_codes, t_codes, c_levels, t_levels, switch = child_level_switch(
            clean, cluster, period, treated
        )
    else:
        c_codes, t_codes, c_levels, t_levels, switch = switch_periods(
            clean, cluster, period, treated
        )
    n_clusters, n_periods = len(c_levels), len(t_levels)
    if model == "glmm" and n_clusters < 3:
        raise DesignError(
            f"the GLMM needs at least 3 clusters to estimate the between-cluster variance; the "
            f"data have {n_clusters}. Use model='glm' with "
            "inference=SteppedWedgeRandomization() (valid with any number of clusters)."
        )
    clean["__cluster__"] = c_codes
    clean["__period__"] = t_codes
    by_key: list[str] = []
    if effect_by is not None:
        by_codes, by_levels, by_label = effect_levels(data, effect_by, period, t_codes, t_levels)
        clean["__by__"] = by_codes
        by_key = ["__by__"]
    if exposure_time:
        exposure = np.where(clean[treated].to_numpy() == 1, t_codes - switch[c_codes], -1)
        clean["__exposure__"] = exposure
        treatment_key = "__exposure__"
    else:
        treatment_key = treated
    by = ["__cluster__", "__period__", treatment_key, *by_key, *model_covariates]
    cells = collapse(clean, outcome=outcome, by=by)
    keys = cells.keys
    y = cells.sums["sum_wy"].to_numpy(dtype=np.float64)
    n = cells.sums["n"].to_numpy(dtype=np.float64)
    cell_cluster = keys["__cluster__"].to_numpy()
    cell_period = keys["__period__"].to_numpy()
    cov_matrix = keys[list(model_covariates)].to_numpy(dtype=np.float64).reshape(len(keys), -1)
    notes = list(coding.notes)
    if effect_by is not None:
        treat, treat_names, by_notes = effect_columns(
            keys[treated].to_numpy(),
            keys["__by__"].to_numpy(),
            by_levels,
            by_label,
            treated,
            by_period=effect_by == "period",
        )
        notes += by_notes
    elif exposure_time:
        levels = sorted(int(e) for e in np.unique(keys["__exposure__"]) if e >= 0)
        e_values = keys["__exposure__"].to_numpy()
        treat = np.column_stack([(e_values == e).astype(np.float64) for e in levels])
        treat_names = [f"exposure[{e}]" for e in levels]
    else:
        treat = keys[[treated]].to_numpy(dtype=np.float64)
        treat_names = [treated]
    z, names = sw_design_matrix(
        cell_period, n_periods, treat, treat_names, cov_matrix, model_covariates, t_levels, period
    )
    if cluster_effects:
        dummies = [(cell_cluster == i).astype(np.float64) for i in range(1, n_clusters)]
        position = n_periods  # after the intercept and the period effects
        z = np.column_stack([z[:, :position], *dummies, z[:, position:]])
        labels = [f"{cluster}[{c_levels[i]}]" for i in range(1, n_clusters)]
        names = (*names[:position], *labels, *names[position:])
    z, names, treat_names, alias_notes = check_aliased(z, names, treat_names, effect_by)
    notes += alias_notes
    model_covariates = tuple(c for c in model_covariates if c in names)
    check_separation(z, names, y, n, [*treat_names, *model_covariates])
    treat_cols = [names.index(t) for t in treat_names]
    effect = np.zeros(len(names))
    effect[treat_cols] = 1.0 / len(treat_cols)

    def build_z(new_switch: np.ndarray) -> np.ndarray:
        status = (cell_period >= new_switch[cell_cluster]).astype(np.float64)
        out = z.copy()  # randomization is refused with effect_by and child-level treatment
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
    cluster_offsets = np.zeros(n_clusters)
    vcov_full = None
    df_note = ""
    glmm_fit = None
    random_sd = rho = math.nan
    k = len(names)
    df_resid = float(cells.n_rows - k)
    if model == "glmm":
        fit = fit_glmm(
            z, names, y, n, cell_cluster, nagq=nagq, beta_start=glm.beta, laplace=laplace
        )
        beta, vcov = fit.beta, fit.vcov
        df, df_label, df_note = glmm_df(
            fit, df_method, treat_cols, [names.index(c) for c in model_covariates], z, cell_period
        )
        # lme4's df.residual (what mice::pool uses as complete-data df): rows minus the
        # fixed effects and the random-intercept SD
        df_complete = np.full(k, df_resid - 1)
        random_sd = fit.theta
        glmm_fit = fit
        vcov_full = fit.vcov_full  # (SD, fixed effects): population-averaged margins need it
        offset = fit.modes[cell_cluster]
        cluster_offsets = fit.modes
        method = ("GLMM Laplace" if nagq == 1 else f"GLMM AGQ({nagq})") + f", {df_label}"

        def statistic(new_switch: np.ndarray) -> float:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SingularFitWarning)
                refit = fit_glmm(
                    build_z(new_switch),
                    names,
                    y,
                    n,
                    cell_cluster,
                    nagq=nagq,
                    beta_start=beta,
                    theta_start=max(random_sd, 0.1),
                    need_vcov=False,
                    laplace="exact",
                )
            return float(effect @ refit.beta)

    elif model == "gee":
        fit = fit_gee(z, names, y, n, cell_cluster, beta_start=glm.beta, variances=(gee_variance,))
        beta, vcov = fit.beta, fit.vcov[gee_variance]
        corrected = gee_variance != "robust"
        df = np.full(k, float(n_clusters - 1) if corrected else np.inf)
        df_complete = df.copy() if corrected else np.full(k, df_resid)
        rho = fit.rho
        label = {"MD": "Mancl-DeRouen", "KC": "Kauermann-Carroll", "robust": "robust"}
        method = f"GEE exch., {label[gee_variance]}" + (", t(G-1)" if corrected else ", Wald z")

        def statistic(new_switch: np.ndarray) -> float:
            refit = fit_gee(
                build_z(new_switch),
                names,
                y,
                n,
                cell_cluster,
                beta_start=beta,
                variances=("robust",),
            )
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
                build_z(new_switch),
                names,
                sums,
                cell_cluster,
                family="binomial",
                n_obs=cells.n_rows,
            )
            return float(effect @ refit.beta)

    invalid = invalid_note(model, df_method, gee_variance, inference, n_clusters)
    if model == "glmm":
        log_likelihood = -0.5 * fit.deviance
    elif model == "glm":
        log_likelihood = float(np.sum(y * glm.eta - n * np.logaddexp(0.0, glm.eta)))
    else:  # GEE has a quasi-likelihood only
        log_likelihood = math.nan
    effect_df = float(df[treat_cols[0]])
    if len(treat_cols) > 1:
        # the average of exposure-time effects: Satterthwaite df of that contrast under CR2
        # (GLMM: df[0], the intercept's slot, holds the contrast's df)
        effect_df = contrast_df(glm, spec, effect) if model == "glm" else float(df[0])
    core = {
        "names": names,
        "beta": beta,
        "vcov": vcov,
        "df": df,
        "method": method,
        "effect": effect,
        "effect_df": effect_df,
        "df_note": df_note,
        "glmm_fit": glmm_fit,
        "invalid_note": invalid,
        "log_likelihood": log_likelihood,
        "reported": [*(treat_names if len(treat_names) > 1 else []), *model_covariates],
        "ame": (
            None
            if exposure_time or effect_by is not None
            else average_marginal_effect(z, n, beta, offset, treat_cols)
        ),
        "notes": notes,
        "vcov_full": vcov_full,
        "effect_vector": effect,
        "fit_data": (z, y, n, cell_cluster),  # for likelihoods and refits (model_checks)
        "design": TrialDesign(
            coding=coding,
            cluster_levels=c_levels,
            period_levels=t_levels,
            treat_names=tuple(treat_names),
            effect_by=effect_by,
            by_levels=None if effect_by is None else by_levels,
            cluster_effects=bool(cluster_effects),
            cluster_offsets=cluster_offsets,
            treatment_level=treatment_level,
        ),
        "cells": pd.DataFrame(
            {
                "time": t_levels[cell_period],
                "group": np.where(z[:, treat_cols].sum(axis=1) > 0, "treated", "comparison"),
                "events": y,
                "rows": n,
            }
        ),
    }
    core["statistic"] = statistic  # refit under another rollout (pooled randomization tests)
    core["rollout"] = (c_codes, c_levels, switch)
    if ri is not None:
        groups = rollout_groups(data, ri, cluster, c_codes, c_levels, switch)
        orders, exact = rollout_orders(switch.copy(), groups, ri)
        p_value, _ = rollout_test(statistic, orders, ri)
        how = f"all {len(orders):,} rollout orders" if exact else f"{len(orders) - 1:,} orders"
        core["ri"] = (p_value, f"randomization over rollout ({how})")
        method = f"{method}; p-value by randomization ({how})"
    terms = sw_terms(core, level)
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
