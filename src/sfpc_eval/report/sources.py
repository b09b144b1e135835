"""Read the spec's data (a DfE folder or the user's CSV/Parquet) and record its provenance.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"la_name": ["A", "B"], "year": [2020, 2020], "y": [1.0, 2.0]}).to_csv(
...     folder / "mine.csv", index=False
... )
>>> ds = load_dataset({"path": folder / "mine.csv", "format": "csv", "level": "published",
...                    "unit": "la_name", "time": "year", "years": None, "year_ends": "12-31"})
>>> ds.units, ds.years, ds.files[0].name
(('A', 'B'), (2020,), 'mine.csv')
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sfpc_eval.errors import InvalidValueError, MissingColumnError, SpecError, show_values

__all__ = ["Dataset", "FileInfo", "load_dataset"]

_SKIP_FORMATS = ("documentation", "unrecognised")


@dataclass(frozen=True)
class FileInfo:
    """A file the report read: name relative to the data path, format, size, SHA-256."""

    name: str
    format: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Dataset:
    """The report's data, in one frame, with where it came from.

    Attributes
    ----------
    frame : pandas.DataFrame
        DfE: the harmonised LA x year panel (:func:`sfpc_eval.data.la_panel`); otherwise the
        user's rows, unchanged.
    kind : {"dfe", "csv", "parquet"}
    level : {"published", "child"}
    unit, time : str
        Unit and period columns.
    files : tuple of FileInfo
    path : Path
    year_ends : str
        ``MM-DD`` on which each period ends.
    neighbours : pandas.DataFrame or None
        DfE statistical neighbours, if the file exists.
    """

    frame: pd.DataFrame = field(repr=False)
    kind: str
    level: str
    unit: str
    time: str
    files: tuple[FileInfo, ...]
    path: Path
    year_ends: str
    neighbours: pd.DataFrame | None = field(default=None, repr=False)
    neighbours_file: str | None = None

    @property
    def units(self) -> tuple[Any, ...]:
        """Distinct units, sorted."""
        return tuple(sorted(self.frame[self.unit].dropna().unique(), key=str))

    @property
    def years(self) -> tuple[int, ...]:
        """Distinct periods, sorted."""
        return tuple(int(y) for y in sorted(self.frame[self.time].dropna().unique()))

    def to_axis(self, day: dt.date) -> float:
        """Place a calendar date on the period axis (period Y ends on ``year_ends`` of Y)."""
        month, dom = (int(p) for p in self.year_ends.split("-"))
        end = dt.date(day.year, month, dom)
        return day.year + (day - end).days / 365.25

    def rate_column(self, outcome: str) -> str:
        """DfE: the rate per 10,000 column of a measure; otherwise the column itself."""
        return f"{outcome}_rate" if self.kind == "dfe" else outcome


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _info(root: Path, path: Path, fmt: str) -> FileInfo:
    name = path.relative_to(root).as_posix() if path != root else path.name
    return FileInfo(name, fmt, path.stat().st_size, _sha256(path))


def _load_dfe(data: dict[str, Any]) -> Dataset:
    import sfpc_eval.data as sd

    root: Path = data["path"]
    years = None if data["years"] is None else range(data["years"][0], data["years"][1] + 1)
    panel = sd.la_panel(root, measures=tuple(data["measures"]), years=years)
    files = tuple(
        _info(root, root / name, fmt)
        for name, fmt in sorted(panel.files.items())
        if fmt not in _SKIP_FORMATS
    )
    neighbours_path = root / data["neighbours"]
    neighbours = None
    if neighbours_path.is_file():
        neighbours = sd.read_statistical_neighbours(neighbours_path)
    return Dataset(
        frame=panel.data,
        kind="dfe",
        level=data["level"],
        unit="la_name",
        time="year",
        files=files,
        path=root,
        year_ends=data["year_ends"],
        neighbours=neighbours,
        neighbours_file=data["neighbours"] if neighbours is not None else None,
    )


def _load_table(data: dict[str, Any]) -> Dataset:
    path: Path = data["path"]
    try:
        frame = pd.read_csv(path) if data["format"] == "csv" else pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise SpecError(
            f"`data.path` {path} cannot be read as {data['format']}: {err}", key="data.path"
        ) from None
    missing = [c for c in (data["unit"], data["time"]) if c not in frame.columns]
    if missing:
        raise MissingColumnError("data.unit / data.time", missing, list(frame.columns))
    time = frame[data["time"]]
    whole = pd.to_numeric(time, errors="coerce")
    bad = frame.index[whole.isna() | (whole != whole.round())]
    if len(bad):
        raise InvalidValueError(
            f"`data.time` column {data['time']!r} must hold whole years; rows "
            f"{show_values(list(bad))} do not (values {show_values(time[bad].tolist())}). "
            "Fix those rows or point `data.time` at a year column."
        )
    if data["years"] is not None:
        first, last = data["years"]
        frame = frame[(whole >= first) & (whole <= last)]
    return Dataset(
        frame=frame,
        kind=data["format"],
        level=data["level"],
        unit=data["unit"],
        time=data["time"],
        files=(_info(path.parent, path, data["format"]),),
        path=path,
        year_ends=data["year_ends"],
    )


def load_dataset(data: dict[str, Any]) -> Dataset:
    """Read the validated ``[data]`` table of a spec.

    Parameters
    ----------
    data : dict
        ``Spec.data``.

    Returns
    -------
    Dataset
    """
    if data["format"] == "dfe":
        return _load_dfe(data)
    return _load_table(data)
