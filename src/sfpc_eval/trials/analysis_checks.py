"""Input checks and design matrix of :func:`~sfpc_eval.trials.analysis.stepped_wedge`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from sfpc_eval.cells.collapse import factorize_sorted
from sfpc_eval.errors import (
    DesignError,
    InvalidValueError,
    SeparationError,
    show_values,
)


def check_missing(
    data: pd.DataFrame, covariates: Sequence[str], *, outcome: str | None = None
) -> None:
    """Raise naming the covariates with missing values and how many rows each (impute first).

    A missing outcome is refused first, with the reason it is not imputed.
    """
    if outcome is not None and (lost := data[outcome].isna().to_numpy()).any():
        raise InvalidValueError(
            f"`outcome` {outcome!r} is missing for {int(lost.sum()):,} of {len(data):,} children "
            f"(rows {show_values(list(data.index[lost]))}). The outcome is not imputed: with "
            "covariates missing at random, imputed outcomes add no information to the effect "
            "and only noise (von Hippel's multiple imputation, then deletion), and an outcome "
            "that is missing because the child's follow-up is incomplete is censoring, not "
            "missingness. Find out why these outcomes are missing; drop those children "
            "explicitly (and say so) only if they are missing at random given the design."
        )
    missing = {c: int(data[c].isna().sum()) for c in covariates}
    missing = {c: k for c, k in missing.items() if k}
    if not missing:
        return
    rows = data[list(missing)].isna().any(axis=1).to_numpy()
    detail = ", ".join(f"{c!r} ({k:,} rows)" for c, k in missing.items())
    raise InvalidValueError(
        f"`covariates` have missing values in {int(rows.sum()):,} of {len(data):,} rows: {detail}; "
        f"first rows {show_values(list(data.index[rows]))}. stepped_wedge does not drop rows. "
        "Impute them with imputations=MultipleImputation(m=20, seed=...) (chained equations, "
        "pooled with Rubin's rules), or drop the rows yourself if a complete-case analysis is "
        "intended."
    )


def switch_periods(
    clean: pd.DataFrame, cluster: str, period: str, treated: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cluster and period codes per row, their levels, and each cluster's switch index."""
    c_codes, c_levels = factorize_sorted(clean[cluster])
    t_codes, t_levels = factorize_sorted(clean[period])
    n_c, n_t = len(c_levels), len(t_levels)
    status = clean[treated].to_numpy()
    cell = c_codes * n_t + t_codes
    rows = np.bincount(cell, minlength=n_c * n_t)
    on = np.bincount(cell, weights=status, minlength=n_c * n_t)
    varying = (on > 0) & (on < rows)
    if varying.any():
        bad = [f"({c_levels[i // n_t]}, {t_levels[i % n_t]})" for i in np.flatnonzero(varying)]
        raise DesignError(
            f"`treated` varies within {cluster} x {period} cells {show_values(bad)}. In a "
            "stepped wedge a whole cluster switches at once: fix the indicator, or give "
            "transition periods their own period value and drop them. If treatment is defined "
            "on each child's own dates (referred more than half way, or k weeks, into the "
            "switch period: sfpc_eval.trials.child_exposure), pass treatment_level='child'."
        )
    grid = np.full((n_c, n_t), -1)
    observed = rows.reshape(n_c, n_t) > 0
    grid[observed] = (on.reshape(n_c, n_t) > 0)[observed]
    switch = np.full(n_c, n_t)
    off = []
    for i in range(n_c):
        seen = np.flatnonzero(grid[i] == 1)
        if len(seen):
            switch[i] = seen[0]
            if np.any(grid[i, seen[0] :] == 0):
                off.append(c_levels[i])
    if off:
        raise DesignError(
            f"treatment switches off (1 then 0) in {cluster} {show_values(list(off))}. In a "
            "stepped wedge clusters cross from control to intervention once and stay: check the "
            f"`{treated}` column (a data-entry error, or a cluster that withdrew, which needs an "
            "analysis of its own)."
        )
    never = [c_levels[i] for i in range(n_c) if switch[i] == n_t]
    if never:
        raise DesignError(
            f"not a stepped wedge: {cluster} {show_values(never)} never switch to the "
            "intervention. Every cluster of a stepped-wedge trial crosses over; for a parallel "
            "or staggered design with never-treated units use sfpc_eval.did."
        )
    if len(set(switch.tolist())) == 1:
        raise DesignError(
            f"not a stepped wedge: every {cluster} switches in the same period "
            f"({t_levels[switch[0]]}), so the effect is confounded with time. Use a "
            "before-after or difference-in-differences design."
        )
    return c_codes, t_codes, c_levels, t_levels, switch


def sw_design_matrix(
    period_codes: np.ndarray,
    n_periods: int,
    treatment: np.ndarray,
    treatment_names: list[str],
    covariates: np.ndarray,
    covariate_names: Sequence[str],
    period_levels: np.ndarray,
    period: str,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Return the fixed-effects design (intercept, period dummies, treatment, covariates)."""
    columns = [np.ones(len(period_codes))]
    names = ["(intercept)"]
    for t in range(1, n_periods):
        columns.append((period_codes == t).astype(np.float64))
        names.append(f"{period}[{period_levels[t]}]")
    columns += list(treatment.T)
    names += treatment_names
    columns += list(covariates.T)
    names += list(covariate_names)
    return np.column_stack(columns), tuple(names)


def check_separation(z, names, y, n, fixed: Sequence[str], *, counts: bool = False) -> None:
    """Raise SeparationError when a 0/1 regressor predicts the outcome exactly.

    For counts (``counts=True``) only a group without a single event separates: its log rate
    would be minus infinity.
    """
    for j, name in enumerate(names):
        if name not in fixed:
            continue
        column = z[:, j]
        if not np.all((column == 0) | (column == 1)):
            continue
        for value in (1.0, 0.0):
            mask = column == value
            if not mask.any():
                continue
            events, rows = y[mask].sum(), n[mask].sum()
            if counts and events == 0:
                raise SeparationError(
                    f"no events at all among the {int(rows):,} observations with {name} = "
                    f"{int(value)}: their log rate is minus infinity and no count model can "
                    "estimate the effect. Pool sparse categories or drop that regressor."
                )
            if not counts and (events == 0 or events == rows):
                outcome = "0" if events == 0 else "1"
                raise SeparationError(
                    f"perfect separation: the outcome is {outcome} for all {int(rows):,} rows "
                    f"with {name} = {int(value)}, so its log odds ratio is infinite and no "
                    "logistic model can estimate it. Report the raw proportions, pool sparse "
                    "categories of the covariate, or compare risks directly."
                )


def check_group_separation(
    y: np.ndarray, n: np.ndarray, groups: Sequence[tuple[str, np.ndarray, Sequence[object]]]
) -> None:
    """Raise SeparationError when a fixed-effect group has no events or only events.

    ``groups`` holds ``(name, codes per cell, levels)``: the periods always (their effects are
    fixed in every model) and the clusters when they are fixed effects. A group whose outcome
    is always 0 (or always 1) has an infinite log odds, so no logistic fit exists; the fit
    would otherwise fail inside a matrix factorisation.

    Examples
    --------
    >>> import numpy as np
    >>> check_group_separation(np.array([1.0, 0.0]), np.array([4.0, 4.0]),
    ...                        [("period", np.array([0, 1]), ["Jan", "Feb"])])
    Traceback (most recent call last):
    ...
    sfpc_eval.errors.SeparationError: perfect separation: the outcome is 0 in every row of...
    """
    found = []
    for name, codes, levels in groups:
        events = np.bincount(codes, weights=y, minlength=len(levels))
        rows = np.bincount(codes, weights=n, minlength=len(levels))
        for i, level in enumerate(levels):
            if rows[i] > 0 and events[i] in (0, rows[i]):
                found.append(
                    f"the outcome is {0 if events[i] == 0 else 1} in every row of {name} "
                    f"{level} ({int(rows[i]):,} rows)"
                )
    if found:
        more = f" and {len(found) - 3} more" if len(found) > 3 else ""
        raise SeparationError(
            f"perfect separation: {'; '.join(found[:3])}{more}, so its effect on the log odds "
            "is infinite and no logistic model can estimate it. Pool that period with a "
            "neighbour, drop the cluster, or report the raw proportions."
        )


def average_marginal_effect(z, n, beta, offset, treat_cols) -> tuple[float, np.ndarray]:
    """Mean over rows of P(y | treated) - P(y | control), and its gradient in beta.

    ``offset`` is added to every linear predictor (the clusters' conditional modes for a
    GLMM), or is a pair ``(under control, under treatment)`` when it depends on the treatment
    (a random treatment slope).
    """
    offset0, offset1 = offset if isinstance(offset, tuple) else (offset, offset)
    z1, z0 = z.copy(), z.copy()
    z1[:, treat_cols], z0[:, treat_cols] = 1.0, 0.0
    p1 = special.expit(z1 @ beta + offset1)
    p0 = special.expit(z0 @ beta + offset0)
    total = n.sum()
    value = float(n @ (p1 - p0) / total)
    gradient = ((n * p1 * (1 - p1)) @ z1 - (n * p0 * (1 - p0)) @ z0) / total
    return value, gradient


def check_rank(z: np.ndarray, names: tuple[str, ...]) -> None:
    """Raise a DesignError naming the columns of ``z`` that are collinear with the others."""
    rank = np.linalg.matrix_rank(z)
    if rank == z.shape[1]:
        return
    current = z[:, :0]
    collinear = []
    for j in range(z.shape[1]):
        candidate = np.column_stack([current, z[:, j]])
        if np.linalg.matrix_rank(candidate) == candidate.shape[1]:
            current = candidate
        else:
            collinear.append(names[j])
    raise DesignError(
        f"these regressors are collinear with the period effects or earlier regressors: "
        f"{show_values(collinear)}. Drop them (a covariate constant over the whole trial, or "
        "an exposure time seen in only one period, cannot be estimated)."
    )


def rollout_groups(data, ri, cluster, c_codes, c_levels, switch) -> list[list[int]]:
    """Clusters grouped by stratum (indices into the sorted cluster levels)."""
    n_clusters = len(c_levels)
    if ri.design is not None:
        design = ri.design
        labels = [str(c) for c in design.clusters]
        ours = [str(c) for c in c_levels]
        if sorted(labels) != sorted(ours):
            raise InvalidValueError(
                f"`design` clusters {show_values(labels)} are not the data's {cluster} values "
                f"{show_values(ours)}."
            )
        strata = design.strata or tuple("all" for _ in labels)
        by_label = dict(zip(labels, strata, strict=True))
        values = [by_label[c] for c in ours]
    elif ri.strata is not None:
        frame = pd.DataFrame({"c": c_codes, "s": data[ri.strata].to_numpy()})
        counts = frame.groupby("c")["s"].nunique(dropna=False)
        bad = [c_levels[i] for i in counts.index[counts.to_numpy() > 1]]
        if bad:
            raise InvalidValueError(
                f"`strata` column {ri.strata!r} varies within {cluster} {show_values(bad)}; "
                "a stratum is a property of the cluster."
            )
        values = frame.groupby("c")["s"].first().reindex(range(n_clusters)).tolist()
    else:
        values = ["all"] * n_clusters
    order = list(dict.fromkeys(values))
    return [[i for i in range(n_clusters) if values[i] == g] for g in order]
