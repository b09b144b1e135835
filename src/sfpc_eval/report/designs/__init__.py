"""One small module per design; each declares its spec keys, checks fit, and builds a section.

A design module defines ``NAME``, ``NEEDS_DATA``, ``DOC``, ``KEYS`` (its ``[[analysis]]`` keys
besides ``design`` and ``title``), ``check(analysis, dataset, where)`` (raise before anything is
computed if the design does not fit the data) and ``run(analysis, dataset, context)`` returning
a :class:`~sfpc_eval.report.blocks.Section`. A design known by name but not offered is listed
in :data:`UNAVAILABLE` with the reason.

Examples
--------
>>> from sfpc_eval.report.designs import DESIGNS
>>> sorted(DESIGNS)[:3]
['before_after', 'claims', 'did']
"""

from __future__ import annotations

from types import ModuleType

from sfpc_eval.report.designs import (
    before_after,
    claims,
    did,
    impact,
    single_council,
    single_la,
    staggered,
    stepped_wedge,
)
from sfpc_eval.report.schema import Key

__all__ = ["COMMON_KEYS", "DESIGNS", "UNAVAILABLE", "analysis_keys", "needs_data"]

COMMON_KEYS = (
    Key("design", "str", "Which design this analysis uses", required=True),
    Key("title", "str", "Heading of the analysis' section (default: generated)"),
)

DESIGNS: dict[str, ModuleType] = {
    m.NAME: m
    for m in (
        before_after,
        did,
        claims,
        single_la,
        single_council,
        staggered,
        stepped_wedge,
        impact,
    )
}
"""Designs this version offers, by name."""

UNAVAILABLE: dict[str, str] = {}
"""Designs known by name but not offered by this version, with the reason (none at present)."""


def needs_data(analysis: dict) -> bool:
    """Whether an analysis reads the spec's ``[data]`` (a design may simulate its own)."""
    module = DESIGNS[analysis["design"]]
    hook = getattr(module, "needs_data", None)
    return hook(analysis) if hook is not None else bool(module.NEEDS_DATA)


def analysis_keys(design: str) -> tuple[Key, ...]:
    """All keys an ``[[analysis]]`` table of this design may hold."""
    return COMMON_KEYS + tuple(DESIGNS[design].KEYS)
