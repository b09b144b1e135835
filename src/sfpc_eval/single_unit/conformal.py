"""Conformal intervals for one council's effect (Chernozhukov, Wuthrich and Zhu 2021, JASA).

For each post period ``t`` the interval holds the effects ``theta`` that a permutation test does
not reject: the treated council's outcome in ``t`` is moved by ``theta``, the counterfactual
model (the "proxy") is refitted on the pre-periods and ``t`` together, and ``theta`` is kept when
the share of those periods whose absolute residual is at least period ``t``'s exceeds
``1 - conf_level``. The interval for the average over the post periods does the same on the
series averaged over blocks as long as the post-period (CWZ appendix A.1). The p-value of no
effect in any post period uses moving-block permutations of the whole series.

The proxies, each refitted on every period it is given (the test is exact when the errors are
exchangeable over time and the proxy treats periods symmetrically):

- ``"synthetic_control"``: simplex weights, no intercept, matching the outcome (as scinference
  and diff-diff define the proxy);
- ``"synthetic_did"``: synthetic DiD's unit weights (simplex, intercept, ridge penalty
  ``zeta_omega`` of the SDID fit, the same Frank-Wolfe solver and stopping rule);
- ``"augmented"``: the ridge-augmented synthetic control at the penalty the fit chose (as
  augsynth-py and R augsynth refit it).

The permutation p-value is never below ``1 / (number of slots)``, so an interval can exclude
anything only with enough pre-periods: ``ceil(1 / (1 - conf_level)) - 1`` for one period (19 at
95%, 9 at 90%) and that times the post-period length for the average; with fewer a
:class:`~sfpc_eval.errors.TooFewPeriodsError` says so.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval._validate import check_conf_level
from sfpc_eval.errors import InvalidValueError, UndefinedIntervalWarning, show_values
from sfpc_eval.labels import label
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.single_unit._conformal_core import (
    Inversion,
    Proxy,
    block_average,
    check_periods,
    invert_slot,
    sc_residuals,
    sharp_null_p_value,
)
from sfpc_eval.single_unit._panel import design_panel
from sfpc_eval.single_unit.augmented import augmented_residuals, augmented_synthetic_control
from sfpc_eval.single_unit.synthdid import frank_wolfe_weights, synthetic_did
from sfpc_eval.single_unit.synthetic import synthetic_control

__all__ = ["METHODS", "ConformalResult", "conformal_inference"]

METHODS = ("synthetic_control", "synthetic_did", "augmented")


def sdid_residuals(zeta: float, min_decrease: float) -> Proxy:
    """Wrap the synthetic DiD unit-weight fit as a proxy: residuals around the intercept.

    Two rounds as :func:`~sfpc_eval.single_unit.synthdid.synthetic_did` runs them: 100
    Frank-Wolfe iterations from equal weights, weights at most a quarter of the largest set to
    zero, then iterations to convergence.
    """

    def residuals(y1: np.ndarray, y0: np.ndarray) -> np.ndarray:
        matrix = np.column_stack([y0, y1])
        first = frank_wolfe_weights(matrix, zeta, min_decrease=min_decrease, max_iter=100)
        kept = np.where(first <= first.max() / 4, 0.0, first)
        omega = frank_wolfe_weights(
            matrix, zeta, start=kept / kept.sum(), min_decrease=min_decrease, max_iter=10_000
        )
        gap = y1 - y0 @ omega
        return gap - gap.mean()

    return residuals


@dataclass(frozen=True)
class _Inputs:
    y1: np.ndarray
    y0: np.ndarray
    n_pre: int
    estimates: np.ndarray
    proxy: Proxy = field(repr=False)


@dataclass(frozen=True)
class ConformalResult(ResultMixin):
    """Result of :func:`conformal_inference`.

    Attributes
    ----------
    outcome, time : str
        Column names.
    treated_unit, start : object
        The council and the first period under the programme.
    method : str
        The counterfactual model: ``"synthetic_control"``, ``"synthetic_did"`` or
        ``"augmented"``.
    terms : tuple of Term
        ``average`` (the mean effect over the post periods, when asked for) and
        ``effect@<period>`` per post period: the method's own estimate with the conformal
        interval and the p-value of no effect.
    periods : pandas.DataFrame
        Per post period: ``time``, ``estimate``, ``conf_low``, ``conf_high``, ``p_value``,
        ``contiguous`` (False when a rejected effect lies inside the interval, which is then
        the hull of the accepted effects).
    p_value : float
        Moving-block p-value of no effect in any post period.
    n_pre, n_post : int
        Pre- and post-periods.
    dropped_pre : int
        Earliest pre-periods left out of the blocks of the average (``n_pre mod n_post``).
    excluded_donors : pandas.DataFrame
        Councils left out of the donor pool and why.
    """

    outcome: str
    time: str
    treated_unit: object
    start: object
    method: str
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)
    periods: pd.DataFrame = field(repr=False, compare=False)
    p_value: float
    n_pre: int
    n_post: int
    dropped_pre: int
    excluded_donors: pd.DataFrame = field(repr=False, compare=False)
    _inputs: _Inputs = field(repr=False, compare=False)
    _average: bool = field(repr=False, default=True)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return (
            f"Conformal inference ({label(self.method, lower=True)}): {label(self.outcome)} "
            f"of {self.treated_unit}"
        )

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        lines = [
            ("periods", f"{self.n_pre} before {self.start}, {self.n_post} from it"),
            (
                "no effect at all",
                f"p = {self.p_value:.3g} (moving blocks, {self.n_pre + self.n_post} shifts)",
            ),
        ]
        if self._average and self.dropped_pre:
            lines.append(
                (
                    "average",
                    f"blocks of {self.n_post}; first {self.dropped_pre} pre-periods left out",
                )
            )
        return lines

    def _headline_name(self) -> str:
        return "average" if self._average else self.terms[0].term

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(
            estimator=f"conformal_{self.method}",
            n_treated=1,
            n_periods=self.n_pre + self.n_post,
            inference="conformal",
            inference_df=math.nan,
        )
        return facts

    def plot(self, ax=None, **style):  # type: ignore[override]
        """Effect per post period with its conformal interval (and the average's band).

        ``style``: ``labels``, ``title`` (the main message) and ``source`` (the source line).
        """
        from sfpc_eval.plotting import plot_conformal

        return plot_conformal(self, ax=ax, **style)

    def _refit(self, conf_level: float) -> ConformalResult:
        level = check_conf_level(conf_level)
        check_periods(self.n_pre, self.n_post, level, self._average)
        terms, periods = _intervals(
            self._inputs, level, self._average, list(self.periods["time"]), self.method
        )
        return dataclasses.replace(self, conf_level=level, terms=terms, periods=periods)


def _scale(proxy: Proxy, y1: np.ndarray, y0: np.ndarray) -> float:
    residuals = proxy(y1, y0)
    scale = math.sqrt(float(np.mean(residuals**2)))
    return scale if scale > 0 else 1e-6 * (float(np.mean(np.abs(y1))) + 1.0)


def _intervals(
    inputs: _Inputs, level: float, average: bool, post_periods: list, method: str
) -> tuple[tuple[Term, ...], pd.DataFrame]:
    alpha = 1 - level
    y1, y0, n_pre, proxy = inputs.y1, inputs.y0, inputs.n_pre, inputs.proxy
    label = {
        "synthetic_control": "synthetic control",
        "synthetic_did": "synthetic DiD unit weights",
        "augmented": "augmented synthetic control",
    }[method]
    rows, terms = [], []
    for k, period in enumerate(post_periods):
        keep = np.r_[np.arange(n_pre), n_pre + k]
        estimate = float(inputs.estimates[k])
        found = invert_slot(
            proxy, y1[keep], y0[keep], n_pre, alpha, estimate, _scale(proxy, y1[keep], y0[keep])
        )
        rows.append((period, estimate, found.low, found.high, found.p_zero, found.contiguous))
        note = _interval_note(found)
        terms.append(
            Term(
                f"effect@{period}",
                estimate,
                p_value=found.p_zero,
                conf_low=found.low,
                conf_high=found.high,
                method=f"conformal, {label} proxy, pre-periods and this period ({n_pre + 1} slots)",
                note=note,
            )
        )
    if average:
        blocks1, _ = block_average(y1, n_pre)
        blocks0, _ = block_average(y0, n_pre)
        slot = len(blocks1) - 1
        estimate = float(np.mean(inputs.estimates))
        found = invert_slot(
            proxy, blocks1, blocks0, slot, alpha, estimate, _scale(proxy, blocks1, blocks0)
        )
        note = _interval_note(found)
        terms.insert(
            0,
            Term(
                "average",
                estimate,
                p_value=found.p_zero,
                conf_low=found.low,
                conf_high=found.high,
                method=(
                    f"conformal, {label} proxy, {slot + 1} blocks of {len(post_periods)} periods"
                ),
                note=note,
            ),
        )
    periods = pd.DataFrame(
        rows, columns=["time", "estimate", "conf_low", "conf_high", "p_value", "contiguous"]
    )
    _warn_if_not_finite(terms, level)
    return tuple(terms), periods


def _interval_note(found: Inversion) -> str:
    """Say why an interval is not an ordinary one: a gap, no bound, or no effect accepted."""
    if math.isnan(found.low):
        return "every effect tried is rejected: no interval"
    notes = []
    if not (math.isfinite(found.low) and math.isfinite(found.high)):
        notes.append("interval unbounded: no effect that far out is rejected at this level")
    if not found.contiguous:
        notes.append("the accepted effects have a gap: interval is their hull")
    return "; ".join(notes)


def _warn_if_not_finite(terms: list[Term], level: float) -> None:
    odd = [t.term for t in terms if not (math.isfinite(t.conf_low) and math.isfinite(t.conf_high))]
    if odd:
        warnings.warn(
            f"conformal {level:.0%} intervals are unbounded or empty for {show_values(odd)}: "
            "the pre-period residuals are too few or too spread to bound the effect (see each "
            "term's note). Report the p-values, use a lower `conf_level`, or a longer "
            "pre-period.",
            UndefinedIntervalWarning,
            stacklevel=4,
        )


def _fit_method(data, design, method, pool, ridge_penalty, fixed_effects):
    """Point estimates per post period and the proxy of ``method``."""
    common = dict(design, donors=pool, exclude_donors=None)
    if method == "synthetic_control":
        fit = synthetic_control(data, **common, placebo=False, leave_one_out=False)
        gaps = fit.gaps
        return gaps.loc[gaps["time"] >= design["start"], "gap"].to_numpy(), sc_residuals
    if method == "augmented":
        fit = augmented_synthetic_control(
            data, **common, ridge_penalty=ridge_penalty, fixed_effects=fixed_effects
        )
        gaps = fit.gaps
        penalty = fit.ridge_penalty

        def proxy(y1: np.ndarray, y0: np.ndarray) -> np.ndarray:
            return augmented_residuals(y1, y0, penalty, fixed_effects)

        return gaps.loc[gaps["time"] >= design["start"], "gap"].to_numpy(), proxy
    fit = synthetic_did(data, **{**design, "donors": pool}, replications=2, rng=0)
    proxy = sdid_residuals(fit.zeta_omega, 1e-5 * fit.noise_level)
    return fit.effects["effect"].to_numpy(), proxy


def conformal_inference(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated_unit: object,
    start: object,
    method: str = "synthetic_control",
    donors: Sequence | None = None,
    exclude_donors: object = "default",
    conf_level: float = 0.9,
    average: bool = True,
    ridge_penalty: float | None = None,
    fixed_effects: bool = False,
) -> ConformalResult:
    """Conformal intervals per post period and for the average effect of one council.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per council and period. Not modified.
    outcome, unit, time : str
        Columns.
    treated_unit, start : object
        The council and the first period under the programme.
    method : {"synthetic_control", "synthetic_did", "augmented"}, default "synthetic_control"
        The counterfactual model (the estimates reported are that method's own).
    donors : sequence, optional
        Donor councils; default every other council.
    exclude_donors : "default", None, sequence, mapping or DataFrame, default "default"
        As in :func:`~sfpc_eval.single_unit.synthetic.synthetic_control`.
    conf_level : float, default 0.9
        Level of the intervals.
    average : bool, default True
        Also the interval for the average effect over the post periods (needs the post-period
        length times as many pre-periods as a per-period interval).
    ridge_penalty : float, optional
        For ``method="augmented"``: ``lambda`` (default chosen by leave-one-out).
    fixed_effects : bool, default False
        For ``method="augmented"``: centre councils on their means.

    Returns
    -------
    ConformalResult

    Raises
    ------
    TooFewPeriodsError
        Fewer pre-periods than the intervals need (the message gives the minimum).
    DesignError
        As :func:`~sfpc_eval.single_unit.synthetic.synthetic_control`.
    InvalidValueError
        An unknown ``method``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> factor = rng.normal(0, 1, 30)
    >>> rows = [(u, t, 5 * u + (1 + u / 5) * factor[t] + rng.normal(0, 0.3)
    ...          - 3 * (u == 2) * (t >= 25)) for u in range(6) for t in range(30)]
    >>> panel = pd.DataFrame(rows, columns=["la", "year", "rate"])
    >>> res = conformal_inference(panel, outcome="rate", unit="la", time="year",
    ...                           treated_unit=2, start=25, conf_level=0.8)
    >>> low, high = res.term("average").conf_low, res.term("average").conf_high
    >>> bool(low < -3 < high), bool(high < 0)
    (True, True)
    """
    level = check_conf_level(conf_level)
    if method not in METHODS:
        raise InvalidValueError(
            f"`method` must be one of {', '.join(map(repr, METHODS))}; got {method!r}."
        )
    wide, excluded, start = design_panel(
        data, outcome, unit, time, [treated_unit], donors, start, exclude_donors
    )
    periods = wide.index.to_numpy()
    n_pre = int((periods < start).sum())
    n_post = len(periods) - n_pre
    check_periods(n_pre, n_post, level, average)
    pool = list(wide.columns[:-1])
    design = {
        "outcome": outcome,
        "unit": unit,
        "time": time,
        "treated_unit": treated_unit,
        "start": start,
    }
    estimates, proxy = _fit_method(data, design, method, pool, ridge_penalty, fixed_effects)
    y = wide.to_numpy(dtype=float)
    inputs = _Inputs(y[:, -1], y[:, :-1], n_pre, np.asarray(estimates, dtype=float), proxy)
    post_periods = list(periods[n_pre:])
    terms, table = _intervals(inputs, level, average, post_periods, method)
    post = np.arange(len(periods)) >= n_pre
    return ConformalResult(
        outcome=outcome,
        time=time,
        treated_unit=treated_unit,
        start=start,
        method=method,
        conf_level=level,
        terms=terms,
        periods=table,
        p_value=sharp_null_p_value(proxy, inputs.y1, inputs.y0, post, 0.0),
        n_pre=n_pre,
        n_post=n_post,
        dropped_pre=n_pre % n_post if average else 0,
        excluded_donors=excluded,
        _inputs=inputs,
        _average=bool(average),
    )
