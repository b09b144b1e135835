r"""Borusyak, Jaravel & Spiess (2024) imputation estimator for staggered adoption.

1. Fit ``y_it = a_i + l_t (+ x_it b)`` by (weighted) least squares on the untreated
   observations only (never treated, and treated units before ``cohort - anticipation``).
2. Impute ``Y_it(0)`` for every treated observation and take ``tau_it = y_it - Y_it(0)``.
3. Average: ``att`` over every treated observation, ``e=k`` over the treated observations
   ``k`` periods after adoption (weights: the ``weights`` column, else equal).

The point estimates equal Gardner's two-stage estimator (``did2s``) with a second stage on
event-time dummies. Standard errors are Gardner's GMM (two-stage) cluster-robust variance, which
accounts for the first-stage estimation, exactly as ``pyfixest.did2s`` (and R ``did2s``)
compute it, with no small-sample factor:
:math:`V = (X_2'X_2)^{-1} \sum_g W_g W_g' (X_2'X_2)^{-1}`,
:math:`W_g = X_{2g}' u_{2g} - X_2' X_1 (X_{10}'X_{10})^{-1} X_{10g}' u_{1g}` with :math:`X_1`
the first-stage design, :math:`X_{10}` its untreated rows, :math:`u_1, u_2` the first- and
second-stage residuals. (BJS's own conservative variance with an auxiliary model is not
implemented.) p-values and intervals use the normal reference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import linalg as splinalg

from sfpc_eval._terms import wald_term
from sfpc_eval._validate import check_conf_level
from sfpc_eval.cells.absorb import demean
from sfpc_eval.diff_in_diff.cohorts import _fmt, validate_cohorts
from sfpc_eval.diff_in_diff.event_study import event_times
from sfpc_eval.diff_in_diff.event_study_fit import JointTest, fit_with_dummies, joint_wald
from sfpc_eval.diff_in_diff.event_study_result import (
    EventStudyBase,
    event_label,
    mark_event_validity,
    pretrend_facts,
)
from sfpc_eval.errors import DesignError, InvalidValueError, show_values
from sfpc_eval.inference.cluster import ClusterRobust, standard_error, standard_errors
from sfpc_eval.labels import label as label_of
from sfpc_eval.results import Term
from sfpc_eval.staggered.sun_abraham import _window

__all__ = ["ImputationResult", "imputation"]


@dataclass(frozen=True)
class ImputationResult(EventStudyBase):
    """Result of :func:`imputation`.

    Attributes
    ----------
    outcome, unit, time, cohort : str
        Column names used.
    covariates : tuple of str
        First-stage covariates.
    anticipation : int
        Periods before adoption treated as (possibly) affected.
    event_times : tuple of int
        Event time of each event-time term.
    cluster : str
        Cluster column of the two-stage variance.
    n_obs, n_units, n_periods, n_clusters, n_treated_obs, n_untreated_obs : int
        Size of the problem.
    terms : tuple of Term
        ``"e=k"`` per event time, then ``"att"``.
    pretrend : JointTest or None
        BJS's test of parallel trends (with ``pretrend_leads``): on the untreated observations
        only, unit and period effects plus one dummy per lead ``e = -1..-K`` (before any
        anticipation), the leads jointly zero; CR1 by ``cluster``, ``F(K, G - 1)``.
    """

    covariates: tuple[str, ...]
    anticipation: int
    cluster: str
    n_treated_obs: int
    n_untreated_obs: int
    terms: tuple[Term, ...] = field(repr=False)
    _estimates: np.ndarray = field(repr=False, compare=False)
    _vcov_event: np.ndarray = field(repr=False, compare=False)
    _se_att: float = field(repr=False, compare=False)
    _effects: pd.DataFrame = field(repr=False, compare=False)
    reference: int | None = None
    pretrend: JointTest | None = None
    pretrend_terms: tuple[Term, ...] = field(default=(), repr=False)
    n_treated_clusters: int = 0
    weights: str | None = None
    allow_unbalanced: bool = False

    def pretrends(
        self,
        placebo_shift: int | None = None,
        *,
        data: pd.DataFrame | None = None,
        conf_level: float | None = None,
    ):
        """Pre-period diagnostics: BJS's leads and their joint test, and a placebo in time.

        The leads are those of BJS's test (:attr:`pretrend`, fitted with ``pretrend_leads``);
        without it, ``data`` (the data the result was fitted on) is refitted with every
        available lead. See :func:`sfpc_eval.diff_in_diff.pretrends.pretrends`.
        """
        from sfpc_eval.diff_in_diff.pretrends import event_study_pretrends

        base = self
        if not self.pretrend_terms:
            if data is None:
                raise InvalidValueError(
                    "this imputation result has no leads (fit with pretrend_leads=K, or pass "
                    "data=... the data it was fitted on, to fit BJS's test with every lead)."
                )
            base = _with_all_leads(self, data)
        level = self.conf_level if conf_level is None else check_conf_level(conf_level)
        leads = [
            (-(i + 1), replace(t, **_wald_fields(t, level)))
            for i, t in enumerate(base.pretrend_terms)
        ]
        view = replace(
            base,
            event_times=tuple(e for e, _ in leads)[::-1],
            terms=tuple(t for _, t in leads)[::-1],
            reference=None,
            conf_level=level,
        )
        return event_study_pretrends(view, placebo_shift, data, None)

    @property
    def title(self) -> str:  # type: ignore[override]
        """Heading of the summary."""
        return f"Imputation estimator (Borusyak, Jaravel & Spiess): {label_of(self.outcome)}"

    @property
    def att(self) -> Term:
        """Average effect over every treated observation."""
        return self.term("att")

    def _event_vcov(self) -> np.ndarray:
        return self._vcov_event

    def effects(self) -> pd.DataFrame:
        """Per treated observation: unit, time, event time, outcome, imputed ``Y(0)``, effect."""
        return self._effects.copy()

    def facts(self) -> list[tuple[str, str]]:
        """Input lines for the summary."""
        lines = [
            ("outcome", self.outcome),
            (
                "first stage",
                f"{self.unit} + {self.time} effects"
                + (f" + {', '.join(self.covariates)}" if self.covariates else "")
                + f", fitted on {self.n_untreated_obs:,} untreated observations",
            ),
            ("treated observations", f"{self.n_treated_obs:,}"),
            ("anticipation", f"{self.anticipation} period(s)"),
            (
                "standard errors",
                f"two-stage GMM cluster-robust by {self.cluster} ({self.n_clusters} clusters), "
                "as did2s; normal reference",
            ),
        ]
        return [
            *lines,
            *pretrend_facts(self.pretrend, sample=" on untreated observations", statistic="F"),
        ]

    def _refit(self, conf_level: float) -> ImputationResult:
        return replace(self, conf_level=conf_level, terms=_terms(self, conf_level))


def _terms(base: ImputationResult, level: float) -> tuple[Term, ...]:
    se = [*standard_errors(base._vcov_event), base._se_att]
    terms = tuple(
        wald_term(t.term, est, s, level, "two-stage GMM cluster-robust (did2s)")
        for t, est, s in zip(base.terms, base._estimates, se, strict=True)
    )
    # the two-stage variance is cluster-robust: not valid with one treated cluster
    return mark_event_validity(
        terms, ClusterRobust(base.cluster, "CR1"), base.n_clusters, base.n_treated_clusters
    )


def _fe_design(
    unit_codes: np.ndarray, time_codes: np.ndarray, n_units: int, n_times: int, x: np.ndarray
) -> sparse.csr_matrix:
    """Build the first-stage design: all unit dummies, time dummies but the first, covariates."""
    n = len(unit_codes)
    rows = np.arange(n)
    unit_part = sparse.csr_matrix((np.ones(n), (rows, unit_codes)), shape=(n, n_units))
    keep = time_codes > 0
    time_part = sparse.csr_matrix(
        (np.ones(keep.sum()), (rows[keep], time_codes[keep] - 1)), shape=(n, n_times - 1)
    )
    return sparse.hstack([unit_part, time_part, sparse.csr_matrix(x)], format="csr")


def imputation(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    covariates: Sequence[str] | None = None,
    weights: str | None = None,
    horizons: tuple[int, int] | None = None,
    anticipation: int = 0,
    cluster: str | None = None,
    conf_level: float = 0.95,
    allow_unbalanced: bool = False,
    pretrend_leads: int | None = None,
) -> ImputationResult:
    """Borusyak, Jaravel & Spiess (2024) imputation estimator.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit and period. Not modified.
    outcome, unit, time : str
        Outcome, unit and (numeric) period columns.
    cohort : str
        First treated period (missing = never treated).
    covariates : sequence of str, optional
        Time-varying covariates in the first stage.
    weights : str, optional
        Unit weights (constant within unit): weighted first stage and weighted averages.
    horizons : (int, int), optional
        Event times to report (``-anticipation`` up to the last by default).
    anticipation : int, default 0
        Observations from ``cohort - anticipation`` on count as treated.
    cluster : str, optional
        Cluster column for the variance (default ``unit``).
    conf_level : float, default 0.95
        Confidence level.
    allow_unbalanced : bool, default False
        Accept units missing in some periods.
    pretrend_leads : int, optional
        Also run BJS's pre-trend test with this many leads (see
        :attr:`ImputationResult.pretrend`). It is separate from the estimation: the effects do
        not change.

    Returns
    -------
    ImputationResult

    Raises
    ------
    MissingColumnError, InvalidValueError, DesignError
        See :func:`validate_cohorts`; also periods in which no unit is untreated (their time
        effect cannot be estimated), or horizons outside the data.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame([(u, t) for u in range(30) for t in range(8)], columns=["u", "t"])
    >>> df["g"] = df["u"].map(lambda u: [3, 5, np.nan][u % 3])
    >>> e = df["t"] - df["g"]
    >>> df["y"] = np.where(e >= 0, 1.0 + e, 0.0) + df["u"] + rng.normal(0, 0.1, len(df))
    >>> res = imputation(df, "y", "u", "t", "g", horizons=(0, 2))
    >>> [round(t.estimate, 1) for t in res.terms]
    [1.0, 2.0, 3.0, 2.6]
    """
    level = check_conf_level(conf_level)
    covariates = tuple(covariates or ())
    panel = validate_cohorts(
        data,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        covariates=covariates,
        weights=weights,
        allow_unbalanced=allow_unbalanced,
        anticipation=anticipation,
        control="not_yet",
    )
    cluster = unit if cluster is None else cluster
    frame = panel.data
    if cluster not in frame.columns:
        raise InvalidValueError(
            f"`cluster` column {cluster!r} is not in the data; columns: "
            f"{', '.join(map(str, frame.columns))}."
        )
    e = event_times(panel)
    treated = np.isfinite(e) & (e >= -panel.anticipation)
    y = frame[outcome].to_numpy(dtype=float)
    w = np.ones(len(frame)) if weights is None else frame[weights].to_numpy(dtype=float)
    unit_codes, _ = pd.factorize(frame[unit], sort=True)
    time_codes = np.searchsorted(panel.periods, frame[time].to_numpy(dtype=float))
    n_times = panel.n_periods
    untreated_times = np.bincount(time_codes[~treated], minlength=n_times)
    if (untreated_times == 0).any():
        bad = panel.periods[untreated_times == 0]
        raise DesignError(
            f"no unit is untreated in period(s) {show_values([_fmt(t) for t in bad])}, so their "
            "time effects cannot be estimated and Y(0) cannot be imputed there. Keep only the "
            f"periods before them explicitly, e.g. data[data[{time!r}] < {_fmt(bad[0])}]."
        )
    x = frame[list(covariates)].to_numpy(dtype=float) if covariates else np.empty((len(y), 0))
    if covariates:
        _check_covariates(x, w, unit_codes, time_codes, ~treated, covariates, unit, time)
    x1 = _fe_design(unit_codes, time_codes, panel.n_units, n_times, x)
    untreated = (~treated).astype(float)
    x10 = sparse.diags(untreated) @ x1
    # first stage on untreated rows (weighted normal equations, sparse)
    gram = (x10.T @ sparse.diags(w) @ x10).tocsc()
    try:
        lu = splinalg.splu(gram)
        gamma = lu.solve(x10.T @ (w * untreated * y))
    except RuntimeError as err:  # singular: a covariate collinear with the fixed effects
        raise DesignError(
            "the first stage (unit and period effects on untreated observations) is singular: a "
            "covariate is collinear with the fixed effects, or a unit has no untreated period."
        ) from err
    if not np.all(np.isfinite(gamma)):
        raise DesignError(
            "the first stage (unit and period effects on untreated observations) is singular: a "
            "covariate is collinear with the fixed effects."
        )
    u1 = y - x1 @ gamma  # ytilde: residual (untreated) or effect (treated)
    e_treated = e[treated].astype(int)
    observed = sorted(np.unique(e_treated).tolist())
    lo, hi = (observed[0], observed[-1]) if horizons is None else _window(horizons, observed)
    shown = [k for k in observed if lo <= k <= hi]
    cluster_codes, cluster_levels = pd.factorize(frame[cluster], sort=True)
    n_clusters = len(cluster_levels)
    if n_clusters < 2:
        raise DesignError(f"`cluster` column {cluster!r} has one cluster; need at least 2.")

    def second_stage(x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xtx = x2.T @ (w[:, None] * x2)
        beta = np.linalg.solve(xtx, x2.T @ (w * u1))
        u2 = u1 - x2 @ beta
        # Gardner's GMM variance; weights enter as sqrt(w) on both designs and residuals
        cross = (x2.T * w) @ x1  # X2' W X1 (k2 x K1)
        v = lu.solve(np.ascontiguousarray(np.asarray(cross.T))).T
        first_scores = _cluster_sums(x10.multiply((w * u1)[:, None]).tocsr(), cluster_codes)
        second_scores = _cluster_sums(sparse.csr_matrix(x2 * (w * u2)[:, None]), cluster_codes)
        scores = second_scores - first_scores @ v.T  # G x k2
        bread = np.linalg.inv(xtx)
        return beta, bread @ (scores.T @ scores) @ bread

    x2_event = np.zeros((len(y), len(shown)))
    for j, k in enumerate(shown):
        x2_event[treated, j] = (e_treated == k).astype(float)
    beta_e, vcov_e = second_stage(x2_event)
    beta_att, vcov_att = second_stage(treated.astype(float)[:, None])
    effects = pd.DataFrame(
        {
            unit: frame[unit].to_numpy()[treated],
            time: frame[time].to_numpy()[treated],
            "event_time": e_treated,
            outcome: y[treated],
            "y0_imputed": (y - u1)[treated],
            "effect": u1[treated],
        }
    )
    labels = [event_label(k) for k in shown] + ["att"]
    base = ImputationResult(
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        covariates=covariates,
        anticipation=panel.anticipation,
        event_times=tuple(shown),
        cluster=cluster,
        conf_level=level,
        n_obs=panel.n_rows,
        n_units=panel.n_units,
        n_periods=panel.n_periods,
        n_clusters=n_clusters,
        n_treated_obs=int(treated.sum()),
        n_untreated_obs=int((~treated).sum()),
        terms=tuple(Term(label, math.nan) for label in labels),
        _estimates=np.r_[beta_e, beta_att],
        _vcov_event=vcov_e,
        _se_att=standard_error(vcov_att[0, 0], abs(vcov_att[0, 0])),
        _effects=effects,
    )
    n_treated = int(frame.loc[np.isfinite(e), cluster].nunique())
    base = replace(
        base,
        n_treated_clusters=n_treated,
        weights=weights,
        allow_unbalanced=allow_unbalanced,
    )
    if pretrend_leads is not None:
        pretrend, lead_terms = _pretrend(
            frame, panel, e, treated, pretrend_leads, covariates, weights, cluster, level
        )
        lead_terms = mark_event_validity(
            lead_terms, ClusterRobust(cluster, "CR1"), n_clusters, n_treated
        )
        base = replace(base, pretrend=pretrend, pretrend_terms=lead_terms)
    return replace(base, terms=_terms(base, level))


def _wald_fields(term: Term, level: float) -> dict:
    """Return the interval of ``term`` at ``level`` (same estimate, standard error, df)."""
    new = wald_term(term.term, term.estimate, term.std_error, level, term.method, df=term.df)
    return {"conf_low": new.conf_low, "conf_high": new.conf_high}


def _with_all_leads(result: ImputationResult, data: pd.DataFrame) -> ImputationResult:
    """Refit ``result`` on ``data`` with BJS's test over every available lead."""
    g = pd.to_numeric(data[result.cohort], errors="coerce").to_numpy(dtype=float)
    t = pd.to_numeric(data[result.time], errors="coerce").to_numpy(dtype=float)
    periods = np.unique(t[np.isfinite(t)])
    ok = np.isfinite(g)
    pre = np.searchsorted(periods, g[ok]) - np.searchsorted(periods, t[ok])
    # one lead fewer than the longest pre-period: with every pre-period a lead, the leads
    # would add up to the treated units' fixed effects
    available = int(np.max(pre, initial=0)) - result.anticipation - 1
    if available < 1:
        raise DesignError(
            "no treated unit has two or more periods before adoption: there are no leads to test."
        )
    return imputation(
        data,
        result.outcome,
        result.unit,
        result.time,
        result.cohort,
        covariates=result.covariates or None,
        weights=result.weights,
        anticipation=result.anticipation,
        cluster=result.cluster,
        conf_level=result.conf_level,
        allow_unbalanced=result.allow_unbalanced,
        pretrend_leads=available,
    )


def _pretrend(
    frame, panel, e, treated, leads, covariates, weights, cluster, level
) -> tuple[JointTest, tuple[Term, ...]]:
    """BJS Test 1: leads on untreated observations, unit and period effects, CR1 F test.

    Returns the test and the lead estimates (``e=-1`` first) with CR1 intervals.
    """
    if isinstance(leads, bool) or not isinstance(leads, int | np.integer) or leads < 1:
        raise InvalidValueError(
            f"`pretrend_leads` must be a whole number of leads >= 1; got {leads!r}."
        )
    shift = e + panel.anticipation  # leads counted back from the first (anticipated) effect
    untreated = ~treated
    available = sorted({int(k) for k in -shift[untreated & np.isfinite(shift)]})
    wanted = list(range(1, int(leads) + 1))
    absent = [k for k in wanted if k not in available]
    if absent:
        raise InvalidValueError(
            f"`pretrend_leads={leads}` asks for leads {show_values(absent)} that no treated "
            f"unit has before adoption (it has leads 1 to {max(available, default=0)}). Use "
            "fewer leads."
        )
    sub = frame.loc[untreated].copy()
    names = []
    for k in wanted:
        name = f"__lead_{k}"
        sub[name] = (shift[untreated] == -k).astype(np.float64)
        names.append(name)
    inference = ClusterRobust(cluster, "CR1")
    es = fit_with_dummies(
        sub,
        outcome=panel.outcome,
        unit=panel.unit,
        time=panel.time,
        regressors=[*names, *covariates],
        weights=weights,
        inference=inference,
    )
    contrasts = np.eye(es.fit.k)[[es.fit.index(n) for n in names]]
    labels = [f"e=-{k}" for k in wanted]
    terms = tuple(
        wald_term(
            label,
            es.fit.beta[es.fit.index(n)],
            standard_errors(es.var.vcov)[es.fit.index(n)],
            level,
            f"BJS lead on untreated observations; {es.var.label}",
            df=es.var.df[es.fit.index(n)],
        )
        for n, label in zip(names, labels, strict=True)
    )
    return joint_wald(es, contrasts, labels, inference), terms


def _check_covariates(
    x: np.ndarray,
    w: np.ndarray,
    unit_codes: np.ndarray,
    time_codes: np.ndarray,
    untreated: np.ndarray,
    covariates: Sequence[str],
    unit: str,
    time: str,
) -> None:
    """Refuse covariates that the unit and period effects absorb on the untreated rows."""
    rows = untreated
    _, u = np.unique(unit_codes[rows], return_inverse=True)
    _, t = np.unique(time_codes[rows], return_inverse=True)
    resid = demean(x[rows], w[rows], [u, t])
    scale = np.maximum(np.abs(x[rows]).max(axis=0), 1.0)
    bad = [
        c for c, r, s in zip(covariates, resid.T, scale, strict=True) if np.abs(r).max() < 1e-9 * s
    ]
    if not bad and np.linalg.matrix_rank(resid) < resid.shape[1]:
        bad = list(covariates)
    if bad:
        raise DesignError(
            f"the first stage (unit and period effects on untreated observations) is singular: "
            f"covariates {show_values(bad)} are constant within {unit} or {time}, or collinear "
            "with each other, on the untreated rows. Drop them."
        )


def _cluster_sums(matrix: sparse.csr_matrix, codes: np.ndarray) -> np.ndarray:
    """Sum the rows of ``matrix`` within clusters: a dense G x columns array."""
    n_clusters = int(codes.max()) + 1
    indicator = sparse.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(n_clusters, len(codes))
    )
    return np.asarray((indicator @ matrix).todense())
