"""Outcome columns of ``stepped_wedge`` for every family, and the cells the models are fitted to.

The cells come from child rows or from aggregated counts.

Row-level input (``denominator=None``) has one row per child (or per observation of a count):

- ``binomial``: a 0/1 outcome;
- ``poisson`` and ``negative_binomial``: a count (non-negative whole number), with an optional
  ``exposure`` (days at risk, population: positive) whose log is the offset;
- ``gaussian``: any finite number.

Aggregated input (``denominator="children"``, say) has one row per council x period (x
covariate pattern) cell:

- ``binomial``: the number of events among ``denominator`` children;
- ``poisson``: the total count over ``denominator`` children, with ``exposure`` the total
  exposure (default: one unit per child, i.e. ``denominator``);
- ``gaussian``: the cell's mean over ``denominator`` children and ``outcome_sd``, the
  within-cell standard deviation (``ddof=1``; 0 or missing for a cell of one child).

A sum of negative binomial (NB2) counts is not NB2, and its likelihood depends on each child's
count, so the negative binomial takes row-level input only (rows with equal keys, count and
exposure are still collapsed, exactly, by frequency).

Binomial, Poisson and Gaussian rows that share council, period, treatment and covariates are
collapsed to such cells before fitting, so the two inputs give the same estimates; the
log-likelihood of row-level input is that of the rows (as R's fit to the rows), of aggregated
input that of the cells (as R's fit to the cells): they differ by a constant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from sfpc_eval.cells.collapse import cell_codes, collapse
from sfpc_eval.errors import InvalidValueError, show_values
from sfpc_eval.panel import numeric_column

__all__ = ["TrialCells", "clean_outcome", "trial_cells"]


@dataclass(frozen=True, eq=False)
class TrialCells:
    """Cells of a trial: keys, responses and what each family's likelihood needs.

    ``keys`` holds the ``by`` columns of each cell; ``y`` events, counts or the sum of the
    outcome; ``n`` binomial trials or (Gaussian) rows; ``offset`` log exposure; ``freq``
    identical observations a cell stands for; ``sum_y2`` the sum of squared outcomes
    (Gaussian); ``rows`` children (rows) behind each cell and ``n_rows`` their total;
    ``constant`` the log-likelihood terms
    free of parameters (of the rows for row-level input).
    """

    keys: pd.DataFrame = field(repr=False)
    y: np.ndarray = field(repr=False)
    n: np.ndarray = field(repr=False)
    offset: np.ndarray = field(repr=False)
    freq: np.ndarray = field(repr=False)
    sum_y2: np.ndarray = field(repr=False)
    rows: np.ndarray = field(repr=False)
    n_rows: int
    constant: float

    def __len__(self) -> int:
        return len(self.keys)


def _positive(data: pd.DataFrame, column: str, argument: str, *, integer: bool) -> np.ndarray:
    array = numeric_column(data, column, argument=argument, integer=integer).to_numpy()
    if (bad := array <= 0).any():
        rows = show_values(list(data.index[bad]))
        if argument == "exposure":
            what = "an exposure (days at risk, population), whose log is the offset"
            fix = "A row without exposure carries no information about a rate: drop it"
        else:
            what = "the number of children in the cell"
            fix = "An empty cell carries no information: drop it"
        raise InvalidValueError(
            f"`{argument}` column {column!r} must be positive ({what}); rows {rows} hold "
            f"{show_values(array[bad])}. {fix} yourself, or correct the value (a negative "
            "number is often a code for 'not available')."
        )
    return array


def clean_outcome(
    data: pd.DataFrame,
    outcome: str,
    family: str,
    *,
    exposure: str | None,
    denominator: str | None,
    outcome_sd: str | None,
) -> dict[str, np.ndarray]:
    """Validate the outcome, exposure, denominator and SD columns; return them by role."""
    out: dict[str, np.ndarray] = {}
    count = family in ("poisson", "negative_binomial")
    if denominator is None:
        if family == "binomial":
            out["y"] = numeric_column(data, outcome, argument="outcome", binary=True).to_numpy()
        elif count:
            out["y"] = _count(data, outcome, family)
        else:
            out["y"] = numeric_column(data, outcome, argument="outcome").to_numpy()
    else:
        out["denominator"] = _positive(data, denominator, "denominator", integer=True)
        if family == "gaussian":
            out["y"] = numeric_column(data, outcome, argument="outcome").to_numpy()
            out["sd"] = _within_sd(data, outcome_sd, out["denominator"])
        else:
            out["y"] = _count(data, outcome, family)
            if family == "binomial" and (bad := out["y"] > out["denominator"]).any():
                rows = list(data.index[bad])
                pairs = [
                    f"{int(e)} of {int(d)}"
                    for e, d in zip(out["y"][bad], out["denominator"][bad], strict=True)
                ]
                raise InvalidValueError(
                    f"`outcome` {outcome!r} counts more events than `denominator` "
                    f"{denominator!r} has children in rows {show_values(rows)} "
                    f"({show_values(pairs)}). With aggregated input the outcome is the number "
                    "of children with the event in the cell: check that the two columns are not "
                    "swapped, or that the events are not counted over a wider group."
                )
    if exposure is not None:
        out["exposure"] = _positive(data, exposure, "exposure", integer=False)
    return out


def _count(data: pd.DataFrame, outcome: str, family: str) -> np.ndarray:
    values = numeric_column(data, outcome, argument="outcome", allow_missing=True).to_numpy()
    if np.isnan(values).any():
        numeric_column(data, outcome, argument="outcome")  # raises, naming the rows
    bad = (values < 0) | (values != np.round(values))
    if bad.any():
        kind = {"binomial": "a number of events"}.get(family, f"a count ({family} family)")
        raise InvalidValueError(
            f"`outcome` {outcome!r} must be {kind}: a non-negative whole number; rows "
            f"{show_values(list(data.index[bad]))} hold {show_values(values[bad])}. Counts "
            "of days or events are whole numbers; for a continuous outcome use "
            "family='gaussian', for a rate give the count with exposure=."
        )
    return values


def _within_sd(data: pd.DataFrame, outcome_sd: str | None, count: np.ndarray) -> np.ndarray:
    if outcome_sd is None:
        raise InvalidValueError(
            "aggregated Gaussian input needs `outcome_sd`, the within-cell standard deviation "
            "of the outcome (ddof=1): the mixed model's residual variance is estimated from "
            "the spread of children's values inside each cell, which cell means alone lack."
        )
    sd = numeric_column(data, outcome_sd, argument="outcome_sd", allow_missing=True).to_numpy()
    missing = np.isnan(sd)
    if (bad := missing & (count > 1)).any():
        raise InvalidValueError(
            f"`outcome_sd` {outcome_sd!r} is missing in rows {show_values(list(data.index[bad]))}"
            ", cells of more than one child; only a one-child cell may leave it empty."
        )
    if (bad := ~missing & (sd < 0)).any():
        raise InvalidValueError(
            f"`outcome_sd` {outcome_sd!r} is negative in rows "
            f"{show_values(list(data.index[bad]))}; it is a standard deviation."
        )
    return np.where(missing, 0.0, sd)


def trial_cells(
    keys: pd.DataFrame,
    by: Sequence[str],
    values: dict[str, np.ndarray],
    family: str,
) -> TrialCells:
    """Collapse rows (or take aggregated cells) into the cells the likelihood needs.

    ``keys`` has the ``by`` columns per row (cluster and period codes, treatment, covariates);
    ``values`` comes from :func:`clean_outcome`.
    """
    frame = keys.copy()
    frame["__y__"] = values["y"]
    by = list(by)
    exposure = values.get("exposure")
    if "denominator" in values:
        return _aggregated_cells(frame, by, values, family)
    if exposure is not None:
        frame["__e__"] = exposure
    if family == "negative_binomial":
        by = [*by, "__y__"] + (["__e__"] if exposure is not None else [])
    cells = collapse(
        frame, outcome="__y__", by=by, exposure="__e__" if exposure is not None else None
    )
    sums = cells.sums
    rows = sums["n"].to_numpy(dtype=np.float64)
    y = sums["sum_wy"].to_numpy(dtype=np.float64)
    e = sums["sum_we"].to_numpy(dtype=np.float64)
    keys_out = cells.keys.reset_index(drop=True)
    if family == "negative_binomial":
        y_cell = keys_out["__y__"].to_numpy(dtype=np.float64)
        e_cell = keys_out["__e__"].to_numpy(dtype=np.float64) if exposure is not None else 1.0
        offset = np.broadcast_to(np.log(e_cell), y_cell.shape).astype(np.float64)
        constant = float(-np.sum(rows * special.gammaln(y_cell + 1)))
        return TrialCells(
            keys_out,
            y_cell,
            np.ones(len(y_cell)),
            offset,
            rows,
            np.zeros(len(y_cell)),
            rows,
            round(rows.sum()),
            constant,
        )
    if family == "poisson":
        y_rows = values["y"]
        log_e = np.log(exposure) if exposure is not None else np.zeros(len(y_rows))
        constant = float(np.sum(y_rows * log_e - special.gammaln(y_rows + 1)))
        offset = np.log(e)
        return TrialCells(
            keys_out,
            y,
            np.ones(len(y)),
            offset,
            np.ones(len(y)),
            np.zeros(len(y)),
            rows,
            round(rows.sum()),
            constant,
        )
    sum_y2 = sums["sum_wy2"].to_numpy(dtype=np.float64)
    # binomial rows are Bernoulli (no constant); Gaussian REML has none
    return TrialCells(
        keys_out, y, rows, np.zeros(len(y)), np.ones(len(y)), sum_y2, rows, round(rows.sum()), 0.0
    )


def _aggregated_cells(
    frame: pd.DataFrame, by: list[str], values: dict[str, np.ndarray], family: str
) -> TrialCells:
    """Sum aggregated rows that share every key, in the cell order row-level input gets.

    Sums of binomial (and Poisson) counts over rows with the same probability (rate) are
    binomial (Poisson) in the summed denominators (exposures), and Gaussian cells combine by
    their sums and sums of squares, so the likelihood is unchanged; putting the cells in the
    same order as collapsed child rows makes the two fits the same computation.
    """
    d = values["denominator"]
    y = values["y"]
    columns = {"rows": d}
    if family == "gaussian":
        columns |= {"sum_y": y * d, "sum_y2": (d - 1) * values["sd"] ** 2 + d * y**2}
        constant = 0.0
    else:
        exposure = values.get("exposure", d)
        columns |= {"sum_y": y, "exposure": exposure}
        if family == "binomial":
            constant = _cell_constant(family, y, d, np.zeros(len(y)))
        else:
            constant = _cell_constant(family, y, d, np.log(exposure))
    cell, first = cell_codes(frame, by)
    n_cells = len(first)
    sums = {k: np.bincount(cell, weights=v, minlength=n_cells) for k, v in columns.items()}
    keys = frame[by].iloc[first].reset_index(drop=True)
    rows = sums["rows"]
    ones = np.ones(n_cells)
    if family == "gaussian":
        return TrialCells(
            keys,
            sums["sum_y"],
            rows,
            np.zeros(n_cells),
            ones,
            sums["sum_y2"],
            rows,
            round(float(rows.sum())),
            constant,
        )
    n = rows if family == "binomial" else ones
    offset = np.zeros(n_cells) if family == "binomial" else np.log(sums["exposure"])
    return TrialCells(
        keys,
        sums["sum_y"],
        n,
        offset,
        ones,
        np.zeros(n_cells),
        rows,
        round(float(rows.sum())),
        constant,
    )


def _cell_constant(family: str, y: np.ndarray, n: np.ndarray, offset: np.ndarray) -> float:
    if family == "binomial":
        log_choose = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
        return float(np.sum(log_choose))
    return float(np.sum(y * offset - special.gammaln(y + 1)))
