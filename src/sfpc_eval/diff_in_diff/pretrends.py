"""Pre-period diagnostics for every DiD-type result: leads, their joint test, a placebo in time.

Parallel trends cannot be tested after adoption, but they can be looked at before it. For a
result ``res`` of :func:`~sfpc_eval.did`, :func:`~sfpc_eval.event_study`,
:func:`~sfpc_eval.callaway_santanna`, :func:`~sfpc_eval.sun_abraham` or
:func:`~sfpc_eval.imputation`, ``pretrends(res, placebo_shift=k)`` (or ``res.pretrends(k)``)
returns a :class:`~sfpc_eval.diff_in_diff.pretrends_result.PretrendResult` with

- **the leads**: the estimated "effects" before adoption, relative to the period before it
  (for ``did``, from the event study of the same panel: one dummy per period relative to
  adoption, the period before adoption omitted);
- **their joint test** under the result's own inference (cluster-robust F, wild bootstrap,
  randomization of adoption dates across units; for Callaway-Sant'Anna a Wald test from the
  influence functions, or from the multiplier bootstrap when the result has one);
- **a placebo in time**: adoption moved ``k`` periods earlier, estimated by two-way fixed
  effects on the periods before each unit's real adoption (with the result's inference where
  :func:`~sfpc_eval.did` accepts it, CR2 by unit otherwise). Under parallel trends the placebo
  effect is zero; with no real effect in the sample there is no effect heterogeneity for
  two-way fixed effects to mix up.

Rows whose inference is not valid for the design (one treated cluster with cluster-robust
variances, say) are marked ``valid=False`` and the verdict does not rest on them.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from sfpc_eval._validate import check_conf_level
from sfpc_eval.diff_in_diff.event_study_fit import JointTest
from sfpc_eval.diff_in_diff.pretrends_result import JOINT_TERM, PLACEBO_TERM, PretrendResult
from sfpc_eval.errors import (
    DesignError,
    FewTreatedClustersWarning,
    InvalidValueError,
    UndefinedIntervalWarning,
    show_values,
)
from sfpc_eval.inference.cluster import ClusterRobust
from sfpc_eval.inference.randomization import Randomization
from sfpc_eval.inference.validity import inference_validity
from sfpc_eval.inference.wild import WildClusterBootstrap
from sfpc_eval.results import Term

__all__ = [
    "PretrendResult",
    "build_pretrends",
    "check_placebo_shift",
    "placebo_in_time",
    "pretrends",
]


def pretrends(
    result: object,
    *,
    placebo_shift: int | None = None,
    data: pd.DataFrame | None = None,
    conf_level: float | None = None,
) -> PretrendResult:
    """Pre-period diagnostics of a DiD-type result: leads, joint test, placebo in time.

    Parameters
    ----------
    result : DidResult, EventStudyResult, CallawayResult, SunAbrahamResult or ImputationResult
        A fitted result with periods before adoption.
    placebo_shift : int, optional
        Move adoption this many periods earlier for a placebo estimate (none by default).
    data : pandas.DataFrame, optional
        The data the result was fitted on: needed for the placebo of Sun-Abraham,
        imputation and Callaway-Sant'Anna results (``did`` and ``event_study`` results keep
        their cells and rebuild it).
    conf_level : float, optional
        Defaults to the result's.

    Returns
    -------
    PretrendResult

    Raises
    ------
    InvalidValueError
        ``placebo_shift`` not a whole number >= 1, or moving adoption outside the
        pre-period (no period left before the placebo adoption), or ``data`` missing where
        needed; a result that has no pre-period diagnostics.
    DesignError
        No period before adoption (no leads).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import sfpc_eval as se
    >>> rng = np.random.default_rng(2)
    >>> panel = pd.DataFrame([(la, y) for la in range(12) for y in range(2010, 2020)],
    ...                      columns=["la", "year"])
    >>> panel["treated"] = ((panel["la"] < 4) & (panel["year"] >= 2015)).astype(int)
    >>> panel["rate"] = 50 + panel["la"] - 3 * panel["treated"] + rng.normal(0, 1, len(panel))
    >>> res = se.did(panel, outcome="rate", unit="la", time="year", treated="treated")
    >>> check = pretrends(res, placebo_shift=2)
    >>> check.event_times
    (-5, -4, -3, -2)
    >>> check.passed
    True
    """
    method = getattr(result, "pretrends", None)
    if method is None:
        raise InvalidValueError(
            f"pre-period diagnostics are for DiD-type results (did, event_study, "
            f"callaway_santanna, sun_abraham, imputation); got {type(result).__name__}."
        )
    return method(placebo_shift=placebo_shift, data=data, conf_level=conf_level)


def check_placebo_shift(value: object) -> int | None:
    """Return ``value`` as a whole number of periods >= 1 (or None), else raise."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (float(value).is_integer() and value >= 1)
    ):
        raise InvalidValueError(
            f"`placebo_shift` must be a whole number of periods >= 1 (how far to move adoption "
            f"earlier); got {value!r}."
        )
    return int(value)


def placebo_in_time(
    frame: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    shift: int,
    inference: object,
    conf_level: float,
    weights: str | None = None,
) -> Term:
    """Placebo estimate: adoption moved ``shift`` periods earlier, pre-adoption periods only.

    Each treated unit keeps its rows before its adoption (``cohort``, the first treated
    period; missing for never-treated units), never-treated units their rows in the periods
    where some treated unit is still before adoption; the placebo treatment is 1 from
    ``shift`` periods before the real adoption. Fitted by :func:`~sfpc_eval.did`.

    Raises
    ------
    InvalidValueError
        The placebo adoption falls outside the pre-period: at or before a unit's first
        observed period, so no period before it remains.
    """
    from sfpc_eval.diff_in_diff.twfe import did

    periods = np.sort(frame[time].unique().astype(float))
    g = frame[cohort].to_numpy(dtype=float)
    t = frame[time].to_numpy(dtype=float)
    treated_unit = np.isfinite(g)
    if not treated_unit.any():
        raise DesignError("no unit is ever treated: there is no adoption to move earlier.")
    cohort_pos = np.searchsorted(periods, g[treated_unit])
    fake_pos = cohort_pos - shift
    first_pos = (
        pd.Series(np.searchsorted(periods, t[treated_unit]))
        .groupby(frame.loc[treated_unit, unit].to_numpy())
        .transform("min")
        .to_numpy()
    )
    outside = fake_pos <= first_pos
    if outside.any():
        units = sorted(set(frame.loc[treated_unit, unit].to_numpy()[outside].tolist()), key=str)
        cohorts = sorted(set(g[treated_unit][outside].tolist()))
        raise InvalidValueError(
            f"`placebo_shift` = {shift} moves adoption outside the pre-period: for "
            f"{show_values(units)} (adoption {show_values([_num(c) for c in cohorts])}) the "
            f"placebo adoption would be at or before their first observed period "
            f"({_num(periods[0])} at the earliest), leaving no period before it. Use a shift of "
            f"at most {int(np.min(cohort_pos - first_pos)) - 1} (periods before adoption "
            "minus one)."
        )
    last_pre = float(np.max(g[treated_unit]))
    keep = np.where(treated_unit, t < g, t < last_pre)
    sample = frame.loc[keep].copy()
    fake = np.full(len(frame), np.inf)
    fake[treated_unit] = periods[fake_pos]
    sample["__placebo__"] = (sample[time].to_numpy(dtype=float) >= fake[keep]).astype(int)
    with warnings.catch_warnings():
        # one treated cluster: said by the fit being checked; the row is marked not valid.
        # An unbounded permutation interval is said in the placebo row's note; the check
        # reads its p-value.
        warnings.simplefilter("ignore", FewTreatedClustersWarning)
        warnings.simplefilter("ignore", UndefinedIntervalWarning)
        res = did(
            sample,
            outcome=outcome,
            unit=unit,
            time=time,
            treated="__placebo__",
            weights=weights,
            inference=inference,
            conf_level=conf_level,
        )
    term = res.estimate
    return replace(term, term=PLACEBO_TERM)


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def joint_term(joint: JointTest | None, valid: bool, note: str) -> Term | None:
    """Return the joint test as a row of ``tidy()`` (statistic and p-value, no estimate)."""
    if joint is None:
        return None
    df = joint.df2  # the denominator df of an F test; none for chi-square or resampling
    return Term(
        JOINT_TERM,
        math.nan,
        statistic=joint.statistic,
        df=df,
        p_value=joint.p_value,
        method=joint.method,
        note=(f"{len(joint.terms)} leads jointly zero" + (f"; {note}" if note else "")),
        valid=valid,
    )


def build_pretrends(
    *,
    design: str,
    outcome: str,
    level: float,
    leads: list[tuple[int, Term]],
    joint: JointTest | None,
    joint_validity: tuple[bool, str],
    placebo: Term | None,
    placebo_shift: int | None,
    n_clusters: int,
    n_treated_clusters: int,
    reference: int | None,
    refit=None,
) -> PretrendResult:
    """Assemble a :class:`PretrendResult` from the pieces each estimator provides."""
    if not leads:
        raise DesignError(
            f"the {design} result has no estimate before adoption (no leads): the data need at "
            "least two periods before adoption for a pre-period check."
        )
    terms = [t for _, t in leads]
    joint_row = joint_term(joint, *joint_validity)
    if joint_row is not None:
        terms.append(joint_row)
    if placebo is not None:
        terms.append(placebo)
    return PretrendResult(
        design=design,
        outcome=outcome,
        conf_level=level,
        event_times=tuple(e for e, _ in leads),
        reference=reference,
        joint=joint,
        placebo_shift=placebo_shift,
        n_clusters=n_clusters,
        n_treated_clusters=n_treated_clusters,
        terms=tuple(terms),
        _refit_leads=refit,
    )


def lead_inference(inference: object, n_treated_clusters: int = 2) -> tuple[object, str]:
    """Return the event-study inference for the leads: the DiD's, or the nearest offered.

    The subcluster wild bootstrap and randomization with randomized ties exist for ``did`` only;
    their event-study counterparts draw one weight per cluster (or, with one treated cluster,
    where that is not valid, permute adoption dates) and use the conservative p-value.
    """
    if isinstance(inference, WildClusterBootstrap) and inference.bootcluster_columns:
        if n_treated_clusters <= 1:
            return Randomization(n_resamples=inference.n_resamples, rng=inference.rng), (
                "leads by randomization inference (the subcluster bootstrap is not available "
                "for the event study, and one weight per cluster is not valid with one treated "
                "cluster)"
            )
        return replace(inference, bootcluster=None), (
            "leads by the wild cluster bootstrap with one weight per cluster (the subcluster "
            "bootstrap is not available for the event study)"
        )
    if isinstance(inference, Randomization) and inference.ties != "conservative":
        return replace(inference, ties="conservative"), (
            "leads by randomization with the conservative p-value (randomized ties are not "
            "available for the event study)"
        )
    return inference, ""


def event_study_pretrends(
    result, placebo_shift: int | None, data: pd.DataFrame | None, conf_level: float | None
) -> PretrendResult:
    """Pre-period diagnostics of an event study, Sun-Abraham or imputation result."""
    shift = check_placebo_shift(placebo_shift)
    level = result.conf_level if conf_level is None else check_conf_level(conf_level)
    res = result if level == result.conf_level else result._refit(level)
    leads = [(e, t) for e, t in zip(res.event_times, res.terms, strict=False) if e < 0]
    lead_terms = [t for _, t in leads]
    n_treated = int(getattr(res, "n_treated_clusters", 0))
    # the imputation estimator's two-stage variance is cluster-robust (CR1-like) by `cluster`
    inference = getattr(res, "inference", None) or ClusterRobust(res.cluster, "CR1")
    validity = inference_validity(
        inference, n_clusters=res.n_clusters, n_treated_clusters=n_treated
    )
    if lead_terms and not any(t.valid for t in lead_terms):
        validity = (False, lead_terms[0].note)
    placebo = None
    if shift is not None:
        frame, weights = _placebo_frame(res, data)
        placebo = placebo_in_time(
            frame,
            outcome=res.outcome,
            unit=res.unit,
            time=res.time,
            cohort=res.cohort,
            shift=shift,
            inference=inference,
            conf_level=level,
            weights=weights,
        )

    def refit(new_level: float) -> PretrendResult:
        return event_study_pretrends(result, placebo_shift, data, new_level)

    design = {
        "EventStudyResult": "event_study",
        "SunAbrahamResult": "sun_abraham",
        "ImputationResult": "imputation",
    }.get(type(res).__name__, type(res).__name__)
    return build_pretrends(
        design=design,
        outcome=res.outcome,
        level=level,
        leads=leads,
        joint=res.pretrend,
        joint_validity=validity,
        placebo=placebo,
        placebo_shift=shift,
        n_clusters=res.n_clusters,
        n_treated_clusters=n_treated,
        reference=getattr(res, "reference", None),
        refit=refit,
    )


def _placebo_frame(res, data: pd.DataFrame | None) -> tuple[pd.DataFrame, str | None]:
    """Return the panel for the placebo: rebuilt from an event study's cells, else ``data``."""
    if data is not None:
        missing = [c for c in (res.outcome, res.unit, res.time, res.cohort) if c not in data]
        if missing:
            raise InvalidValueError(
                f"`data` lacks the result's column(s) {show_values(missing)}; pass the data "
                "the result was fitted on."
            )
        weights = getattr(res, "weights", None)
        return data, weights
    es = getattr(res, "_es", None)
    assignment = getattr(res, "_assignment", None)
    if es is None or assignment is None:
        raise InvalidValueError(
            f"the placebo of a {type(res).__name__} needs the data it was fitted on: pass "
            "data=... (with the outcome, unit, time and cohort columns)."
        )
    cells = es.cells
    keys = cells.keys
    unit_codes, _, cohort_pos = assignment
    periods = np.sort(keys[res.time].unique().astype(float))
    cohort = np.where(
        np.isfinite(cohort_pos[unit_codes]),
        periods[np.clip(cohort_pos[unit_codes], 0, len(periods) - 1).astype(int)],
        np.nan,
    )
    frame = keys[[res.unit, res.time]].copy()
    cluster = getattr(res.inference, "cluster", None)
    if cluster and cluster not in frame:
        frame[cluster] = keys[cluster].to_numpy()
    frame[res.outcome] = (cells.sums["sum_wy"] / cells.sums["sum_w"]).to_numpy()
    frame[res.cohort] = cohort
    weights = None
    if not np.allclose(cells.sums["sum_w"], 1.0):
        frame["__weight__"] = cells.sums["sum_w"].to_numpy()
        weights = "__weight__"
    return frame, weights
