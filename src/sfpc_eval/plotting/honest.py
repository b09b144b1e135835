"""The HonestDiD sensitivity plot: the original interval, then the robust one at each bound."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sfpc_eval.plotting._axes import new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_honest_did"]

ORIGINAL_COLOUR = "#b2182b"
ROBUST_COLOUR = "#2166ac"


def plot_honest_did(result, ax: Axes | None = None) -> Axes:
    """Sensitivity plot of a :class:`~sfpc_eval.HonestDiDResult`, as R HonestDiD draws it.

    The interval under parallel trends ("original") is drawn one step to the left of the
    smallest bound; each robust interval is drawn at its bound (Mbar or M). A horizontal line
    marks zero and a dotted vertical line the breakdown value, where the intervals start to
    contain zero. Unbounded intervals are drawn to the edge of the axes with an arrow.

    Parameters
    ----------
    result : HonestDiDResult
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np, sfpc_eval as se
    >>> est = se.EventTimeEstimates((-3, -2, 0, 1), np.array([0.02, 0.0, 0.3, 0.4]),
    ...                             np.eye(4) * 0.004, reference=-1)
    >>> ax = se.honest_did(est, m_values=[0.5, 1, 2]).plot()
    >>> ax.get_xlabel()
    'Mbar (relative magnitude bound)'
    """
    ax = new_axes(ax)
    ms = np.asarray(result.m_values, dtype=float)
    gap = float(np.min(np.diff(np.sort(ms)))) if len(ms) > 1 else max(float(ms[0]), 1.0) / 2
    gap = gap if gap > 0 else 1.0
    x_original = float(ms.min()) - gap
    original = result.terms[0]
    robust = result.terms[1:]
    finite = [v for t in result.terms for v in (t.conf_low, t.conf_high) if math.isfinite(v)]
    lo_edge, hi_edge = (min(finite), max(finite)) if finite else (-1.0, 1.0)
    pad = 0.05 * (hi_edge - lo_edge or 1.0)
    width = gap / 4

    def bar(x: float, low: float, high: float, colour: str, label: str) -> None:
        if math.isnan(low) or math.isnan(high):
            ax.plot([x], [0.0], marker="x", color=colour, linestyle="none")
            return
        low_d = lo_edge - pad if math.isinf(low) else low
        high_d = hi_edge + pad if math.isinf(high) else high
        ax.plot([x, x], [low_d, high_d], color=colour, linewidth=2, label=label)
        for y, open_end in ((low_d, math.isinf(low)), (high_d, math.isinf(high))):
            if open_end:
                ax.plot([x], [y], marker="v" if y == low_d else "^", color=colour)
            else:
                ax.plot([x - width, x + width], [y, y], color=colour, linewidth=2)

    bar(x_original, original.conf_low, original.conf_high, ORIGINAL_COLOUR, "original")
    for i, (m, t) in enumerate(zip(ms, robust, strict=True)):
        label = result.method if i == 0 else None
        bar(float(m), t.conf_low, t.conf_high, ROBUST_COLOUR, label)
    ax.axhline(0.0, color="black", linewidth=0.8)
    bd = result.breakdown_value
    if 0 < bd < math.inf and bd <= ms.max():
        ax.axvline(
            bd,
            color="#555555",
            linestyle=":",
            linewidth=1,
            label=f"breakdown {result.bound_name} = {bd:.3g}",
        )
    name = result.bound_name
    kind = "relative magnitude bound" if name == "Mbar" else "smoothness bound"
    ax.set_xlabel(f"{name} ({kind})")
    ax.set_ylabel(f"{result.conf_level:.0%} interval")
    if bd == 0:
        message = f"zero not excluded even at {name} = 0"
    elif math.isinf(bd):
        message = f"zero excluded at every {name} tried"
    else:
        message = f"zero excluded up to {name} = {bd:.3g}"
    ax.set_title(f"{result.target}: {message}", fontsize=10)
    ax.legend(frameon=False, loc="best")
    ax.grid(alpha=0.3)
    return ax
