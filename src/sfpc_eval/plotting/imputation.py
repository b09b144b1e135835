"""Figures of the trial workflow: imputation diagnostics and the covariate balance (love) plot."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from sfpc_eval.trials.imputation_result import ImputedData

__all__ = ["plot_balance", "plot_imputation_trace", "plot_observed_imputed"]


def _figure(fig: Figure | None, panels: int) -> tuple[Figure, list[Axes]]:
    import matplotlib.pyplot as plt

    cols = min(panels, 3)
    rows = math.ceil(panels / cols)
    if fig is None:
        fig = plt.figure(figsize=(3.4 * cols, 2.6 * rows))
    axes = [fig.add_subplot(rows, cols, k + 1) for k in range(panels)]
    return fig, axes


def plot_imputation_trace(imputed: ImputedData, columns=None, fig: Figure | None = None) -> Figure:
    """Draw each traced statistic over the iterations, one line per chain (mice's ``plot``).

    One panel per imputed column and statistic (the share of each level, or the mean and SD);
    chains that have mixed overlap after the first few iterations.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sfpc_eval.trials.imputation import impute
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"la": np.repeat(range(4), 60), "period": np.tile(range(5), 48)})
    >>> df["treated"] = (df["period"] > df["la"]).astype(int)
    >>> df["y"] = rng.binomial(1, 0.3, 240)
    >>> df["d"] = np.where(rng.random(240) < 0.2, None, rng.choice(["a", "b"], 240))
    >>> imp = impute(df, ["d"], outcome="y", cluster="la", period="period",
    ...              treated="treated", m=3, seed=1, iterations=4, progress=False)
    >>> len(plot_imputation_trace(imp).axes)
    2
    """
    trace = imputed.trace
    if columns is not None:
        trace = trace[trace["column"].isin(list(columns))]
    panels = list(trace.groupby(["column", "statistic"], sort=False).groups)
    fig, axes = _figure(fig, max(len(panels), 1))
    for ax, (column, statistic) in zip(axes, panels, strict=False):
        part = trace[(trace["column"] == column) & (trace["statistic"] == statistic)]
        for _, chain in part.groupby("imputation"):
            ax.plot(chain["iteration"], chain["value"], linewidth=1)
        ax.set_title(f"{column}: {statistic}", fontsize=9)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_observed_imputed(
    imputed: ImputedData, by: str | None = None, fig: Figure | None = None
) -> Figure:
    """Draw observed against imputed shares (or means) of every imputed column.

    Bars: the observed share of each level; points with 2 Monte Carlo SE whiskers: the
    imputed values' share, pooled over imputations. Imputed values may differ from observed
    ones when the data are missing at random (not completely at random): that is expected.
    """
    table = imputed.compare(by=by)
    columns = list(dict.fromkeys(table["column"]))
    fig, axes = _figure(fig, max(len(columns), 1))
    groups = [None] if by is None else list(dict.fromkeys(table[by]))
    width = 0.8 / len(groups)
    for ax, column in zip(axes, columns, strict=False):
        part = table[table["column"] == column]
        stats = list(dict.fromkeys(part["statistic"]))
        x = np.arange(len(stats))
        for k, group in enumerate(groups):
            rows = part if group is None else part[part[by] == group]
            rows = rows.set_index("statistic").reindex(stats)
            pos = x - 0.4 + width * (k + 0.5)
            label = "observed" if group is None else f"observed, {by}={group}"
            ax.bar(pos, rows["observed"], width=width * 0.9, alpha=0.45, label=label)
            ax.errorbar(
                pos,
                rows["imputed"],
                yerr=2 * rows["mc_se"].fillna(0),
                fmt="o",
                color="black",
                markersize=3,
                label="imputed" if k == 0 else None,
            )
        ax.set_xticks(x, stats, rotation=30, fontsize=8)
        ax.set_title(column, fontsize=9)
    axes[0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def plot_balance(table: pd.DataFrame, ax: Axes | None = None, *, threshold: float = 0.1) -> Axes:
    """Draw absolute standardised mean differences by covariate level (a love plot).

    ``table`` is :attr:`~sfpc_eval.trials.balance.BaselineTable.table` (columns ``variable``,
    ``level``, ``smd``); the dashed line marks ``threshold`` (0.1, the usual rule of thumb).
    """
    from sfpc_eval.plotting.style import new_axes

    rows = table[np.isfinite(table["smd"].to_numpy(dtype=float))]
    labels = [f"{v}: {lv}" for v, lv in zip(rows["variable"], rows["level"], strict=True)]
    ax = new_axes(ax)
    y = np.arange(len(rows))[::-1]
    ax.scatter(np.abs(rows["smd"].to_numpy(dtype=float)), y, color="#1f4e79", zorder=3)
    ax.axvline(threshold, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("absolute standardised mean difference")
    ax.grid(alpha=0.3, axis="x")
    return ax
