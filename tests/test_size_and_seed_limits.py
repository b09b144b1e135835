"""Sizes and seeds are checked where they enter (issue 19): a typed error, before any work.

Each limit is stated in the library (``MAX_RESAMPLES``, ``MAX_CHILDREN``, ``MAX_EXACT_CHILDREN``)
and the message gives it; a seed numpy cannot use is refused naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest

import sfpc_eval as se
from sfpc_eval._validate import MAX_RESAMPLES
from sfpc_eval.comparisons.proportions import MAX_EXACT_CHILDREN
from sfpc_eval.errors import InvalidValueError, SizeLimitError
from sfpc_eval.trials.simulate import MAX_CHILDREN

BAD_SEEDS = [-1, "seed", 1.5, True, [1, -2], object()]
MAKERS = {
    "WildClusterBootstrap": lambda rng: se.WildClusterBootstrap(rng=rng),
    "Randomization": lambda rng: se.Randomization(rng=rng),
    "SteppedWedgeRandomization": lambda rng: se.SteppedWedgeRandomization(rng=rng),
    "simulate_trial": lambda rng: se.simulate_trial("nwd", rng=rng, n_children=500),
}


@pytest.mark.parametrize("maker", list(MAKERS))
@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_a_seed_numpy_cannot_use_is_refused_naming_rng(maker, seed):
    with pytest.raises(InvalidValueError, match="`rng` must be None, a non-negative whole"):
        MAKERS[maker](seed)


@pytest.mark.parametrize("seed", [None, 0, 2024, [1, 2], np.random.default_rng(3)], ids=repr)
def test_every_kind_of_good_seed_is_accepted(seed):
    for make in MAKERS.values():
        make(seed)


@pytest.mark.parametrize("kind", [se.WildClusterBootstrap, se.Randomization])
def test_resamples_above_the_limit_are_refused_before_any_draw(kind):
    with pytest.raises(SizeLimitError, match=f"limit of {MAX_RESAMPLES:,}"):
        kind(n_resamples=10**8)
    with pytest.raises(InvalidValueError, match="whole number"):
        kind(n_resamples=999.0)
    assert kind(n_resamples=MAX_RESAMPLES).n_resamples == MAX_RESAMPLES


def test_simulating_a_billion_children_is_refused():
    with pytest.raises(SizeLimitError, match=f"limit of {MAX_CHILDREN:,}"):
        se.simulate_trial("fs", rng=1, n_children=10**9)
    with pytest.raises(InvalidValueError, match="positive integer"):
        se.simulate_trial("fs", rng=1, n_children=0)


def test_the_exact_odds_ratio_on_huge_groups_points_to_woolf():
    with pytest.raises(SizeLimitError, match="odds_ratio_method='woolf'"):
        se.compare_proportions((30_000, 100_000), (25_000, 100_000), odds_ratio_method="exact")
    n = MAX_EXACT_CHILDREN // 2
    # at the limit both intervals exist and agree to about 3 decimals on the log scale
    exact = se.compare_proportions((n // 3, n), (n // 4, n), odds_ratio_method="exact")
    woolf = se.compare_proportions((n // 3, n), (n // 4, n))
    a, b = exact.term("odds_ratio"), woolf.term("odds_ratio")
    assert abs(np.log(a.conf_low) - np.log(b.conf_low)) < 2e-3
