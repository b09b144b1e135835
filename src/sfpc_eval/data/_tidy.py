"""The tidy long layout every reader returns, and the checks on it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sfpc_eval.data._status import IMPLAUSIBLE
from sfpc_eval.data.areas import LocalAuthority
from sfpc_eval.data.measures import MEASURES
from sfpc_eval.errors import (
    DataFileError,
    DuplicateObservationError,
    InvalidValueError,
    show_values,
)

__all__ = [
    "IMPLAUSIBLE_CHOICES",
    "TIDY_COLUMNS",
    "check_implausible_choice",
    "empty_tidy",
    "finish",
    "tidy_block",
]

TIDY_COLUMNS: tuple[str, ...] = (
    "la_code",
    "old_la_code",
    "la_name",
    "year",
    "measure",
    "value",
    "status",
    "source_file",
    "source_format",
    "release",
)
"""Columns of every reader's output, in order.

``la_code`` is the ONS code in force that year, ``old_la_code`` the DfE 3-digit code (the key
that stays put when the ONS recodes an area), ``la_name`` the name as the latest releases print
it, ``year`` the year ending 31 March (the mid-year for ``population_0_17``), ``value`` a float
that is NaN exactly where ``status`` is not ``"published"`` (``"low reliability"`` keeps a value
when one was printed), ``source_format`` the reader's format name and ``release`` the latest year
of data in the source file, used to let the latest release win.
"""


def tidy_block(
    las: Sequence[LocalAuthority],
    years: Sequence[int] | np.ndarray,
    measure: str,
    values: np.ndarray,
    statuses: np.ndarray,
    *,
    source_file: str,
    source_format: str,
) -> pd.DataFrame:
    """Build tidy rows for one measure (``release`` is filled in by :func:`finish`)."""
    if measure not in MEASURES:  # pragma: no cover - readers only pass known names
        raise KeyError(measure)
    years = np.asarray(years, dtype=int)
    shift = 1 if MEASURES[measure].unit == "population" else 0
    return pd.DataFrame(
        {
            "la_code": [la.ons_code(int(y) + shift) for la, y in zip(las, years, strict=True)],
            "old_la_code": [la.old_la_code for la in las],
            "la_name": [la.name for la in las],
            "year": years,
            "measure": measure,
            "value": np.asarray(values, dtype=float),
            "status": np.asarray(statuses, dtype=object),
            "source_file": source_file,
            "source_format": source_format,
        }
    )


def empty_tidy() -> pd.DataFrame:
    """Return a tidy frame with no rows and the right columns."""
    return pd.DataFrame(
        {c: pd.Series(dtype=float if c == "value" else object) for c in TIDY_COLUMNS}
    )


NATIONAL_FILE_COUNCILS = 50
"""A file whose fullest year covers at least this many councils is read as a national file."""

PARTIAL_YEAR_SHARE = 0.9
"""In a national file, a year covering fewer councils than this share of the fullest year is
refused as cut short: boundary changes move the count by two or three, not by a tenth."""


def _refuse_partial_years(frame: pd.DataFrame, path: object) -> None:
    """Raise if a national file has a year of a measure covering far fewer councils than another.

    A download cut short at a line break keeps every column of every row it has, so only the
    coverage shows the loss: the last year in the file then covers 67 councils instead of 152.
    """
    if frame.empty:
        return
    counts = frame.groupby(["measure", "year"])["old_la_code"].nunique()
    fullest = counts.groupby(level="measure").transform("max")
    short = counts[(fullest >= NATIONAL_FILE_COUNCILS) & (counts < PARTIAL_YEAR_SHARE * fullest)]
    if short.empty:
        return
    shown = [
        f"{measure} {year}: {n} councils (fullest year {int(fullest[(measure, year)])})"
        for (measure, year), n in short.items()
    ]
    raise DataFileError(
        f"{path} covers far fewer councils in some years than in others: {show_values(shown)}. "
        "A national file that stops partway through a year was probably cut short in the "
        "download; download it again. If the file really lacks those councils, remove the "
        "incomplete years before reading it.",
        path=path,
    )


IMPLAUSIBLE_CHOICES = ("error", "flag")


def check_implausible_choice(implausible: object) -> str:
    """Return ``implausible`` if it is ``"error"`` or ``"flag"``, else raise naming the argument."""
    if implausible not in IMPLAUSIBLE_CHOICES:
        raise InvalidValueError(
            f"`implausible` must be 'error' (refuse the file) or 'flag' (keep the rows with "
            f"status 'implausible'); got {implausible!r}."
        )
    return str(implausible)


def _implausible(frame: pd.DataFrame) -> np.ndarray:
    """Mark numbers no published statistic can hold: infinite, negative, or a fractional count."""
    value = frame["value"].to_numpy(dtype=float)
    shown = ~np.isnan(value)
    units = frame["measure"].map(lambda m: MEASURES[m].unit if m in MEASURES else "").to_numpy()
    with np.errstate(invalid="ignore"):
        bad = shown & (np.isinf(value) | (value < 0))
        whole = np.isfinite(value) & (value == np.round(value))
        bad |= shown & np.isin(units, ["count", "population"]) & ~whole
    return bad


def _refuse_or_flag_implausible(frame: pd.DataFrame, path: object, implausible: str) -> None:
    bad = _implausible(frame)
    if not bad.any():
        return
    if implausible == "flag":
        frame.loc[bad, "status"] = IMPLAUSIBLE
        return
    shown = [
        f"{name} {year} {measure} = {value!r}"
        for name, year, measure, value in frame.loc[
            bad, ["la_name", "year", "measure", "value"]
        ].itertuples(index=False)
    ]
    raise DataFileError(
        f"{path} holds numbers no published statistic can: {show_values(shown)} (counts are "
        "whole and non-negative, rates non-negative, and none is infinite). The file was edited "
        "or damaged: download it again. To inspect such rows, read the file with "
        "implausible='flag', which keeps them with status 'implausible'.",
        path=path,
    )


def finish(
    blocks: Sequence[pd.DataFrame],
    *,
    path: object,
    release: int | None = None,
    implausible: str = "error",
) -> pd.DataFrame:
    """Concatenate blocks, check one row per LA, year and measure, and set ``release``.

    Raises
    ------
    DuplicateObservationError
        The file has more than one row for an LA, year and measure.
    DataFileError
        A national file in which a year covers far fewer councils than another (cut short); a
        negative, fractional (for a count) or infinite number, unless ``implausible="flag"``.
    """
    frame = pd.concat(blocks, ignore_index=True) if blocks else empty_tidy()
    keys = ["old_la_code", "year", "measure"]
    dup = frame.duplicated(keys, keep=False).to_numpy()
    if dup.any():
        shown = [
            f"{name} ({code}) {year} {measure}"
            for name, code, year, measure in frame.loc[
                dup, ["la_name", "old_la_code", "year", "measure"]
            ]
            .drop_duplicates()
            .itertuples(index=False)
        ]
        raise DuplicateObservationError(
            f"{path} has more than one row for the same LA, year and measure: "
            f"{show_values(shown)}. A published table has one row per LA and year; the file may "
            "have been appended to itself or two tables combined. Remove the duplicate rows, or "
            "read the tables separately."
        )
    _refuse_partial_years(frame, path)
    _refuse_or_flag_implausible(frame, path, implausible)
    if release is None:
        release = int(frame["year"].max()) if len(frame) else 0
    frame["release"] = int(release)
    frame["year"] = frame["year"].astype(int)
    return frame.loc[:, list(TIDY_COLUMNS)].sort_values(keys, ignore_index=True)
