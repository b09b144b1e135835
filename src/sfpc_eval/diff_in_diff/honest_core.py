"""HonestDiD on plain arrays: robust intervals over a grid of M, and the breakdown value.

The numerical core of :func:`sfpc_eval.honest_did`, working on event-study coefficients
``betahat`` (pre-periods first, the reference period excluded), their covariance ``sigma``,
the number of pre-period coefficients and the target weights ``l_vec``.

Methods follow R HonestDiD 0.2.8's defaults: the optimal FLCI for smoothness bounds
(Delta^SD(M), ``createSensitivityResults``) and the conditional test with a least-favourable
first stage ("C-LF", ``createSensitivityResults_relativeMagnitudes``) for relative-magnitude
bounds (Delta^RM(Mbar)). Where R inverts the test on a fixed grid of 1,000 points on
``[-20 sd, 20 sd]`` around zero, this module starts from a grid around the estimate, widens
it while its ends are accepted, and refines each end point by bisection, so the end points are
exact to about ``1e-12 sd`` rather than one grid step, and an interval is never cut off by the
grid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sfpc_eval.diff_in_diff.honest_arp import rm_polyhedra
from sfpc_eval.diff_in_diff.honest_flci import flci
from sfpc_eval.errors import DesignError, InvalidValueError

__all__ = [
    "RESTRICTIONS",
    "RobustInterval",
    "breakdown_value",
    "default_m_values",
    "original_interval",
    "robust_interval",
]

RESTRICTIONS = ("relative_magnitude", "smoothness")
GRID_POINTS = 1001
MAX_WIDENINGS = 8


@dataclass(frozen=True)
class RobustInterval:
    """One robust interval: ``[conf_low, conf_high]`` at bound ``m``."""

    m: float
    conf_low: float
    conf_high: float
    method: str

    def excludes_zero(self) -> bool:
        """Whether zero lies outside the interval."""
        return bool(self.conf_low > 0 or self.conf_high < 0)


def check_inputs(
    betahat: np.ndarray, sigma: np.ndarray, n_pre: int, l_vec: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check shapes, finiteness and symmetry of the arrays; return float copies."""
    betahat = np.asarray(betahat, dtype=float).reshape(-1)
    sigma = np.asarray(sigma, dtype=float)
    l_vec = np.asarray(l_vec, dtype=float).reshape(-1)
    k = len(betahat)
    if sigma.shape != (k, k):
        raise InvalidValueError(
            f"`sigma` must be {k} x {k} to match {k} coefficients; got shape {sigma.shape}."
        )
    if n_pre < 1:
        raise DesignError(
            "HonestDiD needs at least one pre-period coefficient besides the reference period; "
            f"got {n_pre}. Estimate the event study with leads (a window starting at -2 or "
            "earlier)."
        )
    n_post = k - n_pre
    if n_post < 1:
        raise DesignError(
            f"HonestDiD needs at least one post-period coefficient; all {k} are pre-periods."
        )
    if len(l_vec) != n_post:
        raise InvalidValueError(
            f"`weights` must have one entry per post-period coefficient ({n_post}); got "
            f"{len(l_vec)}."
        )
    bad = [
        name
        for name, arr in (("betahat", betahat), ("sigma", sigma), ("weights", l_vec))
        if not np.all(np.isfinite(arr))
    ]
    if bad:
        raise InvalidValueError(f"{', '.join(bad)} contain NaN or infinite values.")
    if not np.allclose(sigma, sigma.T, rtol=1e-8, atol=1e-14 * np.abs(sigma).max()):
        raise InvalidValueError("`sigma` is not symmetric.")
    if np.abs(l_vec).sum() == 0:
        raise InvalidValueError("`weights` are all zero: there is no effect to bound.")
    return betahat, 0.5 * (sigma + sigma.T), l_vec


def original_interval(
    betahat: np.ndarray, sigma: np.ndarray, n_pre: int, l_vec: np.ndarray, alpha: float
) -> tuple[float, float, float, float]:
    """Return ``(estimate, std_error, conf_low, conf_high)`` of ``l' beta_post``.

    Under parallel trends, with a normal critical value (R's ``constructOriginalCS``).
    """
    est = float(l_vec @ betahat[n_pre:])
    se = float(np.sqrt(l_vec @ sigma[n_pre:, n_pre:] @ l_vec))
    z = float(stats.norm.ppf(1 - alpha / 2))
    return est, se, est - z * se, est + z * se


def default_m_values(
    restriction: str, betahat: np.ndarray, sigma: np.ndarray, n_pre: int, alpha: float
) -> np.ndarray:
    """Return R's default grid of bounds.

    Mbar in 10 steps on [0, 2]; M in 10 steps from 0 to the largest one-sided ``1 - alpha``
    upper bound of the pre-period second differences (with one pre-period coefficient, to its
    standard error).
    """
    if restriction == "relative_magnitude":
        return np.linspace(0.0, 2.0, 10)
    if n_pre == 1:
        return np.linspace(0.0, float(np.sqrt(sigma[0, 0])), 10)
    # second differences of (beta_{-K}, ..., beta_{-1}, 0)
    rows = np.zeros((n_pre - 1, n_pre + 1))
    for r in range(n_pre - 1):
        rows[r, r : r + 3] = (1.0, -2.0, 1.0)
    rows = rows[:, :n_pre]
    diffs = rows @ betahat[:n_pre]
    se = np.sqrt(np.diag(rows @ sigma[:n_pre, :n_pre] @ rows.T))
    z = float(stats.norm.ppf(1 - alpha))
    upper = float(np.max(np.concatenate([diffs + z * se, -diffs + z * se])))
    return np.linspace(0.0, upper, 10)


def _invert(
    accept: Callable[[np.ndarray], np.ndarray], center: float, scale: float
) -> tuple[float, float]:
    """Return the hull of the accepted set.

    A grid around ``center``, widened while its ends are accepted, then each end point refined
    by bisection (infinite if still accepted after the last widening; NaN when no grid point is
    accepted).
    """
    half = 20.0 * scale
    for _ in range(MAX_WIDENINGS):
        grid = np.linspace(center - half, center + half, GRID_POINTS)
        acc = accept(grid)
        if not acc.any():
            # a set narrower than the grid step: look again, 100 times finer, near the centre
            fine = np.linspace(center - half / 100, center + half / 100, GRID_POINTS)
            acc_fine = accept(fine)
            if not acc_fine.any():
                return np.nan, np.nan
            first, last = np.flatnonzero(acc_fine)[[0, -1]]
            if first == 0 or last == len(fine) - 1:
                return np.nan, np.nan
            return (
                _bisect(accept, fine[first - 1], fine[first]),
                _bisect(accept, fine[last + 1], fine[last]),
            )
        if not (acc[0] or acc[-1]):
            break
        half *= 4.0
    first, last = np.flatnonzero(acc)[[0, -1]]
    low = -np.inf if acc[0] else _bisect(accept, grid[first - 1], grid[first])
    high = np.inf if acc[-1] else _bisect(accept, grid[last + 1], grid[last])
    return low, high


def _bisect(accept: Callable[[np.ndarray], np.ndarray], rejected: float, accepted: float) -> float:
    """Boundary between a rejected and an accepted value, to 64**-6 (~1e-11) of their distance.

    Each round tests 63 points between them at once and keeps the outermost accepted one (the
    hull of the accepted set, as R reports) with its rejected neighbour.
    """
    for _ in range(6):
        points = np.linspace(rejected, accepted, 65)
        acc = accept(points)
        acc[-1] = True
        k = int(np.flatnonzero(acc)[0])
        if k == 0:  # cannot happen (points[0] was rejected); stay safe
            return float(points[0])
        rejected, accepted = float(points[k - 1]), float(points[k])
    return accepted


def robust_interval(
    betahat: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_vec: np.ndarray,
    restriction: str,
    m: float,
    alpha: float = 0.05,
    *,
    method: str | None = None,
    lf_draws: int = 10_000,
    seed: int = 0,
) -> RobustInterval:
    """Robust interval for ``l' tau_post`` at one bound ``m`` (M or Mbar).

    ``method`` defaults to R's: ``"FLCI"`` for ``"smoothness"``, ``"C-LF"`` for
    ``"relative_magnitude"`` (``"conditional"`` drops the least-favourable first stage).
    """
    if restriction == "smoothness":
        method = method or "FLCI"
        if method != "FLCI":
            raise InvalidValueError(
                f"smoothness bounds use method='FLCI' (R's default); got {method!r}."
            )
        res = flci(betahat, sigma, n_pre, l_vec, m, alpha)
        return RobustInterval(m, res.conf_low, res.conf_high, "FLCI")
    method = method or "C-LF"
    if method not in ("C-LF", "conditional"):
        raise InvalidValueError(
            f"relative-magnitude bounds use method 'C-LF' (R's default) or 'conditional'; "
            f"got {method!r}."
        )
    kappa = alpha / 10.0
    polys = rm_polyhedra(betahat, sigma, n_pre, l_vec, m)
    n_post = len(l_vec)
    if method == "C-LF":
        cvs = [p.lf_critical_value(kappa, lf_draws, seed) for p in polys]
    else:
        cvs = [None] * len(polys)

    def accept(theta: np.ndarray) -> np.ndarray:
        out = np.zeros(len(theta), dtype=bool)
        for poly, cv in zip(polys, cvs, strict=True):
            out |= poly.accepts(theta, alpha, lf_cv=cv, cap_at_lf=n_post > 1, kappa=kappa)
        return out

    est, se, _, _ = original_interval(betahat, sigma, n_pre, l_vec, alpha)
    low, high = _invert(accept, est, se)
    return RobustInterval(m, low, high, method)


def sensitivity(
    betahat: np.ndarray,
    sigma: np.ndarray,
    n_pre: int,
    l_vec: np.ndarray,
    restriction: str,
    m_values: Sequence[float],
    alpha: float = 0.05,
    **kwargs: object,
) -> list[RobustInterval]:
    """:func:`robust_interval` at each bound in ``m_values``."""
    return [
        robust_interval(betahat, sigma, n_pre, l_vec, restriction, float(m), alpha, **kwargs)
        for m in m_values
    ]


def breakdown_value(
    interval_at: Callable[[float], RobustInterval],
    start: float,
    *,
    rel_tol: float = 1e-4,
    max_doublings: int = 12,
) -> float:
    """Largest bound M (or Mbar) at which the robust interval still excludes zero.

    Zero when the interval at M = 0 already contains zero; ``inf`` when it still excludes
    zero after ``start`` has been doubled ``max_doublings`` times. Found by bisection to a
    bracket of ``rel_tol`` times its upper end, assuming (as holds for these intervals in
    practice) that an interval that contains zero at M also does at every larger M.
    """
    if not interval_at(0.0).excludes_zero():
        return 0.0
    hi = start
    for _ in range(max_doublings):
        if not interval_at(hi).excludes_zero():
            break
        hi *= 2.0
    else:
        return np.inf
    lo = 0.0
    while hi - lo > rel_tol * hi:
        mid = 0.5 * (lo + hi)
        if interval_at(mid).excludes_zero():
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
