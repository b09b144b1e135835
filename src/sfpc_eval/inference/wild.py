r"""Wild cluster bootstrap (restricted, percentile-t) for linear models fitted on cells.

The null :math:`\beta_j = \beta_0` is imposed: the restricted model is fitted, and bootstrap
outcomes are :math:`y^*_i = \hat\eta^{r}_i + v_g \hat e^{r}_i` with one weight :math:`v_g` per
cluster. Everything the CR1 t statistic needs is linear in :math:`v`, so for ``B`` draws the work
is a few ``B x G`` matrix products (Roodman, MacKinnon, Nielsen and Webb, 2019, give the same
algebra at row level): with :math:`\Delta_h = M Z_h' r^{r}_h` (the effect of cluster ``h``'s
weight on the coefficients) the bootstrap coefficient is
:math:`\beta^*_j = \beta_0 + \sum_h v_h \Delta_{jh}` and cluster ``g``'s score contribution to it
is :math:`v_g a_g - b_g' v` with :math:`a_g = m_j' Z_g' r^r_g` and
:math:`b_g = \Delta' Z_g' D_g Z_g m_j`.

With ``bootcluster`` the weights are drawn per subcluster ``h`` (for a council panel, one per
council-year) while the t statistic stays clustered by ``g``: the subcluster wild bootstrap of
MacKinnon and Webb (2018), which keeps its size with very few (treated) clusters where drawing one
weight per cluster over-rejects. Then :math:`\beta^*_j - \beta_0 = \sum_h v_h \Delta_{jh}` and
cluster ``g``'s score contribution is :math:`\sum_h v_h (A_{hg} - b_{hg})` with
:math:`A_{hg} = m_j' Z_{h \cap g}' r^r_{h \cap g}` and :math:`b_{hg} = \Delta_h' Z_g' D_g Z_g m_j`;
with ``h = g`` this is the formula above.

With Rademacher weights and :math:`2^H` (``H`` weights per draw) at most ``max_enumeration``,
every sign vector is used and the p-value is exact and deterministic. Confidence intervals
invert the test: the bounds are the values of :math:`\beta_0` at which the p-value crosses
:math:`1 - \text{level}`, found by bisection with the same draws at every :math:`\beta_0`.

References: Roodman, D., MacKinnon, J. G., Nielsen, M. Ø. and Webb, M. D. (2019). Fast and wild:
bootstrap inference in Stata using boottest. The Stata Journal 19(1), 4-60. MacKinnon, J. G. and
Webb, M. D. (2018). The wild bootstrap for few (treated) clusters. The Econometrics Journal 21(2),
114-135.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import linalg, sparse

from sfpc_eval._validate import check_resamples, check_seed
from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.inference._invert import invert_test, tie_broken_p_value

__all__ = [
    "WildClusterBootstrap",
    "draw_weights",
    "refuse_bootcluster",
    "studentized_draws",
    "wild_cluster_bootstrap",
]

WEIGHTS = ("rademacher", "webb", "mammen")


@dataclass(frozen=True)
class WildClusterBootstrap:
    """Restricted wild cluster bootstrap with a CR1 percentile-t statistic.

    Parameters
    ----------
    cluster : str, optional
        Cluster column; defaults to the estimator's ``unit``.
    weights : {"rademacher", "webb", "mammen"}, default "rademacher"
        Distribution of the cluster weights. Webb's six-point weights suit fewer than about
        12 clusters when enumeration is not used.
    n_resamples : int, default 9999
        Draws when not enumerating.
    max_enumeration : int, default 4096
        With Rademacher weights and ``2**H <= max_enumeration`` (``H`` clusters, or
        subclusters with ``bootcluster``), enumerate all sign vectors (exact, deterministic
        p-value) instead of sampling.
    rng : int, optional
        Seed.
    bootcluster : str or sequence of str, optional
        Draw one weight per level of these columns (for a council panel, ``(unit, time)``: one
        per council-year) instead of one per cluster; the t statistic stays clustered by
        ``cluster``. This is MacKinnon and Webb's (2018) subcluster wild bootstrap, for very
        few clusters or few treated clusters, where one weight per cluster over-rejects (see
        the coverage table in the docs). The columns must be among the estimator's unit, time,
        cluster, treatment and covariate columns, and each subcluster must lie within one
        cluster.

    Examples
    --------
    >>> WildClusterBootstrap(weights="webb", rng=1).describe()
    'wild cluster bootstrap (webb weights, null imposed, CR1 percentile-t)'
    >>> subclusters = WildClusterBootstrap(bootcluster=("la", "year"))
    >>> subclusters.describe()  # doctest: +NORMALIZE_WHITESPACE
    'wild cluster bootstrap (rademacher weights by la x year subclusters, null imposed,
    CR1 percentile-t)'
    """

    cluster: str | None = None
    weights: Literal["rademacher", "webb", "mammen"] = "rademacher"
    n_resamples: int = 9_999
    max_enumeration: int = 4_096
    rng: int | None = None
    bootcluster: str | tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.weights not in WEIGHTS:
            raise InvalidValueError(
                f"`weights` must be one of {', '.join(WEIGHTS)}; got {self.weights!r}."
            )
        check_resamples(self.n_resamples)
        check_resamples(self.max_enumeration, "max_enumeration", minimum=0)
        check_seed(self.rng)
        if self.bootcluster is not None:
            columns = _column_tuple(self.bootcluster)
            object.__setattr__(self, "bootcluster", columns)

    @property
    def bootcluster_columns(self) -> tuple[str, ...]:
        """The subcluster columns, or an empty tuple when weights are drawn per cluster."""
        return () if self.bootcluster is None else tuple(self.bootcluster)

    def describe(self) -> str:
        """One line for a methods section."""
        by = ""
        if self.bootcluster_columns:
            by = f" by {' x '.join(self.bootcluster_columns)} subclusters"
        return (
            f"wild cluster bootstrap ({self.weights} weights{by}, null imposed, CR1 percentile-t)"
        )


def _column_tuple(value: object) -> tuple[str, ...]:
    """Normalise ``bootcluster`` to a non-empty tuple of column names."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and value and all(isinstance(c, str) for c in value):
        return tuple(value)
    raise InvalidValueError(
        "`bootcluster` must be a column name or a sequence of column names, e.g. "
        f"bootcluster=('la', 'year'); got {value!r}."
    )


def refuse_bootcluster(spec: WildClusterBootstrap, where: str) -> None:
    """Raise when a subcluster bootstrap reaches code that draws one weight per cluster."""
    if spec.bootcluster is not None:
        raise InvalidValueError(
            f"WildClusterBootstrap(bootcluster=...) is available in did(); {where} draws one "
            "weight per cluster. Drop `bootcluster` here, or fit with did()."
        )


@dataclass(frozen=True)
class BootstrapOutcome:
    """p-value and test-inversion interval of one coefficient."""

    statistic: float
    p_value: float
    conf_low: float
    conf_high: float
    draws: int
    enumerated: bool


def draw_weights(spec: WildClusterBootstrap, n_clusters: int) -> tuple[np.ndarray, bool]:
    """Return a ``B x G`` matrix of cluster weights and whether it enumerates every sign vector."""
    if spec.weights == "rademacher" and 2**n_clusters <= spec.max_enumeration:
        signs = np.array(list(itertools.product((-1.0, 1.0), repeat=n_clusters)))
        return signs, True
    rng = np.random.default_rng(spec.rng)
    shape = (spec.n_resamples, n_clusters)
    if spec.weights == "rademacher":
        return rng.choice((-1.0, 1.0), size=shape), False
    if spec.weights == "webb":
        values = np.array(
            [-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)]
        )
        return rng.choice(values, size=shape), False
    root5 = math.sqrt(5)
    low, high = -(root5 - 1) / 2, (root5 + 1) / 2
    p_low = (root5 + 1) / (2 * root5)
    return np.where(rng.random(shape) < p_low, low, high), False


class _Restricted:
    """Pieces of the bootstrap that do not depend on the imposed value beta_0.

    ``boot_codes`` gives each cell's weight (subcluster) index; by default its cluster.
    """

    def __init__(self, fit, j: int, boot_codes: np.ndarray | None = None):
        self.fit = fit
        self.j = j
        keep = [i for i in range(fit.k) if i != j]
        self.z_r = fit.z[:, keep]
        sums = fit.sums
        self.sw = sums["sum_w"]
        self.swy = sums["sum_wy"]
        info_r = self.z_r.T @ (self.sw[:, None] * self.z_r)
        self.chol_r = linalg.cho_factor(info_r)
        n_cells = len(fit.cluster)
        boot = fit.cluster if boot_codes is None else np.asarray(boot_codes)
        self.n_boot = int(boot.max()) + 1
        cells = np.arange(n_cells)
        # sums cells into subclusters
        self.to_boot = sparse.csr_matrix(
            (np.ones(n_cells), (boot, cells)), shape=(self.n_boot, n_cells)
        )
        self.boot, self.clusters = boot, fit.cluster
        m_j = fit.bread[:, j]
        self.m_j = m_j
        self.zm = fit.z @ m_j
        # H_g m_j for each cluster (k x G), independent of beta_0
        to_cluster = sparse.csr_matrix(
            (np.ones(n_cells), (fit.cluster, cells)), shape=(fit.n_clusters, n_cells)
        )
        self.h_m = np.asarray(to_cluster @ (fit.z * (self.sw * self.zm)[:, None])).T

    def cluster_pieces(self, beta0: float) -> tuple[np.ndarray, np.ndarray]:
        """Return the ``H x G`` matrix ``A - b`` and ``Delta_j`` (H,) for beta_0."""
        fit, j = self.fit, self.j
        target = self.swy - beta0 * fit.z[:, j] * self.sw
        gamma = linalg.cho_solve(self.chol_r, self.z_r.T @ target)
        eta_r = self.z_r @ gamma + beta0 * fit.z[:, j]
        resid = self.swy - eta_r * self.sw  # restricted residual sums per cell
        delta = fit.bread @ np.asarray(self.to_boot @ (fit.z * resid[:, None])).T  # k x H
        a = sparse.coo_matrix(
            (self.zm * resid, (self.boot, self.clusters)), shape=(self.n_boot, fit.n_clusters)
        ).toarray()
        return a - delta.T @ self.h_m, delta[j]


def _t_stats(coef: np.ndarray, contributions: np.ndarray, factor: float) -> np.ndarray:
    """Bootstrap t statistics from the draws' coefficients (B,) and cluster scores (B x G)."""
    se = np.sqrt(factor * np.sum(contributions**2, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return coef / se


def _setup(fit, j: int, boot_codes: np.ndarray | None = None) -> tuple[_Restricted, float, float]:
    """Restricted-fit pieces, the CR1 factor, and the CR1 standard error of coefficient j."""
    n_clusters, n = fit.n_clusters, fit.n_obs
    factor = n_clusters / (n_clusters - 1) * (n - 1) / (n - fit.k)
    restricted = _Restricted(fit, j, boot_codes)
    scores = fit.cluster_totals(restricted.zm * fit.r)
    se_hat = math.sqrt(factor * np.sum(scores**2))
    return restricted, factor, se_hat


def studentized_draws(fit, j: int, weights: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the observed CR1 t statistic of coefficient ``j`` and its bootstrap draws.

    The draws are centred on the estimate (the restricted bootstrap with the null set at the
    estimate is the unrestricted one), for the given ``B x G`` cluster weights.
    """
    if fit.family != "gaussian":
        raise DesignError("bootstrap t statistics are for linear (gaussian) models.")
    restricted, factor, se_hat = _setup(fit, j)
    c, delta_j = restricted.cluster_pieces(fit.beta[j])
    return fit.beta[j] / se_hat, _t_stats(weights @ delta_j, weights @ c, factor)


def wild_cluster_bootstrap(
    fit, j: int, spec: WildClusterBootstrap, level: float, boot_codes: np.ndarray | None = None
) -> BootstrapOutcome:
    """Bootstrap p-value and interval for coefficient ``j`` of a Gaussian cell fit.

    ``boot_codes`` (0..H-1 per cell) are the subclusters when ``spec.bootcluster`` is set.

    Raises
    ------
    DesignError
        The model is not linear (use randomization inference for GLMs), or fewer than 2
        clusters.
    """
    if fit.family != "gaussian":
        raise DesignError(
            "the wild cluster bootstrap here is for linear (gaussian) models; for Poisson or "
            "logit outcomes use Randomization() or ClusterRobust(kind='CR2')."
        )
    n_clusters = fit.n_clusters
    if n_clusters < 2:
        raise DesignError("the wild cluster bootstrap needs at least 2 clusters.")
    if spec.bootcluster is not None and boot_codes is None:  # pragma: no cover - callers check
        raise DesignError("a subcluster bootstrap needs each cell's subcluster.")
    restricted, factor, se_hat = _setup(fit, j, boot_codes)
    v, enumerated = draw_weights(spec, restricted.n_boot)
    beta_hat = fit.beta[j]

    # the restricted residuals, hence every piece, are affine in beta_0: two evaluations give
    # the draws' coefficients and score contributions at any beta_0 in O(B G)
    c0, d0 = restricted.cluster_pieces(0.0)
    c1, d1 = restricted.cluster_pieces(1.0)
    coef0, coef1 = v @ d0, v @ (d1 - d0)
    contrib0, contrib1 = v @ c0, v @ (c1 - c0)

    def p_value(beta0: float) -> float:
        t_star = _t_stats(coef0 + beta0 * coef1, contrib0 + beta0 * contrib1, factor)
        return tie_broken_p_value(t_star, (beta_hat - beta0) / se_hat, 1.0)

    p0 = p_value(0.0)
    alpha = 1 - level
    low = invert_test(p_value, beta_hat, -se_hat, alpha)
    high = invert_test(p_value, beta_hat, se_hat, alpha)
    return BootstrapOutcome(beta_hat / se_hat, p0, low, high, len(v), enumerated)
