"""Benchmark: random-intercept logistic GLMM on a 50,000-child stepped-wedge trial.

A trial simulated by ``sfpc_eval.trials.simulate.simulate_trial("family_safeguarding")``
(5 councils, 6 periods, one council switching per period; true odds ratio 0.8; council SD 0.3),
seeded, with 50,000 referred children and 5 child characteristics entered as 8 covariate
columns (age, female, disability, previous plans, and 4 ethnicity indicators with White as
reference). Both tools get the same child-level rows:

- sfpc_eval: ``stepped_wedge(data, ..., model="glmm", nagq=1)`` (collapsing to cells included);
- R: ``lme4::glmer(looked_after ~ factor(period) + treated + covariates + (1 | cluster),
  family = binomial, nAGQ = 1)`` run by ``Rscript`` (timed inside R around ``glmer`` only,
  not the CSV read).

Run:  python benchmarks/stepped_wedge_glmm.py [--children 50000] [--repeat 3]
Needs: Rscript with lme4 and jsonlite (apt: r-cran-lme4 r-cran-jsonlite).
Prints seconds (best of --repeat for sfpc_eval after one warm-up; one glmer fit), the peak
resident memory of each process, the treatment estimate and SE from each, the largest
difference in the fixed effects and SEs, and the speed ratio, all measured in the same run.
lme4's SEs come from a finite-difference Hessian; on this trial they move by up to 5e-4
relative when its step changes from 1e-4 to 3e-4, so SE differences of that size are noise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

WORKER = r'''
import json, resource, sys, time, warnings
import numpy as np, pandas as pd
sys.path.insert(0, sys.argv[3])
from bench_data import make
from sfpc_eval.trials.analysis import stepped_wedge

data = make(int(sys.argv[1]))
repeat = int(sys.argv[2])
from bench_data import COVARIATES as covs
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
args = (data, "looked_after", "cluster", "period", "treated", covs)
res = stepped_wedge(*args)  # warm-up
times = []
for _ in range(repeat):
    start = time.perf_counter()
    res = stepped_wedge(*args)
    times.append(time.perf_counter() - start)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": min(times), "peak_mb": peak, "data_mb": before,
                  "cells": res.n_cells, "coef": res.coef.tolist(),
                  "se": np.sqrt(np.diag(res.vcov)).tolist(), "sd": res.random_sd}))
'''

DATA = r'''
import numpy as np, pandas as pd
from sfpc_eval.trials.simulate import simulate_trial

COVARIATES = ["age", "female", "disability", "previous_plans",
              "eth_asian", "eth_black", "eth_mixed", "eth_other"]


def make(children, seed=20261123):
    """Family Safeguarding design (part A's simulator): 5 councils, 6 periods, OR 0.8."""
    d = simulate_trial("family_safeguarding", rng=seed, n_children=children, cluster_sd=0.3)
    out = d[["cluster", "period", "treated", "age", "disability", "previous_plans",
             "looked_after"]].copy()
    out["female"] = (d["sex"] == "female").astype(int)
    for level in ("Asian", "Black", "Mixed", "Other"):
        out[f"eth_{level.lower()}"] = (d["ethnicity"] == level).astype(int)
    out["treated"] = out["treated"].astype(int)
    return out
'''

R_SCRIPT = r'''
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(TRUE)
d <- read.csv(args[1])
f <- looked_after ~ factor(period) + treated + age + female + disability + previous_plans +
  eth_asian + eth_black + eth_mixed + eth_other + (1 | cluster)
t <- system.time(m <- glmer(f, data = d, family = binomial, nAGQ = 1))[["elapsed"]]
cat(jsonlite::toJSON(list(seconds = t, coef = unname(fixef(m)),
                          se = unname(sqrt(diag(as.matrix(vcov(m))))),
                          sd = unname(getME(m, "theta")),
                          lme4 = as.character(packageVersion("lme4"))),
                     auto_unbox = TRUE, digits = NA))
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "bench_data.py").write_text(DATA)
        (folder / "fit.R").write_text(R_SCRIPT)
        sys.path.insert(0, tmp)
        from bench_data import make  # type: ignore[import-not-found]

        make(opts.children).to_csv(folder / "trial.csv", index=False)
        ours_run = subprocess.run(
            [sys.executable, "-c", WORKER, str(opts.children), str(opts.repeat), tmp],
            capture_output=True, text=True, check=True,
        )
        ours = json.loads(ours_run.stdout.strip().splitlines()[-1])
        r_run = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "Rscript", str(folder / "fit.R"),
             str(folder / "trial.csv")],
            capture_output=True, text=True, check=True,
        )
        theirs = json.loads(r_run.stdout.strip().splitlines()[-1])
        r_peak_mb = int(r_run.stderr.strip().splitlines()[-1]) / 1024
    diffs = [abs(a - b) for a, b in zip(ours["coef"], theirs["coef"], strict=True)]
    rel_se = [abs(a - b) / b for a, b in zip(ours["se"], theirs["se"], strict=True)]
    j = 6  # treated: intercept and 5 period effects come first
    print(f"children: {opts.children:,}; cells after collapsing: {ours['cells']:,}")
    print(f"{'tool':<28}{'seconds':>10}{'peak MB':>10}{'treated':>12}{'SE':>10}{'SD':>9}")
    print(f"{'sfpc_eval stepped_wedge':<28}{ours['seconds']:>10.3f}{ours['peak_mb']:>10.0f}"
          f"{ours['coef'][j]:>12.6f}{ours['se'][j]:>10.6f}{ours['sd']:>9.5f}")
    print(f"{'lme4 ' + theirs['lme4'] + ' glmer':<28}{theirs['seconds']:>10.3f}"
          f"{r_peak_mb:>10.0f}{theirs['coef'][j]:>12.6f}{theirs['se'][j]:>10.6f}"
          f"{theirs['sd']:>9.5f}")
    print(f"speed ratio (glmer / sfpc_eval): {theirs['seconds'] / ours['seconds']:.1f}x")
    print(f"max |fixed-effect difference|: {max(diffs):.2e}; "
          f"max relative SE difference: {max(rel_se):.2e}")
    print("(peak MB: process maximum resident set size; sfpc_eval's includes building the data)")


if __name__ == "__main__":
    main()
