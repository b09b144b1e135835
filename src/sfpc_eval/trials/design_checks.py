"""Validation of the fields of a :class:`~sfpc_eval.trials.design.SteppedWedgeDesign`."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sfpc_eval.errors import DesignError, InvalidValueError, show_values

__all__ = [
    "check_dates",
    "check_sizes",
    "check_strata",
    "check_switch_periods",
    "check_transition",
    "check_unobserved",
]


def check_switch_periods(switch_periods: Sequence[int], clusters: tuple[str, ...], t: int):
    """Return the switch periods as ints, or raise.

    One per cluster, non-negative, every cluster switching within the periods, at least 3
    clusters.
    """
    values = list(switch_periods)
    if len(values) != len(clusters):
        raise InvalidValueError(
            f"`switch_periods` has {len(values)} entries but there are {len(clusters)} "
            "clusters; give one switch period per cluster."
        )
    bad = [
        f"{c}={v!r}"
        for c, v in zip(clusters, values, strict=True)
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0
    ]
    if bad:
        raise InvalidValueError(
            "`switch_periods` must be non-negative integers (0-based period indices); bad: "
            f"{show_values(bad)}."
        )
    if len(clusters) < 3:
        raise DesignError(
            f"a stepped-wedge analysis needs at least 3 clusters; got {len(clusters)} "
            f"({', '.join(clusters)}). With so few clusters the between-cluster variance "
            "of a mixed model (GLMM) is not estimable. Use randomization inference over "
            "the rollout orders, or a before/after or difference-in-differences analysis."
        )
    never = [f"{c} (switch period {v})" for c, v in zip(clusters, values, strict=True) if v >= t]
    if never:
        raise DesignError(
            f"cluster(s) never switch to the intervention within the {t} periods: "
            f"{show_values(never)}. This is not a stepped wedge, where every cluster "
            "switches; give a switch period below the number of periods, or analyse the "
            "never-exposed clusters as a comparison group with did()."
        )
    return tuple(int(v) for v in values)


def check_transition(transition: int | Sequence[int], clusters: tuple[str, ...]):
    """Return the transition periods per cluster (one number broadcast, or one per cluster)."""
    if isinstance(transition, int | np.integer) and not isinstance(transition, bool):
        values = [int(transition)] * len(clusters)
    else:
        values = list(transition)  # type: ignore[arg-type]
        if len(values) != len(clusters):
            raise InvalidValueError(
                f"`transition_periods` has {len(values)} entries for {len(clusters)} "
                "clusters; give one number, or one per cluster."
            )
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0]
    if bad:
        raise InvalidValueError(
            f"`transition_periods` must be non-negative integers; got {show_values(bad)}."
        )
    return tuple(int(v) for v in values)


def check_unobserved(cells, clusters: tuple[str, ...], periods: tuple[str, ...]):
    """Return the unobserved (cluster, period) cells as index pairs, from labels or indices."""
    out = set()
    for cell in cells:
        try:
            c, p = cell
        except (TypeError, ValueError):
            raise InvalidValueError(
                f"`unobserved` must hold (cluster, period) pairs; got {cell!r}."
            ) from None
        out.add((_index(c, clusters, "cluster"), _index(p, periods, "period")))
    return frozenset(out)


def check_sizes(sizes: Any, n: int, t: int):
    """Return cluster-period sizes as a clusters x periods tuple, or None; finite and >= 0."""
    if sizes is None:
        return None
    arr = np.asarray(sizes, dtype=float)
    if arr.ndim == 0:
        arr = np.full((n, t), float(arr))
    elif arr.ndim == 1:
        if arr.shape[0] != n:
            raise InvalidValueError(
                f"`cluster_period_sizes` has {arr.shape[0]} values for {n} clusters; give "
                "one number, one per cluster, or a clusters x periods array."
            )
        arr = np.repeat(arr[:, None], t, axis=1)
    elif arr.shape != (n, t):
        raise InvalidValueError(
            f"`cluster_period_sizes` has shape {arr.shape}; a clusters x periods array must "
            f"be {(n, t)}."
        )
    bad = np.argwhere(~np.isfinite(arr) | (arr < 0))
    if len(bad):
        raise InvalidValueError(
            "`cluster_period_sizes` must be finite and non-negative; bad cells (cluster, "
            f"period index): {show_values([tuple(map(int, b)) for b in bad])}."
        )
    return tuple(tuple(float(v) for v in row) for row in arr)


def check_strata(strata, clusters: tuple[str, ...]):
    """Return the stratum of each cluster (from a sequence or a mapping), or None."""
    if strata is None:
        return None
    if isinstance(strata, Mapping):
        keys = {str(k): str(v) for k, v in strata.items()}
        missing = [c for c in clusters if c not in keys]
        extra = [k for k in keys if k not in clusters]
        if missing or extra:
            raise InvalidValueError(
                "`strata` must give a stratum for every cluster and only those; missing: "
                f"{show_values(missing) if missing else 'none'}; unknown clusters: "
                f"{show_values(extra) if extra else 'none'}."
            )
        return tuple(keys[c] for c in clusters)
    values = [str(v) for v in strata]
    if len(values) != len(clusters):
        raise InvalidValueError(
            f"`strata` has {len(values)} entries for {len(clusters)} clusters; give one "
            "stratum per cluster (or a mapping cluster -> stratum)."
        )
    return tuple(values)


def check_dates(starts, end, t: int):
    """Return period start dates and the end date as Timestamps, strictly increasing."""
    if starts is None:
        if end is not None:
            raise InvalidValueError("`period_end` needs `period_starts` as well.")
        return None, None
    stamps = tuple(pd.Timestamp(s) for s in starts)
    if len(stamps) != t:
        raise InvalidValueError(
            f"`period_starts` has {len(stamps)} dates for {t} periods; give one per period."
        )
    end_ts = pd.Timestamp(end) if end is not None else None
    chain = [*stamps, end_ts] if end_ts is not None else list(stamps)
    back = [str(b.date()) for a, b in itertools.pairwise(chain) if b <= a]
    if back:
        raise InvalidValueError(
            "`period_starts` (and `period_end`) must be strictly increasing; out of order "
            f"at: {show_values(back)}."
        )
    return stamps, end_ts


def _index(value: Any, labels: tuple[str, ...], what: str) -> int:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        if 0 <= value < len(labels):
            return int(value)
        raise InvalidValueError(
            f"{what} index {value} is out of range (there are {len(labels)} {what}s)."
        )
    if str(value) in labels:
        return labels.index(str(value))
    raise InvalidValueError(
        f"unknown {what} {value!r} in `unobserved`; {what}s are: {show_values(list(labels))}."
    )
