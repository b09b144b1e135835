r"""Model-based and cluster-robust variances, computed from cells.

Inference settings are small frozen objects (:class:`Classical`, :class:`ClusterRobust`) passed to
an estimator or to ``result.with_inference(...)``. The computation works on a
:class:`~sfpc_eval.cells.fit.CellFit`.

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

Which square root, and which working model
------------------------------------------

CR2's adjustment is a square root, and the square root is not unique; to match clubSandwich
this module takes the ones clubSandwich takes.

- Unweighted linear models: :math:`A_g = (I - H_{gg})^{+1/2}`, the case above, in
  :math:`O(c_g k^2)`.
- GLMs (clubSandwich's ``inverse_var`` case): the working variance of a row is
  :math:`\theta = V(\mu) / w`, and
  :math:`A_g = \Theta_g^{1/2} [\Theta_g^{1/2} (\Theta_g - X^*_g M X^{*\prime}_g)
  \Theta_g^{1/2}]^{+1/2} \Theta_g^{1/2}` with :math:`X^* = (d\mu/d\eta) X`. In cell
  coordinates the bracket is :math:`\mathrm{diag}(\theta) (I - K_g) \mathrm{diag}(\theta)`, a
  :math:`c_g \times c_g` matrix, diagonal minus rank :math:`k`. Its root is applied to the
  :math:`k + 1` vectors the variance and degrees of freedom need by a quadrature of resolvents,
  each :math:`O(c_g k)` (:mod:`sfpc_eval.inference._cr2_root`; equal to the dense
  eigendecomposition to about :math:`10^{-13}`); only when an eigenvalue may lie near the
  pseudo-inverse's cut-off is the root computed densely, and such clusters of more than
  :data:`MAX_DENSE_CELLS` distinct cells are refused. ``root="whitened"`` uses
  :math:`(I - K_g)^{+1/2}` in the square-root-weighted scale instead: equally unbiased under the
  working model, and :math:`O(c_g k^2)`; the two agree when :math:`\theta` and
  :math:`d\mu/d\eta` are constant within a cluster.
- Weighted linear models: clubSandwich's working model is equal variances (not
  :math:`1/w`), so :math:`A_g = [(I - H)(I - H)']_{gg}^{+1/2}` with :math:`H = X M X' W`;
  every term of it is again a :math:`c_g \times c_g` cell-level matrix.

CR3 uses :math:`(I - H_{gg})^{-1}`, which is singular when a fixed effect is nested in a
cluster (every unit effect, when clusters are units); it is then refused, as clubSandwich fails.
Eigenvalues below :math:`10^{-10}` of the largest are treated as zero in the roots (clubSandwich
uses an absolute :math:`10^{-12}`, which with Poisson variances in the hundreds keeps
rounding-error eigenvalues).

Satterthwaite degrees of freedom
--------------------------------

For a contrast :math:`c`, clubSandwich's Bell-McCaffrey degrees of freedom are
:math:`\nu = (\mathrm{tr}\,\Gamma)^2 / \sum_{g,h} \Gamma_{gh}^2` with :math:`\Gamma_{gh}` the
covariance, under the working model, of clusters :math:`g` and :math:`h`'s contributions to
:math:`c' \hat V c`. With :math:`\varepsilon_g = A_g' W_g X_g M c` (cell coordinates),
:math:`u_g = X_g' \varepsilon_g` and :math:`f_g = X_g' W_g \varepsilon_g`:
:math:`\Gamma = \mathrm{diag}(\varepsilon_g' \Theta_g \varepsilon_g) - U' M U` for the
inverse-variance models and
:math:`\Gamma = \mathrm{diag}(\lVert \varepsilon_g \rVert^2) + U' \Omega U - U' M F - F' M U`,
:math:`\Omega = M X' W^2 X M`, for weighted linear models. All of it is computed from cells.

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

from sfpc_eval._blas import limited_blas
from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.inference._cr2_root import symmetric_root_apply

__all__ = [
    "Classical",
    "ClusterRobust",
    "HeteroskedasticityRobust",
    "Inference",
    "VarianceResult",
    "contrast_df",
    "contrast_standard_error",
    "standard_error",
    "standard_errors",
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
    root : {"symmetric", "whitened"}, default "symmetric"
        Which square root CR2 uses when the working weights differ between cells of a cluster
        (GLMs; the two agree for unweighted linear models). ``"symmetric"`` is clubSandwich's
        and matches it; it costs ``O(c k)`` per quadrature node (10-60 nodes) in a cluster of
        ``c`` cells. ``"whitened"`` takes the root in the
        square-root-weighted scale, ``W^{-1/2} (I - H_gg)^{-1/2} W^{1/2}``; it is equally
        unbiased under the working model and costs ``O(n k^2)``.

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
    root: Literal["symmetric", "whitened"] = "symmetric"

    def __post_init__(self) -> None:
        if self.root not in ("symmetric", "whitened"):
            raise InvalidValueError(f"`root` must be 'symmetric' or 'whitened'; got {self.root!r}.")
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


def standard_error(variance: float, scale: float) -> float:
    """Square root of a variance that rounding may have pushed just below zero.

    A sandwich or model variance is positive semi-definite, so a contrast's variance
    ``c' V c`` is never negative except by rounding (about 1e-16 of the entries it comes
    from). Such values are zero; ``math.sqrt`` would raise on them.

    Parameters
    ----------
    variance : float
        The variance (a diagonal entry or ``c' V c``).
    scale : float
        Size of the entries it was computed from (the largest variance of the matrix, or
        ``|c|' |V| |c|``); a value below ``-1e-8 * scale`` is not rounding and raises.

    Returns
    -------
    float
        ``sqrt(max(variance, 0))``.

    Raises
    ------
    DesignError
        A clearly negative variance (the variance matrix is not positive semi-definite).

    Examples
    --------
    >>> standard_error(4.0, scale=4.0)
    2.0
    >>> standard_error(-1e-18, scale=1.0)
    0.0
    """
    value = float(variance)
    if value >= 0 or np.isnan(value):
        return float(np.sqrt(value))
    if -value <= 1e-8 * abs(float(scale)):
        return 0.0
    raise DesignError(
        f"a variance came out negative ({value:.3g}): the variance matrix is not positive "
        "semi-definite, which happens when the model is nearly saturated. Use another "
        "inference method or more data."
    )


def contrast_standard_error(contrast: np.ndarray, vcov: np.ndarray) -> float:
    """Return the standard error of ``c' beta``: :func:`standard_error` of ``c' V c``.

    Examples
    --------
    >>> contrast_standard_error(np.array([1.0, -1.0]), np.eye(2))
    1.4142135623730951
    """
    c = np.asarray(contrast, dtype=float)
    v = np.asarray(vcov, dtype=float)
    return standard_error(float(c @ v @ c), float(np.abs(c) @ np.abs(v) @ np.abs(c)))


def standard_errors(vcov: np.ndarray) -> np.ndarray:
    """Return every coefficient's standard error: :func:`standard_error` of the diagonal.

    Examples
    --------
    >>> standard_errors(np.array([[4.0, 0.0], [0.0, -1e-20]])).tolist()
    [2.0, 0.0]
    """
    diagonal = np.diag(np.asarray(vcov, dtype=float))
    scale = float(np.max(np.abs(diagonal))) if diagonal.size else 0.0
    return np.array([standard_error(v, scale) for v in diagonal])


MAX_DENSE_CELLS = 4_000
"""Largest cluster (in cells) whose symmetric CR2 root may be computed densely (when the fast
path declines: an eigenvalue near the pseudo-inverse cut-off)."""


@dataclass(frozen=True, eq=False)
class _Block:
    """One cluster's adjustment: cell indices, adjusted score, and the transpose operator."""

    idx: np.ndarray
    score: np.ndarray
    apply_t: object  # callable: vector -> R' vector (cell coordinates)
    whitened: bool = False  # apply_t works in the square-root-weighted scale
    lead_z: np.ndarray | None = None  # apply_t of diag(lead) Z, when computed with the score


def _pseudo_power(matrix: np.ndarray, power: float) -> np.ndarray:
    """Symmetric matrix power, eigenvalues below 1e-10 of the largest treated as zero."""
    values, vectors = linalg.eigh(matrix)
    cutoff = 1e-10 * max(float(values.max()), 0.0)
    safe = np.where(values > cutoff, values, 1.0)
    scaled = np.where(values > cutoff, safe**power, 0.0)
    return (vectors * scaled) @ vectors.T


def _checked_inverse(matrix: np.ndarray, g: int) -> np.ndarray:
    values = linalg.eigvals(matrix)
    if np.min(np.abs(values)) < 1e-10 * np.max(np.abs(values)):
        raise DesignError(
            "CR3 is not defined here: I - H_gg is singular for cluster "
            f"{g} (a fixed effect is nested in the cluster, so leaving the cluster out leaves "
            "its effect unidentified; clubSandwich fails the same way). Use kind='CR2'."
        )
    return np.linalg.inv(matrix)


def _omega(fit) -> np.ndarray:
    """``M X' W^2 X M`` for analytic weights (rows of a cell share their weight)."""
    rows = fit.sums["n"]
    row_w = fit.sums["sum_w"] / rows
    return fit.bread @ (fit.z.T @ ((rows * row_w**2)[:, None] * fit.z)) @ fit.bread


def _blocks(fit, kind: str, root_kind: str) -> list[_Block]:
    """Per-cluster adjusted scores (see the module notes for the algebra)."""
    order = np.argsort(fit.cluster, kind="stable")
    bounds = np.searchsorted(fit.cluster[order], np.arange(fit.n_clusters + 1))
    chol = linalg.cholesky(fit.bread, lower=True)
    rows = fit.sums["n"]
    weighted = getattr(fit, "weighted", False)
    omega = _omega(fit) if weighted else None
    blocks = []
    for g in range(fit.n_clusters):
        idx = order[bounds[g] : bounds[g + 1]]
        z, d, n = fit.z[idx], fit.d[idx], rows[idx]
        if weighted:
            blocks.append(_weighted_block(fit, idx, z, n, omega, kind, g))
        else:
            blocks.append(_inverse_var_block(fit, idx, z, d, n, chol, kind, root_kind, g))
    return blocks


def _inverse_var_block(fit, idx, z, d, n, chol, kind, root_kind, g) -> _Block:
    """Working model of variances V(mu) / w (clubSandwich's ``inverse_var`` case).

    In cell coordinates the CR2 matrix is ``G = diag(theta) (I - K) diag(theta)`` with
    ``theta = V / w`` and ``K = D^{1/2} Z M Z' D^{1/2}``; the adjustment is
    ``A = diag(sqrt(theta)) G^{+1/2} diag(sqrt(theta))`` applied to the response residual sums.
    """
    _, variance, slope, prior = (term[idx] for term in fit.glm_terms())
    theta = variance / prior
    sqrt_n = np.sqrt(n)
    scale = slope * (prior / variance) * sqrt_n  # maps A (cell coordinates) back to scores
    raw = fit.r[idx] / prior / sqrt_n  # response residual sums, in cell coordinates
    if kind in ("CR0", "CR1"):
        return _Block(idx, z.T @ (scale * raw), lambda v: v)
    low_rank = np.sqrt(d)[:, None] * z @ chol
    constant = np.ptp(theta) <= 1e-12 * np.max(theta) and np.ptp(slope) <= 1e-12 * np.max(slope)
    if kind == "CR2" and (constant or root_kind == "whitened"):
        # (I - K)^{+1/2} through a thin SVD of K's square-root factor: O(c k^2); in the
        # whitened residual scale, which is where the two roots coincide when theta is constant
        u, s, _ = linalg.svd(low_rank, full_matrices=False)
        eig = 1.0 - s**2
        factors = np.where(eig > 1e-10, np.where(eig > 1e-10, eig, 1.0) ** -0.5, 0.0) - 1.0
        sqrt_d = np.sqrt(d)

        def apply(v: np.ndarray, u=u, factors=factors) -> np.ndarray:
            return v + u @ (factors * (u.T @ v))

        t = fit.r[idx] / sqrt_d
        return _Block(idx, z.T @ (sqrt_d * apply(t)), apply, whitened=True)
    if kind == "CR2":
        # clubSandwich's symmetric root without a cells x cells matrix (inference._cr2_root):
        # applied to the residuals and to diag(lead) Z (all the Satterthwaite df needs)
        lead = (prior / variance) * sqrt_n * slope
        adjusted = symmetric_root_apply(theta, low_rank, np.column_stack([raw, lead[:, None] * z]))
        if adjusted is not None:

            def apply_root(v: np.ndarray, theta=theta, low_rank=low_rank) -> np.ndarray:
                return symmetric_root_apply(theta, low_rank, v[:, None])[:, 0]

            score = z.T @ (scale * adjusted[:, 0])
            return _Block(idx, score, apply_root, lead_z=adjusted[:, 1:])
    if len(idx) > MAX_DENSE_CELLS:
        raise DesignError(
            f"cluster {g} has {len(idx):,} distinct cells and a working-variance spectrum "
            "close to the cut-off where the symmetric CR2 root (as clubSandwich) sets "
            "eigenvalues to zero, which needs a dense eigendecomposition of that size. Bin "
            "continuous covariates so rows collapse, or use ClusterRobust(kind='CR2', "
            "root='whitened'), which is equally unbiased under the working model and scales "
            "to any size."
        )
    i_minus_k = np.eye(len(idx)) - low_rank @ low_rank.T
    if kind == "CR3":
        sqrt_d = np.sqrt(d)
        operator = _checked_inverse(i_minus_k, g)
        t = fit.r[idx] / sqrt_d
        return _Block(
            idx, z.T @ (sqrt_d * (operator @ t)), lambda v, op=operator: op.T @ v, whitened=True
        )
    root_theta = np.sqrt(theta)
    g_matrix = theta[:, None] * i_minus_k * theta[None, :]
    adjust = root_theta[:, None] * _pseudo_power(g_matrix, -0.5) * root_theta[None, :]
    return _Block(idx, z.T @ (scale * (adjust @ raw)), lambda v, op=adjust: op @ v)


def _weighted_block(fit, idx, z, n, omega, kind, g) -> _Block:
    """Analytic weights, working model of equal variances (clubSandwich for weighted lm)."""
    row_w = fit.sums["sum_w"][idx] / n
    sqrt_n = np.sqrt(n)
    raw = fit.sums["sum_wy"][idx] / row_w - n * fit.eta[idx]  # unweighted residual sums
    t = raw / sqrt_n
    left = sqrt_n[:, None] * z
    if kind in ("CR0", "CR1"):
        operator = None
    else:
        h = left @ fit.bread @ (z.T * (row_w * sqrt_n)[None, :])
        if kind == "CR3":
            operator = _checked_inverse(np.eye(len(idx)) - h, g)
        else:
            gram = np.eye(len(idx)) - h - h.T + left @ omega @ left.T
            operator = _pseudo_power((gram + gram.T) / 2, -0.5)
    adjusted = t if operator is None else operator @ t
    score = z.T @ (row_w * sqrt_n * adjusted)

    def apply_t(v: np.ndarray, op=operator) -> np.ndarray:
        return v if op is None else op.T @ v

    return _Block(idx, score, apply_t)


def _refuse_saturated(fit) -> None:
    """Raise if the fit leaves no residual: robust variances are then 0 / 0.

    Every residual of a saturated regression is zero, so a sandwich estimate is zero (CR0,
    CR2), undefined (HC1 and CR1 divide by ``n - k``) or driven by leverages of one (CR3).
    """
    if fit.n_obs > fit.k_total:
        return
    raise DesignError(
        f"the regression is saturated: {fit.k_total} coefficients for {fit.n_obs} "
        "observations, so no residual is left to estimate a variance from (two councils "
        "observed in two periods, say). Add councils or periods, or use a single-council "
        "design (synthetic_control, its)."
    )


@limited_blas
def variance(fit, inference: Inference, *, df_for: list[int] | None = None) -> VarianceResult:
    """Variance matrix and degrees of freedom of a cell fit under ``inference``.

    Parameters
    ----------
    fit : CellFit
        The fitted model (its ``cluster`` codes are the clusters used).
    inference : Classical or ClusterRobust
        The variance to compute.
    df_for : list of int, optional
        Coefficients whose Satterthwaite degrees of freedom are wanted (all by default; the
        others are NaN). Each costs a pass over the clusters.

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
    _refuse_saturated(fit)
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
        scores = fit.cluster_scores(fit.r)
    else:
        blocks = _blocks(fit, kind, inference.root)
        scores = np.array([b.score for b in blocks])
    meat = scores.T @ scores
    vcov = fit.bread @ meat @ fit.bread
    if kind == "CR1":
        n = fit.n_obs
        vcov *= n_clusters / (n_clusters - 1) * (n - 1) / (n - k_total)
    if inference.df_method == "G-1":
        dof = np.full(k, float(n_clusters - 1))
    else:
        wanted = range(k) if df_for is None else df_for
        dof = np.full(k, np.nan)
        for j in wanted:
            dof[j] = _satterthwaite(fit, blocks, np.eye(k)[j])
    df_label = "Satterthwaite" if inference.df_method == "satterthwaite" else "G-1"
    return VarianceResult(vcov, dof, inference.describe(), f"{kind}, {df_label} df")


def _satterthwaite(fit, blocks: list[_Block], c: np.ndarray) -> float:
    """Bell-McCaffrey degrees of freedom for the contrast ``c' beta`` (see the module notes)."""
    contrast = fit.bread @ c
    n_clusters = len(blocks)
    norms = np.empty(n_clusters)
    u = np.empty((fit.k, n_clusters))
    if getattr(fit, "weighted", False):
        rows = fit.sums["n"]
        row_w = fit.sums["sum_w"] / rows
        omega = _omega(fit)
        f = np.empty((fit.k, n_clusters))
        for g, block in enumerate(blocks):
            idx = block.idx
            sqrt_n = np.sqrt(rows[idx])
            eps = block.apply_t(sqrt_n * row_w[idx] * (fit.z[idx] @ contrast))
            norms[g] = eps @ eps
            u[:, g] = fit.z[idx].T @ (sqrt_n * eps)
            f[:, g] = fit.z[idx].T @ (row_w[idx] * sqrt_n * eps)
        cross = u.T @ fit.bread @ f
        gram = np.diag(norms) + u.T @ omega @ u - cross - cross.T
    else:
        sqrt_d = np.sqrt(fit.d)
        _, variance, slope, prior = fit.glm_terms()
        theta = variance / prior
        rows = fit.sums["n"]
        for g, block in enumerate(blocks):
            idx = block.idx
            if block.whitened:
                a = block.apply_t(sqrt_d[idx] * (fit.z[idx] @ contrast))
                norms[g] = a @ a
                u[:, g] = fit.z[idx].T @ (sqrt_d[idx] * a)
            else:
                sqrt_n = np.sqrt(rows[idx])
                lead = (prior[idx] / variance[idx]) * sqrt_n * slope[idx]
                if block.lead_z is not None:
                    eps = block.lead_z @ contrast
                else:
                    eps = block.apply_t(lead * (fit.z[idx] @ contrast))
                norms[g] = eps @ (theta[idx] * eps)
                u[:, g] = fit.z[idx].T @ (slope[idx] * sqrt_n * eps)
        gram = np.diag(norms) - u.T @ fit.bread @ u
    total = np.trace(gram)
    return float(total**2 / np.sum(gram**2))


@limited_blas
def contrast_df(fit, inference: Inference, c: np.ndarray) -> float:
    """Degrees of freedom for the linear contrast ``c' beta`` under ``inference``.

    Satterthwaite (as ``clubSandwich::linear_contrast``) for cluster-robust variances that use
    it, ``G - 1`` for those that do not, ``n - k`` (linear) or infinity (GLM) otherwise.
    """
    if isinstance(inference, ClusterRobust):
        if inference.df_method == "G-1":
            return float(fit.n_clusters - 1)
        return _satterthwaite(fit, _blocks(fit, inference.kind, inference.root), c)
    return float(fit.n_obs - fit.k_total) if fit.family == "gaussian" else float("inf")
