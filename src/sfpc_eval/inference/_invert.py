"""p-values and confidence limits by test inversion, shared by bootstrap and permutation tests."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["invert_test", "tie_broken_p_value"]


def invert_test(p_at: Callable[[float], float], centre: float, step: float, alpha: float) -> float:
    """Find the confidence limit where the p-value ``p_at`` falls to ``alpha``.

    The search starts at ``centre`` and moves in the direction of ``step``, doubling until the
    test rejects, then bisects.

    Examples
    --------
    >>> from scipy import stats
    >>> round(invert_test(lambda b: 2 * stats.norm.sf(abs(b)), 0.0, 1.0, 0.05), 4)
    1.96
    """
    inside, outside = centre, centre + step
    for _ in range(60):
        if p_at(outside) <= alpha:
            break
        inside, outside = outside, outside + 2 * (outside - centre)
    else:
        return math.copysign(math.inf, step)
    for _ in range(100):
        middle = (inside + outside) / 2
        if p_at(middle) > alpha:
            inside = middle
        else:
            outside = middle
        if abs(outside - inside) <= 1e-10 * max(1.0, abs(centre)):
            break
    return (inside + outside) / 2


def tie_broken_p_value(values: np.ndarray, observed: float, tie_weight: float) -> float:
    """Share of ``|values|`` above ``|observed|``, ties (1e-12 relative) weighted by ``tie_weight``.

    Examples
    --------
    >>> tie_broken_p_value(np.array([3.0, -1.0, 2.0, 0.5]), 2.0, 1.0)
    0.5
    >>> tie_broken_p_value(np.array([3.0, -1.0, 2.0, 0.5]), 2.0, 0.5)
    0.375
    """
    size = np.abs(values)
    reference = abs(observed)
    at_least = size >= reference * (1 - 1e-12)
    above = size > reference * (1 + 1e-12)
    return float((np.sum(above) + tie_weight * np.sum(at_least & ~above)) / len(values))
