"""Open published files with typed errors: missing, empty, wrongly encoded, missing columns.

Readers call these helpers instead of :func:`pandas.read_csv` and :class:`pandas.ExcelFile`
directly so that every file problem is reported the same way, naming the file and the fix.
"""

from __future__ import annotations

import difflib
import io
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from sfpc_eval.errors import DataFileError, EmptyFileError, FileColumnsError, FileEncodingError

__all__ = ["as_path", "open_workbook", "read_csv_text", "require_columns"]

ENCODINGS_TRIED = ("utf-8-sig", "latin-1")


def as_path(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a :class:`~pathlib.Path` to an existing file, or raise.

    Raises
    ------
    FileNotFoundError
        Naming the path and, if the parent folder exists, a few of the files it holds.
    """
    out = Path(path)
    if out.is_file():
        return out
    if out.is_dir():
        raise DataFileError(
            f"{out} is a folder; pass one file, or use read_folder/check_folder for a folder.",
            path=out,
        )
    hint = ""
    if out.parent.is_dir():
        names = sorted(p.name for p in out.parent.iterdir())[:8]
        close = difflib.get_close_matches(out.name, names, n=3)
        hint = f" Close names there: {', '.join(close)}." if close else ""
    raise FileNotFoundError(f"No such file: {out}.{hint}")


def _decode(raw: bytes, path: Path, encoding: str | None) -> str:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:4096]:
        raise FileEncodingError(
            f"{path} looks like UTF-16 (it has a UTF-16 byte-order mark or NUL bytes), not the "
            "UTF-8 or Latin-1 text the DfE publishes. Re-save it as 'CSV UTF-8' or download the "
            "original file again.",
            path=path,
        )
    if encoding is not None:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as err:
            snippet = raw[max(err.start - 20, 0) : err.end + 20]
            fix = (
                "pass encoding='latin-1' (the older Statistical First Release files are Latin-1)"
                if encoding.replace("-sig", "").lower() in ("utf-8", "utf8")
                else "pass the file's real encoding (for example encoding='utf-8')"
            )
            raise FileEncodingError(
                f"{path} is not valid {encoding}: byte {err.object[err.start]:#x} at position "
                f"{err.start} (near {snippet!r}). Re-save the file as UTF-8, or {fix}.",
                path=path,
            ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # decodes any bytes: the older DfE files are Latin-1


def read_csv_text(
    path: str | os.PathLike[str], *, encoding: str | None = None, skip_rows: int = 0
) -> pd.DataFrame:
    """Read a CSV file as strings, with no value turned into NaN.

    Parameters
    ----------
    path : path-like
        The file.
    encoding : str, optional
        The file's encoding. ``None`` tries UTF-8 (with or without a byte-order mark) and then
        Latin-1, which is what the older DfE files use.
    skip_rows : int, default 0
        Lines to skip before the header.

    Returns
    -------
    pandas.DataFrame
        Every cell a string (blank cells are ``""``), column names stripped of spaces.

    Raises
    ------
    EmptyFileError
        The file has no bytes, or a header and no rows.
    FileEncodingError
        The bytes are not in ``encoding`` (or look like UTF-16).
    DataFileError
        The file stops in the middle of a line (a cut-off download), or is not well-formed CSV.
    """
    file = as_path(path)
    raw = file.read_bytes()
    if not raw.strip():
        raise EmptyFileError(
            f"{file} is empty (0 data rows). Download the file again; if the download was cut "
            "short the server may have sent an empty file.",
            path=file,
        )
    text = _decode(raw, file, encoding)
    _refuse_cut_off(text, file)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skiprows=skip_rows)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    except pd.errors.ParserError as err:
        raise DataFileError(
            f"{file} is not a well-formed CSV file ({err}). Download it again, or open it in a "
            "text editor to find the damaged line.",
            path=file,
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise EmptyFileError(
            f"{file} has a header but no data rows. Download the file again.", path=file
        )
    return frame


def _refuse_cut_off(text: str, file: Path) -> None:
    """Raise if the text stops in the middle of a line: the download was cut short.

    Every published CSV ends with a line break. A file that stops without one has lost the rest
    of its last line at least (``2391`` read as ``23``), and usually everything after it, so its
    numbers cannot be read as published.
    """
    if text.endswith(("\n", "\r")):
        return
    lines = text.splitlines()
    last = lines[-1]
    shown = last if len(last) <= 60 else "..." + last[-57:]
    raise DataFileError(
        f"{file} stops in the middle of line {len(lines)} (it ends with {shown!r} and no line "
        "break), so the download was probably cut short and the last value may be truncated. "
        "Download the file again; if the file really is complete, add a line break at its end.",
        path=file,
    )


def _tokens(name: str) -> set[str]:
    return {t for t in re.split(r"[^a-z0-9]+", name.lower()) if t}


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    """Return the column most like ``name`` (same words in another order count), or None."""
    best, best_score = None, 0.6
    for candidate in candidates:
        a, b = _tokens(name), _tokens(candidate)
        jaccard = len(a & b) / len(a | b) if a | b else 0.0
        ratio = difflib.SequenceMatcher(None, name.lower(), candidate.lower()).ratio()
        score = (jaccard + ratio) / 2
        if score > best_score:
            best, best_score = candidate, score
    return best


def require_columns(
    path: object,
    found: Iterable[object],
    expected: Mapping[str, str] | Iterable[str],
    *,
    what: str,
) -> None:
    """Raise :class:`FileColumnsError` if columns the format needs are not in the file.

    Parameters
    ----------
    path : path-like
        The file, named in the message.
    found : iterable of str
        The file's columns.
    expected : iterable of str, or mapping of column -> description
        The columns needed.
    what : str
        The format, named in the message (e.g. ``"an Explore Education Statistics CSV"``).

    Examples
    --------
    >>> require_columns("cpp.csv", ["time_period", "CPP_At31"], ["time_period", "CPP_At31"],
    ...                 what="a child protection plans CSV")
    """
    columns = [str(c) for c in found]
    needed = list(expected)
    missing = [c for c in needed if c not in columns]
    if not missing:
        return
    hints = []
    spare = [c for c in columns if c not in needed]
    for name in missing:
        close = _closest(name, spare)
        hints.append(f"{name!r} (renamed to {close!r}?)" if close else repr(name))
    raise FileColumnsError(
        f"{path} is not {what}: columns missing or renamed: {', '.join(hints)}. "
        f"Expected columns: {', '.join(needed)}. Found: {', '.join(columns)}. "
        "Pass the file as published (check it is the right table and release), or rename the "
        "columns back.",
        path=path,
        expected=needed,
        found=columns,
    )


@contextmanager
def open_workbook(path: str | os.PathLike[str]) -> Iterator[pd.ExcelFile]:
    """Open an .xls, .xlsx or .ods workbook with the calamine engine, closed on leaving.

    A context manager: the file handle ``pandas.ExcelFile`` holds is closed when the ``with``
    block ends, whether it ends normally or by an error (no handle is left to the garbage
    collector, and no ``ResourceWarning``). Read every sheet inside the block.

    Parameters
    ----------
    path : path-like
        The workbook.

    Yields
    ------
    pandas.ExcelFile

    Raises
    ------
    EmptyFileError
        The file has no bytes.
    DataFileError
        python-calamine is not installed, or the file is not a readable spreadsheet.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "book.xlsx"
    >>> pd.DataFrame({"la_name": ["Leeds"], "cpp": [515]}).to_excel(path, index=False)
    >>> with open_workbook(path) as book:
    ...     sheet = pd.read_excel(book, sheet_name=book.sheet_names[0])
    >>> sheet.to_dict("records")
    [{'la_name': 'Leeds', 'cpp': 515}]
    """
    file = as_path(path)
    if file.stat().st_size == 0:
        raise EmptyFileError(f"{file} is empty (0 bytes). Download the file again.", path=file)
    try:
        book = pd.ExcelFile(file, engine="calamine")
    except ImportError as err:
        raise DataFileError(
            f"Reading {file} needs the python-calamine package ({err}). Install it with "
            "`pip install python-calamine`.",
            path=file,
        ) from None
    except Exception as err:  # calamine raises its own error types for damaged files
        raise DataFileError(
            f"{file} could not be opened as a spreadsheet ({type(err).__name__}: {err}). "
            "Download it again; it may be damaged or not a spreadsheet.",
            path=file,
        ) from None
    with book:
        yield book
