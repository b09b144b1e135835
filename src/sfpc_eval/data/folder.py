"""Recognise official files by their content and read a whole folder of them.

Files are recognised by their columns or sheet names, not their file names, so a file renamed
on download is still read. :func:`read_folder` reads every statistics file under a folder into
one tidy frame; reference files (statistical neighbours, code lists, Ofsted) are listed but read
by their own readers.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sfpc_eval.data._files import ENCODINGS_TRIED, open_workbook
from sfpc_eval.data._tidy import TIDY_COLUMNS, empty_tidy
from sfpc_eval.data.ees import detect_ees_table, read_ees_csv
from sfpc_eval.data.lait import LAIT_COLUMNS, read_lait
from sfpc_eval.data.reference import (
    read_la_code_list,
    read_ofsted_inspections,
    read_statistical_neighbours,
)
from sfpc_eval.data.sfr import read_cin_sfr_csv, read_cla_2010_workbook, read_cla_sfr_csv
from sfpc_eval.errors import DataFileError

__all__ = [
    "FORMATS",
    "FolderRead",
    "detect_format",
    "read_file",
    "read_folder",
]


@dataclass(frozen=True)
class FileFormat:
    """A published format sfpc_eval recognises.

    Attributes
    ----------
    name : str
        Short name (``"ees"``, ``"sfr_cin"``...).
    description : str
        What the files are.
    reader : callable
        The function that reads it.
    kind : {"statistics", "reference"}
        ``statistics`` readers return :data:`~sfpc_eval.data.TIDY_COLUMNS` rows.
    """

    name: str
    description: str
    reader: Callable[..., pd.DataFrame]
    kind: str


FORMATS: dict[str, FileFormat] = {
    f.name: f
    for f in (
        FileFormat("ees", "Explore Education Statistics CSV", read_ees_csv, "statistics"),
        FileFormat(
            "sfr_cin",
            "children in need SFR underlying data (2010-2012)",
            read_cin_sfr_csv,
            "statistics",
        ),
        FileFormat(
            "sfr_cla",
            "SSDA903 children looked after SFR underlying data (2011-2017)",
            read_cla_sfr_csv,
            "statistics",
        ),
        FileFormat(
            "sfr_workbook",
            "SFR 27/2010 workbook, table LAA1 (CLA 2006-2010)",
            read_cla_2010_workbook,
            "statistics",
        ),
        FileFormat("lait", "LAIT big data sheet (parquet)", read_lait, "statistics"),
        FileFormat(
            "statistical_neighbours",
            "DfE statistical neighbours",
            read_statistical_neighbours,
            "reference",
        ),
        FileFormat("la_code_list", "LAIT LA code list", read_la_code_list, "reference"),
        FileFormat(
            "ofsted",
            "Ofsted children's services inspection outcomes",
            read_ofsted_inspections,
            "reference",
        ),
    )
}
"""Every format :func:`detect_format` recognises."""

_DOCUMENTATION = {".txt", ".md", ".pdf", ".html", ".docx", ".doc", ".json", ".rst"}


def _csv_header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        head = handle.read(65536)
    for encoding in ENCODINGS_TRIED:
        try:
            text = head.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    first = text.splitlines()[0] if text.strip() else ""
    return next(iter(pd.read_csv(io.StringIO(first), header=None, dtype=str).to_numpy()), [])


def detect_format(path: str | os.PathLike[str]) -> str | None:
    r"""Return the name of the format of a file (a key of :data:`FORMATS`), or None.

    ``"documentation"`` is returned for text and metadata files (.txt, .md, .pdf...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "t.csv").write_text("time_period,geographic_level,CPP_At31\n2017,x,1\n")
    >>> detect_format(folder / "t.csv")
    'ees'
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix in _DOCUMENTATION:
        return "documentation"
    try:
        if suffix == ".csv":
            if file.stat().st_size == 0:
                return None
            header = [str(c).strip().lstrip("\ufeff") for c in _csv_header(file)]
            if detect_ees_table(header):
                return "ees"
            if {"geog_l", "geog_c"} <= set(header):
                if any(re.match(r"^CINAt3103\d\d$", c) for c in header):
                    return "sfr_cin"
                if any(re.match(r"^CLA_Mar\d{4}$", c) for c in header):
                    return "sfr_cla"
            if any(re.match(r"^SN_?1$", c) for c in header):
                return "statistical_neighbours"
            return None
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            names = set(pq.read_schema(file).names)
            return "lait" if set(LAIT_COLUMNS) <= names else None
        if suffix in (".xls", ".xlsx", ".ods"):
            return _workbook_format(file)
    except Exception:  # unreadable or damaged: not a file of a known format
        return None
    return None


def _workbook_format(file: Path) -> str | None:
    if file.stat().st_size == 0:
        return None
    with open_workbook(file) as book:  # closed: no file handle left open
        sheets = {str(s).strip().lower() for s in book.sheet_names}
        if "laa1" in sheets:
            return "sfr_workbook"
        if "ilacs_inspection_history" in sheets:
            return "ofsted"
        if "la sn groups" in sheets:
            return "statistical_neighbours"
        first = pd.read_excel(book, sheet_name=book.sheet_names[0], header=None, nrows=5)
    cells = {str(v).strip() for v in first.to_numpy().ravel()}
    if {"LA Number", "LA Name"} <= cells:
        return "la_code_list"
    return None


def read_file(path: str | os.PathLike[str], **kwargs: object) -> pd.DataFrame:
    """Read any recognised file with its reader.

    Parameters
    ----------
    path : path-like
        The file.
    **kwargs
        Passed to the reader (e.g. ``years=``).

    Raises
    ------
    DataFileError
        The file is not in a recognised format (the message lists the formats).
    """
    fmt = detect_format(path)
    if fmt is None or fmt == "documentation":
        known = "; ".join(f.description for f in FORMATS.values())
        raise DataFileError(
            f"{path} is not a file sfpc_eval recognises. It reads: {known}. Check the file is "
            "one of those, as published (its columns or sheet names identify it).",
            path=path,
        )
    return FORMATS[fmt].reader(path, **kwargs)


@dataclass(frozen=True)
class FolderRead:
    """Everything read from a folder.

    Attributes
    ----------
    root : pathlib.Path
        The folder.
    rows : pandas.DataFrame
        Tidy rows (:data:`~sfpc_eval.data.TIDY_COLUMNS`) from every statistics file;
        ``source_file`` is relative to ``root``.
    files : dict of str to str
        Each file (relative to ``root``) and its format, ``"documentation"`` or
        ``"unrecognised"``.
    """

    root: Path
    rows: pd.DataFrame = field(repr=False)
    files: dict[str, str]

    def files_of(self, fmt: str) -> list[Path]:
        """Return the paths of the files of one format, sorted."""
        return [self.root / name for name, f in sorted(self.files.items()) if f == fmt]


_CACHE: dict[tuple[object, ...], FolderRead] = {}


def _listing(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def read_folder(root: str | os.PathLike[str]) -> FolderRead:
    """Read every recognised statistics file under ``root`` (recursively).

    Results are cached for the session, keyed by the files' paths, sizes and modification
    times, so calling it again (or :func:`~sfpc_eval.data.la_panel` after
    :func:`~sfpc_eval.data.check_folder`) does not re-read unchanged files.

    Parameters
    ----------
    root : path-like
        A folder of DfE files (e.g. ``../shared/data/raw``).

    Returns
    -------
    FolderRead

    Raises
    ------
    FileNotFoundError
        ``root`` is not a folder.
    DataFileError
        A recognised file cannot be read (the message names it). Use
        :func:`~sfpc_eval.data.check_folder` to see every problem at once.
    """
    folder = Path(root)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"No such folder: {folder}. Pass the folder holding the DfE files (for example "
            "'../shared/data/raw')."
        )
    paths = _listing(folder)
    key = (
        str(folder.resolve()),
        *((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths),
    )
    if key in _CACHE:
        cached = _CACHE[key]
        return FolderRead(cached.root, cached.rows.copy(), dict(cached.files))
    files: dict[str, str] = {}
    frames = []
    for path in paths:
        rel = path.relative_to(folder).as_posix()
        fmt = detect_format(path)
        files[rel] = fmt or "unrecognised"
        if fmt in FORMATS and FORMATS[fmt].kind == "statistics":
            frame = FORMATS[fmt].reader(path)
            frames.append(frame.assign(source_file=rel))
    rows = pd.concat(frames, ignore_index=True) if frames else empty_tidy()
    out = FolderRead(folder, rows.loc[:, list(TIDY_COLUMNS)], files)
    _CACHE.clear()
    _CACHE[key] = out
    return FolderRead(folder, out.rows.copy(), dict(files))
