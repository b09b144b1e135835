"""Fit a stepped-wedge mixed model of any family and random-effect structure on trial cells.

The one entry point, :func:`fit_mixed`, chooses the fitter:

- binomial with a random intercept: :func:`sfpc_eval.trials.glmm.fit_glmm` (Laplace as
  ``glmer`` evaluates it, or adaptive Gauss-Hermite quadrature with ``nagq > 1``);
- binomial with the other structures, Poisson and negative binomial (NB2) with any structure:
  :func:`sfpc_eval.trials.laplace.fit_laplace` (the Laplace approximation, as ``glmmTMB``);
- Gaussian: :func:`sfpc_eval.trials.lmm.fit_lmm` (REML, as ``lmer``).

It returns a :class:`MixedModelFit` that the analysis turns into terms, and that reports the
variance components, ICC and CAC (:mod:`sfpc_eval.trials.variance_components`), the
log-likelihood and the number of parameters (for the model comparison).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sfpc_eval.errors import InvalidValueError, SingularFitWarning
from sfpc_eval.trials.analysis_input import TrialCells
from sfpc_eval.trials.families import family as get_family
from sfpc_eval.trials.glmm import fit_glmm
from sfpc_eval.trials.kenward_roger import KenwardRogerFit, kenward_roger
from sfpc_eval.trials.laplace import MAX_LOG_SIZE, CellData, fit_laplace, glm_start
from sfpc_eval.trials.laplace_reml import fit_laplace_reml
from sfpc_eval.trials.lmm import GaussianCells, fit_lmm
from sfpc_eval.trials.structures import RandomEffects
from sfpc_eval.trials.variance_components import variance_components

__all__ = ["STRUCTURE_LABELS", "MixedModelFit", "fit_mixed"]

STRUCTURE_LABELS = {
    "intercept": "random intercept",
    "nested": "nested exchangeable",
    "decay": "exponential decay (AR(1))",
    "slope": "random treatment slope",
}
"""Plain-English names of the random-effect structures."""

FAMILY_LABELS = {
    "binomial": "logistic GLMM",
    "poisson": "Poisson GLMM",
    "negative_binomial": "negative binomial (NB2) GLMM",
    "gaussian": "linear mixed model",
}


@dataclass(frozen=True, eq=False)
class MixedModelFit:
    """A fitted mixed model, whatever its family and structure.

    ``theta`` and ``vcov_theta`` are the covariance parameters and their variance (NaN on the
    boundary); ``dispersion`` the NB2 size or the Gaussian residual SD (NaN otherwise);
    ``cell_effects`` the conditional modes' contribution to each cell's linear predictor, under
    the cell's own treatment and, for the slope structure, under control (``cell_effects_0``)
    and treatment (``cell_effects_1``); ``n_params`` counts fixed effects, covariance
    parameters and the dispersion.
    """

    family: str
    structure: RandomEffects
    names: tuple[str, ...]
    beta: np.ndarray = field(repr=False)
    vcov: np.ndarray = field(repr=False)
    theta: np.ndarray
    vcov_theta: np.ndarray = field(repr=False)
    loglik: float
    n_params: int
    reml: bool
    dispersion: float
    boundary: bool
    method: str
    cell_effects_0: np.ndarray = field(repr=False)
    cell_effects_1: np.ndarray = field(repr=False)
    kr: KenwardRogerFit | None = field(repr=False, default=None)
    glmm: object = field(repr=False, default=None)
    cluster: np.ndarray | None = field(repr=False, default=None)
    n_clusters: int = 0

    @property
    def aic(self) -> float:
        """Akaike's criterion, ``-2 loglik + 2 n_params`` (REML likelihood for Gaussian)."""
        return -2.0 * self.loglik + 2.0 * self.n_params

    def components(self, level: float) -> pd.DataFrame:
        """Variance components, ICC and CAC with Wald intervals at ``level``."""
        scale = self.dispersion if self.family == "gaussian" else 1.0
        return variance_components(
            self.structure, self.family, self.theta, self.vcov_theta, level, scale=scale
        )


def fit_mixed(
    cells: TrialCells,
    z: np.ndarray,
    names: tuple[str, ...],
    *,
    cluster: np.ndarray,
    period: np.ndarray,
    treated: np.ndarray,
    n_periods: int,
    family: str,
    random_effects: str,
    nagq: int = 1,
    laplace: str = "lme4",
    need_vcov: bool = True,
    start: MixedModelFit | None = None,
    warn_singular: bool = True,
    small_sample: bool = False,
) -> MixedModelFit:
    """Fit the mixed model to the cells (see the module notes).

    ``cluster``, ``period`` are 0-based codes per cell and ``treated`` the exposure (0/1) that
    the slope structure loads. ``start`` (a previous fit of the same model) warm-starts a refit.
    ``small_sample=True``: REML variance parameters and the Kenward-Roger adjustment
    (:mod:`sfpc_eval.trials.kenward_roger`).
    """
    structure = RandomEffects(random_effects, n_periods)
    label = f"{FAMILY_LABELS[family]}, {STRUCTURE_LABELS[random_effects]}"
    if small_sample and family != "gaussian":
        result = _fit_small_sample(
            cells, z, names, cluster, period, treated, family, structure, label, start, need_vcov
        )
        if warn_singular and result.boundary:
            _warn_boundary(result, random_effects, family)
        return replace(result, cluster=np.asarray(cluster), n_clusters=int(np.max(cluster)) + 1)
    if nagq != 1 and not (family == "binomial" and random_effects == "intercept"):
        raise InvalidValueError(
            f"adaptive quadrature (nagq={nagq}) is available for the binomial random-intercept "
            f"model only; the {STRUCTURE_LABELS[random_effects]} {FAMILY_LABELS[family]} uses "
            "the Laplace approximation (nagq=1), as glmmTMB does."
        )
    if family == "gaussian":
        gcells = GaussianCells.build(z, cells.n, cells.y, cells.sum_y2, cluster, period, treated)
        fit = fit_lmm(gcells, names, structure, theta_start=None if start is None else start.theta)
        effects0, effects1 = _cell_effects(structure, fit.modes, cluster, period)
        kr = None
        if need_vcov:
            slots, loads = structure.loadings(gcells.period, gcells.treated)
            kr = kenward_roger(
                gcells.x,
                slots,
                loads,
                gcells.count,
                gcells.starts,
                structure,
                fit.theta,
                sigma2=fit.sigma**2,
            )
        result = MixedModelFit(
            family=family,
            structure=structure,
            names=tuple(names),
            beta=fit.beta,
            vcov=kr.vcov if small_sample and kr is not None else fit.vcov,
            theta=fit.theta,
            vcov_theta=fit.vcov_theta,
            loglik=fit.loglik,
            n_params=len(names) + structure.n_theta + 1,
            reml=True,
            dispersion=fit.sigma,
            boundary=fit.boundary,
            method=f"{label} (REML)",
            cell_effects_0=effects0,
            cell_effects_1=effects1,
            kr=kr,
        )
    elif family == "binomial" and random_effects == "intercept":
        fit = fit_glmm(
            z,
            names,
            cells.y,
            cells.n,
            cluster,
            nagq=nagq,
            beta_start=None if start is None else start.beta,
            theta_start=1.0 if start is None else max(float(start.theta[0]), 0.1),
            warn_singular=False,
            need_vcov=need_vcov,
            laplace=laplace if need_vcov else "exact",
        )
        effects = fit.modes[cluster]
        how = "Laplace" if nagq == 1 else f"AGQ({nagq})"
        result = MixedModelFit(
            family=family,
            structure=structure,
            names=tuple(names),
            beta=fit.beta,
            vcov=fit.vcov,
            theta=np.array([fit.theta]),
            vcov_theta=fit.vcov_full[:1, :1],
            loglik=-fit.deviance / 2 + cells.constant,
            n_params=len(names) + 1,
            reml=False,
            dispersion=math.nan,
            boundary=fit.singular,
            method=f"{label}, {how}",
            cell_effects_0=effects,
            cell_effects_1=effects,
            glmm=fit,
        )
    else:
        fam, data, beta0, theta0, psi0 = _laplace_setup(
            cells, z, cluster, period, treated, family, start
        )
        fit = fit_laplace(
            data,
            names,
            structure,
            fam,
            beta_start=beta0,
            theta_start=theta0,
            psi_start=psi0,
            need_vcov=need_vcov,
            constant=cells.constant,
        )
        effects0, effects1 = _cell_effects(structure, fit.modes, cluster, period)
        t = structure.n_theta
        result = MixedModelFit(
            family=family,
            structure=structure,
            names=tuple(names),
            beta=fit.beta,
            vcov=fit.vcov,
            theta=fit.theta,
            vcov_theta=fit.vcov_full[:t, :t],
            loglik=fit.loglik,
            n_params=len(names) + t + int(fam.has_dispersion),
            reml=False,
            dispersion=math.exp(fit.psi) if fam.has_dispersion else math.nan,
            boundary=fit.boundary,
            method=f"{label}, Laplace",
            cell_effects_0=effects0,
            cell_effects_1=effects1,
            kr=_working_kr(data, structure, fam, fit) if need_vcov else None,
        )
    if warn_singular and result.boundary:
        _warn_boundary(result, random_effects, family)
    return replace(result, cluster=np.asarray(cluster), n_clusters=int(np.max(cluster)) + 1)


def _working_kr(data: CellData, structure: RandomEffects, fam, fit) -> KenwardRogerFit:
    """Small-sample ingredients of a Laplace fit: the working linear model at its modes."""
    slots, loads = structure.loadings(data.period, data.treated)
    modes = fit.modes
    effects = loads[:, 0] * modes[data.cluster, slots[:, 0]]
    effects = effects + loads[:, 1] * modes[data.cluster, slots[:, 1]]
    eta = data.x @ fit.beta + effects
    weight = fam.terms(eta, data.y, data.n, data.offset, data.freq, fit.psi).weight
    return kenward_roger(data.x, slots, loads, weight, data.starts, structure, fit.theta)


def _warn_boundary(result: MixedModelFit, random_effects: str, family: str) -> None:
    warnings.warn(
        f"boundary (singular) fit of the {STRUCTURE_LABELS[random_effects]} "
        f"{FAMILY_LABELS[family]}: {_boundary_detail(result)}, as lme4's isSingular() "
        "reports. The clusters look no more alike than chance along that component; its "
        "interval is not reported and the fixed effects' variance is that given the "
        "variance parameters. A simpler structure describes these data as well (for the "
        "random intercept: model='glm' with CR2 or randomization inference).",
        SingularFitWarning,
        stacklevel=4,
    )


def _fit_small_sample(
    cells, z, names, cluster, period, treated, family, structure, label, start, need_vcov
) -> MixedModelFit:
    """Restricted Laplace likelihood and the Kenward-Roger adjustment (counts and binary)."""
    fam, data, beta0, theta0, psi0 = _laplace_setup(
        cells, z, cluster, period, treated, family, start
    )
    fit = fit_laplace_reml(
        data,
        structure,
        fam,
        beta_start=beta0,
        theta_start=theta0,
        psi_start=psi0,
        constant=cells.constant,
    )
    wm = fit.working
    kr = None
    if need_vcov:
        kr = kenward_roger(wm.x, wm.slots, wm.loads, wm.weight, wm.starts, structure, fit.theta)
    t = structure.n_theta
    effects0, effects1 = _cell_effects(structure, fit.modes, cluster, period)
    k = len(names)
    return MixedModelFit(
        family=family,
        structure=structure,
        names=tuple(names),
        beta=fit.beta,
        vcov=kr.vcov if kr is not None else np.full((k, k), np.nan),
        theta=fit.theta,
        vcov_theta=fit.vcov_params[:t, :t],
        loglik=fit.loglik,
        n_params=k + t + int(fam.has_dispersion),
        reml=True,
        dispersion=math.exp(fit.psi) if fam.has_dispersion else math.nan,
        boundary=fit.boundary,
        method=f"{label}, REML",
        cell_effects_0=effects0,
        cell_effects_1=effects1,
        kr=kr,
    )


def _laplace_setup(cells, z, cluster, period, treated, family, start):
    """Return the family, the cells sorted by council and a Laplace fit's starting values."""
    fam = get_family(family)
    data = CellData.build(z, cells.y, cells.n, cells.offset, cells.freq, cluster, period, treated)
    if start is None:
        beta0, psi0 = glm_start(data, fam)
        return fam, data, beta0, None, psi0
    return fam, data, start.beta, start.theta, _psi(start)


def _psi(fit: MixedModelFit) -> float:
    return math.log(fit.dispersion) if fit.family == "negative_binomial" else 0.0


def _cell_effects(
    structure: RandomEffects, modes: np.ndarray, cluster: np.ndarray, period: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's random-effect contribution under control and under treatment."""
    zeros, ones = np.zeros(len(cluster)), np.ones(len(cluster))
    out = []
    for status in (zeros, ones):
        slots, loads = structure.loadings(period, status)
        b0 = modes[cluster, slots[:, 0]]
        b1 = modes[cluster, slots[:, 1]]
        out.append(loads[:, 0] * b0 + loads[:, 1] * b1)
    return out[0], out[1]


def _boundary_detail(fit: MixedModelFit) -> str:
    """Which components are on the boundary, with their estimates."""
    scale = fit.dispersion if fit.family == "gaussian" else 1.0
    parts = []
    for name, value in fit.structure.components(fit.theta).items():
        if name.startswith("sd_"):
            sd = value * scale
            if value < 1e-4:
                what = {
                    "sd_cluster": "the cluster effects",
                    "sd_cluster_period": "the cluster-by-period effects",
                    "sd_slope": "the treatment effect across clusters",
                }[name]
                parts.append(f"the variance of {what} is estimated as {sd**2:.3g} (SD {sd:.3g})")
        elif name == "cac" and abs(value) > 1 - 1e-6:
            parts.append(f"the AR(1) correlation is estimated as {value:.6g}")
        elif name == "corr_slope" and abs(value) > 1 - 1e-6:
            parts.append(f"the intercept-slope correlation is estimated as {value:.6g}")
    if fit.family == "negative_binomial" and fit.dispersion >= 0.999 * math.exp(MAX_LOG_SIZE):
        parts.append(
            f"the negative binomial size is at its bound {fit.dispersion:.3g}: no variation "
            "beyond the Poisson's and the random effects' (family='poisson' fits as well)"
        )
    return "; ".join(parts) or "a variance parameter is on the boundary"
