"""Randomization inference for stepped-wedge trials: re-randomise the rollout order.

Under the sharp null of no effect on any child, the outcomes would have been the same whichever
cluster had been given which place in the rollout. The reference distribution of the estimated
treatment effect is therefore built by giving the clusters' switch periods to the clusters in
every other admissible order -- within randomisation strata when the trial was stratified -- and
refitting the same model. With 5 clusters and no strata there are 5! = 120 orders, all
enumerated; larger trials are sampled.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sfpc_eval._validate import check_resamples, check_seed
from sfpc_eval.errors import DesignError, InvalidValueError

__all__ = ["SteppedWedgeRandomization", "rollout_orders", "rollout_test"]


@dataclass(frozen=True)
class SteppedWedgeRandomization:
    """Randomization inference over the rollout order of a stepped-wedge trial.

    Parameters
    ----------
    strata : str, optional
        Column of the data holding each cluster's randomisation stratum (constant within a
        cluster); orders are permuted within strata only. Ignored when ``design`` is given.
    design : SteppedWedgeDesign, optional
        The trial's design (:class:`sfpc_eval.trials.design.SteppedWedgeDesign`); its
        ``admissible_orders()`` are the reference set. Its clusters must be the data's.
    n_resamples : int, default 9999
        Random orders drawn when the admissible orders exceed ``max_enumeration``.
    max_enumeration : int, default 20000
        Enumerate every admissible order up to this many (an exact test).
    rng : int, optional
        Seed for sampled orders.
    progress : bool, default False
        Show a progress bar (tqdm) over the refits.

    Examples
    --------
    >>> SteppedWedgeRandomization(strata="readiness").describe()
    'randomization inference (rollout order re-randomised within strata)'
    """

    strata: str | None = None
    design: object | None = None
    n_resamples: int = 9_999
    max_enumeration: int = 20_000
    rng: int | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        check_resamples(self.n_resamples)
        check_resamples(self.max_enumeration, "max_enumeration", minimum=0)
        check_seed(self.rng)
        if self.design is not None and not hasattr(self.design, "admissible_orders"):
            raise InvalidValueError(
                "`design` must be a SteppedWedgeDesign (with admissible_orders()); got "
                f"{type(self.design).__name__}."
            )

    def describe(self) -> str:
        """One line for a methods section."""
        where = "within strata" if (self.strata or self.design is not None) else "across clusters"
        return f"randomization inference (rollout order re-randomised {where})"


def rollout_orders(
    switch: np.ndarray, groups: Sequence[Sequence[int]], spec: SteppedWedgeRandomization
) -> tuple[np.ndarray, bool]:
    """Admissible assignments of switch periods to clusters (rows), and whether enumerated.

    The observed assignment is always the first row.

    Examples
    --------
    >>> orders, exact = rollout_orders(np.array([1, 2, 3]), [[0, 1, 2]],
    ...                                SteppedWedgeRandomization())
    >>> orders.shape, exact
    ((6, 3), True)
    """
    total = 1
    for group in groups:
        values = [switch[i] for i in group]
        count = math.factorial(len(values))
        for v in set(values):
            count //= math.factorial(values.count(v))
        total *= count
    if total <= spec.max_enumeration:
        per_group = []
        for group in groups:
            perms = sorted({tuple(switch[i] for i in p) for p in itertools.permutations(group)})
            per_group.append((group, perms))
        rows = []
        for combo in itertools.product(*(perms for _, perms in per_group)):
            row = switch.copy()
            for (group, _), values in zip(per_group, combo, strict=True):
                row[list(group)] = values
            rows.append(row)
        orders = np.array(rows)
        observed = np.flatnonzero((orders == switch).all(axis=1))[0]
        orders[[0, observed]] = orders[[observed, 0]]
        return orders, True
    rng = np.random.default_rng(spec.rng)
    rows = [switch.copy()]
    for _ in range(spec.n_resamples):
        row = switch.copy()
        for group in groups:
            idx = list(group)
            row[idx] = rng.permutation(switch[idx])
        rows.append(row)
    return np.array(rows), False


def rollout_test(
    statistic: Callable[[np.ndarray], float],
    orders: np.ndarray,
    spec: SteppedWedgeRandomization,
) -> tuple[float, np.ndarray]:
    """Two-sided p-value: share of orders whose |statistic| reaches the observed one.

    ``statistic(switch)`` refits the model with clusters switching at ``switch``; row 0 of
    ``orders`` is the observed order.
    """
    rows = orders
    if spec.progress:
        from tqdm.auto import tqdm

        rows = tqdm(orders, desc="rollout orders", unit="order")
    values = np.array([statistic(row) for row in rows])
    if not np.all(np.isfinite(values)):
        bad = int(np.sum(~np.isfinite(values)))
        raise DesignError(
            f"the model could not be fitted under {bad} of the {len(values)} rollout orders; "
            "randomization inference needs every refit."
        )
    observed = abs(values[0])
    p_value = float(np.mean(np.abs(values) >= observed * (1 - 1e-10)))
    return p_value, values
