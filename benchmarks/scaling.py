"""Benchmark: how time and memory grow with the size of the problem.

Three workloads at three sizes each, every (workload, size) in its own fresh Python process:

- ``did``: TWFE DiD + CR1 (``se.did``, effects absorbed) on 0.1M, 1M and 10M rows of a
  staggered panel (units x 50 periods);
- ``glmm``: the stepped-wedge random-intercept logistic GLMM (``stepped_wedge``,
  ``model="glmm"``) on 10k, 50k and 200k simulated children (Family Safeguarding design,
  8 covariate columns, as benchmarks/stepped_wedge_glmm.py);
- ``synthetic_control``: ``synthetic_control(..., placebo=True)`` (the treated council and one
  placebo refit per donor) on simulated panels of 50, 150 and 300 councils x 16 years.

Each process builds its data, records its peak resident memory (VmHWM), makes one warm-up run
(skipped for the largest sizes of the slower workloads), times ``--repeat`` runs and reports
the best time and the peak memory above the data. The fitted exponent is the least-squares
slope of log(time) (or log(memory)) on log(size): 1 is linear. BLAS is pinned to one thread.

Run:   python benchmarks/scaling.py [--repeat 2] [--only did,glmm,synthetic_control]
                                    [--plot docs/_static/scaling.png] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

SIZES = {
    "did": [100_000, 1_000_000, 10_000_000],
    "glmm": [10_000, 50_000, 200_000],
    "synthetic_control": [50, 150, 300],
}
UNITS = {"did": "rows", "glmm": "children", "synthetic_control": "councils"}

WORKER = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
workload, size, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def peak_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

if workload == "did":
    import sfpc_eval as se
    periods = 50
    units = size // periods
    rng = np.random.default_rng(20261123)
    unit = np.repeat(np.arange(units), periods)
    period = np.tile(np.arange(periods), units)
    cohort = np.where(rng.random(units) < 0.3, rng.integers(10, 40, units), 10_000)
    treated = (period >= cohort[unit]).astype(np.int64)
    y = rng.normal(0, 1, units)[unit] + 0.02 * period - 0.5 * treated + rng.normal(0, 1, size)
    data = pd.DataFrame({"unit": unit, "time": period, "treated": treated, "y": y})
    del unit, period, treated, y
    def run():
        se.did(data, outcome="y", unit="unit", time="time", treated="treated",
               inference=se.ClusterRobust(kind="CR1"))
elif workload == "glmm":
    from sfpc_eval.trials.analysis import stepped_wedge
    from sfpc_eval.trials.simulate import simulate_trial
    d = simulate_trial("family_safeguarding", rng=20261123, n_children=size, cluster_sd=0.3)
    data = d[["cluster", "period", "treated", "age", "disability", "previous_plans",
              "looked_after"]].copy()
    data["female"] = (d["sex"] == "female").astype(int)
    for level in ("Asian", "Black", "Mixed", "Other"):
        data[f"eth_{level.lower()}"] = (d["ethnicity"] == level).astype(int)
    data["treated"] = data["treated"].astype(int)
    del d
    covariates = ["age", "female", "disability", "previous_plans", "eth_asian", "eth_black",
                  "eth_mixed", "eth_other"]
    def run():
        stepped_wedge(data, "looked_after", "cluster", "period", "treated", covariates)
else:
    import sfpc_eval as se
    rng = np.random.default_rng(20261123)
    years = np.arange(2010, 2026)
    factors = rng.normal(0, 1, (len(years), 3)).cumsum(0)
    y = rng.normal(60, 15, size)[None, :] + factors @ rng.uniform(0, 3, (size, 3)).T
    y = y + rng.normal(0, 1, y.shape)
    data = pd.DataFrame({"unit": np.repeat([f"u{i:03d}" for i in range(size)], len(years)),
                         "year": np.tile(years, size), "y": y.T.ravel()})
    def run():
        se.synthetic_control(data, outcome="y", unit="unit", time="year",
                             treated_unit="u000", start=2015, placebo=True)
base = peak_mb()
big = size == max({"did": [10_000_000], "glmm": [200_000],
                   "synthetic_control": [300]}[workload])
if not big or workload == "did":
    run()
times = []
for _ in range(1 if big and workload != "did" else repeat):
    start = time.perf_counter()
    run()
    times.append(time.perf_counter() - start)
print(json.dumps({"seconds": min(times), "peak_mb": peak_mb() - base, "data_mb": base}))
"""


def exponent(sizes, values) -> float:
    """Least-squares slope of log(value) on log(size)."""
    import numpy as np

    return float(np.polyfit(np.log(sizes), np.log(np.maximum(values, 1e-9)), 1)[0])


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.4))
    axes = [axes] if len(results) == 1 else axes
    for ax, (name, rows) in zip(axes, results.items(), strict=True):
        sizes = [r["size"] for r in rows]
        seconds = [r["seconds"] for r in rows]
        ax.loglog(sizes, seconds, "o-", color="#12436D", label="time (s)")
        ax.set_xlabel(UNITS[name])
        ax.set_title(f"{name}: time ~ size^{exponent(sizes, seconds):.2f}", fontsize=10)
        ax.set_ylabel("seconds")
        ax.grid(True, which="both", alpha=0.3)
        for size, sec in zip(sizes, seconds, strict=True):
            ax.annotate(
                f"{sec:.2g} s", (size, sec), textcoords="offset points", xytext=(4, -12), fontsize=8
            )
    fig.suptitle(
        "sfpc_eval: time against problem size (log-log; slope = fitted exponent)", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", default=",".join(SIZES))
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    results = {}
    for name in args.only.split(","):
        rows = []
        for size in SIZES[name]:
            out = subprocess.run(
                [sys.executable, "-c", WORKER, name, str(size), str(args.repeat)],
                capture_output=True,
                text=True,
                check=False,
                env=env,
            )
            if out.returncode:
                sys.exit(f"{name} at {size} failed:\n{out.stderr[-3000:]}")
            rows.append({"size": size, **json.loads(out.stdout.strip().splitlines()[-1])})
        results[name] = rows
        sizes = [r["size"] for r in rows]
        print(f"\n{name} ({UNITS[name]})")
        print(f"{'size':>12}{'seconds':>10}{'peak MB':>10}{'data MB':>10}")
        for r in rows:
            print(
                f"{r['size']:>12,}{r['seconds']:>10.3f}{r['peak_mb']:>10.0f}{r['data_mb']:>10.0f}"
            )
        print(
            f"fitted exponent: time {exponent(sizes, [r['seconds'] for r in rows]):.2f}, "
            f"memory {exponent(sizes, [r['peak_mb'] for r in rows]):.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    if args.plot:
        plot(results, args.plot)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
