"""Collapse rows into cells where they live, with the checks ``did`` makes on a DataFrame.

One ``GROUP BY`` over the rows (see :func:`sfpc_eval.engines.sql.cell_query`) returns, per
cell, the row count, the outcome's sum and sum of squares (and the exposure's, for rates), and
what the input checks need (missing values, minimum and maximum). Weights are part of the cell
key, as in :func:`sfpc_eval.cells.collapse.collapse`, so the squared-weight sums follow from
these in Python. The result is the same :class:`~sfpc_eval.cells.collapse.Cells` that
``collapse`` builds from a DataFrame (same cells, same order, sums equal up to the order of
floating-point additions), and the estimator continues from there unchanged.

The design checks (treatment constant within unit and period, treated and comparison units,
permanent adoption, an outcome that varies within units) run on a *probe*: two rows per cell,
carrying the cell's keys with its smallest and largest outcome. Every one of those checks gives
the same verdict, and the same message, on the probe as on the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sfpc_eval.cells.collapse import CELL_SUMS, Cells, factorize_sorted
from sfpc_eval.cells.fit import check_family
from sfpc_eval.engines.sources import Source, source
from sfpc_eval.engines.sql import cell_query, distinct_query, is_numeric_type, rows_query
from sfpc_eval.errors import (
    InvalidValueError,
    MissingColumnError,
    SizeLimitError,
    show_values,
)

__all__ = ["did_input", "remote_cells"]


def did_input(
    data: Any,
    *,
    roles: dict[str, str | None],
    keys: Sequence[str],
    unit: str,
    time: str,
    weights: str | None,
    exposure: str | None,
    family: str,
    collapse_rows: bool,
) -> tuple[pd.DataFrame, Cells | None]:
    """Turn an engine input into what :func:`sfpc_eval.did` needs.

    ``roles`` maps each argument of the ``did`` call (as named in messages, ``covariates[0]``)
    to its column, and ``keys`` is the cell key; the DiD code decides both, the engine only
    collapses.

    Returns ``(probe, cells)`` for the usual fit on cells, or ``(rows, None)`` when
    ``collapse_rows=False`` asks for a row-by-row fit and the rows are within the size limit
    (the rows then go through the DataFrame path).

    Raises
    ------
    MissingColumnError, InvalidValueError
        As ``did`` on a DataFrame; offending rows are located by unit and period.
    SizeLimitError
        The request needs more rows or cells in memory than the source's ``max_cells``.
    DataFileError
        A path that does not exist or cannot be read.
    """
    src = source(data) if not isinstance(data, Source) else data
    check_columns(src, roles, numeric=[r for r in roles if r not in ("unit", "time", "cluster")])
    check_family(family)
    if not collapse_rows:
        return _fetch_rows(src, roles), None
    key_roles = {c: r for r, c in reversed(list(roles.items())) if c in keys}
    cells, probe = remote_cells(
        src,
        outcome=roles["outcome"],
        keys=list(keys),
        key_roles=key_roles,
        weights=weights,
        exposure=exposure,
        family=family,
        place=(unit, time),
        estimator="did()",
    )
    return probe, cells


def check_columns(src: Source, roles: dict[str, str | None], *, numeric: Sequence[str]) -> None:
    """Raise if a named column is absent, or a numeric role has a non-numeric SQL type."""
    for role, column in roles.items():
        if column is not None and column not in src.columns:
            raise MissingColumnError(role, [column], list(src.columns))
    for role in numeric:
        column = roles[role]
        if column is None:
            continue
        sql_type = src.types[column]
        where = f"`{role}` column {column!r} in {src.label}"
        if sql_type == "boolean":
            raise InvalidValueError(
                f"{where} is boolean; pass 0/1 numbers if that is intended (e.g. "
                f"CAST({column} AS INTEGER) in the query that builds the data)."
            )
        if not is_numeric_type(sql_type):
            raise InvalidValueError(
                f"{where} has type {sql_type}; it must be numeric (integer, decimal or "
                f"floating point). Cast it where the data live (e.g. CAST({column} AS DOUBLE), "
                "after replacing any text codes), or fix the file."
            )


def _fetch_rows(src: Source, roles: dict[str, str | None]) -> pd.DataFrame:
    total = int(src.fetch("SELECT COUNT(*) AS n FROM {table}")["n"].iloc[0])
    if total > src.max_cells:
        raise SizeLimitError(
            f"did(collapse_rows=False) fits row by row, which needs all {total:,} rows of "
            f"{src.label} in memory; the limit is max_cells={src.max_cells:,}. Use "
            "collapse_rows=True (the default): the fit on cells gives the same estimates and "
            "variances and runs where the data live. (To pull the rows anyway, raise the limit "
            "with sfpc_eval.engines.source(data, max_cells=...).)"
        )
    columns = list(dict.fromkeys(c for c in roles.values() if c is not None))
    return src.fetch(rows_query(columns, total, src.dialect))


def remote_cells(
    src: Source,
    *,
    outcome: str,
    keys: Sequence[str],
    key_roles: dict[str, str],
    weights: str | None,
    exposure: str | None,
    family: str,
    place: tuple[str, str],
    estimator: str,
) -> tuple[Cells, pd.DataFrame]:
    """Run the cell ``GROUP BY`` on ``src``, check the rows, and build :class:`Cells`.

    Parameters
    ----------
    src : Source
        The rows.
    outcome : str
        Outcome column.
    keys : sequence of str
        Cell key, in the order :func:`~sfpc_eval.cells.collapse.collapse` would use.
    key_roles : dict of str to str
        Argument that named each key column (for messages).
    weights, exposure : str, optional
        Weight column (one of the keys) and exposure column.
    family : str
        ``"gaussian"``, ``"poisson"`` or ``"binomial"`` (sets the outcome checks).
    place : (str, str)
        Unit and period columns, used to locate offending rows in messages.
    estimator : str
        Name of the estimator, for the size-limit message.

    Returns
    -------
    cells : Cells
    probe : pandas.DataFrame
        Two rows per cell: the keys with the cell's smallest and largest outcome.
    """
    query = cell_query(
        keys=keys,
        outcome=outcome,
        exposure=exposure,
        binary=family == "binomial",
        limit=src.max_cells + 1,
        dialect=src.dialect,
    )
    raw = src.fetch(query)
    if len(raw) > src.max_cells:
        raise _too_many_cells(src, keys, key_roles, estimator)
    if raw.empty:
        raise InvalidValueError(f"`data` ({src.label}) has no rows.")
    # keys and sums apart, so a column named like a sum ("n", "sum_y") cannot clash
    key_frame = raw[[f"k{i}" for i in range(len(keys))]].set_axis(list(keys), axis=1)
    agg = raw.drop(columns=[f"k{i}" for i in range(len(keys))])
    agg = agg.apply(lambda column: pd.to_numeric(column).astype(np.float64))
    agg["n"] = agg["n"].round().astype(np.int64)
    _check_rows(src, key_frame, agg, outcome, key_roles, exposure, family, place)
    for column in keys:
        if key_roles[column] not in ("unit", "time", "cluster"):
            key_frame[column] = key_frame[column].astype(np.float64)
    codes = [factorize_sorted(key_frame[column])[0] for column in keys]
    order = np.lexsort(codes[::-1])
    key_frame = key_frame.iloc[order].reset_index(drop=True)
    agg = agg.iloc[order].reset_index(drop=True)
    weight = None if weights is None else key_frame[weights].to_numpy(dtype=np.float64)
    cells = Cells(
        keys=key_frame,
        sums=_sums(agg, weight, exposure),
        by=tuple(keys),
        n_rows=int(agg["n"].sum()),
        codes={column: code[order] for column, code in zip(keys, codes, strict=True)},
    )
    probe = pd.concat(
        [key_frame.assign(**{outcome: agg["min_y"]}), key_frame.assign(**{outcome: agg["max_y"]})],
        ignore_index=True,
    )
    return cells, probe


def _sums(raw: pd.DataFrame, weight: np.ndarray | None, exposure: str | None) -> pd.DataFrame:
    """Compute the :data:`CELL_SUMS` of each cell; weights are constant within a cell (a key)."""
    n = raw["n"].to_numpy()
    nf = n.astype(np.float64)
    sy, syy = raw["sum_y"].to_numpy(), raw["sum_y2"].to_numpy()
    if exposure is None:
        se, sey, see = nf, sy, nf
    else:
        se, sey, see = (raw[c].to_numpy() for c in ("sum_e", "sum_ey", "sum_e2"))
    w = np.ones(len(raw)) if weight is None else weight
    w2 = w * w
    sums = pd.DataFrame(
        {
            "n": n,
            "sum_w": w * nf,
            "sum_wy": w * sy,
            "sum_wy2": w * syy,
            "sum_we": w * se,
            "sum_w2": w2 * nf,
            "sum_w2y": w2 * sy,
            "sum_w2y2": w2 * syy,
            "sum_w2e": w2 * se,
            "sum_w2ey": w2 * sey,
            "sum_w2e2": w2 * see,
        }
    )
    return sums[list(CELL_SUMS)]


def _check_rows(
    src: Source,
    keys: pd.DataFrame,
    raw: pd.DataFrame,
    outcome: str,
    key_roles: dict[str, str],
    exposure: str | None,
    family: str,
    place: tuple[str, str],
) -> None:
    """Repeat the checks ``did`` makes on a DataFrame's rows, from the per-cell aggregates."""
    unit, time = place
    n = raw["n"].to_numpy()
    for column, role in key_roles.items():
        if role in ("unit", "time", "cluster"):
            missing = keys[column].isna().to_numpy()
            if missing.any():
                raise InvalidValueError(
                    f"`{role}` column {column!r} in {src.label} has missing values (NULL) in "
                    f"{int(n[missing].sum()):,} row(s); every row needs a {role}. Filter them out "
                    f"or fill them where the data live (WHERE {column} IS NOT NULL)."
                )

    def located(mask: np.ndarray, count: np.ndarray | None) -> str:
        spots = [f"({u}, {t})" for u, t in zip(keys[unit][mask], keys[time][mask], strict=True)]
        where = f"{unit} x {time} cells {show_values(spots)}"
        if count is None:  # which rows of these cells is not known without reading them
            return f"some rows of {where}"
        rows = int(count[mask].sum())
        return f"{rows:,} row{'' if rows == 1 else 's'}, in {where}"

    def fail(
        role: str,
        column: str,
        problem: str,
        mask: np.ndarray,
        fix: str,
        count: np.ndarray | None = None,
    ) -> None:
        raise InvalidValueError(
            f"`{role}` column {column!r} in {src.label} {problem} in {located(mask, count)}. {fix}"
        )

    drop = "Fix or filter those rows where the data live."
    # outcome: missing, NaN, infinite, negative (counts), not 0/1 (binomial)
    missing = (raw["n_y"] < raw["n"]).to_numpy()
    if missing.any():
        fail(
            "outcome",
            outcome,
            "has missing values (NULL)",
            missing,
            drop,
            n - raw["n_y"].to_numpy(),
        )
    low, high = raw["min_y"].to_numpy(), raw["max_y"].to_numpy()
    if (bad := np.isnan(high)).any():
        fail("outcome", outcome, "has missing values (NaN)", bad, drop)
    if (bad := np.isinf(low) | np.isinf(high)).any():
        fail("outcome", outcome, "has infinite values", bad, drop)
    if family != "gaussian" and (bad := low < 0).any():
        fail(
            "outcome",
            outcome,
            f"holds counts and cannot be negative; negative (down to {low[bad].min():g})",
            bad,
            "Check for a sign error or a code for 'not available'.",
        )
    if family == "binomial" and (bad := raw["bad_y"].to_numpy() > 0).any():
        fail("outcome", outcome, "must be 0 or 1; other values", bad, drop, raw["bad_y"].to_numpy())
    # keys: treatment 0/1, covariates and weights finite (weights also non-negative)
    for column, role in key_roles.items():
        if role in ("unit", "time", "cluster"):
            continue
        values = pd.to_numeric(keys[column]).to_numpy(dtype=np.float64)
        if (bad := np.isnan(values)).any():
            fail(role, column, "has missing values (NULL or NaN)", bad, drop, n)
        if (bad := np.isinf(values)).any():
            fail(role, column, "has infinite values", bad, drop, n)
        if role == "treated" and (bad := (values != 0) & (values != 1)).any():
            shown = show_values(sorted(set(values[bad].tolist())))
            fail(role, column, f"must be 0 or 1; other values {shown}", bad, drop, n)
        if role == "weights" and (bad := values < 0).any():
            fail(role, column, "cannot be negative; negative", bad, drop, n)
    if exposure is not None:
        e_low, e_high = raw["min_e"].to_numpy(), raw["max_e"].to_numpy()
        if (bad := (raw["n_e"] < raw["n"]).to_numpy()).any():
            fail(
                "exposure",
                exposure,
                "has missing values (NULL)",
                bad,
                drop,
                n - raw["n_e"].to_numpy(),
            )
        if (bad := np.isnan(e_high)).any():
            fail("exposure", exposure, "has missing values (NaN)", bad, drop)
        if (bad := np.isinf(e_high)).any():
            fail("exposure", exposure, "has infinite values", bad, drop)
        if (bad := e_low < 0).any():
            fail("exposure", exposure, "cannot be negative; negative", bad, drop)
        if (bad := e_low == 0).any():
            fail("exposure", exposure, "is 0", bad, "A rate needs a positive exposure.")


def _too_many_cells(
    src: Source, keys: Sequence[str], key_roles: dict[str, str], estimator: str
) -> SizeLimitError:
    """Explain which key columns keep rows from collapsing (approximate distinct counts)."""
    counts = src.fetch(distinct_query(keys, src.dialect))
    total = int(counts["n"].iloc[0])
    distinct = {k: int(counts[f"d{i}"].iloc[0]) for i, k in enumerate(keys)}
    spread = sorted(
        (k for k in keys if key_roles[k] not in ("unit", "time", "cluster", "treated")),
        key=lambda k: -distinct[k],
    )
    culprits = [
        f"{key_roles[k]} {k!r} (about {distinct[k]:,} distinct values)"
        for k in spread
        if distinct[k] > 20
    ]
    why = (
        f"{', '.join(culprits)} take{'s' if len(culprits) == 1 else ''} so many values that "
        "rows hardly collapse"
        if culprits
        else "there are that many unit x period x covariate combinations"
    )
    return SizeLimitError(
        f"{estimator} on {src.label} would bring more than max_cells={src.max_cells:,} cells "
        f"into memory ({total:,} rows; {why}). The fit is exact on cells, but cells only save "
        "memory when rows share their covariate, weight and exposure values; here it is close "
        "to a row-level fit. Bin continuous covariates (e.g. into deciles), round weights or "
        "exposures (e.g. to months at risk) so rows collapse into cells, leave covariates out, "
        "or raise the limit with "
        "sfpc_eval.engines.source(data, max_cells=...) if the memory is there."
    )
