"""The one rule for the rate a report chart draws: the published rate, else one computed and said.

Where the data carry the DfE's own rate per 10,000 (the ``<measure>_rate`` column of the
harmonised panel, printed by the DfE beside the count), a chart draws that column: the DfE
rounds its rates (to one decimal for plans, to whole numbers for children looked after), and a
chart of count / population x 10,000 (31.28 for Leeds' child protection plans in 2017, where
the DfE prints 31.2) would disagree with the published statistic and with the models, which
use the same column. Only where no rate is published beside the count (the panel's
``<measure>_rate_basis`` is ``"computed"``; a user's CSV/Parquet with an exposure column) is
the rate computed, and the caption says which points are computed (:meth:`PlottedRate.note`).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"la_name": ["Leeds"] * 3, "year": [2016, 2017, 2018],
...                       "cla": [1240, 1262, 1280], "population_0_17": [164e3, 166e3, 168e3],
...                       "cla_rate": [75.5, 76.1, 76.0],
...                       "cla_rate_basis": ["computed", "computed", "published"]})
>>> rate = PlottedRate.dfe("cla")
>>> rate.values(frame).tolist()
[75.5, 76.1, 76.0]
>>> print(rate.note(frame, unit="la_name", time="year"))  # doctest: +NORMALIZE_WHITESPACE
Rates per 10,000 as the DfE publishes them, except where no rate is published beside the
count (Leeds 2016-2017): there the count over the ONS mid-year population aged 0-17 x 10,000.
>>> own = PlottedRate.computed("cla", "population_0_17")
>>> [round(v, 2) for v in own.values(frame)]
[75.61, 76.02, 76.19]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sfpc_eval._trends import group_lines
from sfpc_eval.comparisons.counts import DFE_RATE_BASE

__all__ = ["PlottedRate", "group_rates", "plotted_rate"]

_NAMED = 3
"""Units whose computed years a note lists by name; with more, it counts them."""


@dataclass(frozen=True)
class PlottedRate:
    """What a chart plots for an outcome, and whether that is a published rate.

    Attributes
    ----------
    numerator : str
        The column plotted (``cpp_rate`` on DfE data), or the count divided by ``denominator``.
    denominator : str or None
        Exposure column when the rate is computed here (count / exposure x ``per``).
    per : float
        Multiplier: 10,000 for a computed rate, 1 for a column plotted as it is.
    basis : str or None
        DfE: the column saying, row by row, whether the rate is published or computed.
    is_rate : bool
        The plotted value is a rate per 10,000 (else the outcome on its own scale).
    """

    numerator: str
    denominator: str | None = None
    per: float = 1.0
    basis: str | None = None
    is_rate: bool = False

    @classmethod
    def dfe(cls, outcome: str) -> PlottedRate:
        """Plot the panel's rate column: published beside the count where the DfE prints one."""
        return cls(f"{outcome}_rate", basis=f"{outcome}_rate_basis", is_rate=True)

    @classmethod
    def computed(cls, count: str, exposure: str) -> PlottedRate:
        """Plot a rate the data do not publish: ``count / exposure x 10,000``."""
        return cls(count, exposure, float(DFE_RATE_BASE), is_rate=True)

    @classmethod
    def as_is(cls, column: str) -> PlottedRate:
        """Plot an outcome that is not a rate per 10,000 on its own scale."""
        return cls(column)

    def values(self, frame: pd.DataFrame) -> pd.Series:
        """Return the plotted value of each row of ``frame`` (one row per unit and period)."""
        if self.denominator is None:
            return frame[self.numerator].astype(float) * self.per
        return frame[self.numerator] / frame[self.denominator] * self.per

    def note(self, frame: pd.DataFrame, *, unit: str, time: str, named: Sequence[Any] = ()) -> str:
        """Say which plotted rates are the DfE's and which are computed ("" if not a rate).

        ``frame`` holds the rows the chart draws; a row counts only where its value is present.
        The computed years of each unit are named when there are few units, and always for the
        ``named`` ones (the treated councils); the rest are counted.
        """
        if not self.is_rate:
            return ""
        if self.basis is None:
            return (
                f"Rates per 10,000 computed as {self.numerator} / {self.denominator} x 10,000: "
                "the data have no published rate."
            )
        drawn = frame[self.values(frame).notna()]
        computed = drawn[drawn[self.basis] != "published"]
        if computed.empty:
            return "Rates per 10,000 as the DfE publishes them beside the count."
        where = _where(computed, drawn, unit, time, named)
        if len(computed) == len(drawn):
            return (
                "The DfE publishes no rate beside these counts: rates per 10,000 are the count "
                "over the ONS mid-year population aged 0-17 x 10,000."
            )
        return (
            "Rates per 10,000 as the DfE publishes them, except where no rate is published "
            f"beside the count ({where}): there the count over the ONS mid-year population "
            "aged 0-17 x 10,000."
        )


def _years(values: Sequence[Any]) -> str:
    """Years as runs: 2011-2017, 2019."""
    years = sorted({int(v) for v in values})
    runs: list[list[int]] = []
    for y in years:
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)


def _where(
    computed: pd.DataFrame, drawn: pd.DataFrame, unit: str, time: str, named: Sequence[Any]
) -> str:
    """Name the computed unit-years of few units (and of ``named`` ones); count the rest."""
    by_unit = dict(sorted(computed.groupby(unit, sort=False)[time], key=lambda i: str(i[0])))
    if len(by_unit) <= _NAMED:
        named = list(by_unit)
    parts = [f"{name} {_years(by_unit[name])}" for name in named if name in by_unit]
    rest = computed[~computed[unit].isin(list(named))]
    if len(rest):
        others = drawn[~drawn[unit].isin(list(named))]
        which = "other " if parts else ""
        parts.append(
            f"{len(rest)} of {len(others)} {which}council-years, in {rest[unit].nunique()} "
            f"{which}councils"
        )
    return "; ".join(parts)


def plotted_rate(dataset, outcome: str, exposure: str | None = None) -> PlottedRate:
    """Choose what a chart of ``outcome`` plots (module notes).

    Parameters
    ----------
    dataset : Dataset
        The report's data (:class:`sfpc_eval.report.sources.Dataset`).
    outcome : str
        DfE: the measure (``"cpp"``); otherwise the outcome column (a count with ``exposure``).
    exposure : str, optional
        CSV/Parquet: the population column a count is divided by (ignored on DfE data, whose
        rate column is used).

    Returns
    -------
    PlottedRate
    """
    if dataset.kind == "dfe":
        return PlottedRate.dfe(outcome)
    if exposure is not None:
        return PlottedRate.computed(outcome, exposure)
    return PlottedRate.as_is(outcome)


def group_rates(
    frame: pd.DataFrame, dataset, treated: Sequence[Any], rate: PlottedRate
) -> pd.DataFrame:
    """Per period: the treated and comparison groups' line, by the one definition.

    Each council's own plotted value in the period (:class:`PlottedRate`: the published rate,
    or its summed count over summed exposure x 10,000, or the mean of the outcome over its
    rows), averaged over the councils of the group, each counting once
    (:func:`sfpc_eval._trends.group_lines`, as every chart's comparison line is). Returns
    ``time``, ``group`` and ``mean``.
    """
    in_treated = frame[dataset.unit].isin(list(treated))
    grouped = frame.assign(_group=in_treated.map({True: "treated", False: "comparison"}))
    lines = group_lines(
        grouped,
        unit=dataset.unit,
        time=dataset.time,
        group="_group",
        numerator=rate.numerator,
        denominator=rate.denominator,
        per=rate.per,
    )
    return lines[["time", "group", "mean"]]
