"""Rollout orders of a stepped-wedge design: counting, enumerating and drawing them.

A rollout order assigns the design's sequences (switch periods, with their transition periods)
to clusters, within randomisation strata. Randomization inference over the rollout
(:mod:`sfpc_eval.trials.analysis_ri`) and re-randomised simulations use these.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sfpc_eval._validate import check_seed
from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.trials.design_checks import check_strata

if TYPE_CHECKING:
    from sfpc_eval.trials.design import SteppedWedgeDesign

__all__ = ["RolloutOrders", "replace_design"]

_MAX_ENUMERATION = 1_000_000
"""Above this many admissible orders, :meth:`RolloutOrders.admissible_orders` refuses."""


class RolloutOrders:
    """Methods on the rollout orders of a :class:`SteppedWedgeDesign` (mixed into it)."""

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
        >>> from sfpc_eval.trials.design import SteppedWedgeDesign
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
        >>> from sfpc_eval.trials.design import SteppedWedgeDesign
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
            seqs = sorted(
                {
                    tuple(self.switch_periods[i] for i in perm)
                    for perm in itertools.permutations(group)
                }
            )
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
        >>> from sfpc_eval.trials.design import SteppedWedgeDesign
        >>> d = SteppedWedgeDesign(list("ABCDE"), [1, 2, 3, 4, 5], 6)
        >>> d.randomise(strata="HHLLL", rng=1).switch_periods[:2] in [(1, 2), (2, 1)]
        True
        """
        design = (
            self
            if strata is None
            else replace_design(self, strata=check_strata(strata, self.clusters))
        )
        gen = np.random.default_rng(check_seed(rng))
        new = np.asarray(design.switch_periods)
        for group in design._groups():
            new[group] = new[gen.permutation(group)]
        return design.with_switch_periods(new.tolist())


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
    return type(design)(
        fields.pop("clusters"), fields.pop("switch_periods"), fields.pop("periods"), **fields
    )
