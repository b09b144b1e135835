"""The readers on the real DfE files: Leeds' published figures from every reader that has them.

The files are read from ``../shared/data/raw`` (beside the repository); the tests skip, with
that reason, only if the folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sfpc_eval.data as sd
from sfpc_eval.data.reference import OFSTED_JUDGEMENTS

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
pytestmark = pytest.mark.skipif(
    not RAW.is_dir(), reason=f"the real DfE files are not at {RAW} (clone shared/ beside the repo)"
)
DASH = RAW / "dfe-csc-dashboard"
LAIT = RAW / "dfe-lait"
CIN = RAW / "ipse-webb" / "data" / "cin-census"
CLA = RAW / "ipse-webb" / "data" / "ssda903-cla"

# Facts quoted from the files (issue 5 and the folders' SOURCE.md).
LEEDS_CPP = {2010: 551, 2011: 974, 2012: 890, 2013: 983, 2014: 747, 2015: 612, 2016: 564,
             2017: 515}  # fmt: skip
LEEDS_CLA = {2011: 1448, 2012: 1475, 2013: 1373, 2014: 1339, 2015: 1245, 2016: 1226,
             2017: 1253}  # fmt: skip

CIN_SFR = [
    CIN / "2009-10" / "osr28-2010udv4" / "osr28-2010ud.csv",
    CIN / "2010-11" / "osr26-2011ud.csv",
    CIN / "2011-12" / "sfr27-2012udv3" / "SFR27-2012ud.csv",
]
CLA_SFR = sorted(CLA.glob("*/SFR*.csv"))


def leeds(rows: pd.DataFrame, measure: str) -> dict[int, float]:
    part = rows[(rows["la_name"] == "Leeds") & (rows["measure"] == measure)]
    return {int(y): float(v) for y, v in zip(part["year"], part["value"], strict=True)}


@pytest.fixture(scope="module")
def folder() -> sd.FolderRead:
    return sd.read_folder(RAW)


def test_every_row_has_the_tidy_columns_and_explicit_statuses(folder):
    rows = folder.rows
    assert list(rows.columns) == list(sd.TIDY_COLUMNS)
    assert set(rows["status"]) <= set(sd.STATUSES)
    # A value is missing exactly where the status says it is not published.
    missing = rows["value"].isna()
    assert (rows.loc[missing, "status"] != "published").all()
    assert rows.loc[~missing, "status"].isin(["published", "low reliability"]).all()
    assert rows["year"].dtype.kind == "i"


@pytest.mark.parametrize("path", CIN_SFR, ids=lambda p: p.name)
def test_leeds_cpp_from_the_cin_sfr_files(path):
    rows = sd.read_cin_sfr_csv(path)
    got = leeds(rows, "cpp_at_31_march")
    assert len(got) == 1
    ((year, value),) = got.items()
    assert value == LEEDS_CPP[year]


def test_cin_sfr_quirks_thousands_separators_and_not_available():
    rows = sd.read_cin_sfr_csv(CIN_SFR[0])
    # "5,530" in the file (quoted thousands separator)
    assert leeds(rows, "cin_at_31_march") == {2010: 5530.0}
    assert leeds(rows, "cpp_rate_per_10k") == {2010: 36.3}
    assert leeds(rows, "population_0_17") == {2009: 151800.0}  # mid-2009, for 2010 rates
    north_yorkshire = rows[(rows["la_name"] == "North Yorkshire")
                           & (rows["measure"] == "cpp_at_31_march")]  # fmt: skip
    assert north_yorkshire["status"].item() == "not available"  # ".." in the file
    assert np.isnan(north_yorkshire["value"].item())


@pytest.mark.parametrize(
    ("path", "years"),
    [
        (
            CIN / "2021-22" / "data" / "d1_child_protection_plans_2013_to_2022.csv",
            range(2013, 2018),
        ),
        (DASH / "d5_cpps_at31march_by_duration_2013_to_2025.csv", range(2013, 2018)),
        (LAIT / "commit_3db9701" / "bds_long_0.parquet", range(2015, 2018)),
        (LAIT / "bds_long_0.parquet", range(2016, 2018)),
    ],
    ids=["d1_2022_release", "d5_2025_release", "lait_2024", "lait_2025"],
)
def test_leeds_cpp_from_every_later_reader(path, years):
    rows = sd.read_file(path, years=list(years))
    assert leeds(rows, "cpp_at_31_march") == {y: LEEDS_CPP[y] for y in years}


def test_leeds_cla_from_the_ssda903_files():
    got = {}
    for path in CLA_SFR:
        got |= leeds(sd.read_cla_sfr_csv(path), "cla_at_31_march")
    assert got == LEEDS_CLA


def test_cla_2010_workbook_sheet_laa1():
    rows = sd.read_cla_2010_workbook(CLA / "sfr27-2010amv5.xls")
    assert leeds(rows, "cla_at_31_march") == {2006: 1310, 2007: 1350, 2008: 1360, 2009: 1340,
                                              2010: 1415}  # fmt: skip
    assert leeds(rows, "cla_rate_per_10k") == {2006: 85, 2007: 88, 2008: 89, 2009: 88, 2010: 93}
    # 150 LAs before the 2009 reorganisation, 152 after; Cheshire matched by name ("Cheshire5").
    per_year = rows[rows.measure == "cla_at_31_march"].groupby("year")["old_la_code"].nunique()
    assert per_year.to_dict() == {2006: 150, 2007: 150, 2008: 150, 2009: 150, 2010: 152}
    scilly = rows[(rows["la_name"] == "Isles of Scilly") & (rows["year"] == 2006)]
    assert set(scilly["status"]) == {"suppressed"}  # "x" in the SFR convention


def test_cla_label_drift_between_the_2022_and_2025_releases():
    old = sd.read_ees_csv(
        CLA / "children-looked-after-in-england-including-adoptions_2022" / "data"
        / "cla_number_and_rate_per_10k_children.csv"
    )  # fmt: skip
    new = sd.read_ees_csv(DASH / "cla_number_and_rate_per_10k_children.csv")
    # "at 31 March" + `number` (2022) and "on 31 March" + `children_count` (2025): same measure.
    assert leeds(old, "cla_at_31_march")[2021] == leeds(new, "cla_at_31_march")[2021] == 1281
    assert leeds(new, "cla_rate_per_10k") == {2021: 75, 2022: 81, 2023: 84, 2024: 89, 2025: 85}


def test_lait_strings_and_dashes():
    rows = sd.read_lait(LAIT / "bds_long_0.parquet")
    assert rows["value"].dtype == float
    assert leeds(rows, "cin_rate_per_10k")[2021] == pytest.approx(301.1)  # "301.10000000000002"
    dashes = rows[rows["status"] == "not available"]
    assert len(dashes) > 0 and dashes["value"].isna().all()


def test_primary_readers_agree_where_they_overlap_or_the_panel_reports_it(folder):
    """Every pair of primary releases giving different counts is listed as a revision."""
    counts = ["cpp_at_31_march", "cla_at_31_march", "cin_at_31_march", "referrals"]
    rows = folder.rows[folder.rows["measure"].isin(counts) & folder.rows["value"].notna()]
    primary = rows[rows["source_format"] != "lait"]
    keys = ["old_la_code", "year", "measure"]
    spread = primary.groupby(keys)["value"].agg(["min", "max", "count"])
    overlapping = spread[spread["count"] > 1]
    differing = overlapping[overlapping["min"] != overlapping["max"]]
    panel = sd.la_panel(RAW, measures=("cla", "cpp", "cin", "referrals"), boundaries=None)
    reported = set(map(tuple, panel.revisions[keys].itertuples(index=False)))
    missing = [k for k in differing.index if (k[0], k[1], k[2]) not in reported]
    assert not missing
    # The overlapping releases mostly agree: revisions touch a small share of the cells.
    assert len(overlapping) > 3000
    assert len(differing) / len(overlapping) < 0.05


def test_leeds_cla_revisions_in_lait_are_reported_not_used():
    panel = sd.la_panel(RAW, measures="cla", years=range(2011, 2018), boundaries=None)
    data = panel.data[panel.data["la_name"] == "Leeds"]
    assert dict(zip(data["year"], data["cla"], strict=True)) == LEEDS_CLA
    revised = panel.revisions[(panel.revisions["la_name"] == "Leeds")
                              & (panel.revisions["measure"] == "cla_at_31_march")]  # fmt: skip
    lait_2015 = revised[(revised["year"] == 2015) & revised["other_source"].str.contains("lait")]
    assert lait_2015["other_value"].tolist() == [1256.0]
    assert lait_2015["chosen_value"].tolist() == [1245.0]


def test_statistical_neighbours_both_layouts_agree():
    csv = sd.read_statistical_neighbours(DASH / "sn_model_2025_wide.csv")
    xlsx = sd.read_statistical_neighbours(LAIT / "sn_may_2025.xlsx")
    assert csv["model"].iloc[0] == xlsx["model"].iloc[0] == "2025"
    leeds_csv = csv[csv["la_name"] == "Leeds"]["neighbour_old_la_code"].tolist()
    leeds_xlsx = xlsx[xlsx["la_name"] == "Leeds"]["neighbour_old_la_code"].tolist()
    assert leeds_csv == leeds_xlsx and len(leeds_csv) == 10
    assert csv.groupby("old_la_code").size().max() == 10


def test_la_code_list_and_ofsted():
    codes = sd.read_la_code_list(LAIT / "la_code_list.xlsx")
    assert codes["old_la_code"].is_unique
    assert codes.set_index("old_la_code").loc["383", "la_code"] == "E08000035"
    ofsted = sd.read_ofsted_inspections(DASH / "LA_Inspection_Outcomes_as_at_31_March_2025.ods")
    assert ofsted["publication_date"].min().year == 2018
    assert set(ofsted["overall_effectiveness"]) <= set(OFSTED_JUDGEMENTS)
    leeds_ofsted = ofsted[ofsted["la_name"] == "Leeds"]["overall_effectiveness"].tolist()
    assert leeds_ofsted == ["Outstanding", "Outstanding"]
