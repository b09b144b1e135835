"""Figures of the trial workflow: imputation diagnostics and the covariate balance (love) plot.

Each draws one chart in the house style (:mod:`sfpc_eval.plotting.style`): a categorical
column's shares are shown as percentages, each level in its own palette colour and named at the
end of its line; a numeric column's mean (or SD).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.plotting.layout import finish
from sfpc_eval.plotting.style import CATEGORICAL, PALETTE, context, new_axes, percent_axis

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from sfpc_eval.trials.imputation_result import ImputedData

__all__ = ["plot_balance", "plot_imputation_trace", "plot_observed_imputed"]

NUMERIC_STATISTICS = ("mean", "sd")


def _column(imputed: ImputedData, column: str | None) -> str:
    """Return the imputed column to draw: ``column``, or the first one imputed."""
    names = list(dict.fromkeys(imputed.trace["column"]))
    if column is None:
        if not names:
            raise InvalidValueError("nothing was imputed, so there is nothing to draw.")
        return names[0]
    if column not in names:
        raise InvalidValueError(
            f"`column` {column!r} was not imputed; the imputed columns are {names}."
        )
    return column


def _is_share(statistics: list[str]) -> bool:
    return not set(statistics) <= set(NUMERIC_STATISTICS)


def plot_imputation_trace(
    imputed: ImputedData,
    column: str | None = None,
    ax: Axes | None = None,
    *,
    statistic: str = "mean",
    title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Draw one imputed column's shares (or mean) over the iterations, one line per chain.

    As ``plot(imp)`` in R's mice: chains that have mixed overlap after the first iterations.

    Parameters
    ----------
    imputed : ImputedData
    column : str, optional
        The imputed column (default: the first).
    ax : matplotlib Axes, optional
    statistic : {"mean", "sd"}, default "mean"
        For a numeric column. A categorical column shows the share of every level.
    title, source : str, optional
        The main message (default: what is drawn) and the source line.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pandas as pd
    >>> from sfpc_eval.trials.imputation import impute
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"la": np.repeat(range(4), 60), "period": np.tile(range(5), 48)})
    >>> df["treated"] = (df["period"] > df["la"]).astype(int)
    >>> df["y"] = rng.binomial(1, 0.3, 240)
    >>> df["d"] = np.where(rng.random(240) < 0.2, None, rng.choice(["a", "b"], 240))
    >>> imp = impute(df, ["d"], outcome="y", cluster="la", period="period",
    ...              treated="treated", m=3, seed=1, iterations=4, progress=False)
    >>> plot_imputation_trace(imp).get_ylabel()
    'Share of imputed values'
    """
    name = _column(imputed, column)
    trace = imputed.trace[imputed.trace["column"] == name]
    statistics = list(dict.fromkeys(trace["statistic"]))
    share = _is_share(statistics)
    if not share:
        if statistic not in statistics:
            raise InvalidValueError(
                f"`statistic` must be one of {statistics} for the numeric column {name!r}; "
                f"got {statistic!r}."
            )
        statistics = [statistic]
    ax = new_axes(ax)
    series = []
    for k, level in enumerate(statistics):
        colour = CATEGORICAL[k % len(CATEGORICAL)]
        part = trace[trace["statistic"] == level]
        for i, (_, chain) in enumerate(part.groupby("imputation")):
            scale = 100.0 if share else 1.0
            (line,) = ax.plot(
                chain["iteration"], scale * chain["value"], color=colour, linewidth=1.2
            )
            if i == 0:
                series.append((line, str(level)))
    if share:
        percent_axis(ax)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # iterations are whole numbers
    chains = int(trace["imputation"].nunique())
    what = "the share of each level" if share else f"the {statistic}"
    return finish(
        ax,
        title=title or f"Imputed {name}: {what} over the iterations of {chains} chains",
        xlabel="Iteration",
        ylabel="Share of imputed values" if share else f"Imputed {statistic}".capitalize(),
        source=source,
        direct=series if share else False,
        legend=False,
        kind="Line chart",
    )


def plot_observed_imputed(
    imputed: ImputedData,
    column: str | None = None,
    ax: Axes | None = None,
    *,
    by: str | None = None,
    title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Draw one column's observed against imputed shares (or mean and SD).

    Bars: the observed values; points with two Monte Carlo SE whiskers: the imputed values,
    pooled over imputations (``by``: one pair per group, e.g. arm). Imputed values may differ
    from observed ones when the data are missing at random (not completely at random): that is
    expected.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pandas as pd
    >>> from sfpc_eval.trials.imputation import impute
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"la": np.repeat(range(4), 60), "period": np.tile(range(5), 48)})
    >>> df["treated"] = (df["period"] > df["la"]).astype(int)
    >>> df["y"] = rng.binomial(1, 0.3, 240)
    >>> df["d"] = np.where(rng.random(240) < 0.2, None, rng.choice(["a", "b"], 240))
    >>> imp = impute(df, ["d"], outcome="y", cluster="la", period="period",
    ...              treated="treated", m=3, seed=1, iterations=4, progress=False)
    >>> ax = plot_observed_imputed(imp, by="treated")
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['a', 'b']
    """
    name = _column(imputed, column)
    table = imputed.compare(by=by)
    part = table[table["column"] == name]
    statistics = list(dict.fromkeys(part["statistic"]))
    share = _is_share(statistics)
    scale = 100.0 if share else 1.0
    groups = [None] if by is None else list(dict.fromkeys(part[by]))
    width = 0.8 / len(groups)
    x = np.arange(len(statistics))
    ax = new_axes(ax)
    for k, group in enumerate(groups):
        rows = part if group is None else part[part[by] == group]
        rows = rows.set_index("statistic").reindex(statistics)
        pos = x - 0.4 + width * (k + 0.5)
        suffix = "" if group is None else f", {by} {group}"
        ax.bar(
            pos,
            scale * rows["observed"],
            width=width * 0.9,
            color=(PALETTE["light_blue"], PALETTE["grey"])[k % 2],
            label=f"Observed{suffix}",
        )
        ax.errorbar(
            pos,
            scale * rows["imputed"],
            yerr=2 * scale * rows["mc_se"].fillna(0),
            fmt="o",
            color=(PALETTE["dark_blue"], PALETTE["dark_pink"])[k % 2],
            markersize=4,
            label=f"Imputed{suffix}",
        )
    ax.set_xticks(x, statistics)
    if share:
        percent_axis(ax)
    return finish(
        ax,
        title=title or f"Observed and imputed {name}",
        xlabel="Level" if share else "Statistic",
        ylabel="Share of values" if share else "Value",
        source=source,
        kind="Bar chart",
    )


def plot_balance(
    table: pd.DataFrame,
    ax: Axes | None = None,
    *,
    threshold: float = 0.1,
    title: str | None = None,
    source: str | None = None,
) -> Axes:
    """Draw absolute standardised mean differences by covariate level (a love plot).

    ``table`` is :attr:`~sfpc_eval.trials.balance.BaselineTable.table` (columns ``variable``,
    ``level``, ``smd``); the dashed line marks ``threshold`` (0.1, the usual rule of thumb).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> table = pd.DataFrame({"variable": ["age", "age", "disability"],
    ...                       "level": ["0-4", "5-9", "Yes"], "smd": [0.05, -0.12, 0.02]})
    >>> plot_balance(table).get_xlabel()
    'Absolute standardised mean difference'
    """
    rows = table[np.isfinite(table["smd"].to_numpy(dtype=float))]
    labels = [f"{v}: {lv}" for v, lv in zip(rows["variable"], rows["level"], strict=True)]
    y = np.arange(len(rows))[::-1]
    size = np.abs(rows["smd"].to_numpy(dtype=float))
    ax = new_axes(ax, size=(7.0, max(2.5, 1.6 + 0.28 * len(rows))))
    ax.scatter(size, y, color=PALETTE["dark_blue"], zorder=3, label="Covariate level")
    context(
        ax.axvline(
            threshold,
            color=PALETTE["dark_grey"],
            linestyle="--",
            linewidth=1,
            label=f"Threshold {threshold:g}",
        )
    )
    ax.set_yticks(y, labels)
    over = int((size > threshold).sum())
    default = (
        f"{over} of {len(rows)} covariate levels differ by more than {threshold:g} SD "
        "between the arms"
    )
    return finish(
        ax,
        title=title or default,
        xlabel="Absolute standardised mean difference",
        ylabel="",
        source=source,
        kind="Dot plot",
        grid="x",
    )
