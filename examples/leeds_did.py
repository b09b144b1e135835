"""Leeds Family Valued on the official DfE data: Leeds against its 10 statistical neighbours.

Run: python examples/leeds_did.py [OUTPUT_DIR] [DATA_DIR]
DATA_DIR defaults to ../shared/data/raw (the DfE files: CIN census and SSDA903 releases, ONS
population, statistical neighbour groupings). Writes leeds_did_cpp.png, leeds_did_cla.png and
leeds_did.csv (the tidy results) to OUTPUT_DIR.

Family Valued started in January 2015, so the first year ending 31 March under the programme is
2015 (1 January to 31 March 2015 falls in it). Comparison group: the DfE's April 2021
statistical neighbours of Leeds (the earliest model in the folder). Years 2010-2017.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd

import sfpc_eval as se
import sfpc_eval.data as sd
from sfpc_eval.evidence import reproduce

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path()
raw = (
    Path(sys.argv[2])
    if len(sys.argv) > 2
    else Path(__file__).resolve().parents[2] / "shared/data/raw"
)
ADOPTION = 2015

panel = sd.la_panel(raw, measures=("cla", "cpp"), years=range(2010, 2018)).data
neighbours = sd.read_statistical_neighbours(
    raw / "dfe-csc-dashboard" / "New_Statistical_Neighbour_Groupings_April_2021.csv"
).query("la_name == 'Leeds'")
group = ["Leeds", *neighbours["neighbour_name"]]
data = panel[panel["la_name"].isin(group)].copy()
data["treated"] = ((data["la_name"] == "Leeds") & (data["year"] >= ADOPTION)).astype(int)
print(f"Leeds and {len(group) - 1} neighbours: {', '.join(group[1:])}")

# The published claim, from the official files
leeds = data.set_index(["la_name", "year"])
before, after = int(leeds.loc[("Leeds", 2011), "cpp"]), int(leeds.loc[("Leeds", 2017), "cpp"])
print(se.compare_counts(before, after, labels=("2011", "2017")))
print(reproduce("leeds_cpp_2011_2017"))

tables = []
for outcome, label in (("cpp", "child protection plans"), ("cla", "children looked after")):
    rate = se.did(data, outcome=f"{outcome}_rate", unit="la_name", time="year", treated="treated")
    ri = rate.with_inference(se.Randomization())
    counts = se.did(
        data,
        outcome=outcome,
        unit="la_name",
        time="year",
        treated="treated",
        exposure="population_0_17",
        family="poisson",
    )
    print(f"\n{label}: rate per 10,000. One treated council: CR2 is shown for comparison only")
    print("(see the warning); randomization inference over the 11 councils is the honest test.")
    print(rate.summary())
    print(ri.estimate)
    print(f"Poisson: {counts.percent_change.estimate:.1f}% change in the {label} rate")
    for name, res in (("CR2", rate), ("randomization", ri), ("poisson", counts)):
        tables.append(res.tidy().assign(outcome=outcome, analysis=name))
    ax = rate.plot()
    ax.set_title(f"Leeds vs statistical neighbours: {label} per 10,000")
    ax.figure.savefig(out / f"leeds_did_{outcome}.png", dpi=120, bbox_inches="tight")
pd.concat(tables).to_csv(out / "leeds_did.csv", index=False)
