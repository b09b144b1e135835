"""Reader for the Local Authority Interactive Tool (LAIT) long parquet file.

LAIT's "big data sheet" holds about 430 measures for every LA, region and England over a
rolling window of about ten years, one row per measure, area and year. Values are stored as
strings and ``-`` marks a missing or suppressed value; the file does not say which, so ``-``
becomes status ``"not available"``. LAIT copies the EES figures, so it is read as a secondary
source: where an EES release of the same year gives a figure, that release wins.
"""

from __future__ import annotations

import os
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
from sfpc_eval.data._files import as_path, require_columns
from sfpc_eval.data._status import parse_cells
from sfpc_eval.data._tidy import check_implausible_choice, finish, tidy_block
from sfpc_eval.data.areas import LOCAL_AUTHORITIES
from sfpc_eval.errors import DataFileError, EmptyFileError

__all__ = ["LAIT_COLUMNS", "LAIT_MEASURES", "read_lait"]

LAIT_COLUMNS = ("Short Desc", "Years", "LA and Regions", "Values", "LA Number")

LAIT_MEASURES: dict[str, str] = {
    "LACnum": "cla_at_31_march",
    "LAC": "cla_rate_per_10k",
    "LACnum_Start": "cla_started",
    "LAC_Start_Rate": "cla_started_rate_per_10k",
    "LACceased": "cla_ceased",
    "LAC_Cease_Rate": "cla_ceased_rate_per_10k",
    "CPP_Num": "cpp_at_31_march",
    "CPP_rate": "cpp_rate_per_10k",
    "CIN": "cin_rate_per_10k",
}
"""LAIT ``Short Desc`` codes read, and the measure each becomes."""

_LA_CODES = {float(la.old_la_code) for la in LOCAL_AUTHORITIES}


def read_lait(
    path: str | os.PathLike[str],
    *,
    years: Iterable[int] | int | None = None,
    implausible: str = "error",
) -> pd.DataFrame:
    """Read the children's social care measures of a LAIT ``bds_long`` parquet file.

    Parameters
    ----------
    path : path-like
        ``bds_long_0.parquet`` from LAIT.
    years : int or iterable of int, optional
        Years ending 31 March to keep; a year the file does not cover raises
        :class:`~sfpc_eval.errors.YearOutOfRangeError`.
    implausible : {"error", "flag"}, default "error"
        A negative, infinite or (for a count) fractional number means a damaged file, which is
        refused; ``"flag"`` keeps such rows with status ``"implausible"`` to inspect them.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~sfpc_eval.data.TIDY_COLUMNS`, LA rows of the measures in
        :data:`LAIT_MEASURES` (regions and England are left out).

    Examples
    --------
    >>> import sfpc_eval.data as sd
    >>> rows = sd.read_lait(raw / "bds_long_0.parquet", years=2017)  # doctest: +SKIP
    >>> rows.query("la_name == 'Leeds' and measure == 'cpp_at_31_march'").value.item()
    ... # doctest: +SKIP
    515.0
    """
    check_implausible_choice(implausible)
    wanted = check_years(years)
    file = as_path(path)
    name = source_name(path)
    if file.stat().st_size == 0:
        raise EmptyFileError(f"{name} is empty (0 bytes). Download the file again.", path=name)
    try:
        raw = pd.read_parquet(file)
    except ImportError as err:
        raise DataFileError(
            f"Reading {name} needs pyarrow ({err}). Install it with `pip install pyarrow`.",
            path=name,
        ) from None
    except Exception as err:  # pyarrow raises ArrowInvalid and others for damaged files
        raise DataFileError(
            f"{name} could not be read as a parquet file ({type(err).__name__}: {err}). "
            "Download it again.",
            path=name,
        ) from None
    if raw.empty:
        raise EmptyFileError(f"{name} has no rows. Download the file again.", path=name)
    require_columns(name, raw.columns, LAIT_COLUMNS, what="a LAIT bds_long parquet file")
    rows = raw[raw["Short Desc"].isin(list(LAIT_MEASURES))]
    if rows.empty:
        raise DataFileError(
            f"{name} has none of the LAIT children's social care measures "
            f"({', '.join(LAIT_MEASURES)}). Check it is the LAIT big data sheet.",
            path=name,
        )
    rows = rows[rows["LA Number"].astype(float).isin(_LA_CODES)]
    rows = rows.assign(year=parse_year(rows["Years"].tolist(), path=name, column="Years"))
    release = int(rows["year"].max())
    rows = select_years(rows, wanted, path=name)
    blocks = []
    for code, measure in LAIT_MEASURES.items():
        part = rows[rows["Short Desc"] == code]
        if part.empty:
            continue
        las = las_for_codes(part["LA Number"].tolist(), path=name)
        values, statuses = parse_cells(
            part["Values"].tolist(),
            convention="ees",
            path=name,
            column=f"Values ({code})",
            labels=[f"{la.name} {y}" for la, y in zip(las, part["year"], strict=True)],
        )
        blocks.append(
            tidy_block(
                las,
                part["year"].to_numpy(dtype=int),
                measure,
                values,
                statuses,
                source_file=name,
                source_format="lait",
            )
        )
    frame = finish(blocks, path=name, release=release, implausible=implausible)
    return frame.reset_index(drop=True) if len(frame) else frame.assign(value=np.nan)
