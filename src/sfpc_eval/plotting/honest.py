"""The HonestDiD sensitivity plot: the original interval, then the robust one at each bound."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from sfpc_eval.plotting.layout import finish
from sfpc_eval.plotting.style import PALETTE, TEXT, check_labels, context, new_axes, word

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_honest_did"]

ORIGINAL_COLOUR = PALETTE["orange"]
ROBUST_COLOUR = PALETTE["dark_blue"]


def plot_honest_did(
    result,
    ax: Axes | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
) -> Axes:
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
    labels : mapping, optional
        Words for the bound (``"Mbar"`` or ``"M"``: the x axis), ``"honest_interval"`` (the y
        axis), ``"original"`` or ``"breakdown"``.
    title : str, optional
        The main message; default says up to which bound zero is excluded.
    source : str, optional
        The source line.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np, sfpc_eval as se
    >>> est = se.EventTimeEstimates((-3, -2, 0, 1), np.array([0.02, 0.0, 0.3, 0.4]),
    ...                             np.eye(4) * 0.004, reference=-1)
    >>> ax = se.honest_did(est, m_values=[0.5, 1, 2]).plot()
    >>> " ".join(ax.get_xlabel().split())
    'Mbar: post-period trend change allowed, as a multiple of the largest pre-period one'
    """
    name = result.bound_name
    words = check_labels(labels, [name, "honest_interval", "original", "breakdown"])
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

    level = f"{result.conf_level:.0%}"
    original_name = words.get("original", word("original"))
    bar(x_original, original.conf_low, original.conf_high, ORIGINAL_COLOUR, original_name)
    for i, (m, t) in enumerate(zip(ms, robust, strict=True)):
        label = f"Robust to the bound ({result.method})" if i == 0 else None
        bar(float(m), t.conf_low, t.conf_high, ROBUST_COLOUR, label)
    context(ax.axhline(0.0, color=TEXT, linewidth=0.8))
    bd = result.breakdown_value
    if 0 < bd < math.inf and bd <= ms.max():
        ax.axvline(
            bd,
            color=PALETTE["dark_grey"],
            linestyle=":",
            linewidth=1.2,
            label=f"{words.get('breakdown', word('breakdown'))}: {name} = {bd:.3g}",
        )
    ax.set_xticks([x_original, *ms], ["Parallel\ntrends", *(f"{m:g}" for m in ms)])
    if bd == 0:
        message = f"zero is not excluded even at {name} = 0"
    elif math.isinf(bd):
        message = f"zero is excluded at every {name} tried"
    else:
        message = f"zero is excluded up to {name} = {bd:.3g}"
    ylabel = words.get("honest_interval", f"{level} {word('honest_interval').lower()}")
    alt = (
        f"Sensitivity chart: {level} confidence intervals for {result.target} under parallel "
        f"trends ({original.conf_low:.3g} to {original.conf_high:.3g}) and robust to "
        f"violations bounded by {name} = "
        + ", ".join(
            f"{m:g} ({t.conf_low:.3g} to {t.conf_high:.3g})"
            for m, t in zip(ms, robust, strict=True)
        )
        + f"; {message}."
    )
    return finish(
        ax,
        title=title or f"Effect {result.target}: {message}",
        xlabel=words.get(name, word(name)),
        ylabel=ylabel,
        source=source,
        alt=alt,
        kind="Sensitivity chart",
    )
