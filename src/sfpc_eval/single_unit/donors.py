"""Which councils may be donors: the exclusion list of councils that ran similar programmes.

A synthetic control compares a pioneer with councils that did not adopt the programme. Councils
that ran the same or a similar model (the DfE Innovation Programme projects, the SFPC councils,
the Supporting Families: Investing in Practice sites) are not untreated, so the single-council
designs leave them out of the donor pool by default. The list, with a source for every
council, is the data file ``excluded_donors.toml`` beside this module;
:func:`excluded_donors` reads it and :func:`donor_pool` applies it (or a caller's own list).

Councils in the data are recognised by name (as any DfE file spells it), DfE 3-digit code or
ONS code; values that are not English councils (simulated units, US states) never match.
"""

from __future__ import annotations

import functools
import tomllib
import warnings
from collections.abc import Mapping, Sequence
from importlib import resources

import pandas as pd

from sfpc_eval.data.areas import find_la, la_by_code
from sfpc_eval.errors import (
    DesignError,
    DonorExclusionWarning,
    InvalidValueError,
    UnknownAreaError,
    show_values,
)

__all__ = ["EXCLUSION_COLUMNS", "donor_pool", "excluded_donors"]

EXCLUSION_COLUMNS = ("unit", "programme", "reason", "source", "url")
"""Columns of the table of excluded donors that results carry."""

_LIST_COLUMNS = (
    "old_la_code",
    "la_name",
    "programme",
    "kind",
    "from_year",
    "reason",
    "source",
    "url",
)


@functools.cache
def _read_list() -> pd.DataFrame:
    raw = resources.files("sfpc_eval.single_unit").joinpath("excluded_donors.toml").read_bytes()
    spec = tomllib.loads(raw.decode("utf-8"))
    rows = []
    for programme in spec["programme"]:
        for name in programme["councils"]:
            la = find_la(name)
            rows.append(
                (
                    la.old_la_code,
                    la.name,
                    programme["name"],
                    programme["kind"],
                    int(programme["from"]),
                    programme["reason"],
                    programme["source"],
                    programme["url"],
                )
            )
    return pd.DataFrame(rows, columns=list(_LIST_COLUMNS))


@functools.cache
def _by_code() -> dict[str, pd.DataFrame]:
    return {code: part for code, part in _read_list().groupby("old_la_code")}


def excluded_donors(kinds: Sequence[str] | None = None) -> pd.DataFrame:
    """Read the packaged list of councils left out of donor pools (a row per council, programme).

    Parameters
    ----------
    kinds : sequence of str, optional
        Keep only these kinds of programme (``"Innovation Programme"``, ``"SFPC"``,
        ``"SFIP"``); default all.

    Returns
    -------
    pandas.DataFrame
        Columns ``old_la_code`` (DfE), ``la_name``, ``programme``, ``kind``, ``from_year``
        (first year ending 31 March affected), ``reason``, ``source`` and ``url``.

    Raises
    ------
    InvalidValueError
        An unknown kind.

    Examples
    --------
    >>> table = excluded_donors()
    >>> "Leeds" in set(table["la_name"]), bool(table["url"].str.startswith("http").all())
    (True, True)
    """
    table = _read_list().copy()
    if kinds is None:
        return table
    known = sorted(set(table["kind"]))
    unknown = [k for k in kinds if k not in known]
    if unknown:
        raise InvalidValueError(
            f"`kinds` {show_values(unknown)} unknown; the list has {', '.join(known)}."
        )
    return table[table["kind"].isin(list(kinds))].reset_index(drop=True)


@functools.lru_cache(maxsize=4096)
def _la_code(unit: object) -> str | None:
    """Return the DfE code of ``unit`` if it names an English council, else None.

    Cached: on a miss the name lookup suggests close names, which is slow.
    """
    if unit is None or isinstance(unit, bool | float):
        return None
    text = str(unit).strip()
    if not text:
        return None
    try:
        if text.isdigit() or (text[:1].upper() in {"E", "W"} and text[1:].isdigit()):
            return la_by_code(text).old_la_code
        return find_la(text).old_la_code
    except UnknownAreaError:
        return None


def _caller_table(exclude: object) -> pd.DataFrame:
    """Return a caller's exclusions as ``unit, reason`` rows."""
    if isinstance(exclude, pd.DataFrame):
        if not {"unit", "reason"} <= set(exclude.columns):
            raise InvalidValueError(
                "`exclude_donors` as a DataFrame needs columns 'unit' and 'reason'; it has "
                f"{show_values(list(exclude.columns))}."
            )
        return exclude[["unit", "reason"]].copy()
    if isinstance(exclude, Mapping):
        return pd.DataFrame({"unit": list(exclude), "reason": [str(v) for v in exclude.values()]})
    if isinstance(exclude, str) or not isinstance(exclude, Sequence | set | pd.Index):
        raise InvalidValueError(
            "`exclude_donors` must be 'default' (the packaged list), None (exclude nobody), a "
            "list of councils, a mapping council -> reason or a DataFrame with 'unit' and "
            f"'reason'; got {exclude!r}."
        )
    return pd.DataFrame({"unit": list(exclude), "reason": "excluded by the caller"})


def _matches(candidates: list, exclude: object) -> pd.DataFrame:
    """Rows of :data:`EXCLUSION_COLUMNS` for the candidates that ``exclude`` removes."""
    if exclude is None:
        return pd.DataFrame(columns=list(EXCLUSION_COLUMNS))
    rows = []
    if isinstance(exclude, str) and exclude == "default":
        by_code = _by_code()
        for unit in candidates:
            try:
                code = _la_code(unit)
            except TypeError:  # unhashable unit values are not council names
                code = None
            if code in by_code:
                part = by_code[code]
                rows.append(
                    (
                        unit,
                        "; ".join(part["programme"]),
                        "; ".join(dict.fromkeys(part["reason"])),
                        "; ".join(dict.fromkeys(part["source"])),
                        " ".join(dict.fromkeys(part["url"])),
                    )
                )
        return pd.DataFrame(rows, columns=list(EXCLUSION_COLUMNS))
    table = _caller_table(exclude)
    reasons = dict(zip(table["unit"], table["reason"], strict=True))
    for unit in candidates:
        if unit in reasons:
            rows.append((unit, "given by the caller", reasons[unit], "", ""))
    return pd.DataFrame(rows, columns=list(EXCLUSION_COLUMNS))


def donor_pool(
    units: Sequence,
    treated: Sequence,
    donors: Sequence | None,
    exclude: object = "default",
) -> tuple[list, pd.DataFrame]:
    """Return the donors left after exclusions, and the table of those excluded.

    Parameters
    ----------
    units : sequence
        Every council in the data.
    treated : sequence
        The treated council(s), never donors.
    donors : sequence, optional
        The caller's donor pool; default every other council in ``units``.
    exclude : "default", None, sequence, mapping or DataFrame, default "default"
        ``"default"``: the packaged list (:func:`excluded_donors`); None: exclude nobody; or
        the caller's own councils (a list, a mapping council -> reason, or a DataFrame with
        ``unit`` and ``reason``).

    Returns
    -------
    donors : list
        The pool, in the order given (or of ``units``).
    excluded : pandas.DataFrame
        One row per excluded donor: :data:`EXCLUSION_COLUMNS`.

    Raises
    ------
    DesignError
        The exclusions leave no donor (the message lists them and how to keep them).

    Warns
    -----
    DonorExclusionWarning
        Councils named in ``donors`` were excluded.

    Examples
    --------
    >>> pool, gone = donor_pool(["Leeds", "Bradford", "York", "Wakefield"], ["Leeds"], None)
    >>> pool, list(gone["unit"])
    (['York', 'Wakefield'], ['Bradford'])
    """
    treated_set = set(treated)
    candidates = (
        [u for u in dict.fromkeys(units) if u not in treated_set]
        if donors is None
        else list(donors)
    )
    excluded = _matches(candidates, exclude)
    gone = set(excluded["unit"])
    pool = [u for u in candidates if u not in gone]
    if gone and not pool:
        raise DesignError(
            f"the donor exclusions remove every one of the {len(candidates)} candidate donors "
            f"({show_values(sorted(map(str, gone)))}): each ran a similar programme. Pass "
            "other `donors`, or `exclude_donors=None` to keep them (and say so when you report)."
        )
    if donors is not None and gone:
        warnings.warn(
            f"{len(gone)} council(s) named in `donors` ran a similar programme and were left "
            f"out: {show_values(sorted(map(str, gone)))}. Pass `exclude_donors=None` to keep "
            "them; `result.excluded_donors` lists the programmes.",
            DonorExclusionWarning,
            stacklevel=3,
        )
    return pool, excluded.reset_index(drop=True)
