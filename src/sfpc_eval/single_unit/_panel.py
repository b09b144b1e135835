"""The wide panel every single-council design works on, and its donor pool.

:func:`wide_panel` checks a long panel (one row per council and period, no gaps, the treated
council present and outside the donor pool, at least 2 pre-periods) and returns it as periods x
councils; :func:`design_panel` first applies the donor exclusions
(:func:`~sfpc_eval.single_unit.donors.donor_pool`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sfpc_eval.errors import DesignError, DuplicateObservationError, show_values
from sfpc_eval.panel import (
    match_period,
    numeric_column,
    period_column,
    require_columns,
    require_present,
)
from sfpc_eval.single_unit.donors import donor_pool

__all__ = ["design_panel", "progress", "wide_panel"]


def wide_panel(
    frame: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    treated: list,
    donors: Sequence | None,
    start: object,
) -> pd.DataFrame:
    """Validate a long panel for a single-council design and return it wide.

    Returns periods x councils (donors first, then the treated councils). Raises
    :class:`DesignError` naming the problem: a treated council missing from the data or inside
    the donor pool, unknown donors, ``start`` not a period, fewer than 2 pre-periods, or
    councils with gaps (listed with their missing periods).
    """
    duplicated = frame.duplicated([unit, time], keep=False).to_numpy()
    if duplicated.any():
        raise DuplicateObservationError(
            f"{unit} x {time} rows repeat in rows {show_values(list(frame.index[duplicated]))}; "
            "a single-council design needs one row per council and period."
        )
    # pivot (not pivot_table): duplicates were refused above, nothing may be aggregated
    wide = frame.pivot(index=time, columns=unit, values=outcome).sort_index()  # noqa: PD010
    absent = [u for u in treated if u not in wide.columns]
    if absent:
        raise DesignError(
            f"`treated_unit` {show_values(absent)} not in `unit` column {unit!r}; check the "
            "spelling (councils present include "
            f"{show_values(list(wide.columns)[:5], limit=5)})."
        )
    pool = [u for u in wide.columns if u not in treated] if donors is None else list(donors)
    inside = [u for u in treated if u in pool]
    if inside:
        raise DesignError(
            f"`treated_unit` {show_values(inside)} is in the donor pool; remove it from `donors`."
        )
    missing = [d for d in pool if d not in wide.columns]
    if missing:
        raise DesignError(f"donors {show_values(missing)} are not in `unit` column {unit!r}.")
    if len(pool) < 2:
        raise DesignError(f"the donor pool has {len(pool)} council(s); it needs at least 2.")
    periods = wide.index.to_numpy()
    if start not in set(periods):
        raise DesignError(f"`start` {start!r} is not a period of `time` column {time!r}.")
    if int((periods < start).sum()) < 2:
        raise DesignError(
            f"a single-council design needs at least 2 periods before {start!r}; the data have "
            f"{int((periods < start).sum())}."
        )
    wide = wide[[*pool, *treated]]
    before = periods < start
    for council in treated:
        gaps = periods[before & wide[council].isna().to_numpy()]
        if len(gaps):
            raise DesignError(
                f"the treated council {council!r} has no {outcome!r} in pre-period(s) "
                f"{show_values([str(p) for p in gaps])}: the comparison is fitted to every "
                f"period before {start!r}. Fill those periods, or start the data after them."
            )
    holes = wide.isna()
    if holes.to_numpy().any():
        listed = [
            f"{u!r} ({', '.join(str(p) for p in periods[holes[u].to_numpy()])})"
            for u in wide.columns[holes.any()]
        ]
        shown = "; ".join(listed[:8]) + (f"; and {len(listed) - 8} more" if len(listed) > 8 else "")
        raise DesignError(
            f"{len(listed)} council(s) have no {outcome!r} in some periods (missing periods in "
            f"brackets): {shown}. These designs need a balanced panel: drop those councils from "
            "`donors` or fill the gaps."
        )
    return wide


def _outcome_panel(
    data, outcome, unit, time, treated, donors, start
) -> tuple[pd.DataFrame, object]:
    """Check the columns, read ``outcome`` as numbers and return :func:`wide_panel` of them.

    Periods are read with :func:`~sfpc_eval.panel.period_column` (text that reads as numbers
    becomes numbers, so "10" comes after "9"); ``start`` is returned as the period it names.
    """
    require_columns(data, {"outcome": outcome, "unit": unit, "time": time})
    require_present(data, unit, argument="unit")
    require_present(data, time, argument="time")
    frame = data[[unit, time]].copy()
    frame[time] = period_column(data, time, argument="time")
    frame[outcome] = numeric_column(data, outcome, argument="outcome")
    start = match_period(start, data[time], frame[time])
    return wide_panel(frame, outcome, unit, time, treated, donors, start), start


def design_panel(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    treated: list,
    donors: Sequence | None,
    start: object,
    exclude: object = "default",
) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    """:func:`_outcome_panel` after the donor exclusions.

    Returns the wide panel, the table of excluded donors and ``start`` as the period it names.
    """
    require_columns(data, {"outcome": outcome, "unit": unit, "time": time})
    units = list(pd.unique(data[unit]))
    absent = [u for u in treated if u not in set(units)]
    if absent:
        raise DesignError(
            f"`treated_unit` {show_values(absent)} not in `unit` column {unit!r}; check the "
            f"spelling (councils present include {show_values(units[:5], limit=5)})."
        )
    pool, excluded = donor_pool(units, treated, donors, exclude)
    wide, start = _outcome_panel(data, outcome, unit, time, treated, pool, start)
    return wide, excluded, start


def progress(items, show: bool, desc: str):
    """``items`` with a tqdm progress bar when ``show``."""
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="fit")
