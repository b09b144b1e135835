"""Workbook readers close the file they open: no handle is left for the garbage collector.

``pandas.ExcelFile`` opens a Python file object; left open, it is closed only when collected,
with a ``ResourceWarning``. ``sfpc_eval.data._files.open_workbook`` is a context manager and
every reader reads inside its ``with`` block. Each test collects garbage with ResourceWarnings
recorded and fails on any (the first test shows the check catches a handle left open).
"""

from __future__ import annotations

import contextlib
import gc
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import sfpc_eval as se
import sfpc_eval.data as sd
from sfpc_eval.data._files import open_workbook

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "data" / "raw"


def unclosed(action: Callable[[], object]) -> list[str]:
    """Run ``action``, collect garbage, and return the ResourceWarnings raised on the way."""
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with contextlib.suppress(se.SfpcEvalError):  # the error paths must close it too
            action()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.fixture
def book(tmp_path) -> Path:
    """A small workbook with one sheet that is none of the DfE tables the readers want."""
    path = tmp_path / "book.xlsx"
    pd.DataFrame({"la_name": ["Leeds", "Bury"], "cpp": [515, 190]}).to_excel(
        path, sheet_name="Other", index=False
    )
    return path


def test_the_check_catches_a_workbook_left_open(book):
    def leak():
        pd.ExcelFile(book, engine="calamine").sheet_names  # noqa: B018 - never closed

    assert any("unclosed file" in m for m in unclosed(leak))


def test_open_workbook_closes_on_leaving_the_block(book):
    def read():
        with open_workbook(book) as opened:
            frame = pd.read_excel(opened, sheet_name="Other")
        assert frame["cpp"].tolist() == [515, 190]

    assert unclosed(read) == []


def test_open_workbook_closes_when_the_block_raises(book):
    def fail():
        with open_workbook(book):
            raise se.DataFileError("stop inside the block", path=book)

    assert unclosed(fail) == []


@pytest.mark.parametrize(
    ("reader", "error"),
    [
        (sd.read_statistical_neighbours, se.DataFileError),  # no sheet "LA SN Groups"
        (sd.read_cla_2010_workbook, se.FileColumnsError),  # no sheet "LAA1"
    ],
)
def test_readers_close_the_workbook_on_a_missing_sheet(book, reader, error):
    with pytest.raises(error, match="has no sheet"):
        reader(book)
    assert unclosed(lambda: reader(book)) == []


WORKBOOKS = [
    (sd.read_statistical_neighbours, "dfe-lait/sn_april_2021.xlsx"),
    (sd.read_la_code_list, "dfe-lait/la_code_list.xlsx"),
    (
        sd.read_ofsted_inspections,
        "dfe-csc-dashboard/LA_Inspection_Outcomes_as_at_31_March_2025.ods",
    ),
    (sd.read_cla_2010_workbook, "ipse-webb/data/ssda903-cla/sfr27-2010amv5.xls"),
    (sd.detect_format, "dfe-lait/sn_april_2021.xlsx"),
]

IDS = [f"{reader.__name__}:{Path(name).name}" for reader, name in WORKBOOKS]


@pytest.mark.parametrize(("reader", "name"), WORKBOOKS, ids=IDS)
def test_readers_close_the_dfe_workbooks(reader, name):
    path = RAW / name
    if not path.is_file():
        pytest.skip(f"the DfE file is not at {path}")
    assert unclosed(lambda: reader(path)) == []
