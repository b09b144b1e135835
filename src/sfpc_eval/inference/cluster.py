r"""Model-based and cluster-robust variances, computed from cells.

Inference settings are small frozen objects (:class:`Classical`, :class:`ClusterRobust`) passed to
an estimator or to ``result.with_inference(...)``. The computation works on a
:class:`~sfpc_eval.estimators.cellfit.CellFit`.

Why CR2 and its Satterthwaite degrees of freedom survive collapsing rows into cells
--------------------------------------------------------------------------------------

Write the model in its working (square-root weighted) form, :math:`\tilde X = W^{1/2} X`, so the
hat matrix is :math:`\tilde H = \tilde X M \tilde X'` with :math:`M = (X'WX)^{-1}`. Rows of one
cell share a design row :math:`z_c`, so within cluster :math:`g` the working design is
:math:`\tilde X_g = Q_g D_g^{1/2} Z_g`, where :math:`Q_g` has orthonormal columns (one per cell)
and :math:`D_g` holds the cells' total working weights. Hence
:math:`\tilde H_{gg} = Q_g K_g Q_g'` with :math:`K_g = D_g^{1/2} Z_g M Z_g' D_g^{1/2}`, and every
function of :math:`I - \tilde H_{gg}` acts on the span of :math:`Q_g` through :math:`I - K_g`
alone (and as the identity elsewhere, which the score never sees). The CR2 adjustment
:math:`A_g = (I - \tilde H_{gg})^{-1/2}` (CR3: the inverse) therefore enters only as
:math:`(I - K_g)^{-1/2}` applied to the cell residual sums :math:`r_c / \sqrt{d_c}`. :math:`K_g`
has rank at most :math:`k`, so it is applied through a thin SVD in :math:`O(c_g k^2)`, not the
:math:`O(n_g^3)` a row-level implementation pays.

For the Bell-McCaffrey/Satterthwaite degrees of freedom of a contrast :math:`c` (as in Pustejovsky
and Tipton, 2018, with a working model of independent, equal-variance errors in the working
scale), let :math:`a_g = A_g D_g^{1/2} Z_g M c` and :math:`w_g = Z_g' D_g^{1/2} a_g`. The
:math:`G \times G` matrix :math:`\Gamma = \mathrm{diag}(\lVert a_g \rVert^2) - W' M W` holds the
inner products :math:`p_g' p_h` of the row-level vectors
:math:`p_g = (I - \tilde H) E_g A_g \tilde X_g M c`, and
:math:`\nu = (\mathrm{tr}\,\Gamma)^2 / \sum_{g,h} \Gamma_{gh}^2`.

References
----------
Bell, R. M. and McCaffrey, D. F. (2002). Bias reduction in standard errors for linear regression
with multi-stage samples. Survey Methodology 28(2), 169-181.

Pustejovsky, J. E. and Tipton, E. (2018). Small-sample methods for cluster-robust variance
estimation and hypothesis testing in fixed effects models. Journal of Business & Economic
Statistics 36(4), 672-683.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import linalg

from sfpc_eval.errors import DesignError, InvalidValueError

__all__ = [
    "Classical",
    "ClusterRobust",
    "HeteroskedasticityRobust",
    "Inference",
    "VarianceResult",
    "variance",
]

KINDS = ("CR0", "CR1", "CR2", "CR3")


@dataclass(frozen=True)
class Classical:
    """Model-based variance: ``sigma^2 (X'WX)^{-1}`` (Gaussian) or the inverse information (GLM).

    Degrees of freedom: ``n - k`` for the Gaussian family, normal reference otherwise.

    Examples
    --------
    >>> Classical()
    Classical()
    """

    def describe(self) -> str:
        """One line for a methods section."""
        return "model-based (classical) standard errors"


@dataclass(frozen=True)
class ClusterRobust:
    """Cluster-robust variance.

    Parameters
    ----------
    cluster : str, optional
        Column that defines clusters; defaults to the estimator's ``unit``.
    kind : {"CR0", "CR1", "CR2", "CR3"}, default "CR2"
        ``CR0``: no small-sample correction. ``CR1``: ``G/(G-1) (n-1)/(n-k)``, as Stata and
        ``sandwich::vcovCL(type = "HC1")``. ``CR2``: the bias-reduced linearisation of Bell and
        McCaffrey (as ``clubSandwich``). ``CR3``: the jackknife-like ``(I - H_gg)^{-1}``
        adjustment (as ``clubSandwich``).
    df : {"satterthwaite", "G-1"}, optional
        Reference t distribution. Defaults to Satterthwaite for CR2 and CR3, and ``G - 1`` for
        CR0 and CR1.

    Examples
    --------
    >>> ClusterRobust("la", kind="CR2").df_method
    'satterthwaite'
    >>> ClusterRobust(kind="CR1").df_method
    'G-1'
    """

    cluster: str | None = None
    kind: Literal["CR0", "CR1", "CR2", "CR3"] = "CR2"
    df: Literal["satterthwaite", "G-1"] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidValueError(f"`kind` must be one of {', '.join(KINDS)}; got {self.kind!r}.")
        if self.df not in (None, "satterthwaite", "G-1"):
            raise InvalidValueError(f"`df` must be 'satterthwaite' or 'G-1'; got {self.df!r}.")

    @property
    def df_method(self) -> str:
        """The degrees-of-freedom rule in force."""
        if self.df is not None:
            return self.df
        return "satterthwaite" if self.kind in ("CR2", "CR3") else "G-1"

    def describe(self) -> str:
        """One line for a methods section."""
        df = "Satterthwaite" if self.df_method == "satterthwaite" else "G - 1"
        return f"cluster-robust {self.kind} standard errors with {df} degrees of freedom"


@dataclass(frozen=True)
class HeteroskedasticityRobust:
    """Heteroskedasticity-robust (row-level sandwich) variance, no clustering.

    Parameters
    ----------
    kind : {"HC0", "HC1"}, default "HC1"
        ``HC1`` scales ``HC0`` by ``n / (n - k)`` (as Stata's ``robust`` and statsmodels'
        ``HC1``). Reference distribution: t with ``n - k`` df for linear models, normal for GLMs.

    Examples
    --------
    >>> HeteroskedasticityRobust().describe()
    'heteroskedasticity-robust HC1 standard errors'
    """

    kind: Literal["HC0", "HC1"] = "HC1"

    def __post_init__(self) -> None:
        if self.kind not in ("HC0", "HC1"):
            raise InvalidValueError(f"`kind` must be 'HC0' or 'HC1'; got {self.kind!r}.")

    def describe(self) -> str:
        """One line for a methods section."""
        return f"heteroskedasticity-robust {self.kind} standard errors"


Inference = Classical | ClusterRobust | HeteroskedasticityRobust


@dataclass(frozen=True, eq=False)
class VarianceResult:
    """A variance matrix and, per coefficient, the degrees of freedom of its t reference."""

    vcov: np.ndarray
    df: np.ndarray
    description: str
    label: str


def _adjust_factors(kind: str, eigen: np.ndarray) -> np.ndarray:
    """``f(1 - s^2) - 1`` for the eigenvalues ``1 - s^2`` of ``I - K``; pseudo-inverse at 0."""
    tiny = 1e-12
    safe = np.where(eigen > tiny, eigen, 1.0)
    power = -0.5 if kind == "CR2" else -1.0
    return np.where(eigen > tiny, safe**power, 0.0) - 1.0


def _cluster_adjusters(fit, kind: str):
    """For each cluster: cell indices and a function applying A_g to a cell vector."""
    order = np.argsort(fit.cluster, kind="stable")
    bounds = np.searchsorted(fit.cluster[order], np.arange(fit.n_clusters + 1))
    root = linalg.cholesky(fit.bread, lower=True)
    sqrt_d = np.sqrt(fit.d)
    out = []
    for g in range(fit.n_clusters):
        idx = order[bounds[g] : bounds[g + 1]]
        if kind in ("CR0", "CR1"):
            out.append((idx, None, None))
            continue
        low_rank = sqrt_d[idx, None] * fit.z[idx] @ root
        u, s, _ = linalg.svd(low_rank, full_matrices=False)
        keep = s > 1e-14
        u, s = u[:, keep], s[keep]
        out.append((idx, u, _adjust_factors(kind, 1.0 - s**2)))
    return out, sqrt_d


def _apply(u: np.ndarray | None, factors: np.ndarray | None, vector: np.ndarray) -> np.ndarray:
    if u is None:
        return vector
    return vector + u @ (factors * (u.T @ vector))


def variance(fit, inference: Inference) -> VarianceResult:
    """Variance matrix and degrees of freedom of a cell fit under ``inference``.

    Parameters
    ----------
    fit : CellFit
        The fitted model (its ``cluster`` codes are the clusters used).
    inference : Classical or ClusterRobust
        The variance to compute.

    Returns
    -------
    VarianceResult
    """
    k = fit.k
    k_total = fit.k_total
    if isinstance(inference, Classical):
        vcov = fit.bread * fit.scale
        dof = fit.n_obs - k_total if fit.family == "gaussian" else np.inf
        return VarianceResult(vcov, np.full(k, float(dof)), inference.describe(), "classical")
    if isinstance(inference, HeteroskedasticityRobust):
        meat = fit.z.T @ (fit.row_score_squares()[:, None] * fit.z)
        vcov = fit.bread @ meat @ fit.bread
        n = fit.n_obs
        if inference.kind == "HC1":
            vcov *= n / (n - k_total)
        dof = n - k_total if fit.family == "gaussian" else np.inf
        return VarianceResult(vcov, np.full(k, float(dof)), inference.describe(), inference.kind)
    if not isinstance(inference, ClusterRobust):
        raise InvalidValueError(
            f"`inference` must be Classical() or ClusterRobust(...); got {inference!r}."
        )
    n_clusters = fit.n_clusters
    if n_clusters < 2:
        raise DesignError(
            "cluster-robust inference needs at least 2 clusters; the data have 1. With one "
            "cluster nothing can be said about between-cluster variation: use more clusters or "
            "Classical()."
        )
    kind = inference.kind
    if fit.absorbed and (kind in ("CR2", "CR3") or inference.df_method == "satterthwaite"):
        raise DesignError(
            f"{kind} with Satterthwaite degrees of freedom needs the full hat matrix, and "
            f"{fit.absorbed:,} fixed-effect levels were absorbed by demeaning. Use "
            "ClusterRobust(kind='CR1') (exact with absorbed effects), or pass absorb=False "
            "when there are few enough units for dummy columns."
        )
    if kind in ("CR0", "CR1") and inference.df_method == "G-1":
        # no adjustment matrices: cluster scores are plain sums of z_c r_c
        products = fit.z * fit.r[:, None]
        scores = np.column_stack(
            [
                np.bincount(fit.cluster, weights=products[:, i], minlength=n_clusters)
                for i in range(k)
            ]
        )
    else:
        adjusters, sqrt_d = _cluster_adjusters(fit, kind)
        scores = np.empty((n_clusters, k))
        for g, (idx, u, factors) in enumerate(adjusters):
            adjusted = _apply(u, factors, fit.r[idx] / sqrt_d[idx])
            scores[g] = fit.z[idx].T @ (sqrt_d[idx] * adjusted)
    meat = scores.T @ scores
    vcov = fit.bread @ meat @ fit.bread
    if kind == "CR1":
        n = fit.n_obs
        vcov *= n_clusters / (n_clusters - 1) * (n - 1) / (n - k_total)
    if inference.df_method == "G-1":
        dof = np.full(k, float(n_clusters - 1))
    else:
        dof = np.array([_satterthwaite(fit, adjusters, sqrt_d, j) for j in range(k)])
    df_label = "Satterthwaite" if inference.df_method == "satterthwaite" else "G-1"
    return VarianceResult(vcov, dof, inference.describe(), f"{kind}, {df_label} df")


def _satterthwaite(fit, adjusters, sqrt_d: np.ndarray, j: int) -> float:
    """Bell-McCaffrey degrees of freedom for coefficient ``j`` (see the module notes)."""
    contrast = fit.bread[:, j]
    n_clusters = len(adjusters)
    norms = np.empty(n_clusters)
    w = np.empty((fit.k, n_clusters))
    for g, (idx, u, factors) in enumerate(adjusters):
        a = _apply(u, factors, sqrt_d[idx] * (fit.z[idx] @ contrast))
        norms[g] = a @ a
        w[:, g] = fit.z[idx].T @ (sqrt_d[idx] * a)
    gram = np.diag(norms) - w.T @ fit.bread @ w
    total = np.trace(gram)
    return float(total**2 / np.sum(gram**2))
