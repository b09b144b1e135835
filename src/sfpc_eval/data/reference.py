"""Readers for reference files: statistical neighbours, the LAIT LA code list, Ofsted judgements.

These are not statistics by LA and year, so they return their own tidy layouts (documented on
each reader) rather than :data:`~sfpc_eval.data.TIDY_COLUMNS`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sfpc_eval.data._common import source_name
from sfpc_eval.data._files import as_path, open_workbook, read_csv_text, require_columns
from sfpc_eval.data.areas import la_by_code
from sfpc_eval.errors import DataFileError, DuplicateObservationError, show_values

__all__ = [
    "OFSTED_JUDGEMENTS",
    "read_la_code_list",
    "read_ofsted_inspections",
    "read_statistical_neighbours",
]

OFSTED_JUDGEMENTS = ("Outstanding", "Good", "Requires improvement to be good", "Inadequate")
"""The four ILACS overall effectiveness grades, best first."""

_SN_HEADER = re.compile(r"^SN_?1$")
_CODE = re.compile(r"^\d{3}(\.0)?$")


def _grid(path: str | os.PathLike[str], sheet: str | None) -> tuple[pd.DataFrame, str]:
    file = as_path(path)
    name = source_name(path)
    if file.suffix.lower() == ".csv":
        grid = read_csv_text(file)
        grid = pd.concat([grid.columns.to_frame().T, grid], ignore_index=True)
        grid.columns = range(grid.shape[1])
        return grid, name
    with open_workbook(file) as book:  # closed on leaving, also when a sheet is missing
        sheets = [str(s) for s in book.sheet_names]
        if sheet is None:
            sheet = sheets[0]
        match = next((s for s in sheets if s.strip().lower() == sheet.strip().lower()), None)
        if match is None:
            raise DataFileError(
                f"{name} has no sheet {sheet!r}; its sheets are {', '.join(sheets)}. "
                "Pass the sheet's name with sheet=...",
                path=name,
            )
        return pd.read_excel(book, sheet_name=match, header=None, dtype=object), name


def _header_row(
    grid: pd.DataFrame, test: Callable[[list[str]], bool], name: str, expected: list[str]
) -> int:
    for i in range(min(len(grid), 15)):
        cells = [str(v).strip() for v in grid.iloc[i].tolist()]
        if test(cells):
            return i
    found = [str(v) for v in grid.iloc[0].tolist()]
    require_columns(name, found, expected, what="the expected table")
    return 0  # pragma: no cover - require_columns raised


def _clean_code(value: object) -> str:
    text = str(value).strip()
    return text[:-2] if text.endswith(".0") else text


def read_statistical_neighbours(
    path: str | os.PathLike[str], *, model: str | None = None
) -> pd.DataFrame:
    """Read a DfE children's services statistical neighbours table (CSV or xlsx, wide).

    Accepts the 2021 and 2025 models in either layout the DfE publishes (``SN1..SN10`` with
    ``SNP`` closeness columns, header on the 3rd row of the xlsx; or ``SN_1..SN_10`` with
    ``SN_1P..``). Blank rows and the "Old SNs:" separator are skipped; the predecessor LAs
    listed under it (e.g. "Poole (Pre LG)") are kept. A neighbour printed as ``-`` (the 2021
    model has none for Cumberland and Westmorland and Furness) gives no row.

    Parameters
    ----------
    path : path-like
        For example ``sn_model_2025_wide.csv`` or ``sn_april_2021.xlsx``.
    model : str, optional
        A label for the model (e.g. ``"2021"``); by default the first 4-digit year in the file
        name.

    Returns
    -------
    pandas.DataFrame
        One row per LA and neighbour: ``old_la_code, la_name, rank, neighbour_old_la_code,
        neighbour_name, closeness, model, source_file``.

    Examples
    --------
    >>> import sfpc_eval.data as sd
    >>> sn = sd.read_statistical_neighbours(raw / "sn_model_2025_wide.csv")  # doctest: +SKIP
    >>> sn.query("la_name == 'Leeds'").neighbour_name.tolist()[:3]  # doctest: +SKIP
    """
    grid, name = _grid(path, "LA SN Groups" if Path(path).suffix.lower() != ".csv" else None)
    head = _header_row(
        grid, lambda cells: any(_SN_HEADER.match(c) for c in cells), name, ["SN1", "SNP"]
    )
    header = [str(v).strip() for v in grid.iloc[head].tolist()]
    sn_cols = {}
    for j, col in enumerate(header):
        m = re.match(r"^SN_?(\d+)$", col)
        if m:
            sn_cols[int(m.group(1))] = j
    if sorted(sn_cols) != list(range(1, 11)):
        require_columns(name, header, [f"SN{k}" for k in range(1, 11)], what="an SN table")
    code_col = next((j for j, c in enumerate(header) if c in ("LA num", "old_la_code")), 0)
    if model is None:
        year = re.search(r"(19|20)\d\d", Path(path).name)
        model = year.group(0) if year else ""
    rows = []
    for i in range(head + 1, len(grid)):
        code = _clean_code(grid.iloc[i, code_col])
        if not _CODE.match(code):
            continue
        la = la_by_code(code, source=name)
        for rank, j in sorted(sn_cols.items()):
            cell = _clean_code(grid.iloc[i, j])
            if cell in ("-", "", "nan", "None"):
                continue  # no neighbour given (the 2021 model lists Cumberland with "-")
            neighbour = la_by_code(cell, source=f"{name} (SN{rank})")
            closeness = grid.iloc[i, j + 1] if j + 1 < grid.shape[1] else ""
            rows.append(
                (
                    la.old_la_code,
                    la.name,
                    rank,
                    neighbour.old_la_code,
                    neighbour.name,
                    str(closeness).strip() if closeness == closeness else "",
                    model,
                    name,
                )
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "old_la_code",
            "la_name",
            "rank",
            "neighbour_old_la_code",
            "neighbour_name",
            "closeness",
            "model",
            "source_file",
        ],
    )
    if frame.empty:
        raise DataFileError(f"{name} has no LA rows under its SN header.", path=name)
    dup = frame.duplicated(["old_la_code", "rank"])
    if dup.any():
        raise DuplicateObservationError(
            f"{name} lists these LAs more than once: "
            f"{show_values(sorted(set(frame.loc[dup, 'la_name'])))}. Keep one row per LA."
        )
    return frame


def read_la_code_list(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the LAIT LA code list (``la_code_list.xlsx``).

    Returns
    -------
    pandas.DataFrame
        One row per LA: ``old_la_code, la_name, region, la_type, la_code`` (the latest ONS
        code, from sfpc_eval's table; the file has none). Region and England rows are left out.

    Examples
    --------
    >>> import sfpc_eval.data as sd
    >>> sd.read_la_code_list(raw / "la_code_list.xlsx").shape  # doctest: +SKIP
    """
    grid, name = _grid(path, None)
    head = _header_row(
        grid,
        lambda cells: "LA Number" in cells and "LA Name" in cells,
        name,
        ["LA Number", "LA Name", "Region", "Type"],
    )
    frame = grid.iloc[head + 1 :].copy()
    frame.columns = [str(v).strip() for v in grid.iloc[head].tolist()]
    require_columns(name, frame.columns, ["LA Number", "LA Name"], what="the LA code list")
    codes = frame["LA Number"].map(_clean_code)
    is_la = codes.str.fullmatch(r"\d{3}") & (codes.astype(str) < "970")
    frame = frame[is_la.fillna(False).to_numpy()]
    las = [la_by_code(c, source=name) for c in codes[is_la.fillna(False).to_numpy()]]
    return pd.DataFrame(
        {
            "old_la_code": [la.old_la_code for la in las],
            "la_name": frame["LA Name"].astype(str).str.strip().to_numpy(),
            "region": frame.get("Region", pd.Series("", index=frame.index)).to_numpy(),
            "la_type": frame.get("Type", pd.Series("", index=frame.index)).to_numpy(),
            "la_code": [la.ons_code() for la in las],
        }
    )


_OFSTED_COLUMNS = {
    "Local authority area code": "la_code",
    "Local authority name": "ofsted_name",
    "Inspection date": "inspection_date",
    "Publication date": "publication_date",
    "Inspection type": "inspection_type",
    "Overall effectiveness": "overall_effectiveness",
}


def read_ofsted_inspections(
    path: str | os.PathLike[str], *, sheet: str = "ILACS_inspection_history"
) -> pd.DataFrame:
    """Read Ofsted's ILACS inspection history (the ODS "LA inspection outcomes" file).

    Parameters
    ----------
    path : path-like
        ``LA_Inspection_Outcomes_as_at_31_March_2025.ods`` (or another release).
    sheet : str, default "ILACS_inspection_history"
        The sheet with one row per graded inspection since 2018.

    Returns
    -------
    pandas.DataFrame
        One row per inspection, oldest first within each LA: ``la_code`` (as Ofsted gives it),
        ``old_la_code``, ``la_name``, ``inspection_date``, ``publication_date`` (datetimes),
        ``inspection_type``, ``overall_effectiveness`` and ``source_file``.

    Raises
    ------
    DataFileError
        An overall judgement is not one of :data:`OFSTED_JUDGEMENTS`, or a date is missing.

    Examples
    --------
    >>> import sfpc_eval.data as sd
    >>> ofsted = sd.read_ofsted_inspections(raw / "LA_Inspection_Outcomes_as_at_31_March_2025.ods")
    ... # doctest: +SKIP
    """
    grid, name = _grid(path, sheet)
    head = _header_row(
        grid, lambda cells: "Local authority area code" in cells, name, list(_OFSTED_COLUMNS)
    )
    frame = grid.iloc[head + 1 :].copy()
    frame.columns = [str(v).strip() for v in grid.iloc[head].tolist()]
    require_columns(name, frame.columns, list(_OFSTED_COLUMNS), what="Ofsted's ILACS history")
    frame = frame[list(_OFSTED_COLUMNS)].rename(columns=_OFSTED_COLUMNS)
    frame = frame[frame["la_code"].map(lambda v: isinstance(v, str) and bool(v.strip()))]
    las = [la_by_code(c, source=name) for c in frame["la_code"]]
    frame["old_la_code"] = [la.old_la_code for la in las]
    frame["la_name"] = [la.name for la in las]
    for column in ("inspection_date", "publication_date"):
        frame[column] = pd.to_datetime(frame[column], errors="coerce")
        if frame[column].isna().any():
            bad = frame.loc[frame[column].isna(), "la_name"].tolist()
            raise DataFileError(
                f"{name}: {column} is missing or not a date for {show_values(bad)}. Use the file "
                "as published.",
                path=name,
            )
    judgement = frame["overall_effectiveness"].astype(str).str.strip()
    unknown = ~judgement.isin(OFSTED_JUDGEMENTS)
    if unknown.any():
        raise DataFileError(
            f"{name}: overall effectiveness has values that are not Ofsted grades: "
            f"{show_values(sorted(set(judgement[unknown])))}. Expected one of "
            f"{', '.join(OFSTED_JUDGEMENTS)}.",
            path=name,
        )
    frame["overall_effectiveness"] = judgement
    frame["source_file"] = name
    columns = [
        "la_code",
        "old_la_code",
        "la_name",
        "inspection_date",
        "publication_date",
        "inspection_type",
        "overall_effectiveness",
        "source_file",
    ]
    return frame[columns].sort_values(["old_la_code", "publication_date"], ignore_index=True)
