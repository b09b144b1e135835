"""Benchmark: two-way fixed-effects DiD with CR1 standard errors on 1,000,000 rows.

20,000 units x 50 periods, staggered adoption, clustered by unit. Each tool runs in its own
fresh Python process (so peak memory is its own), on the same seeded data:

- sfpc_eval.did(..., inference=ClusterRobust(kind="CR1"))  (fixed effects absorbed)
- pyfixest.feols("y ~ treated | unit + time", vcov={"CRV1": "unit"})
- linearmodels PanelOLS(entity_effects, time_effects).fit(cov_type="clustered")
- diff-diff TwoWayFixedEffects().fit(..., treatment="ever", post="post", unit="unit"), with
  ``--design simultaneous`` only: its static TWFE is ``unit + post`` effects with
  ``D_i x Post_t`` (one adoption date), so the staggered workload is not a model it fits. With
  one adoption date on a balanced panel every tool's estimate is the same 2x2 DiD; diff-diff's
  standard error is for its two-period time effects (post/pre), the others' for 50 period
  effects, so SEs differ by model, not by error.

Run:  python benchmarks/did_twfe.py [--units 20000] [--periods 50] [--repeat 3]
                                    [--design staggered|simultaneous] [--peers pyfixest ...]
Needs: pip install -e ".[bench]"  (pyfixest, linearmodels, diff-diff)
Prints seconds (best of --repeat, after one warm-up fit) and CPU seconds, the peak resident
memory of the process during the fits above its resident memory just before them (Linux: the
peak mark is reset through /proc/self/clear_refs after building the data and after a fit on the
first 200 units has loaded every module), the estimate and SE from each tool, and the ratios
against sfpc_eval measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

WORKER = r'''
import json, sys, time
import numpy as np, pandas as pd

units, periods, repeat, tool = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
design = sys.argv[5]
rng = np.random.default_rng(20261123)
unit = np.repeat(np.arange(units), periods)
period = np.tile(np.arange(periods), units)
cohort = np.where(rng.random(units) < 0.3, rng.integers(10, 40, units), 10_000)
if design == "simultaneous":
    cohort = np.where(cohort < 10_000, periods // 2, 10_000)
treated = (period >= cohort[unit]).astype(np.int64)
y = rng.normal(0, 1, units)[unit] + 0.02 * period - 0.5 * treated + rng.normal(0, 1, len(unit))
data = pd.DataFrame({"unit": unit, "time": period, "treated": treated, "y": y})
full = data


def status_mb(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field)) / 1024


def reset_peak():
    """Start the process's peak-memory mark afresh (Linux: VmHWM back to the current RSS)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return status_mb("VmRSS:")


def rss_mb():
    return status_mb("VmHWM:")

if tool == "sfpc_eval":
    import sfpc_eval as se
    def run():
        res = se.did(data, outcome="y", unit="unit", time="time", treated="treated",
                     inference=se.ClusterRobust(kind="CR1"))
        return res.estimate.estimate, res.estimate.std_error
elif tool == "diff-diff":
    import warnings
    from diff_diff import TwoWayFixedEffects
    data["ever"] = (cohort[unit] < 10_000).astype(np.int64)
    data["post"] = (period >= periods // 2).astype(np.int64)
    warnings.simplefilter("ignore")
    def run():
        fit = TwoWayFixedEffects().fit(data, outcome="y", treatment="ever", post="post",
                                       unit="unit")
        return float(fit.att), float(fit.se)
elif tool == "pyfixest":
    import pyfixest as pf
    def run():
        fit = pf.feols("y ~ treated | unit + time", data=data, vcov={"CRV1": "unit"})
        return float(fit.coef()["treated"]), float(fit.se()["treated"])
else:
    from linearmodels import PanelOLS
    def run():
        panel = data.set_index(["unit", "time"])
        fit = PanelOLS(panel["y"], panel[["treated"]], entity_effects=True,
                       time_effects=True).fit(cov_type="clustered", cluster_entity=True)
        return float(fit.params["treated"]), float(fit.std_errors["treated"])

# warm up on the first 200 units (imports, compilation), so that the peak memory measured
# above this baseline is the fit's own, not the libraries'
data = full.iloc[: 200 * periods].copy()
run()
data = full
base = reset_peak()  # the data, the libraries and the warm-up's leftovers are resident
estimate, se_ = run()
times, cpu = [], []
for _ in range(repeat):
    start, start_cpu = time.perf_counter(), time.process_time()
    run()
    times.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)
print(json.dumps({"tool": tool, "seconds": min(times), "cpu": min(cpu),
                  "peak_mb_above_data": rss_mb() - base,
                  "estimate": estimate, "std_error": se_}))
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--periods", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--design", choices=("staggered", "simultaneous"), default="staggered")
    parser.add_argument(
        "--peers",
        nargs="*",
        choices=("pyfixest", "linearmodels", "diff-diff"),
        default=None,
        help="peers to run (default: pyfixest and linearmodels, and diff-diff with "
        "--design simultaneous)",
    )
    args = parser.parse_args()
    rows = []
    if args.peers is None:
        peers = ["pyfixest", "linearmodels"]
        if args.design == "simultaneous":
            peers.append("diff-diff")
    else:
        peers = args.peers
    tools = ["sfpc_eval", *peers]
    for tool in tools:
        out = subprocess.run(
            [sys.executable, "-c", WORKER, str(args.units), str(args.periods), str(args.repeat),
             tool, args.design],
            capture_output=True, text=True, check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    ours = rows[0]
    print(f"TWFE DiD + CR1, {args.units:,} units x {args.periods} periods "
          f"= {args.units * args.periods:,} rows, {args.design} adoption (best of {args.repeat});"
          " input columns 32 MB")
    print("x ours: the tool's time (memory) / sfpc_eval's, measured in this run")
    print("(cpu s: the process's CPU time, steadier than wall time on a loaded machine)")
    print(f"{'tool':<14}{'seconds':>9}{'cpu s':>8}{'peak MB':>9}{'x ours (time)':>15}"
          f"{'x ours (cpu)':>14}{'x ours (mem)':>14}{'estimate':>13}{'SE':>12}")
    for row in rows:
        time_ratio = row["seconds"] / ours["seconds"]
        cpu_ratio = row["cpu"] / ours["cpu"]
        mem_ratio = row["peak_mb_above_data"] / max(ours["peak_mb_above_data"], 1e-9)
        print(f"{row['tool']:<14}{row['seconds']:>9.3f}{row['cpu']:>8.3f}"
              f"{row['peak_mb_above_data']:>9.0f}{time_ratio:>15.2f}{cpu_ratio:>14.2f}"
              f"{mem_ratio:>14.2f}{row['estimate']:>13.8f}{row['std_error']:>12.8f}")


if __name__ == "__main__":
    main()
