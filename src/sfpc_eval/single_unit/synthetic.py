"""Synthetic control for one pioneering council (Abadie, Diamond and Hainmueller, 2010).

The synthetic council is a weighted average of donor councils (weights non-negative, summing to
one) that matches the treated council's predictors before the programme. Predictors are scaled
by their standard deviation across the treated council and its donors and weighted by a
diagonal matrix ``V``; ``V`` is either given or chosen, as in ADH, to minimise the pre-period
mean squared error of the outcome (an outer Nelder-Mead search over ``V``, starting from equal
weights, around the inner weight problem). The inner problem,
``min (X1 - X0 w)' V (X1 - X0 w)`` over the simplex, is solved as a non-negative least-squares
problem with the adding-up constraint as a heavily weighted extra row (Lawson-Hanson active
set), then re-solved exactly on the support found (the equality-constrained least-squares
problem's KKT system), kept only if it is feasible and fits no worse.

Inference is placebo-in-space: every donor in turn plays the treated council (with the other
donors as its pool), and the p-value is the share of councils whose ratio of post- to
pre-period root mean squared prediction error is at least the treated council's. Leave-one-out
refits drop, in turn, each donor with positive weight.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from sfpc_eval._blas import limited_blas
from sfpc_eval._validate import check_conf_level
from sfpc_eval.errors import (
    DesignError,
    DuplicateObservationError,
    InvalidValueError,
    PoorPreFitWarning,
    show_values,
)
from sfpc_eval.labels import label
from sfpc_eval.panel import numeric_column, require_columns
from sfpc_eval.results import ResultMixin, Term

__all__ = ["SyntheticControlResult", "simplex_weights", "synthetic_control", "wide_panel"]

_ADDING_UP = 1e8
POOR_FIT_PERCENTILE = 0.9


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
    w = w / w.sum()
    return _polish(root * x0, np.sqrt(v) * x1, w)


def _polish(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Re-solve exactly on the support the active-set solution found.

    The heavily weighted adding-up row limits the active-set answer to about 1e-6 on badly
    conditioned problems; on its support (weights above 1e-4 of the largest) the problem is
    an equality-constrained least-squares problem with a closed form (its KKT system). The
    polished weights are kept if they are non-negative and fit no worse.
    """
    support = np.flatnonzero(w > 1e-4 * w.max())
    sub = a[:, support]
    k = len(support)
    kkt = np.zeros((k + 1, k + 1))
    kkt[:k, :k] = sub.T @ sub
    kkt[:k, k] = kkt[k, :k] = 1.0
    rhs = np.append(sub.T @ b, 1.0)
    solution = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:k]
    if (solution < 0).any() or not np.isfinite(solution).all():
        return w
    polished = np.zeros_like(w)
    polished[support] = solution / solution.sum()
    before, after = b - a @ w, b - a @ polished
    return polished if after @ after <= before @ before else w


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


def _outcome_panel(data, outcome, unit, time, treated, donors, start) -> pd.DataFrame:
    """Check the columns, read ``outcome`` as numbers and return :func:`wide_panel` of them."""
    require_columns(data, {"outcome": outcome, "unit": unit, "time": time})
    frame = data[[unit, time]].copy()
    frame[outcome] = numeric_column(data, outcome, argument="outcome")
    return wide_panel(frame, outcome, unit, time, treated, donors, start)


def _predictor_matrix(
    data: pd.DataFrame,
    wide: pd.DataFrame,
    predictors: Sequence | None,
    unit: str,
    time: str,
    pre: np.ndarray,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Predictors x councils (columns as in ``wide``) and their names."""
    outcome_name = wide.columns.name or "outcome"
    if predictors is None:
        return wide.loc[pre].to_numpy(), tuple(f"{outcome_name}@{p}" for p in pre)
    rows, names = [], []
    for spec in predictors:
        if isinstance(spec, tuple):
            if len(spec) != 2:
                raise InvalidValueError(
                    f"predictor {spec!r} must be a period or a pair (column, periods)."
                )
            column, spans = spec
            spans = list(spans) if isinstance(spans, list | tuple | range) else [spans]
            late = [s for s in spans if s not in set(pre)]
            if late:
                raise DesignError(
                    f"predictor {spec!r} uses periods {show_values(late)} that are not before "
                    "the start; predictors must be measured before the programme."
                )
            values = numeric_column(data, column, argument="predictors")
            sub = pd.DataFrame({unit: data[unit], time: data[time], "v": values})
            sub = sub[sub[time].isin(spans) & sub[unit].isin(wide.columns)]
            means = sub.groupby(unit)["v"].mean().reindex(wide.columns)
            counts = sub.dropna().groupby(unit)["v"].size().reindex(wide.columns).fillna(0)
            short = list(wide.columns[(counts < len(spans)).to_numpy()])
            if short:
                raise DesignError(
                    f"predictor {spec!r}: councils {show_values(short)} lack {column!r} in some "
                    "of those periods; drop them from `donors` or fill the gaps."
                )
            rows.append(means.to_numpy())
            names.append(f"{column}@mean({spans[0]}-{spans[-1]})")
        else:
            if spec not in set(pre):
                raise DesignError(
                    f"predictor period {spec!r} is not a pre-period (before the start); "
                    f"pre-periods are {show_values(list(pre))}."
                )
            rows.append(wide.loc[spec].to_numpy())
            names.append(f"{outcome_name}@{spec}")
    return np.vstack(rows), tuple(names)


def _fit(
    x: np.ndarray, z: np.ndarray, target: int, donors: np.ndarray, v: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Weights of ``donors`` (column indices) for council ``target``, and the V used.

    ``x`` is predictors x councils, ``z`` pre-period outcomes x councils.
    """
    involved = np.append(donors, target)
    sd = x[:, involved].std(axis=1, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    x0, x1 = x[:, donors] / sd[:, None], x[:, target] / sd
    if v is not None:
        return simplex_weights(x0, x1, v), v
    if len(x1) == 1:
        one = np.ones(1)
        return simplex_weights(x0, x1, one), one
    z0, z1 = z[:, donors], z[:, target]

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


@dataclass(frozen=True)
class SyntheticControlResult(ResultMixin):
    """Result of :func:`synthetic_control`.

    Attributes
    ----------
    outcome, time : str
        Column names.
    treated_unit, start : object
        The treated council and the first period under the programme.
    terms : tuple of Term
        ``mean_post_gap`` (treated minus synthetic, averaged from ``start``),
        ``percent_change`` (the same as a percentage of the synthetic council) and
        ``rmspe_ratio`` (post/pre RMSPE); p-values are placebo-in-space, no intervals.
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
        Per council (treated first, then donors): ``unit``, ``pre_rmspe``, ``post_rmspe``,
        ``ratio``.
    placebo_gaps : pandas.DataFrame or None
        Long: ``unit``, ``time``, ``gap`` for the treated council and every placebo.
    p_value : float
        Share of councils whose RMSPE ratio is at least the treated council's.
    leave_one_out : pandas.DataFrame or None
        Long: ``dropped`` (the donor left out), ``time``, ``synthetic``, ``gap``.
    """

    outcome: str
    time: str
    treated_unit: object
    start: object
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)
    weights: pd.Series = field(repr=False, compare=False)
    v: np.ndarray = field(repr=False, compare=False)
    predictors: tuple[str, ...] = field(repr=False)
    gaps: pd.DataFrame = field(repr=False, compare=False)
    pre_rmspe: float
    post_rmspe: float
    placebo: pd.DataFrame | None = field(repr=False, compare=False)
    placebo_gaps: pd.DataFrame | None = field(repr=False, compare=False)
    p_value: float
    leave_one_out: pd.DataFrame | None = field(repr=False, compare=False, default=None)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Synthetic control: {label(self.outcome)} of {self.treated_unit} from {self.start}"

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        top = self.weights[self.weights > 1e-6].sort_values(ascending=False)
        shown = ", ".join(f"{u} {w:.3f}" for u, w in top.head(6).items())
        lines = [
            ("donors", f"{len(top)} of {len(self.weights)} with positive weight: {shown}"),
            (
                "pre-period fit",
                f"RMSPE {self.pre_rmspe:.4g} over {len(self.predictors)} predictors",
            ),
        ]
        if self.placebo is not None:
            lines.append(("inference", f"placebo in space over {len(self.placebo)} councils"))
        return lines

    def _headline_name(self) -> str:
        return "mean_post_gap"

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(
            estimator="synthetic_control",
            n_units=len(self.weights) + 1,
            n_treated=1,
            n_periods=len(self.gaps),
            inference="placebo" if self.placebo is not None else "none",
            pre_rmspe=self.pre_rmspe,
        )
        return facts

    def _refit(self, conf_level: float) -> SyntheticControlResult:
        # placebo inference gives p-values, not intervals: nothing depends on the level
        import dataclasses

        return dataclasses.replace(self, conf_level=conf_level)

    def plot(self, ax=None):  # type: ignore[override]
        """Treated council and its synthetic version over time."""
        from sfpc_eval.plotting import plot_synthetic

        return plot_synthetic(self, ax=ax)

    def leave_one_out_table(self) -> pd.DataFrame:
        """Per dropped donor: its weight, the mean post-period gap and the pre-period RMSPE.

        Raises
        ------
        DesignError
            The result was computed with ``leave_one_out=False``.
        """
        if self.leave_one_out is None:
            raise DesignError("no leave-one-out refits: call with `leave_one_out=True`.")
        frame = self.leave_one_out
        post = frame["time"] >= self.start
        rows = []
        for dropped, part in frame.groupby("dropped", sort=False):
            is_post = post[part.index].to_numpy()
            gap = part["gap"].to_numpy()
            rows.append(
                (
                    dropped,
                    float(self.weights[dropped]),
                    float(gap[is_post].mean()),
                    _rmspe(gap[~is_post]),
                )
            )
        return pd.DataFrame(rows, columns=["dropped", "weight", "mean_post_gap", "pre_rmspe"])


def _terms(gap, synthetic, is_pre, p_value, n_placebo) -> tuple[Term, ...]:
    method = (
        f"placebo in space ({n_placebo} councils, RMSPE ratio)" if n_placebo else "no inference"
    )
    note = "no interval: placebo-in-space inference gives a p-value"
    mean_gap = float(gap[~is_pre].mean())
    pct = 100 * mean_gap / float(synthetic[~is_pre].mean())
    ratio = _rmspe(gap[~is_pre]) / _rmspe(gap[is_pre]) if _rmspe(gap[is_pre]) > 0 else math.inf
    return tuple(
        Term(name, value, p_value=p_value, method=method, note=note)
        for name, value in (
            ("mean_post_gap", mean_gap),
            ("percent_change", pct),
            ("rmspe_ratio", ratio),
        )
    )


def _progress(items, progress: bool, desc: str):
    if not progress:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="fit")


@limited_blas
def synthetic_control(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: object,
    start: object,
    donors: Sequence | None = None,
    predictors: Sequence | None = None,
    v: Sequence[float] | None = None,
    placebo: bool = True,
    leave_one_out: bool = False,
    conf_level: float = 0.95,
    progress: bool = False,
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
    predictors : sequence, optional
        What the weights match. Each item is a pre-period (the outcome in that period) or a pair
        ``(column, periods)`` (the mean of ``column`` over those pre-periods). Default: the
        outcome in every pre-period. At most one predictor per pre-period.
    v : sequence of float, optional
        Weights of the predictors; default chosen by the ADH nested search.
    placebo : bool, default True
        Run placebo-in-space over the donors for a permutation p-value.
    leave_one_out : bool, default False
        Refit dropping, in turn, each donor with positive weight.
    conf_level : float, default 0.95
        Kept for a uniform signature (placebo inference gives a p-value, not an interval).
    progress : bool, default False
        Show a progress bar (tqdm) over the placebo and leave-one-out refits.

    Returns
    -------
    SyntheticControlResult

    Raises
    ------
    DesignError
        The treated council is missing or among the donors; gaps in the panel (the message
        lists the councils and periods); fewer than 2 pre-periods, or fewer pre-periods than
        predictors.

    Warns
    -----
    PoorPreFitWarning
        The treated council's pre-period RMSPE is above that of 90% of the placebo councils.

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
    level = check_conf_level(conf_level)
    wide = _outcome_panel(data, outcome, unit, time, [treated_unit], donors, start)
    wide.columns.name = outcome
    pool = list(wide.columns[:-1])
    periods = wide.index.to_numpy()
    is_pre = periods < start
    pre = periods[is_pre]
    if predictors is not None and len(predictors) > len(pre):
        raise DesignError(
            f"{len(predictors)} predictors but only {len(pre)} pre-periods before {start!r}: "
            "the predictor weights cannot be chosen by pre-period fit. Use at most "
            f"{len(pre)} predictors (e.g. averages over several years)."
        )
    x, names = _predictor_matrix(data, wide, predictors, unit, time, pre)
    v_array = None
    if v is not None:
        v_array = np.asarray(v, dtype=float)
        if v_array.shape != (len(names),) or (v_array < 0).any() or v_array.sum() <= 0:
            raise InvalidValueError(
                f"`v` must hold {len(names)} non-negative predictor weights (one per predictor: "
                f"{show_values(names)}); got {show_values(np.atleast_1d(v_array).tolist())}."
            )
    y = wide.to_numpy()
    z = y[is_pre]
    target = len(pool)
    all_donors = np.arange(len(pool))
    weights, chosen = _fit(x, z, target, all_donors, v_array)
    synthetic = y[:, all_donors] @ weights
    gap = y[:, target] - synthetic
    pre_rmspe, post_rmspe = _rmspe(gap[is_pre]), _rmspe(gap[~is_pre])
    table = gaps_long = None
    p_value = math.nan
    if placebo:
        rows = [(treated_unit, pre_rmspe, post_rmspe)]
        series = [gap]
        for j in _progress(range(len(pool)), progress, "placebo"):
            others = np.delete(all_donors, j)
            w, _ = _fit(x, z, j, others, v_array)
            placebo_gap = y[:, j] - y[:, others] @ w
            series.append(placebo_gap)
            rows.append((pool[j], _rmspe(placebo_gap[is_pre]), _rmspe(placebo_gap[~is_pre])))
        table = pd.DataFrame(rows, columns=["unit", "pre_rmspe", "post_rmspe"])
        with np.errstate(divide="ignore"):
            table["ratio"] = table["post_rmspe"] / table["pre_rmspe"]
        ratio = table["ratio"].iloc[0]
        p_value = float(np.mean(table["ratio"] >= ratio * (1 - 1e-12)))
        gaps_long = pd.DataFrame(
            {
                "unit": np.repeat([treated_unit, *pool], len(periods)),
                "time": np.tile(periods, len(pool) + 1),
                "gap": np.concatenate(series),
            }
        )
        others_pre = table["pre_rmspe"].to_numpy()[1:]
        share = float(np.mean(others_pre < pre_rmspe))
        if share >= POOR_FIT_PERCENTILE:
            warnings.warn(
                f"poor pre-period fit: the pre-period RMSPE of {treated_unit!r} is "
                f"{pre_rmspe:.4g}, larger than that of {share:.0%} of the {len(others_pre)} "
                "placebo councils. The synthetic council does not track it before "
                f"{start!r}, so its gaps and p-value are unreliable; try other predictors or "
                "donors, or a design that allows a level difference (synthetic_did).",
                PoorPreFitWarning,
                stacklevel=2,
            )
    loo = None
    if leave_one_out:
        parts = []
        positive = [j for j in all_donors if weights[j] > 1e-6]
        for j in _progress(positive, progress, "leave one out"):
            others = np.delete(all_donors, j)
            w, _ = _fit(x, z, target, others, v_array)
            fitted = y[:, others] @ w
            parts.append(
                pd.DataFrame(
                    {
                        "dropped": pool[j],
                        "time": periods,
                        "synthetic": fitted,
                        "gap": y[:, target] - fitted,
                    }
                )
            )
        loo = pd.concat(parts, ignore_index=True)
    return SyntheticControlResult(
        outcome=outcome,
        time=time,
        treated_unit=treated_unit,
        start=start,
        conf_level=level,
        terms=_terms(gap, synthetic, is_pre, p_value, 0 if table is None else len(table)),
        weights=pd.Series(weights, index=pool, name="weight"),
        v=chosen,
        predictors=names,
        gaps=pd.DataFrame(
            {"time": periods, "treated": y[:, target], "synthetic": synthetic, "gap": gap}
        ),
        pre_rmspe=pre_rmspe,
        post_rmspe=post_rmspe,
        placebo=table,
        placebo_gaps=gaps_long,
        p_value=p_value,
        leave_one_out=loo,
    )
