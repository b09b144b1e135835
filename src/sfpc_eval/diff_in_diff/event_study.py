"""Two-way fixed-effects event study: leads and lags of adoption, end-point binning."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sfpc_eval._terms import wald_term
from sfpc_eval._validate import check_conf_level
from sfpc_eval.cells.categorical import with_indicators
from sfpc_eval.diff_in_diff.cohorts import (
    CohortPanel,
    check_reference,
    check_window,
    validate_cohorts,
)
from sfpc_eval.diff_in_diff.event_study_fit import (
    EsFit,
    JointTest,
    PermutedEventStudy,
    fit_with_dummies,
    joint_wald,
    permute_cohorts,
)
from sfpc_eval.diff_in_diff.event_study_result import (
    EventStudyBase,
    event_label,
    mark_event_validity,
    pretrend_facts,
)
from sfpc_eval.diff_in_diff.honest_inputs import EventTimeEstimates
from sfpc_eval.diff_in_diff.twfe_result import Inference, analytic_variance
from sfpc_eval.errors import DesignError, InvalidValueError, UndefinedIntervalWarning
from sfpc_eval.inference.cluster import ClusterRobust, standard_errors, variance
from sfpc_eval.inference.randomization import Randomization, refuse_randomized_ties
from sfpc_eval.inference.wild import (
    WildClusterBootstrap,
    refuse_bootcluster,
    wild_cluster_bootstrap,
)
from sfpc_eval.labels import label as label_of
from sfpc_eval.results import Term

__all__ = ["EventStudyResult", "event_study", "event_times"]


def event_times(panel: CohortPanel) -> np.ndarray:
    """Periods since adoption of every row of ``panel.data`` (NaN for never-treated units).

    Counted in positions of the panel's periods, so years or any sorted numeric periods work.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"u": np.repeat([1, 2, 3], 3), "t": [2019, 2020, 2021] * 3,
    ...                    "y": np.arange(9.0), "g": [2020] * 6 + [np.nan] * 3})
    >>> panel = validate_cohorts(df, outcome="y", unit="u", time="t", cohort="g")
    >>> event_times(panel).tolist()
    [-1.0, 0.0, 1.0, -1.0, 0.0, 1.0, nan, nan, nan]
    """
    data = panel.data
    t_pos = np.searchsorted(panel.periods, data[panel.time].to_numpy(dtype=float))
    g = data[panel.cohort].to_numpy(dtype=float)
    out = np.full(len(data), np.nan)
    finite = np.isfinite(g)
    out[finite] = t_pos[finite] - np.searchsorted(panel.periods, g[finite])
    return out


@dataclass(frozen=True)
class EventStudyResult(EventStudyBase):
    """Result of :func:`event_study`.

    Attributes
    ----------
    outcome, unit, time, cohort : str
        Column names used.
    window : tuple of int
        First and last event time reported (periods relative to adoption).
    reference : int
        Omitted event time: every estimate is relative to it.
    bin_endpoints : bool
        Whether event times beyond the window were pooled into the end points.
    event_times : tuple of int
        Event time of each event-time term, in order.
    pretrend : JointTest or None
        Joint test that every lead (event time < 0, other than the reference) is zero.
    inference, conf_level
        Inference settings.
    n_obs, n_units, n_periods, n_clusters, n_never_treated : int
        Size of the problem.
    n_outside_window : int
        Rows of treated units whose event time is outside the window (pooled into the end
        points with ``bin_endpoints=True``, otherwise given their own unreported dummies).
    n_treated_clusters : int
        Clusters with a treated unit; with one, cluster-robust rows are marked not valid.
    terms : tuple of Term
        One per event time (``"e=-3"``, ``"e<=-5"``, ``"e>=4"``), then the covariates.
    """

    window: tuple[int, int]
    reference: int
    bin_endpoints: bool
    covariates: tuple[str, ...]
    inference: Inference
    n_never_treated: int
    n_outside_window: int
    pretrend: JointTest | None
    terms: tuple[Term, ...] = field(repr=False)
    _es: EsFit = field(repr=False, compare=False)
    _names: tuple[str, ...] = field(repr=False, compare=False)
    _assignment: tuple[np.ndarray, np.ndarray, np.ndarray] = field(repr=False, compare=False)
    n_treated_clusters: int = 0

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Event study (two-way fixed effects): {label_of(self.outcome)}"

    def _event_vcov(self) -> np.ndarray:
        idx = [self._es.fit.index(n) for n in self._names[: len(self.event_times)]]
        return self._es.var.vcov[np.ix_(idx, idx)]

    def event_time_estimates(self) -> EventTimeEstimates:
        """Return the event-time estimates for :func:`~sfpc_eval.honest_did`.

        Refused when binned end points pool several event times (their coefficients are not
        one period's).
        """
        if self.bin_endpoints and self.n_outside_window:
            raise DesignError(
                f"the end points of this event study pool {self.n_outside_window:,} rows of "
                f"event times outside the window {self.window}, so the first and last "
                "coefficients are not single periods, which HonestDiD's bounds on "
                "period-to-period changes need. Re-estimate with bin_endpoints=False (or a "
                "window covering every event time)."
            )
        return super().event_time_estimates()

    @property
    def vcov(self) -> pd.DataFrame:
        """Variance matrix of the event-time terms."""
        labels = [t.term for t in self.terms[: len(self.event_times)]]
        return pd.DataFrame(self._event_vcov(), index=labels, columns=labels)

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        lines = [
            ("outcome", f"{label_of(self.outcome)} ({self.outcome})"),
            (
                "fixed effects",
                f"{label_of(self.unit)} ({self.n_units}), {label_of(self.time, lower=True)} "
                f"({self.n_periods})",
            ),
            (
                "event window",
                f"{self.window[0]} to {self.window[1]}, reference {self.reference}"
                + (", end points binned" if self.bin_endpoints else ""),
            ),
            ("never-treated units", str(self.n_never_treated)),
            ("inference", f"{self.inference.describe()}; {self.n_clusters} clusters"),
        ]
        if self.n_outside_window:
            how = "pooled into the end points" if self.bin_endpoints else "own dummies, not shown"
            lines.append(("rows outside window", f"{self.n_outside_window:,} ({how})"))
        return [*lines, *pretrend_facts(self.pretrend)]

    def with_inference(self, inference: Inference) -> EventStudyResult:
        """Recompute standard errors, intervals, p-values and the pre-trend test."""
        es = _new_variance(
            self._es, self.inference, inference, self.unit, "event_study", df_for=self._names
        )
        return _build(self, es, inference, self.conf_level)

    def _refit(self, conf_level: float) -> EventStudyResult:
        return _build(self, self._es, self.inference, conf_level)


NO_RI_INTERVAL = (
    "no interval under randomization inference: the permutation test is of the sharp null of "
    "no effect at any event time, and an interval for one event time would need a sharp null "
    "for every other one; use with_inference(ClusterRobust(...)) for intervals"
)


def _check_inference(inference: Inference) -> None:
    analytic_variance(inference)
    if isinstance(inference, WildClusterBootstrap):
        refuse_bootcluster(inference, "the event study")
    if isinstance(inference, Randomization):
        refuse_randomized_ties(inference, "the event study")


def _new_variance(
    es: EsFit,
    current: Inference,
    inference: Inference,
    unit: str,
    estimator: str,
    df_for: Sequence[str] = (),
) -> EsFit:
    """``es`` with its variance recomputed under ``inference`` (same cluster column).

    ``df_for`` names the regressors that get their own degrees of freedom (CR2/CR3).
    """
    cluster = getattr(inference, "cluster", None) or unit
    was = getattr(current, "cluster", None) or unit
    if cluster != was:
        raise InvalidValueError(
            f"`with_inference` cannot change the cluster column from {was!r} to "
            f"{cluster!r} without refitting; call {estimator}(..., inference=...) again."
        )
    _check_inference(inference)
    fit = es.fit
    var = variance(fit, analytic_variance(inference), df_for=[fit.index(n) for n in df_for])
    return replace(es, var=var)


def _build(
    base: EventStudyResult, es: EsFit, inference: Inference, level: float
) -> EventStudyResult:
    terms = _terms(es, base._names, [t.term for t in base.terms], inference, level)
    n_event = len(base.event_times)
    terms = (
        *mark_event_validity(
            terms[:n_event], inference, es.fit.n_clusters, base.n_treated_clusters
        ),
        *terms[n_event:],
    )
    leads = [
        (n, t.term)
        for n, t, e in zip(base._names, base.terms, base.event_times, strict=False)
        if e < 0
    ]
    if isinstance(inference, Randomization):
        permuted = _permute(base, es, inference)
        terms = _randomization_terms(terms, permuted, len(base.event_times), es.var.label)
        pretrend = None
        if leads:
            pretrend = JointTest(
                permuted.wald,
                float(len(leads)),
                math.nan,
                permuted.wald_p,
                f"randomization of adoption cohorts across units ({permuted.how}), CR1 Wald "
                "statistic",
                tuple(t for _, t in leads),
            )
        return replace(
            base, _es=es, inference=inference, conf_level=level, terms=terms, pretrend=pretrend
        )
    contrasts = np.eye(es.fit.k)[[es.fit.index(n) for n, _ in leads]]
    pretrend = joint_wald(es, contrasts, [t for _, t in leads], inference)
    return replace(
        base, _es=es, inference=inference, conf_level=level, terms=terms, pretrend=pretrend
    )


def _permute(base: EventStudyResult, es: EsFit, spec: Randomization) -> PermutedEventStudy:
    unit_codes, t_pos, cohort_pos = base._assignment
    lo, hi = base.window
    shown = list(base.event_times)
    return permute_cohorts(
        es,
        spec,
        unit_codes=unit_codes,
        t_pos=t_pos,
        cohort_pos=cohort_pos,
        dummies=_dummy_block(lo, hi, shown, base.bin_endpoints),
        n_terms=len(shown),
        leads=[i for i, k in enumerate(shown) if k < 0],
    )


def _dummy_block(
    lo: int, hi: int, shown: Sequence[int], bin_endpoints: bool
) -> Callable[[np.ndarray], np.ndarray]:
    """Build the event-time dummies (then any unbinned outside-window ones) from event times."""

    def build(e: np.ndarray) -> np.ndarray:
        treated = np.isfinite(e)
        if bin_endpoints:
            binned = np.where(treated, np.clip(e, lo, hi), np.nan)
            return np.column_stack([binned == k for k in shown]).astype(np.float64)
        outside = treated & ((e < lo) | (e > hi))
        extra = np.unique(e[outside])
        return np.column_stack([*(e == k for k in shown), *(e == k for k in extra)]).astype(
            np.float64
        )

    return build


def _randomization_terms(
    terms: tuple[Term, ...], permuted: PermutedEventStudy, n_event: int, se_label: str
) -> tuple[Term, ...]:
    warnings.warn(
        f"event_study with Randomization(): {NO_RI_INTERVAL}. The event-time p-values are "
        "randomization-t p-values; the intervals are left empty.",
        UndefinedIntervalWarning,
        stacklevel=4,
    )
    out = list(terms)
    method = f"randomization-t of adoption cohorts ({permuted.how}, CR1 t); SE {se_label}"
    for i in range(n_event):
        out[i] = replace(
            out[i],
            p_value=float(permuted.term_p[i]),
            conf_low=math.nan,
            conf_high=math.nan,
            df=math.nan,
            method=method,
            note=NO_RI_INTERVAL,
        )
    return tuple(out)


def _terms(
    es: EsFit, names: Sequence[str], labels: Sequence[str], inference: Inference, level: float
) -> tuple[Term, ...]:
    fit, var = es.fit, es.var
    out = []
    se = standard_errors(var.vcov)
    for name, label in zip(names, labels, strict=True):
        j = fit.index(name)
        term = wald_term(label, fit.beta[j], se[j], level, var.label, df=var.df[j])
        if isinstance(inference, WildClusterBootstrap):
            boot = wild_cluster_bootstrap(fit, j, inference, level)
            how = "all sign vectors" if boot.enumerated else f"{boot.draws:,} draws"
            term = replace(
                term,
                p_value=boot.p_value,
                conf_low=boot.conf_low,
                conf_high=boot.conf_high,
                df=math.nan,
                method=f"wild cluster bootstrap ({how}); SE {var.label}",
            )
        out.append(term)
    return tuple(out)


def _check_window(
    e: np.ndarray, window: object, reference: object, bin_endpoints: bool
) -> tuple[int, int, int]:
    treated_e = e[np.isfinite(e)].astype(int)
    lo_data, hi_data = int(treated_e.min()), int(treated_e.max())
    if window is None:
        window = (lo_data, hi_data)
    lo, hi = check_window(window, ", e.g. (-4, 3)")
    if lo < lo_data or hi > hi_data:
        raise InvalidValueError(
            f"`window` ({lo}, {hi}) reaches outside the event times in the data ({lo_data} to "
            f"{hi_data} periods relative to adoption): no treated unit is observed at "
            f"{show_range(lo, hi, lo_data, hi_data)}. Use a window within ({lo_data}, {hi_data})."
        )
    reference = check_reference(reference, " (e.g. -1)")
    present = set(np.unique(treated_e).tolist())
    if reference not in present:
        raise InvalidValueError(
            f"`reference` event time {reference} is not observed for any treated unit (event "
            f"times in the data: {lo_data} to {hi_data}, missing "
            f"{sorted(set(range(lo_data, hi_data + 1)) - present)}). Choose an observed one, "
            "usually -1."
        )
    if bin_endpoints and not lo < reference < hi:
        raise InvalidValueError(
            f"`reference` {reference} must lie strictly inside the binned window ({lo}, {hi}): "
            "an end point pools every event time beyond it, so it cannot be the omitted "
            "period. Widen the window or pick another reference."
        )
    if not bin_endpoints and not lo <= reference <= hi:
        raise InvalidValueError(
            f"`reference` {reference} is outside the window ({lo}, {hi}); pick a reference "
            "inside it."
        )
    return lo, hi, reference


def show_range(lo: int, hi: int, lo_data: int, hi_data: int) -> str:
    """Describe which requested event times are absent."""
    parts = []
    if lo < lo_data:
        parts.append(f"{lo} to {lo_data - 1}")
    if hi > hi_data:
        parts.append(f"{hi_data + 1} to {hi}")
    return " and ".join(parts)


def event_study(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    window: tuple[int, int] | None = None,
    reference: int = -1,
    bin_endpoints: bool = True,
    covariates: Sequence[str] | None = None,
    weights: str | None = None,
    inference: Inference | None = None,
    conf_level: float = 0.95,
    allow_unbalanced: bool = False,
    absorb: bool | None = None,
    covariate_reference: Mapping[str, object] | None = None,
) -> EventStudyResult:
    """Event study by two-way fixed effects: leads and lags of adoption.

    Fits ``y_it = sum_e b_e 1{t - g_i = e} + covariates + unit effect + time effect`` with one
    dummy per event time ``e`` (periods since the unit's cohort ``g_i``) in ``window`` except
    ``reference``; never-treated units have every dummy 0 and serve as controls. With
    ``bin_endpoints`` the first and last dummies pool every event time beyond them
    (``e <= first``, ``e >= last``); without it, event times outside the window get their own
    dummies, which are fitted but not reported (so nothing is pooled with the reference).

    Under heterogeneous effects across cohorts the TWFE event-time coefficients are weighted
    mixtures that can include other periods' effects (Sun & Abraham, 2021); compare with
    :func:`sun_abraham` and :func:`imputation`.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit and period. Not modified.
    outcome, unit, time : str
        Outcome, unit and (numeric) period columns.
    cohort : str
        First treated period of each unit (missing = never treated).
    window : (int, int), optional
        First and last event time to report, e.g. ``(-4, 3)``. Default: every event time in
        the data. Must lie within the event times observed.
    reference : int, default -1
        Omitted event time; with binning it must be strictly inside the window.
    bin_endpoints : bool, default True
        Pool event times beyond the window into the end points.
    covariates : sequence of str, optional
        Time-varying covariates; text, ``category`` and boolean columns become indicators of
        each level but the reference.
    weights : str, optional
        Unit weights (constant within unit).
    inference : optional
        ``ClusterRobust(unit, "CR1")`` by default (as Stata and fixest). Also ``CR2``/``CR3``
        (Satterthwaite df per coefficient), ``HeteroskedasticityRobust``, ``Classical`` or
        ``WildClusterBootstrap`` (per-term p-values and intervals by the bootstrap), or
        ``Randomization`` (adoption cohorts permuted across units, exact when enumerable:
        randomization-t p-values per event time and for the pre-trend Wald statistic; no
        intervals, which each term's ``note`` explains, with an ``UndefinedIntervalWarning``).
    conf_level : float, default 0.95
        Confidence level.
    allow_unbalanced : bool, default False
        Accept units missing in some periods.
    absorb : bool, optional
        Absorb the fixed effects by demeaning (CR0/CR1/HC/classical only); default when
        there are more than 1,000 unit and period levels.
    covariate_reference : mapping, optional
        Reference level of categorical covariates (default: the first level).

    Returns
    -------
    EventStudyResult
        Terms per event time, the joint pre-trend test (``pretrend``: ``F = W/q`` against
        ``F(q, G-1)`` for cluster-robust variances, ``F(q, n-k)`` otherwise, a restricted wild
        bootstrap of the CR1 Wald statistic with ``WildClusterBootstrap``, the share of cohort
        assignments with a CR1 Wald statistic at least the observed one with
        ``Randomization``), ``bands()`` and
        ``plot()`` with pointwise and simultaneous (sup-t) bands.

    Raises
    ------
    MissingColumnError, InvalidValueError, DesignError
        Bad columns, cohorts, window or reference (see :func:`validate_cohorts`); the message
        names the argument, the offending values and the fix. ``DesignError`` also for the
        wild bootstrap or ``Randomization`` with ``absorb=True``.

    Warns
    -----
    UndefinedIntervalWarning
        With ``Randomization``: the event-time intervals are left empty.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import sfpc_eval as se
    >>> rng = np.random.default_rng(3)
    >>> rows = [(u, t) for u in range(30) for t in range(2010, 2020)]
    >>> df = pd.DataFrame(rows, columns=["la", "year"])
    >>> df["g"] = df["la"].map(lambda u: [2014, 2016, np.nan][u % 3])
    >>> df["y"] = 2.0 * (df["year"] >= df["g"]) + 0.1 * df["la"] + rng.normal(0, 1, len(df))
    >>> res = event_study(df, "y", "la", "year", "g", window=(-3, 3))
    >>> [round(t.estimate) for t in res.terms]
    [0, 0, 2, 2, 2, 2]
    >>> res.pretrend.p_value > 0.05
    True
    """
    level = check_conf_level(conf_level)
    inference = ClusterRobust(unit, "CR1") if inference is None else inference
    _check_inference(inference)
    if absorb and isinstance(inference, WildClusterBootstrap | Randomization):
        raise DesignError(
            "the wild bootstrap and randomization inference need dummy-column fixed effects; "
            "pass absorb=False or use ClusterRobust(kind='CR1')."
        )
    covariates = tuple(covariates or ())
    if covariates:  # text, category and boolean covariates become indicators
        data, covariates, _ = with_indicators(data, covariates, reference=covariate_reference)
    panel = validate_cohorts(
        data,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        covariates=covariates,
        weights=weights,
        allow_unbalanced=allow_unbalanced,
        control="never",
    )
    e = event_times(panel)
    lo, hi, reference = _check_window(e, window, reference, bin_endpoints)
    frame = panel.data
    treated = np.isfinite(e)
    outside = treated & ((e < lo) | (e > hi))
    binned = np.where(treated, np.clip(e, lo, hi), np.nan) if bin_endpoints else e
    shown = [k for k in range(lo, hi + 1) if k != reference]
    extra = sorted(set(np.unique(e[outside]).astype(int).tolist())) if not bin_endpoints else []
    columns: dict[str, np.ndarray] = {}
    names, labels, times = [], [], []
    for k in shown:
        name = f"__event_{k}"
        columns[name] = (binned == k).astype(np.float64)
        kind = "<=" if bin_endpoints and k == lo else ">=" if bin_endpoints and k == hi else ""
        names.append(name)
        labels.append(event_label(k, kind))
        times.append(k)
    nuisance = []
    for k in extra:
        name = f"__outside_{k}"
        columns[name] = (e == k).astype(np.float64)
        nuisance.append(name)
    work = pd.concat([frame, pd.DataFrame(columns, index=frame.index)], axis=1)
    regressors = [*names, *nuisance, *covariates]
    es = fit_with_dummies(
        work,
        outcome=outcome,
        unit=unit,
        time=time,
        regressors=regressors,
        weights=weights,
        inference=inference,
        absorb=absorb,
    )
    if isinstance(inference, WildClusterBootstrap | Randomization) and es.fit.absorbed:
        raise DesignError(
            "the wild bootstrap and randomization inference need dummy-column fixed effects; "
            "pass absorb=False or use ClusterRobust(kind='CR1')."
        )
    cells = es.cells
    unit_codes = np.asarray(cells.codes[unit])
    t_pos = np.searchsorted(panel.periods, cells.keys[time].to_numpy(dtype=float))
    first = frame.groupby(unit, sort=False)[cohort].first()
    g_cell = cells.keys[unit].map(first).to_numpy(dtype=float)
    cohort_pos = np.full(int(unit_codes.max()) + 1, np.inf)
    finite = np.isfinite(g_cell)
    cohort_pos[unit_codes[finite]] = np.searchsorted(panel.periods, g_cell[finite])
    all_names = (*names, *covariates)
    all_labels = [*labels, *covariates]
    base = EventStudyResult(
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        window=(lo, hi),
        reference=reference,
        bin_endpoints=bin_endpoints,
        event_times=tuple(times),
        covariates=covariates,
        inference=inference,
        conf_level=level,
        n_obs=panel.n_rows,
        n_units=panel.n_units,
        n_periods=panel.n_periods,
        n_clusters=es.fit.n_clusters,
        n_never_treated=panel.n_never_treated,
        n_outside_window=int(outside.sum()),
        pretrend=None,
        terms=tuple(Term(label, math.nan) for label in all_labels),
        _es=es,
        _names=all_names,
        _assignment=(unit_codes, t_pos.astype(np.float64), cohort_pos),
        n_treated_clusters=len(set(es.fit.cluster[np.isfinite(cohort_pos[unit_codes])].tolist())),
    )
    return _build(base, es, inference, level)
