"""Seeded simulation in chunks, with a progress bar for long runs, and the terms it gives."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np

from sfpc_eval._validate import check_seed, check_size
from sfpc_eval.results import Term

__all__ = [
    "MAX_DRAWS",
    "delta_term",
    "disagreement",
    "simulate",
    "simulation_term",
    "start_generator",
]

DISAGREEMENT = 0.05
"""Limits further apart than this share of the delta-method half-width are reported."""

MAX_DRAWS = 5_000_000
"""Most draws a simulation may ask for: the Monte Carlo error of a 95% limit is already below
0.2% of the standard deviation at a million draws."""

_CHUNK = 250_000
_PROGRESS_FROM = 1_000_000


def start_generator(rng: object) -> tuple[np.random.Generator, int | None]:
    """Return a generator and the seed that reproduces it (None when a Generator was passed).

    ``rng=None`` draws fresh entropy and records it, so the run can be repeated.
    """
    rng = check_seed(rng)
    if isinstance(rng, np.random.Generator):
        return rng, None
    if rng is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
        return np.random.default_rng(seed), seed
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng), int(rng.entropy)  # type: ignore[arg-type]
    seed = int(rng) if isinstance(rng, numbers.Integral) else None
    return np.random.default_rng(rng), seed  # type: ignore[arg-type]


def simulate(
    draw: Callable[[np.random.Generator, int], dict[str, np.ndarray]],
    n_draws: int,
    rng: np.random.Generator,
    progress: bool | None,
) -> dict[str, np.ndarray]:
    """Call ``draw(rng, size)`` in chunks and join the arrays it returns.

    A progress bar (tqdm) is shown when ``progress`` is True, or when it is None and the run
    has a million draws or more.
    """
    n = check_size(
        n_draws, "n_draws", minimum=1_000, maximum=MAX_DRAWS, why="draws of the simulation"
    )
    sizes = [_CHUNK] * (n // _CHUNK) + ([n % _CHUNK] if n % _CHUNK else [])
    show = progress if progress is not None else n >= _PROGRESS_FROM
    chunks = sizes
    if show:
        from tqdm.auto import tqdm

        chunks = tqdm(sizes, desc="simulating", unit="chunk")
    parts: dict[str, list[np.ndarray]] = {}
    for size in chunks:
        for name, values in draw(rng, size).items():
            parts.setdefault(name, []).append(values)
    return {name: np.concatenate(values) for name, values in parts.items()}


def delta_term(
    name: str,
    estimate: float,
    std_error: float,
    z: float,
    df: float = math.inf,
    note: str = "",
    method: str = "",
) -> Term:
    """Build a term with a symmetric delta-method interval ``estimate +- z * SE``.

    ``z`` is the normal (or t, with ``df``) quantile of the effect the term is built from.
    """
    return Term(
        name,
        estimate,
        std_error=std_error,
        statistic=estimate / std_error if std_error > 0 else math.nan,
        df=df,
        conf_low=estimate - z * std_error,
        conf_high=estimate + z * std_error,
        method=method or "delta method",
        note=note,
    )


def simulation_term(
    name: str, estimate: float, values: np.ndarray, conf_level: float, seed: int | None
) -> Term:
    """Build a term whose interval is the percentile interval of simulated values.

    The estimate is the point estimate (not the mean of the draws); the standard error is the
    draws' standard deviation.
    """
    tail = (1 - conf_level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    seed_text = f", seed {seed}" if seed is not None else ""
    return Term(
        name,
        estimate,
        std_error=float(np.std(values, ddof=1)),
        conf_low=float(low),
        conf_high=float(high),
        method=f"simulation ({len(values):,} draws{seed_text}; percentile interval)",
    )


def disagreement(delta: Term, simulated: Term) -> str:
    """Say so when the simulated limits differ from the delta-method ones by over 5%.

    That happens when the chain is not linear (a ratio with a large standard error, an uncertain
    cost): the delta method is then only a first-order approximation, and the simulated
    interval is the one to report. Returns an empty string when they agree.
    """
    half = (delta.conf_high - delta.conf_low) / 2
    if not half > 0:
        return ""
    gap = max(abs(simulated.conf_low - delta.conf_low), abs(simulated.conf_high - delta.conf_high))
    if gap <= DISAGREEMENT * half:
        return ""
    return (
        f"{delta.term}: the simulated interval's limits differ from the delta method's by up to "
        f"{gap / half:.0%} of its half-width (the chain is not linear here); report the "
        "simulated interval."
    )
