"""The tidy long layout every reader returns, and the checks on it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sfpc_eval.data.areas import LocalAuthority
from sfpc_eval.data.measures import MEASURES
from sfpc_eval.errors import DuplicateObservationError, show_values

__all__ = ["TIDY_COLUMNS", "empty_tidy", "finish", "tidy_block"]

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


def finish(
    blocks: Sequence[pd.DataFrame], *, path: object, release: int | None = None
) -> pd.DataFrame:
    """Concatenate blocks, check one row per LA, year and measure, and set ``release``.

    Raises
    ------
    DuplicateObservationError
        The file has more than one row for an LA, year and measure.
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
    if release is None:
        release = int(frame["year"].max()) if len(frame) else 0
    frame["release"] = int(release)
    frame["year"] = frame["year"].astype(int)
    return frame.loc[:, list(TIDY_COLUMNS)].sort_values(keys, ignore_index=True)
