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

__all__ = ["CELL_SUMS", "Cells", "collapse"]

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
    """

    keys: pd.DataFrame = field(repr=False)
    sums: pd.DataFrame = field(repr=False)
    by: tuple[str, ...]
    n_rows: int

    def __len__(self) -> int:
        return len(self.keys)


def collapse(
    data: pd.DataFrame,
    *,
    outcome: str,
    by: Sequence[str],
    weights: str | None = None,
    exposure: str | None = None,
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
    w = np.ones(len(data)) if weights is None else data[weights].to_numpy(dtype=np.float64)
    e = np.ones(len(data)) if exposure is None else data[exposure].to_numpy(dtype=np.float64)
    frame = data[by].copy()
    frame["n"] = 1
    frame["sum_w"] = w
    frame["sum_wy"] = w * y
    frame["sum_wy2"] = w * y * y
    frame["sum_we"] = w * e
    w2 = w * w
    frame["sum_w2"] = w2
    frame["sum_w2y"] = w2 * y
    frame["sum_w2y2"] = w2 * y * y
    frame["sum_w2e"] = w2 * e
    frame["sum_w2ey"] = w2 * e * y
    frame["sum_w2e2"] = w2 * e * e
    grouped = frame.groupby(by, sort=True, observed=True, dropna=False).sum()
    keys = grouped.index.to_frame(index=False)
    sums = grouped.reset_index(drop=True)
    return Cells(keys=keys, sums=sums, by=tuple(by), n_rows=len(data))
