"""The measures the readers return, with stable snake_case names.

Counts are at 31 March (``*_at_31_march``) or over the year ending 31 March (``referrals``,
``cla_started``, ``cla_ceased``). Rates are per 10,000 children aged 0-17. The population is the
ONS mid-year estimate of children aged 0-17; its ``year`` is the mid-year (30 June), and the DfE
rate for the year ending 31 March *t* uses the mid-year *t - 1*.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MEASURES", "PANEL_MEASURES", "Measure"]


@dataclass(frozen=True)
class Measure:
    """A measure: its name, what it counts, and its unit.

    Attributes
    ----------
    name : str
        Stable snake_case name used in the ``measure`` column.
    label : str
        What it is, in words.
    unit : {"count", "rate", "population"}
        ``rate`` is per 10,000 children aged 0-17.
    count : str or None
        For a rate, the count it is the rate of.
    """

    name: str
    label: str
    unit: str
    count: str | None = None


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("cla_at_31_march", "children looked after at 31 March", "count"),
        Measure(
            "cla_rate_per_10k",
            "children looked after at 31 March per 10,000 aged 0-17",
            "rate",
            "cla_at_31_march",
        ),
        Measure("cla_started", "children starting to be looked after in the year", "count"),
        Measure(
            "cla_started_rate_per_10k",
            "children starting to be looked after per 10,000",
            "rate",
            "cla_started",
        ),
        Measure("cla_ceased", "children ceasing to be looked after in the year", "count"),
        Measure(
            "cla_ceased_rate_per_10k",
            "children ceasing to be looked after per 10,000",
            "rate",
            "cla_ceased",
        ),
        Measure("cpp_at_31_march", "children on a child protection plan at 31 March", "count"),
        Measure(
            "cpp_rate_per_10k",
            "children on a child protection plan at 31 March per 10,000",
            "rate",
            "cpp_at_31_march",
        ),
        Measure("cin_at_31_march", "children in need at 31 March (episodes)", "count"),
        Measure(
            "cin_rate_per_10k",
            "children in need at 31 March per 10,000",
            "rate",
            "cin_at_31_march",
        ),
        Measure("referrals", "referrals to children's social care in the year", "count"),
        Measure(
            "population_0_17",
            "ONS mid-year estimate of children aged 0-17 (year = mid-year)",
            "population",
        ),
    )
}
"""Every measure a reader can return, by name."""

PANEL_MEASURES: dict[str, str] = {
    "cla": "cla_at_31_march",
    "cpp": "cpp_at_31_march",
    "cin": "cin_at_31_march",
    "referrals": "referrals",
    "cla_started": "cla_started",
    "cla_ceased": "cla_ceased",
}
"""Short names :func:`~sfpc_eval.data.la_panel` accepts, and the count each stands for."""


def rate_of(count: str) -> str | None:
    """Return the name of the published rate of ``count``, if there is one.

    Examples
    --------
    >>> rate_of("cpp_at_31_march")
    'cpp_rate_per_10k'
    """
    for m in MEASURES.values():
        if m.unit == "rate" and m.count == count:
            return m.name
    return None
