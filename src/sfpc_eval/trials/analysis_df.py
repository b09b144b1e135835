r"""Reference distributions for the stepped-wedge GLMM's Wald tests with few clusters.

A stepped-wedge trial of the SFPC kind has 4-6 councils. The GLMM's Wald z test then treats the
estimated between-council variance as known; this module supplies the small-sample t
reference that :func:`~sfpc_eval.trials.analysis.stepped_wedge` uses by default.

``"satterthwaite"`` (the default)
    The degrees of freedom of Satterthwaite's approximation, as SAS ``GLIMMIX`` (``DDFM=SAT``)
    and ``lmerTest`` compute them, for the treatment contrast ``c``:

    .. math::

        \nu = \frac{2\, v(\hat\theta)^2}{v'(\hat\theta)^2 \operatorname{Var}(\hat\theta)},
        \qquad v(\theta) = c' I_\beta(\theta)^{-1} c,

    where :math:`\theta` is the random-intercept SD, :math:`I_\beta(\theta)` the information
    on the fixed effects with :math:`\theta` held fixed (penalised-IRLS form:
    :math:`\sum_i Z_i' W_i Z_i - \theta^2 (Z_i' w_i)(w_i' Z_i) / (1 + \theta^2 \sum w_i)`, with
    the weights at the conditional modes for that :math:`\theta`), :math:`v'` its derivative
    (central differences) and :math:`\operatorname{Var}(\hat\theta)` the model's
    (``2 H^{-1}`` of the deviance, as lme4's). The df are never below the between-cluster df
    ``G - 1`` (no contrast in a random-intercept model carries less information than a purely
    between-cluster one), and at a boundary fit (:math:`\hat\theta = 0`, where
    :math:`\operatorname{Var}(\hat\theta)` does not exist) they are ``G - 1``.
    For the other families and random-effect structures (and the linear mixed model) the
    same formula is evaluated on the working linear model at the fit, as SAS ``GLIMMIX``
    does on its pseudo-model: :math:`v = c'\Phi c` with
    :math:`\Phi = (X'\Sigma^{-1}X)^{-1}`, its gradient in the variance parameters and
    their variance from the expected restricted information
    (:meth:`~sfpc_eval.trials.kenward_roger.KenwardRogerFit.satterthwaite`), with the same
    floor ``G - 1`` and boundary rule.
``"kenward_roger"``
    Kenward and Roger (1997): the variance parameters by REML (the restricted Laplace
    likelihood for counts and binary outcomes, as ``glmmTMB(REML = TRUE)``), the fixed
    effects' variance inflated for their uncertainty and the df matched to the first two
    moments of the Wald statistic (:mod:`sfpc_eval.trials.kenward_roger`; ``lmerTest``'s
    ``ddf = "Kenward-Roger"`` for the linear mixed model). No floor.
``"between_within"``
    The between-within df of Li and Redden (2015) on the cluster-period cells: observed
    cluster-periods minus the rank of (cluster indicators, period indicators, treatment
    columns); ``(G - 1)(T - 1) - 1`` in a complete design.
``"z"``
    The normal reference (Wald z), only on request.

Why Satterthwaite: the Monte Carlo in ``validation/sw_validity.py`` (the table in the docs)
found the Wald z test over-rejecting in the No Wrong Door shape (7.7 % at ICC 0.01) -- almost
all of it from boundary fits, where the model forgets the clusters -- and the between-within df
under-rejecting in the Family Safeguarding shape (2.6 % at ICC 0.05). Satterthwaite's df are
large where the effect is estimated within clusters (so the test is the Wald test) and fall to
``G - 1`` at the boundary.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np
from scipy import special

from sfpc_eval.errors import FewClustersWarning, InvalidValueError
from sfpc_eval.inference.cluster import Classical

__all__ = [
    "DF_METHODS",
    "DfMethod",
    "between_within_df",
    "check_df_method",
    "conditional_variance",
    "glmm_df",
    "invalid_note",
    "satterthwaite_df",
    "working_satterthwaite_df",
]

DfMethod = Literal["satterthwaite", "kenward_roger", "between_within", "z"]
DF_METHODS: tuple[str, ...] = ("satterthwaite", "kenward_roger", "between_within", "z")
FEW_CLUSTERS = 30
"""Below this many clusters the Wald z test of a GLMM is not trusted (a warning on request)."""


def check_df_method(value: object) -> str:
    """Return ``value`` if it is one of :data:`DF_METHODS`, else raise naming them."""
    if value not in DF_METHODS:
        raise InvalidValueError(
            f"`df_method` must be one of {', '.join(DF_METHODS)}; got {value!r}."
        )
    return str(value)


def _modes(z, y, n, cluster, n_clusters, theta, beta) -> np.ndarray:
    """Conditional modes ``u_i`` (standardised) of the random intercepts for fixed parameters."""
    u = np.zeros(n_clusters)
    eta0 = z @ beta
    for _ in range(100):
        mu = special.expit(eta0 + theta * u[cluster])
        grad = theta * np.bincount(cluster, weights=y - n * mu, minlength=n_clusters) - u
        curv = 1.0 + theta**2 * np.bincount(
            cluster, weights=n * mu * (1 - mu), minlength=n_clusters
        )
        step = grad / curv
        u = u + step
        if np.max(np.abs(step)) < 1e-12:
            break
    return u


def conditional_variance(fit, theta: float, contrast: np.ndarray) -> float:
    """Return ``c' I_beta(theta)^{-1} c`` at the fit's fixed effects (see the module notes).

    ``fit`` is a :class:`~sfpc_eval.trials.glmm.GlmmFit` (its cells and ``beta`` are used).

    Examples
    --------
    >>> import numpy as np
    >>> from sfpc_eval.trials.glmm import fit_glmm
    >>> rng = np.random.default_rng(3)
    >>> cl = np.repeat(np.arange(6), 2)
    >>> x = np.tile([0.0, 1.0], 6)
    >>> y = rng.binomial(200, 0.3, 12).astype(float)
    >>> fit = fit_glmm(np.column_stack([np.ones(12), x]), ("a", "x"), y, np.full(12, 200.0), cl,
    ...                warn_singular=False)
    >>> v = conditional_variance(fit, fit.theta, np.array([0.0, 1.0]))
    >>> bool(abs(v / fit.vcov[1, 1] - 1) < 0.05)
    True
    """
    z, y, n, cluster = fit.z, fit.successes, fit.trials, fit.cluster
    g = fit.n_clusters
    u = _modes(z, y, n, cluster, g, theta, fit.beta)
    mu = special.expit(z @ fit.beta + theta * u[cluster])
    w = n * mu * (1 - mu)
    info = z.T @ (w[:, None] * z)
    zw = np.column_stack(
        [np.bincount(cluster, weights=w * z[:, j], minlength=g) for j in range(z.shape[1])]
    )
    total = np.bincount(cluster, weights=w, minlength=g)
    info -= (zw.T * (theta**2 / (1 + theta**2 * total))) @ zw
    return float(contrast @ np.linalg.solve(info, contrast))


def satterthwaite_df(fit, contrast: np.ndarray) -> tuple[float, str]:
    """Satterthwaite df of the contrast of a random-intercept GLMM, and a note (or "").

    Parameters
    ----------
    fit : GlmmFit
    contrast : ndarray (k,)
        The contrast of the fixed effects (the treatment coefficient, or the average of the
        exposure-time coefficients).

    Returns
    -------
    (float, str)
        The df (at least ``G - 1``) and a note when the floor or the boundary applied.
    """
    floor = float(fit.n_clusters - 1)
    theta = float(fit.theta)
    var_theta = float(fit.vcov_full[0, 0]) if fit.vcov_full.size else math.nan
    if fit.singular or not (math.isfinite(var_theta) and var_theta > 0):
        return floor, (
            f"boundary fit (between-cluster SD {theta:.2g}): the df are the between-cluster "
            f"df G - 1 = {floor:g}"
        )
    step = 1e-4 * max(theta, 0.05)
    v = conditional_variance(fit, theta, contrast)
    slope = (
        conditional_variance(fit, theta + step, contrast)
        - conditional_variance(fit, max(theta - step, 0.0), contrast)
    ) / (theta + step - max(theta - step, 0.0))
    denominator = slope**2 * var_theta
    df = math.inf if denominator == 0 else 2 * v**2 / denominator
    if df < floor:
        return (
            floor,
            f"Satterthwaite df {df:.2g} raised to the between-cluster df G - 1 = {floor:g}",
        )
    return df, ""


def between_within_df(
    cell_cluster: np.ndarray, cell_period: np.ndarray, treatment: np.ndarray
) -> float:
    """Between-within df on the cluster-period cells (Li and Redden 2015).

    Observed cluster-periods minus the rank of (cluster indicators, period indicators,
    treatment columns), computed on one row per observed cluster-period.

    Examples
    --------
    >>> c, t = np.repeat(np.arange(5), 6), np.tile(np.arange(6), 5)
    >>> between_within_df(c, t, (t > c).astype(float)[:, None])
    19.0
    """
    treatment = np.asarray(treatment, dtype=np.float64).reshape(len(cell_cluster), -1)
    keys = np.column_stack([cell_cluster, cell_period])
    _, first = np.unique(keys, axis=0, return_index=True)
    c, t, x = cell_cluster[first], cell_period[first], treatment[first]
    columns = [(c == i).astype(np.float64) for i in np.unique(c)]
    columns += [(t == j).astype(np.float64) for j in np.unique(t)[1:]]
    design = np.column_stack([*columns, x])
    return float(len(first) - np.linalg.matrix_rank(design))


def working_satterthwaite_df(fit, contrast: np.ndarray) -> tuple[float, str]:
    """Satterthwaite df of a contrast of any mixed model, from its working linear model.

    ``fit`` is a :class:`~sfpc_eval.trials.mixed.MixedModelFit` (see the module notes);
    floored at ``G - 1`` and ``G - 1`` at a boundary fit, as :func:`satterthwaite_df`.
    """
    floor = float(fit.n_clusters - 1)
    if fit.boundary:
        return floor, (
            "boundary fit (a variance parameter at its limit): the df are the between-cluster "
            f"df G - 1 = {floor:g}"
        )
    df = fit.kr.satterthwaite(contrast)
    if df < floor:
        return (
            floor,
            f"Satterthwaite df {df:.2g} raised to the between-cluster df G - 1 = {floor:g}",
        )
    return df, ""


def glmm_df(fit, df_method, treat_cols, covariate_cols, z, cell_period):
    """Return the df per GLMM coefficient, the method label and a note for the effect.

    ``fit`` is a :class:`~sfpc_eval.trials.mixed.MixedModelFit` (or the random-intercept
    :class:`~sfpc_eval.trials.glmm.GlmmFit` itself). ``df[0]`` (the intercept, never
    reported) holds the df of the effect contrast (the average of the exposure-time
    coefficients when there are several).
    """
    k = z.shape[1]
    df = np.full(k, np.inf)
    glmer = getattr(fit, "glmm", fit)  # the glmer-type random-intercept fit, if it is one
    if df_method == "z":
        if fit.n_clusters < FEW_CLUSTERS:
            warnings.warn(
                f"Wald z (normal reference) with {fit.n_clusters} clusters treats the "
                "between-cluster variance as known; with few clusters its tests reject too "
                "often (7.7% at the 5% level in the No Wrong Door shape, see the stepped-wedge "
                "validity table). The default df_method='satterthwaite' holds the level.",
                FewClustersWarning,
                stacklevel=3,
            )
        return df, "Wald z", ""
    if df_method == "between_within":
        value = between_within_df(fit.cluster, cell_period, z[:, treat_cols])
        df[:] = value
        return df, f"t, between-within df {value:g}", ""
    effect = np.zeros(k)
    effect[treat_cols] = 1.0 / len(treat_cols)
    if df_method == "kenward_roger":
        kr_note = (
            ""
            if fit.kr.adjusted
            else "the Kenward-Roger adjusted variance was not positive definite (a variance "
            "parameter near its boundary): the unadjusted REML variance is used, with "
            "Kenward-Roger df"
        )

        def one(c):
            return fit.kr.df(c), kr_note

        label = "t, Kenward-Roger df"
    elif glmer is not None:

        def one(c):
            return satterthwaite_df(glmer, c)

        label = "t, Satterthwaite df"
    else:

        def one(c):
            return working_satterthwaite_df(fit, c)

        label = "t, Satterthwaite df"
    df[0], note = one(effect)
    for j in [*treat_cols, *covariate_cols]:
        df[j] = one(np.eye(k)[j])[0]
    if len(treat_cols) == 1:
        df[0] = df[treat_cols[0]]
    return df, label, note


def invalid_note(model, df_method, gee_variance, inference, n_clusters) -> str:
    """Say why the effect rows' inference is not valid with this few clusters ("" if it is)."""
    if n_clusters >= FEW_CLUSTERS:
        return ""
    if model == "glmm" and df_method == "z":
        return (
            f"not valid with {n_clusters} clusters: the Wald z test treats the between-cluster "
            "variance as known and rejects too often; use the default df_method='satterthwaite'"
        )
    if model == "gee" and gee_variance == "robust":
        return (
            f"not valid with {n_clusters} clusters: the uncorrected sandwich with a normal "
            "reference is biased downwards with few clusters; use gee_variance='MD' or 'KC'"
        )
    if model == "glm" and isinstance(inference, Classical):
        return (
            "not valid for clustered data: classical standard errors ignore the correlation of "
            "children within a council; use the default ClusterRobust(kind='CR2')"
        )
    return ""
