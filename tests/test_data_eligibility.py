"""SFPC eligibility screen on the real files, and how the SFPC councils come out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

import sfpc_eval.data as sd
from sfpc_eval import errors

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
pytestmark = pytest.mark.skipif(
    not RAW.is_dir(), reason=f"the real DfE files are not at {RAW} (clone shared/ beside the repo)"
)

SFPC_COUNCILS = [
    "Walsall", "Lancashire", "Telford and Wrekin", "Wandsworth", "Swindon", "Rochdale",
    "Warrington", "Norfolk", "Redcar and Cleveland", "Darlington", "Cambridgeshire",
    "Middlesbrough", "Warwickshire", "Newcastle upon Tyne", "Coventry", "Solihull", "Sefton",
    "Leicester",
]  # fmt: skip
CRITERIA = ["ofsted_ri", "above_sn_median", "rising", "cla_criterion", "eligible"]


@pytest.fixture(scope="module")
def screen_2019() -> sd.EligibilityScreen:
    return sd.sfpc_eligibility(RAW, as_of="2019-12-31")


def sfpc_table(screen: sd.EligibilityScreen) -> pd.DataFrame:
    rows = [screen.council(name) for name in SFPC_COUNCILS]
    return pd.DataFrame(rows)[["la_name", "ofsted_judgement", *CRITERIA]]


def test_one_row_per_la_with_criteria_and_numbers(screen_2019):
    table = screen_2019.table
    assert table["old_la_code"].is_unique
    assert len(table) == 151  # boundaries as at 2019-20 (BCP and Dorset formed April 2019)
    assert screen_2019.years == (2017, 2018, 2019)
    for column in CRITERIA:
        assert set(table[column]) <= {"yes", "no", "unknown"}
    for year in (2016, 2017, 2018, 2019):
        assert f"cla_rate_{year}" in table
    assert {"sn_median_2017", "sn_median_2019", "n_neighbours", "ofsted_published"} <= set(table)
    # The 2021 model is the earliest in the folder: the screen says so rather than guess.
    assert screen_2019.sn_model == "2021" and screen_2019.notes


def test_judgements_before_the_ofsted_file_are_unknown_never_guessed(screen_2019):
    table = screen_2019.table
    unknown = table["ofsted_judgement"] == "unknown"
    assert (table.loc[unknown, "ofsted_ri"] == "unknown").all()
    assert table.loc[unknown, "ofsted_published"].isna().all()
    known = table.loc[~unknown, "ofsted_published"]
    assert (known.dt.date <= dt.date(2019, 12, 31)).all()
    assert (table.loc[table["ofsted_ri"] == "unknown", "eligible"] != "yes").all()


def test_criteria_follow_the_numbers(screen_2019):
    row = screen_2019.council("Rochdale")
    assert row["ofsted_judgement"] == "Requires improvement to be good"
    assert row["ofsted_published"] == pd.Timestamp("2018-03-12")
    above = all(row[f"cla_rate_{y}"] > row[f"sn_median_{y}"] for y in (2017, 2018, 2019))
    assert row["above_sn_median"] == ("yes" if above else "no")
    rising = all(row[f"cla_rate_{y}"] > row[f"cla_rate_{y - 1}"] for y in (2017, 2018, 2019))
    assert row["rising"] == ("yes" if rising else "no")
    assert row["eligible"] == "yes"


def test_sfpc_councils_report(screen_2019, capsys):
    """How the 18 SFPC councils come out (printed; see docs/data.rst for the table)."""
    later = sd.sfpc_eligibility(RAW, as_of="2021-12-31")
    for screen in (screen_2019, later):
        table = sfpc_table(screen)
        print(f"\nSFPC councils at {screen.as_of} (CLA {screen.years[0]}-{screen.years[-1]}):")
        print(table.to_string(index=False))
        assert len(table) == 18
    first = sfpc_table(screen_2019).set_index("la_name")
    # Where Ofsted had published an ILACS judgement by the end of 2019:
    assert first.loc["Cambridgeshire", "eligible"] == "yes"
    assert first.loc["Rochdale", "eligible"] == "yes"
    assert first.loc["Swindon", "ofsted_judgement"] == "Good"
    # Most SFPC councils' judgements then still predated ILACS (2018): unknown, not guessed.
    assert (first["ofsted_ri"] == "unknown").sum() >= 10
    # The CLA criterion (high or rising) holds for most of them.
    assert (first["cla_criterion"] == "yes").sum() >= 14


def test_bad_arguments():
    with pytest.raises(errors.InvalidValueError, match="`as_of` must be a date"):
        sd.sfpc_eligibility(RAW, as_of="31/12/2019")
    with pytest.raises(errors.InvalidValueError, match="`sn_model`='2019'"):
        sd.sfpc_eligibility(RAW, as_of="2021-12-31", sn_model="2019")
    with pytest.raises(errors.InvalidValueError, match="did not exist"):
        sd.sfpc_eligibility(RAW, as_of="2021-12-31").council("Northamptonshire")
