"""Stepped-wedge designs: clusters, rollout sequences, periods, exposure and randomisation.

A stepped-wedge cluster randomised trial observes every cluster (a council) in every period; all
clusters start in the control condition and switch to the intervention one after another, in a
randomised order, until all are exposed. :class:`SteppedWedgeDesign` holds that schedule:

- ``clusters`` and ``periods`` (labels), and each cluster's ``switch_periods`` (index of the first
  period in the intervention condition);
- optional *transition* periods just after the switch, either excluded from the analysis
  (exposure NaN) or counted as partially exposed (``transition_exposure`` between 0 and 1);
- optional unobserved cells (incomplete designs) and cluster-period sizes (children per
  cluster-period, used by the power calculations);
- optional randomisation strata: the real SFPC trials stratified by "readiness", so only
  rollout orders that keep each stratum on its own steps are admissible.

The exposure matrix (clusters x periods) holds 0 for control, 1 for exposed, a fraction for a
partially exposed transition period and NaN for a cell that is not analysed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sfpc_eval.errors import DesignError, InvalidValueError, MissingColumnError, show_values

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["SteppedWedgeDesign"]

_MAX_ENUMERATION = 1_000_000


def _labels(values: Sequence[Any], name: str) -> tuple[str, ...]:
    labels = tuple(str(v) for v in values)
    seen: set[str] = set()
    dupes = [v for v in labels if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
    if dupes:
        raise InvalidValueError(
            f"`{name}` must name each one once; repeated: {show_values(sorted(set(dupes)))}. "
            "Give every cluster (period) a distinct label."
        )
    return labels


@dataclass(frozen=True)
class SteppedWedgeDesign:
    """The rollout schedule of a stepped-wedge cluster randomised trial.

    Parameters
    ----------
    clusters : sequence of str
        Cluster labels (councils), one per cluster.
    switch_periods : sequence of int
        For each cluster, the 0-based index of the first period in the intervention condition
        (the first transition period, when there are transition periods).
    periods : int or sequence of str
        The number of periods, or their labels.
    transition_periods : int or sequence of int, default 0
        Periods from the switch on that are transition periods (the intervention is being set
        up), for all clusters or per cluster.
    transition_exposure : float, optional
        ``None`` (default): transition cells are excluded (exposure NaN). A number in (0, 1):
        they are partially exposed and enter the exposure matrix with that value.
    unobserved : sequence of (cluster, period) pairs, optional
        Cells with no data (incomplete designs). Pairs may use labels or 0-based indices.
    cluster_period_sizes : float, sequence or 2-D array, optional
        Individuals per cluster-period: one number for all cells, one per cluster (the same in
        every period), or a clusters x periods array. Used by the power functions.
    strata : sequence or mapping, optional
        Randomisation stratum of each cluster (a sequence in cluster order, or a mapping from
        cluster to stratum). Randomisation permutes rollout sequences within strata only.
    period_starts : sequence of dates, optional
        Start date of each period, plus ``period_end`` (the end of the last period); set by
        :meth:`from_switch_dates`.
    period_end : date, optional
        End of the last period (exclusive).

    Raises
    ------
    DesignError
        Fewer than 3 clusters; a cluster that never switches; all clusters switching in the
        same period (not a stepped wedge); a cluster with no analysable cell.
    InvalidValueError
        Out-of-range switch periods, negative sizes, repeated labels, malformed strata.

    Examples
    --------
    >>> d = SteppedWedgeDesign(["A", "B", "C"], switch_periods=[1, 2, 3], periods=4)
    >>> d.exposure_matrix()
    array([[0., 1., 1., 1.],
           [0., 0., 1., 1.],
           [0., 0., 0., 1.]])
    >>> d.n_sequences
    3
    """

    clusters: tuple[str, ...]
    switch_periods: tuple[int, ...]
    periods: tuple[str, ...]
    transition_periods: tuple[int, ...] = ()
    transition_exposure: float | None = None
    unobserved: frozenset[tuple[int, int]] = frozenset()
    cluster_period_sizes: tuple[tuple[float, ...], ...] | None = None
    strata: tuple[str, ...] | None = None
    period_starts: tuple[pd.Timestamp, ...] | None = field(default=None, repr=False)
    period_end: pd.Timestamp | None = field(default=None, repr=False)

    def __init__(
        self,
        clusters: Sequence[Any],
        switch_periods: Sequence[int],
        periods: int | Sequence[Any],
        *,
        transition_periods: int | Sequence[int] = 0,
        transition_exposure: float | None = None,
        unobserved: Sequence[tuple[Any, Any]] = (),
        cluster_period_sizes: Any = None,
        strata: Sequence[Any] | Mapping[Any, Any] | None = None,
        period_starts: Sequence[Any] | None = None,
        period_end: Any = None,
    ) -> None:
        setter = object.__setattr__
        cl = _labels(list(clusters), "clusters")
        if isinstance(periods, int | np.integer) and not isinstance(periods, bool):
            if periods < 2:
                raise InvalidValueError(
                    f"`periods` must be at least 2 (a control and an exposed period); got "
                    f"{periods}."
                )
            pl = tuple(str(i + 1) for i in range(int(periods)))
        else:
            pl = _labels(list(periods), "periods")
            if len(pl) < 2:
                raise InvalidValueError(
                    f"`periods` must have at least 2 periods; got {len(pl)}: {list(pl)}."
                )
        n, t = len(cl), len(pl)
        sw = self._check_switch(switch_periods, cl, t)
        tr = self._check_transition(transition_periods, cl)
        if transition_exposure is not None and not (
            isinstance(transition_exposure, int | float) and 0 < transition_exposure < 1
        ):
            raise InvalidValueError(
                "`transition_exposure` must be None (transition cells excluded) or a number "
                f"strictly between 0 and 1 (partial exposure); got {transition_exposure!r}."
            )
        setter(self, "clusters", cl)
        setter(self, "switch_periods", sw)
        setter(self, "periods", pl)
        setter(self, "transition_periods", tr)
        setter(
            self,
            "transition_exposure",
            None if transition_exposure is None else float(transition_exposure),
        )
        setter(self, "unobserved", self._check_unobserved(unobserved, cl, pl))
        setter(self, "cluster_period_sizes", self._check_sizes(cluster_period_sizes, n, t))
        setter(self, "strata", self._check_strata(strata, cl))
        starts, end = self._check_dates(period_starts, period_end, t)
        setter(self, "period_starts", starts)
        setter(self, "period_end", end)
        self._check_stepped_wedge()

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _check_switch(switch_periods: Sequence[int], clusters: tuple[str, ...], t: int):
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
        never = [f"{c} (switch period {v})" for c, v in zip(clusters, values, strict=True)
                 if v >= t]
        if never:
            raise DesignError(
                f"cluster(s) never switch to the intervention within the {t} periods: "
                f"{show_values(never)}. This is not a stepped wedge, where every cluster "
                "switches; give a switch period below the number of periods, or analyse the "
                "never-exposed clusters as a comparison group with did()."
            )
        return tuple(int(v) for v in values)

    @staticmethod
    def _check_transition(transition: int | Sequence[int], clusters: tuple[str, ...]):
        if isinstance(transition, int | np.integer) and not isinstance(transition, bool):
            values = [int(transition)] * len(clusters)
        else:
            values = list(transition)  # type: ignore[arg-type]
            if len(values) != len(clusters):
                raise InvalidValueError(
                    f"`transition_periods` has {len(values)} entries for {len(clusters)} "
                    "clusters; give one number, or one per cluster."
                )
        bad = [v for v in values
               if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0]
        if bad:
            raise InvalidValueError(
                f"`transition_periods` must be non-negative integers; got {show_values(bad)}."
            )
        return tuple(int(v) for v in values)

    @staticmethod
    def _check_unobserved(cells, clusters: tuple[str, ...], periods: tuple[str, ...]):
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

    @staticmethod
    def _check_sizes(sizes: Any, n: int, t: int):
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

    @staticmethod
    def _check_strata(strata, clusters: tuple[str, ...]):
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

    @staticmethod
    def _check_dates(starts, end, t: int):
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

    def _check_stepped_wedge(self) -> None:
        x = self.exposure_matrix()
        empty = [c for c, row in zip(self.clusters, x, strict=True) if np.all(np.isnan(row))]
        if empty:
            raise DesignError(
                f"cluster(s) have no analysable cluster-period: {show_values(empty)} (every "
                "cell is unobserved or a transition). Drop them from the design or observe them "
                "in at least one period."
            )
        if len(set(self.switch_periods)) == 1:
            raise DesignError(
                f"all {self.n_clusters} clusters switch to the intervention in the same period "
                f"({self.periods[self.switch_periods[0]]!r}): this is not a stepped wedge but "
                "a before/after comparison with no concurrent control. Give the clusters "
                "different switch periods, or analyse it with before_after()."
            )

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_exposure(
        cls,
        exposure: Any,
        *,
        clusters: Sequence[Any] | None = None,
        periods: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> SteppedWedgeDesign:
        """Build a design from a clusters x periods exposure matrix (0, 1, NaN).

        Parameters
        ----------
        exposure : 2-D array or DataFrame
            0 control, 1 exposed, NaN not observed. A DataFrame supplies the cluster (index)
            and period (column) labels.
        clusters, periods : sequence, optional
            Labels, when ``exposure`` is an array.
        **kwargs
            Passed on (``cluster_period_sizes``, ``strata``).

        Raises
        ------
        DesignError
            A cluster that switches back to control (exposed, then control again), a cluster
            never exposed, all clusters switching together, fewer than 3 clusters.
        InvalidValueError
            Values other than 0, 1 and NaN.

        Examples
        --------
        >>> x = [[0, 1, 1], [0, 0, 1], [0, float("nan"), 1]]
        >>> SteppedWedgeDesign.from_exposure(x).switch_periods
        (1, 2, 2)
        """
        if isinstance(exposure, pd.DataFrame):
            clusters = list(exposure.index) if clusters is None else clusters
            periods = list(exposure.columns) if periods is None else periods
        arr = np.asarray(exposure, dtype=float)
        if arr.ndim != 2:
            raise InvalidValueError(
                f"`exposure` must be a 2-D clusters x periods array; got {arr.ndim} dimension(s)."
            )
        n, t = arr.shape
        clusters = list(range(1, n + 1)) if clusters is None else list(clusters)
        labels = [str(c) for c in clusters]
        bad = np.argwhere(~np.isnan(arr) & (arr != 0) & (arr != 1))
        if len(bad):
            cells = [f"{labels[i]}[{j}]={arr[i, j]:g}" for i, j in bad]
            raise InvalidValueError(
                f"`exposure` must hold 0 (control), 1 (exposed) or NaN (unobserved); got "
                f"{show_values(cells)}."
            )
        switch, unobserved, off = [], [], []
        for i in range(n):
            row = arr[i]
            seen = np.flatnonzero(~np.isnan(row))
            values = row[seen]
            ones = np.flatnonzero(values == 1)
            if len(ones) and np.any(values[ones[0]:] == 0):
                back = seen[ones[0]:][values[ones[0]:] == 0]
                off.append(f"{labels[i]} (exposed from period index {seen[ones[0]]}, control "
                           f"again at {', '.join(map(str, back))})")
            switch.append(int(seen[ones[0]]) if len(ones) else t)
            unobserved.extend((i, j) for j in np.flatnonzero(np.isnan(row)))
        if off:
            raise DesignError(
                f"treatment switches off in {len(off)} cluster(s): {show_values(off)}. In a "
                "stepped wedge a cluster stays exposed once it switches; check the treatment "
                "coding (or model the withdrawal explicitly with another design)."
            )
        return cls(clusters, switch, t if periods is None else periods,
                   unobserved=unobserved, **kwargs)

    @classmethod
    def from_data(
        cls,
        data: pd.DataFrame,
        *,
        cluster: str,
        period: str,
        treated: str,
        strata: Mapping[Any, Any] | None = None,
    ) -> SteppedWedgeDesign:
        """Read the design off individual-level trial data.

        Cluster-period sizes are the row counts; cells with no rows are unobserved. Every row
        of a cluster-period must share one treatment value.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per individual (not modified).
        cluster, period, treated : str
            Column names. ``period`` must sort in time order; ``treated`` holds 0/1.
        strata : mapping, optional
            Cluster -> randomisation stratum.

        Raises
        ------
        MissingColumnError
            A named column is absent.
        DesignError
            Mixed treatment within a cluster-period; treatment switching off; see
            :meth:`from_exposure`.

        Examples
        --------
        >>> df = pd.DataFrame({"la": list("AAABBBCCC") * 2, "p": [1, 2, 3] * 6,
        ...                    "t": [0, 1, 1, 0, 0, 1, 0, 0, 1] * 2})
        >>> d = SteppedWedgeDesign.from_data(df, cluster="la", period="p", treated="t")
        >>> d.switch_periods, d.sizes()[0].tolist()
        ((1, 2, 2), [2.0, 2.0, 2.0])
        """
        cols = [cluster, period, treated]
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise MissingColumnError("cluster/period/treated", missing, list(data.columns))
        frame = data[cols]
        na = frame.isna().any(axis=1)
        if na.any():
            raise InvalidValueError(
                f"{int(na.sum())} row(s) have a missing {cluster}, {period} or {treated} value "
                f"(rows {show_values(list(frame.index[na]))}); fill or drop them first."
            )
        grouped = frame.groupby([cluster, period], sort=True)[treated]
        low, high, size = grouped.min(), grouped.max(), grouped.size()
        mixed = low.index[low != high]
        if len(mixed):
            raise DesignError(
                f"`{treated}` varies within cluster-period(s) {show_values(list(mixed))}; a "
                "stepped wedge switches whole clusters at period boundaries. Recode the period "
                "so each cluster-period has one treatment status."
            )
        exposure = high.reset_index().pivot_table(
            index=cluster, columns=period, values=treated, aggfunc="max", dropna=False
        )
        sizes = size.rename("n").reset_index().pivot_table(
            index=cluster, columns=period, values="n", aggfunc="sum", fill_value=0.0,
            dropna=False,
        )
        return cls.from_exposure(exposure, cluster_period_sizes=sizes.to_numpy(), strata=strata)

    @classmethod
    def from_switch_dates(
        cls,
        switch_dates: Mapping[Any, Any],
        *,
        start: Any,
        end: Any,
        period_starts: Sequence[Any] | None = None,
        freq: str | None = None,
        transition_periods: int = 0,
        transition_exposure: float | None = None,
        cluster_period_sizes: Any = None,
        children_per_cluster: Mapping[Any, float] | Sequence[float] | None = None,
        strata: Mapping[Any, Any] | None = None,
    ) -> SteppedWedgeDesign:
        """Build a design from the date each cluster switches to the intervention.

        Periods are ``[start_k, start_{k+1})``. By default they are cut at the trial start and
        at each distinct switch date (one step per switch, as in the SFPC trials); pass
        ``period_starts`` or a pandas ``freq`` (e.g. ``"6MS"``, ``"QS"``) for a regular grid. A
        switch date inside a period (not at its start) makes that period a transition period
        for that cluster (excluded, or partially exposed with ``transition_exposure``).

        Parameters
        ----------
        switch_dates : mapping
            Cluster -> switch date (anything :class:`pandas.Timestamp` reads).
        start, end : date
            Trial start (first day) and end (exclusive).
        period_starts : sequence of dates, optional
            Explicit period start dates; the first must equal ``start``.
        freq : str, optional
            A pandas offset alias for regular periods from ``start``.
        transition_periods : int, default 0
            Transition periods after each switch (on top of a mid-period switch).
        transition_exposure : float, optional
            See :class:`SteppedWedgeDesign`.
        cluster_period_sizes : optional
            See :class:`SteppedWedgeDesign`.
        children_per_cluster : mapping or sequence, optional
            Individuals per cluster over the whole trial, spread over periods in proportion to
            their length in days (an alternative to ``cluster_period_sizes``).
        strata : mapping, optional
            Cluster -> randomisation stratum.

        Raises
        ------
        InvalidValueError
            Unreadable dates, a switch date outside [start, end), both ``period_starts`` and
            ``freq``, period starts out of order or not beginning at ``start``.

        Examples
        --------
        >>> d = SteppedWedgeDesign.from_switch_dates(
        ...     {"A": "2020-04-01", "B": "2020-07-01", "C": "2020-10-01"},
        ...     start="2020-01-01", end="2021-01-01")
        >>> d.periods
        ('2020-01-01', '2020-04-01', '2020-07-01', '2020-10-01')
        >>> d.switch_periods
        (1, 2, 3)
        """
        start_ts, end_ts = _timestamp(start, "start"), _timestamp(end, "end")
        if end_ts <= start_ts:
            raise InvalidValueError(
                f"`end` ({end_ts.date()}) must be after `start` ({start_ts.date()})."
            )
        names = [str(k) for k in switch_dates]
        dates = {str(k): _timestamp(v, f"switch_dates[{k!r}]") for k, v in switch_dates.items()}
        outside = [f"{k}={v.date()}" for k, v in dates.items() if not start_ts <= v < end_ts]
        if outside:
            raise InvalidValueError(
                f"switch dates must fall within the trial, on or after {start_ts.date()} and "
                f"before {end_ts.date()}; outside: {show_values(outside)}."
            )
        if period_starts is not None and freq is not None:
            raise InvalidValueError(
                "give either `period_starts` or `freq`, not both: they both define the periods."
            )
        if period_starts is not None:
            starts = [_timestamp(s, "period_starts") for s in period_starts]
            if not starts or starts[0] != start_ts:
                raise InvalidValueError(
                    "the first of `period_starts` must equal `start` "
                    f"({start_ts.date()}); got {starts[0].date() if starts else 'none'}."
                )
        elif freq is not None:
            try:
                grid = pd.date_range(start_ts, end_ts, freq=freq, inclusive="left")
            except ValueError as err:
                raise InvalidValueError(
                    f"`freq` must be a pandas offset alias such as '6MS' or 'QS'; got {freq!r} "
                    f"({err})."
                ) from None
            starts = list(grid)
            if not starts or starts[0] != start_ts:
                starts = [start_ts, *starts]
        else:
            starts = sorted({start_ts, *dates.values()})
        if any(b <= a for a, b in itertools.pairwise([*starts, end_ts])):
            raise InvalidValueError(
                "`period_starts` must be strictly increasing and before `end`; got "
                f"{[str(s.date()) for s in starts]} with end {end_ts.date()}."
            )
        bounds = np.array([s.value for s in starts])
        switch, transition = [], []
        for name in names:
            k = int(np.searchsorted(bounds, dates[name].value, side="right") - 1)
            mid = dates[name] != starts[k]
            switch.append(k)
            transition.append(transition_periods + int(mid))
        labels = [str(s.date()) for s in starts]
        sizes = cluster_period_sizes
        if children_per_cluster is not None:
            if sizes is not None:
                raise InvalidValueError(
                    "give either `cluster_period_sizes` or `children_per_cluster`, not both."
                )
            totals = _per_cluster(children_per_cluster, names, "children_per_cluster")
            days = np.diff([s.value for s in [*starts, end_ts]]).astype(float)
            sizes = np.outer(totals, days / days.sum())
        return cls(
            names,
            switch,
            labels,
            transition_periods=transition,
            transition_exposure=transition_exposure,
            cluster_period_sizes=sizes,
            strata=strata,
            period_starts=starts,
            period_end=end_ts,
        )

    @classmethod
    def complete(
        cls,
        clusters_per_sequence: Sequence[int],
        *,
        extra_periods: int = 0,
        cluster_period_size: float | None = None,
        transition_periods: int = 0,
    ) -> SteppedWedgeDesign:
        """Build a standard design: one baseline period, then one sequence switching per period.

        Mirrors ``swCRTdesign::swDsn(clusters)``: ``len(clusters_per_sequence)`` sequences and
        ``len + 1 + extra_periods`` periods.

        Examples
        --------
        >>> SteppedWedgeDesign.complete([2, 1, 1]).switch_periods
        (1, 1, 2, 3)
        """
        counts = list(clusters_per_sequence)
        if not counts or any(
            isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 1 for c in counts
        ):
            raise InvalidValueError(
                "`clusters_per_sequence` must be positive integers, one per sequence; got "
                f"{counts!r}."
            )
        switch = [s + 1 for s, c in enumerate(counts) for _ in range(c)]
        t = len(counts) + 1 + extra_periods
        names = [f"cluster {i + 1}" for i in range(len(switch))]
        return cls(names, switch, t, transition_periods=transition_periods,
                   cluster_period_sizes=cluster_period_size)

    # ------------------------------------------------------------------ readings
    @property
    def n_clusters(self) -> int:
        """Number of clusters."""
        return len(self.clusters)

    @property
    def n_periods(self) -> int:
        """Number of periods."""
        return len(self.periods)

    @property
    def sequences(self) -> tuple[int, ...]:
        """The distinct switch periods, in order (one per rollout sequence)."""
        return tuple(sorted(set(self.switch_periods)))

    @property
    def n_sequences(self) -> int:
        """Number of distinct rollout sequences."""
        return len(self.sequences)

    @property
    def is_complete(self) -> bool:
        """True when every cell is analysed (no unobserved or excluded transition cell)."""
        return not np.isnan(self.exposure_matrix()).any()

    def exposure_matrix(self) -> np.ndarray:
        """Clusters x periods exposure: 0 control, 1 exposed, fraction partial, NaN not analysed.

        Examples
        --------
        >>> d = SteppedWedgeDesign(["A", "B", "C"], [1, 2, 2], 3, transition_periods=1)
        >>> d.exposure_matrix()
        array([[ 0., nan,  1.],
               [ 0.,  0., nan],
               [ 0.,  0., nan]])
        """
        t = np.arange(self.n_periods)
        sw = np.asarray(self.switch_periods)[:, None]
        tr = np.asarray(self.transition_periods)[:, None]
        x = (t[None, :] >= sw).astype(float)
        in_transition = (t[None, :] >= sw) & (t[None, :] < sw + tr)
        x[in_transition] = np.nan if self.transition_exposure is None else self.transition_exposure
        for i, j in self.unobserved:
            x[i, j] = np.nan
        return x

    def exposure_frame(self) -> pd.DataFrame:
        """:meth:`exposure_matrix` labelled by cluster (rows) and period (columns)."""
        return pd.DataFrame(
            self.exposure_matrix(),
            index=pd.Index(self.clusters, name="cluster"),
            columns=pd.Index(self.periods, name="period"),
        )

    def sizes(self, cluster_period_size: Any = None) -> np.ndarray:
        """Cluster-period sizes (clusters x periods), 0 where a cell is not analysed.

        Parameters
        ----------
        cluster_period_size : optional
            Overrides the design's own sizes (same forms as ``cluster_period_sizes``).

        Raises
        ------
        InvalidValueError
            Neither the design nor the argument gives sizes, or an analysed cell has size 0.
        """
        if cluster_period_size is not None:
            m = np.asarray(
                self._check_sizes(cluster_period_size, self.n_clusters, self.n_periods)
            )
        elif self.cluster_period_sizes is not None:
            m = np.asarray(self.cluster_period_sizes)
        else:
            raise InvalidValueError(
                "the design has no cluster-period sizes; pass `cluster_period_size` (one "
                "number, one per cluster or a clusters x periods array)."
            )
        x = self.exposure_matrix()
        zero = np.argwhere(~np.isnan(x) & (m <= 0))
        if len(zero):
            cells = [f"{self.clusters[i]}/{self.periods[j]}" for i, j in zero]
            raise InvalidValueError(
                f"cluster-period size is 0 in analysed cell(s) {show_values(cells)}; give a "
                "positive size or mark the cells `unobserved`."
            )
        return np.where(np.isnan(x), 0.0, m)

    def summary_frame(self) -> pd.DataFrame:
        """One row per cluster: switch period, its label and date, stratum, total size."""
        rows = []
        for i, c in enumerate(self.clusters):
            k = self.switch_periods[i]
            rows.append(
                {
                    "cluster": c,
                    "switch_period": k,
                    "switch_label": self.periods[k],
                    "switch_date": self.period_starts[k] if self.period_starts else pd.NaT,
                    "transition_periods": self.transition_periods[i],
                    "stratum": self.strata[i] if self.strata else None,
                    "size": (float(np.sum(self.cluster_period_sizes[i]))
                             if self.cluster_period_sizes else math.nan),
                }
            )
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ randomisation
    def _slots(self) -> list[tuple[int, int]]:
        return list(zip(self.switch_periods, self.transition_periods, strict=True))

    def _groups(self) -> list[list[int]]:
        if self.strata is None:
            return [list(range(self.n_clusters))]
        order = list(dict.fromkeys(self.strata))
        return [[i for i, s in enumerate(self.strata) if s == g] for g in order]

    def n_admissible_orders(self) -> int:
        """Count the distinct admissible rollout assignments (within strata).

        Examples
        --------
        >>> SteppedWedgeDesign(list("ABCDE"), [1, 2, 3, 4, 5], 6).n_admissible_orders()
        120
        """
        total = 1
        for group in self._groups():
            counts: dict[int, int] = {}
            for i in group:
                s = self.switch_periods[i]
                counts[s] = counts.get(s, 0) + 1
            n = math.factorial(len(group))
            for c in counts.values():
                n //= math.factorial(c)
            total *= n
        return total

    def admissible_orders(self) -> np.ndarray:
        """Every distinct admissible assignment of rollout sequences to clusters.

        A sequence (a switch period, with its transition periods) moves with the
        randomisation; cluster-period sizes and unobserved cells stay with the cluster.
        Clusters sharing a switch period are one sequence, so their swaps are not counted. With
        strata, sequences are permuted only among the clusters of the same stratum.

        Returns
        -------
        numpy.ndarray
            Integer array (orders x clusters): row ``r`` gives each cluster's switch period
            under order ``r``. The observed order is among the rows. Pass a row to
            :meth:`with_switch_periods` for the design under that order.

        Raises
        ------
        DesignError
            More than 1,000,000 orders (sample with :meth:`randomise` instead).

        Examples
        --------
        >>> d = SteppedWedgeDesign(list("ABCDE"), [1, 2, 3, 4, 5], 6, strata="HHLLL")
        >>> d.admissible_orders().shape
        (12, 5)
        """
        n_orders = self.n_admissible_orders()
        if n_orders > _MAX_ENUMERATION:
            raise DesignError(
                f"{n_orders:,} admissible rollout orders are too many to enumerate (limit "
                f"{_MAX_ENUMERATION:,}); draw random orders with randomise(rng=...) instead."
            )
        per_group = []
        for group in self._groups():
            seqs = sorted({tuple(self.switch_periods[i] for i in perm)
                           for perm in itertools.permutations(group)})
            per_group.append((group, seqs))
        rows = []
        for combo in itertools.product(*(seqs for _, seqs in per_group)):
            row = np.empty(self.n_clusters, dtype=int)
            for (group, _), values in zip(per_group, combo, strict=True):
                row[group] = values
            rows.append(row)
        return np.array(rows, dtype=int)

    def with_switch_periods(self, switch_periods: Sequence[int]) -> SteppedWedgeDesign:
        """Copy the design with clusters given other switch periods (from the same sequences).

        Each cluster takes the transition periods that go with its new switch period.

        Raises
        ------
        InvalidValueError
            A switch period that is not one of the design's sequences in this stratum mix.
        """
        new = [int(v) for v in switch_periods]
        if sorted(new) != sorted(self.switch_periods):
            raise InvalidValueError(
                "`switch_periods` must rearrange the design's own switch periods "
                f"{sorted(self.switch_periods)}; got {sorted(new)}."
            )
        # the k-th cluster taking switch period s gets the k-th transition length of the
        # sequences that switch at s (they differ only when a switch date falls mid-period)
        pool: dict[int, list[int]] = {}
        for s, tr in sorted(self._slots()):
            pool.setdefault(s, []).append(tr)
        transition = [pool[s].pop(0) for s in new]
        return replace_design(self, switch_periods=tuple(new), transition_periods=tuple(transition))

    def randomise(
        self,
        strata: Sequence[Any] | Mapping[Any, Any] | None = None,
        rng: int | np.random.Generator | None = None,
    ) -> SteppedWedgeDesign:
        """Randomly reassign the rollout sequences to clusters (within strata).

        Parameters
        ----------
        strata : sequence or mapping, optional
            Stratum per cluster; defaults to the design's own ``strata`` (none: unrestricted).
        rng : int or numpy.random.Generator, optional
            Seed or generator, for a reproducible allocation.

        Returns
        -------
        SteppedWedgeDesign
            A new design (this one is unchanged) carrying the strata used.

        Examples
        --------
        >>> d = SteppedWedgeDesign(list("ABCDE"), [1, 2, 3, 4, 5], 6)
        >>> d.randomise(strata="HHLLL", rng=1).switch_periods[:2] in [(1, 2), (2, 1)]
        True
        """
        design = self if strata is None else replace_design(
            self, strata=self._check_strata(strata, self.clusters)
        )
        gen = np.random.default_rng(rng)
        new = np.asarray(design.switch_periods)
        for group in design._groups():
            new[group] = new[gen.permutation(group)]
        return design.with_switch_periods(new.tolist())

    # ------------------------------------------------------------------ plotting
    def plot(self, ax: Axes | None = None, *, show_sizes: bool = False) -> Axes:
        """Draw the design diagram: clusters x periods shaded by exposure.

        Control cells are white, exposed cells dark, partially exposed cells in between,
        excluded transition cells hatched and unobserved cells grey.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Draw here (a new figure otherwise).
        show_sizes : bool, default False
            Write each cell's cluster-period size in it.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from sfpc_eval.trials.design_plot import plot_design

        return plot_design(self, ax=ax, show_sizes=show_sizes)


def replace_design(design: SteppedWedgeDesign, **changes: Any) -> SteppedWedgeDesign:
    """Copy ``design`` with some fields changed, re-running validation."""
    fields = {
        "clusters": design.clusters,
        "switch_periods": design.switch_periods,
        "periods": design.periods,
        "transition_periods": design.transition_periods,
        "transition_exposure": design.transition_exposure,
        "unobserved": sorted(design.unobserved),
        "cluster_period_sizes": design.cluster_period_sizes,
        "strata": design.strata,
        "period_starts": design.period_starts,
        "period_end": design.period_end,
    }
    fields.update(changes)
    if fields["strata"] is not None:
        fields["strata"] = list(fields["strata"])
    return SteppedWedgeDesign(
        fields.pop("clusters"), fields.pop("switch_periods"), fields.pop("periods"), **fields
    )


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


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = None
    if ts is None or ts is pd.NaT:
        raise InvalidValueError(
            f"`{name}` must be a date (e.g. '2020-09-01'); got {value!r}."
        )
    return ts


def _per_cluster(values: Any, names: list[str], name: str) -> np.ndarray:
    if isinstance(values, Mapping):
        keys = {str(k): v for k, v in values.items()}
        missing = [c for c in names if c not in keys]
        if missing:
            raise InvalidValueError(f"`{name}` lacks cluster(s) {show_values(missing)}.")
        arr = np.array([float(keys[c]) for c in names])
    else:
        arr = np.asarray(values, dtype=float)
        if arr.shape != (len(names),):
            raise InvalidValueError(
                f"`{name}` must give one number per cluster ({len(names)}); got {arr.shape}."
            )
    if np.any(~np.isfinite(arr) | (arr <= 0)):
        raise InvalidValueError(f"`{name}` must be positive numbers; got {arr.tolist()}.")
    return arr
