"""Placebo in time: move the start of the programme back into the pre-period and refit.

A design that finds an "effect" at a date when nothing happened is finding its own misfit
(Abadie, Diamond and Hainmueller 2015, section 4). :func:`placebo_in_time` keeps only the
periods before the real start, pretends the programme began at each ``placebo_start`` and
refits the synthetic control, the synthetic DiD or the interrupted time series; the placebo
"effects" sit beside the estimate at the real start. The synthetic control refit uses only the
periods before the placebo start to choose its weights (its predictors are cut to them), as
diff-diff's ``in_time_placebo`` does.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval._validate import check_conf_level
from sfpc_eval.errors import DesignError, InvalidValueError, show_values
from sfpc_eval.labels import label
from sfpc_eval.panel import require_columns
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.single_unit._panel import design_panel
from sfpc_eval.single_unit.its import MIN_SEGMENT, its
from sfpc_eval.single_unit.synthdid import synthetic_did
from sfpc_eval.single_unit.synthetic import synthetic_control

_NO_INTERVAL = {
    "synthetic_control": "no interval: placebo-in-space inference gives a p-value",
    "synthetic_did": "no interval: too few placebo councils for the placebo variance",
    "its": "no interval: the Newey-West variance could not be computed",
}

__all__ = ["PLACEBO_METHODS", "PlaceboInTimeResult", "placebo_in_time"]

PLACEBO_METHODS = ("synthetic_control", "synthetic_did", "its")
_COLUMNS = ["start", "estimate", "conf_low", "conf_high", "p_value", "pre_rmspe", "n_pre", "n_post"]


@dataclass(frozen=True)
class PlaceboInTimeResult(ResultMixin):
    """Result of :func:`placebo_in_time`.

    Attributes
    ----------
    outcome : str
        Outcome column.
    treated_unit, start : object
        The council and the real start.
    method : str
        ``"synthetic_control"``, ``"synthetic_did"`` or ``"its"``.
    terms : tuple of Term
        ``actual@<start>`` (the design at the real start) then ``placebo@<placebo start>``
        per placebo: the mean gap from the (placebo) start for the synthetic control, the ATT
        for the synthetic DiD, the level change for the interrupted time series, each with the
        method's own p-value and interval where it has one.
    table : pandas.DataFrame
        The same as rows: ``start``, ``estimate``, ``conf_low``, ``conf_high``, ``p_value``,
        ``pre_rmspe`` (synthetic control: pre-period fit), ``n_pre``, ``n_post``, and ``kind``
        (``"actual"`` or ``"placebo"``).
    """

    outcome: str
    treated_unit: object
    start: object
    method: str
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)
    table: pd.DataFrame = field(repr=False, compare=False)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return (
            f"Placebo in time ({label(self.method, lower=True)}): {label(self.outcome)} "
            f"of {self.treated_unit}"
        )

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        placebos = self.table[self.table["kind"] == "placebo"]["start"]
        return [
            ("real start", str(self.start)),
            ("placebo starts", ", ".join(map(str, placebos))),
        ]

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(estimator="placebo_in_time", n_treated=1)
        return facts

    def _refit(self, conf_level: float) -> PlaceboInTimeResult:
        # the intervals are the methods' own; recomputing them needs the data again
        return dataclasses.replace(self, conf_level=conf_level)


def _check_starts(placebo_start: object, periods: np.ndarray, start: object, method: str) -> list:
    starts = (
        list(placebo_start)
        if isinstance(placebo_start, list | tuple | np.ndarray | pd.Index)
        else [placebo_start]
    )
    if not starts:
        raise InvalidValueError("`placebo_start` is empty; give one or more pre-periods.")
    before = [p for p in periods if p < start]
    need_before = MIN_SEGMENT if method == "its" else 2
    need_after = MIN_SEGMENT if method == "its" else 1
    allowed = before[need_before : len(before) - need_after + 1]
    outside = [p for p in starts if p not in set(allowed)]
    if outside:
        raise DesignError(
            f"`placebo_start` {show_values(outside)} is outside the pre-period: a placebo start "
            f"must be a period before `start` ({start!r}) with at least {need_before} periods "
            f"before it and {need_after} from it to {start!r} for {method}. Possible placebo "
            f"starts: {show_values(allowed, limit=8) if allowed else 'none (too few pre-periods)'}."
        )
    return starts


def _one(method, data, design, pool, options, level) -> tuple:
    """Estimate, interval, p-value, pre-period RMSPE of ``method`` at ``design['start']``."""
    if method == "synthetic_control":
        fit = synthetic_control(
            data,
            **design,
            donors=pool,
            exclude_donors=None,
            leave_one_out=False,
            conf_level=level,
            **options,
        )
        term = fit.term("mean_post_gap")
        return term.estimate, math.nan, math.nan, term.p_value, fit.pre_rmspe
    if method == "synthetic_did":
        fit = synthetic_did(data, **design, donors=pool, conf_level=level, **options)
        term = fit.term("att")
        return term.estimate, term.conf_low, term.conf_high, term.p_value, math.nan
    series = data[data[design["unit"]] == design["treated_unit"]]
    fit = its(
        series[[design["time"], design["outcome"]]],
        outcome=design["outcome"],
        time=design["time"],
        start=design["start"],
        conf_level=level,
        **options,
    )
    term = fit.term("level_change")
    return term.estimate, term.conf_low, term.conf_high, term.p_value, math.nan


def placebo_in_time(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: object,
    start: object,
    placebo_start: object,
    method: str = "synthetic_control",
    donors: Sequence | None = None,
    exclude_donors: object = "default",
    conf_level: float = 0.95,
    **options: object,
) -> PlaceboInTimeResult:
    """Refit a single-council design with the start moved into the pre-period.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per council and period. Not modified.
    outcome, unit, time : str
        Columns.
    treated_unit, start : object
        The council and the real first period under the programme.
    placebo_start : object or list
        One or more pre-periods to pretend the programme began in. Each needs 2 periods before
        it (3 for ITS) and at least 1 (3 for ITS) between it and ``start``.
    method : {"synthetic_control", "synthetic_did", "its"}, default "synthetic_control"
        The design to refit.
    donors, exclude_donors
        As in :func:`~sfpc_eval.single_unit.synthetic.synthetic_control` (not used by ITS).
    conf_level : float, default 0.95
        Level of the methods' own intervals.
    **options
        Passed to the design (``replications``, ``rng`` for the synthetic DiD; ``hac_lags``
        for ITS; ``predictors`` for the synthetic control...).

    Returns
    -------
    PlaceboInTimeResult

    Raises
    ------
    DesignError
        A placebo start outside the pre-period (the message lists the possible ones); the
        design's own errors.
    InvalidValueError
        An unknown ``method``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> rows = [(u, y, 40 + 3 * u + y + rng.normal(0, 0.3) - 5 * (u == 3) * (y >= 10))
    ...         for u in range(8) for y in range(14)]
    >>> panel = pd.DataFrame(rows, columns=["la", "year", "rate"])
    >>> res = placebo_in_time(panel, outcome="rate", unit="la", time="year", treated_unit=3,
    ...                       start=10, placebo_start=[6, 8])
    >>> res.table[["kind", "start"]].values.tolist()
    [['actual', 10], ['placebo', 6], ['placebo', 8]]
    >>> bool(abs(res.table["estimate"].iloc[1]) < 1 < abs(res.table["estimate"].iloc[0]))
    True
    """
    level = check_conf_level(conf_level)
    if method not in PLACEBO_METHODS:
        raise InvalidValueError(
            f"`method` must be one of {', '.join(map(repr, PLACEBO_METHODS))}; got {method!r}."
        )
    require_columns(data, {"outcome": outcome, "unit": unit, "time": time})
    design = {"outcome": outcome, "unit": unit, "time": time, "treated_unit": treated_unit}
    if method == "its":
        pool = None
        periods = np.sort(pd.unique(data.loc[data[unit] == treated_unit, time]))
    else:
        wide, _, _ = design_panel(
            data, outcome, unit, time, [treated_unit], donors, start, exclude_donors
        )
        pool = list(wide.columns[:-1])
        periods = wide.index.to_numpy()
    starts = _check_starts(placebo_start, periods, start, method)
    before = data[data[time] < start]
    rows = [
        (
            "actual",
            start,
            *_one(method, data, {**design, "start": start}, pool, options, level),
            int((periods < start).sum()),
            int((periods >= start).sum()),
        )
    ]
    for placebo in starts:
        values = _one(method, before, {**design, "start": placebo}, pool, options, level)
        n_pre = int((periods < placebo).sum())
        rows.append(
            (
                "placebo",
                placebo,
                *values,
                n_pre,
                int(((periods >= placebo) & (periods < start)).sum()),
            )
        )
    table = pd.DataFrame(rows, columns=["kind", *_COLUMNS])
    label = {
        "synthetic_control": "mean gap from the start (placebo-in-space p-value)",
        "synthetic_did": "ATT, placebo variance",
        "its": "level change, Newey-West",
    }[method]
    terms = tuple(
        Term(
            f"{kind}@{s}",
            est,
            p_value=p,
            conf_low=low,
            conf_high=high,
            method=label,
            note="; ".join(
                part
                for part in (
                    "" if np.isfinite([low, high]).all() else _NO_INTERVAL[method],
                    ""
                    if kind == "actual"
                    else f"data before {start!r} only; programme pretended to start at {s!r}",
                )
                if part
            ),
        )
        for kind, s, est, low, high, p, *_ in rows
    )
    return PlaceboInTimeResult(
        outcome=outcome,
        treated_unit=treated_unit,
        start=start,
        method=method,
        conf_level=level,
        terms=terms,
        table=table,
    )
