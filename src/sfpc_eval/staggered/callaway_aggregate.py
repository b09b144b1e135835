"""Aggregate ATT(g, t) into summary effects, with influence functions (no re-estimation).

Every aggregation is a weighted average of group-time effects,
``theta = sum_k w_k ATT(g_k, t_k)``, with weights proportional to the cohort's share of units
(``P(G = g)``, estimated by the weighted share of units in cohort ``g``). Its influence
function is the same weighted average of the cells' influence functions plus the influence of
estimating the weights (Callaway & Sant'Anna 2021, section 4 and appendix; R ``did``'s
``compute.aggte``):

- ``"simple"``: all post-treatment cells (``t >= g``), weighted by cohort size;
- ``"group"``: per cohort, the mean over its post-treatment periods; overall, those
  averaged with cohort-size weights;
- ``"calendar"``: per period, the cohort-size-weighted mean over cohorts already treated;
  overall, the plain mean over periods;
- ``"dynamic"``: per event time ``e = t - g``, the cohort-size-weighted mean over cohorts
  observed ``e`` periods after adoption (negative ``e`` are pre-treatment placebo
  comparisons); overall, the plain mean over ``e >= 0``.

``min_e`` / ``max_e`` restrict event times (``"simple"``, ``"group"`` and ``"dynamic"``);
``balance_e`` keeps only cohorts observed for at least ``balance_e`` periods after adoption,
so the event-time profile up to ``balance_e`` is not driven by changing composition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sfpc_eval.errors import DesignError, InvalidValueError

__all__ = ["AGGREGATIONS", "Aggregation", "aggregate_group_time", "cohort_shares"]

AggregationKind = Literal["simple", "group", "calendar", "dynamic"]
AGGREGATIONS: tuple[str, ...] = ("simple", "group", "calendar", "dynamic")


@dataclass(frozen=True, eq=False)
class Aggregation:
    """Estimates and influence functions of one aggregation.

    Attributes
    ----------
    kind : str
        ``"simple"``, ``"group"``, ``"calendar"`` or ``"dynamic"``.
    index : numpy.ndarray
        The event times, cohorts or periods of the components (empty for ``"simple"``).
    estimates : numpy.ndarray
        One estimate per component.
    influence : numpy.ndarray
        ``n_units x len(index)`` influence functions of the components.
    overall : float
        The overall summary.
    overall_influence : numpy.ndarray
        Its influence function (length ``n_units``).
    """

    kind: str
    index: np.ndarray
    estimates: np.ndarray
    influence: np.ndarray
    overall: float
    overall_influence: np.ndarray


def cohort_shares(
    unit_cohort: np.ndarray, unit_weight: np.ndarray, cohorts: np.ndarray
) -> np.ndarray:
    """Weighted share of units in each cohort, ``mean(w * (G == g))``.

    Examples
    --------
    >>> cohort_shares(np.array([3.0, 3, np.inf, 4]), np.ones(4), np.array([3.0, 4])).tolist()
    [0.5, 0.25]
    """
    return np.array([np.mean(unit_weight * (unit_cohort == g)) for g in cohorts])


def _weight_influence(
    cell_groups: np.ndarray, shares: np.ndarray, unit_cohort: np.ndarray, unit_weight: np.ndarray
) -> np.ndarray:
    """Influence of estimating the weights ``pg_k / sum(pg)`` (n x len(cell_groups)).

    ``cell_groups`` and ``shares`` describe the kept cells (their cohort and cohort share).
    """
    total = shares.sum()
    numerator = unit_weight[:, None] * (unit_cohort[:, None] == cell_groups[None, :]) - shares
    return numerator / total - np.outer(numerator.sum(axis=1), shares / total**2)


def _combine(
    att: np.ndarray,
    influence: np.ndarray,
    keep: np.ndarray,
    shares: np.ndarray,
    wif: np.ndarray | None,
) -> tuple[float, np.ndarray]:
    weights = shares[keep] / shares[keep].sum()
    estimate = float(att[keep] @ weights)
    inf = influence[:, keep] @ weights
    if wif is not None:
        inf = inf + wif @ att[keep]
    return estimate, inf


def _check_window(min_e: float, max_e: float, balance_e: int | None) -> None:
    for name, value in (("min_e", min_e), ("max_e", max_e)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise InvalidValueError(f"`{name}` must be a number of periods; got {value!r}.")
        if np.isnan(value):
            raise InvalidValueError(f"`{name}` is NaN; pass a number of periods (or leave it).")
    if min_e > max_e:
        raise InvalidValueError(
            f"`min_e` ({min_e}) is larger than `max_e` ({max_e}); no event time can be in the "
            "window. Swap them."
        )
    if balance_e is not None and (
        isinstance(balance_e, bool) or not isinstance(balance_e, int | np.integer) or balance_e < 0
    ):
        raise InvalidValueError(
            f"`balance_e` must be a whole number of periods >= 0 (or None); got {balance_e!r}."
        )


def aggregate_group_time(
    kind: AggregationKind,
    *,
    group: np.ndarray,
    time: np.ndarray,
    att: np.ndarray,
    influence: np.ndarray,
    unit_cohort: np.ndarray,
    unit_weight: np.ndarray,
    periods: np.ndarray,
    min_e: float = -np.inf,
    max_e: float = np.inf,
    balance_e: int | None = None,
) -> Aggregation:
    """Aggregate group-time effects.

    Parameters
    ----------
    kind : {"simple", "group", "calendar", "dynamic"}
        The aggregation.
    group, time, att : numpy.ndarray
        Cohort, period and estimate of each ATT(g, t) cell.
    influence : numpy.ndarray
        ``n_units x K`` influence functions of the cells.
    unit_cohort, unit_weight : numpy.ndarray
        Each unit's cohort (``inf`` never treated) and weight.
    periods : numpy.ndarray
        The panel's sorted periods.
    min_e, max_e : float
        Event-time window (ignored by ``"calendar"``, which raises if they are set).
    balance_e : int, optional
        Only for ``"dynamic"``: keep cohorts observed at every event time from 0 to
        ``balance_e``.

    Returns
    -------
    Aggregation

    Examples
    --------
    >>> agg = aggregate_group_time(
    ...     "simple", group=np.array([2.0, 2.0]), time=np.array([2.0, 3.0]),
    ...     att=np.array([1.0, 3.0]), influence=np.zeros((3, 2)),
    ...     unit_cohort=np.array([2.0, np.inf, np.inf]), unit_weight=np.ones(3),
    ...     periods=np.array([1.0, 2.0, 3.0]))
    >>> agg.overall
    2.0
    """
    if kind not in AGGREGATIONS:
        raise InvalidValueError(
            f"`kind` must be one of {', '.join(map(repr, AGGREGATIONS))}; got {kind!r}."
        )
    _check_window(min_e, max_e, balance_e)
    if balance_e is not None and kind != "dynamic":
        raise InvalidValueError(
            f"`balance_e` only applies to the 'dynamic' aggregation; got kind={kind!r}. Drop "
            "`balance_e`, or use kind='dynamic'."
        )
    if kind == "calendar" and (np.isfinite(min_e) or np.isfinite(max_e)):
        raise InvalidValueError(
            "`min_e` and `max_e` do not apply to the 'calendar' aggregation (it averages over "
            "calendar periods, not event times). Drop them, or use kind='dynamic'."
        )
    cohorts = np.unique(group)
    shares_g = cohort_shares(unit_cohort, unit_weight, cohorts)
    shares = shares_g[np.searchsorted(cohorts, group)]
    event = time - group
    post = group <= time
    window = post & (event >= min_e) & (event <= max_e)
    empty = np.empty(0)

    def wif(keep: np.ndarray) -> np.ndarray:
        return _weight_influence(group[keep], shares[keep], unit_cohort, unit_weight)

    if kind == "simple":
        keep = np.flatnonzero(window)
        if not len(keep):
            raise DesignError(
                f"No post-treatment ATT(g, t) has an event time in [{min_e}, {max_e}]. Widen "
                "the window."
            )
        est, inf = _combine(att, influence, keep, shares, wif(keep))
        return Aggregation(kind, empty, empty, np.empty((len(unit_cohort), 0)), est, inf)

    if kind == "group":
        missing = [g for g in cohorts if not np.any((group == g) & window)]
        if missing:
            raise DesignError(
                f"No post-treatment ATT(g, t) in the event-time window [{min_e}, {max_e}] for "
                f"cohort(s) {', '.join(f'{g:g}' for g in missing)}. Widen the window."
            )
        est_g = np.empty(len(cohorts))
        inf_g = np.empty((len(unit_cohort), len(cohorts)))
        for j, g in enumerate(cohorts):
            keep = np.flatnonzero((group == g) & window)
            est_g[j], inf_g[:, j] = _combine(att, influence, keep, shares, None)
        all_groups = np.arange(len(cohorts))
        wif_g = _weight_influence(cohorts, shares_g, unit_cohort, unit_weight)
        est, inf = _combine(est_g, inf_g, all_groups, shares_g, wif_g)
        return Aggregation(kind, cohorts, est_g, inf_g, est, inf)

    if kind == "calendar":
        times = np.array([t for t in periods if t >= cohorts.min() and np.any(post & (time == t))])
        est_t = np.empty(len(times))
        inf_t = np.empty((len(unit_cohort), len(times)))
        for j, t in enumerate(times):
            keep = np.flatnonzero((time == t) & post)
            est_t[j], inf_t[:, j] = _combine(att, influence, keep, shares, wif(keep))
        return Aggregation(kind, times, est_t, inf_t, float(est_t.mean()), inf_t.mean(axis=1))

    # dynamic
    include = np.ones(len(group), dtype=bool)
    events = np.unique(event)
    if balance_e is not None:
        max_t = time.max()
        eligible = max_t - group >= balance_e
        eligible_g = np.unique(group[eligible])
        required = np.unique(event[eligible & (event >= 0) & (event <= balance_e)])
        complete = [
            g for g in eligible_g if len(required) and np.all(np.isin(required, event[group == g]))
        ]
        if not complete:
            raise DesignError(
                f"No cohort is observed at every event time from 0 to balance_e={balance_e} "
                f"(the last period is {max_t:g}). Reduce `balance_e`."
            )
        include = np.isin(group, complete)
        events = np.unique(event[include])
        events = events[(events <= balance_e) & (events >= balance_e - max_t + periods[0])]
    events = events[(events >= min_e) & (events <= max_e)]
    if not len(events):
        raise DesignError(
            f"No event time falls in the window [{min_e}, {max_e}]"
            + (f" with balance_e={balance_e}" if balance_e is not None else "")
            + ". Widen the window."
        )
    est_e = np.empty(len(events))
    inf_e = np.empty((len(unit_cohort), len(events)))
    for j, e in enumerate(events):
        keep = np.flatnonzero((event == e) & include)
        est_e[j], inf_e[:, j] = _combine(att, influence, keep, shares, wif(keep))
    nonneg = events >= 0
    if not nonneg.any():
        raise DesignError(
            f"The event-time window [{min_e}, {max_e}] holds no post-treatment event time "
            "(e >= 0), so there is no overall effect to report. Include e >= 0."
        )
    overall = float(est_e[nonneg].mean())
    return Aggregation(kind, events, est_e, inf_e, overall, inf_e[:, nonneg].mean(axis=1))
