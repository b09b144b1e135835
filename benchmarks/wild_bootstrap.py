"""Benchmark: wild cluster bootstrap (9,999 draws) of a TWFE DiD on 1,000,000 child rows.

150 councils (clusters) x 10 periods x about 667 children per council-period, staggered
adoption in 40% of councils; the restricted (null-imposed) wild cluster bootstrap with
Rademacher weights and the CR1 percentile-t statistic, clustered by council. Each tool runs in
its own fresh Python process on the same seeded rows:

- sfpc_eval: ``did(..., inference=WildClusterBootstrap(n_resamples=9999, rng=1))``
  (rows collapsed to council-period cells, which leaves the bootstrap unchanged);
- pyfixest: ``feols("y ~ treated | la + period", vcov={"CRV1": "la"})`` then
  ``.wildboottest(param="treated", reps=9999, seed=1)`` (which runs wildboottest's algorithm on
  the fixed-effect-demeaned rows);
- wildboottest (with ``--wildboottest``; needs about 2 GB): ``wildboottest(OLS(y, X), param=
  "treated", cluster=la, B=9999)`` with council and period dummy columns in ``X``.

The t statistics are deterministic and must agree; the bootstrap p-values use different random
draws, so they differ by Monte Carlo error (about 0.002 at p = 0.01 with 9,999 draws).
Each worker makes one warm-up run and ``--repeat`` timed runs; BLAS is pinned to one thread.

Run:   python benchmarks/wild_bootstrap.py [--rows 1000000] [--repeat 3] [--wildboottest]
Needs: pip install -e ".[bench]"  (pyfixest, wildboottest)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

WORKER = r"""
import json, sys, time, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
rows, repeat, tool = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
G, T = 150, 10
per = rows // (G * T)
rng = np.random.default_rng(20261204)
la = np.repeat(np.arange(G), T * per)
period = np.tile(np.repeat(np.arange(T), per), G)
cohort = np.where(rng.random(G) < 0.4, rng.integers(3, 8, G), 99)
treated = (period >= cohort[la]).astype(np.int64)
y = (rng.normal(0, 1, G)[la] + 0.1 * period - 0.02 * treated
     + rng.normal(0, 0.2, G * T)[la * T + period] + rng.normal(0, 1, len(la)))
data = pd.DataFrame({"la": la, "period": period, "treated": treated, "y": y})


def peak_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

if tool == "sfpc_eval":
    import sfpc_eval as se
    def run():
        res = se.did(data, outcome="y", unit="la", time="period", treated="treated",
                     inference=se.WildClusterBootstrap(n_resamples=9999, rng=1))
        term = res.estimate
        return term.statistic, term.p_value
elif tool == "pyfixest":
    import pyfixest as pf
    def run():
        fit = pf.feols("y ~ treated | la + period", data=data, vcov={"CRV1": "la"})
        out = fit.wildboottest(param="treated", reps=9999, seed=1)
        return float(out["t value"]), float(out["Pr(>|t|)"])
else:
    import statsmodels.api as sm
    from wildboottest.wildboottest import wildboottest
    def run():
        design = pd.get_dummies(data[["la", "period"]].astype("category"), drop_first=True,
                                dtype=float)
        design.insert(0, "treated", data["treated"].astype(float))
        design.insert(0, "const", 1.0)
        model = sm.OLS(data["y"], design)
        out = wildboottest(model, param="treated", cluster=data["la"], B=9999, seed=1,
                           show=False)
        return float(out["statistic"].iloc[0]), float(out["p-value"].iloc[0])
stat, p = run()
times = []
for _ in range(repeat):
    start = time.perf_counter()
    run()
    times.append(time.perf_counter() - start)
print(json.dumps({"tool": tool, "seconds": min(times), "peak_mb": peak_mb(),
                  "statistic": stat, "p_value": p}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--wildboottest", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    tools = ["sfpc_eval", "pyfixest"] + (["wildboottest"] if args.wildboottest else [])
    rows = []
    for tool in tools:
        out = subprocess.run(
            [sys.executable, "-c", WORKER, str(args.rows), str(args.repeat), tool],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        if out.returncode:
            sys.exit(f"{tool} worker failed:\n{out.stderr[-3000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    ours = rows[0]
    print(
        f"wild cluster bootstrap, 9,999 draws, 150 clusters, {args.rows:,} rows "
        f"(best of {args.repeat}); x ours = the tool's seconds / sfpc_eval's, this run"
    )
    print(
        f"{'tool':<14}{'seconds':>9}{'x ours':>8}{'peak MB':>9}{'t statistic':>16}"
        f"{'|d t|':>10}{'p-value':>10}"
    )
    for row in rows:
        print(
            f"{row['tool']:<14}{row['seconds']:>9.3f}{row['seconds'] / ours['seconds']:>7.1f}x"
            f"{row['peak_mb']:>9.0f}{row['statistic']:>16.10f}"
            f"{abs(row['statistic'] - ours['statistic']):>10.1e}{row['p_value']:>10.4f}"
        )


if __name__ == "__main__":
    main()
