"""Analyse a stepped-wedge cluster randomised trial: binary, count or continuous outcomes.

:func:`stepped_wedge` fits one of three models to child-level rows collapsed to cells (cluster
x period x treatment x covariate pattern), or to aggregated counts given per cell
(:mod:`sfpc_eval.trials.analysis_input`), all with period fixed effects:

- ``"glmm"``: a mixed model (:mod:`sfpc_eval.trials.mixed`) of the outcome's ``family``
  (``"binomial"`` logistic, ``"poisson"`` and ``"negative_binomial"`` log-linear with an
  optional exposure, ``"gaussian"`` linear by REML) with the chosen ``random_effects``
  (:mod:`sfpc_eval.trials.structures`): a random intercept per cluster (as ``glmer``),
  nested exchangeable cluster and cluster-period intercepts, cluster-period effects decaying
  as an AR(1) process, or a random treatment slope;
- ``"gee"``: population-averaged logistic GEE, exchangeable working correlation, with the
  Mancl-DeRouen (default), Kauermann-Carroll or plain robust sandwich
  (:mod:`sfpc_eval.trials.gee`);
- ``"glm"``: logistic GLM with cluster-robust CR2 standard errors and Satterthwaite degrees of
  freedom (the DiD issue's :func:`~sfpc_eval.inference.cluster.variance`, as clubSandwich).

The effect is reported as a log odds ratio, odds ratio and average marginal effect (risk
difference) for binary outcomes; as a log rate ratio, rate ratio and percentage change for
counts; as a difference in means for continuous outcomes. Randomization inference over the
rollout order (:class:`~sfpc_eval.trials.analysis_ri.SteppedWedgeRandomization`) can replace
the model's p-value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sfpc_eval._blas import limited_blas
from sfpc_eval._validate import check_conf_level
from sfpc_eval.cells.categorical import expand_covariates
from sfpc_eval.cells.fit import fit_cells
from sfpc_eval.errors import DesignError, SeparationError
from sfpc_eval.inference.cluster import contrast_df
from sfpc_eval.panel import numeric_column, period_column, require_columns, require_present
from sfpc_eval.trials.analysis_checks import (
    average_marginal_effect,
    check_group_separation,
    check_missing,
    check_separation,
    rollout_groups,
    sw_design_matrix,
    switch_periods,
)
from sfpc_eval.trials.analysis_design import TrialDesign, check_aliased
from sfpc_eval.trials.analysis_design import check_options as check_workflow_options
from sfpc_eval.trials.analysis_df import DfMethod, invalid_note
from sfpc_eval.trials.analysis_input import clean_outcome, trial_cells
from sfpc_eval.trials.analysis_models import (
    binomial_sums,
    fit_gee_model,
    fit_glm_model,
    fit_mixed_model,
)
from sfpc_eval.trials.analysis_options import check_options
from sfpc_eval.trials.analysis_result import Model, SteppedWedgeResult, sw_terms
from sfpc_eval.trials.analysis_ri import rollout_orders, rollout_test
from sfpc_eval.trials.effects import child_level_switch, effect_columns, effect_levels
from sfpc_eval.trials.families import FamilyName
from sfpc_eval.trials.structures import StructureName

__all__ = ["SteppedWedgeResult", "stepped_wedge"]


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
    family: FamilyName = "binomial",
    random_effects: StructureName | None = None,
    exposure: str | None = None,
    denominator: str | None = None,
    outcome_sd: str | None = None,
    nagq: int = 1,
    laplace: str = "lme4",
    df_method: DfMethod | None = None,
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
    """Estimate the effect of the intervention in a stepped-wedge trial.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per child (or per observation of a count) with the outcome, cluster, period,
        treatment and covariates; or, with ``denominator``, one row per cell of aggregated
        counts (see :mod:`sfpc_eval.trials.analysis_input`). Not modified.
    outcome : str
        The outcome: 0/1 (binomial), a count (Poisson, negative binomial) or a number
        (Gaussian); with ``denominator``, the cell's events, total count or mean.
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
        Mixed model (cluster-specific effect), exchangeable logistic GEE
        (population-averaged), or logistic GLM with CR2 standard errors.
    family : {"binomial", "poisson", "negative_binomial", "gaussian"}, default "binomial"
        Distribution of the outcome given the random effects (``model="glmm"``; the GEE and
        GLM are logistic). Counts use the log link, ``negative_binomial`` is NB2 (variance
        ``mu + mu^2 / size``, glmmTMB's ``nbinom2``), ``gaussian`` is fitted by REML.
    random_effects : {"intercept", "nested", "decay", "slope"}, optional
        ``model="glmm"``: a random intercept per cluster (default); ``"nested"`` adds a
        cluster-by-period intercept (nested exchangeable: ``(1 | cluster) + (1 |
        cluster:period)``); ``"decay"`` makes the cluster-by-period effects an AR(1) process
        whose correlation decays with the distance between periods (glmmTMB's
        ``ar1(period + 0 | cluster)``; needs 3 or more periods); ``"slope"`` lets the treatment
        effect vary between clusters (``(treated | cluster)``).
    exposure : str, optional
        Poisson and negative binomial: exposure (days at risk, population; positive); its
        log is the offset, so the effect is a ratio of rates.
    denominator : str, optional
        Aggregated input: the number of children in each row's cell. The outcome is then the
        cell's number of events (binomial), total count (Poisson; ``exposure`` defaults to
        the denominator) or mean (Gaussian, with ``outcome_sd``). The estimates equal those
        from the child rows.
    outcome_sd : str, optional
        Aggregated Gaussian input: within-cell standard deviation of the outcome (ddof=1).
    nagq : int, default 1
        Quadrature points of the binomial random-intercept GLMM: 1 = Laplace (``glmer``'s
        default), up to 25. The other mixed models use the Laplace approximation.
    laplace : {"lme4", "exact"}, default "lme4"
        Binomial random-intercept GLMM with ``nagq=1``: evaluate the Laplace deviance as
        ``glmer`` does (reproduces its estimates and standard errors) or exactly at the
        conditional modes (see :func:`sfpc_eval.trials.glmm.fit_glmm`).
    df_method : {"satterthwaite", "kenward_roger", "between_within", "z"}, optional
        GLMM: the reference distribution of its Wald tests and intervals. Default
        ``"kenward_roger"`` for ``random_effects="nested"`` or ``"decay"``, else
        ``"satterthwaite"``. Satterthwaite's degrees of freedom (at least G - 1; G - 1 at a
        boundary fit) hold the 5% level of the random-intercept model with 4-5 clusters where
        the normal reference (``"z"``, Wald z) does not; ``"kenward_roger"`` estimates the
        variance parameters by REML and inflates the fixed effects' variance for their
        uncertainty (Kenward and Roger 1997), which the structures with council-by-period
        effects need: with the decay model true, its 95% intervals covered 94.0% of 500
        simulated trials of each SFPC shape against 88.2% and 92.0% with ML and Satterthwaite
        df (validation/sw_structures_coverage.md). See :mod:`sfpc_eval.trials.analysis_df` and
        the stepped-wedge validity table in the docs. ``"z"`` with fewer than 30 clusters
        warns.
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
        With ``model="glmm"`` also the variance components, ICC and CAC
        (:meth:`~SteppedWedgeResult.variance_components`) and the log-likelihood.

    Raises
    ------
    MissingColumnError, InvalidValueError
        A column is absent; an outcome that does not fit the family (not 0/1, a count that is
        negative or not whole, events exceeding the denominator); an exposure that is zero or
        negative; covariates with missing values (the message counts the rows and names the
        columns); an unknown family or random-effects structure.
    DesignError
        Treatment switching off, a cluster that never switches, all clusters switching at once,
        fewer than 3 clusters for the GLMM, fewer than 3 periods for the decay structure.
    SeparationError
        A 0/1 regressor predicts the outcome perfectly.

    Warns
    -----
    SingularFitWarning
        A variance component is estimated at zero (shown in the message).
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

    Counts per council and period with the population as exposure, and council-by-period
    effects that decay over time, fitted by REML with Kenward-Roger df (this structure's
    default). By maximum likelihood five councils and six periods cannot pin down the decay:
    that fit is at the boundary and says so with a ``SingularFitWarning`` (caught here):

    >>> import warnings
    >>> from sfpc_eval.errors import SingularFitWarning
    >>> cp = df.groupby(["la", "period", "treated"], as_index=False).size()
    >>> cp["plans"] = rng.poisson(0.02 * cp["size"] * np.exp(-0.2 * cp["treated"]))
    >>> res = stepped_wedge(cp, "plans", "la", "period", "treated", family="poisson",
    ...                     random_effects="decay", exposure="size")
    >>> res.estimate.method
    'Poisson GLMM, exponential decay (AR(1)), REML, t, Kenward-Roger df'
    >>> list(res.tidy()["term"])
    ['treated', 'rate_ratio', 'percent_change']
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", SingularFitWarning)
    ...     ml = stepped_wedge(cp, "plans", "la", "period", "treated", family="poisson",
    ...                        random_effects="decay", exposure="size",
    ...                        df_method="satterthwaite")
    >>> {type(w.message).__name__ for w in caught}
    {'SingularFitWarning'}
    """
    if imputations is not None:
        arguments = dict(locals())
        from sfpc_eval.trials.imputed_analysis import stepped_wedge_imputed

        return stepped_wedge_imputed(stepped_wedge, arguments)  # type: ignore[return-value]
    level = check_conf_level(conf_level)
    options = check_options(
        model=model,
        family=family,
        random_effects=random_effects,
        exposure=exposure,
        denominator=denominator,
        outcome_sd=outcome_sd,
        nagq=nagq,
        gee_variance=gee_variance,
        cluster_effects=cluster_effects,
        inference=inference,
        exposure_time=exposure_time,
        df_method=df_method,
    )
    random_effects, cluster_effects, ri = (
        options.random_effects,
        options.cluster_effects,
        options.randomization,
    )
    covariates = tuple(covariates)
    check_workflow_options(ri, exposure_time, effect_by, treatment_level)
    roles = {"outcome": outcome, "cluster": cluster, "period": period, "treated": treated}
    roles |= {f"covariates[{i}]": c for i, c in enumerate(covariates)}
    roles |= {
        k: v
        for k, v in (
            ("exposure", exposure),
            ("denominator", denominator),
            ("outcome_sd", outcome_sd),
        )
        if v is not None
    }
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
    values = clean_outcome(
        data, outcome, family, exposure=exposure, denominator=denominator, outcome_sd=outcome_sd
    )
    cov_frame, coding = expand_covariates(
        data, covariates, reference=covariate_reference, categorical=categorical
    )
    model_covariates = coding.columns
    clean = pd.DataFrame(index=data.index)
    clean[cluster] = data[cluster].to_numpy()
    clean[period] = period_column(data, period, argument="period")
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
    if random_effects == "decay" and n_periods < 3:
        raise DesignError(
            f"the decay structure (AR(1) cluster-by-period effects) needs at least 3 periods "
            f"to tell a decaying correlation from a constant one; the data have {n_periods} "
            f"({', '.join(map(str, t_levels))}). Use random_effects='intercept' or 'nested'."
        )
    clean["__cluster__"] = c_codes
    clean["__period__"] = t_codes
    by_key: list[str] = []
    if effect_by is not None:
        by_codes, by_levels, by_label = effect_levels(data, effect_by, period, t_codes, t_levels)
        clean["__by__"] = by_codes
        by_key = ["__by__"]
    if exposure_time:
        exposed = np.where(clean[treated].to_numpy() == 1, t_codes - switch[c_codes], -1)
        clean["__exposure__"] = exposed
        treatment_key = "__exposure__"
    else:
        treatment_key = treated
    by = ["__cluster__", "__period__", treatment_key, *by_key, *model_covariates]
    cells = trial_cells(clean, by, values, family)
    keys = cells.keys
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
    if family in ("binomial", "poisson", "negative_binomial"):
        check_separation(
            z,
            names,
            cells.y * cells.freq,
            cells.n * cells.freq,
            [*treat_names, *model_covariates],
            counts=family != "binomial",
        )
    if family == "binomial":  # a period (or fixed cluster) with no events or only events
        fixed_groups = [(period, cell_period, t_levels)]
        if cluster_effects:
            fixed_groups.append((cluster, cell_cluster, c_levels))
        check_group_separation(cells.y * cells.freq, cells.n * cells.freq, fixed_groups)
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

    glm = None
    if family == "binomial":
        glm = fit_cells(
            z, names, binomial_sums(cells), cell_cluster, family="binomial", n_obs=cells.n_rows
        )
        if np.max(np.abs(glm.beta)) > 25:
            worst = names[int(np.argmax(np.abs(glm.beta)))]
            raise SeparationError(
                f"quasi-complete separation: the logistic fit drives {worst!r} to "
                f"{glm.beta[names.index(worst)]:.3g} on the log-odds scale (the outcome is "
                "almost perfectly predicted). Pool sparse categories or drop that regressor."
            )
    if model == "glmm":
        fit = fit_mixed_model(
            cells,
            z,
            names,
            build_z,
            treat_cols,
            effect,
            cluster=cell_cluster,
            period=cell_period,
            n_periods=n_periods,
            family=family,
            random_effects=random_effects,
            nagq=nagq,
            laplace=laplace,
            df_method=options.df_method,
            covariate_cols=tuple(names.index(c) for c in model_covariates),
        )
    elif model == "gee":
        fit = fit_gee_model(
            cells,
            z,
            names,
            build_z,
            effect,
            cluster=cell_cluster,
            n_clusters=n_clusters,
            beta_start=glm.beta,
            gee_variance=gee_variance,
        )
    else:
        fit = fit_glm_model(
            cells,
            z,
            names,
            build_z,
            effect,
            cluster=cell_cluster,
            cluster_name=cluster,
            glm=glm,
            inference=inference,
            randomization=ri is not None,
        )
    effect_df = float(fit.df[treat_cols[0]])
    if len(treat_cols) > 1:
        # the average of exposure-time effects: Satterthwaite df of that contrast under CR2
        # (GLMM: df[0], the intercept's slot, holds the contrast's df)
        effect_df = contrast_df(glm, fit.spec, effect) if model == "glm" else float(fit.df[0])
    glmm_fit = fit.mixed.glmm if fit.mixed is not None else None
    df_complete = fit.df_complete
    if glmm_fit is not None:  # lme4's df.residual (mice::pool): minus the random-intercept SD
        df_complete = df_complete - 1.0
    ame = None
    if family == "binomial" and not exposure_time and effect_by is None:
        ame = average_marginal_effect(z, cells.n, fit.beta, fit.offsets, treat_cols)
    core = {
        "names": names,
        "beta": fit.beta,
        "vcov": fit.vcov,
        "df": fit.df,
        "method": fit.method,
        "effect": effect,
        "effect_df": effect_df,
        "family": family,
        "reported": [*(treat_names if len(treat_names) > 1 else []), *model_covariates],
        "ame": ame,
        "mixed": fit.mixed,
        "df_note": fit.df_note,
        "glmm_fit": glmm_fit,
        "invalid_note": invalid_note(model, options.df_method, gee_variance, inference, n_clusters),
        "log_likelihood": fit.loglik,
        "notes": notes,
        "vcov_full": None if glmm_fit is None else glmm_fit.vcov_full,
        "effect_vector": effect,
        "fit_data": (z, cells.y, cells.n, cell_cluster),  # for likelihoods and refits
        "design": TrialDesign(
            coding=coding,
            cluster_levels=c_levels,
            period_levels=t_levels,
            treat_names=tuple(treat_names),
            effect_by=effect_by,
            by_levels=None if effect_by is None else by_levels,
            cluster_effects=bool(cluster_effects),
            cluster_offsets=(
                np.zeros(n_clusters) if glmm_fit is None else np.asarray(glmm_fit.modes)
            ),
            treatment_level=treatment_level,
        ),
        "cells": pd.DataFrame(
            {
                "cluster": cell_cluster,
                "time": t_levels[cell_period],
                "group": np.where(z[:, treat_cols].sum(axis=1) > 0, "treated", "comparison"),
                "events": cells.y * cells.freq,
                "rows": cells.rows,
                "exposure": np.exp(cells.offset) * cells.freq,
            }
        ),
    }
    method = fit.method
    core["statistic"] = fit.statistic  # refit under another rollout (pooled randomization tests)
    core["rollout"] = (c_codes, c_levels, switch)
    if ri is not None:
        groups = rollout_groups(data, ri, cluster, c_codes, c_levels, switch)
        orders, exact = rollout_orders(switch.copy(), groups, ri)
        p_value, _ = rollout_test(fit.statistic, orders, ri)
        how = f"all {len(orders):,} rollout orders" if exact else f"{len(orders) - 1:,} orders"
        core["ri"] = (p_value, f"randomization over rollout ({how})")
        method = f"{method}; p-value by randomization ({how})"
    core["method"] = fit.method
    terms = sw_terms(core, level)
    mixed = fit.mixed
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
        random_sd=fit.random_sd,
        rho=fit.rho,
        coef=pd.Series(fit.beta, index=list(names)),
        vcov=pd.DataFrame(fit.vcov, index=list(names), columns=list(names)),
        df_complete=pd.Series(df_complete, index=list(names)),
        family=family,
        random_effects=random_effects if model == "glmm" else None,
        loglik=mixed.loglik if mixed is not None else math.nan,
        n_params=mixed.n_params if mixed is not None else len(names),
        aggregated=denominator is not None,
        _core=core,
    )
