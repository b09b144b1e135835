"""Damaged files are refused, not read as published values (issue 19).

Each case starts from a real DfE file (``../shared/data/raw``), damages a copy the way a cut-off
download or a hand edit does, and checks the reader refuses it naming the file, the place and
the fix; ``implausible="flag"`` keeps impossible numbers as flagged rows instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sfpc_eval.data as sd
from sfpc_eval.errors import DataFileError, InvalidValueError

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
CLA = RAW / "dfe-csc-dashboard" / "cla_number_and_rate_per_10k_children.csv"
pytestmark = pytest.mark.skipif(not CLA.is_file(), reason=f"the DfE files are not at {RAW}")


def _lines() -> list[str]:
    return CLA.read_text(encoding="utf-8-sig").splitlines(keepends=True)


def _la_line(lines: list[str], name: str, year: str, measure: str) -> int:
    return next(
        i
        for i, line in enumerate(lines)
        if line.startswith(year) and f",{name}," in line and measure in line
    )


def test_a_download_cut_mid_number_is_refused_naming_the_line(tmp_path):
    lines = _lines()
    i = _la_line(lines, "Leeds", "2025", "Children looked after on 31 March each year")
    cut = lines[i].rstrip("\n")[:-2]  # "...,1299,76" loses its last digits
    path = tmp_path / "cla.csv"
    path.write_text("".join(lines[:i]) + cut, encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        sd.read_ees_csv(path)
    message = str(info.value)
    assert str(path) in message and f"line {i + 1}" in message
    assert "cut short" in message and "Download the file again" in message


def test_a_download_cut_at_a_line_break_is_refused_by_its_coverage(tmp_path):
    lines = _lines()
    half = len(lines) // 2
    path = tmp_path / "cla.csv"
    path.write_text("".join(lines[:half]), encoding="utf-8")  # ends with a whole line
    full = sd.read_ees_csv(CLA)
    with pytest.raises(DataFileError) as info:
        sd.read_ees_csv(path)
    message = str(info.value)
    assert "fewer councils" in message and "cut short" in message
    # the message gives the short year's count beside the fullest year's, from the file itself
    fullest = full.groupby(["measure", "year"])["la_code"].nunique().max()
    assert f"fullest year {fullest}" in message


@pytest.mark.parametrize(
    ("value", "why"),
    [("-12", "negative"), ("12.5", "fractional count"), ("1e999", "infinite")],
)
def test_impossible_counts_are_refused_with_their_rows(tmp_path, value, why):
    lines = _lines()
    i = _la_line(lines, "Leeds", "2025", "Children looked after on 31 March each year")
    fields = lines[i].rstrip("\n").split(",")
    fields[-2] = value  # children_count
    lines[i] = ",".join(fields) + "\n"
    path = tmp_path / "cla.csv"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        sd.read_ees_csv(path)
    message = str(info.value)
    assert "Leeds 2025 cla_at_31_march" in message, why
    assert "implausible='flag'" in message

    flagged = sd.read_ees_csv(path, implausible="flag")
    leeds = flagged[
        (flagged["la_name"] == "Leeds")
        & (flagged["year"] == 2025)
        & (flagged["measure"] == "cla_at_31_march")
    ]
    assert leeds["status"].tolist() == ["implausible"]
    assert (flagged["status"] == "implausible").sum() == 1
    # every other row is read exactly as from the undamaged file
    clean = sd.read_ees_csv(CLA)
    others = flagged["status"] != "implausible"
    assert np.array_equal(
        flagged.loc[others, "value"].to_numpy(),
        clean.loc[others.to_numpy(), "value"].to_numpy(),
        equal_nan=True,  # suppressed cells are NaN in both
    )


def test_implausible_takes_error_or_flag_only():
    with pytest.raises(InvalidValueError, match="`implausible` must be 'error'"):
        sd.read_ees_csv(CLA, implausible="keep")


def test_the_undamaged_files_all_read():
    # the coverage and plausibility rules refuse none of the published files
    read = sd.read_folder(RAW)
    assert len(read.rows) > 50_000
    assert not (read.rows["status"] == "implausible").any()
