"""Is the Leeds DiD credible? The pre-period, a placebo in time, and the power of the design.

Run: python examples/leeds_credible.py [OUTPUT_DIR] [DATA_DIR]
DATA_DIR defaults to ../shared/data/raw (the DfE files). Writes leeds_credible_leads.png,
leeds_credible_honest.png, leeds_credible_power.png and leeds_credible.csv (every number quoted
in docs/credible.rst) to OUTPUT_DIR.

Leeds (Family Valued from January 2015: first DfE year 2015) against its ten statistical
neighbours, children looked after per 10,000, 2010-2019, as in examples/leeds_report.toml.
"""

import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import sfpc_eval as se
import sfpc_eval.data as sd
from sfpc_eval.diff_in_diff.power import did_event_vcov

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path()
raw = (
    Path(sys.argv[2])
    if len(sys.argv) > 2
    else Path(__file__).resolve().parents[2] / "shared/data/raw"
)
numbers: dict[str, float] = {}

panel = sd.la_panel(raw, measures=("cla",), years=range(2010, 2020)).data
neighbours = sd.read_statistical_neighbours(
    raw / "dfe-csc-dashboard" / "New_Statistical_Neighbour_Groupings_April_2021.csv"
).query("la_name == 'Leeds'")
data = panel[panel["la_name"].isin(["Leeds", *neighbours["neighbour_name"]])].copy()
data["treated"] = ((data["la_name"] == "Leeds") & (data["year"] >= 2015)).astype(int)

# 1. The estimate, with the inference that is valid for one treated council
res = se.did(
    data,
    outcome="cla_rate",
    unit="la_name",
    time="year",
    treated="treated",
    inference=se.Randomization(),
)
print(res.summary())
numbers["effect"] = res.estimate.estimate
numbers["effect_p"] = res.estimate.p_value

# 2. The pre-period: leads, their joint test, and adoption moved two years earlier
check = res.pretrends(placebo_shift=2)
print(check.summary())
print(check.verdict())
for e, term in zip(check.event_times, check.leads, strict=True):
    numbers[f"lead_{e}"] = term.estimate
numbers["leads_p"] = check.joint_test.p_value
numbers["placebo"] = check.placebo.estimate
numbers["placebo_p"] = check.placebo.p_value
ax = check.plot()
ax.set_ylabel("children looked after per 10,000")
ax.figure.savefig(out / "leeds_credible_leads.png", dpi=110, bbox_inches="tight")
plt.close(ax.figure)

# 3. The design's power. Error SD and AR(1) from the comparison councils before 2015: the
# residuals of a two-way fixed-effects fit of the rate on council and year effects.
pre = data[(data["year"] < 2015) & (data["la_name"] != "Leeds")]
wide = pre.pivot_table(index="la_name", columns="year", values="cla_rate")
resid = wide.sub(wide.mean(axis=1), axis=0).sub(wide.mean(axis=0), axis=1) + wide.to_numpy().mean()
units, years = wide.shape
sd_resid = float(np.sqrt((resid.to_numpy() ** 2).sum() / ((units - 1) * (years - 1))))
lagged = resid.to_numpy()
ar1 = float(np.clip(np.corrcoef(lagged[:, 1:].ravel(), lagged[:, :-1].ravel())[0, 1], 0, 0.95))
numbers["sd"], numbers["ar1"] = sd_resid, ar1
design = dict(n_units=11, n_treated=1, pre=5, post=5, sd=sd_resid, ar1=ar1)
analytic = se.did_power(**design)
print(analytic.summary())
numbers["mde"] = analytic.mde
with warnings.catch_warnings():
    warnings.simplefilter("ignore", se.SfpcEvalWarning)
    conservative = se.simulated_did_power(
        **design, effect=-20.0, inference=se.Randomization(), n_sims=200, rng=1, progress=False
    )
    random_ties = se.simulated_did_power(
        **design,
        effect=-20.0,
        inference=se.Randomization(ties="randomized", rng=1),
        n_sims=200,
        rng=1,
        progress=False,
    )
numbers["power_randomization"] = conservative.power
numbers["power_randomization_random_ties"] = random_ties.power
print(conservative.summary())
print(random_ties.summary())

# 4. HonestDiD: how large a post-2015 violation would overturn the result? The event study's
# cluster-robust covariance is not valid with one treated council, so the bounds use the
# covariance the design implies (AR(1) errors with the comparison councils' SD and
# autocorrelation), with the event study's own estimates.
data["cohort"] = (data["la_name"] == "Leeds").map({True: 2015.0, False: float("nan")})
with warnings.catch_warnings():
    warnings.simplefilter("ignore", se.SfpcEvalWarning)
    es = se.event_study(data, "cla_rate", "la_name", "year", "cohort", bin_endpoints=False)
times, vcov = did_event_vcov(**design)
assert tuple(times) == es.event_times
estimates = se.EventTimeEstimates(
    tuple(times),
    np.array([t.estimate for t in es.terms[: len(times)]]),
    vcov,
    reference=-1,
    source="Leeds event study, design-based covariance (AR(1) errors)",
)
rm = se.honest_did(estimates, m_values=[0.5, 1, 2], target="average")
smooth = se.honest_did(estimates, restriction="smoothness", m_values=[0, 1, 2], target="average")
print(rm.summary())
print(smooth.summary())
for name, res_h in (("rm", rm), ("sd", smooth)):
    for t in res_h.terms:
        numbers[f"{name}_{t.term}_low"] = t.conf_low
        numbers[f"{name}_{t.term}_high"] = t.conf_high
    numbers[f"{name}_breakdown"] = res_h.breakdown_value
ax = rm.plot()
ax.figure.savefig(out / "leeds_credible_honest.png", dpi=110, bbox_inches="tight")
plt.close(ax.figure)

# 5. The power of the pre-trend test against a linear trend, and the bias if it is passed
slopes = np.linspace(0, 6, 25)
power = [se.pretrend_power(vcov=vcov, event_times=times, slope=-s).power for s in slopes]
half = se.pretrend_power(vcov=vcov, event_times=times, target_power=0.5)
numbers["slope_50"] = half.slope
observed = se.pretrend_power(vcov=vcov, event_times=times, slope=-4.5)
numbers["power_slope_4_5"] = observed.power
post = [t for t in observed.terms if t.term.startswith("bias_after_pretest")]
numbers["bias_after_pretest"] = float(np.mean([t.estimate for t in post]))
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(slopes, power, color="#08306b")
ax.axhline(0.05, color="grey", linewidth=0.8, linestyle="--")
ax.set_xlabel("linear pre-trend (fall per year, per 10,000) against the comparison councils")
ax.set_ylabel("power of the pre-trend test")
ax.axvline(4.5, color="#b2182b", linewidth=0.8)
ax.set_title(
    "A pre-trend as steep as Leeds's (4.5 a year, red) is detected about half the time",
    fontsize=9,
)
ax.grid(alpha=0.3)
fig.savefig(out / "leeds_credible_power.png", dpi=110, bbox_inches="tight")
plt.close(fig)

pd.Series(numbers).to_csv(out / "leeds_credible.csv", header=["value"])
print(pd.Series(numbers).round(4).to_string())
