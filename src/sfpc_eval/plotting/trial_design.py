"""The stepped-wedge design diagram: councils x periods, shaded by condition, with dates and sizes.

Rows are councils (clusters) in rollout order, columns the periods; a period's tick gives its
dates when the design has them (:meth:`SteppedWedgeDesign.from_switch_dates`), and each cell
gives its cluster-period size (children) when the design has sizes. Control cells are white,
intervention cells dark blue, transition cells hatched and unobserved cells grey, so the
diagram reads in greyscale too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from sfpc_eval.plotting.layout import finish
from sfpc_eval.plotting.style import PALETTE, TEXT, check_labels, new_axes, word

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from sfpc_eval.trials.design import SteppedWedgeDesign

__all__ = ["plot_design"]

EXPOSED = PALETTE["dark_blue"]
CONTROL = "#ffffff"
PARTIAL = PALETTE["light_blue"]
UNOBSERVED = PALETTE["grey"]
EDGE = PALETTE["dark_grey"]


def _period_ticks(design: SteppedWedgeDesign) -> list[str]:
    """Each period's label: its dates ("Jan 2020 to Mar 2020") when the design has them."""
    if design.period_starts is None:
        return [str(p) for p in design.periods]
    import pandas as pd

    ends = [*design.period_starts[1:], design.period_end]
    out = []
    for begin, end in zip(design.period_starts, ends, strict=True):
        last = (pd.Timestamp(end) - pd.Timedelta(days=1)) if end is not None else None
        if last is None or (last.year, last.month) == (begin.year, begin.month):
            out.append(f"{begin:%b %Y}")
        else:
            out.append(f"{begin:%b %Y}\nto {last:%b %Y}")
    return out


def plot_design(
    design: SteppedWedgeDesign,
    ax: Axes | None = None,
    *,
    show_sizes: bool | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Draw the design diagram (see :meth:`SteppedWedgeDesign.plot`); returns the Axes.

    Parameters
    ----------
    design : SteppedWedgeDesign
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    show_sizes : bool, optional
        Write each cell's cluster-period size in it; by default whenever the design has sizes.
    labels : mapping, optional
        Words for clusters (by their labels) or the axes (``"design_period"``,
        ``"design_cluster"``).
    title, source : str, optional
        Main-message title and source line.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from sfpc_eval.trials.design import SteppedWedgeDesign
    >>> d = SteppedWedgeDesign(list("ABC"), [1, 2, 3], 4, transition_periods=1,
    ...                        cluster_period_sizes=25)
    >>> ax = plot_design(d)
    >>> len([p for p in ax.patches if p.get_gid() == "sfpc-design-cell"])
    12
    >>> sorted({t.get_text() for t in ax.texts if t.get_gid() == "sfpc-design-size"})
    ['25']
    """
    from matplotlib.patches import Patch, Rectangle

    words = check_labels(labels, [*map(str, design.clusters), "design_period", "design_cluster"])
    if show_sizes is None:
        show_sizes = design.cluster_period_sizes is not None
    if ax is None:
        dated = design.period_starts is not None
        size = (
            max(7.0, 1.8 + (1.1 if dated else 0.8) * design.n_periods),
            1.9 + 0.42 * design.n_clusters,
        )
        ax = new_axes(None, size=size)
    x = design.exposure_matrix()
    for i in range(design.n_clusters):
        sw, tr = design.switch_periods[i], design.transition_periods[i]
        for j in range(design.n_periods):
            value = x[i, j]
            hatch = None
            if (i, j) in design.unobserved:
                colour = UNOBSERVED
            elif sw <= j < sw + tr:
                colour = PARTIAL if design.transition_exposure is not None else CONTROL
                hatch = "///"
            else:
                colour = EXPOSED if value == 1 else CONTROL
            cell = Rectangle(
                (j, i), 1, 1, facecolor=colour, edgecolor=EDGE, hatch=hatch, linewidth=0.8
            )
            cell.set_gid("sfpc-design-cell")
            ax.add_patch(cell)
            if show_sizes and design.cluster_period_sizes is not None and not np.isnan(value):
                m = design.cluster_period_sizes[i][j]
                ax.text(
                    j + 0.5,
                    i + 0.5,
                    f"{m:,.0f}",
                    ha="center",
                    va="center",
                    fontsize=8.5,
                    color="white" if colour == EXPOSED else TEXT,
                    gid="sfpc-design-size",
                )
    ax.set_xlim(0, design.n_periods)
    ax.set_ylim(design.n_clusters, 0)
    ax.set_xticks(np.arange(design.n_periods) + 0.5, _period_ticks(design), fontsize=8.5)
    names = [words.get(str(c), str(c)) for c in design.clusters]
    if design.strata:
        names = [f"{c} [{s}]" for c, s in zip(names, design.strata, strict=True)]
    ax.set_yticks(np.arange(design.n_clusters) + 0.5, names)
    handles = [
        Patch(facecolor=CONTROL, edgecolor=EDGE, label=word("control_condition")),
        Patch(facecolor=EXPOSED, edgecolor=EDGE, label=word("intervention_condition")),
    ]
    if any(design.transition_periods):
        fill = PARTIAL if design.transition_exposure is not None else CONTROL
        handles.append(Patch(facecolor=fill, edgecolor=EDGE, hatch="///", label=word("transition")))
    if design.unobserved:
        handles.append(Patch(facecolor=UNOBSERVED, edgecolor=EDGE, label=word("unobserved")))
    steps = len(set(design.switch_periods))
    default = (
        f"{design.n_clusters} councils move to the intervention in {steps} steps over "
        f"{design.n_periods} periods"
    )
    ylabel = words.get("design_cluster", word("design_cluster"))
    xlabel = words.get("design_period", word("design_period"))
    alt = (
        f"Stepped-wedge design diagram: {design.n_clusters} councils (rows) by "
        f"{design.n_periods} periods (columns). "
        + " ".join(
            f"{n} switches in {ticks.splitlines()[0]}."
            for n, ticks in zip(
                names, [_period_ticks(design)[s] for s in design.switch_periods], strict=True
            )
        )
    )
    if show_sizes and design.cluster_period_sizes is not None:
        total = float(np.nansum(np.asarray(design.cluster_period_sizes, dtype=float)))
        alt += f" Cells give children per council and period ({total:,.0f} in all)."
    ax.tick_params(length=0)
    finish(
        ax,
        title=title or default,
        xlabel=xlabel,
        ylabel=ylabel,
        source=source,
        alt=alt,
        legend=False,
        grid=None,
        kind="Design diagram",
    )
    from sfpc_eval.plotting.layout import place_legend

    place_legend(ax, handles, [h.get_label() for h in handles])
    return ax
