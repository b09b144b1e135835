"""Child-level definitions of exposure to the intervention.

In the primary analysis of a stepped-wedge trial a child is treated when referred on or after
the council's switch date (:func:`sfpc_eval.trials.prepare.council_exposure`). The SFPC
protocols add sensitivity analyses in which exposure depends on how much of the child's own
follow-up window (referral to 18 months later) falls after the switch:

``rule="half_way"``
    treated when the switch date is on or before the midpoint of the window (the child spent
    at least half of it under the intervention). Family Safeguarding's "treatment half way
    group": ``switch <= referral + (end - referral) / 2``, the midpoint counted in days and
    halves of days.
``rule="weeks"``
    treated when at least ``weeks`` weeks of the window fall after the switch and the window is
    longer than that: ``end - referral > 7 weeks`` and ``switch < end - 7 weeks`` (Family
    Safeguarding's "treatment 4 weeks group" with ``weeks=4``; a child referred after the switch
    is treated).

With these rules treatment varies within a council-period (children referred shortly before
the switch can count as treated), so the analysis needs
``stepped_wedge(..., treatment_level="child")``, which still refuses a share of treated
children that falls over a council's periods.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sfpc_eval.errors import InvalidValueError, show_values
from sfpc_eval.panel import require_columns
from sfpc_eval.trials.prepare import _dates, _timestamp, add_months

__all__ = ["RULES", "child_exposure"]

RULES = ("referral", "half_way", "weeks")


def child_exposure(
    data: pd.DataFrame,
    *,
    cluster: str,
    referral: str,
    switch: Mapping[Any, Any],
    rule: str = "half_way",
    weeks: int = 4,
    months: int = 18,
    end: str | None = None,
) -> pd.Series:
    """Tell whether each child counts as treated under a child-level exposure rule.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per child (not modified).
    cluster : str
        Council column.
    referral : str
        Referral date column (the start of the child's window).
    switch : mapping
        Council -> date the council switched to the intervention.
    rule : {"half_way", "weeks", "referral"}, default "half_way"
        See the module notes; ``"referral"`` is the primary definition (referred on or after
        the switch).
    weeks : int, default 4
        ``rule="weeks"``: weeks of the window that must fall after the switch.
    months : int, default 18
        Window length after the referral, in calendar months (``%m+%`` arithmetic).
    end : str, optional
        A column with each child's window end instead (e.g. the end of the open referral when
        it is recorded). An end that depends on the outcome (the day the child became looked
        after) makes exposure depend on the outcome; prefer a fixed window.

    Returns
    -------
    pandas.Series
        0/1 integers with ``data``'s index.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"la": ["A"] * 3,
    ...                   "ref": pd.to_datetime(["2019-12-01", "2020-01-01", "2020-09-02"])})
    >>> sw = {"A": "2020-09-01"}
    >>> child_exposure(d, cluster="la", referral="ref", switch=sw, rule="half_way").tolist()
    [0, 1, 1]
    >>> child_exposure(d, cluster="la", referral="ref", switch=sw, rule="weeks").tolist()
    [1, 1, 1]
    """
    if rule not in RULES:
        raise InvalidValueError(f"`rule` must be one of {', '.join(RULES)}; got {rule!r}.")
    if isinstance(weeks, bool) or not isinstance(weeks, int | np.integer) or weeks < 1:
        raise InvalidValueError(f"`weeks` must be a positive whole number; got {weeks!r}.")
    require_columns(data, {"cluster": cluster, "referral": referral, "end": end})
    unknown = sorted({str(c) for c in data[cluster].unique()} - {str(c) for c in switch})
    if unknown:
        raise InvalidValueError(
            f"`switch` has no date for {cluster} {show_values(unknown)}; give every council's "
            "switch date."
        )
    dates = {str(k): _timestamp(v, f"switch[{k!r}]") for k, v in switch.items()}
    start = _dates(data, referral, "referral")
    limit = pd.to_datetime(data[cluster].astype(str).map(dates))
    if rule == "referral":
        return pd.Series((start >= limit).astype(np.int64).to_numpy(), index=data.index)
    finish = add_months(start, months) if end is None else _dates(data, end, "end")
    early = (finish < start).to_numpy()
    if early.any():
        raise InvalidValueError(
            f"`end` is before the referral in rows {show_values(list(data.index[early]))}."
        )
    day = pd.Timedelta(days=1)
    length = ((finish - start) / day).to_numpy()
    since = ((limit - start) / day).to_numpy()  # days from referral to the switch
    if rule == "half_way":
        treated = since <= length / 2
    else:
        need = 7 * int(weeks)
        treated = (length > need) & (since < length - need)
    return pd.Series(treated.astype(np.int64), index=data.index, name=f"treated_{rule}")
