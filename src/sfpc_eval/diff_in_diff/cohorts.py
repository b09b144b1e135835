"""Validate staggered-adoption input once, for every staggered estimator.

:func:`validate_cohorts` checks a long unit x period panel with a ``cohort`` column (the first
period in which a unit is treated) and returns a frozen :class:`CohortPanel` that the staggered
estimators (Callaway & Sant'Anna, Sun & Abraham, imputation, Bacon decomposition) share.

Cohort convention
-----------------
``cohort`` holds the first treated period, on the same scale as ``time`` (e.g. the DfE year
2021 for a council that switched model during the year ending 31 March 2021). A **missing**
cohort (NaN / None) means *never treated*; ``numpy.inf`` is accepted as a synonym. On the
returned :class:`CohortPanel`, never-treated units have cohort ``numpy.inf`` (so ``cohort > t``
reads "not yet treated at ``t``" for every unit).

R's ``did`` package codes never-treated units as ``0``. Here ``0`` is *not* silently read as
"never treated": if ``0`` is not one of the panel's periods it is refused with a message that
says how to recode it (``data[cohort].replace(0, np.nan)``), because a ``0`` that means "year 0"
and a ``0`` that means "never" cannot be told apart.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from sfpc_eval.errors import (
    DesignError,
    DuplicateObservationError,
    InvalidValueError,
    SingleUnitCohortWarning,
    show_values,
)
from sfpc_eval.panel import numeric_column, require_columns, require_present

__all__ = ["CohortPanel", "validate_cohorts"]

Control = Literal["never", "not_yet"]


@dataclass(frozen=True, eq=False)
class CohortPanel:
    """A validated staggered-adoption panel.

    Attributes
    ----------
    data : pandas.DataFrame
        A copy of the caller's rows, sorted by unit then time, with ``outcome``, ``cohort``
        (never treated = ``inf``), covariates and weights as float64. Columns not named in the
        call are kept unchanged. The caller's frame is never modified.
    outcome, unit, time, cohort : str
        Column names.
    covariates : tuple of str
        Covariate columns.
    weights : str or None
        Weight column (constant within unit), or None.
    periods : numpy.ndarray
        Sorted distinct values of ``time`` (float64).
    units : numpy.ndarray
        Distinct unit ids, in the order used by :attr:`unit_cohort` (sorted).
    unit_cohort : numpy.ndarray
        First treated period of each unit (float64); ``numpy.inf`` for never-treated units.
    cohorts : numpy.ndarray
        Sorted distinct finite cohorts.
    cohort_sizes : dict
        Number of units in each finite cohort.
    n_units, n_periods, n_rows, n_never_treated : int
        Size of the panel.
    n_missing_unit_periods : int
        Unit-periods absent from the data (0 for a balanced panel).
    balanced : bool
        True if every unit is observed in every period.
    anticipation : int
        Number of periods before ``cohort`` in which units may already respond.
    control : {"never", "not_yet"}
        Comparison group requested.
    """

    data: pd.DataFrame = field(repr=False)
    outcome: str
    unit: str
    time: str
    cohort: str
    covariates: tuple[str, ...]
    weights: str | None
    periods: np.ndarray = field(repr=False)
    units: np.ndarray = field(repr=False)
    unit_cohort: np.ndarray = field(repr=False)
    cohorts: np.ndarray = field(repr=False)
    cohort_sizes: dict[float, int]
    n_units: int
    n_periods: int
    n_rows: int
    n_never_treated: int
    n_missing_unit_periods: int
    balanced: bool
    anticipation: int
    control: str


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _num(value: float) -> int | float:
    """Return a period as it reads best in a message: 2021, not 2021.0."""
    return int(value) if float(value).is_integer() else float(value)


def _check_anticipation(anticipation: object) -> int:
    if (
        isinstance(anticipation, bool)
        or not isinstance(anticipation, numbers.Real)
        or anticipation < 0
        or float(anticipation) != int(anticipation)
    ):
        raise InvalidValueError(
            f"`anticipation` must be a whole number of periods >= 0; got {anticipation!r}."
        )
    return int(anticipation)


def check_window(window: object, example: str = "") -> tuple[int, int]:
    """Return an event-time ``window`` as whole numbers ``(first, last)``, first < last.

    ``example`` is added to the error message after the rule (e.g. ``", e.g. (-4, 3)"``).
    """
    if (
        not isinstance(window, tuple | list)
        or len(window) != 2
        or not all(isinstance(w, int | np.integer) and not isinstance(w, bool) for w in window)
        or window[0] >= window[1]
    ):
        raise InvalidValueError(
            f"`window` must be a pair of whole numbers (first, last) with first < last{example}; "
            f"got {window!r}."
        )
    return int(window[0]), int(window[1])


def check_reference(reference: object, example: str = "") -> int:
    """Return a reference event time as a whole number.

    ``example`` is added to the error message after the rule (e.g. ``" (e.g. -1)"``).
    """
    if isinstance(reference, bool) or not isinstance(reference, int | np.integer):
        raise InvalidValueError(
            f"`reference` must be a whole number of periods relative to adoption{example}; got "
            f"{reference!r}."
        )
    return int(reference)


def _unit_constant(
    values: np.ndarray,
    starts: np.ndarray,
    units: np.ndarray,
    column: str,
    argument: str,
    unit: str,
    what: str,
) -> None:
    """Raise if ``values`` (sorted by unit; NaN already mapped to inf) vary within a unit."""
    low = np.minimum.reduceat(values, starts)
    high = np.maximum.reduceat(values, starts)
    bad = units[low != high]
    if len(bad):
        raise InvalidValueError(
            f"`{argument}` column {column!r} must be constant within each {unit}, but it varies "
            f"within {len(bad)} unit(s): {show_values(list(bad))}. {what}"
        )


def validate_cohorts(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    covariates: Sequence[str] | None = (),
    weights: str | None = None,
    allow_unbalanced: bool = False,
    anticipation: int = 0,
    control: Control = "never",
) -> CohortPanel:
    """Check a staggered-adoption panel and describe it.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit and period. Not modified.
    outcome, unit, time : str
        Outcome, unit id and period columns. ``time`` must be numeric (e.g. the year).
    cohort : str
        First treated period of each unit, constant within unit; missing (NaN) or ``inf`` means
        never treated (see the module notes on ``0``).
    covariates : sequence of str, optional
        Numeric covariate columns (no missing values).
    weights : str, optional
        Non-negative sampling weights, constant within unit.
    allow_unbalanced : bool, default False
        Accept units missing in some periods. Without it an unbalanced panel is an error that
        counts the missing unit-periods.
    anticipation : int, default 0
        Periods before ``cohort`` in which units may already respond, in units of ``time``
        (as R ``did``): the base period of cohort ``g`` is the last period ``p`` with
        ``p + anticipation < g``.
    control : {"never", "not_yet"}, default "never"
        Comparison group: never-treated units only, or never and not-yet-treated units.

    Returns
    -------
    CohortPanel

    Raises
    ------
    MissingColumnError
        A named column is absent.
    InvalidValueError
        Non-numeric or missing values (outcome, time, cohort, covariates, weights); a cohort not
        constant within unit; a cohort that is not one of the panel's periods (including an
        R-style ``0`` for never treated); a bad ``anticipation`` or ``control``.
    DuplicateObservationError
        More than one row for a unit and period.
    DesignError
        An outcome constant within every unit (nothing to estimate); units treated in the
        first period (no pre-period); no never-treated units with
        ``control="never"``; anticipation longer than the pre-period; an unbalanced panel
        without ``allow_unbalanced=True``; no treated cohort; not-yet-treated controls with no
        comparison units left in the last periods.

    Warns
    -----
    SingleUnitCohortWarning
        A cohort has a single unit: its group-time effects rest on one unit and their standard
        errors are fragile.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "la": np.repeat(["a", "b", "c", "d"], 3),
    ...     "year": np.tile([2019, 2020, 2021], 4),
    ...     "y": [1.0, 2, 3, 1, 2, 4, 2, 3, 4, 0, 1, 2],
    ...     "g": np.repeat([2020, 2020, np.nan, np.nan], 3),
    ... })
    >>> panel = validate_cohorts(df, outcome="y", unit="la", time="year", cohort="g")
    >>> panel.cohort_sizes, panel.n_never_treated
    ({2020.0: 2}, 2)
    >>> panel.unit_cohort
    array([2020., 2020.,   inf,   inf])
    """
    if control not in ("never", "not_yet"):
        raise InvalidValueError(
            f"`control` must be 'never' (never-treated units) or 'not_yet' (never and "
            f"not-yet-treated units); got {control!r}."
        )
    anticipation = _check_anticipation(anticipation)
    if covariates is None:
        covariates = ()
    if isinstance(covariates, str):
        covariates = (covariates,)
    covariates = tuple(covariates)
    roles = {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort, "weights": weights}
    require_columns(data, roles | {f"covariates[{i}]": c for i, c in enumerate(covariates)})
    require_present(data, unit, argument="unit")
    require_present(data, time, argument="time")

    clean = data.copy()
    clean[time] = numeric_column(data, time, argument="time")
    clean[outcome] = numeric_column(data, outcome, argument="outcome")
    cohort_frame = data[[cohort]]
    if pd.api.types.is_numeric_dtype(cohort_frame[cohort]) and not pd.api.types.is_bool_dtype(
        cohort_frame[cohort]
    ):
        # +inf is a documented synonym of missing (never treated)
        cohort_frame = cohort_frame.replace(np.inf, np.nan)
    clean[cohort] = numeric_column(cohort_frame, cohort, argument="cohort", allow_missing=True)
    for c in covariates:
        clean[c] = numeric_column(data, c, argument="covariates")
    if weights is not None:
        clean[weights] = numeric_column(data, weights, argument="weights", nonnegative=True)

    # sort once by unit then time; every per-unit check below works on the sorted arrays
    codes, uniques = pd.factorize(clean[unit], sort=True)
    times = clean[time].to_numpy(dtype="float64")
    order = np.lexsort((times, codes))
    codes_sorted, times_sorted = codes[order], times[order]
    same = (codes_sorted[1:] == codes_sorted[:-1]) & (times_sorted[1:] == times_sorted[:-1])
    if same.any():
        duplicated = np.zeros(len(order), dtype=bool)
        duplicated[order[1:][same]] = True
        duplicated[order[:-1][same]] = True
        keys = clean.loc[duplicated, [unit, time]].drop_duplicates()
        shown = [f"({u}, {_fmt(t)})" for u, t in keys.itertuples(index=False)]
        raise DuplicateObservationError(
            f"{len(keys)} {unit} x {time} combination(s) appear more than once: "
            f"{show_values(shown)}; rows {show_values(list(data.index[duplicated]))}. A panel "
            f"needs one row per {unit} and {time}: aggregate the duplicates or fix the keys."
        )
    starts = np.flatnonzero(np.r_[True, codes_sorted[1:] != codes_sorted[:-1]])
    units = np.asarray(uniques)

    # never treated: NaN (or +inf, mapped to NaN above) -> inf
    g = clean[cohort].to_numpy(dtype="float64", copy=True)
    g[np.isnan(g)] = np.inf
    clean[cohort] = g
    _unit_constant(
        g[order],
        starts,
        units,
        cohort,
        "cohort",
        unit,
        "A cohort is the first period the unit is treated, one value per unit (missing for "
        "never-treated units); fix the rows of those units.",
    )
    if weights is not None:
        _unit_constant(
            clean[weights].to_numpy(dtype="float64")[order],
            starts,
            units,
            weights,
            "weights",
            unit,
            "Staggered estimators weight units, not rows: give each unit one weight (e.g. its "
            "population in the first period).",
        )

    y_sorted = clean[outcome].to_numpy(dtype="float64")[order]
    if (np.maximum.reduceat(y_sorted, starts) == np.minimum.reduceat(y_sorted, starts)).all():
        raise DesignError(
            f"`outcome` {outcome!r} is constant within every {unit}: the unit fixed effects "
            "(or the unit's own base period) absorb everything, every effect is exactly 0 and "
            "no standard error or p-value means anything. Check that the right column is "
            "passed."
        )

    periods = np.unique(times)
    finite = np.isfinite(g)
    outside = finite & ~np.isin(g, periods)
    if outside.any():
        bad_values = np.unique(g[outside])
        bad_units = pd.unique(clean.loc[outside, unit])
        hint = (
            " R's `did` package codes never-treated units as 0; here never treated is missing: "
            f"recode with data.assign({cohort}=data[{cohort!r}].replace(0, np.nan))."
            if 0 in bad_values
            else ""
        )
        later = (
            f" Units first treated after the last period ({_fmt(periods[-1])}) are untreated "
            "throughout the panel: if that is what you mean, set their cohort to missing "
            "explicitly (they then count as never treated)."
            if (bad_values > periods[-1]).any()
            else ""
        )
        raise InvalidValueError(
            f"`cohort` column {cohort!r} holds values that are not periods of the panel "
            f"({_fmt(periods[0])} to {_fmt(periods[-1])}, {len(periods)} periods): "
            f"{show_values([_num(v) for v in bad_values])}, for {len(bad_units)} unit(s) "
            f"{show_values(list(bad_units))}. A cohort must be the first treated period, on the "
            f"same scale as `time` {time!r}.{hint}{later}"
        )

    clean = clean.iloc[order]
    unit_cohort = g[order][starts]
    n_units = len(units)
    n_periods = len(periods)

    treated_first = unit_cohort <= periods[0]
    if treated_first.any():
        raise DesignError(
            f"{int(treated_first.sum())} unit(s) are treated in the first period of the panel "
            f"({_fmt(periods[0])}): {show_values(list(units[treated_first]))}. They have no "
            "pre-treatment period, so no effect can be estimated for them and they cannot serve "
            "as controls. Drop them explicitly, e.g. "
            f"data[data[{cohort!r}].isna() | (data[{cohort!r}] > {_fmt(periods[0])})]."
        )
    if not np.isfinite(unit_cohort).any():
        raise DesignError(
            f"No unit is ever treated: `cohort` column {cohort!r} is missing for all {n_units} "
            "units. Give the first treated period of the treated units."
        )
    if anticipation > 0:
        finite_cohorts = np.unique(unit_cohort[np.isfinite(unit_cohort)])
        short = periods[0] + anticipation >= finite_cohorts
        if short.any():
            bad = finite_cohorts[short]
            n_bad = int(np.isin(unit_cohort, bad).sum())
            raise DesignError(
                f"`anticipation={anticipation}` is longer than the pre-period of cohort(s) "
                f"{show_values([_num(v) for v in bad])}, which hold {n_bad} unit(s): a cohort "
                "g needs a "
                f"period before g - {anticipation}, and the panel starts in "
                f"{_fmt(periods[0])}. Reduce `anticipation`, or drop those cohorts explicitly."
            )

    never = ~np.isfinite(unit_cohort)
    n_never = int(never.sum())
    if control == "never" and n_never == 0:
        raise DesignError(
            f"control='never' asks for never-treated comparison units, but all {n_units} units "
            f"are treated at some point (cohort column {cohort!r} has no missing values). Use "
            "control='not_yet' to compare with units not yet treated."
        )
    if control == "not_yet" and n_never == 0:
        last = np.max(unit_cohort)
        cut = last - anticipation
        raise DesignError(
            f"control='not_yet' with no never-treated units: from period {_fmt(cut)} on (the "
            f"last cohort {_fmt(last)}, less {anticipation} anticipation period(s)) no unit is "
            "left untreated to compare with. Keep only the periods before it explicitly, e.g. "
            f"data[data[{time!r}] < {_fmt(cut)}] (the last cohort then serves as a comparison)."
        )

    n_rows = len(clean)
    n_missing = n_units * n_periods - n_rows
    if n_missing and not allow_unbalanced:
        counts = np.diff(np.r_[starts, len(order)])
        short_units = list(units[counts < n_periods])
        raise DesignError(
            f"The panel is unbalanced: {n_missing} unit-period(s) are missing ({n_rows} rows for "
            f"{n_units} units x {n_periods} periods), in {len(short_units)} unit(s) "
            f"{show_values(short_units)}. Fill the gaps, drop those units explicitly, or pass "
            "allow_unbalanced=True if the estimator supports it."
        )

    cohorts, sizes = np.unique(unit_cohort[np.isfinite(unit_cohort)], return_counts=True)
    cohort_sizes = {float(c): int(s) for c, s in zip(cohorts, sizes, strict=True)}
    single = [c for c, s in cohort_sizes.items() if s == 1]
    if single:
        single_units = [units[unit_cohort == c][0] for c in single]
        warnings.warn(
            f"{len(single)} cohort(s) have a single unit: {show_values([_num(c) for c in single])}"
            f" (unit(s) {show_values(single_units)}). Their group-time effects rest on one unit, "
            "so inference for them is fragile: the standard errors use that unit's own "
            "deviation only. Report them with care, or pool cohorts.",
            SingleUnitCohortWarning,
            stacklevel=2,
        )

    return CohortPanel(
        data=clean.reset_index(drop=True),
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        covariates=covariates,
        weights=weights,
        periods=periods.astype("float64"),
        units=units,
        unit_cohort=unit_cohort,
        cohorts=cohorts,
        cohort_sizes=cohort_sizes,
        n_units=n_units,
        n_periods=n_periods,
        n_rows=n_rows,
        n_never_treated=n_never,
        n_missing_unit_periods=int(n_missing),
        balanced=n_missing == 0,
        anticipation=anticipation,
        control=control,
    )
