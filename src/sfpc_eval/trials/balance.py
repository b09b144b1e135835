r"""Trial tables: baseline characteristics by arm, and the council-by-period flow of children.

The CONSORT extension for stepped-wedge trials (Hemming et al. 2018) asks for the
characteristics of the children in each condition and for the number of children and events in
every cluster and period. Both tables here come from child-level records, so every count is
published the way DfE and ONS statistics are:

- counts are rounded to the nearest 5 (halves up); counts from 1 to ``threshold - 1`` are shown
  as ``[c]`` (confidential); a true zero is shown as 0; a percentage of nothing as ``[z]`` (not
  applicable);
- every percentage and total is computed **from the rounded counts**, and the percentage of a
  suppressed count is suppressed too, so that no percentage (a percentage and an unrounded total
  give the count back) or total reveals a small count. (Showing 3 children as "5 (0.4%)" with
  the exact 0.4% undoes the rounding.)

The standardised mean difference of a level (a 0/1 indicator) is
:math:`(p_1 - p_0) / \sqrt{(p_1 (1 - p_1) + p_0 (1 - p_0)) / 2}` and of a number
:math:`(m_1 - m_0) / \sqrt{(s_1^2 + s_0^2) / 2}` (Austin 2009; ``tableone``'s), computed from
the unrounded data: a difference of shares is not a count. Missing values are a level of their
own ("Missing"), so that imbalance in missingness shows.

An SMD computed from unrounded shares can give a small count back (with no such child under
control, the SMD of 3 children in 20,000 is 0.017, and only 3 gives that to three decimals; and
for a two-level characteristic the SMD of one level is minus the other's). So the published
table and the love plot leave out (``[c]``) the SMDs of every level of a categorical
characteristic in which any level's count under either condition is suppressed; the unrounded
:attr:`BaselineTable.table` keeps them, flagged in its ``smd_suppressed`` column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval.errors import InvalidValueError
from sfpc_eval.panel import require_columns
from sfpc_eval.tables import Cell, NumberFormat, Table

__all__ = ["BaselineTable", "baseline_table", "flow_table", "rounded_count", "rounded_share"]

MISSING = "Missing"


def rounded_count(count: int, threshold: int = 5) -> str:
    """Publish a count: 0, ``[c]`` for 1 to ``threshold - 1``, else rounded to the nearest 5.

    Examples
    --------
    >>> [rounded_count(c) for c in (0, 3, 5, 7, 12, 13)]
    ['0', '[c]', '5', '5', '10', '15']
    """
    if count == 0:
        return "0"
    if count < threshold:
        return "[c]"
    return f"{_round5(count):,}"


def _round5(count: int) -> int:
    return int(5 * math.floor(count / 5 + 0.5))


def rounded_share(count: int, total: int, threshold: int = 5) -> str:
    """Percentage of the rounded count in the rounded total (``[c]``, ``[z]`` as above).

    Examples
    --------
    >>> rounded_share(3, 400), rounded_share(0, 0), rounded_share(12, 400)
    ('[c]', '[z]', '2.5%')
    """
    if total == 0:
        return "[z]"
    if 0 < count < threshold:
        return "[c]"
    return f"{100 * _round5(count) / _round5(total):.1f}%"


def _smd_level(x1: np.ndarray, x0: np.ndarray) -> float:
    p1, p0 = x1.mean(), x0.mean()
    pooled = math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    return (p1 - p0) / pooled if pooled > 0 else math.nan


def _smd_numeric(x1: np.ndarray, x0: np.ndarray) -> float:
    pooled = math.sqrt((x1.var(ddof=1) + x0.var(ddof=1)) / 2)
    return (x1.mean() - x0.mean()) / pooled if pooled > 0 else math.nan


@dataclass(frozen=True)
class BaselineTable:
    """Baseline characteristics by arm (see :func:`baseline_table`).

    Attributes
    ----------
    table : pandas.DataFrame
        Unrounded: ``variable, level``, then per group ``n[group]`` and ``pct[group]`` (numbers:
        ``mean[group]``, ``sd[group]``), ``smd`` (intervention vs control) and
        ``smd_suppressed`` (the SMD is left out of the published table and the love plot
        because a count of the characteristic is suppressed).
    published : Table
        The table to publish: rounded and suppressed counts, percentages of the rounded counts.
    """

    table: pd.DataFrame = field(repr=False)
    published: Table = field(repr=False)

    def __str__(self) -> str:
        return self.published.as_text()

    def plot(self, ax=None, *, threshold: float = 0.1):
        """Draw the absolute SMDs by level (a love plot); returns the Axes.

        SMDs left out of the published table (``smd_suppressed``) are left out here too.
        """
        from sfpc_eval.plotting import plot_balance

        return plot_balance(self.shown_smds(), ax, threshold=threshold)

    def shown_smds(self) -> pd.DataFrame:
        """Return ``variable, level, smd`` with the suppressed SMDs set to NaN (publishable)."""
        shown = self.table[["variable", "level", "smd"]].copy()
        shown.loc[self.table["smd_suppressed"].to_numpy(), "smd"] = math.nan
        return shown


def _groups(data: pd.DataFrame, arm: str, by: str | None) -> list[tuple[str, np.ndarray]]:
    values = pd.to_numeric(data[arm], errors="coerce")
    bad = ~values.isin([0, 1])
    if bad.any():
        raise InvalidValueError(
            f"`arm` column {arm!r} must be 0 (control) or 1 (intervention); rows "
            f"{list(data.index[bad.to_numpy()][:5])} are not."
        )
    groups = [
        ("control", (values == 0).to_numpy()),
        ("intervention", (values == 1).to_numpy()),
    ]
    if by is not None:
        for level in sorted(pd.unique(data[by].dropna()), key=str):
            groups.append((str(level), (data[by] == level).to_numpy()))
    return groups


def baseline_table(
    data: pd.DataFrame,
    covariates: Sequence[str],
    *,
    arm: str,
    by: str | None = None,
    threshold: int = 5,
    title: str = "Characteristics of the children referred, by condition",
) -> BaselineTable:
    """Tabulate the characteristics of the children under control and under intervention.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per child (not modified).
    covariates : sequence of str
        Characteristics: text, category and boolean columns by level (with "Missing");
        numeric columns as mean (SD), with the count missing.
    arm : str
        0/1: referred under control (0) or intervention (1).
    by : str, optional
        Also a column per level of ``by`` (each council).
    threshold : int, default 5
        Counts below it (and above 0) are suppressed.

    Returns
    -------
    BaselineTable

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [0] * 40 + [1] * 60,
    ...                    "sex": ["F"] * 22 + ["M"] * 18 + ["F"] * 30 + ["M"] * 27 + [None] * 3})
    >>> bt = baseline_table(df, ["sex"], arm="t")
    >>> bt.table[["level", "n[control]", "n[intervention]"]].values.tolist()
    [['F', 22, 30], ['M', 18, 27], ['Missing', 0, 3]]
    >>> round(float(bt.table["smd"].iloc[0]), 4)  # (0.5 - 0.55) / sqrt((0.25 + 0.2475) / 2)
    -0.1003
    """
    require_columns(data, {"arm": arm, **{f"covariates[{i}]": c for i, c in enumerate(covariates)}})
    if by is not None:
        require_columns(data, {"by": by})
    groups = _groups(data, arm, by)
    names = [g for g, _ in groups]
    treated, control = groups[1][1], groups[0][1]
    rows = []
    for variable in covariates:
        column = data[variable]
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        if numeric and column.dropna().nunique() > 2:
            x = pd.to_numeric(column).to_numpy(dtype=float)
            ok = ~np.isnan(x)
            row = {"variable": variable, "level": "mean (SD)"}
            for name, mask in groups:
                row[f"mean[{name}]"] = (
                    float(np.mean(x[mask & ok])) if (mask & ok).any() else math.nan
                )
                row[f"sd[{name}]"] = (
                    float(np.std(x[mask & ok], ddof=1)) if (mask & ok).sum() > 1 else math.nan
                )
            row["smd"] = _smd_numeric(x[treated & ok], x[control & ok])
            rows.append(row)
            levels = [(MISSING, ~ok)]
        else:
            text = column.astype(object).where(column.notna(), None)
            observed = sorted({str(v) for v in text.dropna()})
            levels = [
                (lv, (text.astype(str) == lv).to_numpy() & text.notna().to_numpy())
                for lv in observed
            ]
            levels.append((MISSING, column.isna().to_numpy()))
        for level, hit in levels:
            row = {"variable": variable, "level": level}
            for name, mask in groups:
                row[f"n[{name}]"] = int((hit & mask).sum())
                row[f"pct[{name}]"] = 100 * float(hit[mask].mean()) if mask.any() else math.nan
            row["smd"] = _smd_level(hit[treated].astype(float), hit[control].astype(float))
            rows.append(row)
    table = pd.DataFrame(rows)
    table["smd_suppressed"] = _smd_suppressed(table, threshold)
    totals = {name: int(mask.sum()) for name, mask in groups}
    published = _publish(table, names, totals, threshold, title)
    return BaselineTable(table=table, published=published)


def _smd_suppressed(table: pd.DataFrame, threshold: int) -> np.ndarray:
    """Flag the rows whose SMD could give a suppressed count back.

    Every level of a characteristic in which some level's count under control or intervention
    is from 1 to ``threshold - 1``.
    """
    if table.empty:
        return np.zeros(0, dtype=bool)
    counts = table[["n[control]", "n[intervention]"]].to_numpy(dtype=float)
    small = ((counts > 0) & (counts < threshold)).any(axis=1)
    levels = (table["level"] != "mean (SD)").to_numpy()
    risky = set(table.loc[small & levels, "variable"])
    return (table["variable"].isin(risky).to_numpy() & levels).astype(bool)


def _publish(table, names, totals, threshold, title) -> Table:
    columns = ["Characteristic", "Level"]
    for name in names:
        columns += [f"{name}: n", f"{name}: %"]
    columns.append("SMD")
    smd_format = NumberFormat(decimals=3)
    rows = [
        [
            "Children",
            "",
            *[x for name in names for x in (rounded_count(totals[name], threshold), "")],
            "",
        ]
    ]
    for _, r in table.iterrows():
        cells: list[object] = [str(r["variable"]), str(r["level"])]
        for name in names:
            if r["level"] == "mean (SD)":
                mean, sd = r[f"mean[{name}]"], r[f"sd[{name}]"]
                cells += [
                    f"{mean:.2f}" if np.isfinite(mean) else "[z]",
                    f"({sd:.2f})" if np.isfinite(sd) else "",
                ]
            else:
                n = int(r[f"n[{name}]"])
                cells += [rounded_count(n, threshold), rounded_share(n, totals[name], threshold)]
        if r["smd_suppressed"]:
            cells.append("[c]")
        else:
            cells.append(Cell(float(r["smd"]), smd_format) if np.isfinite(r["smd"]) else "")
        rows.append(cells)
    notes = [
        f"Counts rounded to the nearest 5; 1-{threshold - 1} shown as [c]; [z] not applicable. "
        "Percentages are of the rounded counts and totals.",
        "SMD: standardised mean difference, intervention minus control, from unrounded data; "
        "[c] where a count of the characteristic is suppressed (the SMD would give it back).",
    ]
    return Table(title, columns, rows, notes=notes)


def flow_table(
    data: pd.DataFrame,
    *,
    cluster: str,
    period: str,
    outcome: str,
    treated: str | None = None,
    threshold: int = 5,
    title: str = "Children referred and events, by council and period",
) -> tuple[pd.DataFrame, Table]:
    """Children, events and the percentage with the event in each cluster and period.

    Returns the unrounded counts (``cluster, period, children, events, treated_share``) and the
    published :class:`~sfpc_eval.tables.Table` (one row per cluster, one column group per
    period: "children / events (%)", rounded and suppressed as the module says; a ``*`` marks
    cluster-periods under the intervention when ``treated`` is given).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"la": ["A"] * 30 + ["B"] * 30, "p": [0, 1] * 30,
    ...                    "y": [1] * 3 + [0] * 27 + [1] * 12 + [0] * 18})
    >>> counts, table = flow_table(df, cluster="la", period="p", outcome="y")
    >>> counts[["cluster", "period", "children", "events"]].values.tolist()
    [['A', 0, 15, 2], ['A', 1, 15, 1], ['B', 0, 15, 6], ['B', 1, 15, 6]]
    >>> table.to_frame().iloc[0, 1]
    '15 / [c] ([c])'
    """
    roles = {"cluster": cluster, "period": period, "outcome": outcome}
    if treated is not None:
        roles["treated"] = treated
    require_columns(data, roles)
    y = pd.to_numeric(data[outcome], errors="coerce")
    if not y.isin([0, 1]).all():
        raise InvalidValueError(
            f"`outcome` {outcome!r} must be 0/1 with no missing values to count events."
        )
    frame = pd.DataFrame({"cluster": data[cluster], "period": data[period], "y": y})
    frame["t"] = pd.to_numeric(data[treated]) if treated is not None else 0.0
    counts = (
        frame.groupby(["cluster", "period"], sort=True)
        .agg(children=("y", "size"), events=("y", "sum"), treated_share=("t", "mean"))
        .reset_index()
    )
    counts["events"] = counts["events"].astype(int)
    periods = sorted(pd.unique(counts["period"]))
    rows = []
    for c, part in counts.groupby("cluster", sort=True):
        cells = [str(c)]
        for p in periods:
            hit = part[part["period"] == p]
            if hit.empty:
                cells.append("[z]")
                continue
            n, e = int(hit["children"].iloc[0]), int(hit["events"].iloc[0])
            mark = "*" if treated is not None and hit["treated_share"].iloc[0] > 0.5 else ""
            text = (
                f"{rounded_count(n, threshold)} / {rounded_count(e, threshold)} "
                f"({rounded_share(e, n, threshold)}){mark}"
            )
            cells.append(text)
        rows.append(cells)
    notes = [
        "Children / children with the event (% of the rounded children). Counts rounded to the "
        f"nearest 5; 1-{threshold - 1} shown as [c]; [z] no children.",
    ]
    if treated is not None:
        notes.append("* the council was under the intervention for most children in that period.")
    table = Table(title, [cluster, *[f"{period} {p}" for p in periods]], rows, notes=notes)
    return counts, table
