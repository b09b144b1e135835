"""The harmonised LA panel on the real files, and Leeds' before/after from the official files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sfpc_eval as se
import sfpc_eval.data as sd

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
pytestmark = pytest.mark.skipif(
    not RAW.is_dir(), reason=f"the real DfE files are not at {RAW} (clone shared/ beside the repo)"
)
MEASURES = ("cla", "cpp", "cin")


@pytest.fixture(scope="module")
def panels() -> dict[object, sd.LaPanel]:
    return {b: sd.la_panel(RAW, boundaries=b) for b in ("consistent", 2025, 2019, None)}


def check_complete(panel: sd.LaPanel) -> None:
    data = panel.data
    assert not data.duplicated(["old_la_code", "year"]).any()
    assert panel.years == tuple(range(2010, 2026))
    for m in MEASURES:
        status = data[f"{m}_status"]
        assert set(status) <= set(sd.STATUSES)
        # every gap is explained by a status; a published status always has its count
        assert (status[data[m].isna()] != "published").all()
        assert status[data[m].notna()].isin(["published", "low reliability"]).all()
        has_rate = data[f"{m}_rate"].notna()
        assert (data.loc[has_rate, f"{m}_rate_basis"].isin(["published", "computed"])).all()
        assert (data.loc[~has_rate, f"{m}_rate_basis"] == "not available").all()


@pytest.mark.parametrize(("boundaries", "n_las"), [("consistent", 151), (2025, 153), (2019, 152)])
def test_panel_covers_every_english_la_2010_2025(panels, boundaries, n_las):
    panel = panels[boundaries]
    check_complete(panel)
    assert panel.n_las == n_las
    assert (panel.data.groupby("year")["old_la_code"].nunique() == n_las).all()
    assert len(panel.data) == n_las * 16


def test_consistent_boundaries_are_almost_complete(panels):
    data = panels["consistent"].data
    for m in MEASURES:
        gaps = data[data[f"{m}_status"] != "published"]
        # City of London and Isles of Scilly suppressed, Hackney 2021-22 (cyber attack), 2010
        # returns not available: a few dozen LA-years in 2,416.
        assert len(gaps) < 45, gaps[["la_name", "year", f"{m}_status"]]
    northants = data[(data["la_name"] == "Northamptonshire") & (data["year"] == 2022)]
    assert northants["boundary_note"].item() == (
        "Northamptonshire = North Northamptonshire + West Northamptonshire"
    )
    assert northants["cpp"].item() == 265 + 323
    assert northants["cpp_rate_basis"].item() == "computed"


def test_boundaries_2025_leave_unformable_years_explained(panels):
    panel = panels[2025]
    data = panel.data
    north = data[(data["la_name"] == "North Northamptonshire") & (data["year"] < 2022)]
    assert set(north["cpp_status"]) == {"not applicable"}
    assert north["boundary_note"].str.contains("cannot be divided").all()
    assert set(panel.excluded["la_name"]) == {"Northamptonshire", "Cumbria"}
    bcp = data[(data["old_la_code"] == "839") & (data["year"] == 2019)]
    assert bcp["cpp"].item() == 74 + 136  # Poole + Bournemouth
    assert "approximate" in bcp["boundary_note"].item()
    # Recodes keep one LA with the code of the boundary year.
    north_yorks = data[data["la_name"] == "North Yorkshire"]
    assert set(north_yorks["la_code"]) == {"E06000065"}


def test_published_boundaries_have_151_to_153_las_a_year(panels):
    data = panels[None].data
    check_complete(panels[None])
    per_year = data.groupby("year")["old_la_code"].nunique()
    assert per_year[2019] == 152 and per_year[2020] == 151 and per_year[2025] == 153
    north_yorks = data[data["la_name"] == "North Yorkshire"].set_index("year")["la_code"]
    assert north_yorks[2023] == "E10000023" and north_yorks[2024] == "E06000065"


def test_leeds_in_the_panel(panels):
    leeds = panels["consistent"].data.query("la_name == 'Leeds'").set_index("year")
    assert leeds.loc[2010:2017, "cpp"].tolist() == [551, 974, 890, 983, 747, 612, 564, 515]
    assert leeds.loc[2011:2017, "cla"].tolist() == [1448, 1475, 1373, 1339, 1245, 1226, 1253]
    assert leeds.loc[2011, "cpp_rate"] == 64.0  # the official rate, not 66.6 (ages 0-16)
    assert leeds.loc[2017, "cpp_rate"] == 31.2
    assert set(leeds["cpp_rate_basis"]) == {"published"}
    # CLA 2011-2017 files publish counts only: rates computed with the DfE convention.
    assert set(leeds.loc[2011:2017, "cla_rate_basis"]) == {"computed"}
    expected = 1448 / leeds.loc[2011, "population_0_17"] * 10_000
    assert leeds.loc[2011, "cla_rate"] == pytest.approx(expected)
    assert leeds.loc[2011, "population_0_17"] == 152239  # mid-2010, from the 2011 CIN file


def test_prefer_first_release_reproduces_first_published_figures():
    first = sd.la_panel(RAW, measures="cla", years=[2022], boundaries=None, prefer="first")
    latest = sd.la_panel(RAW, measures="cla", years=[2022], boundaries=None)
    pick = "la_name == 'Leeds'"
    assert first.data.query(pick)["cla"].item() == 1373
    assert latest.data.query(pick)["cla"].item() == 1374
    revision = latest.revisions.query(pick + " and measure == 'cla_at_31_march'")
    assert 1373.0 in revision["other_value"].tolist()


def test_leeds_before_after_from_the_official_files():
    """Leeds CPP 974 (2011) -> 515 (2017), read from the files and compared (issue 5, part 4a)."""
    cpp_2011 = (
        sd.read_cin_sfr_csv(
            RAW / "ipse-webb" / "data" / "cin-census" / "2010-11" / "osr26-2011ud.csv"
        )
        .query("la_name == 'Leeds' and measure == 'cpp_at_31_march'")["value"]
        .item()
    )
    cpp_2017 = (
        sd.read_ees_csv(
            RAW / "dfe-csc-dashboard" / "d5_cpps_at31march_by_duration_2013_to_2025.csv", years=2017
        )
        .query("la_name == 'Leeds'")["value"]
        .item()
    )
    assert (cpp_2011, cpp_2017) == (974, 515)
    res = se.compare_counts(cpp_2011, cpp_2017, labels=("2011", "2017"))
    assert round(res.percent_change.estimate, 1) == -47.1
    rr = res.rate_ratio
    assert (round(rr.conf_low, 3), round(rr.conf_high, 3)) == (0.474, 0.589)


def test_wide_and_status_counts(panels):
    panel = panels["consistent"]
    wide = panel.wide("cpp", rate=True)
    assert wide.shape == (151, 16)
    assert wide.loc["Leeds", 2017] == 31.2
    counts = panel.status_counts()
    assert counts.loc["published"].min() > 2350
    assert np.isfinite(panel.data["population_0_17"]).mean() > 0.99
