"""The pre-period check in a report: a finding in words, a table, a figure and methods text.

Shared by the ``did`` and ``staggered`` designs. The finding says whether the check passed
(from :attr:`~sfpc_eval.diff_in_diff.pretrends_result.PretrendResult.passed`, which reads only
valid tests) and how large the leads are against the estimated effect; a failed check is a
finding, not only a limitation.
"""

from __future__ import annotations

import math

from sfpc_eval.diff_in_diff.pretrends_result import PretrendResult
from sfpc_eval.report.blocks import FigureBlock, TableBlock
from sfpc_eval.report.designs._common import effect_table, plain, sentence
from sfpc_eval.report.figures import render_figure
from sfpc_eval.results import Term
from sfpc_eval.tables import format_number

__all__ = ["pretrend_blocks"]


def _size_sentence(pre: PretrendResult, effect: Term | None) -> str:
    """Say how large the largest lead is against the estimated effect ("" without either)."""
    leads = [t for t in pre.leads if not math.isnan(t.estimate)]
    if effect is None or not leads or not effect.estimate:
        return ""
    largest = max(leads, key=lambda t: abs(t.estimate))
    share = abs(largest.estimate) / abs(effect.estimate)
    return (
        f" The largest lead ({largest.term}: {largest.estimate:+.4g}) is {share:.0%} of the size "
        f"of the estimated effect ({effect.estimate:+.4g})."
    )


def pretrend_blocks(
    pre: PretrendResult,
    *,
    what: str,
    effect: Term | None,
    start: object,
    ylabel: str,
    inference: str,
) -> tuple[str, str, TableBlock, FigureBlock, str | None]:
    """Return the (finding, methods text, table, figure, limitation or None) of a pre-check.

    ``what`` names the outcome in sentences; ``effect`` is the headline term (its size is
    compared with the leads); ``start`` is the adoption period (for the methods text);
    ``inference`` names the inference of the leads (the table's column group).
    """
    finding = f"Pre-period check, {what}: {pre.verdict()}{_size_sentence(pre, effect)}"
    rows = [
        (f"{e} period(s) before adoption", {inference: t})
        for e, t in zip([-e for e in pre.event_times], pre.leads, strict=True)
    ]
    if pre.joint_test is not None:
        rows.append(("Leads jointly zero (test)", {inference: pre.joint_test}))
    if pre.placebo is not None:
        rows.append(
            (f"Placebo: adoption {pre.placebo_shift} period(s) earlier", {inference: pre.placebo})
        )
    reference = (
        f"the period before adoption (event time {pre.reference})"
        if pre.reference is not None
        else "the period before (each lead its own comparison)"
    )
    table = effect_table(
        f"Pre-period check: {what}",
        rows,
        [inference],
        scale="number",
        level=pre.conf_level,
        estimate_header="Estimate",
        row_header="Before adoption",
        notes=[
            f"Leads: estimates before adoption relative to {reference}. Joint test: "
            f"{plain(pre.joint.method) if pre.joint is not None else 'none'}."
            + (
                f" Placebo: adoption moved {pre.placebo_shift} period(s) earlier, estimated on "
                "the periods before adoption."
                if pre.placebo_shift
                else ""
            )
        ],
    )

    def draw(ax):
        pre.plot(ax=ax)
        ax.set_ylabel(ylabel)

    figure = render_figure(
        f"Pre-period check: {what}",
        draw,
        f"{sentence(what)}: estimates before adoption ({pre.conf_level:.0%} intervals where the "
        "inference gives them), relative to "
        + (f"event time {pre.reference}" if pre.reference is not None else "the period before")
        + "; the title gives the joint test"
        + (" and the placebo" if pre.placebo_shift else "")
        + ".",
    )
    joint = pre.joint
    method = (
        f"Pre-period check ({what}): the estimates before adoption ({start}) from an event "
        f"study of the same data ("
        + ", ".join(f"e={e}" for e in pre.event_times)
        + (f", relative to event time {pre.reference}" if pre.reference is not None else "")
        + ")"
        + (f"; joint test {joint.method}" if joint is not None else "")
        + (
            f"; placebo: adoption moved {pre.placebo_shift} period(s) earlier, two-way fixed "
            "effects on the periods before adoption"
            if pre.placebo_shift
            else ""
        )
        + f". The check passes when no valid test rejects at the {1 - pre.conf_level:.0%} level."
    )
    limitation = None
    if pre.passed is False:
        limitation = (
            f"The pre-period check failed for {what}: the trends before adoption were not "
            "parallel, so the difference-in-differences estimate may be biased; read it with "
            "the pre-period figure and consider a sensitivity analysis (e.g. HonestDiD bounds)."
        )
    elif pre.passed and pre.n_treated_clusters < 5:
        limitation = (
            f"The pre-period check for {what} passed, but with {pre.n_treated_clusters} treated "
            "unit(s) it has little power: leads of "
            + ", ".join(format_number(t.estimate) for t in pre.leads)
            + " would not be detected as a violation."
        )
    return finding, method, table, figure, limitation
