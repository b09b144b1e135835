"""Bad input files: each a typed error naming the file and saying how to fix it.

Every file here is written to ``tmp_path``; none of the real DfE files is needed.
"""

from __future__ import annotations

import pytest

import sfpc_eval.data as sd
from sfpc_eval import errors

EES_HEADER = "time_period,time_identifier,geographic_level,old_la_code,new_la_code,la_name,CPP_At31"
LEEDS_2017 = "2017,Reporting year,Local authority,383,E08000035,Leeds,515"
WAKEFIELD_2017 = "2017,Reporting year,Local authority,384,E08000036,Wakefield,420"


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    if text and not text.endswith("\n"):
        text += "\n"  # every published CSV ends with a line break; one that does not is cut off
    path.write_bytes(text.encode(encoding))
    return path


def test_a_good_small_file_reads(tmp_path):
    path = write(tmp_path, "d5.csv", "\n".join([EES_HEADER, LEEDS_2017, WAKEFIELD_2017]))
    rows = sd.read_ees_csv(path)
    assert rows["value"].tolist() == [515.0, 420.0]
    assert rows["la_code"].tolist() == ["E08000035", "E08000036"]
    assert rows["source_file"].iloc[0] == str(path)


def test_renamed_value_column_lists_expected_and_found(tmp_path):
    path = write(tmp_path, "renamed.csv", EES_HEADER.replace("CPP_At31", "CPP_at_31") + "\n"
                 + LEEDS_2017)  # fmt: skip
    with pytest.raises(errors.FileColumnsError) as info:
        sd.read_ees_csv(path)
    message = str(info.value)
    assert str(path) in message
    assert "Expected" in message and "CPP_At31" in message
    assert "Found" in message and "CPP_at_31" in message
    assert "CPP_At31" in info.value.expected and "CPP_at_31" in info.value.found
    assert isinstance(info.value, KeyError)  # except KeyError keeps working


def test_missing_key_column_suggests_the_rename(tmp_path):
    path = write(tmp_path, "missing.csv", EES_HEADER.replace("old_la_code", "la_code_old") + "\n"
                 + LEEDS_2017)  # fmt: skip
    with pytest.raises(errors.FileColumnsError, match="renamed to 'la_code_old'") as info:
        sd.read_ees_csv(path)
    assert "old_la_code" in info.value.expected


def test_sfr_file_without_its_dated_column(tmp_path):
    path = write(tmp_path, "SFR50_CLA2017.csv", "geog_l,geog_c,geog_n,CLA_March\nLA,383,Leeds,1\n")
    with pytest.raises(errors.FileColumnsError, match="CLA_MarYYYY") as info:
        sd.read_cla_sfr_csv(path)
    assert "SFR50_CLA2017.csv" in str(info.value)


def test_unknown_la_code_suggests_closest(tmp_path):
    path = write(tmp_path, "bad_code.csv", EES_HEADER + "\n" + LEEDS_2017.replace(",383,", ",38,"))
    with pytest.raises(errors.UnknownAreaError) as info:
        sd.read_ees_csv(path)
    message = str(info.value)
    assert "bad_code.csv" in message and "'38'" in message
    assert "Closest codes" in message


def test_unknown_la_name_suggests_closest_names(tmp_path):
    pytest.importorskip("openpyxl")
    import pandas as pd

    grid = pd.DataFrame(
        [
            ["", "", "numbers", "", "", "", "", "", "rates", "", "", "", ""],
            ["", "", "", 2006, 2007, 2008, 2009, 2010, 2006, 2007, 2008, 2009, 2010],
            [0, 0, "England", 60300, 60000, 59400, 60900, 64400, 55, 55, 54, 55, 58],
            [212, 42, "Leeds", 1310, 1350, 1360, 1340, 1415, 85, 88, 89, 88, 93],
            [107, 6, "Newcastle Upon Tine", 440, 470, 455, 460, 525, 84, 90, 87, 89, 100],
        ]
    )
    path = tmp_path / "laa1.xlsx"
    grid.to_excel(path, sheet_name="LAA1", header=False, index=False)
    with pytest.raises(errors.UnknownAreaError) as info:
        sd.read_cla_2010_workbook(path)
    message = str(info.value)
    assert "laa1.xlsx" in message and "'Newcastle Upon Tine'" in message
    assert "Did you mean: Newcastle upon Tyne" in message
    assert info.value.suggestions[0] == "Newcastle upon Tyne"


def test_unknown_name_without_a_file():
    with pytest.raises(errors.UnknownAreaError, match=r"Did you mean: .*Leeds"):
        sd.find_la("Leedz")


def test_workbook_without_the_laa1_sheet(tmp_path):
    pytest.importorskip("openpyxl")
    import pandas as pd

    path = tmp_path / "book.xlsx"
    pd.DataFrame({"a": [1]}).to_excel(path, sheet_name="Contents", index=False)
    with pytest.raises(errors.FileColumnsError, match="no sheet 'LAA1'; its sheets are Contents"):
        sd.read_cla_2010_workbook(path)


def test_wrong_encoding_latin1_file_read_as_utf8(tmp_path):
    text = "\n".join([EES_HEADER, LEEDS_2017.replace("Leeds", "Leeds £")])
    path = write(tmp_path, "latin1.csv", text, encoding="latin-1")
    with pytest.raises(errors.FileEncodingError) as info:
        sd.read_ees_csv(path)
    message = str(info.value)
    assert "latin1.csv" in message and "not valid utf-8" in message
    assert "encoding='latin-1'" in message
    # Told the encoding, the same file reads.
    assert sd.read_ees_csv(path, encoding="latin-1")["value"].tolist() == [515.0]


def test_latin1_is_accepted_by_default_for_the_old_sfr_files(tmp_path):
    path = write(tmp_path, "SFR21_CLA.csv", "geog_l,geog_c,geog_n,CLA_Mar2011\n"
                 "LA,383,Leeds £,1448\n", encoding="latin-1")  # fmt: skip
    assert sd.read_cla_sfr_csv(path)["value"].tolist() == [1448.0]


def test_wrong_encoding_utf16(tmp_path):
    path = write(tmp_path, "utf16.csv", "geog_l,geog_c,geog_n,CLA_Mar2011\nLA,383,Leeds,1\n",
                 encoding="utf-16")  # fmt: skip
    with pytest.raises(errors.FileEncodingError, match=r"UTF-16.*Re-save it as 'CSV UTF-8'"):
        sd.read_cla_sfr_csv(path)


@pytest.mark.parametrize("content", ["", EES_HEADER + "\n"], ids=["zero_bytes", "header_only"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path, "empty.csv", content)
    with pytest.raises(errors.EmptyFileError) as info:
        sd.read_ees_csv(path)
    assert "empty.csv" in str(info.value) and "Download the file again" in str(info.value)


def test_empty_parquet_and_workbook(tmp_path):
    for name, reader in (("x.parquet", sd.read_lait), ("x.xls", sd.read_cla_2010_workbook)):
        path = write(tmp_path, name, "")
        with pytest.raises(errors.EmptyFileError, match=name):
            reader(path)


def test_year_outside_the_file(tmp_path):
    path = write(tmp_path, "d5.csv", "\n".join([EES_HEADER, LEEDS_2017]))
    with pytest.raises(errors.YearOutOfRangeError) as info:
        sd.read_ees_csv(path, years=[2017, 2030])
    message = str(info.value)
    assert "d5.csv" in message and "2030" in message
    assert "covers the years ending 31 March 2017-2017" in message


def test_year_outside_a_one_year_sfr_file(tmp_path):
    path = write(tmp_path, "SFR21_CLA.csv", "geog_l,geog_c,geog_n,CLA_Mar2011\nLA,383,Leeds,1\n")
    with pytest.raises(errors.YearOutOfRangeError, match=r"SFR21_CLA\.csv has no data for 2012"):
        sd.read_cla_sfr_csv(path, years=2012)


def test_duplicate_la_year_rows(tmp_path):
    path = write(tmp_path, "dup.csv", "\n".join([EES_HEADER, LEEDS_2017, LEEDS_2017]))
    with pytest.raises(errors.DuplicateObservationError) as info:
        sd.read_ees_csv(path)
    message = str(info.value)
    assert "dup.csv" in message and "Leeds (383) 2017 cpp_at_31_march" in message
    assert "Remove the duplicate rows" in message


def test_unknown_symbol_is_an_error_not_nan(tmp_path):
    path = write(tmp_path, "sym.csv", "\n".join([EES_HEADER, LEEDS_2017.replace("515", "n/a")]))
    with pytest.raises(
        errors.DataFileError, match=r"sym.csv: column 'CPP_At31'.*'n/a'.*Leeds 2017"
    ):
        sd.read_ees_csv(path)


def test_blank_cell_is_an_error_not_nan(tmp_path):
    path = write(tmp_path, "blank.csv", "\n".join([EES_HEADER, LEEDS_2017.replace(",515", ",")]))
    with pytest.raises(errors.DataFileError, match="blank cells"):
        sd.read_ees_csv(path)


def test_symbols_become_statuses(tmp_path):
    lines = [EES_HEADER] + [
        LEEDS_2017.replace("2017", str(year)).replace("515", symbol)
        for year, symbol in zip(range(2013, 2018), ["c", "x", "z", "u", '"1,234"'], strict=True)
    ]
    rows = sd.read_ees_csv(write(tmp_path, "symbols.csv", "\n".join(lines)))
    assert rows["status"].tolist() == ["suppressed", "not available", "not applicable",
                                       "low reliability", "published"]  # fmt: skip
    assert rows["value"].isna().tolist() == [True, True, True, True, False]
    assert rows["value"].iloc[-1] == 1234.0


def test_unrecognised_file_and_missing_paths(tmp_path):
    path = write(tmp_path, "notes.csv", "a,b\n1,2\n")
    with pytest.raises(errors.DataFileError, match="not a file sfpc_eval recognises"):
        sd.read_file(path)
    with pytest.raises(FileNotFoundError, match="No such file"):
        sd.read_ees_csv(tmp_path / "absent.csv")
    with pytest.raises(FileNotFoundError, match="No such folder"):
        sd.check_folder(tmp_path / "absent")


def test_panel_arguments_are_validated(tmp_path):
    path = write(tmp_path, "d5.csv", "\n".join([EES_HEADER, LEEDS_2017]))
    assert path.exists()
    with pytest.raises(errors.InvalidValueError, match="`measures` has 'cpps'"):
        sd.la_panel(tmp_path, measures="cpps")
    with pytest.raises(errors.InvalidValueError, match="`boundaries`"):
        sd.la_panel(tmp_path, measures="cpp", boundaries="latest")
    with pytest.raises(errors.YearOutOfRangeError, match="has data for 2030"):
        sd.la_panel(tmp_path, measures="cpp", years=[2017, 2030])


def test_check_folder_reports_a_broken_file_and_goes_on(tmp_path):
    write(tmp_path, "good.csv", "\n".join([EES_HEADER, LEEDS_2017]))
    write(tmp_path, "dup.csv", "\n".join([EES_HEADER, LEEDS_2017, LEEDS_2017]))
    report = sd.check_folder(tmp_path)
    assert not report.ok
    text = report.as_text()
    assert "ERROR dup.csv" in text and "more than one row" in text
    assert "good.csv" in text and "Some files failed." in text
