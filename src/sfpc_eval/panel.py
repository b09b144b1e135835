"""Validate a long data frame once, at the boundary, before any estimator sees it.

:func:`validate_panel` checks a unit x time panel and returns a frozen :class:`PanelSpec`.
:func:`numeric_column` and :func:`require_columns` are the column checks it is built from; the
estimators that take child-level rows (e.g. :func:`sfpc_eval.paired_change`) use them directly.

None of these functions modify the caller's DataFrame: a column that needs parsing (thousands
separators, with ``thousands=","``) is parsed into a copy.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfpc_eval._validate import SUPPRESSION_SYMBOLS, THOUSANDS_PATTERN, is_suppression_symbol
from sfpc_eval.errors import (
    DuplicateObservationError,
    InvalidValueError,
    MissingColumnError,
    SuppressedValueError,
    ThousandsSeparatorError,
    show_values,
)

__all__ = [
    "PanelSpec",
    "match_period",
    "numeric_column",
    "period_column",
    "require_columns",
    "require_present",
    "validate_panel",
]

_SYMBOLS_LOWER = {s.lower() for s in SUPPRESSION_SYMBOLS}
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def require_columns(data: pd.DataFrame, columns: Mapping[str, str | None]) -> None:
    """Raise :class:`MissingColumnError` if a named column is not in ``data``.

    Parameters
    ----------
    data : pandas.DataFrame
        The data.
    columns : mapping of argument name to column name
        ``None`` values (optional arguments not given) are skipped.

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"la": [1]}), {"unit": "la"})
    """
    if not isinstance(data, pd.DataFrame):
        raise InvalidValueError(f"`data` must be a pandas DataFrame; got {type(data).__name__}.")
    for argument, column in columns.items():
        if column is not None and column not in data.columns:
            raise MissingColumnError(argument, [column], [str(c) for c in data.columns])
    named = [c for c in columns.values() if c is not None]
    twice = sorted({str(c) for c in data.columns[data.columns.duplicated()] if c in named})
    if twice:
        raise InvalidValueError(
            f"`data` has more than one column called {show_values(twice)}; rename or drop the "
            "copies so that each argument names one column."
        )
    _refuse_shared_roles(columns)
    if len(data) == 0:
        raise InvalidValueError("`data` has no rows; there is nothing to estimate from.")


_DISTINCT_ROLES = ("outcome", "treated", "cohort", "before", "after", "covariates")
"""Roles whose column may not serve any other role: the outcome as its own covariate, or the
treatment as the outcome, would be accepted and give a meaningless estimate."""


def _refuse_shared_roles(columns: Mapping[str, str | None]) -> None:
    by_column: dict[str, list[str]] = {}
    for argument, column in columns.items():
        if column is not None:
            by_column.setdefault(column, []).append(argument)
    for column, arguments in by_column.items():
        distinct = [a for a in arguments if a.split("[")[0] in _DISTINCT_ROLES]
        if len(arguments) > 1 and distinct:
            raise InvalidValueError(
                f"column {column!r} is given as {' and as '.join(f'`{a}`' for a in arguments)}; "
                f"{'the ' + distinct[0] if len(distinct) == 1 else 'these'} must be a column of "
                "its own. Name a different column for each."
            )


def _row_labels(data: pd.DataFrame, mask: np.ndarray) -> list[object]:
    return list(data.index[mask])


MAX_MAGNITUDE = 1e100
"""Largest absolute value a numeric column may hold: squares of larger numbers (variances,
sums of squares) overflow."""

MIN_MAGNITUDE = 1e-100
"""Smallest non-zero absolute value a numeric column may hold: products of smaller numbers
vanish."""


def numeric_column(
    data: pd.DataFrame,
    column: str,
    *,
    argument: str,
    thousands: str | None = None,
    allow_missing: bool = False,
    nonnegative: bool = False,
    integer: bool = False,
    binary: bool = False,
    keep_integers: bool = False,
) -> pd.Series:
    """Return ``data[column]`` as float64, or raise an error that shows the offending rows.

    Text that is not a number is never coerced to NaN. DfE suppression symbols (``c``, ``[x]``...)
    raise :class:`SuppressedValueError`; ``"1,234"`` raises :class:`ThousandsSeparatorError`
    unless ``thousands=","``, in which case it is parsed; anything else raises
    :class:`InvalidValueError`.

    Parameters
    ----------
    data : pandas.DataFrame
        The data (not modified).
    column : str
        The column to read.
    argument : str
        The argument that named the column, quoted in messages (e.g. ``"outcome"``).
    thousands : {None, ","}, default None
        Parse numbers written with this thousands separator instead of refusing them.
    allow_missing : bool, default False
        Keep missing values (NaN, None, empty strings) as NaN instead of refusing them.
    nonnegative : bool, default False
        Refuse negative values (counts).
    integer : bool, default False
        Refuse values that are not whole numbers (counts).
    binary : bool, default False
        Refuse values other than 0 and 1 (indicators, binary outcomes).
    keep_integers : bool, default False
        Return a column of numpy integers that passes the checks as it is, unconverted (a
        0/1 indicator on a million rows need not become 8 MB of floats).

    Returns
    -------
    pandas.Series
        A new float64 series with the same index (or the integers, with ``keep_integers``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"cpp": ["974", "1,032"]})
    >>> numeric_column(df, "cpp", argument="outcome", thousands=",").tolist()
    [974.0, 1032.0]
    """
    if thousands not in (None, ","):
        raise InvalidValueError(
            f"`thousands` may only be None or ','; got {thousands!r}. DfE and ONS files group "
            "thousands with commas; a '.' separator would be read as a decimal point."
        )
    raw = data[column]
    where = f"`{argument}` column {column!r}"
    if pd.api.types.is_bool_dtype(raw):
        raise InvalidValueError(f"{where} is boolean; pass 0/1 numbers if that is intended.")
    if pd.api.types.is_complex_dtype(raw):
        raise InvalidValueError(
            f"{where} holds complex numbers; an outcome or count is real. Pass the real part "
            "(df[col].to_numpy().real) if that is what you mean."
        )
    if _plain_integers_pass(raw, nonnegative=nonnegative, binary=binary):
        return raw.copy(deep=False) if keep_integers else raw.astype("float64")
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
    else:
        values = _parse_text(raw, where, thousands)
    array = values.to_numpy()
    observed = True  # every value finite (the usual case: one pass tells)
    if not np.isfinite(array).all():
        missing = np.isnan(array)
        if missing.any() and not allow_missing:
            raise InvalidValueError(
                f"{where} has missing values (NaN) in rows "
                f"{show_values(_row_labels(data, missing))}. Fill them, drop those rows "
                "yourself, or pass allow_missing=True where the method allows it."
            )
        if np.isinf(array).any():
            raise InvalidValueError(
                f"{where} has infinite values in rows "
                f"{show_values(_row_labels(data, np.isinf(array)))}."
            )
        observed = ~missing
    in_range = observed is True and _within_range(array)  # the usual case, without masks
    if not in_range and (bad := _out_of_range(array, observed)).any():
        raise InvalidValueError(
            f"{where} has values beyond the range sfpc_eval computes with (magnitudes from "
            f"{MIN_MAGNITUDE:g} to {MAX_MAGNITUDE:g}, or 0) in rows "
            f"{show_values(_row_labels(data, bad))} (values {show_values(array[bad])}): their "
            "squares and products overflow or vanish in floating point. Check the units (a rate "
            "per 10,000 is tens or hundreds) or rescale the column."
        )
    if nonnegative and (bad := observed & (array < 0)).any():
        raise InvalidValueError(
            f"{where} holds counts and cannot be negative; negative in rows "
            f"{show_values(_row_labels(data, bad))} (values {show_values(array[bad])}). "
            "Check for a sign error or a code for 'not available'."
        )
    if integer and (bad := observed & (array != np.floor(array))).any():
        raise InvalidValueError(
            f"{where} holds counts and must be whole numbers; not whole in rows "
            f"{show_values(_row_labels(data, bad))} (values {show_values(array[bad])}). "
            "If this is a rate, use an estimator for rates."
        )
    if binary and (bad := observed & (array != 0) & (array != 1)).any():
        raise InvalidValueError(
            f"{where} must be 0 or 1; other values {show_values(sorted(set(array[bad])))} in "
            f"rows {show_values(_row_labels(data, bad))}."
        )
    return values


def _plain_integers_pass(raw: pd.Series, *, nonnegative: bool, binary: bool) -> bool:
    """Whether ``raw`` holds numpy integers that pass every check of :func:`numeric_column`.

    Integers are finite, whole and within the magnitudes checked (|value| < 1e19, nonzero
    values at least 1), so only the sign and the 0/1 checks remain; each is one pass. When it
    is false the general path runs and words the error.
    """
    if not (isinstance(raw.dtype, np.dtype) and raw.dtype.kind in "iu"):
        return False
    ints = raw.to_numpy()
    if binary:  # as unsigned, negative values are huge: only 0 and 1 are at most 1
        return not (ints.view(f"u{ints.dtype.itemsize}") > 1).any()
    return not (nonnegative and ints.dtype.kind == "i" and (ints < 0).any())


def _within_range(array: np.ndarray) -> bool:
    """Whether every finite value of ``array`` has a magnitude from MIN to MAX_MAGNITUDE.

    Zeros are allowed but make this false (the caller's masked check then decides).
    """
    if not len(array):
        return True
    return (
        array.min() >= -MAX_MAGNITUDE
        and array.max() <= MAX_MAGNITUDE
        and not ((array > -MIN_MAGNITUDE) & (array < MIN_MAGNITUDE)).any()
    )


def _out_of_range(array: np.ndarray, observed: np.ndarray | bool) -> np.ndarray:
    """Rows whose observed value is beyond MAX_MAGNITUDE or nonzero below MIN_MAGNITUDE."""
    size = np.abs(np.where(observed, array, 1.0))
    return (size > MAX_MAGNITUDE) | ((size > 0) & (size < MIN_MAGNITUDE))


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
"""Text periods of this form are dates written year first: their text order is time order."""


def period_column(data: pd.DataFrame, column: str, *, argument: str = "time") -> pd.Series:
    """Return the period column as values that sort in time order, or raise naming the rows.

    Numbers, dates, ISO date text (``"2016-07-01"``, which sorts in time order as written) and
    ordered categoricals are periods as they are. Text that reads as numbers
    (``"8"``, ``"2015"``) becomes numbers, so that ``"10"`` sorts after ``"9"``. Anything else
    is refused: a DfE symbol (``c``, ``x``) or an infinite value is not a period, and other text
    has no order a program can know.

    Raises
    ------
    InvalidValueError
        Naming the argument, the offending rows and values, and how to give an ordered column.

    Examples
    --------
    >>> import pandas as pd
    >>> period_column(pd.DataFrame({"t": ["8", "9", "10"]}), "t").tolist()
    [8, 9, 10]
    """
    raw = data[column]
    where = f"`{argument}` column {column!r}"
    if isinstance(raw.dtype, pd.CategoricalDtype):
        if raw.cat.ordered:
            return raw
        raise InvalidValueError(
            f"{where} is an unordered categorical; periods need an order. Make it ordered: "
            f"pd.Categorical(df[{column!r}], categories=[...in time order...], ordered=True)."
        )
    if pd.api.types.is_datetime64_any_dtype(raw) or isinstance(raw.dtype, pd.PeriodDtype):
        return raw
    if pd.api.types.is_integer_dtype(raw):
        return raw  # integers are finite
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.to_numpy(dtype=float)
        infinite = np.isinf(values)
        if infinite.any():
            raise InvalidValueError(
                f"{where} holds infinite values in rows "
                f"{show_values(_row_labels(data, infinite))}; a period must be a finite number "
                "or a date."
            )
        return raw
    texts = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
    symbols = texts.map(is_suppression_symbol).to_numpy(dtype=bool)
    if symbols.any():
        raise InvalidValueError(
            f"{where} holds DfE symbols, not periods, in rows "
            f"{show_values(_row_labels(data, symbols))} (values "
            f"{show_values(sorted(set(texts[symbols])))}). Drop those rows or fix the column."
        )
    iso = texts.map(lambda v: isinstance(v, str) and ISO_DATE.fullmatch(v) is not None)
    if iso.to_numpy(dtype=bool).all():
        return raw  # ISO dates (2016-07-01) sort in time order as they are written
    numbers = pd.to_numeric(texts, errors="coerce")
    finite = np.isfinite(numbers.to_numpy(dtype=float))
    if finite.all():
        whole = (numbers == numbers.round()).all()
        return numbers.astype("int64") if whole else numbers
    if numbers.notna().all():
        raise InvalidValueError(
            f"{where} holds infinite values in rows "
            f"{show_values(_row_labels(data, ~finite))}; a period must be a finite number or a "
            "date."
        )
    shown = sorted({str(v) for v in texts[~finite]})[:5]
    raise InvalidValueError(
        f"{where} holds text ({show_values(shown)}) with no order a program can know: as text, "
        "'10' sorts before '9' and 'Q1 2021' before 'Q4 2020'. Give periods as numbers (2015), "
        f"dates, or an ordered categorical: pd.Categorical(df[{column!r}], categories=[...in "
        "time order...], ordered=True)."
    )


def match_period(value: object, raw: pd.Series, periods: pd.Series) -> object:
    """Return the period in ``periods`` (from :func:`period_column`) that ``value`` names.

    ``value`` (e.g. ``start``) may be written as the caller's label (``"2015"`` in a text
    column) or as the period itself (``2015``); either way the cleaned period is returned. A
    value that names no row comes back unchanged, for the caller's "not a period" error.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.Series(["8", "9", "10"])
    >>> match_period("10", raw, pd.Series([8, 9, 10]))
    10
    """
    if isinstance(value, str):
        hits = raw.map(lambda v: v.strip() if isinstance(v, str) else v) == value.strip()
        hits = hits.to_numpy(dtype=bool)
        if hits.any():
            found = periods[hits].iloc[0]
            return found.item() if isinstance(found, np.generic) else found
        if pd.api.types.is_numeric_dtype(periods) and _NUMBER.match(value):
            number = float(value)
            return (
                int(number)
                if pd.api.types.is_integer_dtype(periods) and number.is_integer()
                else number
            )
    return value


def require_present(data: pd.DataFrame, column: str, *, argument: str) -> None:
    """Raise :class:`InvalidValueError` if ``column`` has missing values (naming the rows).

    Examples
    --------
    >>> import pandas as pd
    >>> require_present(pd.DataFrame({"la": ["Leeds"]}), "la", argument="unit")
    """
    values = data[column]
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iub":
        return  # numpy integers and booleans cannot be missing
    missing = values.isna().to_numpy()
    if missing.any():
        raise InvalidValueError(
            f"`{argument}` column {column!r} has missing values in rows "
            f"{show_values(list(data.index[missing]))}; every row needs a {argument}."
        )


def _parse_text(raw: pd.Series, where: str, thousands: str | None) -> pd.Series:
    values = raw.tolist()
    labels = list(raw.index)
    texts = [v.strip() if isinstance(v, str) else None for v in values]

    def rows_where(flags: list[bool]) -> list[object]:
        return [label for label, flag in zip(labels, flags, strict=True) if flag]

    symbol = [t is not None and t.lower() in _SYMBOLS_LOWER for t in texts]
    if any(symbol):
        found = sorted({t for t, flag in zip(texts, symbol, strict=True) if flag and t})
        raise SuppressedValueError(
            f"{where} holds DfE suppression/availability symbols {show_values(found)} in rows "
            f"{show_values(rows_where(symbol))}. These mean the figure is withheld or not "
            "available, not zero. Read the file with sfpc_eval's readers (which record them as a "
            "status), or decide what those rows mean and filter or fill them explicitly."
        )
    grouped = [t is not None and bool(THOUSANDS_PATTERN.match(t)) for t in texts]
    if any(grouped) and thousands != ",":
        shown = [v for v, flag in zip(values, grouped, strict=True) if flag]
        raise ThousandsSeparatorError(
            f"{where} holds numbers with thousands separators, e.g. {show_values(shown)}, in "
            f"rows {show_values(rows_where(grouped))}. Pass thousands=',' to parse them, or read "
            "the file with thousands=','."
        )
    out = np.full(len(values), np.nan)
    bad: list[bool] = []
    for i, (value, text) in enumerate(zip(values, texts, strict=True)):
        if text is not None:
            cleaned = text.replace(",", "") if grouped[i] else text
            if cleaned == "":
                bad.append(False)  # an empty cell is missing, handled by the caller
            elif _NUMBER.match(cleaned):
                out[i] = float(cleaned)
                bad.append(False)
            else:
                bad.append(True)
        elif value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            bad.append(False)
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            out[i] = float(value)
            bad.append(False)
        else:
            bad.append(True)
    if any(bad):
        shown = [v for v, flag in zip(values, bad, strict=True) if flag]
        raise InvalidValueError(
            f"{where} must be numeric; it holds {show_values(shown)} in rows "
            f"{show_values(rows_where(bad))}. Convert or remove those values first."
        )
    return pd.Series(out, index=raw.index, name=raw.name)


@dataclass(frozen=True, eq=False)
class PanelSpec:
    """A validated unit x time panel: column roles, its shape, and a clean copy of the data.

    Attributes
    ----------
    data : pandas.DataFrame
        A copy of the caller's data with the outcome (and weights) as float64. The caller's
        frame is never modified.
    unit, time, outcome : str
        Column names.
    cohort, treated, cluster, weights : str or None
        Optional column names.
    n_units, n_periods, n_rows : int
        Number of distinct units, distinct periods and rows.
    periods : tuple
        Sorted distinct values of ``time``.
    balanced : bool
        True if every unit is observed in every period.
    n_missing_outcome : int
        Rows whose outcome is missing (only non-zero with ``allow_missing=True``).
    """

    data: pd.DataFrame = field(repr=False)
    unit: str
    time: str
    outcome: str
    cohort: str | None
    treated: str | None
    cluster: str | None
    weights: str | None
    n_units: int
    n_periods: int
    n_rows: int
    periods: tuple[object, ...]
    balanced: bool
    n_missing_outcome: int


def validate_panel(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    outcome: str,
    cohort: str | None = None,
    treated: str | None = None,
    cluster: str | None = None,
    weights: str | None = None,
    count: bool = False,
    thousands: str | None = None,
    allow_missing: bool = False,
) -> PanelSpec:
    """Check a long panel (one row per unit and time) and describe it.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit and period. Not modified.
    unit, time, outcome : str
        Columns holding the unit (e.g. LA code), the period (e.g. year ending 31 March) and the
        outcome.
    cohort : str, optional
        First treated period of each unit (missing = never treated).
    treated : str, optional
        0/1 treatment indicator.
    cluster : str, optional
        Cluster identifier for inference (defaults to ``unit`` downstream).
    weights : str, optional
        Non-negative weights (e.g. child population).
    count : bool, default False
        The outcome is a count: it must be a non-negative whole number.
    thousands : {None, ","}, default None
        Parse ``"1,234"`` in numeric columns instead of refusing it.
    allow_missing : bool, default False
        Keep rows with a missing outcome (they are counted in ``n_missing_outcome``, never
        dropped silently).

    Returns
    -------
    PanelSpec

    Raises
    ------
    MissingColumnError
        A named column is absent (the message lists the columns that exist).
    SuppressedValueError, ThousandsSeparatorError, InvalidValueError
        A numeric column holds symbols, separators, text, NaN, negative or non-whole counts.
    DuplicateObservationError
        More than one row for a unit and period.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"la": ["Leeds"] * 2, "year": [2011, 2017], "cpp": [974, 515]})
    >>> spec = validate_panel(df, unit="la", time="year", outcome="cpp", count=True)
    >>> spec.n_units, spec.n_periods, spec.balanced
    (1, 2, True)
    """
    roles = {
        "unit": unit,
        "time": time,
        "outcome": outcome,
        "cohort": cohort,
        "treated": treated,
        "cluster": cluster,
        "weights": weights,
    }
    require_columns(data, roles)
    for role in ("unit", "time"):
        require_present(data, roles[role], argument=role)
    clean = data.copy()
    clean[outcome] = numeric_column(
        data,
        outcome,
        argument="outcome",
        thousands=thousands,
        allow_missing=allow_missing,
        nonnegative=count,
        integer=count,
    )
    if weights is not None:
        clean[weights] = numeric_column(
            data, weights, argument="weights", thousands=thousands, nonnegative=True
        )
    if treated is not None:
        clean[treated] = numeric_column(data, treated, argument="treated", binary=True)
    duplicated = data.duplicated([unit, time], keep=False).to_numpy()
    if duplicated.any():
        keys = data.loc[duplicated, [unit, time]].drop_duplicates()
        shown = [f"({u}, {t})" for u, t in keys.itertuples(index=False)]
        raise DuplicateObservationError(
            f"{len(keys)} {unit} x {time} combination(s) appear more than once: "
            f"{show_values(shown)}; rows {show_values(list(data.index[duplicated]))}. A panel "
            f"needs one row per {unit} and {time}: aggregate the duplicates or fix the keys."
        )
    n_units = int(data[unit].nunique())
    periods = tuple(sorted(data[time].unique()))
    return PanelSpec(
        data=clean,
        unit=unit,
        time=time,
        outcome=outcome,
        cohort=cohort,
        treated=treated,
        cluster=cluster,
        weights=weights,
        n_units=n_units,
        n_periods=len(periods),
        n_rows=len(data),
        periods=periods,
        balanced=len(data) == n_units * len(periods),
        n_missing_outcome=int(clean[outcome].isna().sum()),
    )
