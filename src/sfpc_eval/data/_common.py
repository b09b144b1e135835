"""Small helpers shared by the readers: year filters and LA look-ups on whole columns."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sfpc_eval.data.areas import LocalAuthority, la_by_code
from sfpc_eval.errors import InvalidValueError, YearOutOfRangeError, show_values

__all__ = ["check_years", "las_for_codes", "parse_year", "select_years", "source_name"]


def source_name(path: str | os.PathLike[str]) -> str:
    """Return the path as it is recorded in ``source_file``."""
    return os.fspath(path)


def check_years(years: Iterable[int] | int | None, name: str = "years") -> list[int] | None:
    """Return ``years`` as a sorted list of ints (``None`` passes through), or raise."""
    if years is None:
        return None
    items = [years] if isinstance(years, int | np.integer) else list(years)
    out = []
    for y in items:
        if isinstance(y, bool) or not isinstance(y, int | np.integer):
            raise InvalidValueError(
                f"`{name}` must be whole years ending 31 March (e.g. 2017); got {y!r}."
            )
        out.append(int(y))
    return sorted(set(out))


def select_years(frame: pd.DataFrame, years: list[int] | None, *, path: object) -> pd.DataFrame:
    """Keep the rows of ``years``; raise if a requested year is not in the file at all."""
    if years is None:
        return frame
    present = sorted({int(y) for y in frame["year"].unique()})
    absent = [y for y in years if y not in present]
    if absent:
        span = f"{present[0]}-{present[-1]}" if present else "none"
        raise YearOutOfRangeError(
            f"{path} has no data for {show_values(absent)}: it covers the years ending 31 March "
            f"{span}. Ask for years in that range, or read the release that covers the others."
        )
    return frame[frame["year"].isin(years)]


def parse_year(values: Sequence[object], *, path: object, column: str) -> np.ndarray:
    """Parse a year column: ``2017``, ``"2017"`` or a financial year ``"201617"`` -> 2017."""
    out = np.empty(len(values), dtype=int)
    for i, value in enumerate(values):
        text = str(value).strip()
        if text.endswith(".0"):
            text = text[:-2]
        if len(text) == 4 and text.isdigit():
            out[i] = int(text)
        elif len(text) == 6 and text.isdigit() and int(text[4:]) == (int(text[2:4]) + 1) % 100:
            out[i] = int(text[:2] + text[4:])
        else:
            raise InvalidValueError(
                f"{path}: column {column!r} holds {value!r}, which is not a year (expected e.g. "
                "2017, or 201617 for the year ending 31 March 2017)."
            )
    return out


def las_for_codes(codes: Sequence[object], *, path: object) -> list[LocalAuthority]:
    """Look up each DfE/ONS code (cached per distinct code); unknown codes raise."""
    cache: dict[object, LocalAuthority] = {}
    out = []
    for code in codes:
        if code not in cache:
            cache[code] = la_by_code(code, source=path)
        out.append(cache[code])
    return out
