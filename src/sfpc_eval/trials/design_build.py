"""Ways to build a :class:`~sfpc_eval.trials.design.SteppedWedgeDesign`.

From an exposure matrix, from child-level trial data, from each council's switch date, or the
standard complete design of ``swCRTdesign::swDsn``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sfpc_eval.errors import DesignError, InvalidValueError, MissingColumnError, show_values

if TYPE_CHECKING:
    from sfpc_eval.trials.design import SteppedWedgeDesign

__all__ = ["DesignConstructors"]


class DesignConstructors:
    """Class methods that build a :class:`SteppedWedgeDesign` (mixed into it)."""

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
        >>> from sfpc_eval.trials.design import SteppedWedgeDesign
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
            if len(ones) and np.any(values[ones[0] :] == 0):
                back = seen[ones[0] :][values[ones[0] :] == 0]
                off.append(
                    f"{labels[i]} (exposed from period index {seen[ones[0]]}, control "
                    f"again at {', '.join(map(str, back))})"
                )
            switch.append(int(seen[ones[0]]) if len(ones) else t)
            unobserved.extend((i, j) for j in np.flatnonzero(np.isnan(row)))
        if off:
            raise DesignError(
                f"treatment switches off in {len(off)} cluster(s): {show_values(off)}. In a "
                "stepped wedge a cluster stays exposed once it switches; check the treatment "
                "coding (or model the withdrawal explicitly with another design)."
            )
        return cls(
            clusters, switch, t if periods is None else periods, unobserved=unobserved, **kwargs
        )

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
        >>> from sfpc_eval.trials.design import SteppedWedgeDesign
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
        sizes = (
            size.rename("n")
            .reset_index()
            .pivot_table(
                index=cluster,
                columns=period,
                values="n",
                aggfunc="sum",
                fill_value=0.0,
                dropna=False,
            )
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
        >>> from sfpc_eval.trials.design import SteppedWedgeDesign
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
        >>> from sfpc_eval.trials.design import SteppedWedgeDesign
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
        return cls(
            names,
            switch,
            t,
            transition_periods=transition_periods,
            cluster_period_sizes=cluster_period_size,
        )


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = None
    if ts is None or ts is pd.NaT:
        raise InvalidValueError(f"`{name}` must be a date (e.g. '2020-09-01'); got {value!r}.")
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
