"""Callaway-Sant'Anna result pieces: the terms of group-time effects and their aggregations."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special

from sfpc_eval._validate import check_conf_level
from sfpc_eval.diff_in_diff.event_study_fit import JointTest
from sfpc_eval.diff_in_diff.honest_inputs import EventTimeEstimates
from sfpc_eval.errors import (
    DesignError,
    InvalidValueError,
    UndefinedIntervalWarning,
    show_values,
)
from sfpc_eval.results import ResultMixin, Term
from sfpc_eval.staggered.callaway_checks import dynamic_pretrend_test, mark_callaway_validity
from sfpc_eval.staggered.callaway_inference import (
    Multipliers,
    analytic_se,
    bootstrap_se_crit,
    cluster_sums,
    draw_multipliers,
    sup_t_analytic,
)
from sfpc_eval.tables import Cell, Table, format_number
from sfpc_eval.tables.estimates import estimates_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes


ESTIMATION_NAMES = {
    "dr": "doubly robust",
    "ipw": "inverse probability weighting",
    "reg": "outcome regression",
}


CONTROL_NAMES = {"never": "never treated", "not_yet": "never or not yet treated"}


def format_period(value: float) -> str:
    """Format a cohort or period for a term name: ``2016``, not ``2016.0``."""
    return f"{value:g}"


@dataclass(frozen=True, eq=False)
class CallawayInference:
    """What every reading of a Callaway-Sant'Anna result needs for its intervals.

    ``band`` = (draws, seed): with analytic standard errors, the uniform band's critical value
    still comes from a multiplier bootstrap (``draws`` Rademacher draws from ``seed``, drawn
    when needed), as R ``did`` draws its bands by default; None for no band.
    """

    codes: np.ndarray = field(repr=False)
    n_clusters: int
    cluster: str
    multipliers: Multipliers | None = field(repr=False)
    band: tuple[int, int] | None = None
    cohort_clusters: dict = field(default_factory=dict, repr=False)

    def describe(self) -> str:
        """Say how standard errors were computed, for the result's method line."""
        where = f"clustered by {self.cluster}"
        if self.multipliers is None:
            return f"influence function, normal ({where})"
        return f"multiplier bootstrap, {self.multipliers.draws} Rademacher draws ({where})"

    def band_multipliers(self) -> Multipliers | None:
        """Return the draws behind the uniform band (the bootstrap's or its own; or None)."""
        if self.multipliers is not None:
            return self.multipliers
        if self.band is None:
            return None
        draws, seed = self.band
        return draw_multipliers(draws, self.n_clusters, np.random.default_rng(seed))


def callaway_terms(
    names: Sequence[str],
    estimates: np.ndarray,
    influence: np.ndarray,
    inference: CallawayInference,
    level: float,
    *,
    fixed: np.ndarray | None = None,
    band: np.ndarray | None = None,
    cohorts: list[np.ndarray] | None = None,
) -> tuple[tuple[Term, ...], float | None]:
    """Terms with pointwise intervals, and the sup-t critical value of the uniform band.

    ``fixed`` flags estimates that are 0 by construction (reference cells); they get no
    standard error and are left out of the uniform band. ``band`` flags the estimates the
    uniform band covers (default: all that are not fixed). ``cohorts`` (per estimate, the
    cohorts it averages) marks the rows that rest on one treated cluster
    (:func:`~sfpc_eval.staggered.callaway_checks.mark_callaway_validity`).
    """
    n_est = len(estimates)
    if fixed is None:
        fixed = np.zeros(n_est, dtype=bool)
    free = np.flatnonzero(~fixed)
    band = ~fixed if band is None else band & ~fixed
    se = np.full(n_est, math.nan)
    crit_uniform: float | None = None
    if inference.multipliers is None:
        se[free] = analytic_se(influence[:, free], inference.codes, inference.n_clusters)
        draws = inference.band_multipliers()
        if draws is not None and band[free].any():
            crit_uniform = sup_t_analytic(
                influence[:, free][:, band[free]],
                se[free][band[free]],
                inference.codes,
                inference.n_clusters,
                draws,
                level,
            )
    elif len(free):
        se[free], crit = bootstrap_se_crit(
            influence[:, free],
            inference.codes,
            inference.n_clusters,
            inference.multipliers,
            level,
            band=band[free],
        )
        crit_uniform = crit if band.any() else None
    z = float(special.ndtri(0.5 + level / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.where(se > 0, estimates / se, math.nan)
    p_value = 2 * special.ndtr(-np.abs(statistic))
    method = inference.describe()
    terms = []
    for i, name in enumerate(names):
        if fixed[i]:
            terms.append(
                Term(
                    name,
                    0.0,
                    method=method,
                    note="base period: 0 by construction (universal base period)",
                )
            )
            continue
        s = se[i]
        terms.append(
            Term(
                name,
                estimates[i],
                s,
                statistic[i],
                math.inf,
                p_value[i],
                estimates[i] - z * s,
                estimates[i] + z * s,
                method,
                "" if s > 0 else "zero standard error: no variation in this comparison",
            )
        )
    flat = [t.term for t in terms if t.std_error == 0 and not t.note.startswith("base period")]
    if flat:
        warnings.warn(
            f"ATT terms {show_values(flat)} have a zero standard error (no variation in their "
            "comparison): no test (p-value NaN), and a zero-width interval.",
            UndefinedIntervalWarning,
            stacklevel=3,
        )
    out = tuple(terms)
    if cohorts is not None and inference.cohort_clusters:
        out = mark_callaway_validity(out, cohorts, inference.cohort_clusters)
    return out, crit_uniform


def uniform_columns(frame: pd.DataFrame, crit: float | None) -> pd.DataFrame:
    """Add the simultaneous band (limits and critical value) to a tidy frame, when there is one."""
    if crit is None:
        return frame
    frame["conf_low_uniform"] = frame["estimate"] - crit * frame["std_error"]
    frame["conf_high_uniform"] = frame["estimate"] + crit * frame["std_error"]
    frame["crit_uniform"] = crit
    return frame


@dataclass(frozen=True, eq=False)
class CallawayAggregate(ResultMixin):
    """An aggregation of Callaway & Sant'Anna group-time effects.

    Attributes
    ----------
    kind : str
        ``"simple"``, ``"group"``, ``"calendar"`` or ``"dynamic"``.
    index : numpy.ndarray
        Cohorts, periods or event times of the component effects (empty for ``"simple"``).
    estimates : numpy.ndarray
        Component effects.
    overall : float
        The overall summary effect (also the last term, ``"overall"``).
    crit_uniform : float or None
        Critical value of the uniform (sup-t) band over the components; None without
        bootstrap.
    influence : numpy.ndarray
        ``n_units x len(index)`` influence functions of the components.
    overall_influence : numpy.ndarray
        Influence function of the overall effect.
    terms : tuple of Term
        One per component (``"ATT(e=2)"``, ``"ATT(g=2021)"``, ``"ATT(t=2022)"``) then
        ``"overall"``.
    """

    kind: str
    min_e: float
    max_e: float
    balance_e: int | None
    index: np.ndarray = field(repr=False)
    estimates: np.ndarray = field(repr=False)
    overall: float
    influence: np.ndarray = field(repr=False)
    overall_influence: np.ndarray = field(repr=False)
    inference: CallawayInference = field(repr=False)
    conf_level: float
    crit_uniform: float | None
    terms: tuple[Term, ...] = field(repr=False)
    source: str = field(repr=False, default="")
    origin: dict = field(repr=False, default_factory=dict)
    title: str = "Callaway & Sant'Anna aggregation"
    cohorts: list | None = field(repr=False, default=None)

    @property
    def pretrend(self) -> JointTest | None:
        """Joint test that the pre-adoption components are zero (``"dynamic"`` only).

        See :func:`~sfpc_eval.staggered.callaway_checks.dynamic_pretrend_test`.
        """
        return dynamic_pretrend_test(self)

    def summary(self, labels: dict[str, str] | None = None) -> Table:
        """Render as a table: pointwise intervals, the uniform band, the pre-period test.

        The library's estimates table (:func:`sfpc_eval.tables.estimates.estimates_table`)
        with a column for the uniform (simultaneous) band after the pointwise interval; the
        facts list the pre-adoption estimates and their joint test. ``print`` it, or render
        or export it as any table.
        """
        table = estimates_table(self, labels=labels)
        frame = self.tidy()
        if "conf_low_uniform" not in frame:
            return table
        band_format = table.rows[0][3].format if table.rows else None
        rows = []
        for row, low, high in zip(
            table.rows, frame["conf_low_uniform"], frame["conf_high_uniform"], strict=True
        ):
            rows.append([*row[:4], Cell((float(low), float(high)), band_format), *row[4:]])
        columns = [*table.columns[:4], f"{self.conf_level:.0%} uniform band", *table.columns[4:]]
        return replace(table, columns=columns, rows=rows)

    @property
    def index_name(self) -> str:
        """Column naming the components in ``tidy()``."""
        return {"group": "cohort", "calendar": "time", "dynamic": "event_time"}.get(
            self.kind, "component"
        )

    def tidy(self) -> pd.DataFrame:
        """One row per component effect then ``overall``; the components carry their index.

        Columns: :data:`~sfpc_eval.results.TIDY_COLUMNS`, ``conf_level``, ``aggregation``, the
        index column (``event_time``, ``cohort`` or ``time``; missing on the ``overall``
        row), and with bootstrap ``conf_low_uniform``, ``conf_high_uniform`` and
        ``crit_uniform`` (the uniform band over the components; missing on ``overall``).
        """
        frame = super().tidy()
        frame["aggregation"] = self.kind
        if self.kind != "simple":
            frame[self.index_name] = [*self.index, math.nan]
        frame = uniform_columns(frame, self.crit_uniform)
        if self.crit_uniform is not None:
            frame.loc[frame["term"] == "overall", ["conf_low_uniform", "conf_high_uniform"]] = (
                math.nan
            )
            frame.loc[frame["term"] == "overall", "crit_uniform"] = math.nan
        return frame

    def _headline_name(self) -> str:
        return "overall"

    def _glance(self) -> dict[str, object]:
        facts = super()._glance()
        facts.update({k: v for k, v in self.origin.items() if k not in ("conf_level",)})
        facts["inference_df"] = self.headline.df
        return facts

    def event_time_estimates(self) -> EventTimeEstimates:
        """Event-time estimates for :func:`~sfpc_eval.honest_did` (dynamic aggregation only).

        The covariance is the analytic one from the influence functions (summed within
        clusters), ``S'S / n^2``, as R HonestDiD's ``honest_did.AGGTEobj`` uses. Needs the
        universal base period: its event time -1 is 0 by construction and is the reference.
        """
        if self.kind != "dynamic":
            raise InvalidValueError(
                f"honest_did needs the 'dynamic' aggregation (event times); this is the "
                f"{self.kind!r} one. Use result.aggregate('dynamic')."
            )
        fixed = (self.estimates == 0) & ~np.any(self.influence != 0, axis=0)
        times = [float(e) for e in self.index]
        if not any(e < -1 or (e == -1 and not f) for f, e in zip(fixed, times, strict=True)):
            raise DesignError(
                "this dynamic aggregation has no pre-period estimate (event times "
                f"{format_period(min(times))} to {format_period(max(times))}); HonestDiD bounds "
                "the post-period violation of parallel trends by the pre-period one. Aggregate "
                "with min_e at -2 or earlier."
            )
        if not any(f and e == -1 for f, e in zip(fixed, times, strict=True)):
            raise DesignError(
                "HonestDiD needs every event-time estimate measured against one base period, "
                "and this aggregation's pre-period estimates compare consecutive periods "
                "(base_period='varying'). Re-estimate with "
                "callaway_santanna(..., base_period='universal')."
            )
        keep = np.flatnonzero(~fixed)
        inf = self.influence[:, keep]
        inference = self.inference
        n = inf.shape[0]
        sums = (
            inf
            if inference.n_clusters == n
            else cluster_sums(inf, inference.codes, inference.n_clusters)
        )
        return EventTimeEstimates(
            event_times=tuple(int(times[i]) for i in keep),
            estimates=np.asarray(self.estimates, dtype=float)[keep],
            vcov=sums.T @ sums / n**2,
            reference=-1,
            source=self.title,
        )

    def _refit(self, conf_level: float) -> CallawayAggregate:
        level = check_conf_level(conf_level)
        refit = build_aggregate(
            self.kind,
            self.index,
            self.estimates,
            self.influence,
            self.overall,
            self.overall_influence,
            self.inference,
            level,
            self.min_e,
            self.max_e,
            self.balance_e,
            self.source,
            self.cohorts,
        )
        return replace(refit, origin=self.origin)

    def facts(self) -> list[tuple[str, str]]:
        """Input and method lines shown above the summary table."""
        window = ""
        if np.isfinite(self.min_e) or np.isfinite(self.max_e):
            window = f"; event times {format_period(self.min_e)} to {format_period(self.max_e)}"
        if self.balance_e is not None:
            window += f"; cohorts balanced up to e={self.balance_e}"
        lines = [("Aggregation", f"{self.kind}{window}"), ("From", self.source)]
        if self.crit_uniform is not None:
            how = (
                "multiplier bootstrap"
                if self.inference.multipliers is not None
                else f"multiplier bootstrap, {self.inference.band[0]} draws, analytic SEs"
                if self.inference.band
                else "multiplier bootstrap"
            )
            lines.append(("Uniform band critical value", f"{self.crit_uniform:.3f} ({how})"))
        if self.kind == "dynamic":
            pre = [
                f"{t.term} {format_number(t.estimate)}"
                for e, t in zip(self.index, self.terms, strict=False)
                if e < 0 and t.std_error > 0
            ]
            test = self.pretrend
            if pre:
                lines.append(("Pre-period estimates", "; ".join(pre)))
            if test is not None:
                lines.append(
                    (
                        "Pre-period joint test",
                        f"{len(test.terms)} estimates = 0: statistic {test.statistic:.3f}, "
                        f"p = {test.p_value:.4f} ({test.method})",
                    )
                )
        return lines

    def plot(self, ax: Axes | None = None, **style: Any) -> Axes:
        """Plot the component effects with pointwise (and, with bootstrap, uniform) bands.

        ``style``: ``labels``, ``title`` (the main message) and ``source`` (the source line).
        """
        from sfpc_eval.plotting import plot_aggregate

        return plot_aggregate(self, ax=ax, **style)


def build_aggregate(
    kind: str,
    index: np.ndarray,
    estimates: np.ndarray,
    influence: np.ndarray,
    overall: float,
    overall_influence: np.ndarray,
    inference: CallawayInference,
    level: float,
    min_e: float,
    max_e: float,
    balance_e: int | None,
    source: str,
    cohorts: list | None = None,
) -> CallawayAggregate:
    """Build the result of one aggregation from its estimates and influence functions.

    ``cohorts`` lists, per component and then for the overall effect, the cohorts averaged.
    """
    label = {"group": "g", "calendar": "t", "dynamic": "e"}.get(kind, "")
    names = [f"ATT({label}={format_period(v)})" for v in index]
    # with a universal base period, the event time of the base period averages cells that are
    # 0 by construction: report it as such, not as an estimate with a zero standard error
    fixed = (estimates == 0) & ~np.any(influence != 0, axis=0)
    # components and overall in one pass (one bootstrap product); the band covers components
    terms, crit = callaway_terms(
        [*names, "overall"],
        np.append(estimates, overall),
        np.column_stack([influence, overall_influence]),
        inference,
        level,
        fixed=np.append(fixed, False),
        band=np.append(np.ones(len(names), dtype=bool), False),
        cohorts=cohorts,
    )
    return CallawayAggregate(
        kind=kind,
        min_e=min_e,
        max_e=max_e,
        balance_e=balance_e,
        index=index,
        estimates=estimates,
        overall=overall,
        influence=influence,
        overall_influence=overall_influence,
        inference=inference,
        conf_level=level,
        crit_uniform=crit,
        terms=terms,
        source=source,
        title=f"Callaway & Sant'Anna: {kind} aggregation",
        cohorts=cohorts,
    )
