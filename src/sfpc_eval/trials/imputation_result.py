"""Multiply imputed trial data: the completed data sets and their diagnostics.

:class:`ImputedData` is what :func:`~sfpc_eval.trials.imputation.impute` returns. It keeps the
original rows and, for each imputed column, the ``m`` sets of values drawn for its missing rows,
and gives back:

- the completed data sets (:meth:`ImputedData.dataset`, :meth:`ImputedData.datasets`, or all
  stacked as ``mice::complete(imp, "long")`` with :meth:`ImputedData.long`);
- convergence diagnostics: the mean (numbers) or the share of each level (categories) of the
  imputed values at every iteration of every chain (:attr:`ImputedData.trace`, drawn by
  :meth:`ImputedData.plot_trace` as ``plot(imp)`` in mice), and the potential scale reduction
  factor of each over the last half of the iterations (:meth:`ImputedData.convergence`);
- observed against imputed values (:meth:`ImputedData.compare`, optionally by arm or council,
  drawn by :meth:`ImputedData.plot_compare`, as ``propplot`` in the SFPC scripts).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval._tables import Table, format_number
from sfpc_eval.errors import InvalidValueError

__all__ = ["ImputedColumn", "ImputedData"]


@dataclass(frozen=True, eq=False)
class ImputedColumn:
    """One imputed column.

    Attributes
    ----------
    name : str
    method : str
        ``logreg``, ``polyreg``, ``polr`` or ``pmm``.
    kind : str
        ``binary``, ``categorical``, ``ordered`` or ``numeric``.
    levels : tuple
        The levels (categorical kinds); codes index them.
    missing : ndarray of bool
        The rows that were missing.
    draws : ndarray
        ``m`` x missing rows: codes into ``levels``, or values (numeric).
    """

    name: str
    method: str
    kind: str
    levels: tuple
    missing: np.ndarray = field(repr=False)
    draws: np.ndarray = field(repr=False)

    @property
    def categorical(self) -> bool:
        """Whether the column holds categories (codes into ``levels``)."""
        return self.kind != "numeric"

    def values(self, i: int) -> np.ndarray:
        """Return the values filled in by imputation ``i`` (levels for categories)."""
        if self.categorical:
            return np.asarray(self.levels, dtype=object)[self.draws[i]]
        return self.draws[i]


@dataclass(frozen=True, eq=False)
class ImputedData:
    """Multiply imputed data: ``m`` completed copies of the rows, and how they were made.

    Attributes
    ----------
    data : pandas.DataFrame
        The rows as given (not modified).
    columns : dict of str to ImputedColumn
        The imputed columns.
    m, iterations, seed : int
    predictors : tuple of str
        The columns every imputation model conditions on (besides the other imputed columns).
    trace : pandas.DataFrame
        ``imputation, iteration, column, statistic, value``: the mean (numbers), or the share of
        each level (categories), of the imputed values after each iteration.
    notes : tuple of str
    """

    data: pd.DataFrame = field(repr=False)
    columns: Mapping[str, ImputedColumn] = field(repr=False)
    m: int
    iterations: int
    seed: int | None
    predictors: tuple[str, ...]
    trace: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    def dataset(self, i: int) -> pd.DataFrame:
        """Return the ``i``-th completed data set (0-based), a new DataFrame."""
        if not (isinstance(i, int | np.integer) and 0 <= i < self.m):
            raise InvalidValueError(f"imputation `i` must be 0 to {self.m - 1}; got {i!r}.")
        out = self.data.copy()
        for name, col in self.columns.items():
            original = self.data[name]
            filled = original.to_numpy(dtype=object).copy()
            filled[col.missing] = col.values(i)
            if isinstance(original.dtype, pd.CategoricalDtype):
                out[name] = pd.Categorical(filled, dtype=original.dtype)
            elif col.kind == "numeric" or pd.api.types.is_numeric_dtype(original):
                out[name] = filled.astype(np.float64)
            elif all(isinstance(v, bool | np.bool_) for v in col.levels):
                out[name] = filled.astype(bool)
            else:
                out[name] = filled
        return out

    def datasets(self) -> Iterator[pd.DataFrame]:
        """Yield the ``m`` completed data sets, one at a time."""
        for i in range(self.m):
            yield self.dataset(i)

    def long(self) -> pd.DataFrame:
        """Stack all completed data sets, with ``.imp`` (1 to m) and ``.id`` columns."""
        frames = []
        for i in range(self.m):
            frame = self.dataset(i)
            frame.insert(0, ".id", np.arange(1, len(frame) + 1))
            frame.insert(0, ".imp", i + 1)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    # ------------------------------------------------------------------ diagnostics
    def compare(self, by: str | None = None) -> pd.DataFrame:
        """Compare observed with imputed values of every imputed column.

        Parameters
        ----------
        by : str, optional
            A column of the data (arm, council) to compare within.

        Returns
        -------
        pandas.DataFrame
            ``column, statistic`` (a level, or ``mean`` and ``sd`` for numbers), optionally
            ``by``, then ``observed`` (share or value among observed rows), ``imputed`` (among
            imputed values, pooled over the imputations), ``mc_se`` (its standard deviation
            over imputations divided by sqrt(m)), ``n_observed`` and ``n_imputed`` (per
            imputation).
        """
        if by is not None and by not in self.data.columns:
            raise InvalidValueError(f"`by` {by!r} is not a column of the imputed data.")
        groups = [(None, np.ones(len(self.data), dtype=bool))]
        if by is not None:
            values = self.data[by].to_numpy()
            groups = [(g, values == g) for g in pd.unique(values)]
        rows = []
        for name, col in self.columns.items():
            observed_values = self.data[name].to_numpy()
            for label, mask in groups:
                obs = mask & ~col.missing
                imp = mask[col.missing]
                for stat, obs_value, per_imp in _statistics(col, observed_values[obs], imp):
                    row = {"column": name, "statistic": stat}
                    if by is not None:
                        row[by] = label
                    row |= {
                        "observed": obs_value,
                        "imputed": float(np.mean(per_imp)) if len(per_imp) else math.nan,
                        "mc_se": float(np.std(per_imp, ddof=1) / math.sqrt(self.m))
                        if len(per_imp) > 1
                        else math.nan,
                        "n_observed": int(obs.sum()),
                        "n_imputed": int(imp.sum()),
                    }
                    rows.append(row)
        return pd.DataFrame(rows)

    def convergence(self) -> pd.DataFrame:
        """Return the potential scale reduction factor (R-hat) of each traced statistic.

        Computed over the last half of the iterations, between the ``m`` chains (Gelman and
        Rubin); values near 1 (below about 1.1) mean the chains have mixed. With few iterations
        this is a rough guide: look at :meth:`plot_trace` too.
        """
        start = self.iterations // 2 + 1
        late = self.trace[self.trace["iteration"] >= start]
        rows = []
        for (column, stat), part in late.groupby(["column", "statistic"], sort=False):
            table = part.pivot_table(index="iteration", columns="imputation", values="value")
            n = len(table)
            chain_means = table.mean(axis=0)
            within = float(table.var(axis=0, ddof=1).mean()) if n > 1 else math.nan
            between = float(n * chain_means.var(ddof=1))
            if n > 1 and within > 0:
                rhat = math.sqrt(((n - 1) / n * within + between / n) / within)
            else:
                rhat = math.nan
            rows.append({"column": column, "statistic": stat, "rhat": rhat, "iterations": n})
        return pd.DataFrame(rows)

    def summary(self) -> Table:
        """Tabulate the imputed columns: method, rows imputed, and the largest R-hat."""
        rhat = self.convergence().groupby("column")["rhat"].max()
        rows = [
            [
                name,
                col.method,
                f"{int(col.missing.sum()):,} ({col.missing.mean():.1%})",
                format_number(float(rhat.get(name, math.nan))),
            ]
            for name, col in self.columns.items()
        ]
        return Table(
            f"Multiple imputation by chained equations ({self.m} imputations)",
            ["column", "method", "missing", "largest R-hat"],
            rows,
            facts=[
                ("iterations", str(self.iterations)),
                ("seed", str(self.seed)),
                ("predictors", ", ".join(self.predictors)),
            ],
            notes=list(self.notes),
        )

    def __str__(self) -> str:
        return self.summary().as_text()

    def plot_trace(self, column: str | None = None, ax=None, **style):
        """Draw one imputed column's shares or mean over iterations, one line per chain.

        ``style``: ``statistic`` (numeric columns: "mean" or "sd"), ``title``, ``source``
        (:func:`~sfpc_eval.plotting.plot_imputation_trace`).
        """
        from sfpc_eval.plotting import plot_imputation_trace

        return plot_imputation_trace(self, column, ax, **style)

    def plot_compare(self, column: str | None = None, ax=None, *, by: str | None = None, **style):
        """Draw one column's observed against imputed shares (categories) or mean and SD."""
        from sfpc_eval.plotting import plot_observed_imputed

        return plot_observed_imputed(self, column, ax, by=by, **style)


def _statistics(col: ImputedColumn, observed: np.ndarray, imputed_mask: np.ndarray):
    """(statistic, observed value, values per imputation) for a column within a group."""
    draws = col.draws[:, imputed_mask]
    if col.categorical:
        for code, level in enumerate(col.levels):
            obs_share = float(np.mean(observed == level)) if len(observed) else math.nan
            per = (draws == code).mean(axis=1) if draws.size else []
            yield str(level), obs_share, np.asarray(per, dtype=float)
        return
    values = observed.astype(np.float64)
    yield (
        "mean",
        float(values.mean()) if len(values) else math.nan,
        draws.mean(axis=1) if draws.size else np.array([]),
    )
    yield (
        "sd",
        float(values.std(ddof=1)) if len(values) > 1 else math.nan,
        draws.std(axis=1, ddof=1) if draws.shape[1] > 1 else np.array([]),
    )
