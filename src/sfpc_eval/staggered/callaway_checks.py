"""Callaway-Sant'Anna checks: validity of each row, the pre-period test, pre-period diagnostics.

- **Validity.** An ATT(g, t) of a cohort with a single treated cluster (a council adopting alone
  in its year) has an influence-function variance from the comparison units only: the treated
  unit's own deviation from its cohort mean is zero by construction. Such rows, and
  aggregations resting on one treated cluster only, are marked ``valid=False``; aggregations
  that include a one-council cohort among others say so in their note.
- **Pre-period test.** The joint Wald test that every pre-adoption event-time estimate of the
  dynamic aggregation is zero, with the variance from the influence functions (chi-square
  reference, as R ``did``'s pre-test of parallel trends does for ATT(g, t)), or by the
  multiplier bootstrap when the result has one (the share of bootstrap Wald statistics at
  least the observed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from sfpc_eval._validate import check_resamples
from sfpc_eval.diff_in_diff.event_study_fit import JointTest
from sfpc_eval.errors import InvalidValueError, show_values
from sfpc_eval.panel import require_present
from sfpc_eval.results import Term
from sfpc_eval.staggered.callaway_inference import cluster_sums

__all__ = [
    "cohort_clusters",
    "contributing_cohorts",
    "dynamic_pretrend_test",
    "mark_callaway_validity",
]

BAND_DRAWS = 1000
"""Multiplier draws behind the uniform band with analytic standard errors (R did's biters)."""

ONE_COHORT = (
    "not valid: every treated unit behind this estimate is in one cluster, so its standard "
    "error comes from the comparison units alone; use randomization inference (e.g. "
    "did() with Randomization()) or a single-unit design"
)


def cohort_clusters(unit_cohort: np.ndarray, codes: np.ndarray) -> dict[float, frozenset[int]]:
    """Each finite cohort's set of cluster codes.

    Examples
    --------
    >>> cohort_clusters(np.array([3.0, 3.0, np.inf]), np.array([0, 1, 2]))
    {3.0: frozenset({0, 1})}
    """
    finite = np.isfinite(unit_cohort)
    out: dict[float, set[int]] = {}
    for g, c in zip(unit_cohort[finite], codes[finite], strict=True):
        out.setdefault(float(g), set()).add(int(c))
    return {g: frozenset(v) for g, v in sorted(out.items())}


def contributing_cohorts(
    kind: str, index: np.ndarray, group: np.ndarray, time: np.ndarray
) -> list[np.ndarray]:
    """For each component of an aggregation (then the overall), the cohorts it averages."""
    post = time >= group
    event = time - group
    if kind == "dynamic":
        parts = [np.unique(group[event == e]) for e in index]
        overall = np.unique(group[post & np.isin(event, index[index >= 0])])
    elif kind == "group":
        parts = [np.array([g]) for g in index]
        overall = np.unique(group[post])
    elif kind == "calendar":
        parts = [np.unique(group[post & (time == t)]) for t in index]
        overall = np.unique(group[post])
    else:
        parts = []
        overall = np.unique(group[post])
    return [*parts, overall]


def mark_callaway_validity(
    terms: tuple[Term, ...],
    cohorts: list[np.ndarray],
    clusters: dict[float, frozenset[int]],
) -> tuple[Term, ...]:
    """Mark terms resting on one treated cluster; note those that include a one-cluster cohort."""
    out = []
    for term, these in zip(terms, cohorts, strict=True):
        sets = [clusters.get(float(g), frozenset()) for g in these]
        n_treated = len(frozenset().union(*sets)) if sets else 0
        if n_treated == 1 and term.std_error == term.std_error:
            term = replace(term, valid=False, note=ONE_COHORT)
        elif any(len(s) == 1 for s in sets):
            alone = ", ".join(f"{g:g}" for g, s in zip(these, sets, strict=True) if len(s) == 1)
            extra = (
                f"includes a cohort with one treated cluster ({alone}) whose own variability "
                "is not in the standard error"
            )
            term = replace(term, note=f"{term.note}; {extra}" if term.note else extra)
        out.append(term)
    return tuple(out)


def dynamic_pretrend_test(aggregate) -> JointTest | None:
    """Joint test that every pre-adoption component of a dynamic aggregation is zero.

    Components fixed at 0 (the universal base period) and components whose inference is not
    valid (resting on one treated cluster) are left out; None when no component is left.
    """
    if aggregate.kind != "dynamic":
        return None
    index = np.asarray(aggregate.index, dtype=float)
    terms = aggregate.terms[: len(index)]
    keep = np.array(
        [e < 0 and t.std_error > 0 and t.valid for e, t in zip(index, terms, strict=True)]
    )
    if not keep.any():
        return None
    inference = aggregate.inference
    influence = aggregate.influence[:, keep]
    n = influence.shape[0]
    sums = cluster_sums(influence, inference.codes, inference.n_clusters)
    vcov = sums.T @ sums / n**2
    theta = aggregate.estimates[keep]
    try:
        wald = float(theta @ np.linalg.solve(vcov, theta))
    except np.linalg.LinAlgError:
        return None
    q = int(keep.sum())
    labels = tuple(t.term for t, k in zip(terms, keep, strict=True) if k)
    if inference.multipliers is None:
        p_value = float(stats.chi2.sf(wald, q))
        how = f"Wald chi-square({q}), variance from the influence functions"
    else:
        draws = (inference.multipliers.weights @ sums.astype(np.float32)).astype(float) / n
        star = np.einsum("bi,bi->b", draws, np.linalg.solve(vcov, draws.T).T)
        p_value = float(np.mean(star >= wald * (1 - 1e-12)))
        how = f"Wald statistic, multiplier bootstrap ({inference.multipliers.draws} draws)"
    return JointTest(wald, float(q), float("nan"), p_value, how, labels)


def _cell_cohorts(gt) -> list[np.ndarray]:
    """Return the cohort of each ATT(g, t) cell, as the validity check wants it."""
    return [np.array([g]) for g in gt.group]


def _check_choice(value: object, name: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise InvalidValueError(
            f"`{name}` must be one of {', '.join(map(repr, choices))}; got {value!r}."
        )


def _check_bootstrap(bootstrap: object) -> int | None:
    """None (analytic standard errors) or a number of multiplier-bootstrap draws."""
    if bootstrap is None:
        return None
    return check_resamples(bootstrap, "bootstrap", minimum=2)


def _cluster_codes(
    data: pd.DataFrame, unit: str, cluster: str | None, units: np.ndarray
) -> tuple[np.ndarray, int, str]:
    if cluster is None or cluster == unit:
        return np.arange(len(units)), len(units), unit
    require_present(data, cluster, argument="cluster")
    per_unit = data.groupby(unit, sort=True)[cluster].nunique()
    varying = list(per_unit.index[per_unit.to_numpy() > 1])
    if varying:
        raise InvalidValueError(
            f"`cluster` column {cluster!r} must be constant within each {unit} (clusters must "
            f"nest units), but it varies within {len(varying)} unit(s): "
            f"{show_values(varying)}. Cluster at a level that contains whole units."
        )
    labels = data.groupby(unit, sort=True)[cluster].first().reindex(units)
    # clusters in sorted order of their labels (as R did / csdid), one code per unit
    codes, _ = pd.factorize(labels, sort=True)
    return np.asarray(codes), int(codes.max()) + 1, cluster


def callaway_pretrends(result, placebo_shift, data, conf_level, min_e=-np.inf):
    """Pre-period diagnostics of a :class:`~sfpc_eval.staggered.callaway.CallawayResult`.

    The leads are the pre-adoption components of ``aggregate("dynamic")``; the joint test is
    :func:`dynamic_pretrend_test`; the placebo (with ``data``) is
    :func:`~sfpc_eval.diff_in_diff.pretrends.placebo_in_time` with CR2 standard errors by the
    result's cluster.
    """
    from sfpc_eval.diff_in_diff.pretrends import (
        build_pretrends,
        check_placebo_shift,
        placebo_in_time,
    )
    from sfpc_eval.inference.cluster import ClusterRobust

    shift = check_placebo_shift(placebo_shift)
    level = result.conf_level if conf_level is None else conf_level
    dynamic = result.aggregate("dynamic", conf_level=level, min_e=min_e)
    leads = [
        (int(e), t)
        for e, t in zip(dynamic.index, dynamic.terms, strict=False)
        if e < 0 and t.std_error > 0
    ]
    test = dynamic.pretrend  # over the valid leads only
    lead_terms = [t for _, t in leads]
    left_out = [t.term for t in lead_terms if not t.valid]
    valid = test is not None
    note = f"leaves out {', '.join(left_out)} (one treated cluster)" if left_out and valid else ""
    if not valid and lead_terms:
        note = lead_terms[0].note
    placebo = None
    if shift is not None:
        if data is None:
            raise InvalidValueError(
                "the placebo of a Callaway-Sant'Anna result needs the data it was fitted on: "
                "pass data=... (with the outcome, unit, time and cohort columns)."
            )
        cluster = result.inference.cluster
        placebo = placebo_in_time(
            data,
            outcome=result.outcome,
            unit=result.unit,
            time=result.time,
            cohort=result.cohort,
            shift=shift,
            inference=ClusterRobust(cluster, "CR2"),
            conf_level=level,
        )
    treated = frozenset().union(*result.inference.cohort_clusters.values())
    reference = None if result.base_period == "varying" else -1 - result.anticipation

    def refit(new_level: float):
        return callaway_pretrends(result, placebo_shift, data, new_level, min_e)

    return build_pretrends(
        design="callaway_santanna",
        outcome=result.outcome,
        level=level,
        leads=leads,
        joint=test,
        joint_validity=(valid, note),
        placebo=placebo,
        placebo_shift=shift,
        n_clusters=result.n_clusters,
        n_treated_clusters=len(treated),
        reference=reference,
        refit=refit,
    )
