"""Benchmark: TWFE event study, Sun & Abraham and imputation against pyfixest, same data.

Default 2,000 units x 15 periods (30,000 rows), cohorts at periods 5, 7, 9, 11 and never
treated, clustered by unit. Each tool and estimator runs in its own fresh Python process (so
peak memory is its own), on the same seeded data:

- event study: sfpc_eval ``event_study(window=(-4, 4))`` (CR1) vs
  ``pyfixest.feols("y ~ i(rel, ref=-1) | unit + time", vcov={"CRV1": "unit"})`` (binned by hand);
- Sun & Abraham: sfpc_eval ``sun_abraham`` vs ``pyfixest.event_study(estimator="saturated")``
  plus ``aggregate()``;
- imputation: sfpc_eval ``imputation`` vs ``pyfixest.did2s`` (event-time second stage).

Run:  python benchmarks/staggered_es.py [--units 2000] [--periods 15] [--repeat 3]
Needs: pip install -e ".[bench]"  (pyfixest)
Prints seconds (best of --repeat, after one warm-up), peak resident memory above the data, the
first post-adoption estimate from each tool (they agree), and the ratio pyfixest / sfpc_eval
measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

WORKER = r"""
import json, resource, sys, time, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")

units, periods, repeat, tool, est = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                     sys.argv[4], sys.argv[5])
rng = np.random.default_rng(20261123)
unit = np.repeat(np.arange(units), periods)
period = np.tile(np.arange(1, periods + 1), units)
cohort_u = np.array([5.0, 7.0, 9.0, 11.0, np.nan])[np.arange(units) % 5]
cohort = cohort_u[unit]
e = period - cohort
effect = np.where(e >= 0, 1.0 + 0.2 * np.nan_to_num(e), 0.0)
y = rng.normal(0, 1, units)[unit] + 0.05 * period + effect + rng.normal(0, 1, len(unit))
data = pd.DataFrame({"unit": unit, "period": period, "cohort": cohort, "y": y})


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

base = rss_mb()
if tool == "sfpc_eval":
    from sfpc_eval.diff_in_diff.event_study import event_study
    from sfpc_eval.staggered.sun_abraham import sun_abraham
    from sfpc_eval.staggered.imputation import imputation
    if est == "event_study":
        def run():
            return event_study(data, "y", "unit", "period", "cohort", window=(-4, 4)).term("e=0")
    elif est == "sun_abraham":
        def run():
            return sun_abraham(data, "y", "unit", "period", "cohort").term("e=0")
    else:
        def run():
            return imputation(data, "y", "unit", "period", "cohort").term("e=0")
    def first():
        t = run()
        return t.estimate, t.std_error
else:
    import pyfixest as pf
    if est == "event_study":
        def first():
            d = data.assign(rel=(data["period"] - data["cohort"]).clip(-4, 4).fillna(-1)
                            .astype(int))
            fit = pf.feols("y ~ i(rel, ref=-1) | unit + period", data=d,
                           vcov={"CRV1": "unit"})
            return float(fit.coef()["rel::0"]), float(fit.se()["rel::0"])
    elif est == "sun_abraham":
        def first():
            d = data.assign(g=data["cohort"].fillna(0).astype(int))
            fit = pf.event_study(d, yname="y", idname="unit", tname="period", gname="g",
                                 estimator="saturated")
            row = fit.aggregate().loc[0.0]
            return float(row["Estimate"]), float(row["Std. Error"])
    else:
        def first():
            d = data.assign(treat=(data["period"] >= data["cohort"]).astype(int))
            rel = (d["period"] - d["cohort"]).where(d["treat"] == 1)
            ks = sorted(rel.dropna().astype(int).unique())
            for k in ks:
                d[f"d{k}"] = (rel == k).astype(float)
            fit = pf.did2s(d, yname="y", first_stage="~ 0 | unit + period",
                           second_stage="~ " + " + ".join(f"d{k}" for k in ks),
                           treatment="treat", cluster="unit")
            return float(fit.coef()["d0"]), float(fit.se()["d0"])

estimate, se_ = first()
times = []
for _ in range(repeat):
    start = time.perf_counter()
    first()
    times.append(time.perf_counter() - start)
print(json.dumps({"tool": tool, "estimator": est, "seconds": min(times),
                  "peak_mb_above_data": rss_mb() - base, "estimate": estimate,
                  "std_error": se_}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2_000)
    parser.add_argument("--periods", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.units:,} units x {args.periods} periods; best of {args.repeat}")
    print(
        f"{'estimator':<12} {'tool':<10} {'seconds':>8} {'peak MB':>8} {'e=0':>10} "
        f"{'SE':>9} {'ratio':>7}"
    )
    for est in ("event_study", "sun_abraham", "imputation"):
        rows = {}
        for tool in ("sfpc_eval", "pyfixest"):
            run = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    WORKER,
                    str(args.units),
                    str(args.periods),
                    str(args.repeat),
                    tool,
                    est,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            rows[tool] = json.loads(run.stdout.strip().splitlines()[-1])
        ours = rows["sfpc_eval"]["seconds"]
        for tool, row in rows.items():
            print(
                f"{est:<12} {tool:<10} {row['seconds']:8.3f} {row['peak_mb_above_data']:8.1f} "
                f"{row['estimate']:10.6f} {row['std_error']:9.6f} "
                f"{row['seconds'] / ours:6.2f}x"
            )


if __name__ == "__main__":
    main()
