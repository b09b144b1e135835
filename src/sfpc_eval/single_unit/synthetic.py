"""Synthetic control for one pioneering council (Abadie, Diamond and Hainmueller, 2010).

The synthetic council is a weighted average of donor councils (weights non-negative, summing to
one) that matches the treated council's predictors before the programme. Predictors are scaled
by their standard deviation across the treated council and its donors and weighted by a
diagonal matrix ``V``. With the default predictors (the outcome in every pre-period) the ADH
choice of ``V`` (the one minimising the pre-period mean squared error of the outcome) has a
known best answer: the weights that minimise that error directly, one convex problem solved
exactly. With other predictors ``V`` is searched for (Nelder-Mead from equal weights and from
the outcome-matching fit) and the outcome-matching weights stay a candidate, so the fit is
never worse than direct outcome matching; ``result.solution`` says which answer was kept (see
:mod:`~sfpc_eval.single_unit._weights`).

Donors exclude, by default, the councils that ran similar programmes
(:func:`~sfpc_eval.single_unit.donors.excluded_donors`); ``result.excluded_donors`` lists them.

Inference is placebo-in-space: every donor in turn plays the treated council (with the other
donors as its pool), and the p-value is the share of councils whose ratio of post- to
pre-period root mean squared prediction error is at least the treated council's. Leave-one-out
refits drop, in turn, each donor with positive weight; the figure shows them. Conformal
intervals: :func:`~sfpc_eval.single_unit.conformal.conformal_inference`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval._blas import limited_blas
from sfpc_eval._validate import check_conf_level
from sfpc_eval.errors import (
    DesignError,
    InvalidValueError,
    PoorPreFitWarning,
    UndefinedIntervalWarning,
    show_values,
)
from sfpc_eval.labels import label
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.single_unit._panel import _outcome_panel, design_panel, progress, wide_panel
from sfpc_eval.single_unit._predictors import predictor_matrix
from sfpc_eval.single_unit._weights import DonorFit, donor_weights, simplex_weights

__all__ = ["SyntheticControlResult", "simplex_weights", "synthetic_control", "wide_panel"]

# kept importable from here for the modules that use them
_REEXPORTED = (_outcome_panel,)
POOR_FIT_PERCENTILE = 0.9


def _progress(items, show: bool, desc: str):
    return progress(items, show, desc)


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
    v : numpy.ndarray or None
        Predictor weights (diagonal of ``V``, for the scaled predictors), summing to one; with
        the default predictors the V that reproduces the outcome-matching weights; None when the
        outcome-matching weights beat every V tried with other predictors.
    solution : str
        How the weights were chosen: ``"outcome matching"`` (the weights minimising the
        pre-period MSPE of the outcome, solved directly), ``"V search"`` or ``"given V"``.
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
    excluded_donors : pandas.DataFrame
        Councils left out of the donor pool and why: ``unit``, ``programme``, ``reason``,
        ``source``, ``url`` (empty when none were).
    """

    outcome: str
    time: str
    treated_unit: object
    start: object
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)
    weights: pd.Series = field(repr=False, compare=False)
    v: np.ndarray | None = field(repr=False, compare=False)
    predictors: tuple[str, ...] = field(repr=False)
    gaps: pd.DataFrame = field(repr=False, compare=False)
    pre_rmspe: float
    post_rmspe: float
    placebo: pd.DataFrame | None = field(repr=False, compare=False)
    placebo_gaps: pd.DataFrame | None = field(repr=False, compare=False)
    p_value: float
    leave_one_out: pd.DataFrame | None = field(repr=False, compare=False, default=None)
    solution: str = "given V"
    excluded_donors: pd.DataFrame | None = field(repr=False, compare=False, default=None)

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
                f"RMSPE {self.pre_rmspe:.4g} over {len(self.predictors)} predictors "
                f"({self.solution})",
            ),
        ]
        if self.excluded_donors is not None and len(self.excluded_donors):
            gone = ", ".join(map(str, self.excluded_donors["unit"].head(6)))
            more = len(self.excluded_donors) - 6
            lines.append(
                (
                    "excluded donors",
                    f"{len(self.excluded_donors)} that ran similar programmes: {gone}"
                    + (f" and {more} more" if more > 0 else ""),
                )
            )
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

    def plot(self, ax=None, **style):  # type: ignore[override]
        """Treated council and its synthetic version over time.

        ``style``: ``labels``, ``title`` (the main message) and ``source`` (the source line).
        """
        from sfpc_eval.plotting import plot_synthetic

        return plot_synthetic(self, ax=ax, **style)

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
    base = float(synthetic[~is_pre].mean())
    pre, post = _rmspe(gap[is_pre]), _rmspe(gap[~is_pre])
    values = {
        "mean_post_gap": (mean_gap, ""),
        "percent_change": (
            (100 * mean_gap / base, "")
            if base != 0
            else (math.nan, "the synthetic council's post-period mean is 0")
        ),
        "rmspe_ratio": (
            (post / pre, "")
            if pre > 0
            else (
                math.inf if post > 0 else math.nan,
                "the synthetic council fits the pre-period exactly (RMSPE 0)",
            )
        ),
    }
    terms = []
    for name, (value, why) in values.items():
        if why:
            what = "infinite" if math.isinf(value) else "undefined"
            warnings.warn(f"{name} is {what}: {why}.", UndefinedIntervalWarning, stacklevel=3)
            terms.append(
                Term(name, value, p_value=p_value, method=method, note=f"{note}; {what}: {why}")
            )
        else:
            terms.append(Term(name, value, p_value=p_value, method=method, note=note))
    return tuple(terms)


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
    exclude_donors: object = "default",
    predictors: Sequence | None = None,
    v: Sequence[float] | None = None,
    placebo: bool = True,
    leave_one_out: bool = True,
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
    exclude_donors : "default", None, sequence, mapping or DataFrame, default "default"
        Councils never used as donors: ``"default"`` is the packaged list of councils that ran
        similar programmes (:func:`~sfpc_eval.single_unit.donors.excluded_donors`), None
        excludes nobody, or give your own (a list, a mapping council -> reason, or a DataFrame
        with ``unit`` and ``reason``). Applied to ``donors`` too (with a warning).
    predictors : sequence, optional
        What the weights match. Each item is a pre-period (the outcome in that period) or a pair
        ``(column, periods)`` (the mean of ``column`` over those pre-periods). Default: the
        outcome in every pre-period, matched directly (the exact optimum of the ADH search). At
        most one predictor per pre-period.
    v : sequence of float, optional
        Weights of the predictors; default chosen by the ADH nested search (never a worse
        pre-period fit of the outcome than direct outcome matching).
    placebo : bool, default True
        Run placebo-in-space over the donors for a permutation p-value.
    leave_one_out : bool, default True
        Refit dropping, in turn, each donor with positive weight (shown by ``plot()``).
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
        The treated council is missing or among the donors, or has no outcome in some
        pre-periods; gaps in the panel (the message lists the councils and periods); fewer than
        2 pre-periods, or fewer pre-periods than predictors; exclusions leave no donor.

    Warns
    -----
    PoorPreFitWarning
        The treated council's pre-period RMSPE is above that of 90% of the placebo councils.
    DonorExclusionWarning
        Councils named in ``donors`` ran similar programmes and were left out.

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
    wide, excluded, start = design_panel(
        data, outcome, unit, time, [treated_unit], donors, start, exclude_donors
    )
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
    x, names = predictor_matrix(data, wide, predictors, unit, time, pre)
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
    outcome_predictors = predictors is None

    def fit(target: int, donors: np.ndarray) -> DonorFit:
        return donor_weights(x, z, target, donors, v_array, outcome_predictors)

    main = fit(target, all_donors)
    weights = main.weights
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
            w = fit(j, others).weights
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
            w = fit(target, others).weights
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
        v=main.v,
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
        solution=main.solution,
        excluded_donors=excluded,
    )
