"""Input and design checks of :func:`~sfpc_eval.diff_in_diff.twfe.did`, made before any fit."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sfpc_eval.cells.collapse import factorize_sorted, in_grid_order
from sfpc_eval.cells.fit import check_family
from sfpc_eval.errors import (
    DesignError,
    FewTreatedClustersWarning,
    InvalidValueError,
    SeparationError,
    show_values,
)
from sfpc_eval.inference.randomization import Randomization
from sfpc_eval.panel import numeric_column, period_column, require_columns, require_present

MAX_DUMMY_LEVELS = 1_000
"""Above this many unit and period levels, ``did`` absorbs the fixed effects by demeaning."""


def did_columns(
    outcome, unit, time, treated, covariates, weights, exposure, cluster
) -> tuple[dict[str, str | None], list[str]]:
    """Return the columns of a :func:`did` call by argument, and the key of its cells.

    Arguments are named as in messages (``covariates[0]``); unused ones map to None. Weights and
    exposure join the cell key, so every row of a cell carries the same ones (the GLM working
    variance of a row depends on its exposure: CR2/CR3 are then exact on cells).
    """
    roles = {"outcome": outcome, "unit": unit, "time": time, "treated": treated}
    roles |= {f"covariates[{i}]": c for i, c in enumerate(covariates)}
    roles |= {"weights": weights, "exposure": exposure, "cluster": cluster}
    extra = [c for c in (weights, exposure) if c is not None]
    return roles, list(dict.fromkeys([cluster, unit, time, treated, *covariates, *extra]))


def check_did_inputs(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    covariates: Sequence[str],
    weights: str | None,
    exposure: str | None,
    cluster: str,
    family: str,
    allow_switching_off: bool,
) -> pd.DataFrame:
    """Return the columns ``did`` uses, checked: present, numeric, no missing values.

    Raises the project's typed errors naming the argument and the offending rows.
    """
    roles, _ = did_columns(outcome, unit, time, treated, covariates, weights, exposure, cluster)
    require_columns(data, roles)
    check_family(family)
    for role, column in (("unit", unit), ("time", time), ("cluster", cluster)):
        require_present(data, column, argument=role)
    # a new frame (selecting columns copies, or is copy-on-write): the caller's is never touched
    clean = data[list(dict.fromkeys(c for c in roles.values() if c is not None))]
    periods = period_column(data, time, argument="time")
    if periods.dtype != clean[time].dtype:  # text read as numbers (else the column as it is)
        clean[time] = periods
    clean[outcome] = numeric_column(
        data,
        outcome,
        argument="outcome",
        nonnegative=family != "gaussian",
        binary=family == "binomial",
    )
    clean[treated] = numeric_column(
        data, treated, argument="treated", binary=True, keep_integers=True
    )
    for i, column in enumerate(covariates):
        clean[column] = numeric_column(data, column, argument=f"covariates[{i}]")
    if weights is not None:
        clean[weights] = numeric_column(data, weights, argument="weights", nonnegative=True)
    if exposure is not None:
        clean[exposure] = numeric_column(data, exposure, argument="exposure", nonnegative=True)
        if (clean[exposure] == 0).any():
            rows = list(data.index[(clean[exposure] == 0).to_numpy()])
            raise InvalidValueError(
                f"`exposure` column {exposure!r} is 0 in rows {show_values(rows)}; a rate needs "
                "a positive exposure."
            )
    return clean


def check_did_design(
    clean: pd.DataFrame,
    factors: dict,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    cluster: str,
    allow_switching_off: bool,
) -> bool:
    """Raise unless the panel identifies a DiD.

    Treatment constant within each unit-period, treated and comparison units, adoption that does
    not switch off (unless allowed), an outcome that varies within units. Returns whether the
    rows run through the unit x period grid in order (:func:`in_grid_order`).
    """
    u_codes, u_levels = factors[unit]
    t_codes, t_levels = factors[time]
    n_units, n_times = len(u_levels), len(t_levels)
    status = clean[treated].to_numpy()
    if in_grid_order(factors[unit], factors[time]):
        # one row per unit and period, in order: treatment cannot vary within a cell
        _check_grid_design(status, factors, unit, time, treated, cluster)
        if not allow_switching_off:
            _check_grid_adoption(status, factors, unit)
        _check_grid_outcome(clean, factors, outcome, unit)
        return True
    pair = u_codes * n_times + t_codes
    if n_units * n_times <= 4 * len(pair) + 1024:  # count on the unit x time grid directly
        rows = np.bincount(pair, minlength=n_units * n_times)
        treated_rows = np.bincount(pair, weights=status, minlength=n_units * n_times)
        ut_levels = np.flatnonzero(rows)
        if len(ut_levels) < len(rows):
            rows, treated_rows = rows[ut_levels], treated_rows[ut_levels]
    else:
        ut, ut_levels = factorize_sorted(pair)
        rows = np.bincount(ut)
        treated_rows = np.bincount(ut, weights=status)
    varying = (treated_rows > 0) & (treated_rows < rows)
    if varying.any():
        bad = ut_levels[varying]
        cells = [f"({u_levels[c // n_times]}, {t_levels[c % n_times]})" for c in bad]
        raise DesignError(
            f"`treated` varies within {unit} x {time} cells {show_values(cells)}. Treatment "
            f"must be the same for every row of a {unit} in a {time}: fix the indicator, or use "
            "a finer unit."
        )
    _check_both_groups(np.bincount(u_codes, weights=status, minlength=n_units) > 0, treated)
    _check_counts(factors, time, cluster, n_times)
    if not allow_switching_off:
        # status of each observed unit-time cell, in time order: -1 where not observed
        # ut_levels are sorted, i.e. by unit and then by time
        cell_status = (treated_rows > 0).astype(np.int8)
        cell_unit = ut_levels // n_times
        started = np.r_[True, cell_unit[1:] != cell_unit[:-1]]
        run = np.cumsum(cell_status)  # running count of treated cells, reset per unit
        base = np.maximum.accumulate(np.where(started, run - cell_status, 0))
        seen = (run - base - cell_status) > 0  # a treated cell earlier in the same unit
        off = seen & (cell_status == 0)
        if off.any():
            _switching_off(u_levels, np.unique(cell_unit[off]))
    y = clean[outcome].to_numpy()
    first = np.empty(n_units)
    first[u_codes[::-1]] = y[::-1]
    if np.array_equal(y, first[u_codes]):
        _constant_outcome(outcome, unit)
    return False


def _check_grid_design(status, factors, unit, time, treated, cluster) -> None:
    """Check groups and counts on a balanced panel in grid order (unit by unit, by period)."""
    n_units, n_times = len(factors[unit][1]), len(factors[time][1])
    _check_both_groups(status.reshape(n_units, n_times).any(axis=1), treated)
    _check_counts(factors, time, cluster, n_times)


def _check_grid_adoption(status, factors, unit) -> None:
    """Check that treatment never switches off, on a panel in grid order."""
    status = status.reshape(len(factors[unit][1]), -1)  # 0/1: off after on is a step down
    if (steps_down := status[:, 1:] < status[:, :-1]).any():
        _switching_off(factors[unit][1], np.flatnonzero(steps_down.any(axis=1)))


def _check_grid_outcome(clean, factors, outcome, unit) -> None:
    """Check that the outcome varies within some unit, on a panel in grid order."""
    y = clean[outcome].to_numpy().reshape(len(factors[unit][1]), -1)
    if (y[0] != y[0, 0]).any():  # the first unit varies: no need to look further
        return
    if (y == y[:, :1]).all():
        _constant_outcome(outcome, unit)


def _check_both_groups(ever: np.ndarray, treated: str) -> None:
    if ever.all() or not ever.any():
        which = "comparison (never-treated)" if ever.all() else "treated"
        raise DesignError(
            f"there are no {which} units in `{treated}`: a difference-in-differences needs "
            "both treated and comparison units."
        )


def _check_counts(factors, time: str, cluster: str, n_times: int) -> None:
    if n_times < 2:
        raise DesignError(
            f"`time` column {time!r} has one period; a difference-in-differences needs periods "
            "before and after treatment."
        )
    if len(factors[cluster][1]) < 2:
        raise DesignError(
            f"`cluster` column {cluster!r} has one cluster; cluster-robust inference needs at "
            "least 2 (and few-cluster corrections matter below about 40)."
        )


def _switching_off(unit_levels, unit_codes) -> None:
    units = sorted({unit_levels[u] for u in unit_codes}, key=str)
    raise DesignError(
        f"treatment switches off (1 then 0) in units {show_values(units)}. A standard "
        "difference-in-differences assumes adoption is permanent; pass "
        "allow_switching_off=True if reversals are real."
    )


def _constant_outcome(outcome: str, unit: str) -> None:
    raise DesignError(
        f"`outcome` {outcome!r} is constant within every {unit}: the unit fixed effects "
        "absorb everything and nothing can be identified."
    )


def check_did_separation(cells, unit: str, time: str, treated: str, family: str) -> None:
    """Raise SeparationError if a unit, period or treatment group has an outcome at a boundary.

    In a logit every event (or no event) in a group of a fixed effect or of the treatment makes
    that coefficient infinite; in a Poisson model no event does. The fit would then fail deep in
    a matrix factorisation; here the message names the groups and what to do.
    """
    if family == "gaussian":
        return
    sums = cells.sums
    found = []
    for column, what in ((treated, "treatment group"), (unit, "unit"), (time, "period")):
        by = sums.groupby(cells.keys[column].to_numpy())[["sum_w", "sum_wy"]].sum()
        none = by.index[by["sum_wy"] <= 0]
        every = by.index[by["sum_wy"] >= by["sum_w"]] if family == "binomial" else []
        label = (lambda v: f"{treated} = {v:g}") if column == treated else str
        found += [f"{what} {label(v)}: no events" for v in none]
        found += [f"{what} {label(v)}: every row an event" for v in every]
    if found:
        model = "logistic" if family == "binomial" else "Poisson"
        raise SeparationError(
            f"perfect separation in the {model} DiD: {show_values(found)}. Such a group's "
            "coefficient is infinite, so no maximum-likelihood estimate exists. Report the raw "
            "counts for those groups, drop units with no events (they carry no information "
            "about the effect in this model) or use family='gaussian' (risk differences)."
        )


def design_matrix(
    keys: pd.DataFrame, regressors: Sequence[str], unit: str, time: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Return the cells' design matrix (regressors, then unit and time dummies) and its names."""
    columns = [keys[r].to_numpy(dtype=np.float64) for r in regressors]
    names = list(regressors)
    columns.append(np.ones(len(keys)))
    names.append("(intercept)")
    for factor in (unit, time):
        codes, levels = pd.factorize(keys[factor], sort=True)
        for level_index in range(1, len(levels)):
            columns.append((codes == level_index).astype(np.float64))
            names.append(f"{factor}[{levels[level_index]}]")
    return np.column_stack(columns), tuple(names)


def _clearly_full_rank(gram: np.ndarray) -> bool:
    """Tell whether the column-scaled Gram matrix ``Z' D Z`` is well conditioned.

    Smallest eigenvalue above 1e-10 of the largest: the design then has full column rank and
    no collinear regressor needs naming.
    """
    scale = np.sqrt(np.diag(gram))
    if gram.size == 0 or not np.all(scale > 0):
        return gram.size == 0
    values = np.linalg.eigvalsh(gram / np.outer(scale, scale))
    return bool(values[0] > 1e-10 * values[-1])


def check_rank(
    z: np.ndarray,
    d: np.ndarray,
    names: tuple[str, ...],
    n_regressors: int,
    *,
    fixed_effects: bool = True,
    gram: np.ndarray | None = None,
) -> None:
    """Raise a DesignError naming the regressor that is collinear with the fixed effects.

    ``gram``, if the caller has it, is ``z' diag(d) z`` (saves a pass over the rows).
    """
    if gram is not None and _clearly_full_rank(gram):
        return
    weighted = np.sqrt(d)[:, None] * z
    if gram is None and _clearly_full_rank(weighted.T @ weighted):
        return  # one k x k eigendecomposition instead of one SVD per regressor
    fe_only = weighted[:, n_regressors:]
    base_rank = np.linalg.matrix_rank(fe_only) if fixed_effects else 0
    if fixed_effects and base_rank < fe_only.shape[1]:
        raise DesignError(
            "the unit and time fixed effects are collinear (a disconnected panel?); check that "
            "units and periods overlap."
        )
    collinear = []
    current = fe_only
    for j in range(n_regressors):
        candidate = np.column_stack([current, weighted[:, j]])
        if np.linalg.matrix_rank(candidate) == candidate.shape[1]:
            current = candidate
        else:
            collinear.append(names[j])
    if collinear:
        raise DesignError(
            f"these regressors are collinear with the fixed effects or with earlier regressors: "
            f"{show_values(collinear)}. Drop them; a covariate that is constant within a unit "
            "(or a period) is absorbed by the fixed effects."
        )


def _ever_treated(clean, factors, cluster, treated, rows_per_cluster) -> np.ndarray:
    codes, levels = factors[cluster]
    status = clean[treated].to_numpy()
    if rows_per_cluster:  # clusters are consecutive runs of this many rows
        return status.reshape(len(levels), rows_per_cluster).any(axis=1)
    return np.bincount(codes, weights=status, minlength=len(levels)) > 0


def warn_single_treated_cluster(
    clean, factors, cluster, treated, inference, rows_per_cluster: int = 0
) -> int:
    """Warn that cluster-robust inference is invalid with one treated cluster.

    ``rows_per_cluster``, when not 0, says that the rows run cluster by cluster, each
    cluster that many rows (the unit clusters of a panel in grid order). Returns the number of
    clusters with at least one treated observation.
    """
    levels = factors[cluster][1]
    ever = _ever_treated(clean, factors, cluster, treated, rows_per_cluster)
    if ever.sum() == 1 and not isinstance(inference, Randomization):
        warnings.warn(
            f"only one {cluster!r} cluster ({levels[np.argmax(ever)]}) is ever treated: "
            "cluster-robust standard errors then come from the comparison clusters alone and "
            "miss the treated cluster's own variability, so intervals are far too narrow. Use "
            "inference=Randomization() (its p-value cannot go below 1 / number of clusters) or "
            "a single-unit design (synthetic control).",
            FewTreatedClustersWarning,
            stacklevel=3,
        )
    return int(ever.sum())
