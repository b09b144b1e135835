"""Reader for Explore Education Statistics (EES) CSV files.

One reader covers the EES tables sfpc_eval uses, recognised by their columns:

============== ======================================================= =========================
table          value columns                                           measures
============== ======================================================= =========================
``cla``        ``children_count`` (2025 release) or ``number`` (2022   ``cla_at_31_march``,
               release), ``rate_per_10000``, one row per               ``cla_started``,
               ``population_type``/``population_count`` label          ``cla_ceased`` and rates
``cin``        ``At31_episodes`` (``At31_episodes_rate`` if present)   ``cin_at_31_march``
``cpp``        ``CPP_At31`` (``CPP_At31_rate`` if present; d1 and d5)  ``cpp_at_31_march``
``referrals``  ``referral_count``                                      ``referrals``
``population`` ``population_estimate`` for "Children aged 0 to 17"    ``population_0_17``
============== ======================================================= =========================

Only local-authority rows are returned. EES symbols: ``c`` suppressed, ``x`` not available,
``z`` not applicable, ``u`` low reliability. The CLA label reads "looked after **on** 31 March"
in the 2025 release and "**at** 31 March" in the 2022 release; both are recognised.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from sfpc_eval.data._common import (
    check_years,
    las_for_codes,
    parse_year,
    select_years,
    source_name,
)
from sfpc_eval.data._files import read_csv_text, require_columns
from sfpc_eval.data._status import parse_cells
from sfpc_eval.data._tidy import check_implausible_choice, finish, tidy_block
from sfpc_eval.errors import DataFileError, FileColumnsError

__all__ = ["EES_TABLES", "detect_ees_table", "read_ees_csv"]

COMMON_COLUMNS = ("time_period", "geographic_level", "old_la_code", "la_name")

# table -> (columns that identify it, {value column: measure}, optional {column: measure})
EES_TABLES: dict[str, tuple[tuple[str, ...], dict[str, str], dict[str, str]]] = {
    "cin": (
        ("At31_episodes",),
        {"At31_episodes": "cin_at_31_march"},
        {"At31_episodes_rate": "cin_rate_per_10k"},
    ),
    "cpp": (("CPP_At31",), {"CPP_At31": "cpp_at_31_march"}, {"CPP_At31_rate": "cpp_rate_per_10k"}),
    "referrals": (("referral_count",), {"referral_count": "referrals"}, {}),
    "population": (
        ("age_group", "population_estimate"),
        {"population_estimate": "population_0_17"},
        {},
    ),
    "cla": (("rate_per_10000",), {}, {}),
}
"""The EES tables recognised, by the columns that identify them."""

_CLA_LABELS = (
    (
        re.compile(r"looked after (?:on|at) 31 march", re.IGNORECASE),
        "cla_at_31_march",
        "cla_rate_per_10k",
    ),
    (
        re.compile(r"starting to be looked after", re.IGNORECASE),
        "cla_started",
        "cla_started_rate_per_10k",
    ),
    (
        re.compile(r"ceasing to be looked after", re.IGNORECASE),
        "cla_ceased",
        "cla_ceased_rate_per_10k",
    ),
)
_POPULATION_0_17 = "children aged 0 to 17 years"


def detect_ees_table(columns: Iterable[str]) -> str | None:
    """Return which EES table a header belongs to, or None.

    Examples
    --------
    >>> detect_ees_table(["time_period", "geographic_level", "CPP_At31"])
    'cpp'
    """
    found = set(columns)
    if not {"time_period", "geographic_level"} <= found:
        return None
    for table, (signature, _, _) in EES_TABLES.items():
        if set(signature) <= found:
            return table
    return None


def _expected_text() -> str:
    return "; ".join(f"{t}: {', '.join(sig)}" for t, (sig, _, _) in EES_TABLES.items())


def read_ees_csv(
    path: str | os.PathLike[str],
    *,
    years: Iterable[int] | int | None = None,
    encoding: str | None = "utf-8-sig",
    implausible: str = "error",
) -> pd.DataFrame:
    """Read an Explore Education Statistics CSV into tidy rows.

    Parameters
    ----------
    path : path-like
        The CSV as downloaded from Explore Education Statistics (or the DfE dashboards).
    years : int or iterable of int, optional
        Years ending 31 March to keep (mid-years for the population table). A year the file
        does not cover raises :class:`~sfpc_eval.errors.YearOutOfRangeError`.
    encoding : str, default "utf-8-sig"
        EES files are UTF-8 (some with a byte-order mark).
    implausible : {"error", "flag"}, default "error"
        A negative, infinite or (for a count) fractional number means a damaged file, which is
        refused; ``"flag"`` keeps such rows with status ``"implausible"`` to inspect them.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~sfpc_eval.data.TIDY_COLUMNS`, one row per LA, year and measure.

    Raises
    ------
    FileColumnsError
        The file is not one of the tables above (the message lists the columns each needs).
    FileEncodingError, EmptyFileError, DataFileError
        The file cannot be decoded, has no rows, or holds unknown symbols or labels.
    UnknownAreaError
        An LA code is not an English LA.
    DuplicateObservationError
        An LA has two rows for the same year and measure.

    Examples
    --------
    >>> import sfpc_eval.data as sd
    >>> rows = sd.read_ees_csv(root / "d5_cpps_at31march_by_duration_2013_to_2025.csv",
    ...                        years=2017)  # doctest: +SKIP
    >>> rows.query("la_name == 'Leeds'")["value"].tolist()  # doctest: +SKIP
    [515.0]
    """
    check_implausible_choice(implausible)
    wanted = check_years(years)
    name = source_name(path)
    raw = read_csv_text(path, encoding=encoding)
    require_columns(name, raw.columns, COMMON_COLUMNS, what="an Explore Education Statistics CSV")
    table = detect_ees_table(raw.columns)
    if table is None:
        raise FileColumnsError(
            f"{name} is an Explore Education Statistics CSV but not a table sfpc_eval reads: "
            f"none of the value columns it needs are there. Expected, by table: "
            f"{_expected_text()}. Found: {', '.join(raw.columns)}. Check it is the right table "
            "(e.g. d5 'CPPs at 31 March', b1 'children in need'), or that its value columns "
            "were not renamed.",
            path=name,
            expected=[c for sig, _, _ in EES_TABLES.values() for c in sig],
            found=list(raw.columns),
        )
    la_rows = raw[raw["geographic_level"].str.strip() == "Local authority"]
    if la_rows.empty:
        raise DataFileError(
            f"{name} has no rows with geographic_level 'Local authority' (it has: "
            f"{', '.join(sorted(raw['geographic_level'].unique()))}). Download the file with "
            "local-authority rows included.",
            path=name,
        )
    la_rows = la_rows.assign(
        year=parse_year(la_rows["time_period"].tolist(), path=name, column="time_period")
    )
    la_rows = select_years(la_rows, wanted, path=name)
    if table == "cla":
        blocks = _cla_blocks(la_rows, name)
    else:
        if table == "population":
            groups = la_rows["age_group"].str.strip().str.lower()
            la_rows = la_rows[groups == _POPULATION_0_17]
            if la_rows.empty:
                raise DataFileError(
                    f"{name} has no rows for age_group 'Children aged 0 to 17 years'. The DfE "
                    "rates use that population; download that age group.",
                    path=name,
                )
        _, columns, optional = EES_TABLES[table]
        present = {**columns, **{c: m for c, m in optional.items() if c in la_rows.columns}}
        blocks = [_block(la_rows, column, measure, name) for column, measure in present.items()]
    release = int(parse_year(raw["time_period"].tolist(), path=name, column="time_period").max())
    return finish(blocks, path=name, release=release, implausible=implausible)


def _block(rows: pd.DataFrame, column: str, measure: str, name: str) -> pd.DataFrame:
    las = las_for_codes(rows["old_la_code"].tolist(), path=name)
    values, statuses = parse_cells(
        rows[column].tolist(),
        convention="ees",
        path=name,
        column=column,
        labels=[f"{la.name} {y}" for la, y in zip(las, rows["year"], strict=True)],
    )
    return tidy_block(
        las,
        rows["year"].to_numpy(),
        measure,
        values,
        statuses,
        source_file=name,
        source_format="ees",
    )


def _cla_blocks(rows: pd.DataFrame, name: str) -> list[pd.DataFrame]:
    label_column = next((c for c in ("population_type", "population_count") if c in rows), None)
    count_column = next((c for c in ("children_count", "number") if c in rows), None)
    if label_column is None or count_column is None:
        raise FileColumnsError(
            f"{name} looks like the EES children looked after table (it has rate_per_10000) but "
            "lacks its label or count column. Expected population_type (2025 release) or "
            "population_count (2022 release), and children_count or number. Found: "
            f"{', '.join(rows.columns)}.",
            path=name,
            expected=["population_type|population_count", "children_count|number"],
            found=list(rows.columns),
        )
    labels = rows[label_column].str.strip()
    blocks = []
    matched = np.zeros(len(rows), dtype=bool)
    for pattern, count_measure, rate_measure in _CLA_LABELS:
        hit = labels.str.contains(pattern).to_numpy()
        matched |= hit
        if hit.any():
            subset = rows[hit]
            blocks.append(_block(subset, count_column, count_measure, name))
            blocks.append(_block(subset, "rate_per_10000", rate_measure, name))
    if not matched.all():
        unknown = sorted(set(labels[~matched]))
        raise DataFileError(
            f"{name}: column {label_column!r} has labels sfpc_eval does not recognise: "
            f"{', '.join(map(repr, unknown))}. Known: children looked after on/at 31 March, "
            "starting to be looked after, ceasing to be looked after. Check the release; a new "
            "wording needs adding to sfpc_eval.data.ees.",
            path=name,
        )
    return blocks
