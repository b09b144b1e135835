"""Standard errors and bands from influence functions: analytic and multiplier bootstrap.

With ``n`` units and influence functions ``psi_i`` (one column per estimate), the analytic
variance of an estimate is ``sum_c (sum_{i in c} psi_i)^2 / n^2`` where ``c`` runs over
clusters (units by default), as in R ``did``.

The multiplier bootstrap (Callaway & Sant'Anna 2021, algorithm 1; R ``did``'s ``mboot``) draws
one Rademacher weight ``V_c`` (+1 or -1 with probability 1/2; R ``did`` uses Rademacher, not
Mammen, weights) per cluster and forms ``sum_c V_c psi_c / n``. The bootstrap standard error is
the interquartile range of the draws over ``qnorm(0.75) - qnorm(0.25)``, and the uniform (sup-t)
critical value is the ``conf_level`` quantile of ``max_j |draw_j| / se_j``, so that the band
``estimate +/- crit * se`` covers all estimates at once. Quantiles are R's type 1 (inverse of
the empirical distribution function), as in ``did``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from sfpc_eval.errors import DesignError

__all__ = [
    "Multipliers",
    "analytic_se",
    "bootstrap_se_crit",
    "cluster_sums",
    "draw_multipliers",
    "sup_t_analytic",
]

IQR_NORMAL = float(stats.norm.ppf(0.75) - stats.norm.ppf(0.25))


@dataclass(frozen=True, eq=False)
class Multipliers:
    """Rademacher weights, one row per draw and one column per cluster (+1.0 / -1.0, float32)."""

    weights: np.ndarray

    @property
    def draws(self) -> int:
        """Number of bootstrap draws."""
        return int(self.weights.shape[0])


def cluster_sums(influence: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum influence-function rows within clusters (``n_clusters x J``).

    Examples
    --------
    >>> cluster_sums(np.array([[1.0], [2.0], [4.0]]), np.array([0, 0, 1]), 2).ravel().tolist()
    [3.0, 4.0]
    """
    out = np.zeros((n_clusters, influence.shape[1]))
    np.add.at(out, codes, influence)
    return out


def analytic_se(influence: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """Analytic standard errors ``sqrt(sum_c S_c^2) / n`` for each column.

    Examples
    --------
    >>> analytic_se(np.array([[1.0], [-1.0]]), np.array([0, 1]), 2).tolist()
    [0.7071067811865476]
    """
    n = influence.shape[0]
    sums = influence if n_clusters == n else cluster_sums(influence, codes, n_clusters)
    return np.sqrt(np.einsum("ij,ij->j", sums, sums)) / n


def draw_multipliers(draws: int, n_clusters: int, rng: np.random.Generator) -> Multipliers:
    """Draw Rademacher multipliers (``draws x n_clusters``), one random bit each.

    Stored in single precision: the bootstrap products then run at twice the speed, and
    their rounding error (relative ~1e-7) is far below the Monte Carlo error of the
    bootstrap itself (a few per cent with 999 draws).

    Examples
    --------
    >>> m = draw_multipliers(4, 3, np.random.default_rng(0))
    >>> m.weights.shape, sorted(set(m.weights.ravel().tolist())) <= [-1.0, 1.0]
    ((4, 3), True)
    """
    size = draws * n_clusters
    bits = np.unpackbits(np.frombuffer(rng.bytes((size + 7) // 8), dtype=np.uint8))[:size]
    weights = bits.reshape(draws, n_clusters).astype(np.float32)
    weights *= 2.0
    weights -= 1.0
    return Multipliers(weights)


def bootstrap_se_crit(
    influence: np.ndarray,
    codes: np.ndarray,
    n_clusters: int,
    multipliers: Multipliers,
    conf_level: float,
    band: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Bootstrap standard errors of each column and the sup-t critical value.

    Parameters
    ----------
    influence : numpy.ndarray
        ``n_units x J`` influence functions.
    codes : numpy.ndarray
        Cluster code (0 .. n_clusters - 1) of each unit.
    n_clusters : int
        Number of clusters.
    multipliers : Multipliers
        Drawn once per fit, so every aggregation uses the same draws.
    conf_level : float
        Coverage of the uniform band.
    band : numpy.ndarray of bool, optional
        The columns the uniform band covers (default all).

    Returns
    -------
    se : numpy.ndarray
        Bootstrap standard errors (length J).
    crit : float
        Critical value of the uniform band over the J estimates.

    Raises
    ------
    DesignError
        If a standard error is zero (an estimate that does not vary across draws).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> psi = rng.normal(size=(400, 2))
    >>> m = draw_multipliers(999, 400, np.random.default_rng(1))
    >>> se, crit = bootstrap_se_crit(psi, np.arange(400), 400, m, 0.95)
    >>> bool(np.all(np.abs(se / analytic_se(psi, np.arange(400), 400) - 1) < 0.15))
    True
    >>> bool(1.96 < crit < 2.5)
    True
    """
    n = influence.shape[0]
    sums = influence if n_clusters == n else cluster_sums(influence, codes, n_clusters)
    deviations = (multipliers.weights @ sums.astype(np.float32)).astype(np.float64) / n
    q75 = np.quantile(deviations, 0.75, axis=0, method="inverted_cdf")
    q25 = np.quantile(deviations, 0.25, axis=0, method="inverted_cdf")
    se = (q75 - q25) / IQR_NORMAL
    if np.any(se <= 0):
        raise DesignError(
            "The multiplier bootstrap gives a zero standard error for some estimates (their "
            "influence functions barely vary across draws: too few clusters or draws). Use "
            "more bootstrap draws, or analytic standard errors (bootstrap=None)."
        )
    cols = slice(None) if band is None else band
    if not np.any(np.ones(len(se), dtype=bool)[cols]):
        return se, float("nan")
    sup_t = np.max(np.abs(deviations[:, cols] / se[cols]), axis=1)
    crit = float(np.quantile(sup_t, conf_level, method="inverted_cdf"))
    return se, crit


def sup_t_analytic(
    influence: np.ndarray,
    se: np.ndarray,
    codes: np.ndarray,
    n_clusters: int,
    multipliers: Multipliers,
    conf_level: float,
) -> float:
    """Uniform-band critical value for analytic standard errors.

    The ``conf_level`` quantile (R's type 1) of ``max_j |draw_j| / se_j`` over the multiplier
    draws, with ``se`` the analytic standard errors: the band ``estimate +/- crit * se`` then
    covers every estimate at once. Estimates with a zero standard error are left out.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> psi = rng.normal(size=(400, 3))
    >>> se = analytic_se(psi, np.arange(400), 400)
    >>> m = draw_multipliers(999, 400, np.random.default_rng(1))
    >>> bool(2.0 < sup_t_analytic(psi, se, np.arange(400), 400, m, 0.95) < 2.6)
    True
    """
    n = influence.shape[0]
    keep = se > 0
    if not keep.any():
        return float("nan")
    sums = influence if n_clusters == n else cluster_sums(influence, codes, n_clusters)
    deviations = (multipliers.weights @ sums[:, keep].astype(np.float32)).astype(np.float64) / n
    sup_t = np.max(np.abs(deviations / se[keep]), axis=1)
    return float(np.quantile(sup_t, conf_level, method="inverted_cdf"))
