"""Three pioneering councils on the official DfE data: synthetic control, synthetic DiD and ITS.

Run: python examples/single_council.py [OUTPUT_DIR] [DATA_DIR] [--quick]
DATA_DIR defaults to ../shared/data/raw (the DfE files). Writes single_council.csv (every
estimate), single_council_claims.csv (the published before/after claims next to the
single-council estimates) and one figure per council and outcome
(single_council_<council>_<outcome>.png: treated vs synthetic, placebo gaps, ITS) with the
designs side by side (single_council_<council>_<outcome>.xlsx) to OUTPUT_DIR.
``--quick`` (for the test suite) uses 40 donors drawn at random (seeded) and 20 SDID placebo
replications: the numbers then differ from the full run.

Councils and programmes (the first year ending 31 March under the programme is 2015 for all
three: each started in late 2014 or January 2015):

- Leeds, Family Valued, from January 2015;
- Hertfordshire, Family Safeguarding, from 2015 (child protection plans fell from January 2015);
- North Yorkshire, No Wrong Door, from 2015. North Yorkshire County Council became the unitary
  North Yorkshire Council in April 2023 with a new LA code; ``la_panel`` links the two codes,
  and the window here (2010-2019) ends before the change anyway.

Outcomes: children on child protection plans (CPP) and children looked after (CLA), both per
10,000 children aged 0-17, at 31 March. Window 2010-2019 (CPP from 2011: North Yorkshire has no
2010 count): five (four) years before, five after, and before the COVID-19 years. Councils with
a missing year in the window are left out of the donor pool, and listed.

Donor pool: every English council with complete data in the window EXCEPT councils that ran
the same or similar programmes (they are not "untreated"): the package's list,
``sfpc_eval.single_unit.excluded_donors()`` (Innovation Programme projects, SFPC pilot and trial
councils, Supporting Families: Investing in Practice sites, each with its source; the data file
``src/sfpc_eval/single_unit/excluded_donors.toml``). The DfE's full list of the 94 Innovation
Programme projects should be used to extend it before drawing conclusions.

Also written: single_council_side_by_side.csv, the four designs (before/after, ITS, synthetic
control, synthetic DiD) side by side per council and outcome with each design's pre-period fit
(``sfpc_eval.single_unit.single_council_summary``).
"""

import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

import sfpc_eval as se
import sfpc_eval.data as sd
from sfpc_eval.evidence import load_registry, reproduce
from sfpc_eval.plotting import plot_placebo_gaps
from sfpc_eval.single_unit import donor_pool, excluded_donors, single_council_summary
from sfpc_eval.single_unit.synthdid import synthetic_did

args = [a for a in sys.argv[1:] if not a.startswith("--")]
QUICK = "--quick" in sys.argv
out = Path(args[0]) if args else Path()
raw = Path(args[1]) if len(args) > 1 else Path(__file__).resolve().parents[2] / "shared/data/raw"
START, YEARS = 2015, range(2010, 2020)
FIRST_YEAR = {"cpp": 2011, "cla": 2010}  # North Yorkshire has no CPP count for 2010
REPLICATIONS = 20 if QUICK else 200

PIONEERS = {
    "Leeds": "Family Valued",
    "Hertfordshire": "Family Safeguarding",
    "North Yorkshire": "No Wrong Door",
}
panel = sd.la_panel(raw, measures=("cla", "cpp"), years=YEARS).data
listed = excluded_donors()
print(
    f"Excluded from the donor pool: {listed['la_name'].nunique()} councils that ran similar "
    f"programmes ({len(listed)} council-programme rows with sources)"
)

results, figures, sides = [], [], []
for council, programme in PIONEERS.items():
    for outcome in ("cpp", "cla"):
        column = f"{outcome}_rate"
        window = panel[panel["year"] >= FIRST_YEAR[outcome]]
        complete = window.groupby("la_name")[column].apply(lambda s: s.notna().all())
        gaps = sorted(set(window["la_name"]) - set(complete[complete].index))
        candidates = sorted(u for u in complete[complete].index if u not in PIONEERS)
        donors, _ = donor_pool(candidates, [council], None)
        if QUICK:
            donors = sorted(pd.Series(donors).sample(40, random_state=1))
        print(
            f"\n== {council} ({programme}), {column}: {len(donors)} donors; left out for "
            f"missing years: {gaps}"
        )
        data = window[window["la_name"].isin([council, *donors])]
        # the same council, donors and start for the synthetic control and the synthetic DiD
        design = dict(
            outcome=column,
            unit="la_name",
            time="year",
            treated_unit=council,
            start=START,
            donors=donors,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", se.SfpcEvalWarning)
            sc = se.synthetic_control(data, **design, leave_one_out=True)
        for w in caught:
            print(f"  warning: {w.message}")
        top = sc.weights.sort_values(ascending=False).head(4).round(3).to_dict()
        print(
            f"  synthetic control: mean gap {sc.term('mean_post_gap').estimate:+.1f} per "
            f"10,000 ({sc.percent_change.estimate:+.1f}%), placebo p = {sc.p_value:.3f}, "
            f"pre-RMSPE {sc.pre_rmspe:.2f}; top donors {top}"
        )
        sdid = synthetic_did(data, **design, replications=REPLICATIONS, rng=2015)
        print(
            f"  synthetic DiD: {sdid.estimate:+.1f} per 10,000 "
            f"(placebo SE {sdid.term('att').std_error:.1f})"
        )
        its = se.its(
            data[data["la_name"] == council], outcome=column, time="year", start=START, hac_lags=1
        )
        print(
            f"  ITS: level change {its.term('level_change').estimate:+.1f}, slope change "
            f"{its.term('slope_change').estimate:+.1f} per year (Newey-West, 1 lag)"
        )
        side = single_council_summary(
            data, **design, replications=REPLICATIONS, rng=2015, hac_lags=1
        )
        sides.append(side.table.assign(council=council, outcome=column))
        print(side.summary().as_text())
        side.summary().save(
            out / f"single_council_{council.lower().replace(' ', '_')}_{outcome}.xlsx"
        )
        for design, res in (("synthetic_control", sc), ("synthetic_did", sdid), ("its", its)):
            results.append(res.tidy().assign(council=council, outcome=column, design=design))
        fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
        sc.plot(ax=axes[0]).set_title(f"{council}: {column} vs synthetic")
        plot_placebo_gaps(sc, ax=axes[1], exclude_pre_rmspe_above=5**0.5)
        its.plot(ax=axes[2]).set_title("interrupted time series")
        slug = council.lower().replace(" ", "_")
        fig.savefig(out / f"single_council_{slug}_{outcome}.png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        figures.append((council, column, sc, sdid, its))

table = pd.concat(results, ignore_index=True)
table.to_csv(out / "single_council.csv", index=False)
pd.concat(sides, ignore_index=True).to_csv(out / "single_council_side_by_side.csv", index=False)

# Published before/after claims next to the single-council estimates
CLAIMS = {
    "leeds_cpp_2011_2017": ("Leeds", "cpp_rate"),
    "leeds_cpp_rate_2013_2018": ("Leeds", "cpp_rate"),
    "herts_cpp_jan15_nov16": ("Hertfordshire", "cpp_rate"),
    "north_yorkshire_cla_reduction": ("North Yorkshire", "cla_rate"),
}
registry = {c.id: c for c in load_registry()}
rows = []
for claim_id, (council, column) in CLAIMS.items():
    claim, check = registry[claim_id], reproduce(claim_id)
    _, _, sc, sdid, its = next(f for f in figures if f[0] == council and f[1] == column)
    post = sc.gaps["time"] >= START
    rows.append(
        {
            "claim": claim_id,
            "published": f"{claim.wording} ({claim.metric.replace('_', ' ')}, {claim.period})",
            "registry_status": check.status,
            "before_after_change_pct": round(
                100
                * (sc.gaps.loc[post, "treated"].mean() / sc.gaps.loc[~post, "treated"].mean() - 1),
                1,
            ),
            "synthetic_control_pct": round(sc.percent_change.estimate, 1),
            "synthetic_control_p": round(sc.p_value, 3),
            "sdid_pct": round(100 * sdid.estimate / sc.gaps.loc[post, "synthetic"].mean(), 1),
            "its_effect_at_end": round(its.term("effect_at_end").estimate, 1),
        }
    )
claims = pd.DataFrame(rows)
claims.to_csv(out / "single_council_claims.csv", index=False)
print("\nPublished claims vs single-council designs (rates per 10,000; % of the comparison):")
print(claims.to_string(index=False))
