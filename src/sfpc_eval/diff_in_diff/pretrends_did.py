"""Pre-period diagnostics of a two-way fixed-effects DiD (:func:`~sfpc_eval.did`).

The leads come from the event study of the same panel, rebuilt from the result's cells, under
the result's inference (or the nearest one the event study offers); the placebo from
:func:`~sfpc_eval.diff_in_diff.pretrends.placebo_in_time`.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from sfpc_eval._validate import check_conf_level
from sfpc_eval.diff_in_diff.pretrends import (
    check_placebo_shift,
    event_study_pretrends,
    lead_inference,
    placebo_in_time,
)
from sfpc_eval.diff_in_diff.pretrends_result import PretrendResult
from sfpc_eval.errors import (
    DesignError,
    SingleUnitCohortWarning,
    UndefinedIntervalWarning,
    show_values,
)

__all__ = ["did_panel", "did_pretrends"]


def did_pretrends(result, placebo_shift: int | None, conf_level: float | None) -> PretrendResult:
    """Pre-period diagnostics of a :class:`~sfpc_eval.diff_in_diff.twfe_result.DidResult`."""
    from sfpc_eval.diff_in_diff.event_study import event_study

    shift = check_placebo_shift(placebo_shift)
    level = result.conf_level if conf_level is None else check_conf_level(conf_level)
    frame, weights = did_panel(result)
    inference, changed = lead_inference(result.inference, result.n_treated_clusters)
    with warnings.catch_warnings():
        # said already: did() warns about one treated cluster and the lead rows carry the note
        # on intervals under randomization
        warnings.simplefilter("ignore", SingleUnitCohortWarning)
        warnings.simplefilter("ignore", UndefinedIntervalWarning)
        es = event_study(
            frame,
            result.outcome,
            result.unit,
            result.time,
            "__cohort__",
            weights=weights,
            inference=inference,
            conf_level=level,
            bin_endpoints=False,
            allow_unbalanced=True,
        )
    out = event_study_pretrends(es, None, None, level)
    placebo = None
    if shift is not None:
        placebo = placebo_in_time(
            frame,
            outcome=result.outcome,
            unit=result.unit,
            time=result.time,
            cohort="__cohort__",
            shift=shift,
            inference=result.inference,
            conf_level=level,
            weights=weights,
        )
    terms = list(out.terms)
    if changed:
        terms = [replace(t, note=f"{t.note}; {changed}" if t.note else changed) for t in terms]
    if placebo is not None:
        terms.append(placebo)

    def refit(new_level: float) -> PretrendResult:
        return did_pretrends(result, placebo_shift, new_level)

    return replace(
        out,
        design="did",
        placebo_shift=shift,
        terms=tuple(terms),
        _refit_leads=refit,
    )


def did_panel(result) -> tuple[pd.DataFrame, str | None]:
    """Rebuild the unit x period panel a linear DiD was fitted on, with a ``__cohort__`` column.

    Raises a DesignError for non-linear families, child-level rows with covariates, treatment
    that switches off, or weights that vary within a unit.
    """
    if result.family != "gaussian":
        raise DesignError(
            f"pre-period diagnostics of a DiD are for the linear model; this one is "
            f"{result.family!r}. Run them on the rate (family='gaussian') model."
        )
    cells = result._cells
    unit, time, treated = result.unit, result.time, result.treated
    keys = cells.keys
    cluster = getattr(result.inference, "cluster", None) or unit
    frame = keys[list(dict.fromkeys([unit, time, treated, cluster, *result.covariates]))].copy()
    frame[result.outcome] = (cells.sums["sum_wy"] / cells.sums["sum_w"]).to_numpy()
    frame["__weight__"] = cells.sums["sum_w"].to_numpy()
    if frame.duplicated([unit, time]).any():
        if result.covariates:
            raise DesignError(
                "pre-period diagnostics of a DiD fitted on child-level rows with covariates "
                "are not available; aggregate to one row per unit and period, or call "
                "event_study on your panel."
            )
        w = frame["__weight__"]
        frame = (
            frame.assign(__wy__=frame[result.outcome] * w)
            .groupby([unit, time, cluster] if cluster != unit else [unit, time], as_index=False)
            .agg(
                __wy__=("__wy__", "sum"),
                __weight__=("__weight__", "sum"),
                **{treated: (treated, "max")},
            )
        )
        frame[result.outcome] = frame["__wy__"] / frame["__weight__"]
    on = frame.loc[frame[treated] == 1]
    first = on.groupby(unit)[time].min()
    frame["__cohort__"] = frame[unit].map(first).astype(float)
    switched_off = frame[(frame[time] >= frame["__cohort__"]) & (frame[treated] == 0)]
    if len(switched_off):
        raise DesignError(
            "pre-period diagnostics need treatment that stays on once it starts; units "
            f"{show_values(sorted(set(switched_off[unit].tolist()), key=str))} switch off."
        )
    constant = np.allclose(frame["__weight__"], 1.0)
    if constant:
        return frame.drop(columns="__weight__"), None
    varying = frame.groupby(unit)["__weight__"].nunique()
    if (varying > 1).any():
        raise DesignError(
            "pre-period diagnostics of a DiD whose weights (or child counts per cell) vary over "
            "time within a unit are not available (the event study takes unit weights); call "
            "event_study on your panel."
        )
    return frame, "__weight__"
