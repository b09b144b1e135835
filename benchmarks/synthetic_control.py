"""Benchmark: synthetic control with full placebo-in-space, sfpc_eval against pysyncon.

Data: the real LA panel (children looked after per 10,000, 2010-2025: about 150 councils x 16
years; councils with a missing year are left out) when the DfE files are at DATA_DIR, else a
simulated panel of that shape. Treated council: Leeds (or unit 0), start 2015; predictors: the
outcome in each pre-period; V chosen by the ADH nested search (Nelder-Mead from equal weights)
in both tools, for the treated council and for every placebo.

Each tool runs in its own fresh Python process (so its peak memory is its own):

- sfpc_eval.synthetic_control(..., placebo=True): the treated fit and every placebo refit;
- pysyncon 1.7 Synth.fit(optim_method="Nelder-Mead", optim_initial="equal") on the treated
  council and on ``--pysyncon-placebos`` placebo councils (default 5; ``--pysyncon-placebos all``
  runs every one, which takes hours). Its full placebo time is the measured time per fit times
  the number of fits, and is printed as an extrapolation unless every placebo was run.

Run:  python benchmarks/synthetic_control.py [DATA_DIR] [--pysyncon-placebos N|all]
Prints seconds, peak resident memory above the data, the outer objective (pre-period MSPE of
the outcome) of the treated fit and of the placebo fits both tools ran, and the time ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

WORKER = r"""
import json, resource, sys, time, warnings
from pathlib import Path
import numpy as np, pandas as pd

raw, tool, n_placebo = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
if raw.is_dir():
    import sfpc_eval.data as sd
    full = sd.la_panel(raw, measures=("cla",), years=range(2010, 2026)).data
    complete = full.groupby("la_name")["cla_rate"].apply(lambda s: s.notna().all())
    data = full[full["la_name"].isin(complete[complete].index)][["la_name", "year", "cla_rate"]]
    data = data.rename(columns={"la_name": "unit", "cla_rate": "y"}).reset_index(drop=True)
    treated, source = "Leeds", "real LA panel (cla_rate)"
else:
    rng = np.random.default_rng(20261123)
    units, years = 150, np.arange(2010, 2026)
    factors = rng.normal(0, 1, (len(years), 3)).cumsum(0)
    y = rng.normal(60, 15, units)[None, :] + factors @ rng.uniform(0, 3, (units, 3)).T
    y = y + rng.normal(0, 1, y.shape)
    data = pd.DataFrame([(f"u{i:03d}", t, y[j, i]) for i in range(units)
                         for j, t in enumerate(years)], columns=["unit", "year", "y"])
    treated, source = "u000", "simulated 150 x 16"
units = sorted(data["unit"].unique())
donors = [u for u in units if u != treated]
pre = [t for t in sorted(data["year"].unique()) if t < 2015]


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

base = rss_mb()
warnings.simplefilter("ignore")
out = {"tool": tool, "source": source, "councils": len(units), "years": data["year"].nunique()}
if tool == "sfpc_eval":
    import sfpc_eval as se
    start = time.perf_counter()
    res = se.synthetic_control(data, outcome="y", unit="unit", time="year",
                               treated_unit=treated, start=2015, placebo=True)
    out["seconds"] = time.perf_counter() - start
    out["fits"] = 1 + len(donors)
    out["treated_mspe"] = res.pre_rmspe ** 2
    out["placebo_mspe"] = dict(zip(res.placebo["unit"], res.placebo["pre_rmspe"] ** 2))
    out["p_value"] = res.p_value
else:
    from pysyncon import Dataprep, Synth
    chosen = donors if n_placebo == "all" else donors[: int(n_placebo)]

    def fit_one(unit):
        pool = [d for d in donors if d != unit]  # placebos: the other donors
        prep = Dataprep(foo=data, predictors=[], predictors_op="mean", dependent="y",
                        unit_variable="unit", time_variable="year",
                        special_predictors=[("y", [t], "mean") for t in pre],
                        treatment_identifier=unit, controls_identifier=pool,
                        time_predictors_prior=pre, time_optimize_ssr=pre)
        synth = Synth()
        synth.fit(dataprep=prep, optim_method="Nelder-Mead", optim_initial="equal")
        return float(synth.loss_V)

    start = time.perf_counter()
    out["treated_mspe"] = fit_one(treated)
    out["placebo_mspe"] = {u: fit_one(u) for u in chosen}
    elapsed = time.perf_counter() - start
    out["fits_run"] = 1 + len(chosen)
    out["fits"] = 1 + len(donors)
    out["seconds_measured"] = elapsed
    out["seconds"] = elapsed / out["fits_run"] * out["fits"]
    out["extrapolated"] = out["fits_run"] < out["fits"]
out["peak_mb_above_data"] = rss_mb() - base
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
    parser.add_argument("data_dir", nargs="?", default=str(default))
    parser.add_argument("--pysyncon-placebos", default="5")
    args = parser.parse_args()
    rows = {}
    for tool in ("sfpc_eval", "pysyncon"):
        run = subprocess.run(
            [sys.executable, "-c", WORKER, args.data_dir, tool, args.pysyncon_placebos],
            capture_output=True,
            text=True,
            check=True,
        )
        rows[tool] = json.loads(run.stdout.strip().splitlines()[-1])
    ours, theirs = rows["sfpc_eval"], rows["pysyncon"]
    print(
        f"data: {ours['source']}, {ours['councils']} councils x {ours['years']} years; "
        f"full placebo-in-space = {ours['fits']} fits"
    )
    print(
        f"sfpc_eval: {ours['seconds']:.1f} s, peak {ours['peak_mb_above_data']:.0f} MB "
        f"above data, p = {ours['p_value']:.3f}"
    )
    label = "extrapolated from" if theirs["extrapolated"] else "measured over"
    print(
        f"pysyncon:  {theirs['seconds']:.1f} s ({label} {theirs['fits_run']} fits, "
        f"{theirs['seconds_measured']:.1f} s), peak {theirs['peak_mb_above_data']:.0f} MB"
    )
    print(f"ratio (pysyncon / sfpc_eval time): {theirs['seconds'] / ours['seconds']:.1f}x")
    print("outer objective, pre-period MSPE (lower is better):")
    print(f"  treated: sfpc_eval {ours['treated_mspe']:.6g}  pysyncon {theirs['treated_mspe']:.6g}")
    for unit, value in theirs["placebo_mspe"].items():
        print(f"  placebo {unit}: sfpc_eval {ours['placebo_mspe'][unit]:.6g}  pysyncon {value:.6g}")


if __name__ == "__main__":
    main()
