"""A folder (or glob) of Parquet files that differ in columns is a typed error (issue 19).

DuckDB took the first file's schema and failed halfway through the query with its own
``InvalidInputException``; now the files' footers are compared before any query, and the
error names each differing file and its columns.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import sfpc_eval as se
from sfpc_eval.engines import source
from sfpc_eval.errors import FileColumnsError

DESIGN = {"outcome": "y", "unit": "la", "time": "year", "treated": "treated"}


def rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    data = [(u, t, int(u < 3 and t >= 3), rng.normal()) for u in range(8) for t in range(6)]
    return pd.DataFrame(data, columns=["la", "year", "treated", "y"])


@pytest.fixture
def mixed(tmp_path):
    frame = rows()
    folder = tmp_path / "cells"
    folder.mkdir()
    frame.iloc[:24].to_parquet(folder / "a.parquet")
    frame.iloc[24:36].rename(columns={"y": "outcome"}).to_parquet(folder / "b.parquet")
    frame.iloc[36:].astype({"year": str}).to_parquet(folder / "c.parquet")
    return folder


@pytest.mark.parametrize("as_glob", [False, True])
def test_mixed_columns_name_the_files_and_columns(mixed, as_glob):
    where = str(mixed / "*.parquet") if as_glob else str(mixed)
    with pytest.raises(FileColumnsError) as info:
        se.did(where, **DESIGN)
    text = str(info.value)
    assert "b.parquet: lacks 'y'; has extra 'outcome'" in text
    assert re.search(r"c\.parquet: has other types for year \(int64 vs (large_)?string\)", text)
    assert info.value.expected == ["la", "year", "treated", "y"]


def test_a_folder_with_a_glob_character_in_its_name_is_checked_too(tmp_path):
    frame = rows()
    folder = tmp_path / "cells[1]"
    folder.mkdir()
    frame.iloc[:24].to_parquet(folder / "a.parquet")
    frame.iloc[24:].rename(columns={"y": "z"}).to_parquet(folder / "b.parquet")
    with pytest.raises(FileColumnsError, match=r"b\.parquet: lacks 'y'"):
        source(str(folder))


def test_int32_and_int64_files_still_union(tmp_path):
    frame = rows()
    frame.iloc[:24].to_parquet(tmp_path / "a.parquet")
    frame.iloc[24:].astype({"year": "int32"}).to_parquet(tmp_path / "b.parquet")
    together = se.did(str(tmp_path), **DESIGN).estimate
    direct = se.did(frame, **DESIGN).estimate
    assert together.estimate == pytest.approx(direct.estimate, rel=1e-12)
