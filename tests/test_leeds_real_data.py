"""Leeds Family Valued on the official DfE files: the published claim and a DiD against the
10 statistical neighbours (issue 5, part 4). Reads ../shared/data/raw; skips if it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

import sfpc_eval as se
import sfpc_eval.data as sd
from sfpc_eval.evidence import load_registry, reproduce

RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
pytestmark = pytest.mark.skipif(not RAW.is_dir(), reason=f"the DfE files are not at {RAW}")


@pytest.fixture(scope="module")
def leeds_and_neighbours():
    panel = sd.la_panel(RAW, measures=("cla", "cpp"), years=range(2010, 2018)).data
    sn = sd.read_statistical_neighbours(
        RAW / "dfe-csc-dashboard" / "New_Statistical_Neighbour_Groupings_April_2021.csv"
    )
    group = ["Leeds", *sn.query("la_name == 'Leeds'")["neighbour_name"]]
    data = panel[panel["la_name"].isin(group)].copy()
    data["treated"] = ((data["la_name"] == "Leeds") & (data["year"] >= 2015)).astype(int)
    return data


def test_the_registry_inputs_are_the_official_figures(leeds_and_neighbours):
    leeds = leeds_and_neighbours.set_index(["la_name", "year"])["cpp"]
    inputs = load_registry()["leeds_cpp_2011_2017"].inputs.values
    assert (leeds[("Leeds", 2011)], leeds[("Leeds", 2017)]) == (inputs["before"], inputs["after"])
    assert reproduce("leeds_cpp_2011_2017").status == "reproduced"


@pytest.mark.parametrize("outcome", ["cpp_rate", "cla_rate"])
def test_twfe_equals_the_difference_of_mean_changes(leeds_and_neighbours, outcome):
    """Closed form: in a balanced panel with one adoption date the TWFE coefficient is
    (Leeds after - before) - (neighbours after - before), means over years (1e-10)."""
    data = leeds_and_neighbours
    assert len(data) == 11 * 8
    with pytest.warns(se.FewTreatedClustersWarning, match="Leeds"):
        res = se.did(data, outcome=outcome, unit="la_name", time="year", treated="treated")
    means = (
        data.assign(post=data["year"] >= 2015, leeds=data["la_name"] == "Leeds")
        .groupby(["leeds", "post"])[outcome]
        .mean()
    )
    by_hand = (means[(True, True)] - means[(True, False)]) - (
        means[(False, True)] - means[(False, False)]
    )
    assert res.estimate.estimate == pytest.approx(by_hand, rel=1e-10)
    assert res.estimate.estimate < 0


def test_randomization_over_eleven_councils(leeds_and_neighbours):
    """Leeds' fall in its CPP rate is the largest of the 11 councils, so the exact permutation
    p-value is its floor, 1/11, and a 95% interval cannot exclude any value."""
    with pytest.warns(se.UndefinedIntervalWarning, match="unbounded"):
        res = se.did(
            leeds_and_neighbours,
            outcome="cpp_rate",
            unit="la_name",
            time="year",
            treated="treated",
            inference=se.Randomization(),
        )
    assert res.estimate.p_value == pytest.approx(1 / 11, abs=1e-15)
    assert res.estimate.conf_low == float("-inf") and "unbounded" in res.estimate.note
