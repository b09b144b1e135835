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

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sfpc_eval.errors import DesignError, InvalidValueError, show_values
from sfpc_eval.trials.design_build import DesignConstructors
from sfpc_eval.trials.design_checks import (
    check_dates,
    check_sizes,
    check_strata,
    check_switch_periods,
    check_transition,
    check_unobserved,
)
from sfpc_eval.trials.design_orders import RolloutOrders

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["SteppedWedgeDesign"]


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
class SteppedWedgeDesign(DesignConstructors, RolloutOrders):
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
        sw = check_switch_periods(switch_periods, cl, t)
        tr = check_transition(transition_periods, cl)
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
        setter(self, "unobserved", check_unobserved(unobserved, cl, pl))
        setter(self, "cluster_period_sizes", check_sizes(cluster_period_sizes, n, t))
        setter(self, "strata", check_strata(strata, cl))
        starts, end = check_dates(period_starts, period_end, t)
        setter(self, "period_starts", starts)
        setter(self, "period_end", end)
        self._check_stepped_wedge()

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
            m = np.asarray(check_sizes(cluster_period_size, self.n_clusters, self.n_periods))
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
                    "size": (
                        float(np.sum(self.cluster_period_sizes[i]))
                        if self.cluster_period_sizes
                        else math.nan
                    ),
                }
            )
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ plotting
    def plot(self, ax: Axes | None = None, *, show_sizes: bool | None = None, **style: Any) -> Axes:
        """Draw the design diagram: clusters x periods shaded by exposure.

        Control cells are white, exposed cells dark, partially exposed cells in between,
        excluded transition cells hatched and unobserved cells grey.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Draw here (a new figure otherwise).
        show_sizes : bool, optional
            Write each cell's cluster-period size in it (by default when the design has sizes).
        **style
            ``labels``, ``title`` (the main message) and ``source`` (the source line).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from sfpc_eval.plotting import plot_design

        return plot_design(self, ax=ax, show_sizes=show_sizes, **style)
