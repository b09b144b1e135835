"""Synthetic control for one pioneering council (Abadie, Diamond and Hainmueller, 2010).

The synthetic council is a weighted average of donor councils (weights non-negative, summing to
one) that matches the treated council's predictors before the programme. Predictors are scaled
by their standard deviation across all councils and weighted by a diagonal matrix ``V``; ``V`` is
either given or chosen, as in ADH, to minimise the pre-period mean squared error of the outcome
(an outer Nelder-Mead search over ``V``, starting from equal weights, around the inner
weight problem). The inner problem, ``min (X1 - X0 w)' V (X1 - X0 w)`` over the simplex, is
solved as a non-negative least-squares problem with the adding-up constraint as a heavily
weighted extra row (Lawson-Hanson active set), which is exact to about 1e-9.

Inference is placebo-in-space: every donor in turn plays the treated council (with the other
donors as its pool), and the p-value is the share of councils whose ratio of post- to
pre-period root mean squared prediction error is at least the treated council's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from sfpc_eval._validate import check_conf_level
from sfpc_eval.errors import (
    DesignError,
    DuplicateObservationError,
    InvalidValueError,
    show_values,
)
from sfpc_eval.panel import numeric_column, require_columns

__all__ = ["SyntheticControlResult", "simplex_weights", "synthetic_control"]

_ADDING_UP = 1e8


def simplex_weights(x0: np.ndarray, x1: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Weights ``w >= 0``, ``sum(w) = 1`` minimising ``(x1 - x0 w)' diag(v) (x1 - x0 w)``.

    Examples
    --------
    >>> x0 = np.array([[0.0, 2.0], [0.0, 2.0]])
    >>> simplex_weights(x0, np.array([1.0, 1.0]), np.ones(2)).round(6).tolist()
    [0.5, 0.5]
    """
    root = np.sqrt(v)[:, None]
    scale = max(float(np.max(np.abs(root * x0))), 1.0) * _ADDING_UP
    a = np.vstack([root * x0, np.full((1, x0.shape[1]), scale)])
    b = np.concatenate([np.sqrt(v) * x1, [scale]])
    w, _ = optimize.nnls(a, b, maxiter=50 * x0.shape[1])
    return w / w.sum()


@dataclass(frozen=True)
class SyntheticControlResult:
    """Result of :func:`synthetic_control`.

    Attributes
    ----------
    weights : pandas.Series
        Donor weights (non-negative, summing to one), indexed by donor.
    v : numpy.ndarray
        Predictor weights (diagonal of ``V``), summing to one.
    predictors : tuple of str
        Predictor names (``outcome@period`` for pre-period outcomes).
    gaps : pandas.DataFrame
        Per period: ``time``, ``treated``, ``synthetic``, ``gap``.
    pre_rmspe, post_rmspe : float
        Root mean squared gap before and from ``start``.
    placebo : pandas.DataFrame or None
        Per council (treated and donors): ``pre_rmspe``, ``post_rmspe``, ``ratio``.
    p_value : float
        Share of councils whose RMSPE ratio is at least the treated council's.
    """

    treated_unit: object
    start: object
    weights: pd.Series = field(repr=False)
    v: np.ndarray = field(repr=False)
    predictors: tuple[str, ...]
    gaps: pd.DataFrame = field(repr=False)
    pre_rmspe: float
    post_rmspe: float
    placebo: pd.DataFrame | None = field(repr=False)
    p_value: float


def _wide(data: pd.DataFrame, outcome: str, unit: str, time: str) -> pd.DataFrame:
    duplicated = data.duplicated([unit, time], keep=False).to_numpy()
    if duplicated.any():
        raise DuplicateObservationError(
            f"{unit} x {time} rows repeat in rows {show_values(list(data.index[duplicated]))}; "
            "synthetic control needs one row per council and period."
        )
    # pivot (not pivot_table): duplicates were refused above, nothing may be aggregated
    wide = data.pivot(index=time, columns=unit, values=outcome).sort_index()  # noqa: PD010
    gaps = wide.columns[wide.isna().any()].tolist()
    if gaps:
        raise DesignError(
            f"councils {show_values(gaps)} have no {outcome!r} in some periods; synthetic "
            "control needs a balanced panel. Drop them from the donor pool or fill the gaps."
        )
    return wide


def _fit(
    wide: pd.DataFrame, treated, donors: Sequence, pre: np.ndarray, v: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    x = wide.loc[pre].to_numpy()  # predictors x councils (pre-period outcomes)
    columns = [wide.columns.get_loc(d) for d in donors]
    target = wide.columns.get_loc(treated)
    involved = [*columns, target]
    sd = x[:, involved].std(axis=1, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    x0, x1 = x[:, columns] / sd[:, None], x[:, target] / sd
    z0, z1 = x[:, columns], x[:, target]
    if v is not None:
        return simplex_weights(x0, x1, v), v

    def loss(raw: np.ndarray) -> float:
        weights = np.abs(raw) / np.sum(np.abs(raw))
        w = simplex_weights(x0, x1, weights)
        return float(np.mean((z1 - z0 @ w) ** 2))

    start = np.full(len(x1), 1 / len(x1))
    best = optimize.minimize(loss, start, method="Nelder-Mead", options={"maxiter": 1000})
    chosen = np.abs(best.x) / np.sum(np.abs(best.x))
    return simplex_weights(x0, x1, chosen), chosen


def _rmspe(gap: np.ndarray) -> float:
    return math.sqrt(float(np.mean(gap**2)))


def synthetic_control(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: object,
    start: object,
    donors: Sequence | None = None,
    v: Sequence[float] | None = None,
    placebo: bool = True,
    conf_level: float = 0.95,
) -> SyntheticControlResult:
    """Build a synthetic version of one council from donor councils and compare after ``start``.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per council and period. Not modified.
    outcome, unit, time : str
        Columns.
    treated_unit : object
        The council that adopted the programme (a value of ``unit``).
    start : object
        First period under the programme (a value of ``time``).
    donors : sequence, optional
        Donor councils; default every other council in the data.
    v : sequence of float, optional
        Weights of the predictors (one per pre-period); default chosen by the ADH nested search.
    placebo : bool, default True
        Run placebo-in-space over the donors for a permutation p-value.
    conf_level : float, default 0.95
        Kept for a uniform signature (placebo inference gives a p-value, not an interval).

    Returns
    -------
    SyntheticControlResult

    Raises
    ------
    DesignError
        The treated council is missing or among the donors; gaps in the panel; fewer than 2
        pre-periods.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import sfpc_eval as se
    >>> years = range(2010, 2020)
    >>> panel = pd.DataFrame([(u, y) for u in "ABCD" for y in years], columns=["la", "year"])
    >>> base = {"A": 50.0, "B": 40.0, "C": 60.0, "D": 70.0}
    >>> panel["rate"] = [base[u] + (y - 2010) for u, y in zip(panel.la, panel.year)]
    >>> res = se.synthetic_control(panel, outcome="rate", unit="la", time="year",
    ...                            treated_unit="A", start=2016, placebo=False, v=np.ones(6) / 6)
    >>> round(res.pre_rmspe, 6)
    0.0
    """
    check_conf_level(conf_level)
    require_columns(data, {"outcome": outcome, "unit": unit, "time": time})
    frame = data[[unit, time]].copy()
    frame[outcome] = numeric_column(data, outcome, argument="outcome")
    wide = _wide(frame, outcome, unit, time)
    if treated_unit not in wide.columns:
        raise DesignError(f"`treated_unit` {treated_unit!r} is not in `unit` column {unit!r}.")
    pool = [u for u in wide.columns if u != treated_unit] if donors is None else list(donors)
    if treated_unit in pool:
        raise DesignError(
            f"`treated_unit` {treated_unit!r} is in the donor pool; remove it from `donors`."
        )
    missing = [d for d in pool if d not in wide.columns]
    if missing:
        raise DesignError(f"donors {show_values(missing)} are not in the data.")
    periods = wide.index.to_numpy()
    if start not in set(periods):
        raise DesignError(f"`start` {start!r} is not a period of `time` column {time!r}.")
    pre = periods[periods < start]
    if len(pre) < 2:
        raise DesignError(f"synthetic control needs at least 2 periods before {start!r}.")
    v_array = None
    if v is not None:
        v_array = np.asarray(v, dtype=float)
        if v_array.shape != (len(pre),) or (v_array < 0).any():
            raise InvalidValueError(
                f"`v` must hold {len(pre)} non-negative predictor weights (one per pre-period)."
            )
    weights, chosen = _fit(wide, treated_unit, pool, pre, v_array)
    synthetic = wide[pool].to_numpy() @ weights
    observed = wide[treated_unit].to_numpy()
    gap = observed - synthetic
    is_pre = periods < start
    result_gaps = pd.DataFrame(
        {"time": periods, "treated": observed, "synthetic": synthetic, "gap": gap}
    )
    pre_rmspe, post_rmspe = _rmspe(gap[is_pre]), _rmspe(gap[~is_pre])
    table, p_value = None, math.nan
    if placebo:
        rows = [(treated_unit, pre_rmspe, post_rmspe)]
        for donor in pool:
            others = [d for d in pool if d != donor]
            w, _ = _fit(wide, donor, others, pre, v_array)
            placebo_gap = wide[donor].to_numpy() - wide[others].to_numpy() @ w
            rows.append((donor, _rmspe(placebo_gap[is_pre]), _rmspe(placebo_gap[~is_pre])))
        table = pd.DataFrame(rows, columns=["unit", "pre_rmspe", "post_rmspe"])
        with np.errstate(divide="ignore"):
            table["ratio"] = table["post_rmspe"] / table["pre_rmspe"]
        ratio = table["ratio"].iloc[0]
        p_value = float(np.mean(table["ratio"] >= ratio * (1 - 1e-12)))
    return SyntheticControlResult(
        treated_unit=treated_unit,
        start=start,
        weights=pd.Series(weights, index=pool, name="weight"),
        v=chosen,
        predictors=tuple(f"{outcome}@{p}" for p in pre),
        gaps=result_gaps,
        pre_rmspe=pre_rmspe,
        post_rmspe=post_rmspe,
        placebo=table,
        p_value=p_value,
    )
