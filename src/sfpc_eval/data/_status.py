"""Turn published cells (numbers and symbols) into a value and an explicit status.

Every published table prints a symbol where a number is withheld or does not exist. The
symbols and their meanings differ between publication series, so the caller names the
convention: ``"ees"`` for Explore Education Statistics files and LAIT, ``"sfr"`` for the older
Statistical First Release tables (where ``x`` means suppressed, not "not available").

A cell becomes ``(value, status)``: a number with status ``"published"``, or NaN with the
symbol's meaning. A value flagged low reliability (``"123 [u]"``) keeps its number. Text that is
neither a number nor a known symbol is an error: it never becomes NaN silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from sfpc_eval.errors import DataFileError, show_values

__all__ = [
    "IMPLAUSIBLE",
    "LOW_RELIABILITY",
    "NOT_APPLICABLE",
    "NOT_AVAILABLE",
    "PUBLISHED",
    "STATUSES",
    "SUPPRESSED",
    "parse_cells",
    "symbol_meanings",
]

PUBLISHED = "published"
SUPPRESSED = "suppressed"
NOT_AVAILABLE = "not available"
NOT_APPLICABLE = "not applicable"
LOW_RELIABILITY = "low reliability"
IMPLAUSIBLE = "implausible"

STATUSES: tuple[str, ...] = (
    PUBLISHED,
    SUPPRESSED,
    NOT_AVAILABLE,
    NOT_APPLICABLE,
    LOW_RELIABILITY,
    IMPLAUSIBLE,
)
"""Every status a reader can give a cell. ``implausible`` is given only on request
(``implausible="flag"``), to a number no published statistic can hold (negative, infinite, or a
fractional count); by default such a file is refused."""

_COMMON = {
    "..": NOT_AVAILABLE,
    ":": NOT_AVAILABLE,
    "#value!": NOT_AVAILABLE,
    "#n/a": NOT_AVAILABLE,
    "[c]": SUPPRESSED,
    "[x]": NOT_AVAILABLE,
    "[z]": NOT_APPLICABLE,
    "[u]": LOW_RELIABILITY,
    "[low]": LOW_RELIABILITY,
}

_CONVENTIONS: dict[str, dict[str, str]] = {
    # Explore Education Statistics (and LAIT, which copies it): data guidance "Symbols".
    "ees": {
        **_COMMON,
        "c": SUPPRESSED,
        "x": NOT_AVAILABLE,
        "z": NOT_APPLICABLE,
        "u": LOW_RELIABILITY,
        "-": NOT_AVAILABLE,
    },
    # Statistical First Releases before 2013: "x  Figures not shown in order to protect
    # confidentiality", ".. not available", ".  Not applicable".
    "sfr": {
        **_COMMON,
        "x": SUPPRESSED,
        "*": SUPPRESSED,
        "c": SUPPRESSED,
        ".": NOT_APPLICABLE,
        "-": NOT_AVAILABLE,
        "z": NOT_APPLICABLE,
        "u": LOW_RELIABILITY,
    },
}

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_GROUPED = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
_FLAGGED_LOW = re.compile(r"^(?P<number>[-+]?[\d,]*\.?\d+)\s*\[?(u|low)\]?$", re.IGNORECASE)


def symbol_meanings(convention: str) -> dict[str, str]:
    """Return the symbol -> status table of a publication convention (``"ees"`` or ``"sfr"``).

    Examples
    --------
    >>> symbol_meanings("ees")["c"], symbol_meanings("sfr")["x"]
    ('suppressed', 'suppressed')
    """
    return dict(_CONVENTIONS[convention])


def parse_cells(
    cells: Sequence[object],
    *,
    convention: str,
    path: object,
    column: str,
    labels: Sequence[object] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Parse published cells into float values and statuses.

    Parameters
    ----------
    cells : sequence
        Cell contents as read (strings, numbers or missing).
    convention : {"ees", "sfr"}
        The publication's symbol convention (see module docstring).
    path : path-like
        The file, named in error messages.
    column : str
        The column, named in error messages.
    labels : sequence, optional
        Row labels (e.g. LA names) shown in error messages instead of positions.

    Returns
    -------
    values : numpy.ndarray of float
        NaN exactly where the status is not ``"published"`` (a low-reliability cell keeps its
        number if it printed one).
    statuses : numpy.ndarray of str

    Raises
    ------
    DataFileError
        A cell is blank or holds text that is neither a number nor a known symbol.

    Examples
    --------
    >>> values, statuses = parse_cells(["974", "5,530", "c", "..", "12 [u]"], convention="ees",
    ...                                path="demo.csv", column="CPP_At31")
    >>> values.tolist()[:2], statuses.tolist()
    ([974.0, 5530.0], ['published', 'published', 'suppressed', 'not available', 'low reliability'])
    >>> float(values[4])
    12.0
    """
    table = _CONVENTIONS[convention]
    n = len(cells)
    values = np.full(n, np.nan)
    statuses = np.empty(n, dtype=object)
    bad: list[int] = []
    blank: list[int] = []
    for i, cell in enumerate(cells):
        if cell is None or (isinstance(cell, float) and np.isnan(cell)):
            blank.append(i)
            continue
        if isinstance(cell, int | float | np.integer | np.floating) and not isinstance(cell, bool):
            values[i] = float(cell)
            statuses[i] = PUBLISHED
            continue
        text = str(cell).strip()
        if text == "":
            blank.append(i)
            continue
        if _NUMBER.match(text):
            values[i] = float(text)
            statuses[i] = PUBLISHED
        elif _GROUPED.match(text):
            values[i] = float(text.replace(",", ""))
            statuses[i] = PUBLISHED
        elif (status := table.get(text.lower())) is not None:
            statuses[i] = status
        elif (flagged := _FLAGGED_LOW.match(text)) is not None:
            values[i] = float(flagged["number"].replace(",", ""))
            statuses[i] = LOW_RELIABILITY
        else:
            bad.append(i)
    where = labels if labels is not None else list(range(n))
    if bad:
        shown = [str(cells[i]) for i in bad]
        raise DataFileError(
            f"{path}: column {column!r} holds text that is neither a number nor a {convention} "
            f"symbol ({', '.join(sorted(table))}): {show_values(shown)} in rows "
            f"{show_values([where[i] for i in bad])}. Check that this is the file as published; "
            "if the symbols are new, report them so a status can be assigned.",
            path=path,
        )
    if blank:
        raise DataFileError(
            f"{path}: column {column!r} has blank cells in rows "
            f"{show_values([where[i] for i in blank])}. Published tables print a symbol (such "
            "as 'x' or 'c') where a number is missing, so a blank cell means the file was "
            "edited or cut short: download it again.",
            path=path,
        )
    return values, statuses
