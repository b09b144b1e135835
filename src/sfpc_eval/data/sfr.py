"""Readers for the older Statistical First Release (SFR) files, 2006-2017.

- :func:`read_cin_sfr_csv`: "Characteristics of children in need" underlying data, 2010-2012
  (one file per year; column names carry the date, e.g. ``CPPAt310311``; numbers over 999 are
  quoted with thousands separators; Latin-1).
- :func:`read_cla_sfr_csv`: SSDA903 "Children looked after" underlying LA data, 2011-2017
  (``CLA_MarYYYY``, counts only).
- :func:`read_cla_2010_workbook`: table LAA1 of the SFR 27/2010 workbook, CLA at 31 March
  2006-2010 (numbers rounded to the nearest 5, rates per 10,000 under-18s). Its LA codes are an
  older numbering, so LAs are matched by name.

SFR symbols: ``x`` suppressed (small numbers), ``..`` not available, ``.`` not applicable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from sfpc_eval.data._common import check_years, las_for_codes, select_years, source_name
from sfpc_eval.data._files import open_workbook, read_csv_text, require_columns
from sfpc_eval.data._status import parse_cells
from sfpc_eval.data._tidy import check_implausible_choice, finish, tidy_block
from sfpc_eval.data.areas import LocalAuthority, find_la, la_by_code, normalise_name
from sfpc_eval.errors import DataFileError, FileColumnsError, UnknownAreaError

__all__ = ["read_cin_sfr_csv", "read_cla_2010_workbook", "read_cla_sfr_csv"]

GEOGRAPHY_COLUMNS = ("geog_l", "geog_c", "geog_n")
_CIN_AT = re.compile(r"^CINAt3103(\d\d)$")
_CLA_MAR = re.compile(r"^CLA_Mar(\d{4})$")
_MID_POP = re.compile(r"^Mid(\d{4})Pop0-17$")
_REGIONS = {
    "england",
    "north east",
    "north west",
    "yorkshire and the humber",
    "east midlands",
    "west midlands",
    "east of england",
    "london",
    "inner london",
    "outer london",
    "south east",
    "south west",
}


def _la_rows(raw: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[LocalAuthority]]:
    """Rows of LAs: ``geog_l == "LA"``, plus unlabelled rows whose code is an LA code.

    The 2017 CLA file leaves ``geog_l`` blank on the Isles of Scilly row.
    """
    level = raw["geog_l"].str.strip().str.upper()
    keep = level == "LA"
    blank = (level == "").to_numpy()
    for i in np.flatnonzero(blank):
        try:
            la_by_code(raw["geog_c"].iloc[i])
        except UnknownAreaError:
            continue
        keep.iloc[i] = True
    rows = raw[keep]
    if rows.empty:
        raise DataFileError(
            f"{name} has no local-authority rows (geog_l == 'LA'). Check this is the LA-level "
            "underlying data file.",
            path=name,
        )
    return rows, las_for_codes(rows["geog_c"].str.strip().tolist(), path=name)


def _block(
    rows: pd.DataFrame,
    las: list[LocalAuthority],
    column: str,
    measure: str,
    year: int,
    name: str,
) -> pd.DataFrame:
    values, statuses = parse_cells(
        rows[column].tolist(),
        convention="sfr",
        path=name,
        column=column,
        labels=[la.name for la in las],
    )
    return tidy_block(
        las,
        np.full(len(las), year),
        measure,
        values,
        statuses,
        source_file=name,
        source_format="sfr",
    )


def _first_present(columns: Iterable[str], candidates: Iterable[str]) -> str | None:
    found = set(columns)
    return next((c for c in candidates if c in found), None)


def read_cin_sfr_csv(
    path: str | os.PathLike[str],
    *,
    years: Iterable[int] | int | None = None,
    encoding: str | None = None,
    implausible: str = "error",
) -> pd.DataFrame:
    """Read a children in need SFR underlying-data CSV (2010, 2011 or 2012) into tidy rows.

    Returns CIN and CPP at 31 March with their published rates per 10,000 children aged 0-17,
    and the 0-17 mid-year population the rates use (``population_0_17``, year = mid-year).

    Parameters
    ----------
    path : path-like
        For example ``osr26-2011ud.csv``.
    years : int or iterable of int, optional
        Keep these years ending 31 March; each file holds one year, and asking for another
        raises :class:`~sfpc_eval.errors.YearOutOfRangeError`.
    encoding : str, optional
        Default: UTF-8 if the file decodes as UTF-8, else Latin-1 (as published).
    implausible : {"error", "flag"}, default "error"
        A negative, infinite or (for a count) fractional number means a damaged file, which is
        refused; ``"flag"`` keeps such rows with status ``"implausible"`` to inspect them.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~sfpc_eval.data.TIDY_COLUMNS`.

    Examples
    --------
    >>> import sfpc_eval.data as sd
    >>> rows = sd.read_cin_sfr_csv(raw / "osr26-2011ud.csv")  # doctest: +SKIP
    >>> rows.query("la_name == 'Leeds' and measure == 'cpp_at_31_march'").value.item()
    ... # doctest: +SKIP
    974.0
    """
    check_implausible_choice(implausible)
    wanted = check_years(years)
    name = source_name(path)
    raw = read_csv_text(path, encoding=encoding)
    at = [m for c in raw.columns if (m := _CIN_AT.match(c))]
    if not at:
        require_columns(
            name,
            raw.columns,
            [*GEOGRAPHY_COLUMNS, "CINAt3103YY", "CPPAt3103YY"],
            what="a children in need SFR underlying-data file (2010-2012)",
        )
    require_columns(name, raw.columns, GEOGRAPHY_COLUMNS, what="an SFR underlying-data file")
    yy = at[0].group(1)
    year = 2000 + int(yy)
    wanted_columns = {
        "cin_at_31_march": [f"CINAt3103{yy}"],
        "cin_rate_per_10k": [f"CINAt3103{yy}RatePer10k", "CINRatePer10K", "CINRatePer10k"],
        "cpp_at_31_march": [f"CPPAt3103{yy}"],
        "cpp_rate_per_10k": [f"CPPAt3103{yy}RatePer10k", f"CPPAt3103{yy}Rate"],
    }
    chosen = {m: _first_present(raw.columns, c) for m, c in wanted_columns.items()}
    missing = [wanted_columns[m][0] for m, c in chosen.items() if c is None]
    if missing:
        require_columns(
            name,
            raw.columns,
            [*GEOGRAPHY_COLUMNS, *missing],
            what=f"a children in need SFR underlying-data file for {year}",
        )
    rows, las = _la_rows(raw, name)
    blocks = [_block(rows, las, c, m, year, name) for m, c in chosen.items() if c is not None]
    pop = next((m for c in raw.columns if (m := _MID_POP.match(c))), None)
    if pop is not None:
        blocks.append(_block(rows, las, pop.group(0), "population_0_17", int(pop.group(1)), name))
    frame = finish(blocks, path=name, release=year, implausible=implausible)
    if wanted is not None:
        counts = frame[frame["measure"] != "population_0_17"]
        select_years(counts, wanted, path=name)  # raises for years not in the file
        keep = frame["year"].isin(wanted) | (
            (frame["measure"] == "population_0_17") & frame["year"].isin([y - 1 for y in wanted])
        )
        frame = frame[keep].reset_index(drop=True)
    return frame


def read_cla_sfr_csv(
    path: str | os.PathLike[str],
    *,
    years: Iterable[int] | int | None = None,
    encoding: str | None = None,
    implausible: str = "error",
) -> pd.DataFrame:
    """Read an SSDA903 children looked after SFR underlying-data CSV (2011-2017).

    Returns ``cla_at_31_march`` from the ``CLA_MarYYYY`` column (every such column, if a file
    has more than one). These files publish counts only; :func:`~sfpc_eval.data.la_panel`
    computes the rate from the ONS population.

    Parameters
    ----------
    path : path-like
        For example ``SFR50_CLA2017.csv``.
    years : int or iterable of int, optional
        Years to keep (each ``CLA_MarYYYY`` column is one year); a year the file does not have
        raises :class:`~sfpc_eval.errors.YearOutOfRangeError`.
    encoding : str, optional
        Default: UTF-8 if the file decodes as UTF-8, else Latin-1.
    implausible : {"error", "flag"}, default "error"
        A negative, infinite or (for a count) fractional number means a damaged file, which is
        refused; ``"flag"`` keeps such rows with status ``"implausible"`` to inspect them.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~sfpc_eval.data.TIDY_COLUMNS`.

    Examples
    --------
    >>> import sfpc_eval.data as sd
    >>> sd.read_cla_sfr_csv(raw / "SFR50_CLA2017.csv").query("la_name == 'Leeds'").value.item()
    ... # doctest: +SKIP
    1253.0
    """
    check_implausible_choice(implausible)
    wanted = check_years(years)
    name = source_name(path)
    raw = read_csv_text(path, encoding=encoding)
    mar = [m for c in raw.columns if (m := _CLA_MAR.match(c))]
    if not mar:
        require_columns(
            name,
            raw.columns,
            [*GEOGRAPHY_COLUMNS, "CLA_MarYYYY"],
            what="an SSDA903 children looked after underlying-data file (2011-2017)",
        )
    require_columns(name, raw.columns, GEOGRAPHY_COLUMNS, what="an SFR underlying-data file")
    rows, las = _la_rows(raw, name)
    # the published files have one CLA_MarYYYY column; a file with several gives every year
    frame = finish(
        [_block(rows, las, m.group(0), "cla_at_31_march", int(m.group(1)), name) for m in mar],
        path=name,
        implausible=implausible,
    )
    return select_years(frame, wanted, path=name).reset_index(drop=True)


def _find_year_row(grid: pd.DataFrame) -> tuple[int, list[int], list[int]]:
    for i in range(min(len(grid), 40)):
        cells = grid.iloc[i].tolist()
        years = [
            (j, int(float(v)))
            for j, v in enumerate(cells)
            if str(v).replace(".0", "").strip().isdigit() and 1990 < float(v) < 2100
        ]
        if len(years) >= 4 and len(years) % 2 == 0:
            half = len(years) // 2
            numbers, rates = years[:half], years[half:]
            if [y for _, y in numbers] == [y for _, y in rates]:
                return i, [j for j, _ in numbers], [j for j, _ in rates]
    return -1, [], []


def read_cla_2010_workbook(
    path: str | os.PathLike[str],
    *,
    years: Iterable[int] | int | None = None,
    sheet: str = "LAA1",
    implausible: str = "error",
) -> pd.DataFrame:
    """Read table LAA1 (CLA at 31 March by LA, 2006-2010) from the SFR 27/2010 workbook.

    The sheet is found by name; the numbers and rates blocks by their year headers; LAs by name
    (the sheet's codes are an old numbering). Numbers are rounded to the nearest 5 and rates
    (per 10,000 under-18s) to whole numbers, as published. Cheshire and Bedfordshire appear up
    to 2009, their successors from 2010.

    Parameters
    ----------
    path : path-like
        ``sfr27-2010amv5.xls`` (or any workbook with the same sheet).
    years : int or iterable of int, optional
        Years ending 31 March to keep (2006-2010).
    sheet : str, default "LAA1"
        The sheet name (matched ignoring case and spaces).
    implausible : {"error", "flag"}, default "error"
        A negative, infinite or (for a count) fractional number means a damaged file, which is
        refused; ``"flag"`` keeps such rows with status ``"implausible"`` to inspect them.

    Returns
    -------
    pandas.DataFrame
        ``cla_at_31_march`` and ``cla_rate_per_10k`` in :data:`~sfpc_eval.data.TIDY_COLUMNS`.

    Examples
    --------
    >>> import sfpc_eval.data as sd
    >>> rows = sd.read_cla_2010_workbook(raw / "sfr27-2010amv5.xls")  # doctest: +SKIP
    >>> rows.query("la_name == 'Leeds' and measure == 'cla_at_31_march'").value.tolist()
    ... # doctest: +SKIP
    [1310.0, 1350.0, 1360.0, 1340.0, 1415.0]
    """
    check_implausible_choice(implausible)
    wanted = check_years(years)
    name = source_name(path)
    key = sheet.strip().lower()
    with open_workbook(path) as book:  # closed on leaving, also when the sheet is missing
        sheets = [str(s) for s in book.sheet_names]
        match = next((s for s in sheets if s.strip().lower() == key), None)
        if match is None:
            raise FileColumnsError(
                f"{name} has no sheet {sheet!r}; its sheets are {', '.join(sheets)}. Pass "
                "the SFR 27/2010 additional tables workbook (sfr27-2010amv5.xls), or the "
                "sheet's name with sheet=...",
                path=name,
                expected=[sheet],
                found=sheets,
            )
        grid = pd.read_excel(book, sheet_name=match, header=None)
    head, number_cols, rate_cols = _find_year_row(grid)
    if head < 0:
        raise FileColumnsError(
            f"{name}, sheet {match!r}: no header row with the years twice (numbers, then rates) "
            "was found. Pass the LAA1 table as published.",
            path=name,
            expected=["numbers: 2006..2010", "rates: 2006..2010"],
            found=[str(v) for v in grid.iloc[: min(len(grid), 10)].to_numpy().ravel() if v == v],
        )
    header_years = [int(float(grid.iloc[head, j])) for j in number_cols]
    name_col = _name_column(grid, head, number_cols[0])
    las: list[LocalAuthority] = []
    row_index: list[int] = []
    for i in range(head + 1, len(grid)):
        label = grid.iloc[i, name_col]
        if not isinstance(label, str) or not label.strip():
            continue
        if label.strip().lower().startswith("source") or not _has_numbers(grid, i, number_cols):
            if label.strip().lower().startswith("source"):
                break
            continue
        if normalise_name(label) in _REGIONS:
            continue
        las.append(find_la(label, year=max(header_years), source=f"{name}, sheet {match!r}"))
        row_index.append(i)
    blocks = []
    rows = grid.iloc[row_index]
    for col, year in zip(number_cols, header_years, strict=True):
        for measure, column in (("cla_at_31_march", col), ("cla_rate_per_10k", None)):
            source_col = column if column is not None else rate_cols[number_cols.index(col)]
            values, statuses = parse_cells(
                rows.iloc[:, source_col].tolist(),
                convention="sfr",
                path=name,
                column=f"{match} {measure} {year}",
                labels=[la.name for la in las],
            )
            blocks.append(
                tidy_block(
                    las,
                    np.full(len(las), year),
                    measure,
                    values,
                    statuses,
                    source_file=name,
                    source_format="sfr_workbook",
                )
            )
    frame = finish(blocks, path=name, release=max(header_years), implausible=implausible)
    # An LA that did not exist that year is printed as "." (not applicable); keep those rows
    # only for the LAs that existed, so Cheshire 2010 is absent rather than a row of ".".
    exists = np.array(
        [
            la_by_code(c).exists_in(int(y))
            for c, y in zip(frame.old_la_code, frame.year, strict=True)
        ]
    )
    frame = frame[exists | (frame["status"] != "not applicable")].reset_index(drop=True)
    return select_years(frame, wanted, path=name).reset_index(drop=True)


def _name_column(grid: pd.DataFrame, head: int, first_number: int) -> int:
    for j in range(first_number):
        column = grid.iloc[head + 1 : head + 20, j]
        if column.map(lambda v: isinstance(v, str) and any(ch.isalpha() for ch in v)).sum() > 5:
            return j
    return max(first_number - 1, 0)


def _has_numbers(grid: pd.DataFrame, i: int, columns: list[int]) -> bool:
    cells = [grid.iloc[i, j] for j in columns]
    return any(not (isinstance(c, float) and np.isnan(c)) for c in cells)
