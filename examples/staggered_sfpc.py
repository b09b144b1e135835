"""SFPC councils as a staggered adoption: children looked after per 10,000, DfE LA x year panel.

Run: python examples/staggered_sfpc.py [OUTPUT_DIR] [DATA_DIR]
DATA_DIR defaults to ../shared/data/raw (the DfE files). Writes staggered_sfpc.csv (every
estimate, tidy), staggered_sfpc_cohorts.csv (the adoption dates and DfE years used) and
staggered_sfpc.png (event studies and the Bacon decomposition) to OUTPUT_DIR.

Cohorts. Each council is dated by the day it switched to its model (from the trials' published
designs). DfE years end on 31 March, so a date is mapped to the first DfE year it falls in:
year ``Y`` runs from 1 April ``Y-1`` to 31 March ``Y`` (Walsall, 1 September 2020 -> 2021). The
early adopters "spring 2019" are dated 1 April 2019 -> 2020 (an assumption: a switch in March 2019
would make it 2019). Children looked after is a 31 March count, so the first treated year holds
between 0 and 12 months of exposure.

Comparison councils: every English council never in the programme, less the councils that ran
these models before SFPC under the Innovation Programme (so they are not "never treated"):
Hertfordshire (Family Safeguarding, 2015), North Yorkshire (No Wrong Door, 2015), Leeds (Family
Valued, 2015) and the four Round 2 Family Safeguarding councils Bracknell Forest, West
Berkshire, Luton and Peterborough (York Consulting, 2020; see guides/published_figures.md).
Councils with a missing rate in 2012-2024 are left out, and listed.
"""

import sys
import warnings
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import sfpc_eval.data as sd
from sfpc_eval.diff_in_diff.event_study import event_study
from sfpc_eval.staggered.bacon import bacon
from sfpc_eval.staggered.choose import staggered_did

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path()
raw = (
    Path(sys.argv[2])
    if len(sys.argv) > 2
    else Path(__file__).resolve().parents[2] / "shared/data/raw"
)
YEARS = range(2012, 2025)
SWITCH = {
    # Family Safeguarding
    "Walsall": date(2020, 9, 1),
    "Lancashire": date(2021, 2, 1),
    "Telford and Wrekin": date(2021, 6, 28),
    "Wandsworth": date(2022, 1, 24),
    "Swindon": date(2022, 5, 24),
    # No Wrong Door
    "Rochdale": date(2020, 4, 1),
    "Warrington": date(2021, 4, 1),
    "Norfolk": date(2021, 6, 1),
    "Redcar and Cleveland": date(2021, 9, 1),
    # early adopters, "spring 2019" (dated 1 April 2019: an assumption)
    "Darlington": date(2019, 4, 1),
    "Cambridgeshire": date(2019, 4, 1),
    "Middlesbrough": date(2019, 4, 1),
}
EARLIER_PROGRAMME = [
    "Hertfordshire",
    "North Yorkshire",
    "Leeds",
    "Bracknell Forest",
    "West Berkshire",
    "Luton",
    "Peterborough",
]


def dfe_year(day: date) -> int:
    """The DfE year (ending 31 March) that ``day`` falls in."""
    return day.year + 1 if day.month >= 4 else day.year


cohorts = pd.DataFrame(
    [(la, day.isoformat(), dfe_year(day)) for la, day in SWITCH.items()],
    columns=["la_name", "switch_date", "first_dfe_year"],
)
print("Adoption dates mapped to the first DfE year (ending 31 March) they fall in:")
print(cohorts.to_string(index=False))
cohorts.to_csv(out / "staggered_sfpc_cohorts.csv", index=False)

panel = sd.la_panel(raw, measures=("cla",), years=YEARS).data
missing_names = sorted(set(SWITCH) - set(panel["la_name"]))
if missing_names:
    raise SystemExit(f"SFPC councils not in the panel: {missing_names}")
data = panel[~panel["la_name"].isin(EARLIER_PROGRAMME)].copy()
incomplete = sorted(
    data.loc[data["cla_rate"].isna(), "la_name"].unique().tolist()
    + data.groupby("la_name")["year"].size().loc[lambda s: s < len(YEARS)].index.tolist()
)
incomplete = sorted(set(incomplete))
print(f"\nLeft out, earlier programme councils: {', '.join(EARLIER_PROGRAMME)}")
print(f"Left out, a missing rate in {YEARS[0]}-{YEARS[-1]}: {', '.join(incomplete) or 'none'}")
if set(incomplete) & set(SWITCH):
    raise SystemExit(f"an SFPC council has missing years: {set(incomplete) & set(SWITCH)}")
data = data[~data["la_name"].isin(incomplete)].copy()
data["cohort"] = data["la_name"].map(cohorts.set_index("la_name")["first_dfe_year"])
data["cohort"] = data["cohort"].astype(float)
data["rate"] = data["cla_rate"].astype(float)
n_never = data.loc[data["cohort"].isna(), "la_name"].nunique()
print(
    f"{data['la_name'].nunique()} councils ({n_never} never treated), years {YEARS[0]}-"
    f"{YEARS[-1]}; cohorts: {data.groupby('cohort')['la_name'].nunique().to_dict()}"
)

args = {"outcome": "rate", "unit": "la_name", "time": "year", "cohort": "cohort"}
caught: list[str] = []
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    es = event_study(data, **args, window=(-5, 3))
    sa = staggered_did(data, **args, method="sun_abraham", window=(-5, 3))
    bjs = staggered_did(data, **args, method="imputation", pretrend_leads=3)
    decomposition = bacon(data, **args)
    try:
        cs = staggered_did(data, **args, method="callaway_santanna").aggregate("dynamic")
    except ImportError:  # the Callaway-Sant'Anna module is not there
        cs = None
    caught = sorted({f"{w.category.__name__}: {w.message}" for w in seen})
for line in caught:
    print(f"\nWARNING {line}")

print(es.summary())
print(sa.summary())
print(bjs.summary())
print(decomposition.summary())
print(decomposition.by_type().to_string(index=False))
if cs is not None:
    print(cs)

tables = [
    es.tidy().assign(estimator="TWFE event study (CR1 by council)"),
    sa.tidy().assign(estimator="Sun & Abraham (CR1 by council)"),
    bjs.tidy().assign(estimator="imputation, BJS (two-stage GMM SE)"),
    decomposition.tidy().assign(estimator="Goodman-Bacon decomposition"),
]
if cs is not None:
    tables.append(cs.tidy().assign(estimator="Callaway & Sant'Anna, dynamic"))
table = pd.concat(tables, ignore_index=True)
table.to_csv(out / "staggered_sfpc.csv", index=False)

fig, axes = plt.subplots(2, 2, figsize=(11, 7))
es.plot(ax=axes[0, 0])
axes[0, 0].set_title("TWFE event study, end points binned", fontsize=9)
sa.plot(ax=axes[0, 1])
axes[0, 1].set_title("Sun & Abraham", fontsize=9)
bjs.plot(ax=axes[1, 0])
axes[1, 0].set_title("Imputation (Borusyak, Jaravel & Spiess)", fontsize=9)
decomposition.plot(ax=axes[1, 1])
axes[1, 1].set_title("Goodman-Bacon decomposition of TWFE", fontsize=9)
for ax in axes.flat[:3]:
    ax.set_ylabel("children looked after per 10,000")
fig.suptitle(
    "SFPC councils (Family Safeguarding, No Wrong Door, early adopters): CLA rate per 10,000",
    fontsize=10,
)
fig.tight_layout()
fig.savefig(out / "staggered_sfpc.png", dpi=120)
summary = pd.DataFrame(
    {
        "estimator": ["TWFE (Bacon)", "Sun & Abraham ATT", "imputation ATT"],
        "estimate": [decomposition.estimate, sa.att.estimate, bjs.att.estimate],
        "std_error": [np.nan, sa.att.std_error, bjs.att.std_error],
    }
)
print("\nOverall effect on the CLA rate per 10,000 (average over treated council-years):")
print(summary.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
