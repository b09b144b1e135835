"""Property: the DfE readers refuse damaged files or read exactly what the file says
(issue 19).

Each example writes a small, valid file (an EES child protection table or an SFR looked-after
table for a few real councils), damages its text the way a cut-off download, a hand edit or a
re-save does, and reads it. The promise: a project error, or rows whose published values are
the ones in the file: every published value belongs to a line of the damaged text and equals
that line's number (no value cut short, none shifted to another council), counts are finite,
whole and not negative, and suppressed cells have no value.
"""

from __future__ import annotations

import csv
import io
import math
import re
import tempfile
from pathlib import Path

import pandas as pd
from _promise import budget, check_promise
from hypothesis import given
from hypothesis import strategies as st

import sfpc_eval.data as sd

THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+$")
COUNCILS = [la for la in sd.LOCAL_AUTHORITIES if la.first_year is None and la.last_year is None]
TOKENS = [
    "-5",
    "2.5",
    "1e999",
    "inf",
    "nan",
    "c",
    "x",
    "z",
    "u",
    "..",
    ".",
    "1,234",
    '"1,234"',
    "",
    " 12 ",
    "12abc",
    "0",
    "00012",
    "+7",
    "1e3",
    "１２",
    "NULL",
    "#N/A",
    "9" * 25,
]


def ees_text(councils, years, counts) -> tuple[str, int]:
    """An EES ``CPP_At31`` table; returns the text and the column index of the counts."""
    header = "time_period,time_identifier,geographic_level,old_la_code,new_la_code,la_name,CPP_At31"
    lines = [header, "2017,Reporting year,National,,,,50010"]
    k = 0
    for year in years:
        for la in councils:
            code = la.ons_codes[-1][1]
            lines.append(
                f"{year},Reporting year,Local authority,{la.old_la_code},{code},"
                f"{la.name},{counts[k % len(counts)]}"
            )
            k += 1
    return "\n".join(lines) + "\n", 6


def sfr_text(councils, years, counts) -> tuple[str, int]:
    """An SFR looked-after table (one year, ``CLA_MarYYYY``)."""
    lines = [f"geog_l,geog_c,geog_n,CLA_Mar{years[0]}", f"E,921,England,{sum(counts)}"]
    for k, la in enumerate(councils):
        lines.append(f"LA,{la.old_la_code},{la.name},{counts[k % len(counts)]}")
    return "\n".join(lines) + "\n", 3


@st.composite
def damaged_files(draw):
    kind = draw(st.sampled_from(["ees", "sfr"]))
    councils = draw(
        st.lists(
            st.sampled_from(COUNCILS), min_size=1, max_size=4, unique_by=lambda la: la.old_la_code
        )
    )
    councils = [la for la in councils if "," not in la.name]
    if not councils:
        councils = [sd.find_la("Leeds")]
    years = draw(st.sampled_from([[2017], [2016, 2017], [2014, 2015, 2016]]))
    counts = draw(st.lists(st.integers(0, 20000), min_size=1, max_size=6))
    text, value_column = (ees_text if kind == "ees" else sfr_text)(councils, years, counts)
    lines = text.splitlines(keepends=True)
    damage = draw(
        st.sampled_from(
            [
                "none",
                "truncate",
                "field",
                "drop_line",
                "duplicate_line",
                "insert_text",
                "delete_char",
                "crlf",
                "bom",
                "latin1",
                "utf16",
                "semicolons",
                "blank_lines",
                "extra_field",
            ]
        )
    )
    if damage == "truncate":
        cut = draw(st.integers(0, len(text)))
        text = text[:cut]
    elif damage == "field" and len(lines) > 1:
        i = draw(st.integers(1, len(lines) - 1))
        fields = lines[i].rstrip("\n").split(",")
        fields[value_column] = draw(st.sampled_from(TOKENS))
        lines[i] = ",".join(fields) + "\n"
        text = "".join(lines)
    elif damage == "drop_line":
        del lines[draw(st.integers(0, len(lines) - 1))]
        text = "".join(lines)
    elif damage == "duplicate_line":
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        text = "".join(lines)
    elif damage == "insert_text":
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from([",", '"', "\n", "x", "\x00", "9", ";", "\r"]))
            + text[at:]
        )
    elif damage == "delete_char" and text:
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + text[at + 1 :]
    elif damage == "crlf":
        text = text.replace("\n", "\r\n")
    elif damage == "bom":
        text = "\ufeff" + text
    elif damage == "semicolons":
        text = text.replace(",", ";")
    elif damage == "blank_lines":
        text = text.replace("\n", "\n\n")
    elif damage == "extra_field" and len(lines) > 1:
        i = draw(st.integers(1, len(lines) - 1))
        lines[i] = lines[i].rstrip("\n") + ",7\n"
        text = "".join(lines)
    encoding = {"latin1": "latin-1", "utf16": "utf-16"}.get(damage, "utf-8")
    return kind, text, encoding, value_column


def _published_values_are_in_the_file(read: pd.DataFrame, text: str, value_column: int) -> None:
    """Every published value sits on a line of the text with its council code, as written."""
    by_code: dict[str, set[float]] = {}
    for fields in csv.reader(io.StringIO(text.replace("\r", "").replace("\x00", ""))):
        if len(fields) <= value_column:
            continue
        code = fields[3] if value_column == 6 else fields[1]
        token = fields[value_column].strip()
        if THOUSANDS.match(token):  # "1,234" quoted, as the older DfE files write it
            token = token.replace(",", "")
        try:
            by_code.setdefault(code, set()).add(float(token))
        except ValueError:
            continue
    published = read[read["status"] == "published"]
    for row in published.itertuples():
        value = float(row.value)
        assert math.isfinite(value) and value >= 0 and value == int(value), row
        assert value in by_code.get(str(row.old_la_code), set()), (
            f"{row.la_name} {row.year}: {value} is not a number written for its council in the "
            f"file (values there: {sorted(by_code.get(str(row.old_la_code), set()))})"
        )
    hidden = read[read["status"] != "published"]
    assert hidden["value"].isna().all() or (hidden["status"] == "implausible").all()


@budget(1.5)
@given(case=damaged_files())
def test_readers_refuse_damage_or_read_what_the_file_says(case):
    kind, text, encoding, value_column = case
    with tempfile.TemporaryDirectory() as folder:
        name = "d5_cpp.csv" if kind == "ees" else "SFR21_CLA2016.csv"
        path = Path(folder) / name
        path.write_bytes(text.encode(encoding, errors="replace"))
        reader = sd.read_ees_csv if kind == "ees" else sd.read_cla_sfr_csv
        outcome = check_promise(lambda: reader(path))
        if outcome.result is not None:
            assert list(outcome.result.columns) == list(sd.TIDY_COLUMNS)
            _published_values_are_in_the_file(outcome.result, text, value_column)
        # the folder-level entry points keep the promise on the same damaged file
        check_promise(lambda: sd.check_folder(folder))
        panel = check_promise(
            lambda: sd.la_panel(folder, measures="cpp" if kind == "ees" else "cla")
        )
        if panel.result is not None:
            data = panel.result.data
            numbers = data.select_dtypes("number")
            assert not numbers.isin([math.inf, -math.inf]).any().any()
