"""The keys a report spec may hold: one declaration per key, used to validate and to document.

Each design module declares its own keys (see :mod:`sfpc_eval.report.designs`); the tables here
are the ones every spec shares.

Examples
--------
>>> from sfpc_eval.report.schema import TABLES
>>> [k.name for k in TABLES["disclosure"]]
['threshold']
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sfpc_eval.errors import SpecError

__all__ = ["TABLES", "Key", "check_table", "closest"]


@dataclass(frozen=True)
class Key:
    """One key of a spec table.

    Parameters
    ----------
    name : str
        The key as written in TOML.
    kind : str
        ``"str"``, ``"int"``, ``"float"``, ``"bool"``, ``"date"`` (``YYYY-MM-DD``),
        ``"list[str]"``, ``"list[int]"``, ``"years"`` (``[first, last]``) or ``"table[int]"``
        (names to whole numbers).
    doc : str
        One line for the reference.
    required : bool, default False
    default : object, optional
        Value used when the key is absent (``None``: absent means "not used").
    choices : tuple, default ()
        Allowed values, if restricted.

    Examples
    --------
    >>> Key("threshold", "int", "smallest count shown", default=10).check(5, "disclosure")
    5
    """

    name: str
    kind: str
    doc: str
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] = ()

    def check(self, value: Any, where: str) -> Any:
        """Return ``value`` if it has this key's type (and is one of ``choices``); else raise."""
        dotted = f"{where}.{self.name}" if where else self.name
        ok = _KIND_CHECKS[self.kind](value)
        if not ok:
            raise SpecError(
                f"`{dotted}` must be {_KIND_WORDS[self.kind]}; got {value!r}. {self.doc}.",
                key=dotted,
            )
        if self.kind == "years" and value[0] > value[1]:
            raise SpecError(
                f"`{dotted}` is [first, last] with first <= last; got {value!r}.", key=dotted
            )
        values = value if self.kind.startswith("list") else [value]
        if self.choices:
            bad = [v for v in values if v not in self.choices]
            if bad:
                raise SpecError(
                    f"`{dotted}` has {bad[0]!r}; use one of "
                    f"{', '.join(repr(c) for c in self.choices)}.",
                    key=dotted,
                )
        return value


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_date(v: Any) -> bool:
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return True
    if isinstance(v, str):
        try:
            dt.date.fromisoformat(v)
        except ValueError:
            return False
        return True
    return False


_KIND_CHECKS = {
    "str": lambda v: isinstance(v, str) and v.strip() != "",
    "int": _is_int,
    "float": lambda v: _is_int(v) or isinstance(v, float),
    "bool": lambda v: isinstance(v, bool),
    "date": _is_date,
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "list[int]": lambda v: isinstance(v, list) and all(_is_int(x) for x in v),
    "years": lambda v: isinstance(v, list) and len(v) == 2 and all(_is_int(x) for x in v),
    "table[int]": lambda v: isinstance(v, dict) and v and all(_is_int(x) for x in v.values()),
}
_KIND_WORDS = {
    "str": "a non-empty string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "date": 'a date "YYYY-MM-DD"',
    "list[str]": 'a list of strings, e.g. ["a", "b"]',
    "list[int]": "a list of integers, e.g. [2011, 2017]",
    "years": "[first, last], e.g. [2010, 2019]",
    "table[int]": "a table of names to whole numbers, e.g. { Leeds = 2015, Hertfordshire = 2016 }",
}

REPORT_KEYS = (
    Key("title", "str", "Title of the report", required=True),
    Key("authors", "list[str]", "Authors, shown under the title", default=[]),
    Key(
        "date",
        "date",
        "Date printed on the report; default: from SOURCE_DATE_EPOCH if set, else none",
    ),
    Key("summary", "str", "Opening paragraph, shown before the generated findings"),
    Key("limitations", "list[str]", "Extra limitations, added to the generated ones", default=[]),
)
DATA_KEYS = (
    Key(
        "path",
        "str",
        "Folder of DfE files, or a CSV/Parquet file; relative to the spec file "
        "(the command line's --data overrides it)",
        required=True,
    ),
    Key(
        "format",
        "str",
        "How to read `path`; default: a folder is 'dfe', else by extension",
        choices=("dfe", "csv", "parquet"),
    ),
    Key(
        "level",
        "str",
        "'published' (LA-level official statistics: shown as published) or 'child' "
        "(counts derived from child-level records: disclosure control applies); "
        "default 'published' for DfE folders, required for CSV/Parquet",
        choices=("published", "child"),
    ),
    Key(
        "measures",
        "list[str]",
        "DfE measures to read",
        default=["cla", "cpp"],
        choices=("cla", "cpp", "cin", "referrals", "cla_started", "cla_ceased"),
    ),
    Key("years", "years", "First and last year (ending 31 March for DfE data) to read"),
    Key(
        "neighbours",
        "str",
        "DfE: statistical neighbours file, relative to `path`",
        default="dfe-csc-dashboard/New_Statistical_Neighbour_Groupings_April_2021.csv",
    ),
    Key("unit", "str", "CSV/Parquet: the unit (LA) column", default="la_name"),
    Key("time", "str", "CSV/Parquet: the period column (whole years)", default="year"),
    Key(
        "year_ends",
        "str",
        "Day (MM-DD) each period ends on, to place shaded dates on the time axis; "
        "default '03-31' (DfE years end 31 March) for DfE folders, '12-31' otherwise",
    ),
)
DISCLOSURE_KEYS = (
    Key(
        "threshold",
        "int",
        "Counts from child-level data below this are shown as 'c' (with secondary suppression)",
        default=10,
    ),
)
SHADE_KEYS = (
    Key("label", "str", "Legend label, e.g. 'COVID-19 lockdown'", required=True),
    Key("start", "date", "First day of the period", required=True),
    Key("end", "date", "Last day of the period", required=True),
)
OUTPUT_KEYS = (
    Key("html", "str", "Where to write the HTML report (relative to the spec file)"),
    Key("pdf", "str", "Where to write a PDF (needs Chromium), relative to the spec file"),
)

TABLES: dict[str, tuple[Key, ...]] = {
    "report": REPORT_KEYS,
    "data": DATA_KEYS,
    "disclosure": DISCLOSURE_KEYS,
    "shade": SHADE_KEYS,
    "output": OUTPUT_KEYS,
}
"""Keys of each shared table (``[[shade]]`` is an array of tables; ``[[analysis]]`` keys are
declared by each design)."""


def closest(name: str, options: Sequence[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest option, or ``""`` if none is close.

    Examples
    --------
    >>> closest("treshold", ["threshold"])
    " Did you mean 'threshold'?"
    """
    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" Did you mean {match[0]!r}?" if match else ""


def check_table(table: Any, keys: Sequence[Key], where: str) -> dict[str, Any]:
    """Validate one TOML table against ``keys``; return it with defaults filled in.

    Raises
    ------
    SpecError
        Not a table, an unknown key (naming the closest known one), a missing required key or
        a value of the wrong type.
    """
    if not isinstance(table, Mapping):
        raise SpecError(f"`{where}` must be a table ([{where}]); got {table!r}.", key=where)
    known = {k.name: k for k in keys}
    for name in table:
        if name not in known:
            raise SpecError(
                f"unknown key `{where}.{name}`.{closest(name, list(known))} "
                f"Keys allowed in [{where}]: {', '.join(known)}.",
                key=f"{where}.{name}",
            )
    out: dict[str, Any] = {}
    for key in keys:
        if key.name in table:
            out[key.name] = key.check(table[key.name], where)
        elif key.required:
            raise SpecError(
                f"`{where}` needs the key `{key.name}`: {key.doc}.", key=f"{where}.{key.name}"
            )
        else:
            out[key.name] = key.default
    return out
