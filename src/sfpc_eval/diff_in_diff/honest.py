"""HonestDiD sensitivity analysis (Rambachan & Roth 2023) for event-study results.

:func:`honest_did` asks how far the post-adoption violation of parallel trends may go before
an event study's conclusion changes. It bounds the violation in one of two ways and reports,
for each bound, a confidence interval for the chosen effect that is valid whenever the
violation stays within the bound:

* ``restriction="relative_magnitude"`` (Delta^RM(Mbar)): no period-to-period change in the
  differential trend after adoption is larger than ``Mbar`` times the largest such change
  before adoption. ``Mbar = 1``: post-adoption changes no bigger than the worst pre-adoption
  one. Intervals by the conditional test with a least-favourable first stage ("C-LF",
  R HonestDiD's default for this restriction).
* ``restriction="smoothness"`` (Delta^SD(M)): the slope of the differential trend changes by at
  most ``M`` (outcome units per period) from one period to the next; ``M = 0`` allows an exactly
  linear trend, extrapolated from the leads. Intervals are the optimal fixed-length intervals
  ("FLCI", R's default).

The *breakdown value* is the largest bound at which the interval still excludes zero.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from sfpc_eval._tables import Table, format_number
from sfpc_eval._validate import check_conf_level, check_resamples
from sfpc_eval.diff_in_diff.honest_core import (
    RESTRICTIONS,
    RobustInterval,
    breakdown_value,
    check_inputs,
    default_m_values,
    original_interval,
    robust_interval,
)
from sfpc_eval.diff_in_diff.honest_inputs import EventTimeEstimates
from sfpc_eval.errors import InvalidValueError, UndefinedIntervalWarning, show_values
from sfpc_eval.results import ResultMixin, Term

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["EventTimeEstimates", "HonestDiDResult", "honest_did"]

Restriction = Literal["relative_magnitude", "smoothness"]
BOUND_NAMES = {"relative_magnitude": "Mbar", "smoothness": "M"}
METHOD_TEXT = {
    "C-LF": "conditional test, least-favourable hybrid (Andrews, Roth & Pakes)",
    "conditional": "conditional test (Andrews, Roth & Pakes)",
    "FLCI": "optimal fixed-length interval",
}


@dataclass(frozen=True)
class HonestDiDResult(ResultMixin):
    """Result of :func:`honest_did`.

    Attributes
    ----------
    restriction : str
        ``"relative_magnitude"`` or ``"smoothness"``.
    method : str
        ``"C-LF"`` or ``"conditional"`` (relative magnitudes), ``"FLCI"`` (smoothness).
    target : str
        The effect bounded, in words (``"on impact (e=0)"``, ``"average of e=0..3"``...).
    weights : tuple of float
        Its weights on the post-period event times ``post_event_times``.
    post_event_times : tuple of int
        Event times after the reference period.
    n_pre : int
        Pre-period coefficients used (the reference period excluded).
    m_values : tuple of float
        The bounds (Mbar or M) at which intervals were computed.
    estimate, std_error : float
        The target under parallel trends, ``weights' beta_post``, and its standard error.
    breakdown_value : float
        Largest bound at which the robust interval excludes zero (0 when the interval at a
        bound of 0 already contains zero; ``inf`` when it never does up to 4,096 times the
        largest bound asked for).
    conf_level : float
        Confidence level of every interval.
    terms : tuple of Term
        ``"original"`` (parallel trends) then one per bound (``"Mbar=0.5"``, ``"M=0.01"``).
    """

    restriction: str
    method: str
    target: str
    weights: tuple[float, ...]
    post_event_times: tuple[int, ...]
    n_pre: int
    m_values: tuple[float, ...]
    estimate: float
    std_error: float
    breakdown_value: float
    conf_level: float
    terms: tuple[Term, ...] = field(repr=False)
    source: str = field(repr=False, default="")
    _inputs: EventTimeEstimates = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    _options: tuple = field(repr=False, compare=False, default=())

    @property
    def title(self) -> str:
        """Heading of the summary."""
        kind = "relative magnitudes" if self.restriction == "relative_magnitude" else "smoothness"
        return f"HonestDiD sensitivity ({kind}): {self.target}"

    @property
    def bound_name(self) -> str:
        """``"Mbar"`` (relative magnitudes) or ``"M"`` (smoothness)."""
        return BOUND_NAMES[self.restriction]

    def tidy(self) -> pd.DataFrame:
        """One row for the original interval, then one per bound.

        Columns: :data:`~sfpc_eval.results.TIDY_COLUMNS`, ``conf_level``, ``restriction`` and
        ``m`` (the bound; missing on the ``original`` row).
        """
        frame = super().tidy()
        frame["restriction"] = self.restriction
        frame["m"] = [math.nan, *self.m_values]
        return frame

    def facts(self) -> list[tuple[str, str]]:
        """Input and method lines shown above the summary table."""
        weights = ", ".join(
            f"e={e}: {format_number(w)}"
            for e, w in zip(self.post_event_times, self.weights, strict=True)
        )
        bd = self.breakdown_value
        if bd == 0:
            breakdown = f"0 (the interval at {self.bound_name} = 0 contains zero)"
        elif math.isinf(bd):
            breakdown = f"not reached (zero excluded at every {self.bound_name} tried)"
        else:
            breakdown = f"{self.bound_name} = {format_number(bd)}"
        return [
            ("From", self.source or "event-time estimates given directly"),
            ("Target", f"{self.target} (weights {weights})"),
            ("Pre-period coefficients", str(self.n_pre)),
            ("Method", METHOD_TEXT[self.method]),
            ("Breakdown value", breakdown),
        ]

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update(estimator="honest_did", inference="honest", inference_df=math.nan)
        return facts

    def _refit(self, conf_level: float) -> HonestDiDResult:
        restriction, target, m_values, method, lf_draws, rng = self._options
        return honest_did(
            self._inputs,
            restriction=restriction,
            m_values=m_values,
            target=target,
            conf_level=conf_level,
            method=method,
            lf_draws=lf_draws,
            rng=rng,
        )

    def summary(self) -> Table:
        """Original and robust intervals, one row per bound."""
        pct = f"{self.conf_level:.0%}"
        rows = [
            [t.term, format_number(t.conf_low), format_number(t.conf_high), t.method]
            for t in self.terms
        ]
        return Table(
            self.title,
            ["bound", f"{pct} CI low", f"{pct} CI high", "method"],
            rows,
            facts=self.facts(),
            notes=self.notes(),
        )

    def plot(self, ax: Axes | None = None, **style: Any) -> Axes:
        """Draw the sensitivity plot: original interval, then the robust one at each bound.

        ``style``: ``labels``, ``title`` (the main message) and ``source`` (the source line).
        """
        from sfpc_eval.plotting import plot_honest_did

        return plot_honest_did(self, ax=ax, **style)


def _estimates_of(result: object) -> EventTimeEstimates:
    if isinstance(result, EventTimeEstimates):
        return result
    getter = getattr(result, "event_time_estimates", None)
    if getter is None:
        raise InvalidValueError(
            f"honest_did needs an event-study result (event_study, sun_abraham or "
            f"callaway_santanna(...).aggregate('dynamic')) or EventTimeEstimates; got "
            f"{type(result).__name__}, which has no event times."
        )
    return getter()


def _weights(target: object, post_times: tuple[int, ...]) -> tuple[np.ndarray, str]:
    n_post = len(post_times)
    if isinstance(target, str):
        if target == "on_impact":
            return np.eye(n_post)[0], f"on impact (e={post_times[0]})"
        if target == "average":
            return (
                np.full(n_post, 1.0 / n_post),
                f"average of e={post_times[0]}..{post_times[-1]}",
            )
        raise InvalidValueError(
            f"`target` must be 'on_impact', 'average', a post-period event time "
            f"({show_values(post_times)}) or one weight per post-period; got {target!r}."
        )
    if isinstance(target, int | np.integer) and not isinstance(target, bool):
        if int(target) not in post_times:
            raise InvalidValueError(
                f"`target={target}` is not a post-period event time; they are "
                f"{show_values(post_times)}."
            )
        return np.eye(n_post)[post_times.index(int(target))], f"event time e={int(target)}"
    try:
        w = np.asarray(target, dtype=float)
    except (TypeError, ValueError):
        raise InvalidValueError(f"`target` weights must be numbers; got {target!r}.") from None
    if w.ndim != 1 or len(w) != n_post:
        raise InvalidValueError(
            f"`target` weights need one entry per post-period event time "
            f"({n_post}: {show_values(post_times)}); got {w.size}."
        )
    if not np.all(np.isfinite(w)):
        raise InvalidValueError(f"`target` weights contain NaN or infinite values: {w.tolist()}.")
    if abs(w.sum()) <= 1e-12 * max(np.abs(w).max(), 1e-300):
        raise InvalidValueError(
            f"`target` weights sum to zero ({w.tolist()}): they must average the post-period "
            "effects (e.g. equal weights summing to 1)."
        )
    return w, "weighted average of " + ", ".join(
        f"{format_number(x)} x e={e}" for x, e in zip(w, post_times, strict=True)
    )


def _m_values(m_values: object, restriction: str) -> np.ndarray | None:
    if m_values is None:
        return None
    name = BOUND_NAMES[restriction]
    try:
        arr = np.atleast_1d(np.asarray(m_values, dtype=float))
    except (TypeError, ValueError):
        raise InvalidValueError(f"`m_values` must be numbers ({name}); got {m_values!r}.") from None
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidValueError(f"`m_values` must be a non-empty list of {name} values.")
    bad = arr[~np.isfinite(arr) | (arr < 0)]
    if bad.size:
        raise InvalidValueError(
            f"`m_values` ({name}) must be finite and non-negative; got {show_values(bad.tolist())}."
        )
    return arr


def honest_did(
    result: object,
    *,
    restriction: Restriction = "relative_magnitude",
    m_values: Sequence[float] | None = None,
    target: str | int | Sequence[float] = "on_impact",
    conf_level: float = 0.95,
    method: str | None = None,
    lf_draws: int = 10_000,
    rng: int = 0,
) -> HonestDiDResult:
    """Sensitivity of an event study to violations of parallel trends (Rambachan & Roth 2023).

    Parameters
    ----------
    result
        An event-study result: :func:`event_study`, :func:`sun_abraham`,
        ``callaway_santanna(..., base_period="universal").aggregate("dynamic")``, or
        :class:`EventTimeEstimates` built by hand. It needs at least one lead besides the
        reference period, and consecutive event times. (:func:`imputation` results carry no
        leads estimated jointly with the effects and are refused.)
    restriction : {"relative_magnitude", "smoothness"}, default "relative_magnitude"
        How the post-adoption violation is bounded (see the module notes).
    m_values : sequence of float, optional
        Bounds to compute intervals at: Mbar (relative magnitudes) or M (smoothness, in
        outcome units per period squared). Default, as R: Mbar in 10 steps on [0, 2]; M in 10
        steps from 0 to the largest one-sided upper confidence bound of the leads' second
        differences.
    target : "on_impact", "average", int or sequence of float, default "on_impact"
        The effect bounded: the first post-period effect, the average over the post-periods,
        one post-period event time, or weights on the post-periods (one each, not summing to
        zero).
    conf_level : float, default 0.95
        Confidence level.
    method : str, optional
        ``"C-LF"`` (default) or ``"conditional"`` for relative magnitudes; ``"FLCI"`` for
        smoothness.
    lf_draws : int, default 10000
        Simulation draws for the least-favourable critical value of C-LF (R uses 1,000).
    rng : int, default 0
        Seed of those draws, reused at every bound (as R reuses its ``seed``) so the intervals
        and the breakdown value come from one critical-value simulation per polyhedron.

    Returns
    -------
    HonestDiDResult

    Raises
    ------
    DesignError
        No lead besides the reference period, no reference period, gaps in event times.
    InvalidValueError
        Negative or non-finite bounds, weights of the wrong length or summing to zero, an
        unknown restriction or target, a result with no event times.

    Examples
    --------
    >>> import numpy as np
    >>> import sfpc_eval as se
    >>> est = se.EventTimeEstimates(
    ...     (-4, -3, -2, 0, 1), np.array([0.01, -0.01, 0.0, 0.30, 0.35]),
    ...     np.diag([0.004, 0.004, 0.004, 0.004, 0.005]), reference=-1)
    >>> res = se.honest_did(est, m_values=[0.5, 1.0])
    >>> res.tidy()[["term", "conf_low", "conf_high"]].round(3)
           term  conf_low  conf_high
    0  original     0.176      0.424
    1  Mbar=0.5     0.152      0.448
    2    Mbar=1     0.097      0.503
    >>> round(res.breakdown_value, 2)
    1.65
    """
    if restriction not in RESTRICTIONS:
        raise InvalidValueError(
            f"`restriction` must be one of {', '.join(map(repr, RESTRICTIONS))}; got "
            f"{restriction!r}."
        )
    level = check_conf_level(conf_level)
    alpha = 1.0 - level
    lf_draws = check_resamples(lf_draws, "lf_draws", minimum=100)
    if isinstance(rng, bool) or not isinstance(rng, int | np.integer) or rng < 0:
        raise InvalidValueError(
            f"`rng` must be a non-negative whole number (the seed of the least-favourable "
            f"critical value, reused at every bound so that intervals and the breakdown value "
            f"are consistent); got {rng!r}."
        )
    ms = _m_values(m_values, restriction)
    inputs = _estimates_of(result)
    betahat, sigma, n_pre, post_times = inputs.split()
    l_vec, target_text = _weights(target, post_times)
    betahat, sigma, l_vec = check_inputs(betahat, sigma, n_pre, l_vec)
    if ms is None:
        ms = default_m_values(restriction, betahat, sigma, n_pre, alpha)
    options = {"method": method, "lf_draws": int(lf_draws), "seed": int(rng)}

    def at(m: float) -> RobustInterval:
        return robust_interval(betahat, sigma, n_pre, l_vec, restriction, m, alpha, **options)

    intervals = [at(float(m)) for m in ms]
    est, se, low, high = original_interval(betahat, sigma, n_pre, l_vec, alpha)
    start = (
        float(ms.max()) if ms.max() > 0 else (1.0 if restriction == "relative_magnitude" else se)
    )
    breakdown = breakdown_value(at, start)
    statistic = est / se if se > 0 else math.nan
    validity: dict[str, bool] = {}
    why = ""
    if not inputs.valid:
        why = inputs.note or "the event study's variance is not valid for this design"
        validity = {"valid": False}
    terms = [
        Term(
            "original",
            est,
            se,
            statistic,
            math.inf,
            float(2 * stats.norm.sf(abs(statistic))),
            low,
            high,
            "parallel trends (normal reference)",
            note=why,
            **validity,
        )
    ]
    name = BOUND_NAMES[restriction]
    for iv in intervals:
        note = "robust interval: no standard error or p-value"
        if math.isnan(iv.conf_low):
            note = f"empty: every value rejected at {name} = {iv.m:g}; the leads contradict it"
        elif math.isinf(iv.conf_low) or math.isinf(iv.conf_high):
            note = f"unbounded at {name} = {iv.m:g}: the data cannot bound the effect"
        if not (math.isfinite(iv.conf_low) and math.isfinite(iv.conf_high)):
            warnings.warn(f"honest_did: the interval is {note}.", UndefinedIntervalWarning, 2)
        if validity:
            note = f"{note}; {why}"
        terms.append(
            Term(
                f"{name}={iv.m:g}",
                est,
                conf_low=iv.conf_low,
                conf_high=iv.conf_high,
                method=iv.method,
                note=note,
                **validity,
            )
        )
    return HonestDiDResult(
        restriction=restriction,
        method=intervals[0].method if intervals else (method or ""),
        target=target_text,
        weights=tuple(float(x) for x in l_vec),
        post_event_times=post_times,
        n_pre=n_pre,
        m_values=tuple(float(m) for m in ms),
        estimate=est,
        std_error=se,
        breakdown_value=float(breakdown),
        conf_level=level,
        terms=tuple(terms),
        source=inputs.source,
        _inputs=inputs,
        _options=(restriction, target, m_values, method, int(lf_draws), int(rng)),
    )
