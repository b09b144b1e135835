"""Validate a folder of DfE files and say what is in it (``sfpc-eval data check PATH``)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sfpc_eval.data._status import STATUSES, SUPPRESSED
from sfpc_eval.data.folder import FORMATS, _listing, detect_format
from sfpc_eval.errors import SfpcEvalError
from sfpc_eval.tables import Table

__all__ = ["FileCheck", "FolderCheck", "check_folder"]


@dataclass(frozen=True)
class FileCheck:
    """What one file holds, or why it could not be read.

    Attributes
    ----------
    path : str
        Relative to the folder checked.
    format : str
        A key of :data:`~sfpc_eval.data.FORMATS`, ``"documentation"`` or ``"unrecognised"``.
    ok : bool
        False if a recognised file failed to read (``error`` says why).
    rows : int
        Tidy rows (statistics files) or table rows (reference files) read.
    first_year, last_year : int or None
        Years covered (statistics files).
    n_las : int
        Distinct LAs.
    measures : tuple of str
    status_counts : dict of str to int
        Cells by status (``published``, ``suppressed``...).
    error : str
        The error message, if any.
    """

    path: str
    format: str
    ok: bool = True
    rows: int = 0
    first_year: int | None = None
    last_year: int | None = None
    n_las: int = 0
    measures: tuple[str, ...] = ()
    status_counts: dict[str, int] = field(default_factory=dict)
    error: str = ""

    @property
    def suppressed(self) -> int:
        """Cells with status ``"suppressed"``."""
        return self.status_counts.get(SUPPRESSED, 0)


@dataclass(frozen=True)
class FolderCheck:
    """The result of :func:`check_folder`: one :class:`FileCheck` per file, and totals.

    ``print()`` it (or call :meth:`as_text`) for the report; :meth:`to_frame` gives one row per
    file.
    """

    root: str
    files: tuple[FileCheck, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        """True if every recognised file was read without error."""
        return all(f.ok for f in self.files)

    @property
    def recognised(self) -> tuple[FileCheck, ...]:
        """The files in a format sfpc_eval reads."""
        return tuple(f for f in self.files if f.format in FORMATS)

    @property
    def years(self) -> tuple[int, int] | None:
        """First and last year ending 31 March over the statistics files."""
        firsts = [f.first_year for f in self.files if f.first_year is not None]
        lasts = [f.last_year for f in self.files if f.last_year is not None]
        return (min(firsts), max(lasts)) if firsts else None

    @property
    def las(self) -> int:
        """Distinct LAs over all statistics files."""
        return len(self._la_codes)

    @property
    def status_counts(self) -> dict[str, int]:
        """Cells by status over all statistics files."""
        out = dict.fromkeys(STATUSES, 0)
        for f in self.files:
            for status, n in f.status_counts.items():
                out[status] = out.get(status, 0) + n
        return out

    @property
    def suppressed(self) -> int:
        """Suppressed cells over all statistics files."""
        return self.status_counts[SUPPRESSED]

    _la_codes: frozenset[str] = field(default=frozenset(), repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per file: path, format, ok, rows, years, LAs, suppressed, error."""
        return pd.DataFrame(
            [
                {
                    "path": f.path,
                    "format": f.format,
                    "ok": f.ok,
                    "rows": f.rows,
                    "first_year": f.first_year,
                    "last_year": f.last_year,
                    "n_las": f.n_las,
                    "measures": ", ".join(f.measures),
                    "suppressed": f.suppressed,
                    "error": f.error,
                }
                for f in self.files
            ]
        )

    def summary(self) -> Table:
        """Return the report as a :class:`~sfpc_eval._tables.Table` (text, HTML, Markdown...)."""
        rows = []
        for f in self.files:
            if f.format in ("documentation", "unrecognised"):
                continue
            years = "" if f.first_year is None else f"{f.first_year}-{f.last_year}"
            rows.append(
                [
                    f.path,
                    f.format,
                    "ok" if f.ok else "ERROR",
                    f"{f.rows:,}",
                    years,
                    str(f.n_las or ""),
                    _short(f.measures),
                    f"{f.suppressed:,}",
                ]
            )
        span = self.years
        counts = self.status_counts
        facts = [
            ("folder", self.root),
            ("files", f"{len(self.files)} ({len(self.recognised)} recognised)"),
            ("years", f"{span[0]}-{span[1]}" if span else "none"),
            ("local authorities", str(self.las)),
            ("cells", ", ".join(f"{n:,} {s}" for s, n in counts.items() if n)),
            ("time", f"{self.seconds:.1f} s"),
        ]
        notes = [f"ERROR {f.path}: {f.error}" for f in self.files if not f.ok]
        unread = [f.path for f in self.files if f.format == "unrecognised"]
        if unread:
            notes.append(f"Not recognised (not read): {', '.join(unread)}")
        docs = sum(f.format == "documentation" for f in self.files)
        if docs:
            notes.append(f"{docs} documentation file(s) skipped.")
        notes.append("OK: every recognised file was read." if self.ok else "Some files failed.")
        return Table(
            "DfE data folder check",
            ["file", "format", "status", "rows", "years", "LAs", "measures", "suppressed"],
            rows,
            facts=facts,
            notes=notes,
        )

    def as_text(self) -> str:
        """Return the report as plain text."""
        return self.summary().as_text()

    def __str__(self) -> str:
        return self.as_text()


def _short(measures: tuple[str, ...]) -> str:
    """Name the counts a file holds briefly: ``cla, cpp +rates +population``."""
    counts = [
        m.replace("_at_31_march", "")
        for m in measures
        if not m.endswith("_per_10k") and m != "population_0_17"
    ]
    extra = [
        " +rates" if any(m.endswith("_per_10k") for m in measures) else "",
        " +population" if "population_0_17" in measures else "",
    ]
    return (", ".join(counts) + "".join(extra)).strip() or "population"


def _check_file(path: Path, rel: str) -> tuple[FileCheck, set[str]]:
    fmt = detect_format(path)
    if fmt is None:
        return FileCheck(rel, "unrecognised"), set()
    if fmt == "documentation":
        return FileCheck(rel, fmt), set()
    try:
        frame = FORMATS[fmt].reader(path)
    except (SfpcEvalError, OSError) as err:
        message = err.args[0] if err.args else str(err)
        return FileCheck(rel, fmt, ok=False, error=str(message)), set()
    codes = set(frame["old_la_code"]) if "old_la_code" in frame else set()
    if FORMATS[fmt].kind != "statistics":
        return FileCheck(rel, fmt, rows=len(frame), n_las=len(codes)), set()
    counts = frame["measure"] != "population_0_17"
    years = frame.loc[counts, "year"] if counts.any() else frame["year"]
    status = frame["status"].value_counts()
    return (
        FileCheck(
            rel,
            fmt,
            rows=len(frame),
            first_year=int(years.min()),
            last_year=int(years.max()),
            n_las=len(codes),
            measures=tuple(sorted(frame["measure"].unique())),
            status_counts={s: int(status.get(s, 0)) for s in STATUSES if status.get(s, 0)},
        ),
        codes,
    )


def check_folder(path: str | os.PathLike[str]) -> FolderCheck:
    r"""Validate every file under a folder of DfE files and summarise what it holds.

    Each file is recognised by its content, read with its reader and summarised (years, LAs,
    measures, cells by status). A file that fails to read is reported with the error rather than
    stopping the check.

    Parameters
    ----------
    path : path-like
        The folder (searched recursively).

    Returns
    -------
    FolderCheck
        ``print()`` it for the report; ``.ok`` is False if any recognised file failed.

    Raises
    ------
    FileNotFoundError
        ``path`` is not a folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "cpp.csv").write_text(
    ...     "time_period,geographic_level,old_la_code,la_name,CPP_At31\n"
    ...     "2011,Local authority,383,Leeds,974\n2017,Local authority,383,Leeds,515\n")
    >>> report = check_folder(folder)
    >>> report.ok, report.years, report.las
    (True, (2011, 2017), 1)
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(
            f"No such folder: {root}. Pass the folder holding the DfE files (for example "
            "'../shared/data/raw')."
        )
    start = time.perf_counter()
    checks = []
    codes: set[str] = set()
    for file in _listing(root):
        check, found = _check_file(file, file.relative_to(root).as_posix())
        checks.append(check)
        codes |= found
    return FolderCheck(
        root=str(root),
        files=tuple(checks),
        seconds=time.perf_counter() - start,
        _la_codes=frozenset(codes),
    )
