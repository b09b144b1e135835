"""The population an effect is applied to: how many children (or child-years) a year.

A :class:`Population` is a number with what it counts and where it comes from, and optionally a
range for the sensitivity table. :func:`population_from_file` reads one from an official DfE
file (children starting to be looked after, children in need...), summing the councils asked
for and saying which were suppressed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sfpc_eval._validate import check_number
from sfpc_eval.errors import InvalidValueError, show_values

__all__ = ["Population", "population_from_file"]


@dataclass(frozen=True)
class Population:
    """How many children (or families, or child-years) a year the effect applies to.

    Parameters
    ----------
    size : float
        The number a year. Must not be negative.
    description : str
        What it counts ("children entering pre-proceedings in England a year").
    source : str, optional
        Where the number comes from.
    low, high : float, optional
        A plausible range, used only by the sensitivity table.

    Examples
    --------
    >>> Population(32_265, "children starting to be looked after, England, 2024-25").size
    32265.0
    >>> Population(-5, "children")
    Traceback (most recent call last):
    ...
    sfpc_eval.errors.InvalidValueError: `population` cannot be negative; got -5 (children). ...
    """

    size: float
    description: str
    source: str = ""
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        size = check_number(self.size, "population")
        if size < 0:
            raise InvalidValueError(
                f"`population` cannot be negative; got {self.size!r} ({self.description}). "
                "Pass the number of children (or child-years) a year the effect applies to."
            )
        object.__setattr__(self, "size", size)
        for name in ("low", "high"):
            value = getattr(self, name)
            if value is not None:
                checked = check_number(value, f"population {name}")
                if checked < 0:
                    raise InvalidValueError(
                        f"`population` {name} cannot be negative; got {value!r}."
                    )
                object.__setattr__(self, name, checked)
        if (self.low is None) != (self.high is None):
            raise InvalidValueError(
                "give both `low` and `high` for the population range, or neither."
            )
        if self.low is not None and not self.low <= size <= self.high:  # type: ignore[operator]
            raise InvalidValueError(
                f"the population range must contain the size: {self.low} <= {size} <= {self.high}."
            )


def population_from_file(
    path: str | os.PathLike[str],
    measure: str,
    year: int,
    *,
    areas: Sequence[str] | None = None,
    description: str | None = None,
) -> Population:
    """Read a population from an official DfE file: the sum of a measure over councils.

    Parameters
    ----------
    path : path-like
        One file the library reads (see :func:`sfpc_eval.data.read_file`), e.g. the EES
        ``cla_number_and_rate_per_10k_children.csv``.
    measure : str
        A measure of :data:`sfpc_eval.data.MEASURES` (``"cla_started"``...).
    year : int
        The year ending 31 March.
    areas : sequence of str, optional
        Council names (as any DfE file spells them); all councils in the file by default.
    description : str, optional
        What the number counts (defaults to the measure's label, year and areas).

    Returns
    -------
    Population
        Whose ``source`` names the file and which councils were suppressed or missing and so
        not counted.

    Raises
    ------
    InvalidValueError
        The measure or year is not in the file, or none of the councils has a value.
    """
    from sfpc_eval.data import MEASURES, find_la, read_file

    if measure not in MEASURES:
        raise InvalidValueError(
            f"`measure` {measure!r} is not one the data readers know; use one of "
            f"{', '.join(sorted(MEASURES))}."
        )
    rows = read_file(path)
    rows = rows[(rows["measure"] == measure) & (rows["year"] == year)]
    if rows.empty:
        raise InvalidValueError(f"{path} has no {measure!r} rows for {year}.")
    if areas is not None:
        wanted = [find_la(str(a)).old_la_code for a in areas]
        found = set(rows["old_la_code"])
        absent = [a for a, c in zip(areas, wanted, strict=True) if c not in found]
        if absent:
            raise InvalidValueError(f"{path} has no {measure!r} rows for {show_values(absent)}.")
        rows = rows[rows["old_la_code"].isin(wanted)]
    published = rows[rows["value"].notna()]
    withheld = rows[rows["value"].isna()]
    if published.empty:
        raise InvalidValueError(f"every council's {measure!r} value for {year} is withheld.")
    total = float(published["value"].sum())
    label = MEASURES[measure].label
    place = "all councils in the file" if areas is None else ", ".join(map(str, areas))
    source = f"{Path(path).name}: sum of {len(published)} councils' {measure} for {year}"
    if not withheld.empty:
        names = [f"{n} ({s})" for n, s in zip(withheld["la_name"], withheld["status"], strict=True)]
        source += f"; not counted (withheld): {show_values(names)}"
    if math.isnan(total):  # pragma: no cover - guarded above
        raise InvalidValueError("population sum is missing")
    return Population(total, description or f"{label}, {year} ({place})", source=source)
