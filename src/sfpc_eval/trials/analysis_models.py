"""The three analyses of :func:`~sfpc_eval.trials.analysis.stepped_wedge` on trial cells.

Each ``fit_*`` returns a :class:`ModelOutput`: the fixed effects and their variance, degrees of
freedom, the method label, what the average marginal effect needs, and a ``statistic`` that
refits the model under another rollout order (for randomization inference).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from sfpc_eval.cells.fit import fit_cells
from sfpc_eval.errors import InvalidValueError, SingularFitWarning
from sfpc_eval.inference.cluster import Classical, ClusterRobust, variance
from sfpc_eval.trials.analysis_df import glmm_df
from sfpc_eval.trials.analysis_input import TrialCells
from sfpc_eval.trials.gee import fit_gee
from sfpc_eval.trials.mixed import MixedModelFit, fit_mixed

__all__ = ["ModelOutput", "binomial_sums", "fit_gee_model", "fit_glm_model", "fit_mixed_model"]


@dataclass(frozen=True, eq=False)
class ModelOutput:
    """What the analysis needs from a fitted model (see the module notes)."""

    beta: np.ndarray
    vcov: np.ndarray
    df: np.ndarray
    df_complete: np.ndarray
    method: str
    statistic: Callable[[np.ndarray], float] = field(repr=False)
    offsets: tuple[np.ndarray, np.ndarray]
    random_sd: float = math.nan
    rho: float = math.nan
    mixed: MixedModelFit | None = None
    glm: object = None
    spec: object = None
    df_note: str = ""
    loglik: float = math.nan


def binomial_sums(cells: TrialCells) -> dict[str, np.ndarray]:
    """Return the weighted-cell sums of Bernoulli rows (unit weights) from binomial cells."""
    n, y = cells.n, cells.y
    return {
        "n": n,
        "sum_w": n,
        "sum_wy": y,
        "sum_wy2": y,
        "sum_we": n,
        "sum_w2": n,
        "sum_w2y": y,
        "sum_w2y2": y,
        "sum_w2e": n,
        "sum_w2ey": y,
        "sum_w2e2": n,
    }


def fit_mixed_model(
    cells: TrialCells,
    z: np.ndarray,
    names: tuple[str, ...],
    build_z: Callable[[np.ndarray], np.ndarray],
    treat_cols: list[int],
    effect: np.ndarray,
    *,
    cluster: np.ndarray,
    period: np.ndarray,
    n_periods: int,
    family: str,
    random_effects: str,
    nagq: int,
    laplace: str,
    df_method: str = "satterthwaite",
    covariate_cols: tuple[int, ...] = (),
) -> ModelOutput:
    """Fit the mixed model of any family and structure (``mixed.fit_mixed``).

    The reference distribution of its tests (``df_method``) is decided by
    :func:`sfpc_eval.trials.analysis_df.glmm_df`.
    """
    status = (z[:, treat_cols].sum(axis=1) > 0).astype(np.float64)
    common = dict(
        cluster=cluster,
        period=period,
        n_periods=n_periods,
        family=family,
        random_effects=random_effects,
        nagq=nagq,
        small_sample=df_method == "kenward_roger",
    )
    fit = fit_mixed(cells, z, names, treated=status, laplace=laplace, **common)
    k = len(names)
    df_complete = np.full(k, float(cells.n_rows - k))
    df, df_label, df_note = glmm_df(fit, df_method, treat_cols, list(covariate_cols), z, period)

    def statistic(new_switch_z: np.ndarray) -> float:
        new_status = (new_switch_z[:, treat_cols].sum(axis=1) > 0).astype(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SingularFitWarning)
            refit = fit_mixed(
                cells,
                new_switch_z,
                names,
                treated=new_status,
                need_vcov=False,
                start=fit,
                warn_singular=False,
                **common,
            )
        return float(effect @ refit.beta)

    sd = float(fit.theta[0]) if random_effects == "intercept" else math.nan
    if family == "gaussian" and random_effects == "intercept":
        sd *= fit.dispersion
    return ModelOutput(
        beta=fit.beta,
        vcov=fit.vcov,
        df=df,
        df_complete=df_complete,
        method=f"{fit.method}, {df_label}",
        statistic=lambda s: statistic(build_z(s)),
        offsets=(fit.cell_effects_0, fit.cell_effects_1),
        random_sd=sd,
        mixed=fit,
        df_note=df_note,
        loglik=fit.loglik,
    )


def fit_gee_model(
    cells: TrialCells,
    z: np.ndarray,
    names: tuple[str, ...],
    build_z: Callable[[np.ndarray], np.ndarray],
    effect: np.ndarray,
    *,
    cluster: np.ndarray,
    n_clusters: int,
    beta_start: np.ndarray,
    gee_variance: str,
) -> ModelOutput:
    """Exchangeable logistic GEE (:func:`~sfpc_eval.trials.gee.fit_gee`)."""
    y, n = cells.y, cells.n
    fit = fit_gee(z, names, y, n, cluster, beta_start=beta_start, variances=(gee_variance,))
    k = len(names)
    corrected = gee_variance != "robust"
    df = np.full(k, float(n_clusters - 1) if corrected else np.inf)
    df_complete = df.copy() if corrected else np.full(k, float(cells.n_rows - k))
    label = {"MD": "Mancl-DeRouen", "KC": "Kauermann-Carroll", "robust": "robust"}
    method = f"GEE exch., {label[gee_variance]}" + (", t(G-1)" if corrected else ", Wald z")
    beta = fit.beta

    def statistic(new_switch: np.ndarray) -> float:
        refit = fit_gee(
            build_z(new_switch), names, y, n, cluster, beta_start=beta, variances=("robust",)
        )
        return float(effect @ refit.beta)

    zero = np.zeros(len(y))
    return ModelOutput(
        beta=beta,
        vcov=fit.vcov[gee_variance],
        df=df,
        df_complete=df_complete,
        method=method,
        statistic=statistic,
        offsets=(zero, zero),
        rho=fit.rho,
        df_note=fit.note,  # e.g. a negative working correlation set to 0: said on the effect
    )


def fit_glm_model(
    cells: TrialCells,
    z: np.ndarray,
    names: tuple[str, ...],
    build_z: Callable[[np.ndarray], np.ndarray],
    effect: np.ndarray,
    *,
    cluster: np.ndarray,
    cluster_name: str,
    glm,
    inference: object | None,
    randomization: bool,
) -> ModelOutput:
    """Logistic GLM with CR2 (or classical) standard errors on the cells."""
    spec = (
        ClusterRobust(cluster_name, kind="CR2") if inference is None or randomization else inference
    )
    if isinstance(spec, ClusterRobust):
        spec = replace(spec, cluster=cluster_name)
    elif not isinstance(spec, Classical):
        raise InvalidValueError(
            "`inference` for model='glm' must be ClusterRobust(...), Classical() or "
            f"SteppedWedgeRandomization(...); got {inference!r}."
        )
    var = variance(glm, spec)
    k = len(names)
    df_complete = np.full(k, float(cells.n_rows - k)) if isinstance(spec, Classical) else var.df
    sums = binomial_sums(cells)

    def statistic(new_switch: np.ndarray) -> float:
        refit = fit_cells(
            build_z(new_switch), names, sums, cluster, family="binomial", n_obs=cells.n_rows
        )
        return float(effect @ refit.beta)

    zero = np.zeros(len(cells.y))
    return ModelOutput(
        beta=glm.beta,
        vcov=var.vcov,
        df=var.df.copy(),
        df_complete=np.asarray(df_complete, dtype=np.float64).copy(),
        method=f"GLM, {var.label}",
        statistic=statistic,
        offsets=(zero, zero),
        glm=glm,
        spec=spec,
        loglik=float(np.sum(cells.y * glm.eta - cells.n * np.logaddexp(0.0, glm.eta))),
    )
