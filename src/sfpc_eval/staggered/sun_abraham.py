"""Sun & Abraham (2021) interaction-weighted event study.

Fit ``y_it = sum_{g, e != ref} b_{g,e} 1{G_i = g} 1{t - g = e} + unit + time`` with never-treated
(or the last-treated cohort as) controls: each ``b_{g,e}`` is a cohort-specific effect
``CATT(g, e)`` relative to the reference period, free of the contamination that pooled TWFE
event-time coefficients suffer under heterogeneous effects. The event-time effect is the
average over cohorts weighted by each cohort's share of the observations at that event time,
``sum_g w_{g,e} b_{g,e}``, and ``att`` averages every post-adoption ``(g, e)`` cell by its share
of treated observations (fixest's ``agg = "ATT"``).

Standard errors treat the shares as fixed (``sqrt(w' V w)``), as ``fixest::aggregate`` and
pyfixest's ``SaturatedEventStudy.aggregate`` do; Sun & Abraham's own Stata command also adds
the sampling variance of the shares, which is not done here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sfpc_eval._terms import wald_term
from sfpc_eval._validate import check_conf_level
from sfpc_eval.diff_in_diff.cohorts import check_reference, check_window, validate_cohorts
from sfpc_eval.diff_in_diff.event_study import _check_inference, _new_variance, event_times
from sfpc_eval.diff_in_diff.event_study_fit import EsFit, JointTest, fit_with_dummies, joint_wald
from sfpc_eval.diff_in_diff.event_study_result import (
    EventStudyBase,
    event_label,
    mark_event_validity,
    pretrend_facts,
)
from sfpc_eval.diff_in_diff.twfe_result import Inference, analytic_variance
from sfpc_eval.errors import DesignError, InvalidValueError, show_values
from sfpc_eval.inference.cluster import (
    ClusterRobust,
    contrast_df,
    contrast_standard_error,
    standard_errors,
)
from sfpc_eval.labels import label as label_of
from sfpc_eval.panel import numeric_column, require_columns
from sfpc_eval.results import Term

__all__ = ["SunAbrahamResult", "sun_abraham"]


@dataclass(frozen=True)
class SunAbrahamResult(EventStudyBase):
    """Result of :func:`sun_abraham`.

    Attributes
    ----------
    outcome, unit, time, cohort : str
        Column names used.
    control : {"never", "last"}
        Comparison group: never-treated units, or the last-treated cohort (periods from its
        adoption on are then left out, and its units count as controls).
    reference : int
        Omitted event time of every cohort.
    event_times : tuple of int
        Event time of each event-time term.
    pretrend : JointTest or None
        Joint test that the aggregated leads are zero.
    n_obs, n_units, n_periods, n_clusters, n_control_units : int
        Size of the problem (after the ``control="last"`` restriction).
    n_rows_dropped : int
        Rows left out by ``control="last"`` (periods from the last cohort's adoption on).
    terms : tuple of Term
        ``"e=k"`` per event time, then ``"att"``; marked not valid (with the reason) when the
        inference is not valid for the design (one treated cluster with cluster-robust
        variances).
    n_treated_clusters : int
        Clusters with a treated unit.
    """

    control: str
    reference: int
    inference: Inference
    n_control_units: int
    n_rows_dropped: int
    pretrend: JointTest | None
    terms: tuple[Term, ...] = field(repr=False)
    _es: EsFit = field(repr=False, compare=False)
    _cells: pd.DataFrame = field(repr=False, compare=False)
    _contrasts: np.ndarray = field(repr=False, compare=False)
    n_treated_clusters: int = 0

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Sun & Abraham interaction-weighted event study: {label_of(self.outcome)}"

    def _event_vcov(self) -> np.ndarray:
        c = self._contrasts[: len(self.event_times)]
        return c @ self._es.var.vcov @ c.T

    @property
    def att(self) -> Term:
        """Average effect over post-adoption cells, weighted by their observation shares."""
        return self.term("att")

    def cohort_effects(self) -> pd.DataFrame:
        """Cohort-specific effects ``CATT(g, e)`` with the aggregation weights.

        Columns: ``cohort, event_time, estimate, std_error, n, weight`` (the cohort's share at
        that event time).
        """
        fit, var = self._es.fit, self._es.var
        out = self._cells.copy()
        idx = [fit.index(n) for n in out["name"]]
        out["estimate"] = fit.beta[idx]
        out["std_error"] = standard_errors(var.vcov)[idx]
        return out[["cohort", "event_time", "estimate", "std_error", "n", "weight"]]

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        control = (
            "never-treated units"
            if self.control == "never"
            else f"last-treated cohort (and any never treated); {self.n_rows_dropped:,} rows "
            "from its adoption on left out"
        )
        lines = [
            ("outcome", self.outcome),
            ("fixed effects", f"{self.unit} ({self.n_units}), {self.time} ({self.n_periods})"),
            ("controls", f"{control}: {self.n_control_units} units"),
            ("reference", f"event time {self.reference} of every cohort"),
            ("aggregation", "cohort shares of observations at each event time (fixed)"),
            ("inference", f"{self.inference.describe()}; {self.n_clusters} clusters"),
        ]
        return [*lines, *pretrend_facts(self.pretrend)]

    def with_inference(self, inference: Inference) -> SunAbrahamResult:
        """Recompute standard errors, intervals and p-values (same clusters)."""
        es = _new_variance(self._es, self.inference, inference, self.unit, "sun_abraham")
        return _build(self, es, inference, self.conf_level)

    def _refit(self, conf_level: float) -> SunAbrahamResult:
        return _build(self, self._es, self.inference, conf_level)


def _build(
    base: SunAbrahamResult, es: EsFit, inference: Inference, level: float
) -> SunAbrahamResult:
    fit, var = es.fit, es.var
    analytic = analytic_variance(inference)
    terms = []
    for c, old in zip(base._contrasts, base.terms, strict=True):
        estimate = float(c @ fit.beta)
        se = contrast_standard_error(c, var.vcov)
        df = contrast_df(fit, analytic, c)
        terms.append(wald_term(old.term, estimate, se, level, var.label, df=df))
    leads = [i for i, e in enumerate(base.event_times) if e < 0]
    pretrend = joint_wald(es, base._contrasts[leads], [terms[i].term for i in leads], inference)
    terms = mark_event_validity(terms, inference, es.fit.n_clusters, base.n_treated_clusters)
    return replace(
        base,
        _es=es,
        inference=inference,
        conf_level=level,
        terms=tuple(terms),
        pretrend=pretrend,
    )


def _last_cohort_controls(
    data: pd.DataFrame, time: str, cohort: str
) -> tuple[pd.DataFrame, int, float]:
    """Recode the last cohort as controls and leave out the periods from its adoption on."""
    require_columns(data, {"time": time, "cohort": cohort})
    t = numeric_column(data, time, argument="time")
    g = numeric_column(data, cohort, argument="cohort", allow_missing=True)
    finite = g[np.isfinite(g)]
    if finite.nunique() < 2:
        raise DesignError(
            "control='last' needs at least two treated cohorts (the last one serves as the "
            f"comparison); `cohort` {cohort!r} has {finite.nunique()}. Use control='never'."
        )
    last = float(finite.max())
    keep = (t < last).to_numpy()
    work = data.loc[keep].copy()
    work[cohort] = g[keep].where(g[keep] != last)
    return work, int((~keep).sum()), last


def sun_abraham(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    control: str = "never",
    reference: int = -1,
    window: tuple[int, int] | None = None,
    weights: str | None = None,
    inference: Inference | None = None,
    conf_level: float = 0.95,
    allow_unbalanced: bool = False,
    absorb: bool | None = None,
) -> SunAbrahamResult:
    """Sun & Abraham (2021) interaction-weighted event study.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit and period. Not modified.
    outcome, unit, time : str
        Outcome, unit and (numeric) period columns.
    cohort : str
        First treated period (missing = never treated).
    control : {"never", "last"}, default "never"
        Comparison units: never treated, or the last-treated cohort (the periods from its
        adoption on are then left out; the count is reported).
    reference : int, default -1
        Omitted event time of every cohort.
    window : (int, int), optional
        Event times to report (all cohort-event-time effects are estimated regardless).
    weights : str, optional
        Unit weights (constant within unit): weighted fit and weighted shares.
    inference : optional
        ``ClusterRobust(unit, "CR1")`` by default; any analytic setting (CR0-CR3, HC, classical;
        Satterthwaite df per aggregated contrast for CR2/CR3), or ``WildClusterBootstrap`` for
        the pre-trend test (terms then use CR1).
    conf_level : float, default 0.95
        Confidence level.
    allow_unbalanced : bool, default False
        Accept units missing in some periods.
    absorb : bool, optional
        Absorb the fixed effects by demeaning (CR0/CR1/HC/classical only); default when
        there are more than 1,000 unit and period levels.

    Returns
    -------
    SunAbrahamResult

    Raises
    ------
    MissingColumnError, InvalidValueError, DesignError
        See :func:`validate_cohorts`; also a reference event time no cohort has, a window
        outside the data, or ``control="last"`` with fewer than two cohorts.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame([(u, t) for u in range(30) for t in range(8)], columns=["u", "t"])
    >>> df["g"] = df["u"].map(lambda u: [3, 5, np.nan][u % 3])
    >>> e = df["t"] - df["g"]
    >>> df["y"] = np.where(e >= 0, 1.0 + e, 0.0) + rng.normal(0, 0.1, len(df))
    >>> res = sun_abraham(df, "y", "u", "t", "g", window=(0, 2))
    >>> [round(t.estimate, 1) for t in res.terms]
    [1.0, 2.0, 3.0, 2.6]
    """
    level = check_conf_level(conf_level)
    inference = ClusterRobust(unit, "CR1") if inference is None else inference
    _check_inference(inference)
    if control not in ("never", "last"):
        raise InvalidValueError(
            f"`control` must be 'never' (never-treated units) or 'last' (the last-treated "
            f"cohort); got {control!r}."
        )
    dropped = 0
    source = data
    if control == "last":
        source, dropped, _ = _last_cohort_controls(data, time, cohort)
    panel = validate_cohorts(
        source,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        weights=weights,
        allow_unbalanced=allow_unbalanced,
        control="never",
    )
    frame = panel.data
    e = event_times(panel)
    g = frame[cohort].to_numpy(dtype=float)
    treated = np.isfinite(e)
    reference = check_reference(reference)
    without = [c for c in panel.cohorts if not np.any(treated & (g == c) & (e == reference))]
    if without:
        shown = [int(c) if float(c).is_integer() else c for c in without]
        raise InvalidValueError(
            f"`reference` event time {reference} is not observed for cohort(s) "
            f"{show_values(shown)}; every cohort needs its reference period. Choose another "
            "reference (usually -1) or drop those cohorts explicitly."
        )
    row_w = np.ones(len(frame)) if weights is None else frame[weights].to_numpy(dtype=float)
    keys = pd.DataFrame({"cohort": g[treated], "event_time": e[treated].astype(int)})
    keys["n"] = row_w[treated]
    cells = keys.groupby(["cohort", "event_time"], as_index=False)["n"].sum()
    cells = cells[cells["event_time"] != reference].reset_index(drop=True)
    cells["name"] = [f"__sa_{i}" for i in range(len(cells))]
    columns = {}
    for c, k, name in cells[["cohort", "event_time", "name"]].itertuples(index=False):
        columns[name] = ((g == c) & (e == k)).astype(np.float64)
    work = pd.concat([frame, pd.DataFrame(columns, index=frame.index)], axis=1)
    es = fit_with_dummies(
        work,
        outcome=outcome,
        unit=unit,
        time=time,
        regressors=list(cells["name"]),
        weights=weights,
        inference=inference,
        absorb=absorb,
    )
    es_cluster = getattr(inference, "cluster", None) or unit
    cells["weight"] = cells["n"] / cells.groupby("event_time")["n"].transform("sum")
    observed = sorted(cells["event_time"].unique().tolist())
    lo, hi = (observed[0], observed[-1]) if window is None else _window(window, observed)
    shown = [k for k in observed if lo <= k <= hi]
    contrasts = []
    for k in shown:
        c = np.zeros(es.fit.k)
        rows = cells[cells["event_time"] == k]
        c[[es.fit.index(n) for n in rows["name"]]] = rows["weight"].to_numpy()
        contrasts.append(c)
    post = cells[cells["event_time"] >= 0]
    c = np.zeros(es.fit.k)
    c[[es.fit.index(n) for n in post["name"]]] = (post["n"] / post["n"].sum()).to_numpy()
    contrasts.append(c)
    labels = [event_label(k) for k in shown] + ["att"]
    base = SunAbrahamResult(
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        control=control,
        reference=reference,
        event_times=tuple(shown),
        inference=inference,
        conf_level=level,
        n_obs=panel.n_rows,
        n_units=panel.n_units,
        n_periods=panel.n_periods,
        n_clusters=es.fit.n_clusters,
        n_control_units=panel.n_never_treated,
        n_rows_dropped=dropped,
        pretrend=None,
        terms=tuple(Term(label, math.nan) for label in labels),
        _es=es,
        _cells=cells,
        _contrasts=np.array(contrasts),
        n_treated_clusters=int(work.loc[np.isfinite(g), es_cluster].nunique()),
    )
    return _build(base, es, inference, level)


def _window(window: object, observed: Sequence[int]) -> tuple[int, int]:
    lo, hi = check_window(window)
    if lo < observed[0] or hi > observed[-1]:
        raise InvalidValueError(
            f"`window` ({lo}, {hi}) reaches outside the event times in the data "
            f"({observed[0]} to {observed[-1]}). Use a window within them."
        )
    return lo, hi
