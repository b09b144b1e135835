"""Published claims: every registry claim (or a selection) re-derived from its raw inputs.

Uses :func:`sfpc_eval.evidence.audit` and :func:`sfpc_eval.plotting.plot_claims`.

Examples
--------
>>> NEEDS_DATA
False
"""

from __future__ import annotations

import math
from typing import Any

from scipy import stats

from sfpc_eval.errors import SpecError
from sfpc_eval.report.blocks import Context, Section, TableBlock
from sfpc_eval.report.designs._headlines import claims_summary
from sfpc_eval.report.figures import render_figure
from sfpc_eval.report.schema import Key, closest
from sfpc_eval.tables import Cell, NumberFormat, Table, decimals_for

__all__ = ["DOC", "KEYS", "NAME", "check", "run"]

UNITS = {"percent_reduction": "%", "percent_change": "%", "percent": "%", "difference_pp": "pp"}
"""How a claim's metric is marked in the table."""

NAME = "claims"
NEEDS_DATA = False
DOC = "Published claims re-derived from their raw inputs, with the range each wording allows."
KEYS = (
    Key("ids", "list[str]", "Claim ids to include (default: all)"),
    Key("place", "str", "Only claims about this place (e.g. 'Leeds')"),
    Key("conf_level", "float", "Confidence level of recomputed intervals", default=0.95),
)


def _audit(analysis: dict[str, Any]):
    from sfpc_eval.evidence import audit

    table = audit(conf_level=analysis["conf_level"])
    if analysis["ids"]:
        table = table[table["id"].isin(analysis["ids"])]
    if analysis["place"]:
        table = table[table["place"] == analysis["place"]]
    return table.sort_values("id", kind="stable").reset_index(drop=True)


def check(analysis: dict[str, Any], dataset, where: str) -> None:
    """Raise for unknown claim ids or a place no claim is about."""
    from sfpc_eval.evidence import load_registry

    registry = load_registry()
    ids = list(registry.ids())
    for claim_id in analysis["ids"] or []:
        if claim_id not in ids:
            raise SpecError(
                f"`{where}.ids`: no claim {claim_id!r} in the registry.{closest(claim_id, ids)} "
                "`sfpc-eval claims` lists them.",
                key=f"{where}.ids",
            )
    if analysis["place"]:
        places = sorted({c.place for c in registry})
        if analysis["place"] not in places:
            raise SpecError(
                f"`{where}.place`: no claim is about {analysis['place']!r}."
                f"{closest(analysis['place'], places)} Places: {', '.join(places)}.",
                key=f"{where}.place",
            )


def run(analysis: dict[str, Any], dataset, context: Context) -> Section:
    """Audit table, the claims figure and a count of statuses."""
    from sfpc_eval.plotting import plot_claims
    from sfpc_eval.plotting.claims import DRAWN_STATUSES, figure_size

    table = _audit(analysis)
    level = analysis["conf_level"]
    z = float(stats.norm.ppf(0.5 + level / 2))
    known = table[table["recomputed"].notna()]
    decimals = max(
        [
            decimals_for([(r.conf_high - r.conf_low) / (2 * z)], [r.recomputed])
            for r in known.itertuples(index=False)
        ],
        default=1,
    )
    from sfpc_eval.evidence import load_registry

    registry = load_registry()
    rows = []
    for row in table.itertuples(index=False):
        source = registry[row.id].source
        where = f"{source.publisher or source.authors or source.title} ({source.year})"
        unit = UNITS.get(row.metric, "")
        if math.isnan(row.recomputed):
            value, bounds = Cell(""), Cell("")
        else:
            value = Cell(row.recomputed, NumberFormat("number", decimals, unit))
            bounds = Cell((row.conf_low, row.conf_high), NumberFormat("interval", decimals))
        rows.append([where, row.place, row.wording, value, bounds, row.admissible, row.status])
    counts = table["status"].value_counts().sort_index()
    tally = ", ".join(f"{n} {status}" for status, n in counts.items())
    tables = (
        TableBlock.of(
            Table(
                "Published claims against their re-derived values",
                [
                    "Source",
                    "Place",
                    "Published wording",
                    "Recomputed",
                    f"{level:.0%} CI",
                    "Wording allows",
                    "Status",
                ],
                rows,
                notes=(
                    f"{len(table)} claims: {tally}. Recomputed: the claim's measure (percentages "
                    "marked %) from its published inputs; the wording allows the range shown. "
                    "`sfpc-eval claims` lists the claims with their registry ids.",
                ),
            ),
            provenance="published",
        ),
    )
    figures = ()
    if table["status"].isin(list(DRAWN_STATUSES)).any():
        figures = (
            render_figure(
                "Published claims and their re-derived values",
                lambda ax: plot_claims(table, ax=ax),
                "Conflicts and wordings that do not hold first. Grey bar: the range the "
                "published wording allows; vertical tick: the published figure; marker and "
                f"line: the value recomputed from the published inputs with its {level:.0%} "
                "interval (hollow where the inputs were not published). Marker by status: "
                "pink diamond conflict, orange cross wording does not hold, turquoise square "
                "rounding difference, dark blue circle reproduced.",
                # the plot's own row height; 7.5 in wide so that its smallest text prints at
                # 7 pt or more across the A4 text width (plot_claims alone draws 9 in wide)
                size=(7.5, figure_size(table)[1]),
            ),
        )
    methods = (
        "Each claim's published raw inputs were re-analysed with the estimator its metric "
        "calls for (sfpc_eval.evidence.reproduce: counts by exact Poisson methods, proportions "
        "by Newcombe/Wilson intervals), and the recomputed value compared with the range of "
        "values its wording admits (e.g. 'nearly half' admits 45-50%). Claims whose inputs "
        "were never published are 'stated only'; claims whose wordings cannot both hold are "
        "'conflict'.",
    )
    findings = (f"Of {len(table)} published claims: {tally}.",)
    limitations = (
        "The registry's inputs come from press releases and secondary pages where the primary "
        "reports could not be read; each claim's evidence grade is in the registry.",
    )
    return Section(
        key=context.key,
        title=analysis["title"] or "Published claims re-derived",
        findings=findings,
        summary=(claims_summary(dict(counts.items()), analysis["place"]),),
        methods=methods,
        tables=tables,
        figures=figures,
        limitations=limitations,
    )
