"""What a fitted stepped-wedge model needs to predict again, and the option and alias checks.

:class:`TrialDesign` records how :func:`~sfpc_eval.trials.analysis.stepped_wedge` built its
fixed-effects design (covariate coding, period and council levels, treatment columns, the GLMM's
council intercepts) so that :mod:`sfpc_eval.trials.marginal` can rebuild the design for any
rows, under intervention and under control.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sfpc_eval.cells.categorical import CovariateCoding
from sfpc_eval.errors import DesignError, InvalidValueError, show_values
from sfpc_eval.trials.effects import drop_aliased

__all__ = ["TrialDesign", "check_aliased", "check_options"]

TREATMENT_LEVELS = ("cluster", "child")


@dataclass(frozen=True, eq=False)
class TrialDesign:
    """How the fixed-effects design of a stepped-wedge fit was built.

    Attributes
    ----------
    coding : CovariateCoding
        The covariates' model columns.
    cluster_levels, period_levels : ndarray
        Sorted council and period values (codes are positions in these).
    treat_names : tuple of str
        The treatment columns kept in the model.
    effect_by : str or None
        ``"period"``, a column, or None.
    by_levels : ndarray or None
        Levels of ``effect_by``.
    cluster_effects : bool
        Council fixed effects in the design (GLM).
    cluster_offsets : ndarray
        GLMM: each council's estimated random intercept (conditional mode); zeros otherwise.
    treatment_level : str
        ``"cluster"`` or ``"child"``.
    """

    coding: CovariateCoding
    cluster_levels: np.ndarray
    period_levels: np.ndarray
    treat_names: tuple[str, ...]
    effect_by: str | None
    by_levels: np.ndarray | None
    cluster_effects: bool
    cluster_offsets: np.ndarray = field(repr=False)
    treatment_level: str = "cluster"


def check_options(ri, exposure_time: bool, effect_by, treatment_level) -> None:
    """Refuse option combinations ``stepped_wedge`` cannot honour, saying why."""
    if treatment_level not in TREATMENT_LEVELS:
        raise InvalidValueError(
            f"`treatment_level` must be 'cluster' (a council's children share its condition in "
            f"each period) or 'child' (defined on each child's own dates); got "
            f"{treatment_level!r}."
        )
    if effect_by is not None and not isinstance(effect_by, str):
        raise InvalidValueError(
            f"`effect_by` must be 'period' or a column name; got {effect_by!r}."
        )
    if effect_by is not None and exposure_time:
        raise InvalidValueError(
            "`effect_by` and `exposure_time=True` both split the treatment effect; use one."
        )
    if ri is not None and (effect_by is not None or treatment_level == "child"):
        what = "effect_by" if effect_by is not None else "treatment_level='child'"
        raise InvalidValueError(
            f"randomization inference re-assigns each council's switch period; with {what} "
            "the treatment columns are not a function of the switch period alone. Fit without "
            "SteppedWedgeRandomization, or use the council-level treatment for the test."
        )


def check_aliased(
    z: np.ndarray, names: Sequence[str], treat_names: Sequence[str], effect_by: str | None
) -> tuple[np.ndarray, tuple[str, ...], list[str], list[str]]:
    """Drop aliased columns with a note; an error when the treatment effect is among them.

    Returns the kept design and names, the kept treatment columns and the notes.
    """
    kept_z, kept, dropped = drop_aliased(z, list(names), list(treat_names))
    notes = []
    lost_treatment = [t for t in dropped if t in treat_names]
    kept_treatment = [t for t in treat_names if t not in dropped]
    if lost_treatment and (effect_by is None or not kept_treatment):
        raise DesignError(
            f"the treatment effect is not identified: {show_values(lost_treatment)} is a "
            "combination of the period (and council) effects and covariates, so the data cannot "
            "tell the intervention from them. Check that councils switch at different times "
            "and that no covariate is a function of the treatment."
        )
    if lost_treatment:
        notes.append(
            f"{show_values(lost_treatment)} dropped: not identified (in a stepped wedge every "
            "council is treated in the last period, so the effect there is the period effect)."
        )
    other = [d for d in dropped if d not in treat_names]
    if other:
        notes.append(
            f"dropped as aliased (a combination of earlier columns in these data, as glmer drops "
            f"rank-deficient columns): {show_values(other)}."
        )
    return kept_z, kept, kept_treatment, notes
