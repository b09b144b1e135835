"""Weighted cells: the sufficient statistics every linear and GLM fit in the library runs on.

Rows that share a design row are collapsed to (count, sum of weights, weighted sums of the
outcome and its square, exposure) without changing any estimate or cluster-robust variance.
:mod:`~sfpc_eval.cells.collapse` builds the cells from a DataFrame (the engines build the same
cells where the data live), :mod:`~sfpc_eval.cells.fit` fits Gaussian, Poisson and logistic
models on them, and :mod:`~sfpc_eval.cells.absorb` demeans by many fixed-effect levels.

Builds on the foundation modules only; the DiD and trial estimators build on it.
"""

from sfpc_eval.cells.absorb import demean
from sfpc_eval.cells.collapse import (
    CELL_SUMS,
    Cells,
    cell_codes,
    collapse,
    factorize_sorted,
    in_grid_order,
)
from sfpc_eval.cells.fit import FAMILIES, CellFit, check_family, fit_cells

__all__ = [
    "CELL_SUMS",
    "FAMILIES",
    "CellFit",
    "Cells",
    "cell_codes",
    "check_family",
    "collapse",
    "demean",
    "factorize_sorted",
    "fit_cells",
    "in_grid_order",
]
