"""Permutation tests and test inversion of conformal inference, for any counterfactual "proxy".

Chernozhukov, Wuthrich and Zhu (2021), JASA 116: 1849-1864.
A proxy takes the treated council's outcomes ``y1`` and the donors' ``y0`` over some periods,
fits on ALL of them (so that permuting periods permutes the fit: the proxy is symmetric in time)
and returns the residuals ``y1 - fitted``. Under a sharp null that the effect in the post
periods is ``theta``, the treated outcomes minus ``theta`` are what it would have had without
the programme; if the errors are exchangeable over time, the residuals of the refit are too, and
a permutation p-value is exact.

- :func:`sharp_null_p_value`: the null ``theta_t = theta`` in every post period; statistic the
  sum of absolute post-period residuals; permutations the T cyclic shifts (moving blocks);
- :func:`invert_slot`: the interval for the effect in ONE slot of a series (a post period with
  the pre-periods, or the post block of a block-averaged series): the set of ``theta`` whose
  p-value (the share of slots with an absolute residual at least the slot's) exceeds
  ``1 - conf_level``. It is found by expanding from the point estimate until rejected, a grid
  between the rejections, and bisection at both edges; the hull of the accepted set is reported
  (and whether it has holes);
- :func:`block_average`: the panel collapsed into non-overlapping blocks of T* periods (the
  earliest ``T0 mod T*`` pre-periods dropped), for the average effect (CWZ appendix A.1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sfpc_eval.errors import TooFewPeriodsError
from sfpc_eval.single_unit._weights import simplex_weights

__all__ = [
    "Inversion",
    "block_average",
    "check_periods",
    "invert_slot",
    "minimum_pre_periods",
    "sc_residuals",
    "sharp_null_p_value",
]

Proxy = Callable[[np.ndarray, np.ndarray], np.ndarray]
_TIES = 1e-10
GRID_POINTS = 48
EXPANSIONS = 60


def sc_residuals(y1: np.ndarray, y0: np.ndarray) -> np.ndarray:
    """Residuals of the synthetic control fitted on every row (simplex, no intercept, no V)."""
    return y1 - y0 @ simplex_weights(y0, y1, np.ones(len(y1)))


def _at_least(values: np.ndarray, observed: float) -> int:
    """How many ``values`` are at least ``observed`` (ties within rounding count)."""
    return int(np.sum(values >= observed - _TIES * max(abs(observed), 1e-300)))


def sharp_null_p_value(
    proxy: Proxy, y1: np.ndarray, y0: np.ndarray, post: np.ndarray, effect: float | np.ndarray
) -> float:
    """Moving-block p-value of the null that the effect is ``effect`` in every post period.

    Parameters
    ----------
    proxy : callable
        ``(y1, y0) -> residuals`` fitted on every row.
    y1, y0 : numpy.ndarray
        Treated outcomes (T) and donors (T x J), in time order.
    post : numpy.ndarray
        Boolean, True in the post periods (the last ones).
    effect : float or numpy.ndarray
        The effect under the null (one value, or one per post period).

    Returns
    -------
    float
        Share of the T cyclic shifts whose sum of absolute post-period residuals is at least
        the observed one (the observed series is one of them, so at least ``1 / T``).
    """
    under_null = y1.astype(float).copy()
    under_null[post] = under_null[post] - effect
    residuals = np.abs(proxy(under_null, y0))
    n = len(residuals)
    shifted = residuals[(np.arange(n)[None, :] + np.arange(n)[:, None]) % n]
    statistics = shifted[:, post].sum(axis=1)
    return _at_least(statistics, float(residuals[post].sum())) / n


def _slot_p_value(proxy: Proxy, y1: np.ndarray, y0: np.ndarray, slot: int, theta: float) -> float:
    under_null = y1.astype(float).copy()
    under_null[slot] -= theta
    residuals = np.abs(proxy(under_null, y0))
    return _at_least(residuals, float(residuals[slot])) / len(residuals)


@dataclass(frozen=True)
class Inversion:
    """A conformal interval for one slot.

    Attributes
    ----------
    low, high : float
        The hull of the accepted effects (``-inf``/``inf`` when no effect that far out is
        rejected; NaN when every effect tried is rejected).
    contiguous : bool
        False when a rejected effect lies inside the hull.
    p_zero : float
        p-value of no effect in this slot.
    """

    low: float
    high: float
    contiguous: bool
    p_zero: float


def _edge(
    p_value: Callable[[float], float], alpha: float, inside: float, outside: float, tol: float
) -> float:
    """Bisection between an accepted and a rejected effect: the last accepted one."""
    while abs(outside - inside) > tol:
        middle = 0.5 * (inside + outside)
        if p_value(middle) > alpha:
            inside = middle
        else:
            outside = middle
    return inside


def invert_slot(
    proxy: Proxy,
    y1: np.ndarray,
    y0: np.ndarray,
    slot: int,
    alpha: float,
    center: float,
    scale: float,
) -> Inversion:
    """Find the effects ``theta`` in ``slot`` whose conformal p-value is above ``alpha``.

    Parameters
    ----------
    proxy : callable
        ``(y1, y0) -> residuals`` fitted on every row.
    y1, y0 : numpy.ndarray
        The series: ``y1`` treated (rows: periods or blocks), ``y0`` donors.
    slot : int
        Row of the effect.
    alpha : float
        ``1 - conf_level``.
    center : float
        Where to start (the point estimate).
    scale : float
        A typical size of the residuals (sets the first step and the precision, 1e-7 of it).

    Returns
    -------
    Inversion
    """

    def p_value(theta: float) -> float:
        return _slot_p_value(proxy, y1, y0, slot, theta)

    # p-values are multiples of 1 / slots: 1 - 0.9 is 0.0999...98 in floating point, and a
    # p-value of exactly 0.1 must still count as rejected at 90%
    alpha = alpha + 1e-9
    step = max(float(scale), 1e-8 * (abs(center) + 1.0))
    tol = 1e-7 * step
    rejected = []
    for side in (-1.0, 1.0):
        found = math.inf * side
        for k in range(EXPANSIONS):
            theta = center + side * step * 2.0**k
            if p_value(theta) <= alpha:
                found = theta
                break
        rejected.append(found)
    lo_rej, hi_rej = rejected
    finite_lo = lo_rej if math.isfinite(lo_rej) else center - step * 2.0 ** (EXPANSIONS - 1)
    finite_hi = hi_rej if math.isfinite(hi_rej) else center + step * 2.0 ** (EXPANSIONS - 1)
    grid = np.unique(np.append(np.linspace(finite_lo, finite_hi, GRID_POINTS), center))
    accepted = np.array([p_value(float(t)) > alpha for t in grid])
    if not accepted.any():
        return Inversion(math.nan, math.nan, True, p_value(0.0))
    first, last = np.flatnonzero(accepted)[[0, -1]]
    contiguous = bool(accepted[first : last + 1].all())
    if first == 0 and not math.isfinite(lo_rej):
        low = -math.inf
    else:
        low = _edge(p_value, alpha, float(grid[first]), float(grid[first - 1]), tol)
    if last == len(grid) - 1 and not math.isfinite(hi_rej):
        high = math.inf
    else:
        high = _edge(p_value, alpha, float(grid[last]), float(grid[last + 1]), tol)
    return Inversion(low, high, contiguous, p_value(0.0))


def block_average(y: np.ndarray, n_pre: int) -> tuple[np.ndarray, int]:
    """Rows averaged over blocks as long as the post-period; the post block is the last row.

    The earliest ``n_pre mod n_post`` pre-periods are dropped so the blocks tile the
    pre-period; returns the block means and how many periods were dropped.
    """
    n_post = y.shape[0] - n_pre
    dropped = n_pre % n_post
    blocks = (n_pre - dropped) // n_post
    pre = y[dropped:n_pre].reshape(blocks, n_post, *y.shape[1:]).mean(axis=1)
    return np.concatenate([pre, y[n_pre:].mean(axis=0, keepdims=True)]), dropped


def minimum_pre_periods(alpha: float, n_post: int) -> tuple[int, int]:
    """Fewest pre-periods for a per-period interval, and for the average of ``n_post`` periods.

    A slot's p-value is at least 1 / (number of slots), so an effect can be rejected at
    ``alpha`` only with at least ``ceil(1 / alpha)`` slots: ``T0 + 1`` for one period,
    ``floor(T0 / T*) + 1`` blocks for the average.

    Examples
    --------
    >>> minimum_pre_periods(0.05, 5), minimum_pre_periods(0.2, 5)
    ((19, 95), (4, 20))
    """
    slots = math.ceil(1 / alpha - 1e-9)
    return slots - 1, n_post * (slots - 1)


def check_periods(n_pre: int, n_post: int, conf_level: float, average: bool) -> None:
    """Raise :class:`TooFewPeriodsError` when the intervals asked for cannot exclude anything."""
    alpha = 1 - conf_level
    per_period, for_average = minimum_pre_periods(alpha, n_post)
    if n_pre >= per_period and (not average or n_pre >= for_average):
        return
    lower = [lv for lv in (0.9, 0.8) if lv < conf_level]
    both = [lv for lv in lower if n_pre >= max(minimum_pre_periods(1 - lv, n_post)[: 1 + average])]
    per = [lv for lv in lower if n_pre >= minimum_pre_periods(1 - lv, n_post)[0]]
    what = f"at least {per_period} pre-periods for per-period intervals" + (
        f" and {for_average} ({n_post} x {per_period}) for the interval of the average over "
        f"{n_post} post periods"
        if average
        else ""
    )
    if both:
        advice = f"conf_level={both[0]} would do. "
    elif average and n_pre >= per_period:
        advice = "Pass average=False for the per-period intervals alone. "
    elif average and per:
        need = minimum_pre_periods(1 - per[0], n_post)[0]
        advice = (
            f"With average=False, conf_level={per[0]} gives per-period intervals (it needs "
            f"{need} pre-periods). "
        )
    else:
        advice = ""
    raise TooFewPeriodsError(
        f"conformal intervals at conf_level={conf_level:g} need {what}; the data have {n_pre} "
        f"pre-periods. With fewer, no permutation p-value can fall to {alpha:.3g}, so every "
        f"effect would be accepted. {advice}Otherwise use more pre-periods (monthly data, say)."
    )
