"""The stepped-wedge design diagram: clusters x periods shaded by exposure."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sfpc_eval.trials.design import SteppedWedgeDesign

__all__ = ["plot_design"]


def plot_design(
    design: SteppedWedgeDesign, ax: Axes | None = None, *, show_sizes: bool = False
) -> Axes:
    """Draw the design diagram (see :meth:`SteppedWedgeDesign.plot`); returns the Axes.

    Examples
    --------
    >>> from sfpc_eval.trials.design import SteppedWedgeDesign
    >>> d = SteppedWedgeDesign(list("ABC"), [1, 2, 3], 4, transition_periods=1)
    >>> len(plot_design(d).patches)
    12
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    if ax is None:
        size = (1.0 + 0.9 * design.n_periods, 0.8 + 0.45 * design.n_clusters)
        _, ax = plt.subplots(figsize=size)
    x = design.exposure_matrix()
    t = np.arange(design.n_periods)
    exposed_color, control_color = "#1f4e79", "#ffffff"
    for i in range(design.n_clusters):
        sw, tr = design.switch_periods[i], design.transition_periods[i]
        for j in t:
            value = x[i, j]
            hatch = None
            if (i, j) in design.unobserved:
                color = "#bdbdbd"
            elif sw <= j < sw + tr:
                color = "#9dc3e6" if design.transition_exposure is not None else "#ffffff"
                hatch = "///"
            else:
                color = exposed_color if value == 1 else control_color
            ax.add_patch(
                Rectangle(
                    (j, i), 1, 1, facecolor=color, edgecolor="#404040", hatch=hatch, linewidth=0.8
                )
            )
            if show_sizes and design.cluster_period_sizes is not None and not np.isnan(value):
                m = design.cluster_period_sizes[i][j]
                ax.text(
                    j + 0.5,
                    i + 0.5,
                    f"{m:,.0f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value == 1 else "black",
                )
    ax.set_xlim(0, design.n_periods)
    ax.set_ylim(design.n_clusters, 0)
    ax.set_xticks(t + 0.5)
    dated = design.period_starts is not None
    ax.set_xticklabels(
        design.periods, rotation=45 if dated else 0, ha="right" if dated else "center", fontsize=8
    )
    ax.set_yticks(np.arange(design.n_clusters) + 0.5)
    names = (
        [f"{c} [{s}]" for c, s in zip(design.clusters, design.strata, strict=True)]
        if design.strata
        else list(design.clusters)
    )
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel("period")
    ax.set_ylabel("cluster")
    handles = [
        Patch(facecolor=control_color, edgecolor="#404040", label="control"),
        Patch(facecolor=exposed_color, edgecolor="#404040", label="intervention"),
    ]
    if any(design.transition_periods):
        handles.append(
            Patch(facecolor="white", edgecolor="#404040", hatch="///", label="transition")
        )
    if design.unobserved:
        handles.append(Patch(facecolor="#bdbdbd", edgecolor="#404040", label="unobserved"))
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False
    )
    ax.set_title("Stepped-wedge design")
    return ax
