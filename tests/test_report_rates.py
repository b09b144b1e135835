"""Report charts of a rate per 10,000 draw the rate the DfE publishes, not one recomputed.

The DfE prints its rate beside the count, rounded (plans to one decimal, children looked after
to whole numbers). A chart of count / population x 10,000 (31.28 for Leeds' plans in 2017)
disagrees with that published figure (31.2) and with the models, which use it. Each test reads
a chart's data table (what the report offers for download, read back from what was drawn) and
checks it against figures read here, independently of the package's readers, from the raw DfE
files; the figures are also quoted, with the file they come from.

Files (under ../shared/data/raw):

- D1 = ipse-webb/data/cin-census/2021-22/data/d1_child_protection_plans_2013_to_2022.csv
  (children on plans at 31 March, ``CPP_At31`` and ``CPP_At31_rate``);
- CLA = dfe-csc-dashboard/cla_number_and_rate_per_10k_children.csv (children looked after on
  31 March, ``children_count`` and ``rate_per_10000``, 2021-2025);
- SN = dfe-csc-dashboard/New_Statistical_Neighbour_Groupings_April_2021.csv (Leeds' ten
  statistical neighbours, the report's comparison group);
- SFR34 = ipse-webb/data/ssda903-cla/SFR34_2015_UnderlyingData/SFR34_CLA2015.csv and
  ONS = dfe-csc-dashboard/ons_mid-year_population_estimates_2012_to_2024.csv (a year with no
  published rate: the SFR prints the count only).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sfpc_eval.report import build

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "data" / "raw"
D1 = RAW / "ipse-webb/data/cin-census/2021-22/data/d1_child_protection_plans_2013_to_2022.csv"
CLA = RAW / "dfe-csc-dashboard/cla_number_and_rate_per_10k_children.csv"
SN = RAW / "dfe-csc-dashboard/New_Statistical_Neighbour_Groupings_April_2021.csv"
SFR34 = RAW / "ipse-webb/data/ssda903-cla/SFR34_2015_UnderlyingData/SFR34_CLA2015.csv"
ONS = RAW / "dfe-csc-dashboard/ons_mid-year_population_estimates_2012_to_2024.csv"

# Published rates per 10,000 (count beside them), as printed in the files above
LEEDS_CPP = {2013: 62.7, 2017: 31.2, 2019: 23.7}  # D1: 983, 515, 399 children on plans
NEIGHBOURS_CPP = {2013: 41.3, 2017: 46.38, 2019: 50.86}  # D1: mean of the 10 neighbours' rates
LEEDS_CLA = {2021: 75.0, 2024: 89.0}  # CLA: 1,281 and 1,546 children looked after
NEIGHBOURS_CLA = {2021: 92.6, 2024: 91.3}  # CLA: mean of the 10 neighbours' rates

pytestmark = pytest.mark.skipif(not RAW.is_dir(), reason=f"the DfE files are not at {RAW}")


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str)


def _neighbour_codes() -> list[str]:
    sn = _csv(SN)
    row = sn[sn["LA Name"] == "Leeds"].iloc[0]
    return [row[c] for c in sn.columns if c.startswith("SN") and c[2:].isdigit()]


def _published(path: Path, rate: str, **where) -> pd.DataFrame:
    """LA rows of a DfE open-data file: year, old LA code, name and the rate as a number."""
    frame = _csv(path)
    frame = frame[frame["geographic_level"] == "Local authority"]
    for column, prefix in where.items():
        frame = frame[frame[column].str.startswith(prefix)]
    # other councils' rates may be suppressed ("x"): those are NaN here (the tests' LA-years
    # are all printed, and the checks below say so)
    rate_values = pd.to_numeric(frame[rate], errors="coerce")
    return frame.assign(year=frame["time_period"].astype(int), rate=rate_values)


@pytest.fixture(scope="module")
def report():
    spec = {
        "report": {"title": "Rates", "date": "2026-01-15", "authors": ["A. Tester"]},
        "data": {"path": str(RAW), "measures": ["cpp", "cla"], "years": [2010, 2025]},
        "analysis": [
            {"design": "before_after", "unit": "Leeds", "outcome": "cpp", "before": 2013,
             "after": 2017},
            {"design": "did", "treated": ["Leeds"], "start": 2015, "outcomes": ["cpp", "cla"],
             "comparison": "statistical_neighbours", "years": [2010, 2019],
             "inference": ["CR2"], "pretrends": False},
            {"design": "single_la", "unit": "Leeds", "outcome": "cla", "start": 2015},
        ],
    }  # fmt: skip
    return build(spec, allow_paths_outside=True)


def _line(figure, series: str) -> dict[int, float]:
    """A drawn line's points from the figure's chart data (its downloadable table)."""
    data = figure.data
    x = next(c for c in data.columns if c.startswith("x"))
    y = next(c for c in data.columns if c.startswith("y"))
    rows = data[(data["series"] == series) & (data["element"] == "line point")]
    return {int(a): float(b) for a, b in zip(rows[x], rows[y], strict=True)}


def _did_trend(report, word: str):
    section = report.sections[1]
    return next(f for f in section.figures if f.title == f"Trend: {word}")


def test_did_trend_draws_the_published_plan_rates(report):
    figure = _did_trend(report, "children on child protection plans")
    leeds, group = _line(figure, "Leeds"), _line(figure, "comparison group (10)")
    d1 = _published(D1, "CPP_At31_rate")
    neighbours = d1[d1["old_la_code"].isin(_neighbour_codes())]
    for year, rate in LEEDS_CPP.items():
        read = d1.loc[(d1["la_name"] == "Leeds") & (d1["year"] == year), "rate"].item()
        assert read == rate
        # the published figure, exactly (before the fix, 2017 was drawn as 515 / 164,634 x
        # 10,000 = 31.28): chart data keep 10 significant figures
        assert leeds[year] == pytest.approx(rate, rel=1e-9), year
        own = neighbours[neighbours["year"] == year]
        assert len(own) == 10 and own["rate"].notna().all()
        assert own["rate"].mean() == pytest.approx(NEIGHBOURS_CPP[year], abs=1e-9)
        assert group[year] == pytest.approx(NEIGHBOURS_CPP[year], rel=1e-9), year
    assert "Rates per 10,000 as the DfE publishes them beside the count." in figure.caption


def test_did_trend_draws_the_published_looked_after_rates(report):
    figure = _did_trend(report, "children looked after")
    leeds, group = _line(figure, "Leeds"), _line(figure, "comparison group (10)")
    cla = _published(CLA, "rate_per_10000", population_type="Children looked after on 31 March")
    neighbours = cla[cla["old_la_code"].isin(_neighbour_codes())]
    for year, rate in LEEDS_CLA.items():
        read = cla.loc[(cla["la_name"] == "Leeds") & (cla["year"] == year), "rate"].item()
        assert read == rate
        assert leeds[year] == rate, year  # a whole number as published (75.22 recomputed)
        own = neighbours[neighbours["year"] == year]
        assert len(own) == 10 and own["rate"].notna().all()
        assert own["rate"].mean() == pytest.approx(NEIGHBOURS_CLA[year], abs=1e-9)
        assert group[year] == pytest.approx(NEIGHBOURS_CLA[year], rel=1e-9), year


def test_a_year_without_a_published_rate_is_computed_and_the_caption_says_so(report):
    """Leeds 2015: SFR34 prints 1,245 children looked after and no rate; the chart draws
    1,245 over the ONS mid-2014 population aged 0-17 (160,167) x 10,000 = 77.73."""
    sfr = _csv(SFR34)
    count = int(sfr.loc[sfr["geog_n"] == "Leeds", "CLA_Mar2015"].item())
    assert count == 1245 and not any("rate" in c.lower() for c in sfr.columns)
    ons = _csv(ONS)
    ons = ons[(ons["la_name"] == "Leeds") & ons["age_group"].str.contains("0 to 17")]
    population = int(ons.loc[ons["time_period"] == "2014", "population_estimate"].item())
    assert population == 160_167
    expected = count / population * 10_000
    trend = _did_trend(report, "children looked after")
    its = report.sections[2].figures[0]
    assert _line(trend, "Leeds")[2015] == pytest.approx(expected, rel=1e-9)
    for figure in (trend, its):
        assert "except where no rate is published beside the count (Leeds 2011-2017" in (
            figure.caption
        )
    assert "53 of 160 other council-years, in 10 other councils" in trend.caption


def test_before_after_chart_draws_the_published_rates(report):
    figure = report.sections[0].figures[0]
    leeds = _line(figure, "Leeds")
    for year, rate in LEEDS_CPP.items():
        assert leeds[year] == pytest.approx(rate, rel=1e-9), year
    assert "Rates per 10,000 as the DfE publishes them beside the count." in figure.caption


def test_a_csv_without_a_published_rate_says_its_rates_are_computed(tmp_path):
    """A user's counts with an exposure column: the rate is computed (120 / 40,000 x 10,000
    = 30 for A in 2010) and the caption says so."""
    rows = [
        (la, year, 120 + 10 * i + 5 * (year - 2010), 40_000)
        for i, la in enumerate("ABCDE")
        for year in range(2010, 2016)
    ]
    path = tmp_path / "counts.csv"
    pd.DataFrame(rows, columns=["la", "year", "cases", "children"]).to_csv(path, index=False)
    spec = {
        "report": {"title": "Counts", "date": "2026-01-15", "authors": ["A. Tester"]},
        "data": {"path": str(path), "format": "csv", "unit": "la", "time": "year",
                 "level": "published"},
        "analysis": [
            {"design": "did", "treated": ["A"], "start": 2013, "outcomes": ["cases"],
             "family": "poisson", "exposure": "children", "inference": ["CR2"],
             "pretrends": False},
        ],
    }  # fmt: skip
    figure = build(spec).sections[0].figures[0]
    assert _line(figure, "A")[2010] == pytest.approx(30.0, rel=1e-12)
    assert "computed as cases / children x 10,000: the data have no published rate" in (
        figure.caption
    )
