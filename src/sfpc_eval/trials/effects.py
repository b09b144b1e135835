"""Treatment columns of stepped-wedge models: by period or subgroup, child-level, aliased.

The functions here build the treatment columns of
:func:`~sfpc_eval.trials.analysis.stepped_wedge` when the effect is split by period or
subgroup, check child-level exposure, and drop columns the data cannot tell apart:

- :func:`effect_columns`: with ``effect_by="period"`` (or a column such as a council-level
  stratum or a child's age band) the single treatment indicator is replaced by one per level,
  ``treated:period[3]`` = treated x (period is 3), the parameterisation of R's
  ``factor(period) + treated:factor(period)``; the headline effect is their average.
- :func:`child_level_switch`: with ``treatment_level="child"`` treatment may vary within a
  council-period (a child counts as treated when referred more than half way, or k weeks, into
  the switch period); what is still refused is a share of treated children that falls over a
  council's periods, or a council never treated.
- :func:`drop_aliased`: columns that are linear combinations of earlier ones (a covariate level
  with no children in a subset, a period in which every council is treated) are dropped with a
  note, as ``glmer`` drops them; an error only when the effect itself cannot be estimated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sfpc_eval.cells.collapse import factorize_sorted
from sfpc_eval.errors import DesignError, show_values

__all__ = ["child_level_switch", "drop_aliased", "effect_columns", "effect_levels"]

ALIAS_TOL = 1e-7
"""A column whose part outside the span of the earlier columns is below this fraction of its
norm is aliased (the tolerance of R's ``qr()``, which ``lm`` and ``lme4`` use)."""


def drop_aliased(
    z: np.ndarray, names: Sequence[str], protected: Sequence[str]
) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
    """Drop columns of ``z`` that earlier columns already span, left to right.

    Returns the kept design, the kept names and the names dropped. ``protected`` columns (the
    treatment) are dropped too when aliased; the caller decides whether that is an error.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[1.0, 0, 1], [1, 1, 0], [1, 0, 1], [1, 1, 0]])
    >>> drop_aliased(z, ["(intercept)", "a", "b"], [])[1:]
    (('(intercept)', 'a'), ['b'])
    """
    kept: list[int] = []
    basis = np.zeros((z.shape[0], 0))
    dropped = []
    for j in range(z.shape[1]):
        column = z[:, j]
        norm = float(np.linalg.norm(column))
        residual = column.copy()
        for _ in range(2):  # Gram-Schmidt twice: orthogonal to working precision
            residual -= basis @ (basis.T @ residual)
        size = float(np.linalg.norm(residual))
        if norm == 0.0 or size <= ALIAS_TOL * norm:
            dropped.append(names[j])
            continue
        kept.append(j)
        basis = np.column_stack([basis, residual / size])
    del protected  # the caller decides what an aliased treatment column means
    return z[:, kept], tuple(names[j] for j in kept), dropped


def effect_levels(
    data: pd.DataFrame, effect_by: str, period: str, period_codes: np.ndarray, period_levels
) -> tuple[np.ndarray, np.ndarray, str]:
    """Codes and levels of the variable the effect is split by (``"period"`` or a column)."""
    if effect_by == "period":
        return period_codes, np.asarray(period_levels), period
    codes, levels = factorize_sorted(data[effect_by])
    return codes, np.asarray(levels), effect_by


def effect_columns(
    status: np.ndarray,
    by_codes: np.ndarray,
    by_levels: np.ndarray,
    label: str,
    treated: str,
    *,
    by_period: bool,
) -> tuple[np.ndarray, list[str], list[str]]:
    """One treatment indicator per level of the ``effect_by`` variable, for cells.

    ``status`` is each cell's treatment (0/1), ``by_codes`` its level code. Levels with no
    treated cells are left out when splitting by period (the periods before any council
    switches), with a note. For a subgroup (``by_period=False``) every level must have both
    treated and control children, otherwise its effect is not identified and a
    :class:`~sfpc_eval.errors.DesignError` names it.
    """
    columns, names, notes = [], [], []
    untreated = []
    for code, level in enumerate(by_levels):
        at_level = by_codes == code
        treated_here = at_level & (status == 1)
        if not treated_here.any():
            untreated.append(level)
            continue
        if not by_period and not (at_level & (status == 0)).any():
            raise DesignError(
                f"the effect for {label} = {level!r} is not identified: every child at that level "
                "was referred under the intervention, so nothing compares them with children "
                f"under control. Merge the level with another, or drop effect_by={label!r}."
            )
        columns.append(treated_here.astype(np.float64))
        names.append(f"{treated}:{label}[{level}]")
    if untreated and not by_period:
        raise DesignError(
            f"the effect for {label} = {show_values(untreated)} is not identified: the children "
            "at these levels were all referred under control, so no child at them was treated. "
            f"Merge the levels with others, or drop effect_by={label!r}."
        )
    if untreated:
        notes.append(
            f"no council is treated in {label} {show_values(untreated)}, so there is no effect "
            "to estimate there."
        )
    return np.column_stack(columns), names, notes


def child_level_switch(
    clean: pd.DataFrame, cluster: str, period: str, treated: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cluster and period codes, levels and switch periods when exposure is the child's own.

    The switch period of a council is the first period with a treated child. Refused: a
    council with no treated child, a share of treated children that falls from one of a
    council's periods to a later one, and every council switching in the same period.
    """
    c_codes, c_levels = factorize_sorted(clean[cluster])
    t_codes, t_levels = factorize_sorted(clean[period])
    n_c, n_t = len(c_levels), len(t_levels)
    status = clean[treated].to_numpy()
    cell = c_codes * n_t + t_codes
    rows = np.bincount(cell, minlength=n_c * n_t).reshape(n_c, n_t)
    on = np.bincount(cell, weights=status, minlength=n_c * n_t).reshape(n_c, n_t)
    share = np.divide(on, rows, out=np.full((n_c, n_t), np.nan), where=rows > 0)
    switch = np.full(n_c, n_t)
    falls = []
    for i in range(n_c):
        observed = np.flatnonzero(rows[i] > 0)
        seen = observed[share[i, observed] > 0]
        if len(seen):
            switch[i] = seen[0]
        drops = np.flatnonzero(np.diff(share[i, observed]) < -1e-12)
        if len(drops):
            a, b = observed[drops[0]], observed[drops[0] + 1]
            falls.append(
                f"{c_levels[i]} ({share[i, a]:.0%} in {t_levels[a]}, {share[i, b]:.0%} in "
                f"{t_levels[b]})"
            )
    if falls:
        raise DesignError(
            f"with treatment_level='child' the share of children counted as treated may only "
            f"grow over a council's periods (a child referred later is at least as exposed), but "
            f"it falls in {cluster} {show_values(falls)}. Rules such as 'referred at least half "
            "way, or k weeks, into the switch period' never do this: check how the column was "
            "built (an exposure window that ends at the outcome, say, makes it depend on the "
            "outcome)."
        )
    never = [c_levels[i] for i in range(n_c) if switch[i] == n_t]
    if never:
        raise DesignError(
            f"not a stepped wedge: no child in {cluster} {show_values(never)} is counted as "
            "treated. Every council of a stepped-wedge trial crosses over."
        )
    if len(set(switch.tolist())) == 1:
        raise DesignError(
            f"not a stepped wedge: the first treated children of every {cluster} are in the "
            f"same period ({t_levels[switch[0]]}), so the effect is confounded with time."
        )
    return c_codes, t_codes, c_levels, t_levels, switch
