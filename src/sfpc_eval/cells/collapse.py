"""Collapse rows into weighted cells: the sufficient statistics every linear and GLM fit needs.

Rows that share every regressor, the cluster and the fixed-effect levels carry the same design
row, so a fit needs from each such cell only a handful of sums: the number of rows, the sum of
weights, of weighted outcomes and of weighted squared outcomes (and, for rates, of weighted
exposure). Estimates and every cluster-robust variance (CR0 to CR3, with Satterthwaite degrees of
freedom) computed from the cells equal those computed from the rows; see
:mod:`sfpc_eval.inference.cluster` for why CR2 survives collapsing.

This is what lets the same estimators run on a million child-period rows, or on a ``GROUP BY``
pushed down to a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "CELL_SUMS",
    "Cells",
    "as_float",
    "cell_codes",
    "collapse",
    "factorize_sorted",
    "in_grid_order",
]

CELL_SUMS: tuple[str, ...] = (
    "n",
    "sum_w",
    "sum_wy",
    "sum_wy2",
    "sum_we",
    "sum_w2",
    "sum_w2y",
    "sum_w2y2",
    "sum_w2e",
    "sum_w2ey",
    "sum_w2e2",
)
"""Sums kept for each cell: rows; weights; weight x outcome; weight x outcome squared; weight x
exposure (1 per row when there is no exposure); and the squared-weight sums that row-level
(heteroskedasticity-robust) variances need."""


@dataclass(frozen=True, eq=False)
class Cells:
    """Rows collapsed to cells.

    Attributes
    ----------
    keys : pandas.DataFrame
        One row per cell: the values of the ``by`` columns.
    sums : pandas.DataFrame
        One row per cell, the columns :data:`CELL_SUMS`.
    by : tuple of str
        The columns that define a cell.
    n_rows : int
        Rows collapsed (the sum of ``sums["n"]``).
    codes : dict of str to ndarray
        For each ``by`` column (but a ``determined`` one not coded by the caller), the
        sorted-level code of each cell.
    grid : tuple of str
        Two columns whose every pair of levels is one cell, the cells running through them
        in order (first column slowest; see :func:`in_grid_order`), or ``()``.
    """

    keys: pd.DataFrame = field(repr=False)
    sums: pd.DataFrame = field(repr=False)
    by: tuple[str, ...]
    n_rows: int
    codes: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    grid: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.keys)


def collapse(
    data: pd.DataFrame,
    *,
    outcome: str,
    by: Sequence[str],
    weights: str | None = None,
    exposure: str | None = None,
    factors: dict[str, tuple[np.ndarray, object]] | None = None,
    determined: Sequence[str] = (),
    grid_order: bool | None = None,
) -> Cells:
    """Collapse rows that share the ``by`` columns into cells of sufficient statistics.

    Parameters
    ----------
    data : pandas.DataFrame
        Validated rows (numeric outcome; no missing values in ``by``). Not modified.
    outcome : str
        Outcome column.
    by : sequence of str
        Columns that define a cell: cluster, unit, time, treatment and every covariate.
    weights : str, optional
        Row weights (analytic or frequency); 1 per row if omitted.
    exposure : str, optional
        Exposure (e.g. child-years at risk) for rate models.
    factors : dict, optional
        ``pd.factorize(data[column], sort=True)`` of some ``by`` columns, already computed.
    determined : sequence of str, optional
        Columns of ``by`` known (checked by the caller) to be constant within each
        combination of the other ``by`` columns (a treatment indicator within unit x period):
        they do not split cells, so the cells are coded without them (same cells, same order),
        and ``codes`` holds them only if ``factors`` does.
    grid_order : bool, optional
        The caller's :func:`in_grid_order` of the first two ``by`` columns that are not
        ``determined``, if it has it (saves a pass); checked here when None.

    Returns
    -------
    Cells

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"la": ["A", "A", "B"], "t": [1, 1, 1], "y": [0, 1, 1]})
    >>> cells = collapse(rows, outcome="y", by=["la", "t"])
    >>> cells.sums["n"].tolist(), cells.sums["sum_wy"].tolist()
    ([2, 1], [1.0, 1.0])
    """
    by = list(by)
    y = data[outcome].to_numpy(dtype=np.float64)
    factors = dict(factors or {})
    for column in by:
        if column not in factors and column not in determined:
            factors[column] = factorize_sorted(data[column])
    splitting = [c for c in by if c not in determined]
    if grid_order is None:
        grid_order = len(splitting) >= 2 and in_grid_order(*(factors[c] for c in splitting[:2]))
    grid = tuple(splitting[:2]) if grid_order else ()
    if grid:  # each row has its own pair of the first two columns: rows are cells, in order
        n_cells, in_order = len(data), True
    else:
        cell, first = cell_codes(data, splitting, factors)
        n_cells = len(first)
        in_order = n_cells == len(data) and np.array_equal(first, np.arange(n_cells))
    if in_order:  # every row its own cell, already in cell order: the sums are the rows

        def total(values):  # copy only what may be a view of the caller's data
            return values if values.flags.owndata else values.copy()

        rows = _ones(n_cells, np.int64)
    elif n_cells == len(data):  # every row its own cell: the sums are the rows' own values

        def total(values):
            return values[first]

        rows = _ones(n_cells, np.int64)
    else:

        def total(values):
            return np.bincount(cell, weights=values, minlength=n_cells)

        rows = np.bincount(cell, minlength=n_cells)
    sums = _sums(data, y, weights, exposure, total, rows)
    coded = [column for column in by if column in factors]
    if in_order:
        keys = data[by].reset_index(drop=True)
        codes = {column: np.asarray(factors[column][0]) for column in coded}
    else:
        keys = data[by].iloc[first].reset_index(drop=True)
        codes = {column: np.asarray(factors[column][0])[first] for column in coded}
    return Cells(keys=keys, sums=sums, by=tuple(by), n_rows=len(data), codes=codes, grid=grid)


def _sums(data, y, weights, exposure, total, rows) -> pd.DataFrame:
    """Return the :data:`CELL_SUMS` of each cell.

    Without weights (or exposure) the sums that coincide are computed once and share their
    memory (the frame is never modified in place).
    """
    count = as_float(rows)
    sum_y, sum_y2 = total(y), total(y * y)
    if weights is None:
        if exposure is None:
            sum_e = sum_e2 = count
            sum_ey = sum_y
        else:
            e = data[exposure].to_numpy(dtype=np.float64)
            sum_e, sum_e2, sum_ey = total(e), total(e * e), total(e * y)
        columns = {
            "sum_w": count,
            "sum_wy": sum_y,
            "sum_wy2": sum_y2,
            "sum_we": sum_e,
            "sum_w2": count,
            "sum_w2y": sum_y,
            "sum_w2y2": sum_y2,
            "sum_w2e": sum_e,
            "sum_w2ey": sum_ey,
            "sum_w2e2": sum_e2,
        }
    else:
        w = data[weights].to_numpy(dtype=np.float64)
        e = np.ones(len(data)) if exposure is None else data[exposure].to_numpy(np.float64)
        w2 = w * w
        columns = {
            "sum_w": total(w),
            "sum_wy": total(w * y),
            "sum_wy2": total(w * y * y),
            "sum_we": total(w * e),
            "sum_w2": total(w2),
            "sum_w2y": total(w2 * y),
            "sum_w2y2": total(w2 * y * y),
            "sum_w2e": total(w2 * e),
            "sum_w2ey": total(w2 * e * y),
            "sum_w2e2": total(w2 * e * e),
        }
    return pd.DataFrame({"n": rows.astype(np.int64, copy=False), **columns}, copy=False)


def _ones(n: int, dtype: type) -> np.ndarray:
    """Return a read-only length-``n`` array of ones that takes no memory (stride 0).

    Every row its own cell makes the row count (and, unweighted, the weight sums) 1 in every
    cell; a million-row panel would otherwise hold several 8 MB columns of ones.
    """
    return np.broadcast_to(np.ones(1, dtype=dtype), (n,))


def _is_ones(values: np.ndarray) -> bool:
    """Whether ``values`` is an array made by :func:`_ones` (stride 0, value 1)."""
    return values.ndim == 1 and values.strides == (0,) and (len(values) == 0 or values[0] == 1)


def as_float(values: np.ndarray) -> np.ndarray:
    """``values`` as float64, keeping an array of ones from :func:`_ones` free of memory.

    Examples
    --------
    >>> as_float(_ones(3, np.int64)).strides, as_float(np.array([1, 2])).tolist()
    ((0,), [1.0, 2.0])
    """
    if values.dtype != np.float64 and _is_ones(values):
        return _ones(len(values), np.float64)
    return values.astype(np.float64, copy=False)


def factorize_sorted(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..L-1 of ``values`` in sorted order of its distinct values, and those values.

    Integers of modest range (years, LA numbers, combined codes) are coded by counting, in
    linear time; anything else goes to ``pandas.factorize(sort=True)``.

    Examples
    --------
    >>> codes, levels = factorize_sorted(np.array([2019, 2017, 2019]))
    >>> codes.tolist(), levels.tolist()
    ([1, 0, 1], [2017, 2019])
    """
    array = np.asarray(values)
    if array.dtype.kind == "f" and len(array):  # whole numbers stored as floats (0/1 flags)
        with np.errstate(invalid="ignore"):  # NaN or out of int64 range: not whole
            whole = array.astype(np.int64)
        if np.array_equal(whole, array):
            codes, levels = factorize_sorted(whole)
            return codes, levels.astype(array.dtype)
    if array.dtype.kind in "iu" and len(array):
        low, high = int(array.min()), int(array.max())
        if high - low <= 4 * len(array) + 1024:
            shifted = np.subtract(array, low, dtype=np.int64)
            present = np.bincount(shifted, minlength=high - low + 1) > 0
            if present.all():  # every value in low..high occurs: the codes are the offsets
                return shifted, np.arange(low, high + 1)
            lookup = np.cumsum(present) - 1
            return lookup[shifted], np.flatnonzero(present) + low
    codes, levels = pd.factorize(values, sort=True, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64), np.asarray(levels)


def in_grid_order(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]
) -> bool:
    """Tell whether rows run once through every (first, second) pair, first level slowest.

    ``first`` and ``second`` are :func:`factorize_sorted` results (codes, levels). Then each
    row is its own cell and the rows are already in cell order (a balanced panel sorted by
    unit and period), which lets collapsing and demeaning skip their general work.

    Examples
    --------
    >>> unit, time = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    >>> in_grid_order((unit, np.arange(2)), (time, np.arange(2)))
    True
    >>> in_grid_order((unit, np.arange(2)), (time[::-1], np.arange(2)))
    False
    """
    (codes_1, levels_1), (codes_2, levels_2) = first, second
    shape = (len(levels_1), len(levels_2))
    if len(codes_1) != shape[0] * shape[1] or len(codes_2) != len(codes_1) or not len(codes_1):
        return False
    grid_1 = np.asarray(codes_1).reshape(shape)
    grid_2 = np.asarray(codes_2).reshape(shape)
    return bool(
        (grid_1 == np.arange(shape[0])[:, None]).all() and (grid_2 == np.arange(shape[1])).all()
    )


def cell_codes(
    data: pd.DataFrame,
    by: Sequence[str],
    factors: dict[str, tuple[np.ndarray, object]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Code each row by its combination of ``by`` values, in sorted order of the combinations.

    Returns the code of every row (0..C-1) and the position of the first row of each cell.

    Examples
    --------
    >>> import pandas as pd
    >>> codes, first = cell_codes(pd.DataFrame({"a": [2, 1, 2], "b": [0, 0, 0]}), ["a", "b"])
    >>> codes.tolist(), first.tolist()
    ([1, 0, 1], [1, 0])
    """
    combined = np.zeros(len(data), dtype=np.int64)
    span = 1
    factors = factors or {}
    for column in by:
        codes, levels = factors.get(column) or factorize_sorted(data[column])
        if span * len(levels) >= 2**62:  # re-code the combination so far to keep it in int64
            combined = factorize_sorted(combined)[0]
            span = int(combined.max()) + 1
        combined = combined * len(levels) + codes
        span *= len(levels)
    cell, uniques = factorize_sorted(combined)
    first = np.empty(len(uniques), dtype=np.int64)
    first[cell[::-1]] = np.arange(len(data) - 1, -1, -1)  # the last write is the first row
    return cell, first
