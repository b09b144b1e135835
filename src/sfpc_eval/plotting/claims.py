"""The figure of published claims: each claim's re-derived value against what its wording allows."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from sfpc_eval.evidence import admissible, audit, load_registry

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["STATUS_COLOURS", "plot_claims"]

STATUS_COLOURS = {
    "reproduced": "#1b7837",
    "wording does not hold": "#b2182b",
    "conflict": "#e08214",
    "stated only": "#878787",
}
PERCENT_METRICS = ("percent_reduction", "percent_change", "difference_pp")


def plot_claims(
    table: pd.DataFrame | None = None,
    ax: Axes | None = None,
    *,
    metrics: tuple[str, ...] = PERCENT_METRICS,
) -> Axes:
    """Compare re-derived values with what each published wording allows.

    One row per claim that could be recomputed: the shaded bar is the range the wording allows,
    the dot and line the recomputed value and its interval, coloured by status.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        Output of :func:`sfpc_eval.evidence.audit`; computed if omitted.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    metrics : tuple of str
        Claim metrics to draw (they must share a scale); percentages by default.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if table is None:
        table = audit()
    registry = load_registry()
    rows = table[table["metric"].isin(metrics) & table["recomputed"].notna()]
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.2))
    finite_values = [
        v
        for v in rows[["recomputed", "conf_low", "conf_high"]].to_numpy().ravel()
        if math.isfinite(v)
    ]
    span = (min([*finite_values, 0.0]), max([*finite_values, 0.0]))
    for y, row in enumerate(rows.itertuples(index=False)):
        claim = registry[row.id]
        allowed = admissible(claim.rule, claim.value, decimals=claim.decimals)
        low = max(allowed.low, span[0] - 10)
        high = min(allowed.high, span[1] + 10)
        if claim.rule != "significant":
            ax.barh(y, high - low, left=low, height=0.6, color="#d9d9d9", zorder=1)
        colour = STATUS_COLOURS.get(row.status, "black")
        if math.isfinite(row.conf_low):
            ax.hlines(y, row.conf_low, row.conf_high, color=colour, zorder=2)
        ax.plot(row.recomputed, y, "o", color=colour, zorder=3)
    ax.margins(x=0.05)
    ax.set_yticks(range(len(rows)), list(rows["id"]))
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_xlabel("recomputed value (%, or pp); grey: range the published wording allows")
    ax.set_title("Published claims against their re-derived values")
    return ax
