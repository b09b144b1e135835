"""The one definition of a group's line over time (treated and comparison lines).

Every chart and table of "treated vs comparison" in sfpc_eval draws the same quantity:

    In each period, each unit's own value (its rate per 10,000, its mean or its share: the
    unit's summed numerator over its summed denominator in that period), averaged over the
    units of the group, **each unit counting once**.

This is the average a linear difference-in-differences on unit-level values compares: with one
start date and a balanced panel, the two-way fixed-effects estimate equals the change in the
treated line minus the change in the comparison line between the periods before and after the
start (``tests/test_trends.py`` checks it). It is *not* the pooled rate of the group (summed
counts over summed population), in which a large council outweighs a small one; that number
answers a different question, and a chart of it would not show what the estimate compares.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"la": ["A", "B", "C", "A", "B", "C"], "year": [1, 1, 1, 2, 2, 2],
...                       "group": ["treated", "comparison", "comparison"] * 2,
...                       "rate": [10.0, 20.0, 40.0, 12.0, 22.0, 38.0]})
>>> group_lines(frame, unit="la", time="year", group="group", numerator="rate")
   time       group  mean  units  rows
0     1  comparison  30.0      2     2
1     1     treated  10.0      1     1
2     2  comparison  30.0      2     2
3     2     treated  12.0      1     1
"""

from __future__ import annotations

import pandas as pd

from sfpc_eval.errors import MissingColumnError

__all__ = ["DEFINITION", "group_lines"]

DEFINITION = (
    "each group's line is the average of its units' own values (a unit's rate, mean or share "
    "in the period), each unit counting once"
)
"""The definition in words, for captions and notes."""


def group_lines(
    frame: pd.DataFrame,
    *,
    unit: str,
    time: str,
    group: str,
    numerator: str,
    denominator: str | None = None,
    per: float = 1.0,
) -> pd.DataFrame:
    """Per period and group: the mean over units of each unit's value (see the module).

    Parameters
    ----------
    frame : pandas.DataFrame
        One or more rows per unit and period.
    unit, time, group : str
        Columns: the unit, the period and the group (e.g. ``"treated"``/``"comparison"``).
    numerator : str
        The value column; with ``denominator``, the numerator of the unit's value.
    denominator : str, optional
        A unit's value in a period is ``sum(numerator) / sum(denominator) * per`` over its rows
        in that period (a rate with an exposure, a mean with weights); without it, the mean of
        ``numerator`` over the unit's rows times ``per``.
    per : float, default 1
        Multiplier (10,000 for a rate per 10,000 children from counts and population).

    Returns
    -------
    pandas.DataFrame
        ``time``, ``group``, ``mean`` (the line), ``units`` (units averaged) and ``rows``,
        sorted by period and group. Units whose value is missing in a period are left out of
        that period's average (``units`` says how many were averaged).

    Raises
    ------
    MissingColumnError
        A named column is not in ``frame``.
    """
    needed = [unit, time, group, numerator, *([denominator] if denominator else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise MissingColumnError("frame", missing, list(frame.columns))
    keys = [time, group, unit]
    if denominator is None:
        sums = frame.groupby(keys, sort=True, observed=True).agg(
            num=(numerator, "mean"), rows=(numerator, "size")
        )
        value = sums["num"] * per
    else:
        sums = frame.groupby(keys, sort=True, observed=True).agg(
            num=(numerator, lambda s: s.sum(min_count=1)),
            den=(denominator, lambda s: s.sum(min_count=1)),
            rows=(numerator, "size"),
        )
        value = sums["num"] / sums["den"] * per
    units = pd.DataFrame({"value": value, "rows": sums["rows"]}).reset_index()
    out = units.groupby([time, group], sort=True, observed=True).agg(
        mean=("value", "mean"), units=("value", "count"), rows=("rows", "sum")
    )
    out = out.reset_index().rename(columns={time: "time", group: "group"})
    return out[["time", "group", "mean", "units", "rows"]]
