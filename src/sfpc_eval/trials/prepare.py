"""From a referral extract to one row per child: first referrals, outcome windows, periods.

The SFPC trials' primary outcome is "looked after within 18 months of the first referral in the
trial period". Getting there from the councils' data returns takes three steps, each a function
here:

- :func:`first_referrals`: one row per child, the earliest referral within the trial window
  (ties on the same day reported, the first row in the extract kept);
- :func:`outcome_within`: 1 when an event (a period of care starting) falls within the window
  after the referral, 0 when none does; events before the referral do not count, and windows
  that run past the end of the follow-up data are refused (or marked) rather than read as
  "no event";
- :func:`trial_periods` and :func:`council_exposure`: the trial period each referral date
  falls in, and whether the child's council had switched to the intervention by then (for
  child-level definitions such as "referred at least half way into the window", see
  :func:`sfpc_eval.trials.child_exposure.child_exposure`).

Month arithmetic follows lubridate's ``%m+%`` (what the SFPC scripts use): adding 18 months to
31 August gives 28 (or 29) February, never 3 March.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sfpc_eval.errors import DesignError, InvalidValueError, show_values
from sfpc_eval.panel import require_columns

__all__ = [
    "add_months",
    "council_exposure",
    "first_referrals",
    "outcome_within",
    "switch_dates",
    "trial_periods",
]


def _dates(data: pd.DataFrame, column: str, argument: str, *, allow_missing=False) -> pd.Series:
    raw = data[column]
    try:
        values = pd.to_datetime(raw)
    except (ValueError, TypeError) as err:
        raise InvalidValueError(
            f"`{argument}` column {column!r} holds values that are not dates ({err}). Parse it "
            "with pandas.to_datetime(..., format=...) first."
        ) from None
    missing = values.isna().to_numpy() & raw.notna().to_numpy()
    if missing.any():
        raise InvalidValueError(
            f"`{argument}` column {column!r} has values that are not dates in rows "
            f"{show_values(list(data.index[missing]))}."
        )
    if not allow_missing and values.isna().any():
        rows = list(data.index[values.isna().to_numpy()])
        raise InvalidValueError(
            f"`{argument}` column {column!r} is missing in rows {show_values(rows)}; every row "
            "needs this date."
        )
    return values.dt.normalize()


def _timestamp(value: Any, argument: str) -> pd.Timestamp:
    try:
        out = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InvalidValueError(f"`{argument}` must be a date; got {value!r}.") from None
    if pd.isna(out):
        raise InvalidValueError(f"`{argument}` must be a date; got {value!r}.")
    return out.normalize()


def add_months(dates: pd.Series, months: int) -> pd.Series:
    """Add calendar months, clipping to the month's last day (lubridate's ``%m+%``).

    Examples
    --------
    >>> import pandas as pd
    >>> add_months(pd.Series(pd.to_datetime(["2020-08-31", "2021-01-15"])), 18).dt.date.tolist()
    [datetime.date(2022, 2, 28), datetime.date(2022, 7, 15)]
    """
    if isinstance(months, bool) or not isinstance(months, int | np.integer) or months < 0:
        raise InvalidValueError(f"`months` must be a non-negative whole number; got {months!r}.")
    return dates + pd.DateOffset(months=int(months))


def first_referrals(
    extract: pd.DataFrame,
    *,
    child: str,
    date: str,
    start: Any = None,
    end: Any = None,
) -> pd.DataFrame:
    """Keep each child's earliest referral within ``[start, end)``.

    Parameters
    ----------
    extract : pandas.DataFrame
        One row per referral (not modified).
    child : str
        Child identifier.
    date : str
        Referral date.
    start, end : date, optional
        The trial window: referrals before ``start`` or on or after ``end`` are ignored (a
        child whose first referral in the window came after earlier ones outside it is kept,
        from that referral).

    Returns
    -------
    pandas.DataFrame
        The kept rows (original index), sorted by child, with ``attrs["first_referrals"]``
        counting the referrals read, outside the window, later referrals dropped and children
        with two referrals on their first day (the first row in the extract kept).

    Examples
    --------
    >>> import pandas as pd
    >>> ex = pd.DataFrame({"id": [1, 1, 2], "ref": ["2021-03-01", "2020-11-02", "2021-01-05"]})
    >>> first_referrals(ex, child="id", date="ref")["ref"].tolist()
    ['2020-11-02', '2021-01-05']
    """
    require_columns(extract, {"child": child, "date": date})
    if extract[child].isna().any():
        rows = list(extract.index[extract[child].isna().to_numpy()])
        raise InvalidValueError(
            f"`child` column {child!r} is missing in rows {show_values(rows)}: a referral that "
            "cannot be linked to a child cannot be counted."
        )
    dates = _dates(extract, date, "date")
    inside = np.ones(len(extract), dtype=bool)
    if start is not None:
        inside &= (dates >= _timestamp(start, "start")).to_numpy()
    if end is not None:
        inside &= (dates < _timestamp(end, "end")).to_numpy()
    frame = pd.DataFrame(
        {"child": extract[child].to_numpy(), "date": dates.to_numpy(), "row": np.arange(len(dates))}
    )[inside]
    frame = frame.sort_values(["child", "date", "row"], kind="stable")
    first = ~frame["child"].duplicated()
    firsts = frame[first]
    same_day = frame[frame.duplicated(["child", "date"], keep=False)]
    tied = same_day.merge(firsts[["child", "date"]], on=["child", "date"])["child"].nunique()
    out = extract.iloc[firsts["row"].to_numpy()].copy()
    out.attrs["first_referrals"] = {
        "referrals": len(extract),
        "outside_window": int((~inside).sum()),
        "later_referrals": int(inside.sum() - len(firsts)),
        "children": len(out),
        "same_day_ties": int(tied),
    }
    return out


def outcome_within(
    data: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    start: str,
    event: str,
    months: int = 18,
    child: str | None = None,
    follow_up_end: Any = None,
    censored: str = "error",
) -> pd.Series:
    """Return 1 if an event falls within ``months`` of ``start`` (inclusive), else 0.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per child with the window's start date (the referral).
    events : pandas.DataFrame, optional
        One row per event (``child`` and ``event`` columns), for children with several; without
        it ``event`` is a column of ``data`` (the event date, missing when none).
    start : str
        Start of the window.
    event : str
        Event date column (in ``events`` if given, else in ``data``).
    months : int, default 18
        Window length in calendar months: events on days ``start`` to ``start + months``
        (lubridate's ``%m+%``), both ends included, as the SFPC scripts count.
    child : str, optional
        Child identifier linking ``data`` and ``events``.
    follow_up_end : date, optional
        Last day the event data cover. A window ending after it with no event seen is not a 0
        but an unknown: ``censored="error"`` (default) refuses such rows naming them,
        ``"missing"`` returns NaN for them (to be excluded explicitly).
    censored : {"error", "missing"}, default "error"

    Returns
    -------
    pandas.Series
        0/1 (float, NaN where censored), with ``data``'s index.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"ref": pd.to_datetime(["2020-03-10", "2020-05-01", "2021-01-04"]),
    ...                   "cla": pd.to_datetime(["2021-09-10", "2020-01-01", None])})
    >>> outcome_within(d, start="ref", event="cla").tolist()
    [1.0, 0.0, 0.0]
    """
    if censored not in ("error", "missing"):
        raise InvalidValueError(f"`censored` must be 'error' or 'missing'; got {censored!r}.")
    begin = _dates(data, start, "start")
    finish = add_months(begin, months)
    if events is None:
        require_columns(data, {"start": start, "event": event})
        when = _dates(data, event, "event", allow_missing=True)
        hit = (when >= begin) & (when <= finish)
        out = hit.astype(np.float64)
    else:
        if child is None:
            raise InvalidValueError("`child` is needed to link `data` and `events`.")
        require_columns(data, {"start": start, "child": child})
        require_columns(events, {"event": event, "child": child})
        when = _dates(events, event, "event", allow_missing=True)
        pairs = pd.DataFrame({"child": events[child].to_numpy(), "when": when.to_numpy()})
        pairs = pairs.dropna()
        rows = pd.DataFrame(
            {
                "child": data[child].to_numpy(),
                "begin": begin.to_numpy(),
                "finish": finish.to_numpy(),
                "pos": np.arange(len(data)),
            }
        )
        joined = rows.merge(pairs, on="child", how="inner")
        inside = joined[(joined["when"] >= joined["begin"]) & (joined["when"] <= joined["finish"])]
        out_values = np.zeros(len(data))
        out_values[inside["pos"].unique()] = 1.0
        out = pd.Series(out_values, index=data.index)
    if follow_up_end is not None:
        limit = _timestamp(follow_up_end, "follow_up_end")
        open_window = (finish > limit).to_numpy() & (out.to_numpy() == 0)
        if open_window.any():
            if censored == "error":
                raise DesignError(
                    f"{int(open_window.sum()):,} children's {months}-month windows end after the "
                    f"follow-up data ({limit.date()}) with no event seen so far (rows "
                    f"{show_values(list(data.index[open_window]))}): their outcome is unknown, not "
                    "0. Restrict to referrals early enough for full follow-up, or pass "
                    "censored='missing' and exclude them explicitly."
                )
            out = out.where(~open_window)
    return out.rename(f"event_within_{months}_months")


def switch_dates(design) -> dict:
    """Return each council's switch date from a dated :class:`SteppedWedgeDesign`."""
    if design.period_starts is None:
        raise InvalidValueError(
            "the design has no dates; build it with SteppedWedgeDesign.from_switch_dates."
        )
    exposure = design.exposure_matrix()
    out = {}
    for i, c in enumerate(design.clusters):
        on = np.flatnonzero(exposure[i] >= 1)
        out[c] = design.period_starts[on[0]] if len(on) else pd.NaT
    return out


def trial_periods(
    data: pd.DataFrame,
    date: str,
    *,
    starts: Sequence[Any],
    end: Any,
    labels: Sequence[Any] | None = None,
) -> pd.Series:
    """Return the trial period each date falls in: ``[starts[k], starts[k+1])``, last to ``end``.

    Dates outside ``[starts[0], end]`` are refused, naming the rows. ``labels`` default to
    0, 1, 2...

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"ref": pd.to_datetime(["2020-03-02", "2020-09-01", "2021-01-31"])})
    >>> trial_periods(d, "ref", starts=["2020-03-01", "2020-09-01"], end="2021-02-01").tolist()
    [0, 1, 1]
    """
    bounds = [_timestamp(s, f"starts[{i}]") for i, s in enumerate(starts)]
    last = _timestamp(end, "end")
    if any(b >= a for a, b in zip(bounds[1:], bounds[:-1], strict=False)) or bounds[-1] >= last:
        raise InvalidValueError(
            f"`starts` must increase and end before `end`; got {[b.date() for b in bounds]}, "
            f"end {last.date()}."
        )
    if labels is not None and len(labels) != len(bounds):
        raise InvalidValueError(
            f"`labels` must have one label per period ({len(bounds)}); got {len(labels)}."
        )
    when = _dates(data, date, "date")
    outside = ((when < bounds[0]) | (when > last)).to_numpy()
    if outside.any():
        raise InvalidValueError(
            f"dates in `{date}` outside the trial ({bounds[0].date()} to {last.date()}) in rows "
            f"{show_values(list(data.index[outside]))}: select the trial's referrals first "
            "(first_referrals(..., start=, end=))."
        )
    edges = np.array([b.to_datetime64() for b in bounds], dtype="datetime64[ns]")
    codes = np.searchsorted(edges, when.to_numpy().astype("datetime64[ns]"), side="right") - 1
    values = np.asarray(labels if labels is not None else range(len(bounds)), dtype=object)
    out = pd.Series(values[codes], index=data.index, name="period")
    return out.astype(np.int64) if labels is None else out


def council_exposure(
    data: pd.DataFrame, *, cluster: str, date: str, switch: Mapping[Any, Any]
) -> pd.Series:
    """Return 1 when the child's referral date is on or after the council's switch date.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"la": ["A", "A", "B"],
    ...                   "ref": pd.to_datetime(["2020-08-31", "2020-09-01", "2021-01-01"])})
    >>> council_exposure(d, cluster="la", date="ref",
    ...                  switch={"A": "2020-09-01", "B": "2021-02-01"}).tolist()
    [0, 1, 0]
    """
    require_columns(data, {"cluster": cluster, "date": date})
    unknown = sorted({str(c) for c in data[cluster].unique()} - {str(c) for c in switch})
    if unknown:
        raise InvalidValueError(
            f"`switch` has no date for {cluster} {show_values(unknown)}; give every council's "
            "switch date."
        )
    dates = {str(k): _timestamp(v, f"switch[{k!r}]") for k, v in switch.items()}
    when = _dates(data, date, "date")
    limit = data[cluster].astype(str).map(dates)
    return pd.Series((when >= limit).astype(np.int64).to_numpy(), index=data.index, name="treated")
