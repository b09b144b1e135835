"""Synthetic national child-level data: referred children x periods across English councils.

About 650,000 referrals a year reach children's social care in England. This generator writes
rows of the shape a national analysis sees (one row per referred child per quarter, in ~150
councils), with staggered adoption of a programme and known true effects, so the engines can be
tried and checked at 1M, 10M or 50M rows. Rows are generated one council at a time, from a
random stream seeded by ``(seed, council)``, and written in chunks with
:class:`pyarrow.parquet.ParquetWriter`; memory stays at one chunk whatever ``n_rows`` is, and
the rows do not depend on the chunk size.

Columns
-------
``la`` (int32, 1..n_las), ``region`` (int8, 1..9), ``period`` (int16, 1..n_periods),
``cohort`` (int16, first treated period; null if never treated), ``treated`` (int8),
``age_band`` (int8, 0..4), ``male`` (int8), ``weight`` (float64, 1, 1.5 or 2),
``exposure`` (float64, years at risk: 0.25 to 1), ``deprivation`` (float64, continuous, 0..1),
``score`` (float64, a Gaussian outcome), ``cpp`` (int8, child protection plan, 0/1) and
``rereferrals`` (int16, a count over ``exposure``).

True effects of ``treated`` (:data:`TRUE_EFFECTS`): -2 on ``score``, -0.3 on the log-odds of
``cpp`` and -0.15 on the log-rate of ``rereferrals``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import special

from sfpc_eval._validate import check_seed, check_size
from sfpc_eval.errors import InvalidValueError

__all__ = ["SCHEMA", "TRUE_EFFECTS", "national_chunks", "national_layout", "write_national"]

TRUE_EFFECTS = {"score": -2.0, "cpp": -0.3, "rereferrals": -0.15}
"""Effect of ``treated`` on each outcome (Gaussian mean, log-odds, log-rate)."""

SCHEMA = pa.schema(
    [
        ("la", pa.int32()),
        ("region", pa.int8()),
        ("period", pa.int16()),
        ("cohort", pa.int16()),
        ("treated", pa.int8()),
        ("age_band", pa.int8()),
        ("male", pa.int8()),
        ("weight", pa.float64()),
        ("exposure", pa.float64()),
        ("deprivation", pa.float64()),
        ("score", pa.float64()),
        ("cpp", pa.int8()),
        ("rereferrals", pa.int16()),
    ]
)
"""Arrow schema of the generated rows."""

_ADOPTION = (9, 13, 17)  # first treated quarter of the three adopting waves (of 20)


MAX_NATIONAL_ROWS = 2_000_000_000
"""Most rows :func:`write_national` generates: about 60 GB of Parquet, a day of writing."""


def _check_sizes(
    n_rows: int, n_las: int, n_periods: int, seed: object, chunk_rows: int = 1
) -> None:
    check_size(n_rows, "n_rows", minimum=1, maximum=MAX_NATIONAL_ROWS, why="child-period rows")
    check_size(n_las, "n_las", minimum=4, maximum=10_000, why="councils")
    check_size(n_periods, "n_periods", minimum=4, maximum=10_000, why="periods")
    if not isinstance(check_seed(seed, "seed"), numbers.Integral):
        raise InvalidValueError(
            f"`seed` must be a non-negative whole number (each council's rows come from the "
            f"stream (seed, 1, council)); got {seed!r}."
        )
    check_size(chunk_rows, "chunk_rows", minimum=1, maximum=MAX_NATIONAL_ROWS, why="rows")


def national_layout(
    n_rows: int, *, n_las: int = 150, n_periods: int = 20, seed: int = 20261123
) -> pd.DataFrame:
    """Councils: region, adoption cohort, council effect and number of rows.

    A fifth of councils adopt in each of three waves (at 40%, 60% and 80% of the periods); the
    rest never do. Council sizes are log-normal, so a few large councils hold many rows.

    Examples
    --------
    >>> layout = national_layout(10_000, n_las=20, seed=1)
    >>> int(layout["rows"].sum()), int(layout["cohort"].notna().sum())
    (10000, 12)
    """
    _check_sizes(n_rows, n_las, n_periods, seed)
    rng = np.random.default_rng([seed, 0])
    size = rng.lognormal(0.0, 0.6, n_las)
    rows = rng.multinomial(n_rows, size / size.sum())
    waves = [max(2, round(n_periods * f)) for f in (0.4, 0.6, 0.8)]
    cohort = np.full(n_las, -1)
    adopters = rng.permutation(n_las)[: 3 * (n_las // 5)]
    for i, wave in enumerate(waves):
        cohort[adopters[i::3]] = wave
    return pd.DataFrame(
        {
            "la": np.arange(1, n_las + 1, dtype=np.int32),
            "region": (np.arange(n_las) % 9 + 1).astype(np.int8),
            "cohort": pd.Series(np.where(cohort > 0, cohort, 0), dtype="Int16").where(cohort > 0),
            "effect": rng.normal(0.0, 1.0, n_las),
            "rows": rows,
        }
    )


def _council_rows(council: pd.Series, n_periods: int, seed: int) -> pa.Table:
    """Generate the rows of one council, from its own random stream."""
    rng = np.random.default_rng([seed, 1, int(council["la"])])
    m = int(council["rows"])
    counts = rng.multinomial(m, np.full(n_periods, 1.0 / n_periods))
    period = np.repeat(np.arange(1, n_periods + 1, dtype=np.int16), counts)
    cohort = council["cohort"]
    ever = not pd.isna(cohort)
    treated = (period >= int(cohort)).astype(np.int8) if ever else np.zeros(m, dtype=np.int8)
    age = rng.integers(0, 5, m).astype(np.int8)
    male = rng.integers(0, 2, m).astype(np.int8)
    weight = rng.choice(np.array([1.0, 1.5, 2.0]), m)
    exposure = rng.choice(np.array([0.25, 0.5, 0.75, 1.0]), m)
    deprivation = rng.beta(2.0, 5.0, m)
    la_effect = float(council["effect"])
    time = period.astype(np.float64)
    score = (
        50.0
        + 2.0 * la_effect
        + 0.1 * time
        + 0.8 * age
        - 0.5 * male
        + 3.0 * deprivation
        + TRUE_EFFECTS["score"] * treated
        + rng.normal(0.0, 5.0, m)
    )
    logit = (
        -1.5
        + 0.3 * la_effect
        + 0.02 * time
        + 0.1 * age
        + 1.0 * deprivation
        + TRUE_EFFECTS["cpp"] * treated
    )
    cpp = (rng.random(m) < special.expit(logit)).astype(np.int8)
    log_rate = (
        -0.5
        + 0.2 * la_effect
        + 0.01 * time
        + 0.05 * age
        + 0.5 * deprivation
        + TRUE_EFFECTS["rereferrals"] * treated
    )
    rereferrals = rng.poisson(exposure * np.exp(log_rate)).astype(np.int16)
    columns = {
        "la": np.full(m, council["la"], dtype=np.int32),
        "region": np.full(m, council["region"], dtype=np.int8),
        "period": period,
        "cohort": pa.array(
            np.full(m, int(cohort) if ever else 0, dtype=np.int16), mask=np.full(m, not ever)
        ),
        "treated": treated,
        "age_band": age,
        "male": male,
        "weight": weight,
        "exposure": exposure,
        "deprivation": deprivation,
        "score": score,
        "cpp": cpp,
        "rereferrals": rereferrals,
    }
    return pa.table(columns, schema=SCHEMA)


def national_chunks(
    n_rows: int,
    *,
    n_las: int = 150,
    n_periods: int = 20,
    seed: int = 20261123,
    chunk_rows: int = 1_000_000,
    progress: bool = False,
) -> Iterator[pa.Table]:
    """Yield the rows as Arrow tables of about ``chunk_rows`` rows (whole councils).

    Parameters
    ----------
    n_rows : int
        Rows in all.
    n_las : int, default 150
        Councils.
    n_periods : int, default 20
        Periods (quarters).
    seed : int, default 20261123
        Seed; council ``i``'s rows come from the stream ``(seed, 1, i)``.
    chunk_rows : int, default 1,000,000
        Rows gathered before a chunk is yielded.
    progress : bool, default False
        Show a progress bar over councils (tqdm).

    Yields
    ------
    pyarrow.Table
        Rows with :data:`SCHEMA`.

    Examples
    --------
    >>> sum(t.num_rows for t in national_chunks(5_000, n_las=10, chunk_rows=2_000))
    5000
    """
    from tqdm.auto import tqdm

    _check_sizes(n_rows, n_las, n_periods, seed, chunk_rows)
    layout = national_layout(n_rows, n_las=n_las, n_periods=n_periods, seed=seed)
    pending: list[pa.Table] = []
    size = 0
    for _, council in tqdm(
        layout.iterrows(), total=len(layout), disable=not progress, desc="councils"
    ):
        table = _council_rows(council, n_periods, seed)
        pending.append(table)
        size += table.num_rows
        if size >= chunk_rows:
            yield pa.concat_tables(pending)
            pending, size = [], 0
    if pending:
        yield pa.concat_tables(pending)


def write_national(
    path: str | PathLike[str],
    n_rows: int,
    *,
    n_las: int = 150,
    n_periods: int = 20,
    seed: int = 20261123,
    chunk_rows: int = 1_000_000,
    progress: bool = False,
) -> Path:
    """Write ``n_rows`` synthetic child-period rows to a Parquet file, one chunk at a time.

    Parameters
    ----------
    path : str or path-like
        Parquet file to write (overwritten).
    n_rows : int
        Rows in all (1M, 10M, 50M...).
    n_las, n_periods, seed, chunk_rows, progress
        As :func:`national_chunks`.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pyarrow.parquet as pq
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = write_national(f"{folder}/national.parquet", 3_000, n_las=12)
    ...     pq.ParquetFile(out).metadata.num_rows
    3000
    """
    _check_sizes(n_rows, n_las, n_periods, seed, chunk_rows)
    path = Path(path)
    with pq.ParquetWriter(path, SCHEMA, compression="snappy") as writer:
        for chunk in national_chunks(
            n_rows,
            n_las=n_las,
            n_periods=n_periods,
            seed=seed,
            chunk_rows=chunk_rows,
            progress=progress,
        ):
            writer.write_table(chunk, row_group_size=max(chunk.num_rows, 1))
    return path
