r"""Randomization inference for difference-in-differences: permute adoption across clusters.

Under the sharp null of no effect, which units adopted when is the only thing that differs
between the observed world and any other assignment of the same adoption dates to the same
units. The reference distribution of the estimate is built by reassigning the observed adoption
cohorts (first treated period; never treated stays a cohort of its own) across units: every
distinct assignment when there are at most ``max_enumeration`` of them (5 councils with 2
adopters: 10 assignments), otherwise ``n_resamples`` random ones.

For linear models each reassignment costs one projection (Frisch-Waugh-Lovell: the treatment
column is residualised on the fixed effects and covariates, which do not change), so thousands of
reassignments take a fraction of a second; the interval inverts the test, which is linear in the
hypothesised effect. Poisson and logit models are refitted for every reassignment, and get a
p-value but no interval.

With few assignments the conventional p-value, the share of assignments at least as extreme as
the observed one, moves in steps of ``1 / N`` and its test can be far from its nominal size: 5
councils with 2 adopters give 10 assignments, the p-value is never below 0.1, and every 95%
interval is the whole line. ``ties="randomized"`` counts the assignments tied with the observed
statistic (always including the observed one) with weight ``U ~ Uniform(0, 1)``, one draw per
analysis: the randomized test of Lehmann and Romano (2005, *Testing Statistical Hypotheses*,
section 3.2), whose size is exactly the nominal level under the sharp null for any ``N``.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import linalg

from sfpc_eval._validate import check_resamples, check_seed
from sfpc_eval.errors import DesignError, InvalidValueError
from sfpc_eval.inference._invert import invert_test, tie_broken_p_value

__all__ = [
    "Randomization",
    "randomization_test",
    "refuse_randomized_ties",
    "tie_broken_p_value",
]


@dataclass(frozen=True)
class Randomization:
    """Randomization (permutation) inference over units' adoption dates.

    Parameters
    ----------
    n_resamples : int, default 9999
        Random reassignments when the distinct assignments exceed ``max_enumeration``.
    max_enumeration : int, default 20000
        Enumerate every distinct assignment up to this many (an exact test).
    rng : int, optional
        Seed for sampled reassignments.
    progress : bool, default False
        Show a progress bar (tqdm) for long runs.
    ties : {"conservative", "randomized"}, default "conservative"
        ``"conservative"`` counts every assignment tied with the observed one as at least as
        extreme (the usual p-value, never below ``1 / N``). ``"randomized"`` weights the ties by
        one uniform draw (seeded by ``rng``), which makes the test's size exactly the nominal
        level even when there are only a handful of assignments; its p-value and interval then
        depend on that draw, which the result reports. Available in :func:`~sfpc_eval.did`.

    Examples
    --------
    >>> Randomization(rng=2).describe()
    'randomization inference (adoption dates permuted across units)'
    >>> Randomization(ties="randomized", rng=2).describe()
    'randomization inference (adoption dates permuted across units; ties broken at random)'
    """

    n_resamples: int = 9_999
    max_enumeration: int = 20_000
    rng: int | None = None
    progress: bool = False
    ties: Literal["conservative", "randomized"] = "conservative"

    def __post_init__(self) -> None:
        check_resamples(self.n_resamples)
        check_resamples(self.max_enumeration, "max_enumeration", minimum=0)
        check_seed(self.rng)
        if self.ties not in TIES:
            raise InvalidValueError(
                f"`ties` must be one of {', '.join(map(repr, TIES))}; got {self.ties!r}."
            )

    def describe(self) -> str:
        """One line for a methods section."""
        tail = "; ties broken at random" if self.ties == "randomized" else ""
        return f"randomization inference (adoption dates permuted across units{tail})"

    def tie_weight(self) -> float:
        """Weight of tied assignments in the p-value: 1, or the seeded uniform draw ``U``.

        Examples
        --------
        >>> Randomization().tie_weight()
        1.0
        >>> 0 < Randomization(ties="randomized", rng=1).tie_weight() < 1
        True
        """
        if self.ties == "conservative":
            return 1.0
        # a stream of its own, so the draw does not depend on how many reassignments are sampled
        seed = None if self.rng is None else [2_718_281, self.rng]
        return float(np.random.default_rng(seed).random())


TIES = ("conservative", "randomized")


def refuse_randomized_ties(spec: Randomization, where: str) -> None:
    """Raise when ``ties="randomized"`` reaches code that uses the conservative p-value."""
    if spec.ties != "conservative":
        raise InvalidValueError(
            f"Randomization(ties='randomized') is available in did(); {where} uses the "
            "conservative p-value. Drop `ties` here, or fit with did()."
        )


@dataclass(frozen=True)
class PermutationOutcome:
    """p-value, interval and size of the reference distribution.

    ``draws`` counts every assignment when enumerated, and the random ones otherwise (the
    observed assignment is always included in the reference distribution as well).
    ``tie_weight`` is 1 for the conservative p-value, else the uniform draw that weighted ties.
    """

    p_value: float
    conf_low: float
    conf_high: float
    draws: int
    enumerated: bool
    tie_weight: float = 1.0


def count_assignments(cohorts: np.ndarray) -> int:
    """Distinct ways to give the multiset ``cohorts`` to the units (a multinomial coefficient).

    Examples
    --------
    >>> count_assignments(np.array([2020.0, 2021.0, np.inf, np.inf, np.inf]))
    20
    """
    counts = Counter(cohorts.tolist())
    total = math.factorial(len(cohorts))
    for c in counts.values():
        total //= math.factorial(c)
    return total


def _enumerate(cohorts: np.ndarray) -> Iterator[np.ndarray]:
    """Every distinct assignment of the cohort multiset to positions 0..n-1."""
    values = sorted(Counter(cohorts.tolist()).items())
    n = len(cohorts)

    def place(remaining: list[int], k: int, current: np.ndarray) -> Iterator[np.ndarray]:
        if k == len(values):
            yield current.copy()
            return
        value, count = values[k]
        for chosen in itertools.combinations(remaining, count):
            current[list(chosen)] = value
            rest = [i for i in remaining if i not in chosen]
            yield from place(rest, k + 1, current)

    yield from place(list(range(n)), 0, np.empty(n))


def unit_cohorts(unit_codes: np.ndarray, times: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """First treated time of each unit (inf if never); refuse paths that switch off."""
    n_units = int(unit_codes.max()) + 1
    cohorts = np.full(n_units, np.inf)
    for u in range(n_units):
        mask = unit_codes == u
        t, d = times[mask], treated[mask]
        if d.any():
            first = t[d == 1].min()
            if np.any(d[t >= first] == 0):
                raise DesignError(
                    "randomization inference permutes adoption dates, so treatment must stay on "
                    "once it starts; a unit switches off."
                )
            cohorts[u] = first
    return cohorts


def randomization_test(
    fit,
    j: int,
    unit_codes: np.ndarray,
    times: np.ndarray,
    spec: Randomization,
    level: float,
    refit=None,
) -> PermutationOutcome:
    """Permutation p-value (and, for linear models, interval) for treatment coefficient ``j``.

    Parameters
    ----------
    fit : CellFit
        The observed fit; column ``j`` of ``fit.z`` is the 0/1 treatment.
    j : int
        Position of the treatment coefficient.
    unit_codes, times : ndarray
        Unit code (0..U-1) and numeric period of each cell.
    spec : Randomization
        Settings.
    level : float
        Confidence level of the interval.
    refit : callable, optional
        For GLMs: ``refit(treatment_column) -> coefficient``.
    """
    treated = fit.z[:, j]
    cohorts = unit_cohorts(unit_codes, times, treated)
    total = count_assignments(cohorts)
    if total <= spec.max_enumeration:
        assignments = np.array(list(_enumerate(cohorts)))
        enumerated = True
    else:
        rng = np.random.default_rng(spec.rng)
        draws = [rng.permutation(cohorts) for _ in range(spec.n_resamples)]
        assignments = np.vstack([cohorts, *draws])
        enumerated = False
    observed = fit.beta[j]
    u = spec.tie_weight()
    if fit.family != "gaussian":
        if refit is None:  # pragma: no cover - the estimator always passes one
            raise DesignError("randomization inference for GLMs needs a refit function.")
        stats = np.array(
            [refit((times >= a[unit_codes]).astype(float)) for a in _progress(assignments, spec)]
        )
        p_value = tie_broken_p_value(stats, observed, u)
        draws = len(assignments) if enumerated else spec.n_resamples
        return PermutationOutcome(p_value, math.nan, math.nan, draws, enumerated, u)
    coef, slope = _linear_statistics(fit, j, unit_codes, times, assignments, spec)

    def p_at(beta0: float) -> float:
        return tie_broken_p_value(coef - beta0 * slope, observed - beta0, u)

    alpha = 1 - level
    scale = max(abs(observed), float(np.std(coef)) or 1.0)
    low = invert_test(p_at, observed, -scale, alpha)
    high = invert_test(p_at, observed, scale, alpha)
    draws = len(assignments) if enumerated else spec.n_resamples
    return PermutationOutcome(p_at(0.0), low, high, draws, enumerated, u)


def _progress(items, spec: Randomization):
    if not spec.progress:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="permutations", unit="perm")


def _linear_statistics(fit, j, unit_codes, times, assignments, spec):
    """Coefficient under each assignment, and its slope in the hypothesised effect."""
    sw = fit.sums["sum_w"]
    root = np.sqrt(sw)
    y_tilde = fit.sums["sum_wy"] / root
    keep = [i for i in range(fit.k) if i != j]
    q, _ = linalg.qr(root[:, None] * fit.z[:, keep], mode="economic")
    observed_t = fit.z[:, j] * root
    observed_resid = observed_t - q @ (q.T @ observed_t)
    y_resid = y_tilde - q @ (q.T @ y_tilde)
    coef = np.empty(len(assignments))
    slope = np.empty(len(assignments))
    chunk = max(1, 4_000_000 // max(len(sw), 1))
    starts = range(0, len(assignments), chunk)
    for start in _progress(starts, spec) if len(starts) > 1 else starts:
        block = assignments[start : start + chunk]
        t = (times[None, :] >= block[:, unit_codes]).astype(float) * root
        resid = t - (t @ q) @ q.T
        norm = np.sum(resid**2, axis=1)
        coef[start : start + chunk] = resid @ y_resid / norm
        slope[start : start + chunk] = resid @ observed_resid / norm
    return coef, slope
