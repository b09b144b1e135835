"""Every seed and every resampling size is checked where it enters (issue 19).

The lead's ``tests/test_size_and_seed_limits.py`` covers the inference objects and the trial
simulator; this file covers every other public argument that takes a seed or a number of draws:
one helper (``check_seed``, ``check_resamples``) behind all of them, so each refuses the same
bad values with the same typed error before any work starts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval._validate import MAX_RESAMPLES
from sfpc_eval.engines import national_chunks, write_national
from sfpc_eval.errors import InvalidValueError, SizeLimitError

BAD_SEEDS = [-1, "seed", 1.5, True, [1, -2]]


def staggered_panel() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    g = np.repeat([3.0, 3, 4, 4, np.nan, np.nan, np.nan, np.nan], 5)
    t = np.tile(np.arange(1.0, 6), 8)
    y = 0.5 * t + np.where(t >= g, 2.0, 0) + rng.normal(0, 0.1, 40)
    return pd.DataFrame({"la": np.repeat(np.arange(8), 5), "year": t, "y": y, "g": g})


def council_panel() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = [
        (u, y, 50 + 2 * u + 0.5 * y + rng.normal(0, 0.1) - 4 * (u == 0) * (y >= 6))
        for u in range(8)
        for y in range(10)
    ]
    return pd.DataFrame(rows, columns=["la", "year", "rate"])


def days() -> pd.DataFrame:
    return pd.DataFrame({"before": [120, 0, 365, 40, 200], "after": [60, 0, 300, 0, 180]})


def design():
    return se.SteppedWedgeDesign.complete([2, 2, 2, 2], cluster_period_size=50)


def event_study_result():
    panel = staggered_panel()
    return se.event_study(panel, outcome="y", unit="la", time="year", cohort="g")


SEEDED = {
    "callaway_santanna(rng=)": lambda rng: se.callaway_santanna(
        staggered_panel(), "y", "la", "year", "g", bootstrap=99, rng=rng
    ),
    "CallawayResult.with_bootstrap(rng=)": lambda rng: se.callaway_santanna(
        staggered_panel(), "y", "la", "year", "g"
    ).with_bootstrap(99, rng=rng),
    "synthetic_did(rng=)": lambda rng: se.synthetic_did(
        council_panel(),
        outcome="rate",
        unit="la",
        time="year",
        treated_unit=0,
        start=6,
        replications=5,
        rng=rng,
    ),
    "paired_change(rng=)": lambda rng: se.paired_change(
        days(), ratio_method="bootstrap", n_resamples=100, rng=rng
    ),
    "simulated_power(rng=)": lambda rng: se.simulated_power(
        design(), effect=0.3, icc=0.05, n_sims=5, rng=rng, progress=False
    ),
    "SteppedWedgeDesign.randomise(rng=)": lambda rng: design().randomise(rng=rng),
    "null_size(rng=)": lambda rng: se.null_size(
        "no_wrong_door", ["glm"], n_sims=2, rng=rng, n_children=600, progress=False
    ),
    "event study bands(rng=)": lambda rng: event_study_result().bands(draws=200, rng=rng),
}


@pytest.mark.parametrize("where", list(SEEDED))
@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_every_seeded_function_refuses_a_seed_numpy_cannot_use(where, seed):
    with pytest.raises(InvalidValueError, match="`rng` must be None, a non-negative whole"):
        SEEDED[where](seed)


@pytest.mark.parametrize("where", list(SEEDED))
def test_every_seeded_function_accepts_a_seed_and_a_generator(where):
    SEEDED[where](2024)
    SEEDED[where](np.random.default_rng(3))


SIZED = {
    "callaway_santanna(bootstrap=)": (
        "bootstrap",
        lambda n: se.callaway_santanna(staggered_panel(), "y", "la", "year", "g", bootstrap=n),
    ),
    "with_bootstrap(draws)": (
        "bootstrap",
        lambda n: se.callaway_santanna(staggered_panel(), "y", "la", "year", "g").with_bootstrap(n),
    ),
    "synthetic_did(replications=)": (
        "replications",
        lambda n: se.synthetic_did(
            council_panel(),
            outcome="rate",
            unit="la",
            time="year",
            treated_unit=0,
            start=6,
            replications=n,
        ),
    ),
    "paired_change(n_resamples=)": (
        "n_resamples",
        lambda n: se.paired_change(days(), ratio_method="bootstrap", n_resamples=n),
    ),
    "simulated_power(n_sims=)": (
        "n_sims",
        lambda n: se.simulated_power(design(), effect=0.3, icc=0.05, n_sims=n, progress=False),
    ),
    "null_size(n_sims=)": (
        "n_sims",
        lambda n: se.null_size("no_wrong_door", ["glm"], n_sims=n, rng=1, progress=False),
    ),
    "bands(draws=)": ("draws", lambda n: event_study_result().bands(draws=n)),
    "Randomization(max_enumeration=)": (
        "max_enumeration",
        lambda n: se.Randomization(max_enumeration=n),
    ),
    "WildClusterBootstrap(max_enumeration=)": (
        "max_enumeration",
        lambda n: se.WildClusterBootstrap(max_enumeration=n),
    ),
    "SteppedWedgeRandomization(max_enumeration=)": (
        "max_enumeration",
        lambda n: se.SteppedWedgeRandomization(max_enumeration=n),
    ),
}


@pytest.mark.parametrize("where", list(SIZED))
def test_a_hundred_million_draws_is_refused_before_any_work(where):
    name, call = SIZED[where]
    with pytest.raises(
        SizeLimitError, match=rf"`{name}` = 100,000,000 .*limit of {MAX_RESAMPLES:,}"
    ):
        call(10**8)


@pytest.mark.parametrize("where", list(SIZED))
@pytest.mark.parametrize("bad", [2.5, "999", True, -5], ids=repr)
def test_a_size_that_is_not_a_whole_number_is_refused_naming_it(where, bad):
    name, call = SIZED[where]
    with pytest.raises(InvalidValueError, match=f"`{name}`"):
        call(bad)


def test_honest_did_least_favourable_draws_have_the_same_limit():
    res = event_study_result()
    with pytest.raises(SizeLimitError, match="`lf_draws`"):
        se.honest_did(res, lf_draws=10**8)


@pytest.mark.parametrize("seed", [-1, "x", 1.5, None, np.random.default_rng(1)], ids=repr)
def test_synthetic_national_data_needs_a_whole_number_seed(seed, tmp_path):
    with pytest.raises(InvalidValueError, match="`seed`"):
        next(national_chunks(1_000, n_las=10, seed=seed))
    with pytest.raises(InvalidValueError, match="`seed`"):
        write_national(tmp_path / "n.parquet", 1_000, n_las=10, seed=seed)
    assert not (tmp_path / "n.parquet").exists()  # refused before the file is opened


@pytest.mark.parametrize(
    ("argument", "kwargs"),
    [
        ("n_rows", {"n_rows": 10**12}),
        ("n_las", {"n_rows": 1_000, "n_las": 10**8}),
        ("n_periods", {"n_rows": 1_000, "n_periods": 10**8}),
        ("chunk_rows", {"n_rows": 1_000, "chunk_rows": 10**12}),
    ],
)
def test_synthetic_national_data_sizes_have_stated_limits(argument, kwargs):
    n_rows = kwargs.pop("n_rows")
    with pytest.raises(SizeLimitError, match=f"`{argument}`"):
        next(national_chunks(n_rows, **kwargs))
