"""The stepped-wedge report's CONSORT tables and love plot, under DfE/ONS disclosure rules.

Built from :func:`sfpc_eval.trials.balance.baseline_table` and
:func:`~sfpc_eval.trials.balance.flow_table` with the report's ``[disclosure] threshold``:
counts are rounded to the nearest 5, counts from 1 to ``threshold - 1`` are shown as ``[c]``,
percentages are of the rounded counts (and ``[c]`` with a suppressed count), and standardised
mean differences that could give a suppressed count back are left out of the table and the
plot. The tables carry ``provenance="child"`` and mark their count cells, so
:func:`~sfpc_eval.report.disclosure.check_disclosure` scans them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sfpc_eval.labels import label
from sfpc_eval.report.blocks import FigureBlock, TableBlock
from sfpc_eval.report.designs._common import label_of, sentence
from sfpc_eval.report.figures import render_figure
from sfpc_eval.tables import Table
from sfpc_eval.trials.balance import (
    BaselineTable,
    baseline_table,
    flow_table,
    rounded_count,
    rounded_share,
)

__all__ = ["ARM", "baseline_block", "flow_block", "love_figure", "trial_baseline"]

ARM = "_condition"
"""Column added to a copy of the data: 1 where the child was referred under the programme."""


def trial_baseline(
    frame: pd.DataFrame, characteristics: list[str], treated: str, threshold: int
) -> BaselineTable:
    """Tabulate the children's characteristics by condition.

    A child counts as under the programme when ``treated`` is at least 0.5 (the 0/1 column
    itself for cluster-level exposure).
    """
    arm = (pd.to_numeric(frame[treated], errors="coerce") >= 0.5).astype(int)
    return baseline_table(
        frame.assign(**{ARM: arm}),
        characteristics,
        arm=ARM,
        threshold=threshold,
        title="Characteristics of the children referred, by condition",
    )


def baseline_block(balance: BaselineTable) -> TableBlock:
    """Wrap the published baseline table, its count cells marked for the disclosure checker.

    The ``n`` columns hold counts, except in a numeric characteristic's "mean (SD)" row.
    """
    table = balance.published
    counts = tuple("count" if column.endswith(": n") else "" for column in table.columns)
    roles = tuple(
        ("",) * len(counts) if row[1] == "mean (SD)" else counts for row in table.text_rows()
    )
    return TableBlock.of(table, provenance="child", roles=roles)


def flow_block(
    frame: pd.DataFrame, cluster: str, period: str, outcome: str, treated: str, threshold: int
) -> TableBlock:
    """Children, events and the percentage with the event, one row per council and period."""
    counts, _ = flow_table(
        frame, cluster=cluster, period=period, outcome=outcome, treated=treated,
        threshold=threshold,
    )  # fmt: skip
    rows = []
    for r in counts.sort_values(["cluster", "period"], key=_order).itertuples():
        n, e = int(r.children), int(r.events)
        rows.append(
            [
                str(r.cluster),
                str(r.period),
                "programme" if r.treated_share >= 0.5 else "control",
                rounded_count(n, threshold),
                rounded_count(e, threshold),
                rounded_share(e, n, threshold),
            ]
        )
    what = label_of(outcome)
    table = Table(
        f"Children referred and children {what}, by council and period",
        [sentence(label(cluster)), sentence(label(period)), "Condition", "Children",
         f"Children {what}", "%"],
        rows,
        notes=[
            f"Counts from child-level records, rounded to the nearest 5; 1-{threshold - 1} "
            "shown as [c]. Percentages are of the rounded counts ([c] where the count is "
            "suppressed). Condition: programme where most children were referred after the "
            "council's switch.",
        ],
    )  # fmt: skip
    roles = (("", "", "", "count", "count", ""),) * len(rows)
    return TableBlock.of(table, provenance="child", roles=roles)


def _order(values: pd.Series) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    return numeric if numeric.notna().all() else values.astype(str)


def love_figure(balance: BaselineTable) -> FigureBlock | None:
    """Draw the love plot of the publishable SMDs (None when there is none to draw)."""
    shown = balance.shown_smds()
    if not np.isfinite(shown["smd"].to_numpy(dtype=float)).any():
        return None
    n_levels = int(np.isfinite(shown["smd"].to_numpy(dtype=float)).sum())

    def draw(ax):
        from sfpc_eval.plotting import plot_balance

        plot_balance(shown, ax, threshold=0.1)
        ax.set_title("Balance of the children's characteristics between conditions")

    left_out = int(balance.table["smd_suppressed"].sum())
    caption = (
        "Absolute standardised mean difference of each characteristic between children "
        "referred under the programme and under control; dashed line at 0.1. In a stepped "
        "wedge the conditions come from different periods, so differences describe who was "
        "referred when."
    )
    if left_out:
        caption += f" {left_out} level(s) left out: a count of their characteristic is suppressed."
    return render_figure(
        "Balance between conditions (love plot)", draw, caption, size=(7.0, 0.22 * n_levels + 1.4)
    )
